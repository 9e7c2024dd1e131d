//! Accounts: create (admin), list in reach, read, patch billing details, attach a card.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Role;
use crate::db::models::Account;
use crate::db::schema::accounts;
use crate::domain::account::{AccountKind, is_country_code, is_plausible_email};
use crate::domain::money::Currency;
use crate::domain::vat::validate_vat_id;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::pagination::{ListParams, unknown_cursor};
use crate::services::Caller;
use crate::services::access::account_in_reach;
use crate::services::input::nullable;

mod create;
mod update;
mod view;

pub use create::create;
pub use update::{patch, set_payment_method};

pub use view::{AccountView, AddressView, ContactView, PaymentMethodView};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    #[schema(min_length = 1, max_length = 200, example = "Ada Lovelace")]
    pub name: String,
    #[schema(
        min_length = 3,
        max_length = 254,
        format = "email",
        example = "ada@acme.example"
    )]
    pub email: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    #[schema(max_length = 200, example = "1 Market Street")]
    pub line1: Option<String>,
    #[schema(max_length = 200, example = "Suite 400")]
    pub line2: Option<String>,
    #[schema(max_length = 200, example = "San Francisco")]
    pub city: Option<String>,
    #[schema(max_length = 200, example = "94105")]
    pub postal_code: Option<String>,
    #[schema(max_length = 200, example = "CA")]
    pub region: Option<String>,
}

/// Body of `POST /v1/accounts`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccount {
    pub kind: AccountKind,
    #[schema(min_length = 1, max_length = 200, example = "Muster Fernwartung GmbH")]
    pub name: String,
    /// An assigned ISO 3166-1 alpha-2 code, upper case.
    #[schema(min_length = 2, max_length = 2, pattern = "^[A-Z]{2}$", example = "DE")]
    pub country: String,
    pub currency: Currency,
    /// Checked against the country's format (and check digit where it has one).
    #[schema(max_length = 32, example = "DE136695976")]
    pub vat_id: Option<String>,
    pub billing_contact: ContactInput,
    pub address: Option<AddressInput>,
    /// The `sub` of the representative; corporate accounts only.
    #[schema(max_length = 200, example = "rep-jane-doe")]
    pub representative_id: Option<String>,
    /// The representative's email address, copied on the account's mails (SPEC §16); needs
    /// `representative_id`.
    #[schema(max_length = 254, example = "jane.doe@vendor.example")]
    pub representative_email: Option<String>,
    /// Binds the account to a test clock for good (`TEST_CLOCKS=enabled` only): every rule
    /// of the account reads the clock's time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = json!(null))]
    pub test_clock_id: Option<Uuid>,
}

/// Body of `PATCH /v1/accounts/{account_id}`. Absent fields stay as they are; `null` clears
/// a nullable one. `kind` and `representative_id` may be changed by an admin only.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchAccount {
    #[schema(min_length = 1, max_length = 200, example = "Acme Remote Care Inc.")]
    pub name: Option<String>,
    /// An assigned ISO 3166-1 alpha-2 code, upper case.
    #[schema(min_length = 2, max_length = 2, pattern = "^[A-Z]{2}$", example = "DE")]
    pub country: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 32, example = "DE136695976")]
    pub vat_id: Option<Option<String>>,
    pub billing_contact: Option<ContactInput>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<AddressInput>)]
    pub address: Option<Option<AddressInput>>,
    pub kind: Option<AccountKind>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 200, example = "rep-jane-doe")]
    pub representative_id: Option<Option<String>>,
    /// Copied on the account's mails; admin only. Cleared with the representative.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 254, example = "jane.doe@vendor.example")]
    pub representative_email: Option<Option<String>>,
    /// Days an invoice is due after it is issued; admin or representative.
    #[schema(minimum = 0, maximum = 365, example = 30)]
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
    representative_email: Option<String>,
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
    let representative_email = match data.representative_email.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(email) => {
            if !is_plausible_email(email) || email.chars().count() > 254 {
                errors.push(FieldError {
                    field: "representative_email".into(),
                    message: "must be an email address".into(),
                });
            } else if representative_id.is_none() {
                errors.push(FieldError {
                    field: "representative_email".into(),
                    message: "needs a representative_id: it is the representative's address".into(),
                });
            }
            Some(email.to_owned())
        }
    };
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
        representative_email,
        ..data
    })
}

/// The accounts a role lists: representative its own corporate accounts, support the
/// self-service ones, admin all; contacts read their own account directly.
fn listable(caller: &Caller) -> ApiResult<accounts::BoxedQuery<'static, diesel::pg::Pg>> {
    let query = accounts::table.into_boxed();
    match caller.principal.role {
        Role::Admin => Ok(query),
        Role::Support => Ok(query.filter(accounts::kind.eq(AccountKind::SelfService))),
        Role::Representative => Ok(query
            .filter(accounts::kind.eq(AccountKind::Corporate))
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

pub fn version_mismatch(current: i32) -> ApiError {
    ApiError::new(
        ErrorCode::VersionMismatch,
        format!("The resource is at version {current}; read it again and retry."),
    )
    .with_extension("current_version", serde_json::json!(current))
}
