-- Hardening money paths.

-- A PO number is the same PO in any case: `po-lim` must not slip past the limit of `PO-LIM`.
ALTER TABLE purchase_orders DROP CONSTRAINT purchase_orders_account_id_number_key;
CREATE UNIQUE INDEX purchase_orders_number_key
    ON purchase_orders (account_id, lower(number));
-- What has been ordered under a PO is looked up the same way.
CREATE INDEX orders_po_number_idx
    ON orders (account_id, lower(po_number))
    WHERE po_number IS NOT NULL;
