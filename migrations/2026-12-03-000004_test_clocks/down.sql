DROP INDEX jobs_clock_due_idx;
DROP INDEX jobs_due_idx;
DELETE FROM jobs WHERE test_clock_id IS NOT NULL OR kind = 'advance_test_clock';
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE status = 'due';
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('renew_subscription', 'trial_will_end', 'expire_trial',
                    'purge_idempotency_keys', 'recover_pending_orders'));
ALTER TABLE jobs DROP COLUMN test_clock_id;
DROP INDEX accounts_test_clock_idx;
ALTER TABLE accounts DROP COLUMN test_clock_id;
DROP TABLE test_clocks;
