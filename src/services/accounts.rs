//! Accounts: create (admin), list in reach, read, patch billing details, attach a card.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Role;
use crate::db::models::{Account, NewAccount};
use crate::db::schema::accounts;
use crate::domain::account::{AccountKind, is_country_code, is_plausible_email};
use crate::domain::money::Currency;
use crate::domain::vat::validate_vat_id;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::pagination::{ListParams, unknown_cursor};
use crate::payments::AttachError;
use crate::services::Caller;
use crate::services::access::{account_in_reach, account_in_reach_for_update};
use crate::services::audit::{self, Event, snapshot};
use crate::services::idempotency::{self, Outcome};
use crate::services::input::nullable;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(min_length = 3, max_length = 254, format = "email")]
    pub email: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    #[schema(max_length = 200)]
    pub line1: Option<String>,
    #[schema(max_length = 200)]
    pub line2: Option<String>,
    #[schema(max_length = 200)]
    pub city: Option<String>,
    #[schema(max_length = 200)]
    pub postal_code: Option<String>,
    #[schema(max_length = 200)]
    pub region: Option<String>,
}

/// Body of `POST /v1/accounts`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccount {
    pub kind: AccountKind,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// An assigned ISO 3166-1 alpha-2 code, upper case.
    #[schema(min_length = 2, max_length = 2, pattern = "^[A-Z]{2}$", example = "DE")]
    pub country: String,
    pub currency: Currency,
    /// Checked against the country's format (and check digit where it has one).
    #[schema(max_length = 32)]
    pub vat_id: Option<String>,
    pub billing_contact: ContactInput,
    pub address: Option<AddressInput>,
    /// The `sub` of the representative; corporate accounts only.
    #[schema(max_length = 200)]
    pub representative_id: Option<String>,
}

/// Body of `PATCH /v1/accounts/{account_id}`. Absent fields stay as they are; `null` clears
/// a nullable one. `kind` and `representative_id` may be changed by an admin only.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchAccount {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// An assigned ISO 3166-1 alpha-2 code, upper case.
    #[schema(min_length = 2, max_length = 2, pattern = "^[A-Z]{2}$")]
    pub country: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 32)]
    pub vat_id: Option<Option<String>>,
    pub billing_contact: Option<ContactInput>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<AddressInput>)]
    pub address: Option<Option<AddressInput>>,
    pub kind: Option<AccountKind>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub representative_id: Option<Option<String>>,
    /// Days an invoice is due after it is issued; admin or representative.
    #[schema(minimum = 0, maximum = 365)]
    pub payment_terms_days: Option<i32>,
    /// Require a purchase order number on every order; admin or representative.
    pub po_required: Option<bool>,
}

/// Body of `PUT /v1/accounts/{account_id}/payment-method`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentMethodInput {
    /// A one-time gateway token, e.g. `tok_visa`.
    #[schema(min_length = 1, max_length = 200, example = "tok_visa")]
    pub token: String,
}

/// The validated, normalised data an account holds.
struct AccountData {
    kind: AccountKind,
    name: String,
    country: String,
    vat_id: Option<String>,
    contact_name: String,
    contact_email: String,
    address: AddressInput,
    representative_id: Option<String>,
}

fn text(field: &str, value: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed.chars().count() > max {
        errors.push(FieldError {
            field: field.to_owned(),
            message: format!("must be 1 to {max} characters"),
        });
    }
    trimmed.to_owned()
}

fn optional_text(
    field: &str,
    value: Option<&String>,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    value.map(|v| text(field, v, 200, errors))
}

