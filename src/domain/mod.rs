//! The product's rules as plain functions over plain values: no actix, no queries. Everything
//! here is unit-tested without HTTP or SQL. The statuses and kinds that are stored derive
//! diesel's two boundary traits (`AsExpression`, `FromSqlRow`) so that `db::enums` maps
//! each column to its enum once; nothing here opens a connection.

/// Declares an enum whose values are stored as `text` (each column has a `CHECK` constraint)
/// and shown in JSON under the same names: its variants with their names, `as_str`,
/// `Display` and `FromStr`. `db::enums` maps it to and from the column, once.
#[macro_export]
macro_rules! stored_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            serde::Serialize,
            serde::Deserialize,
            utoipa::ToSchema,
            diesel::expression::AsExpression,
            diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        // The stored names are the variants in snake_case (checked by a test): serde and the
        // OpenAPI document both read this attribute.
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!("unknown {} `{other}`", stringify!($name))),
                }
            }
        }
    };
}

pub mod account;
pub mod catalog;
pub mod change_request;
pub mod country;
pub mod dunning;
pub mod event;
pub mod job;
pub mod money;
pub mod notification;
pub mod order;
pub mod period;
pub mod plan_change;
pub mod proration;
pub mod quote;
pub mod subscription;
pub mod tax;
pub mod vat;
pub mod webhook;
