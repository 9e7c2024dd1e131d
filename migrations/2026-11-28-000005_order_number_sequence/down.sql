INSERT INTO document_counters (name, next) VALUES ('order', (SELECT last_value + 1 FROM order_number_seq));
DROP SEQUENCE order_number_seq;
