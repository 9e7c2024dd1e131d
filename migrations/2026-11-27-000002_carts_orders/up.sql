-- Carts, orders, invoices and idempotency keys: changing a subscription end to end.

-- Corporate accounts settle by invoice on payment terms (days).
ALTER TABLE accounts
    ADD COLUMN payment_terms_days integer NOT NULL DEFAULT 30
        CHECK (payment_terms_days BETWEEN 0 AND 365);

CREATE TABLE carts (
    id          uuid PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES accounts (id),
    -- open: editable; checking_out: an order is being placed from it; checked_out: ordered.
    status      text NOT NULL CHECK (status IN ('open', 'checking_out', 'checked_out')),
    version     integer NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, account_id)
);
-- At most one cart per account that is not yet ordered.
CREATE UNIQUE INDEX carts_one_open_per_account ON carts (account_id) WHERE status <> 'checked_out';

CREATE TABLE cart_items (
    id                 uuid PRIMARY KEY,
    cart_id            uuid NOT NULL,
    account_id         uuid NOT NULL,
    type               text NOT NULL CHECK (type IN ('change', 'subscribe')),
    product_id         uuid NOT NULL REFERENCES products (id),
    subscription_id    uuid,
    plan_id            uuid NOT NULL,
    billing_frequency  text NOT NULL CHECK (billing_frequency IN ('monthly', 'annual')),
    quantity           integer NOT NULL CHECK (quantity BETWEEN 1 AND 10000),
    created_at         timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (cart_id, account_id) REFERENCES carts (id, account_id) ON DELETE CASCADE,
    FOREIGN KEY (subscription_id, account_id) REFERENCES subscriptions (id, account_id),
    FOREIGN KEY (plan_id, product_id) REFERENCES plans (id, product_id),
    -- One item per product.
    UNIQUE (cart_id, product_id),
    CONSTRAINT change_names_its_subscription CHECK ((type = 'change') = (subscription_id IS NOT NULL))
);
CREATE INDEX cart_items_cart_idx ON cart_items (cart_id);

-- Gapless numbering for invoices (a rolled-back transaction gives its number back).
CREATE TABLE document_counters (
    name  text PRIMARY KEY,
    next  bigint NOT NULL CHECK (next > 0)
);
INSERT INTO document_counters (name, next) VALUES ('invoice', 1), ('order', 1);

CREATE TABLE orders (
    id               uuid PRIMARY KEY,
    account_id       uuid NOT NULL REFERENCES accounts (id),
    number           text NOT NULL UNIQUE,
    cart_id          uuid NOT NULL,
    -- pending: recorded, payment under way; completed: applied, invoiced.
    status           text NOT NULL CHECK (status IN ('pending', 'completed')),
    settlement       text NOT NULL CHECK (settlement IN ('card', 'invoice', 'none')),
    currency         text NOT NULL CHECK (currency IN ('USD', 'EUR', 'GBP')),
    quote_date       date NOT NULL,
    subtotal         numeric(14, 2) NOT NULL,
    tax_rate         numeric(6, 4) NOT NULL CHECK (tax_rate >= 0 AND tax_rate < 1),
    tax              numeric(14, 2) NOT NULL CHECK (tax >= 0),
    reverse_charge   boolean NOT NULL,
    credit_applied   numeric(14, 2) NOT NULL CHECK (credit_applied >= 0),
    credit_created   numeric(14, 2) NOT NULL CHECK (credit_created >= 0),
    total_due        numeric(14, 2) NOT NULL CHECK (total_due >= 0),
    po_number        text,
    reason           text,
    placed_by_sub    text NOT NULL,
    placed_by_role   text NOT NULL,
    idempotency_key  text NOT NULL,
    charge_id        text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz,
    FOREIGN KEY (cart_id, account_id) REFERENCES carts (id, account_id),
    UNIQUE (id, account_id),
    -- An account can never get two orders from one cart.
    CONSTRAINT one_order_per_cart UNIQUE (cart_id),
    CONSTRAINT total_due_is_exact
        CHECK (total_due = GREATEST(subtotal + tax, 0) - credit_applied),
    CONSTRAINT completed_has_time CHECK ((status = 'completed') = (completed_at IS NOT NULL)),
    CONSTRAINT card_payment_has_charge
        CHECK (status <> 'completed' OR settlement <> 'card' OR charge_id IS NOT NULL)
);
CREATE INDEX orders_account_idx ON orders (account_id, created_at DESC, id DESC);
CREATE INDEX orders_pending_idx ON orders (created_at) WHERE status = 'pending';

