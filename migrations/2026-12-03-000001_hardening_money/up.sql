-- Hardening money paths: purchase-order numbers in any case, payments recorded once, and
-- idempotent account creation.

-- A PO number is the same PO in any case: `po-lim` must not slip past the limit of `PO-LIM`.
ALTER TABLE purchase_orders DROP CONSTRAINT purchase_orders_account_id_number_key;
CREATE UNIQUE INDEX purchase_orders_number_key
    ON purchase_orders (account_id, lower(number));
-- What has been ordered under a PO is looked up the same way.
CREATE INDEX orders_po_number_idx
    ON orders (account_id, lower(po_number))
    WHERE po_number IS NOT NULL;

-- A payment reference (bank reference, cheque number) is recorded once per account, whatever
-- its case or surrounding spaces: the same transfer entered twice is refused.
CREATE UNIQUE INDEX invoice_payments_reference_key
    ON invoice_payments (account_id, lower(btrim(reference)))
    WHERE reference IS NOT NULL;

-- Account-scoped keys now also guard requests that place no order (payments received).
COMMENT ON COLUMN idempotency_keys.order_id IS
    'The order the request placed; null for requests that place none (payments received).';

-- Keys of requests made before there is an account to scope them to (account creation):
-- scoped to the caller's `sub`. Such a request runs in one transaction, so a row is either
-- absent or carries its response once committed.
CREATE TABLE caller_idempotency_keys (
    caller_sub       text NOT NULL,
    key              text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint      text NOT NULL,
    response_status  integer,
    response_body    jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (caller_sub, key)
);
