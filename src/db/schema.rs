// @generated automatically by Diesel CLI.

diesel::table! {
    accounts (id) {
        id -> Uuid,
        kind -> Text,
        name -> Text,
        country -> Text,
        currency -> Text,
        vat_id -> Nullable<Text>,
        billing_contact_name -> Text,
        billing_contact_email -> Text,
        address_line1 -> Nullable<Text>,
        address_line2 -> Nullable<Text>,
        city -> Nullable<Text>,
        postal_code -> Nullable<Text>,
        region -> Nullable<Text>,
        representative_id -> Nullable<Text>,
        payment_method_ref -> Nullable<Text>,
        card_brand -> Nullable<Text>,
        card_last4 -> Nullable<Text>,
        card_exp_month -> Nullable<Int2>,
        card_exp_year -> Nullable<Int2>,
        credit_balance -> Numeric,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        payment_terms_days -> Int4,
        po_required -> Bool,
        number -> Int8,
        invoices_issued -> Int4,
        test_clock_id -> Nullable<Uuid>,
        representative_email -> Nullable<Text>,
    }
}

diesel::table! {
    events (id) {
        id -> Uuid,
        account_id -> Nullable<Uuid>,
        actor_sub -> Text,
        actor_role -> Nullable<Text>,
        #[sql_name = "type"]
        type_ -> Text,
        subject_type -> Text,
        subject_id -> Nullable<Uuid>,
        object -> Jsonb,
        reason -> Nullable<Text>,
        request_id -> Text,
        created_at -> Timestamptz,
        previous_attributes -> Nullable<Jsonb>,
        idempotency_key -> Nullable<Text>,
        subscription_id -> Nullable<Uuid>,
        notify_template -> Nullable<Text>,
        notify_key -> Nullable<Text>,
    }
}

