-- Order numbers come from a sequence: a counter row would serialise every checkout of every
-- account on one row lock. Order numbers may have gaps (a declined order is removed);
-- invoice numbers stay gapless on their counter row.
CREATE SEQUENCE order_number_seq;
SELECT setval('order_number_seq', (SELECT next FROM document_counters WHERE name = 'order'), false);
DELETE FROM document_counters WHERE name = 'order';
