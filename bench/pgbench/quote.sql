-- What GET /v1/accounts/{a}/cart/quote does in the database (a one-item cart).
\set n random(1, :accounts / 2)
SELECT * FROM accounts WHERE id = bench_uuid(1, :n) LIMIT 1;
SELECT * FROM carts WHERE account_id = bench_uuid(1, :n) AND status <> 'checked_out' LIMIT 1;
SELECT * FROM cart_items WHERE cart_id = bench_uuid(4, :n) ORDER BY created_at, id;
SELECT * FROM subscriptions WHERE account_id = bench_uuid(1, :n)
    AND product_id = '00000000-0000-4000-8000-000000000001' LIMIT 1;
