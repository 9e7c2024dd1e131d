-- Benchmark data set: :accounts self-service accounts (USD, card on file), each with an
-- active Standard × 10 monthly subscription ten days into its period, 5 users of whom 3
-- hold a licence. The first half of the accounts also have an open cart with one item
-- (for the quote scenario); the second half are left for checkouts.
-- Ids are derived from a kind and a number so that pgbench scripts can address them.

\set ON_ERROR_STOP on
SET synchronous_commit = off;

CREATE OR REPLACE FUNCTION bench_uuid(kind integer, n bigint) RETURNS uuid
LANGUAGE sql IMMUTABLE AS $$
    SELECT ('00000000-0000-4000-8' || lpad(kind::text, 3, '0') || '-' || lpad(to_hex(n), 12, '0'))::uuid
$$;

INSERT INTO accounts (id, kind, name, country, currency, billing_contact_name, billing_contact_email,
                      payment_method_ref, card_brand, card_last4, card_exp_month, card_exp_year, created_at)
SELECT bench_uuid(1, n), 'self_service', 'Bench ' || n, 'US', 'USD', 'Contact ' || n, 'c' || n || '@bench.example',
       'card_test_visa_bench', 'visa', '4242', 12, 2030, now() - make_interval(secs => n)
FROM generate_series(1, :accounts) AS n;

INSERT INTO subscriptions (id, account_id, product_id, plan_id, billing_frequency, quantity, status,
                           current_period_start, current_period_end, period_amount, currency, billing_anchor_day)
SELECT bench_uuid(2, n), bench_uuid(1, n), '00000000-0000-4000-8000-000000000001',
       '00000000-0000-4000-8001-000000000001', 'monthly', 10, 'active',
       current_date - 10, (current_date - 10) + interval '1 month', 290.00, 'USD',
       extract(day FROM current_date - 10)
FROM generate_series(1, :accounts) AS n;

INSERT INTO users (id, account_id, name, email)
SELECT bench_uuid(3, n * 8 + u), bench_uuid(1, n), 'User ' || u, 'u' || u || '@a' || n || '.example'
FROM generate_series(1, :accounts) AS n, generate_series(0, 4) AS u;

INSERT INTO license_assignments (subscription_id, account_id, user_id)
SELECT bench_uuid(2, n), bench_uuid(1, n), bench_uuid(3, n * 8 + u)
FROM generate_series(1, :accounts) AS n, generate_series(0, 2) AS u;

INSERT INTO carts (id, account_id, status)
SELECT bench_uuid(4, n), bench_uuid(1, n), 'open'
FROM generate_series(1, :accounts / 2) AS n;

INSERT INTO cart_items (id, cart_id, account_id, type, product_id, subscription_id, plan_id, billing_frequency, quantity)
SELECT bench_uuid(5, n), bench_uuid(4, n), bench_uuid(1, n), 'change', '00000000-0000-4000-8000-000000000001',
       bench_uuid(2, n), '00000000-0000-4000-8001-000000000002', 'monthly', 12
FROM generate_series(1, :accounts / 2) AS n;

VACUUM ANALYZE;
