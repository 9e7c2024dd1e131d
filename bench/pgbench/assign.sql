-- What PUT and DELETE /v1/accounts/{a}/subscriptions/{s}/assignments/{u} do in the database.
-- Each client owns its accounts, as the load generator's connections do.
\set n 1 + :client_id + :nclients * random(0, :accounts / :nclients - 1)
BEGIN;
SELECT * FROM accounts WHERE id = bench_uuid(1, :n) LIMIT 1 FOR NO KEY UPDATE;
SELECT * FROM subscriptions WHERE account_id = bench_uuid(1, :n) AND id = bench_uuid(2, :n) LIMIT 1 FOR NO KEY UPDATE;
SELECT * FROM users WHERE account_id = bench_uuid(1, :n) AND id = bench_uuid(3, :n * 8 + 4) LIMIT 1;
SELECT * FROM license_assignments WHERE subscription_id = bench_uuid(2, :n) AND user_id = bench_uuid(3, :n * 8 + 4) LIMIT 1;
INSERT INTO license_assignments (subscription_id, account_id, user_id, created_at)
    VALUES (bench_uuid(2, :n), bench_uuid(1, :n), bench_uuid(3, :n * 8 + 4), now()) RETURNING *;
INSERT INTO events (id, account_id, actor_sub, actor_role, type, subject_type, subject_id, object, request_id, created_at)
    VALUES (gen_random_uuid(), bench_uuid(1, :n), 'bench', 'admin', 'license.assigned', 'subscription', bench_uuid(2, :n),
            '{"user_id": "x", "email": "u4@example"}', 'bench', now());
COMMIT;
BEGIN;
SELECT * FROM accounts WHERE id = bench_uuid(1, :n) LIMIT 1 FOR NO KEY UPDATE;
SELECT * FROM subscriptions WHERE account_id = bench_uuid(1, :n) AND id = bench_uuid(2, :n) LIMIT 1 FOR NO KEY UPDATE;
SELECT * FROM users WHERE account_id = bench_uuid(1, :n) AND id = bench_uuid(3, :n * 8 + 4) LIMIT 1;
DELETE FROM license_assignments WHERE subscription_id = bench_uuid(2, :n) AND user_id = bench_uuid(3, :n * 8 + 4);
INSERT INTO events (id, account_id, actor_sub, actor_role, type, subject_type, subject_id, object, request_id, created_at)
    VALUES (gen_random_uuid(), bench_uuid(1, :n), 'bench', 'admin', 'license.unassigned', 'subscription', bench_uuid(2, :n),
            '{"user_id": "x", "email": "u4@example"}', 'bench', now());
COMMIT;
