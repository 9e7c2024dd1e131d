-- Corporate accounts: purchase orders, payments received against invoices, and quotes a
-- representative sends and a contact accepts.

ALTER TABLE accounts
    ADD COLUMN po_required boolean NOT NULL DEFAULT false;

CREATE TABLE purchase_orders (
    id            uuid PRIMARY KEY,
    account_id    uuid NOT NULL REFERENCES accounts (id),
    number        text NOT NULL CHECK (length(number) BETWEEN 1 AND 100),
    -- The most that orders under this PO may add up to (in the account's currency).
    amount_limit  numeric(14, 2) CHECK (amount_limit > 0),
    -- The last day the PO may be used.
    expires_on    date,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, number)
);
CREATE INDEX purchase_orders_listing_idx ON purchase_orders (account_id, created_at DESC, id DESC);

CREATE TABLE quotes (
    id               uuid PRIMARY KEY,
    account_id       uuid NOT NULL REFERENCES accounts (id),
    number           text NOT NULL UNIQUE,
    status           text NOT NULL CHECK (status IN ('sent', 'accepted', 'rejected', 'withdrawn')),
    -- The checkout summary as sent (amounts, lines, totals), frozen.
    summary          jsonb NOT NULL,
    -- What the items act on, with each subscription's version when the quote was made.
    items            jsonb NOT NULL,
    currency         text NOT NULL CHECK (currency IN ('USD', 'EUR', 'GBP')),
    total_due        numeric(14, 2) NOT NULL CHECK (total_due >= 0),
    quote_date       date NOT NULL,
    expires_on       date NOT NULL CHECK (expires_on >= quote_date),
    note             text,
    created_by       text NOT NULL,
    decided_by       text,
    decision_reason  text,
    decided_at       timestamptz,
    order_id         uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, account_id),
    CONSTRAINT accepted_has_order CHECK ((status = 'accepted') = (order_id IS NOT NULL))
);
CREATE INDEX quotes_listing_idx ON quotes (account_id, created_at DESC, id DESC);
INSERT INTO document_counters (name, next) VALUES ('quote', 1);

-- An order comes from a cart or from an accepted quote, never both; each at most once.
ALTER TABLE orders ALTER COLUMN cart_id DROP NOT NULL;
ALTER TABLE orders ADD COLUMN quote_id uuid UNIQUE;
-- The card an order is charged to, fixed when the order is recorded, so that a retry charges
-- the same card whatever is attached since.
ALTER TABLE orders ADD COLUMN payment_method_ref text;
ALTER TABLE orders ADD CONSTRAINT orders_quote_fk
    FOREIGN KEY (quote_id, account_id) REFERENCES quotes (id, account_id);
ALTER TABLE orders ADD CONSTRAINT order_has_one_source
    CHECK ((cart_id IS NULL) <> (quote_id IS NULL));

CREATE TABLE invoice_payments (
    id           uuid PRIMARY KEY,
    invoice_id   uuid NOT NULL REFERENCES invoices (id),
    account_id   uuid NOT NULL REFERENCES accounts (id),
    amount       numeric(14, 2) NOT NULL CHECK (amount > 0),
    method       text NOT NULL CHECK (method IN ('bank_transfer', 'cheque')),
    reference    text,
    received_on  date NOT NULL,
    recorded_by  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX invoice_payments_invoice_idx ON invoice_payments (invoice_id);

ALTER TABLE invoices ADD CONSTRAINT paid_at_most_due CHECK (amount_paid <= total_due);