fn validate(data: AccountData) -> ApiResult<AccountData> {
    let mut errors = Vec::new();
    let name = text("name", &data.name, 200, &mut errors);
    if !is_country_code(&data.country) {
        errors.push(FieldError {
            field: "country".into(),
            message: "must be an assigned ISO 3166-1 alpha-2 code in upper case, e.g. DE".into(),
        });
    }
    let vat_id = match data.vat_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => match validate_vat_id(&data.country, raw) {
            Ok(normalised) => Some(normalised),
            Err(e) => {
                errors.push(FieldError {
                    field: "vat_id".into(),
                    message: e.to_string(),
                });
                None
            }
        },
    };
    let contact_name = text("billing_contact.name", &data.contact_name, 200, &mut errors);
    let contact_email = data.contact_email.trim().to_owned();
    if !is_plausible_email(&contact_email) {
        errors.push(FieldError {
            field: "billing_contact.email".into(),
            message: "must be an email address".into(),
        });
    }
    let address = AddressInput {
        line1: optional_text("address.line1", data.address.line1.as_ref(), &mut errors),
        line2: optional_text("address.line2", data.address.line2.as_ref(), &mut errors),
        city: optional_text("address.city", data.address.city.as_ref(), &mut errors),
        postal_code: optional_text(
            "address.postal_code",
            data.address.postal_code.as_ref(),
            &mut errors,
        ),
        region: optional_text("address.region", data.address.region.as_ref(), &mut errors),
    };
    let representative_id = optional_text(
        "representative_id",
        data.representative_id.as_ref(),
        &mut errors,
    );
    if representative_id.is_some() && data.kind != AccountKind::Corporate {
        errors.push(FieldError {
            field: "representative_id".into(),
            message: "only corporate accounts have a representative".into(),
        });
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(AccountData {
        name,
        vat_id,
        contact_name,
        contact_email,
        address,
        representative_id,
        ..data
    })
}

/// Creates an account and answers with `render(account)` (201). With an `Idempotency-Key`
/// (scoped to the caller's `sub`: there is no account yet) the same request sent again gets
/// the stored answer instead of a second account; the same key with another body is 422.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    idempotency_key: Option<&str>,
    input: CreateAccount,
    render: impl Fn(&Account) -> ApiResult<serde_json::Value> + Sync,
) -> ApiResult<Outcome> {
    let key = idempotency_key
        .map(|key| idempotency::validate_key(Some(key)))
        .transpose()?;
    let fingerprint = idempotency::fingerprint(&input);
    if caller.principal.role != Role::Admin {
        return Err(ApiError::forbidden("Only an admin creates accounts."));
    }
    let data = validate(AccountData {
        kind: input.kind,
        name: input.name,
        country: input.country,
        vat_id: input.vat_id,
        contact_name: input.billing_contact.name,
        contact_email: input.billing_contact.email,
        address: input.address.unwrap_or_default(),
        representative_id: input.representative_id,
    })?;
    let sub = caller.principal.sub.as_str();
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        if let Some(key) = &key
            && let Some((status, body)) =
                idempotency::begin_for_caller(conn, sub, key, &fingerprint).await?
        {
            return Ok(Outcome {
                status,
                body,
                replayed: true,
            });
        }
        let account: Account = diesel::insert_into(accounts::table)
            .values(NewAccount {
                id: Uuid::now_v7(),
                kind: data.kind,
                name: &data.name,
                country: &data.country,
                currency: input.currency,
                vat_id: data.vat_id.as_deref(),
                billing_contact_name: &data.contact_name,
                billing_contact_email: &data.contact_email,
                address_line1: data.address.line1.as_deref(),
                address_line2: data.address.line2.as_deref(),
                city: data.address.city.as_deref(),
                postal_code: data.address.postal_code.as_deref(),
                region: data.address.region.as_deref(),
                representative_id: data.representative_id.as_deref(),
            })
            .returning(Account::as_returning())
            .get_result(conn)
            .await?;
        audit::record(
            conn,
            caller,
            Event {
                account_id: Some(account.id),
                action: "account.created",
                subject_type: "account",
                subject_id: Some(account.id),
                before: None,
                after: snapshot(&account),
                reason: None,
            },
        )
        .await?;
        let body = render(&account)?;
        if let Some(key) = &key {
            idempotency::complete_for_caller(conn, sub, key, 201, &body).await?;
        }
        Ok(Outcome {
            status: 201,
            body,
            replayed: false,
        })
    })
    .await
}

