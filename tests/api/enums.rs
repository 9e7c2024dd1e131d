//! Statuses and kinds are enums from the moment a row is read: every stored name reads back as
//! its variant, and a name the enum does not know is an error, never a string.

use billing_center::domain::job::{JobKind, JobStatus, TestClockStatus};
use billing_center::domain::order::{
    CartStatus, InvoiceStatus, ItemKind, OrderStatus, PaymentMethodKind, QuoteStatus, Settlement,
};
use billing_center::domain::subscription::SubscriptionStatus;
use diesel::IntoSql;
use diesel::dsl::sql;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;

use crate::helpers::TestApp;

macro_rules! round_trip {
    ($conn:expr, $($ty:ty),+) => {$(
        for value in <$ty>::ALL {
            let back: $ty = diesel::select(value.into_sql::<Text>())
                .get_result($conn)
                .await
                .expect("round trip");
            assert_eq!(back, *value);
        }
    )+};
}

#[actix_web::test]
async fn every_status_and_kind_reads_back_as_written() {
    let app = TestApp::spawn().await;
    let mut conn = app.state.pool.get().await.expect("connection");
    round_trip!(
        &mut conn,
        OrderStatus,
        Settlement,
        CartStatus,
        InvoiceStatus,
        ItemKind,
        QuoteStatus,
        PaymentMethodKind,
        SubscriptionStatus,
        JobKind,
        JobStatus,
        TestClockStatus
    );
}

#[actix_web::test]
async fn an_unknown_stored_name_is_an_error_not_a_string() {
    let app = TestApp::spawn().await;
    let mut conn = app.state.pool.get().await.expect("connection");
    let read: Result<OrderStatus, _> = diesel::select(sql::<Text>("'Completed'"))
        .get_result(&mut conn)
        .await;
    let error = read.expect_err("an unknown name must not read");
    assert!(
        format!("{error:?}").contains("unknown OrderStatus `Completed`"),
        "{error:?}"
    );
}

#[actix_web::test]
async fn the_database_refuses_a_status_the_enum_does_not_have() {
    let app = TestApp::spawn().await;
    let mut conn = app.state.pool.get().await.expect("connection");
    // `expired` is derived for quotes and never stored: the CHECK constraint says so too.
    let account = app.corporate_account("rep-1").await;
    let rep = app.representative("rep-1");
    app.add_item(
        account,
        &rep,
        serde_json::json!({"type": "subscribe", "product": "gotoassist-rs-v4", "plan": "standard",
                           "quantity": 1, "billing_frequency": "monthly"}),
    )
    .await
    .assert_status(200);
    app.post(
        &format!("/v1/accounts/{account}/quotes"),
        &rep,
        serde_json::json!({}),
    )
    .await
    .assert_status(201);
    let refused = diesel::sql_query("UPDATE quotes SET status = 'expired'")
        .execute(&mut conn)
        .await
        .expect_err("expired is never stored");
    assert_eq!(
        billing_center::error::violated_constraint(&refused),
        Some("quotes_status_check")
    );
}