CREATE TABLE order_items (
    id                 uuid PRIMARY KEY,
    order_id           uuid NOT NULL,
    account_id         uuid NOT NULL,
    position           integer NOT NULL CHECK (position >= 0),
    type               text NOT NULL CHECK (type IN ('change', 'subscribe')),
    product_id         uuid NOT NULL REFERENCES products (id),
    -- For a subscribe item without an earlier trial, the id the new subscription gets.
    subscription_id    uuid NOT NULL,
    plan_id            uuid NOT NULL,
    billing_frequency  text NOT NULL CHECK (billing_frequency IN ('monthly', 'annual')),
    quantity           integer NOT NULL CHECK (quantity BETWEEN 1 AND 10000),
    period_start       date NOT NULL,
    period_end         date NOT NULL CHECK (period_end > period_start),
    unit_price         numeric(12, 2) NOT NULL CHECK (unit_price >= 0),
    plan_price         numeric(14, 2) NOT NULL CHECK (plan_price >= 0),
    proration_credit   numeric(14, 2) NOT NULL CHECK (proration_credit >= 0),
    FOREIGN KEY (order_id, account_id) REFERENCES orders (id, account_id) ON DELETE CASCADE,
    FOREIGN KEY (plan_id, product_id) REFERENCES plans (id, product_id),
    UNIQUE (order_id, position),
    UNIQUE (order_id, product_id)
);

CREATE TABLE order_lines (
    id             uuid PRIMARY KEY,
    order_id       uuid NOT NULL,
    account_id     uuid NOT NULL,
    order_item_id  uuid NOT NULL REFERENCES order_items (id) ON DELETE CASCADE,
    position       integer NOT NULL CHECK (position >= 0),
    description    text NOT NULL,
    amount         numeric(14, 2) NOT NULL,
    FOREIGN KEY (order_id, account_id) REFERENCES orders (id, account_id) ON DELETE CASCADE,
    UNIQUE (order_id, position)
);

CREATE TABLE invoices (
    id              uuid PRIMARY KEY,
    account_id      uuid NOT NULL REFERENCES accounts (id),
    order_id        uuid NOT NULL UNIQUE,
    number          text NOT NULL UNIQUE,
    status          text NOT NULL CHECK (status IN ('open', 'paid')),
    currency        text NOT NULL CHECK (currency IN ('USD', 'EUR', 'GBP')),
    subtotal        numeric(14, 2) NOT NULL,
    tax_rate        numeric(6, 4) NOT NULL,
    tax             numeric(14, 2) NOT NULL CHECK (tax >= 0),
    reverse_charge  boolean NOT NULL,
    credit_applied  numeric(14, 2) NOT NULL CHECK (credit_applied >= 0),
    credit_created  numeric(14, 2) NOT NULL CHECK (credit_created >= 0),
    total_due       numeric(14, 2) NOT NULL CHECK (total_due >= 0),
    amount_paid     numeric(14, 2) NOT NULL DEFAULT 0 CHECK (amount_paid >= 0),
    issued_on       date NOT NULL,
    due_on          date NOT NULL CHECK (due_on >= issued_on),
    po_number       text,
    paid_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (order_id, account_id) REFERENCES orders (id, account_id),
    CONSTRAINT invoice_total_is_exact
        CHECK (total_due = GREATEST(subtotal + tax, 0) - credit_applied),
    CONSTRAINT paid_when_covered CHECK ((status = 'paid') = (paid_at IS NOT NULL))
);
CREATE INDEX invoices_account_idx ON invoices (account_id, created_at DESC, id DESC);

-- Checkout idempotency: a key is scoped to the account and remembers the request's
-- fingerprint and, once the order completed, the response that was sent.
CREATE TABLE idempotency_keys (
    account_id       uuid NOT NULL REFERENCES accounts (id),
    key              text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint      text NOT NULL,
    order_id         uuid,
    -- While a request works on the key, others answer 409 until the lease runs out.
    locked_until     timestamptz,
    response_status  integer,
    response_body    jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz,
    PRIMARY KEY (account_id, key),
    CONSTRAINT completed_has_response
        CHECK ((completed_at IS NULL) = (response_status IS NULL))
);
