-- Foundation: catalog, accounts, users, subscriptions and the audit trail.
-- Every account-owned table carries account_id, so the data can be distributed by account.

CREATE TABLE products (
    id          uuid PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE plans (
    id          uuid PRIMARY KEY,
    product_id  uuid NOT NULL REFERENCES products (id),
    code        text NOT NULL CHECK (code ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    rank        integer NOT NULL CHECK (rank > 0),
    features    text[] NOT NULL DEFAULT '{}',
    UNIQUE (product_id, code),
    UNIQUE (product_id, rank),
    -- Lets subscriptions prove that their plan belongs to their product.
    UNIQUE (id, product_id)
);

-- Prices are versioned: an order uses the row with the latest effective_from <= the order date.
CREATE TABLE prices (
    id                 uuid PRIMARY KEY,
    plan_id            uuid NOT NULL REFERENCES plans (id),
    billing_frequency  text NOT NULL CHECK (billing_frequency IN ('monthly', 'annual')),
    currency           text NOT NULL CHECK (currency IN ('USD', 'EUR', 'GBP')),
    amount             numeric(12, 2) NOT NULL CHECK (amount > 0),
    effective_from     date NOT NULL,
    UNIQUE (plan_id, billing_frequency, currency, effective_from)
);

CREATE TABLE accounts (
    id                     uuid PRIMARY KEY,
    kind                   text NOT NULL CHECK (kind IN ('self_service', 'corporate')),
    name                   text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    country                text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    currency               text NOT NULL CHECK (currency IN ('USD', 'EUR', 'GBP')),
    vat_id                 text CHECK (vat_id ~ '^[A-Z0-9]{4,20}$'),
    billing_contact_name   text NOT NULL CHECK (length(billing_contact_name) BETWEEN 1 AND 200),
    billing_contact_email  text NOT NULL CHECK (billing_contact_email ~ '^[^@\s]+@[^@\s]+$'),
    address_line1          text,
    address_line2          text,
    city                   text,
    postal_code            text,
    region                 text,
    representative_id      text CHECK (length(representative_id) BETWEEN 1 AND 200),
    -- The gateway's reusable reference to the card; only display data besides it.
    payment_method_ref     text,
    card_brand             text,
    card_last4             text CHECK (card_last4 ~ '^[0-9]{4}$'),
    card_exp_month         smallint CHECK (card_exp_month BETWEEN 1 AND 12),
    card_exp_year          smallint CHECK (card_exp_year BETWEEN 2000 AND 2200),
    credit_balance         numeric(14, 2) NOT NULL DEFAULT 0 CHECK (credit_balance >= 0),
    version                integer NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT representative_only_on_corporate
        CHECK (representative_id IS NULL OR kind = 'corporate'),
    CONSTRAINT card_is_whole
        CHECK ((payment_method_ref IS NULL) = (card_brand IS NULL)
           AND (payment_method_ref IS NULL) = (card_last4 IS NULL)
           AND (payment_method_ref IS NULL) = (card_exp_month IS NULL)
           AND (payment_method_ref IS NULL) = (card_exp_year IS NULL))
);
CREATE INDEX accounts_representative_idx ON accounts (representative_id, created_at DESC, id DESC)
    WHERE representative_id IS NOT NULL;
CREATE INDEX accounts_listing_idx ON accounts (kind, created_at DESC, id DESC);

CREATE TABLE users (
    id          uuid PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES accounts (id),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email       text NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 254),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, account_id)
);
CREATE UNIQUE INDEX users_email_per_account_idx ON users (account_id, lower(email));
CREATE INDEX users_listing_idx ON users (account_id, created_at DESC, id DESC);

CREATE TABLE subscriptions (
    id                    uuid PRIMARY KEY,
    account_id            uuid NOT NULL REFERENCES accounts (id),
    product_id            uuid NOT NULL REFERENCES products (id),
    plan_id               uuid NOT NULL,
    billing_frequency     text NOT NULL CHECK (billing_frequency IN ('monthly', 'annual')),
    quantity              integer NOT NULL CHECK (quantity BETWEEN 1 AND 10000),
    -- 'trial_expired' is derived from trial_ends_on and the date, never stored.
    status                text NOT NULL CHECK (status IN ('trialing', 'active', 'canceled')),
    current_period_start  date,
    current_period_end    date,
    period_amount         numeric(14, 2) CHECK (period_amount >= 0),
    currency              text NOT NULL CHECK (currency IN ('USD', 'EUR', 'GBP')),
    trial_ends_on         date,
    licenses_assigned     integer NOT NULL DEFAULT 0,
    version               integer NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, product_id),
    UNIQUE (id, account_id),
    FOREIGN KEY (plan_id, product_id) REFERENCES plans (id, product_id),
    CONSTRAINT licenses_within_quantity
        CHECK (licenses_assigned BETWEEN 0 AND quantity),
    CONSTRAINT active_has_period
        CHECK (status <> 'active' OR (current_period_start IS NOT NULL
                                      AND current_period_end IS NOT NULL
                                      AND current_period_end > current_period_start
                                      AND period_amount IS NOT NULL)),
    CONSTRAINT trialing_has_end
        CHECK (status <> 'trialing' OR trial_ends_on IS NOT NULL)
);
CREATE INDEX subscriptions_account_idx ON subscriptions (account_id, created_at DESC, id DESC);

