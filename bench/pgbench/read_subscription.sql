-- What GET /v1/accounts/{a}/subscriptions/{s} does in the database.
\set n random(1, :accounts)
SELECT * FROM accounts WHERE id = bench_uuid(1, :n) LIMIT 1;
SELECT * FROM subscriptions WHERE account_id = bench_uuid(1, :n) AND id = bench_uuid(2, :n) LIMIT 1;
