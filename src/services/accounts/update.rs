//! Changing an account: billing details, kind and representative (admin), and the card.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Role;
use crate::db::models::Account;
use crate::db::schema::accounts;
use crate::domain::account::AccountKind;
use crate::domain::event::EventType;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::payments::AttachError;
use crate::services::Caller;
use crate::services::access::{account_in_reach, account_in_reach_for_update};
use crate::services::audit::{self, Event};

use super::{
    AccountData, AddressInput, PatchAccount, PaymentMethodInput, validate, version_mismatch,
};

pub async fn patch(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    if_match: Option<i32>,
    input: PatchAccount,
) -> ApiResult<Account> {
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        let before = account_in_reach_for_update(conn, caller, account_id).await?;
        if let Some(expected) = if_match
            && expected != before.version
        {
            return Err(version_mismatch(before.version));
        }
        if (input.kind.is_some()
            || input.representative_id.is_some()
            || input.representative_email.is_some())
            && caller.principal.role != Role::Admin
        {
            return Err(ApiError::forbidden(
                "Only an admin changes an account's kind or representative.",
            ));
        }
        if (input.payment_terms_days.is_some() || input.po_required.is_some())
            && !matches!(caller.principal.role, Role::Admin | Role::Representative)
        {
            return Err(ApiError::forbidden(
                "Payment terms and purchase order rules are set by the representative.",
            ));
        }
        if input
            .payment_terms_days
            .is_some_and(|days| !(0..=365).contains(&days))
        {
            return Err(ApiError::invalid_field(
                "payment_terms_days",
                "must be between 0 and 365",
            ));
        }
        let current_address = AddressInput {
            line1: before.address_line1.clone(),
            line2: before.address_line2.clone(),
            city: before.city.clone(),
            postal_code: before.postal_code.clone(),
            region: before.region.clone(),
        };
        let representative_id = input
            .representative_id
            .clone()
            .unwrap_or_else(|| before.representative_id.clone());
        // The address belongs to the representative: it goes when the representative does.
        let representative_email = input.representative_email.clone().unwrap_or_else(|| {
            representative_id
                .as_ref()
                .and(before.representative_email.clone())
        });
        let data = validate(AccountData {
            kind: input.kind.unwrap_or(before.kind),
            name: input.name.clone().unwrap_or_else(|| before.name.clone()),
            country: input
                .country
                .clone()
                .unwrap_or_else(|| before.country.clone()),
            vat_id: input
                .vat_id
                .clone()
                .unwrap_or_else(|| before.vat_id.clone()),
            contact_name: input
                .billing_contact
                .as_ref()
                .map_or_else(|| before.billing_contact_name.clone(), |c| c.name.clone()),
            contact_email: input
                .billing_contact
                .as_ref()
                .map_or_else(|| before.billing_contact_email.clone(), |c| c.email.clone()),
            address: input
                .address
                .clone()
                .map_or(current_address, Option::unwrap_or_default),
            representative_id,
            representative_email,
        })?;
        let after: Account = diesel::update(accounts::table.find(account_id))
            .set((
                accounts::kind.eq(data.kind),
                accounts::name.eq(&data.name),
                accounts::country.eq(&data.country),
                accounts::vat_id.eq(data.vat_id.as_deref()),
                accounts::billing_contact_name.eq(&data.contact_name),
                accounts::billing_contact_email.eq(&data.contact_email),
                accounts::address_line1.eq(data.address.line1.as_deref()),
                accounts::address_line2.eq(data.address.line2.as_deref()),
                accounts::city.eq(data.address.city.as_deref()),
                accounts::postal_code.eq(data.address.postal_code.as_deref()),
                accounts::region.eq(data.address.region.as_deref()),
                accounts::representative_id.eq(data.representative_id.as_deref()),
                accounts::representative_email.eq(data.representative_email.as_deref()),
                accounts::payment_terms_days.eq(input
                    .payment_terms_days
                    .unwrap_or(before.payment_terms_days)),
                accounts::po_required.eq(input.po_required.unwrap_or(before.po_required)),
                accounts::version.eq(accounts::version + 1),
                accounts::updated_at.eq(caller.now),
            ))
            .returning(Account::as_returning())
            .get_result(conn)
            .await?;
        audit::record(
            conn,
            caller,
            Event {
                account_id: Some(account_id),
                event_type: EventType::AccountUpdated,
                subject_type: "account",
                subject_id: Some(account_id),
                before: super::view::object(&before),
                after: super::view::object(&after),
                reason: None,
                notify: None,
            },
        )
        .await?;
        Ok(after)
    })
    .await
}

/// Attaches a card. With `If-Match`, only to the account at that version: checked before the
/// gateway is asked (nothing to attach for a stale view) and again, as the rule, inside the
/// transaction.
pub async fn set_payment_method(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    if_match: Option<i32>,
    input: PaymentMethodInput,
) -> ApiResult<Account> {
    let mut conn = state.pool.get().await?;
    let account = account_in_reach(&mut conn, caller, account_id).await?;
    if account.kind != AccountKind::SelfService {
        return Err(ApiError::forbidden(
            "Corporate accounts settle orders by invoice; no card is attached. Your representative can help.",
        ));
    }
    if let Some(expected) = if_match
        && expected != account.version
    {
        return Err(version_mismatch(account.version));
    }
    // The gateway is called outside the transaction: no row stays locked during a network call.
    let card = state
        .gateway
        .attach(input.token.trim())
        .await
        .map_err(|e| {
            let detail = match e {
                AttachError::UnknownToken => "The gateway does not know this token.",
                AttachError::Expired => "The card has expired.",
            };
            ApiError::new(ErrorCode::PaymentMethodInvalid, detail)
        })?;
    conn.transaction(async |conn| {
        let before = account_in_reach_for_update(conn, caller, account_id).await?;
        if let Some(expected) = if_match
            && expected != before.version
        {
            return Err(version_mismatch(before.version));
        }
        let after: Account = diesel::update(accounts::table.find(account_id))
            .set((
                accounts::payment_method_ref.eq(&card.reference),
                accounts::card_brand.eq(&card.brand),
                accounts::card_last4.eq(&card.last4),
                accounts::card_exp_month.eq(card.exp_month),
                accounts::card_exp_year.eq(card.exp_year),
                accounts::version.eq(accounts::version + 1),
                accounts::updated_at.eq(caller.now),
            ))
            .returning(Account::as_returning())
            .get_result(conn)
            .await?;
        audit::record(
            conn,
            caller,
            Event {
                account_id: Some(account_id),
                event_type: EventType::AccountUpdated,
                subject_type: "account",
                subject_id: Some(account_id),
                before: super::view::object(&before),
                after: super::view::object(&after),
                reason: None,
                notify: None,
            },
        )
        .await?;
        // Every past-due invoice is retried with the new card at once (SPEC §13).
        crate::services::dunning::retry_on_new_card(conn, account_id, after.version, caller.now)
            .await?;
        Ok(after)
    })
    .await
}
