//! The statuses and kinds of carts, orders, invoices and quotes, as stored and as shown.

crate::stored_enum! {
    /// A cart is `open` for edits, `checking_out` while an order is placed from it, then
    /// `checked_out`.
    pub enum CartStatus {
        Open => "open",
        CheckingOut => "checking_out",
        CheckedOut => "checked_out",
    }
}

crate::stored_enum! {
    /// What a cart or order item does: change an active subscription, or subscribe to a
    /// product that has none (after a trial, or new).
    pub enum ItemKind {
        Change => "change",
        Subscribe => "subscribe",
        /// The next period of a subscription, at its price on the renewal date.
        Renewal => "renewal",
        /// Ends a subscription at once, crediting its unused time (SPEC §13).
        Cancel => "cancel",
    }
}

crate::stored_enum! {
    /// `pending` while its card is charged; `completed`; `voided` when it was paid but could
    /// not be applied (and was refunded).
    pub enum OrderStatus {
        Pending => "pending",
        Completed => "completed",
        Voided => "voided",
    }
}

crate::stored_enum! {
    /// How an order is paid: by the card on file, by invoice on terms, or not at all (nothing
    /// due).
    pub enum Settlement {
        Card => "card",
        Invoice => "invoice",
        None => "none",
    }
}

crate::stored_enum! {
    /// An invoice is `open` until payments cover it, then `paid`; `uncollectible` when
    /// dunning ended without payment (SPEC §13). `void` is reserved for an invoice canceled
    /// before it was due (none is voided yet).
    pub enum InvoiceStatus {
        Open => "open",
        Paid => "paid",
        Uncollectible => "uncollectible",
        Void => "void",
    }
}

crate::stored_enum! {
    /// A representative's quote: `sent`, then `accepted`, `rejected` or `withdrawn`; `expired`
    /// is derived (sent, past its last day) and never stored.
    pub enum QuoteStatus {
        Sent => "sent",
        Accepted => "accepted",
        Rejected => "rejected",
        Expired => "expired",
        Withdrawn => "withdrawn",
    }
}

crate::stored_enum! {
    /// How money received for an invoice arrived.
    pub enum PaymentMethodKind {
        BankTransfer => "bank_transfer",
        Cheque => "cheque",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// JSON (and the OpenAPI document) use the variants in snake_case; the database uses
    /// `as_str`: they must be the same names.
    #[test]
    fn json_names_are_the_stored_names() {
        fn same<T: serde::Serialize + Copy>(values: &[T], name: impl Fn(T) -> &'static str) {
            for value in values {
                assert_eq!(
                    serde_json::to_value(value).ok(),
                    Some(serde_json::json!(name(*value)))
                );
            }
        }
        same(CartStatus::ALL, CartStatus::as_str);
        same(ItemKind::ALL, ItemKind::as_str);
        same(OrderStatus::ALL, OrderStatus::as_str);
        same(Settlement::ALL, Settlement::as_str);
        same(InvoiceStatus::ALL, InvoiceStatus::as_str);
        same(QuoteStatus::ALL, QuoteStatus::as_str);
        same(PaymentMethodKind::ALL, PaymentMethodKind::as_str);
        use crate::domain::account::AccountKind;
        use crate::domain::period::BillingFrequency;
        use crate::domain::subscription::SubscriptionStatus;
        same(AccountKind::ALL, AccountKind::as_str);
        same(BillingFrequency::ALL, BillingFrequency::as_str);
        same(SubscriptionStatus::ALL, SubscriptionStatus::as_str);
    }

    #[test]
    fn every_stored_name_reads_back_as_its_variant() {
        for status in OrderStatus::ALL {
            assert_eq!(status.as_str().parse::<OrderStatus>(), Ok(*status));
        }
        for kind in ItemKind::ALL {
            assert_eq!(kind.as_str().parse::<ItemKind>(), Ok(*kind));
        }
        assert_eq!(
            serde_json::to_value(Settlement::None).ok(),
            Some(serde_json::json!("none"))
        );
        assert!("Pending".parse::<OrderStatus>().is_err());
    }
}
