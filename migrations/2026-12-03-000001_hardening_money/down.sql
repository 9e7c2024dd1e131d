DROP TABLE caller_idempotency_keys;
COMMENT ON COLUMN idempotency_keys.order_id IS NULL;
DROP INDEX invoice_payments_reference_key;
DROP INDEX orders_po_number_idx;
DROP INDEX purchase_orders_number_key;
ALTER TABLE purchase_orders
    ADD CONSTRAINT purchase_orders_account_id_number_key UNIQUE (account_id, number);