diesel::table! {
    change_requests (id) {
        id -> Uuid,
        account_id -> Uuid,
        number -> Text,
        status -> Text,
        items -> Jsonb,
        message -> Nullable<Text>,
        submitted_by -> Text,
        quote_id -> Nullable<Uuid>,
        decline_reason -> Nullable<Text>,
        answered_by -> Nullable<Text>,
        answered_at -> Nullable<Timestamptz>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    notifications (id) {
        id -> Uuid,
        account_id -> Uuid,
        event_id -> Uuid,
        template -> Text,
        cause_key -> Text,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Nullable<Timestamptz>,
        locked_until -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        to_address -> Nullable<Text>,
        cc_addresses -> Array<Text>,
        subject -> Nullable<Text>,
        sent_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    caller_idempotency_keys (caller_sub, key) {
        caller_sub -> Text,
        key -> Text,
        fingerprint -> Text,
        response_status -> Nullable<Int4>,
        response_body -> Nullable<Jsonb>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    cart_items (id) {
        id -> Uuid,
        cart_id -> Uuid,
        account_id -> Uuid,
        #[sql_name = "type"]
        type_ -> Text,
        product_id -> Uuid,
        subscription_id -> Nullable<Uuid>,
        plan_id -> Uuid,
        billing_frequency -> Text,
        quantity -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    carts (id) {
        id -> Uuid,
        account_id -> Uuid,
        status -> Text,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    document_counters (name) {
        name -> Text,
        next -> Int8,
    }
}

diesel::table! {
    idempotency_keys (account_id, key) {
        account_id -> Uuid,
        key -> Text,
        fingerprint -> Text,
        order_id -> Nullable<Uuid>,
        locked_until -> Nullable<Timestamptz>,
        response_status -> Nullable<Int4>,
        response_body -> Nullable<Jsonb>,
        created_at -> Timestamptz,
        completed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    invoice_payments (id) {
        id -> Uuid,
        invoice_id -> Uuid,
        account_id -> Uuid,
        amount -> Numeric,
        method -> Text,
        reference -> Nullable<Text>,
        received_on -> Date,
        recorded_by -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    invoices (id) {
        id -> Uuid,
        account_id -> Uuid,
        order_id -> Uuid,
        number -> Text,
        status -> Text,
        currency -> Text,
        subtotal -> Numeric,
        tax_rate -> Numeric,
        tax -> Numeric,
        reverse_charge -> Bool,
        credit_applied -> Numeric,
        credit_created -> Numeric,
        total_due -> Numeric,
        amount_paid -> Numeric,
        issued_on -> Date,
        due_on -> Date,
        po_number -> Nullable<Text>,
        paid_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        attempt_count -> Int4,
        last_payment_error -> Nullable<Jsonb>,
        collected_by_card -> Bool,
        charge_id -> Nullable<Text>,
        first_failed_at -> Nullable<Timestamptz>,
        next_payment_attempt -> Nullable<Timestamptz>,
        dunning_ends_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    jobs (id) {
        id -> Uuid,
        kind -> Text,
        dedupe_key -> Text,
        subject_id -> Nullable<Uuid>,
        due_at -> Timestamptz,
        run_at -> Timestamptz,
        status -> Text,
        attempts -> Int4,
        locked_until -> Nullable<Timestamptz>,
        locked_by -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        test_clock_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    license_assignments (subscription_id, user_id) {
        subscription_id -> Uuid,
        account_id -> Uuid,
        user_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    order_items (id) {
        id -> Uuid,
        order_id -> Uuid,
        account_id -> Uuid,
        position -> Int4,
        #[sql_name = "type"]
        type_ -> Text,
        product_id -> Uuid,
        subscription_id -> Uuid,
        plan_id -> Uuid,
        billing_frequency -> Text,
        quantity -> Int4,
        period_start -> Date,
        period_end -> Date,
        unit_price -> Numeric,
        plan_price -> Numeric,
        proration_credit -> Numeric,
    }
}

diesel::table! {
    order_lines (id) {
        id -> Uuid,
        order_id -> Uuid,
        account_id -> Uuid,
        order_item_id -> Uuid,
        position -> Int4,
        description -> Text,
        amount -> Numeric,
    }
}

diesel::table! {
    orders (id) {
        id -> Uuid,
        account_id -> Uuid,
        number -> Text,
        cart_id -> Nullable<Uuid>,
        status -> Text,
        settlement -> Text,
        currency -> Text,
        quote_date -> Date,
        subtotal -> Numeric,
        tax_rate -> Numeric,
        tax -> Numeric,
        reverse_charge -> Bool,
        credit_applied -> Numeric,
        credit_created -> Numeric,
        total_due -> Numeric,
        po_number -> Nullable<Text>,
        reason -> Nullable<Text>,
        placed_by_sub -> Text,
        placed_by_role -> Text,
        idempotency_key -> Text,
        charge_id -> Nullable<Text>,
        created_at -> Timestamptz,
        completed_at -> Nullable<Timestamptz>,
        quote_id -> Nullable<Uuid>,
        payment_method_ref -> Nullable<Text>,
        voided_at -> Nullable<Timestamptz>,
        void_reason -> Nullable<Text>,
        refunded_at -> Nullable<Timestamptz>,
        renews_subscription_id -> Nullable<Uuid>,
        cancels_subscription_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    plans (id) {
        id -> Uuid,
        product_id -> Uuid,
        code -> Text,
        name -> Text,
        rank -> Int4,
        features -> Array<Nullable<Text>>,
    }
}

diesel::table! {
    prices (id) {
        id -> Uuid,
        plan_id -> Uuid,
        billing_frequency -> Text,
        currency -> Text,
        amount -> Numeric,
        effective_from -> Date,
    }
}

diesel::table! {
    products (id) {
        id -> Uuid,
        code -> Text,
        name -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    purchase_orders (id) {
        id -> Uuid,
        account_id -> Uuid,
        number -> Text,
        amount_limit -> Nullable<Numeric>,
        expires_on -> Nullable<Date>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    quotes (id) {
        id -> Uuid,
        account_id -> Uuid,
        number -> Text,
        status -> Text,
        summary -> Jsonb,
        items -> Jsonb,
        currency -> Text,
        total_due -> Numeric,
        quote_date -> Date,
        expires_on -> Date,
        note -> Nullable<Text>,
        created_by -> Text,
        decided_by -> Nullable<Text>,
        decision_reason -> Nullable<Text>,
        decided_at -> Nullable<Timestamptz>,
        order_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        change_request_id -> Nullable<Uuid>,
        cancellations -> Jsonb,
    }
}

diesel::table! {
    subscriptions (id) {
        id -> Uuid,
        account_id -> Uuid,
        product_id -> Uuid,
        plan_id -> Uuid,
        billing_frequency -> Text,
        quantity -> Int4,
        status -> Text,
        current_period_start -> Nullable<Date>,
        current_period_end -> Nullable<Date>,
        period_amount -> Nullable<Numeric>,
        currency -> Text,
        trial_ends_on -> Nullable<Date>,
        licenses_assigned -> Int4,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        quantity_pending -> Nullable<Int4>,
        billing_anchor_day -> Nullable<Int2>,
        cancel_at_period_end -> Bool,
        cancel_at -> Nullable<Date>,
        ended_at -> Nullable<Date>,
        cancellation_reason -> Nullable<Text>,
        cancellation_comment -> Nullable<Text>,
    }
}

diesel::table! {
    test_clocks (id) {
        id -> Uuid,
        name -> Text,
        frozen_time -> Timestamptz,
        status -> Text,
        advancing_to -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        account_id -> Uuid,
        name -> Text,
        email -> Text,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(accounts -> test_clocks (test_clock_id));
diesel::joinable!(events -> accounts (account_id));
diesel::joinable!(cart_items -> products (product_id));
diesel::joinable!(carts -> accounts (account_id));
diesel::joinable!(idempotency_keys -> accounts (account_id));
diesel::joinable!(invoice_payments -> accounts (account_id));
diesel::joinable!(invoice_payments -> invoices (invoice_id));
diesel::joinable!(invoices -> accounts (account_id));
diesel::joinable!(jobs -> test_clocks (test_clock_id));
diesel::joinable!(order_items -> products (product_id));
diesel::joinable!(order_lines -> order_items (order_item_id));
diesel::joinable!(orders -> accounts (account_id));
diesel::joinable!(orders -> subscriptions (renews_subscription_id));
diesel::joinable!(plans -> products (product_id));
diesel::joinable!(prices -> plans (plan_id));
diesel::joinable!(purchase_orders -> accounts (account_id));
diesel::joinable!(quotes -> accounts (account_id));
diesel::joinable!(subscriptions -> accounts (account_id));
diesel::joinable!(subscriptions -> products (product_id));
diesel::joinable!(users -> accounts (account_id));

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        seq -> Int8,
        endpoint_id -> Uuid,
        event_id -> Uuid,
        ordering_key -> Uuid,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Nullable<Timestamptz>,
        locked_until -> Nullable<Timestamptz>,
        last_attempt_at -> Nullable<Timestamptz>,
        last_response_status -> Nullable<Int4>,
        last_duration_ms -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Uuid,
        url -> Text,
        description -> Nullable<Text>,
        enabled_events -> Array<Text>,
        disabled -> Bool,
        disabled_reason -> Nullable<Text>,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_expires_at -> Nullable<Timestamptz>,
        failing_since -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(change_requests -> accounts (account_id));
diesel::joinable!(notifications -> accounts (account_id));
diesel::joinable!(notifications -> events (event_id));
diesel::joinable!(webhook_deliveries -> events (event_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    events,
    caller_idempotency_keys,
    cart_items,
    change_requests,
    carts,
    document_counters,
    idempotency_keys,
    invoice_payments,
    invoices,
    jobs,
    license_assignments,
    notifications,
    order_items,
    order_lines,
    orders,
    plans,
    prices,
    products,
    purchase_orders,
    quotes,
    subscriptions,
    test_clocks,
    users,
    webhook_deliveries,
    webhook_endpoints,
);
