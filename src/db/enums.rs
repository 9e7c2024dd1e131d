//! Enums at the database boundary: every status and kind column is `text` with a `CHECK`
//! constraint, and is read into (and written from) its Rust enum here, once. A value the enum
//! does not know is a deserialisation error, never a string that code compares.

use std::io::Write;

use diesel::deserialize::{self, FromSql};
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;

use crate::auth::Role;
use crate::domain::account::AccountKind;
use crate::domain::change_request::ChangeRequestStatus;
use crate::domain::event::EventType;
use crate::domain::job::{JobKind, JobStatus, TestClockStatus};
use crate::domain::money::Currency;
use crate::domain::notification::{NotificationStatus, NotificationTemplate};
use crate::domain::order::{
    CartStatus, InvoiceStatus, ItemKind, OrderStatus, PaymentMethodKind, QuoteStatus, Settlement,
};
use crate::domain::period::BillingFrequency;
use crate::domain::subscription::{CancellationReason, SubscriptionStatus};
use crate::domain::webhook::{DeliveryStatus, DisabledReason};

macro_rules! text_column {
    ($($ty:ty => $name:ident),+ $(,)?) => {$(
        impl ToSql<Text, Pg> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                out.write_all(self.$name().as_bytes())?;
                Ok(IsNull::No)
            }
        }

        impl FromSql<Text, Pg> for $ty {
            fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
                let text = std::str::from_utf8(value.as_bytes())?;
                text.parse::<$ty>().map_err(|e| e.to_string().into())
            }
        }
    )+};
}

text_column! {
    AccountKind => as_str,
    BillingFrequency => as_str,
    CartStatus => as_str,
    Currency => code,
    InvoiceStatus => as_str,
    ItemKind => as_str,
    JobKind => as_str,
    JobStatus => as_str,
    TestClockStatus => as_str,
    OrderStatus => as_str,
    PaymentMethodKind => as_str,
    QuoteStatus => as_str,
    Role => as_str,
    Settlement => as_str,
    SubscriptionStatus => as_str,
    CancellationReason => as_str,
    EventType => as_str,
    DeliveryStatus => as_str,
    DisabledReason => as_str,
    NotificationTemplate => as_str,
    NotificationStatus => as_str,
    ChangeRequestStatus => as_str,
}
