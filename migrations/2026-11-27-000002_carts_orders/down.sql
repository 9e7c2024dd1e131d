DROP TABLE idempotency_keys;
DROP TABLE invoices;
DROP TABLE order_lines;
DROP TABLE order_items;
DROP TABLE orders;
DROP TABLE document_counters;
DROP TABLE cart_items;
DROP TABLE carts;
ALTER TABLE accounts DROP COLUMN payment_terms_days;