CREATE TABLE audit_events (
    id           uuid PRIMARY KEY,
    account_id   uuid REFERENCES accounts (id),
    actor_sub    text NOT NULL,
    actor_role   text NOT NULL,
    action       text NOT NULL,
    subject_type text NOT NULL,
    subject_id   uuid,
    before       jsonb,
    after        jsonb,
    reason       text,
    request_id   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_account_idx ON audit_events (account_id, created_at DESC, id DESC);

-- The catalog: one price version, effective 2000-01-01, so a fresh database serves it at once.
INSERT INTO products (id, code, name) VALUES
    ('00000000-0000-4000-8000-000000000001', 'gotoassist-rs-v4', 'GoToAssist Remote Support v4'),
    ('00000000-0000-4000-8000-000000000002', 'gotoassist-service-desk', 'GoToAssist Service Desk');

INSERT INTO plans (id, product_id, code, name, rank, features) VALUES
    ('00000000-0000-4000-8001-000000000001', '00000000-0000-4000-8000-000000000001',
     'standard', 'Standard', 1,
     ARRAY['Unattended access', 'Remote support sessions', 'File transfer']),
    ('00000000-0000-4000-8001-000000000002', '00000000-0000-4000-8000-000000000001',
     'premium', 'Premium', 2,
     ARRAY['Unattended access', 'Remote support sessions', 'File transfer',
           'Mobile device support', 'Session recording']),
    ('00000000-0000-4000-8001-000000000003', '00000000-0000-4000-8000-000000000001',
     'ultimate', 'Ultimate', 3,
     ARRAY['Unattended access', 'Remote support sessions', 'File transfer',
           'Mobile device support', 'Session recording', 'Camera share',
           'Single sign-on', 'Advanced reporting']),
    ('00000000-0000-4000-8001-000000000011', '00000000-0000-4000-8000-000000000002',
     'starter', 'Starter', 1,
     ARRAY['Incident management', 'Knowledge base']),
    ('00000000-0000-4000-8001-000000000012', '00000000-0000-4000-8000-000000000002',
     'professional', 'Professional', 2,
     ARRAY['Incident management', 'Knowledge base', 'Change management', 'SLA reporting']);

-- Annual prices are per licence per year and cheaper than twelve months.
INSERT INTO prices (id, plan_id, billing_frequency, currency, amount, effective_from)
SELECT gen_random_uuid(), p.plan_id::uuid, p.frequency, p.currency, p.amount, DATE '2000-01-01'
FROM (VALUES
    ('00000000-0000-4000-8001-000000000001', 'monthly', 'USD',  29.00),
    ('00000000-0000-4000-8001-000000000001', 'annual',  'USD', 288.00),
    ('00000000-0000-4000-8001-000000000001', 'monthly', 'EUR',  27.00),
    ('00000000-0000-4000-8001-000000000001', 'annual',  'EUR', 264.00),
    ('00000000-0000-4000-8001-000000000001', 'monthly', 'GBP',  23.00),
    ('00000000-0000-4000-8001-000000000001', 'annual',  'GBP', 228.00),
    ('00000000-0000-4000-8001-000000000002', 'monthly', 'USD',  49.00),
    ('00000000-0000-4000-8001-000000000002', 'annual',  'USD', 468.00),
    ('00000000-0000-4000-8001-000000000002', 'monthly', 'EUR',  45.00),
    ('00000000-0000-4000-8001-000000000002', 'annual',  'EUR', 432.00),
    ('00000000-0000-4000-8001-000000000002', 'monthly', 'GBP',  39.00),
    ('00000000-0000-4000-8001-000000000002', 'annual',  'GBP', 372.00),
    ('00000000-0000-4000-8001-000000000003', 'monthly', 'USD',  79.00),
    ('00000000-0000-4000-8001-000000000003', 'annual',  'USD', 756.00),
    ('00000000-0000-4000-8001-000000000003', 'monthly', 'EUR',  73.00),
    ('00000000-0000-4000-8001-000000000003', 'annual',  'EUR', 696.00),
    ('00000000-0000-4000-8001-000000000003', 'monthly', 'GBP',  63.00),
    ('00000000-0000-4000-8001-000000000003', 'annual',  'GBP', 600.00),
    ('00000000-0000-4000-8001-000000000011', 'monthly', 'USD',  19.00),
    ('00000000-0000-4000-8001-000000000011', 'annual',  'USD', 190.00),
    ('00000000-0000-4000-8001-000000000011', 'monthly', 'EUR',  18.00),
    ('00000000-0000-4000-8001-000000000011', 'annual',  'EUR', 180.00),
    ('00000000-0000-4000-8001-000000000011', 'monthly', 'GBP',  15.00),
    ('00000000-0000-4000-8001-000000000011', 'annual',  'GBP', 150.00),
    ('00000000-0000-4000-8001-000000000012', 'monthly', 'USD',  39.00),
    ('00000000-0000-4000-8001-000000000012', 'annual',  'USD', 390.00),
    ('00000000-0000-4000-8001-000000000012', 'monthly', 'EUR',  36.00),
    ('00000000-0000-4000-8001-000000000012', 'annual',  'EUR', 360.00),
    ('00000000-0000-4000-8001-000000000012', 'monthly', 'GBP',  31.00),
    ('00000000-0000-4000-8001-000000000012', 'annual',  'GBP', 310.00)
) AS p (plan_id, frequency, currency, amount);
