-- What GET /v1/accounts/{a}/subscriptions/{s} does in the database.
\set n random(1, :accounts)
SELECT s.*, a.kind, a.representative_id FROM subscriptions s JOIN accounts a ON a.id = s.account_id
    WHERE s.account_id = bench_uuid(1, :n) AND s.id = bench_uuid(2, :n) LIMIT 1;
