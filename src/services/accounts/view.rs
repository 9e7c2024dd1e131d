//! The account as the API shows it (SPEC §12): kind, contact, address, card summary, credit.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::models::Account;
use crate::domain::account::AccountKind;
use crate::domain::money::Currency;
use crate::error::ApiResult;

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactView {
    #[schema(example = "Ada Lovelace")]
    pub name: String,
    #[schema(example = "ada@acme.example")]
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AddressView {
    #[schema(example = "1 Market Street")]
    pub line1: Option<String>,
    #[schema(example = "Suite 400")]
    pub line2: Option<String>,
    #[schema(example = "San Francisco")]
    pub city: Option<String>,
    #[schema(example = "94105")]
    pub postal_code: Option<String>,
    #[schema(example = "CA")]
    pub region: Option<String>,
}

/// Display data of the card on file; the card itself stays with the gateway.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentMethodView {
    #[schema(example = "visa")]
    pub brand: String,
    #[schema(example = "4242")]
    pub last4: String,
    #[schema(example = 12)]
    pub exp_month: i16,
    #[schema(example = 2030)]
    pub exp_year: i16,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub id: Uuid,
    pub kind: AccountKind,
    #[schema(example = "Acme Remote Care")]
    pub name: String,
    #[schema(example = "US")]
    pub country: String,
    pub currency: Currency,
    /// The EU VAT ID, when the customer gave one (none in this example: a US account).
    #[schema(example = json!(null))]
    pub vat_id: Option<String>,
    pub billing_contact: ContactView,
    pub address: AddressView,
    /// The `sub` of the account's representative (corporate accounts).
    #[schema(example = json!(null))]
    pub representative_id: Option<String>,
    /// The representative's address, copied on the account's mails (corporate accounts).
    #[schema(example = json!(null))]
    pub representative_email: Option<String>,
    pub payment_method: Option<PaymentMethodView>,
    /// Credit from earlier downgrades, applied to the next orders.
    #[schema(value_type = String, example = "0.00")]
    pub credit_balance: Decimal,
    /// Days an invoice is due after it is issued (orders settled by invoice).
    #[schema(example = 30)]
    pub payment_terms_days: i32,
    /// Orders must name a purchase order number.
    pub po_required: bool,
    #[schema(example = 3)]
    pub version: i32,
    pub created_at: DateTime<Utc>,
    /// The test clock whose time the account lives in; null in real time.
    #[schema(example = json!(null))]
    pub test_clock_id: Option<Uuid>,
}

impl TryFrom<Account> for AccountView {
    type Error = crate::error::ApiError;

    fn try_from(a: Account) -> ApiResult<AccountView> {
        let kind = a.kind;
        let payment_method = match (
            a.card_brand,
            a.card_last4,
            a.card_exp_month,
            a.card_exp_year,
        ) {
            (Some(brand), Some(last4), Some(exp_month), Some(exp_year)) => {
                Some(PaymentMethodView {
                    brand,
                    last4,
                    exp_month,
                    exp_year,
                })
            }
            _ => None,
        };
        Ok(AccountView {
            id: a.id,
            kind,
            name: a.name,
            country: a.country,
            currency: a.currency,
            vat_id: a.vat_id,
            billing_contact: ContactView {
                name: a.billing_contact_name,
                email: a.billing_contact_email,
            },
            address: AddressView {
                line1: a.address_line1,
                line2: a.address_line2,
                city: a.city,
                postal_code: a.postal_code,
                region: a.region,
            },
            representative_id: a.representative_id,
            representative_email: a.representative_email,
            payment_method,
            credit_balance: a.credit_balance,
            payment_terms_days: a.payment_terms_days,
            po_required: a.po_required,
            version: a.version,
            created_at: a.created_at,
            test_clock_id: a.test_clock_id,
        })
    }
}

/// The account as the API shows it, for an event's `data.object`.
pub fn object(account: &Account) -> Option<serde_json::Value> {
    AccountView::try_from(account.clone())
        .ok()
        .and_then(|view| crate::services::audit::snapshot(&view))
}