/// The accounts a role lists: representative its own corporate accounts, support the
/// self-service ones, admin all; contacts read their own account directly.
fn listable(caller: &Caller) -> ApiResult<accounts::BoxedQuery<'static, diesel::pg::Pg>> {
    let query = accounts::table.into_boxed();
    match caller.principal.role {
        Role::Admin => Ok(query),
        Role::Support => Ok(query.filter(accounts::kind.eq(AccountKind::SelfService.as_str()))),
        Role::Representative => Ok(query
            .filter(accounts::kind.eq(AccountKind::Corporate.as_str()))
            .filter(accounts::representative_id.eq(caller.principal.sub.clone()))),
        Role::BillingContact | Role::CorporateContact => Err(ApiError::forbidden(
            "Contacts read their own account at /v1/accounts/{account_id}.",
        )),
    }
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    params: ListParams,
) -> ApiResult<(Vec<Account>, i64)> {
    let limit = params.limit()?;
    let mut query = listable(caller)?.select(Account::as_select());
    let mut conn = state.pool.get().await?;
    if let Some(cursor) = params.starting_after {
        // The cursor must come from the same list: an id out of reach is as unknown as any.
        let (created_at, id) = listable(caller)?
            .filter(accounts::id.eq(cursor))
            .select((accounts::created_at, accounts::id))
            .first::<(chrono::DateTime<chrono::Utc>, Uuid)>(&mut conn)
            .await
            .optional()?
            .ok_or_else(unknown_cursor)?;
        query = query.filter(
            accounts::created_at
                .lt(created_at)
                .or(accounts::created_at.eq(created_at).and(accounts::id.lt(id))),
        );
    }
    let rows = query
        .order((accounts::created_at.desc(), accounts::id.desc()))
        .limit(limit + 1)
        .load(&mut conn)
        .await?;
    Ok((rows, limit))
}

pub async fn get(state: &AppState, caller: &Caller, account_id: Uuid) -> ApiResult<Account> {
    let mut conn = state.pool.get().await?;
    account_in_reach(&mut conn, caller, account_id).await
}

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
        if (input.kind.is_some() || input.representative_id.is_some())
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
            representative_id: input
                .representative_id
                .clone()
                .unwrap_or_else(|| before.representative_id.clone()),
        })?;
        let after: Account = diesel::update(accounts::table.find(account_id))
            .set((
                accounts::kind.eq(data.kind.as_str()),
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
        let action = if before.representative_id != after.representative_id {
            "account.representative_changed"
        } else {
            "account.updated"
        };
        audit::record(
            conn,
            caller,
            Event {
                account_id: Some(account_id),
                action,
                subject_type: "account",
                subject_id: Some(account_id),
                before: snapshot(&before),
                after: snapshot(&after),
                reason: None,
            },
        )
        .await?;
        // The country decides the tax: its change is an event of its own that a reviewer
        // (or a VAT report) can find without diffing every update.
        if before.country != after.country {
            audit::record(
                conn,
                caller,
                Event {
                    account_id: Some(account_id),
                    action: "account.country_changed",
                    subject_type: "account",
                    subject_id: Some(account_id),
                    before: Some(serde_json::json!({"country": before.country})),
                    after: Some(serde_json::json!({"country": after.country})),
                    reason: None,
                },
            )
            .await?;
        }
        Ok(after)
    })
    .await
}

pub fn version_mismatch(current: i32) -> ApiError {
    ApiError::new(
        ErrorCode::VersionMismatch,
        format!("The resource is at version {current}; read it again and retry."),
    )
    .with_extension("current_version", serde_json::json!(current))
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
                action: "account.payment_method_set",
                subject_type: "account",
                subject_id: Some(account_id),
                before: snapshot(&card_summary(&before)),
                after: snapshot(&card_summary(&after)),
                reason: None,
            },
        )
        .await?;
        Ok(after)
    })
    .await
}

fn card_summary(account: &Account) -> serde_json::Value {
    serde_json::json!({
        "brand": account.card_brand,
        "last4": account.card_last4,
        "exp_month": account.card_exp_month,
        "exp_year": account.card_exp_year,
    })
}
