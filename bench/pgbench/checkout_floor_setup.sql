-- The floor's own tables (schema `floor`), for bench/pgbench/checkout_floor.sql: the least
-- any checkout must write — one subscription locked and updated, one order with two lines,
-- one invoice — without anything our service adds (carts, items, idempotency, audit).
-- Seeded with one subscription per bench account and one earlier order each, so that the
-- indexes and foreign keys work on grown tables, not empty ones. Run after bench/seed.sql
-- (it uses bench_uuid) with -v accounts=N.

\set ON_ERROR_STOP on
SET synchronous_commit = off;
SET client_min_messages = warning;

DROP SCHEMA IF EXISTS floor CASCADE;
CREATE SCHEMA floor;

CREATE TABLE floor.subscriptions (
    id                    uuid PRIMARY KEY,
    account_id            uuid NOT NULL,
    plan_id               uuid NOT NULL,
    billing_frequency     text NOT NULL CHECK (billing_frequency IN ('monthly', 'annual')),
    quantity              integer NOT NULL CHECK (quantity BETWEEN 1 AND 10000),
    current_period_start  date NOT NULL,
    current_period_end    date NOT NULL,
    period_amount         numeric(14, 2) NOT NULL,
    version               integer NOT NULL DEFAULT 1,
    updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON floor.subscriptions (account_id);

CREATE SEQUENCE floor.order_number_seq;
CREATE TABLE floor.orders (
    id          uuid PRIMARY KEY,
    account_id  uuid NOT NULL,
    number      text NOT NULL UNIQUE,
    status      text NOT NULL,
    currency    text NOT NULL,
    subtotal    numeric(14, 2) NOT NULL,
    tax         numeric(14, 2) NOT NULL,
    total_due   numeric(14, 2) NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON floor.orders (account_id, created_at DESC, id DESC);

CREATE TABLE floor.order_lines (
    id           uuid PRIMARY KEY,
    order_id     uuid NOT NULL REFERENCES floor.orders (id),
    position     integer NOT NULL,
    description  text NOT NULL,
    amount       numeric(14, 2) NOT NULL,
    UNIQUE (order_id, position)
);

CREATE TABLE floor.invoices (
    id          uuid PRIMARY KEY,
    order_id    uuid NOT NULL UNIQUE REFERENCES floor.orders (id),
    account_id  uuid NOT NULL,
    number      text NOT NULL UNIQUE,
    status      text NOT NULL,
    total_due   numeric(14, 2) NOT NULL,
    issued_on   date NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON floor.invoices (account_id, created_at DESC, id DESC);

INSERT INTO floor.subscriptions (id, account_id, plan_id, billing_frequency, quantity,
                                 current_period_start, current_period_end, period_amount)
SELECT bench_uuid(2, n), bench_uuid(1, n), '00000000-0000-4000-8001-000000000001', 'monthly', 10,
       current_date - 10, current_date + 20, 290.00
FROM generate_series(1, :accounts) AS n;

INSERT INTO floor.orders (id, account_id, number, status, currency, subtotal, tax, total_due)
SELECT bench_uuid(6, n), bench_uuid(1, n), 'ORD-' || nextval('floor.order_number_seq'), 'completed', 'USD',
       290.00, 0.00, 290.00
FROM generate_series(1, :accounts) AS n;

INSERT INTO floor.order_lines (id, order_id, position, description, amount)
SELECT gen_random_uuid(), bench_uuid(6, n), p, 'line ' || p, 290.00 - 290.00 * p
FROM generate_series(1, :accounts) AS n, generate_series(0, 1) AS p;

INSERT INTO floor.invoices (id, order_id, account_id, number, status, total_due, issued_on)
SELECT gen_random_uuid(), bench_uuid(6, n), bench_uuid(1, n), 'INV-' || n || '-0', 'paid', 290.00, current_date
FROM generate_series(1, :accounts) AS n;

VACUUM ANALYZE floor.subscriptions, floor.orders, floor.order_lines, floor.invoices;
