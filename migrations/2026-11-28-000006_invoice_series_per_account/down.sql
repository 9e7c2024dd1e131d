INSERT INTO document_counters (name, next) VALUES ('invoice', (SELECT count(*) + 1 FROM invoices));
ALTER TABLE accounts DROP COLUMN invoices_issued;
ALTER TABLE accounts DROP COLUMN number;
