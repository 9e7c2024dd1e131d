//! Authentication and authorisation: JWT verification with configured keys, the `Principal`
//! extractor every `/v1` handler takes, and the rule that decides which accounts a principal
//! reaches.

mod extractor;
pub mod jwt;
pub mod reach;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The five roles of SPEC §2.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    BillingContact,
    CorporateContact,
    Representative,
    Support,
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::BillingContact,
        Role::CorporateContact,
        Role::Representative,
        Role::Support,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::BillingContact => "billing_contact",
            Role::CorporateContact => "corporate_contact",
            Role::Representative => "representative",
            Role::Support => "support",
            Role::Admin => "admin",
        }
    }

    /// Contact roles act on the one account named in their token.
    pub fn is_contact(self) -> bool {
        matches!(self, Role::BillingContact | Role::CorporateContact)
    }

    /// Roles that act for the vendor and may do what contacts may not (downgrades).
    pub fn is_assisting(self) -> bool {
        matches!(self, Role::Representative | Role::Support | Role::Admin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| format!("unknown role `{s}`"))
    }
}

/// Who is calling, as proven by a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub sub: String,
    pub role: Role,
    /// The account of a contact role; `None` for the other roles.
    pub account_id: Option<Uuid>,
}
