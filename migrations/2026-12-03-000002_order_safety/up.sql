-- A card order that was paid but can no longer be applied (a rule broke between the charge
-- and completion) is kept as `voided`, with its charge, before the refund is asked for: a
-- crash between the two leaves a row that recovery refunds, never a lost refund.
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('pending', 'completed', 'voided'));
ALTER TABLE orders
    ADD COLUMN voided_at   timestamptz,
    ADD COLUMN void_reason text,
    ADD COLUMN refunded_at timestamptz;
ALTER TABLE orders ADD CONSTRAINT voided_has_time_and_reason
    CHECK ((status = 'voided') = (voided_at IS NOT NULL AND void_reason IS NOT NULL));
ALTER TABLE orders ADD CONSTRAINT refunded_only_when_voided_and_charged
    CHECK (refunded_at IS NULL OR (status = 'voided' AND charge_id IS NOT NULL));
-- One live order per cart: a voided order gives its cart back.
ALTER TABLE orders DROP CONSTRAINT one_order_per_cart;
CREATE UNIQUE INDEX one_order_per_cart ON orders (cart_id) WHERE status <> 'voided';
CREATE INDEX orders_refund_due_idx ON orders (voided_at)
    WHERE status = 'voided' AND refunded_at IS NULL AND charge_id IS NOT NULL;

-- While a pending card order reduces a subscription's licences, assignments stay within the
-- quantity it will leave, so the order cannot be invalidated after its charge.
ALTER TABLE subscriptions ADD COLUMN quantity_pending integer
    CHECK (quantity_pending IS NULL OR quantity_pending BETWEEN 1 AND 10000);
ALTER TABLE subscriptions ADD CONSTRAINT licenses_within_pending_quantity
    CHECK (quantity_pending IS NULL OR licenses_assigned <= quantity_pending);

-- The order number is drawn by the insert itself (no round trip of its own): `ORD-` and at
-- least six digits from the sequence.
CREATE FUNCTION next_order_number() RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT 'ORD-' || CASE WHEN n < 1000000 THEN lpad(n::text, 6, '0') ELSE n::text END
    FROM (SELECT nextval('order_number_seq') AS n) drawn
$$;
ALTER TABLE orders ALTER COLUMN number SET DEFAULT next_order_number();
