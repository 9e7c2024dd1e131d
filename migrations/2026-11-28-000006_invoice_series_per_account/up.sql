-- Invoice numbers: a gapless series per account ("INV-000042-0007") instead of one global
-- counter row. The global row was a lock every checkout of every account took until its
-- commit; the account row is locked by the checkout already, so its own counter costs
-- nothing. Numbers stay unique and gapless within each series.
CREATE SEQUENCE account_number_seq;
ALTER TABLE accounts ADD COLUMN number bigint;
UPDATE accounts SET number = n.number
FROM (SELECT id, nextval('account_number_seq') AS number FROM (SELECT id FROM accounts ORDER BY created_at, id) ordered) n
WHERE accounts.id = n.id;
ALTER TABLE accounts ALTER COLUMN number SET DEFAULT nextval('account_number_seq');
ALTER TABLE accounts ALTER COLUMN number SET NOT NULL;
ALTER TABLE accounts ADD CONSTRAINT accounts_number_key UNIQUE (number);
ALTER SEQUENCE account_number_seq OWNED BY accounts.number;
ALTER TABLE accounts ADD COLUMN invoices_issued integer NOT NULL DEFAULT 0 CHECK (invoices_issued >= 0);
UPDATE accounts SET invoices_issued = (SELECT count(*) FROM invoices WHERE invoices.account_id = accounts.id);
DELETE FROM document_counters WHERE name = 'invoice';
