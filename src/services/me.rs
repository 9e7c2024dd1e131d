//! `GET /v1/me`: who the caller is and what it reaches, so a portal can start from a token
//! alone — a contact learns its account id and kind (and so which portal it belongs in), a
//! representative how many accounts are assigned to it.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Role;
use crate::db::schema::accounts;
use crate::domain::account::AccountKind;
use crate::error::ApiResult;
use crate::services::Caller;

/// What a role reaches (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reach {
    /// The one account named in the token (contacts).
    OwnAccount,
    /// The corporate accounts whose `representative_id` is the caller's `sub`.
    AssignedAccounts,
    /// Every self-service account (customer service).
    SelfServiceAccounts,
    /// The whole tenant.
    Tenant,
}

/// The portal an account is served by (SPEC §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Portal {
    BillingCenter,
    CorporateBillingPortal,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeAccount {
    #[schema(example = "0191d0c4-5b7e-7c2a-9f3e-2b8c1d4e5f60")]
    pub id: Uuid,
    pub kind: AccountKind,
    #[schema(example = "Acme Remote Support Ltd")]
    pub name: String,
    pub portal: Portal,
    /// False when the token's role does not fit the account's kind: every account call then
    /// answers 403 `use-corporate-portal` or `use-billing-center`.
    pub role_fits: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    #[schema(example = "contact-42")]
    pub sub: String,
    pub role: Role,
    pub reach: Reach,
    /// A contact's account (null for the other roles, or when the account no longer exists).
    pub account: Option<MeAccount>,
    /// For a representative, how many accounts are assigned to it; for a contact, 1 (or 0);
    /// null for support and admin, whose reach is listed by `GET /v1/accounts`.
    #[schema(example = 1)]
    pub accounts_in_reach: Option<i64>,
}

pub async fn me(conn: &mut AsyncPgConnection, caller: &Caller) -> ApiResult<MeView> {
    let principal = &caller.principal;
    let (reach, account, accounts_in_reach) = match principal.role {
        Role::BillingContact | Role::CorporateContact => {
            let account = match principal.account_id {
                Some(id) => accounts::table
                    .find(id)
                    .select((accounts::id, accounts::kind, accounts::name))
                    .first::<(Uuid, AccountKind, String)>(conn)
                    .await
                    .optional()?,
                None => None,
            };
            let account = account.map(|(id, kind, name)| MeAccount {
                id,
                kind,
                name,
                portal: match kind {
                    AccountKind::SelfService => Portal::BillingCenter,
                    AccountKind::Corporate => Portal::CorporateBillingPortal,
                },
                role_fits: matches!(
                    (principal.role, kind),
                    (Role::BillingContact, AccountKind::SelfService)
                        | (Role::CorporateContact, AccountKind::Corporate)
                ),
            });
            let count = i64::from(account.is_some());
            (Reach::OwnAccount, account, Some(count))
        }
        Role::Representative => {
            let count: i64 = accounts::table
                .filter(accounts::representative_id.eq(&principal.sub))
                .filter(accounts::kind.eq(AccountKind::Corporate))
                .count()
                .get_result(conn)
                .await?;
            (Reach::AssignedAccounts, None, Some(count))
        }
        Role::Support => (Reach::SelfServiceAccounts, None, None),
        Role::Admin => (Reach::Tenant, None, None),
    };
    Ok(MeView {
        sub: principal.sub.clone(),
        role: principal.role,
        reach,
        account,
        accounts_in_reach,
    })
}
