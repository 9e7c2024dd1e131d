//! Reconciliation: invariants that must hold in the database after any sequence of requests.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::helpers::TestApp;

#[derive(QueryableByName, Debug)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

const CHECKS: [(&str, &str); 12] = [
    (
        "a cart with two orders (a voided order gives its cart back)",
        "SELECT count(*) AS n FROM (SELECT cart_id FROM orders WHERE status <> 'voided' AND cart_id IS NOT NULL \
         GROUP BY cart_id HAVING count(*) > 1) t",
    ),
    (
        "a voided card order whose refund is still owed",
        "SELECT count(*) AS n FROM orders WHERE status = 'voided' AND charge_id IS NOT NULL AND refunded_at IS NULL",
    ),
    (
        "a licence hold without a pending order",
        "SELECT count(*) AS n FROM subscriptions s WHERE s.quantity_pending IS NOT NULL AND NOT EXISTS \
         (SELECT 1 FROM order_items i JOIN orders o ON o.id = i.order_id WHERE i.subscription_id = s.id AND o.status = 'pending')",
    ),
    (
        "a completed order without its invoice",
        "SELECT count(*) AS n FROM orders o WHERE o.status = 'completed' AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.order_id = o.id)",
    ),
    (
        "an order without lines",
        "SELECT count(*) AS n FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id)",
    ),
    (
        "an order whose subtotal differs from its lines",
        "SELECT count(*) AS n FROM orders o WHERE o.subtotal <> (SELECT coalesce(sum(amount), 0) FROM order_lines l WHERE l.order_id = o.id)",
    ),
    (
        "an invoice whose total differs from its lines",
        "SELECT count(*) AS n FROM invoices i WHERE i.subtotal <> (SELECT coalesce(sum(amount), 0) FROM order_lines l WHERE l.order_id = i.order_id) OR i.total_due <> GREATEST(i.subtotal + i.tax, 0) - i.credit_applied",
    ),
    (
        "a card order completed without a charge",
        "SELECT count(*) AS n FROM orders WHERE status = 'completed' AND settlement = 'card' AND charge_id IS NULL",
    ),
    (
        "a pending order left behind",
        "SELECT count(*) AS n FROM orders WHERE status = 'pending'",
    ),
    (
        "two paid invoices for one period of a subscription",
        "SELECT count(*) AS n FROM (SELECT o.renews_subscription_id, o.quote_date FROM orders o \
         JOIN invoices i ON i.order_id = o.id WHERE i.status = 'paid' AND o.renews_subscription_id IS NOT NULL \
         GROUP BY 1, 2 HAVING count(*) > 1) t",
    ),
    (
        "a past-due subscription without an open invoice",
        "SELECT count(*) AS n FROM subscriptions s WHERE s.status = 'past_due' AND NOT EXISTS \
         (SELECT 1 FROM invoices i JOIN orders o ON o.id = i.order_id \
          WHERE o.renews_subscription_id = s.id AND i.status = 'open')",
    ),
    (
        "a canceled subscription with licence assignments",
        "SELECT count(*) AS n FROM subscriptions s WHERE s.status = 'canceled' AND (s.licenses_assigned > 0 \
         OR EXISTS (SELECT 1 FROM license_assignments a WHERE a.subscription_id = s.id))",
    ),
];

/// Fails the test if any invariant is broken, and checks that the gateway charged exactly
/// once per completed card order.
pub async fn assert_reconciled(app: &TestApp) {
    let mut conn = app.state.pool.get().await.expect("connection");
    for (what, sql) in CHECKS {
        let found: Count = diesel::sql_query(sql)
            .get_result(&mut conn)
            .await
            .expect(sql);
        assert_eq!(found.n, 0, "reconciliation found {what}");
    }
    // Charges are kept by card orders and by invoices collected from the card (renewals,
    // dunning, `pay`): nothing is charged without one of them.
    let charged: Count = diesel::sql_query(
        "SELECT (SELECT count(*) FROM orders WHERE status = 'completed' AND settlement = 'card') \
              + (SELECT count(*) FROM invoices WHERE charge_id IS NOT NULL) AS n",
    )
    .get_result(&mut conn)
    .await
    .expect("count charged orders and invoices");
    let refunds = app.gateway.refunds().len();
    assert_eq!(
        app.gateway.successful_charges() - refunds,
        usize::try_from(charged.n).expect("count"),
        "every kept charge has its order or invoice, and every card order and collected invoice its charge"
    );
}
