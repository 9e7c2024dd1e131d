-- Test clocks (SPEC §15): simulated time for the accounts bound to them, so an integrator
-- can watch renewals, trials and dunning happen without waiting.

CREATE TABLE test_clocks (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- "Now" for every rule of the clock's accounts.
    frozen_time timestamptz NOT NULL,
    status text NOT NULL DEFAULT 'ready' CHECK (status IN ('ready', 'advancing')),
    -- Where an advance is going; `frozen_time` steps towards it through every due job.
    advancing_to timestamptz,
    -- Real time: when the clock was made and last moved.
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT advancing_has_target CHECK ((status = 'advancing') = (advancing_to IS NOT NULL)),
    CONSTRAINT target_ahead CHECK (advancing_to IS NULL OR advancing_to >= frozen_time)
);
CREATE INDEX test_clocks_created_idx ON test_clocks (created_at, id);

-- An account is bound to a clock when it is created and never moves.
ALTER TABLE accounts ADD COLUMN test_clock_id uuid REFERENCES test_clocks (id);
CREATE INDEX accounts_test_clock_idx ON accounts (test_clock_id) WHERE test_clock_id IS NOT NULL;

-- A clock's jobs are due in its time, so only its advance runs them; real-time workers
-- claim the others.
ALTER TABLE jobs ADD COLUMN test_clock_id uuid REFERENCES test_clocks (id) ON DELETE CASCADE;
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('renew_subscription', 'trial_will_end', 'expire_trial',
                    'purge_idempotency_keys', 'recover_pending_orders', 'advance_test_clock'));
-- (run_at, id): the claim's order, read from the index without a sort.
DROP INDEX jobs_due_idx;
CREATE INDEX jobs_due_idx ON jobs (run_at, id) WHERE status = 'due' AND test_clock_id IS NULL;
CREATE INDEX jobs_clock_due_idx ON jobs (test_clock_id, run_at)
    WHERE status = 'due' AND test_clock_id IS NOT NULL;
