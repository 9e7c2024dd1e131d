DROP TABLE audit_events;
DROP TABLE subscriptions;
DROP TABLE users;
DROP TABLE accounts;
DROP TABLE prices;
DROP TABLE plans;
DROP TABLE products;
