-- Licence assignment: which users hold a licence of a subscription (the product is enabled
-- for them). The subscription's licenses_assigned is kept equal to the rows here by a
-- trigger, and its CHECK (licenses_assigned <= quantity) caps them even under concurrency.

CREATE TABLE license_assignments (
    subscription_id  uuid NOT NULL,
    account_id       uuid NOT NULL,
    user_id          uuid NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subscription_id, user_id),
    FOREIGN KEY (subscription_id, account_id) REFERENCES subscriptions (id, account_id),
    -- A user of another account cannot hold this account's licence; deleting a user frees it.
    FOREIGN KEY (user_id, account_id) REFERENCES users (id, account_id) ON DELETE CASCADE
);
CREATE INDEX license_assignments_listing_idx
    ON license_assignments (subscription_id, created_at DESC, user_id DESC);
CREATE INDEX license_assignments_user_idx ON license_assignments (user_id);

CREATE FUNCTION count_license_assignments() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE subscriptions SET licenses_assigned = licenses_assigned + 1 WHERE id = NEW.subscription_id;
        RETURN NEW;
    ELSE
        UPDATE subscriptions SET licenses_assigned = licenses_assigned - 1 WHERE id = OLD.subscription_id;
        RETURN OLD;
    END IF;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER license_assignments_count
    AFTER INSERT OR DELETE ON license_assignments
    FOR EACH ROW EXECUTE FUNCTION count_license_assignments();
