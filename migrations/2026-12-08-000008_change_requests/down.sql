DELETE FROM notifications WHERE template LIKE 'change_request_%';
ALTER TABLE notifications DROP CONSTRAINT notifications_template_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_template_check CHECK (template IN (
    'order_confirmation', 'renewal_invoice', 'renewal_receipt', 'payment_failed',
    'trial_ending', 'cancellation_scheduled', 'subscription_canceled'));
DELETE FROM events WHERE type LIKE 'change_request.%';
ALTER TABLE events DROP CONSTRAINT events_type_check;
ALTER TABLE events ADD CONSTRAINT events_type_check CHECK (type IN (
    'account.created', 'account.updated',
    'subscription.created', 'subscription.updated', 'subscription.renewed',
    'subscription.past_due', 'subscription.cancellation_scheduled', 'subscription.reactivated',
    'subscription.canceled', 'subscription.trial_will_end', 'subscription.trial_expired',
    'order.placed', 'order.payment_failed', 'order.voided',
    'invoice.created', 'invoice.paid', 'invoice.payment_failed', 'invoice.payment_recorded',
    'invoice.uncollectible',
    'license.assigned', 'license.unassigned',
    'quote.sent', 'quote.accepted', 'quote.rejected', 'quote.withdrawn',
    'cart.item_added', 'cart.item_replaced', 'cart.item_changed', 'cart.item_removed',
    'user.created', 'user.deleted', 'purchase_order.created',
    'webhook_endpoint.created', 'webhook_endpoint.updated', 'webhook_endpoint.deleted',
    'webhook_endpoint.secret_rotated', 'webhook_endpoint.disabled', 'webhook.test',
    'test_clock.created', 'test_clock.advanced', 'test_clock.deleted'));
ALTER TABLE change_requests DROP CONSTRAINT change_requests_quote_fk;
DELETE FROM quotes WHERE status = 'accepted' AND order_id IS NULL;
ALTER TABLE quotes DROP CONSTRAINT accepted_has_order;
ALTER TABLE quotes ADD CONSTRAINT accepted_has_order
    CHECK ((status = 'accepted') = (order_id IS NOT NULL));
ALTER TABLE quotes DROP COLUMN cancellations;
ALTER TABLE quotes DROP COLUMN change_request_id;
DELETE FROM document_counters WHERE name = 'change_request';
DROP TABLE change_requests;
