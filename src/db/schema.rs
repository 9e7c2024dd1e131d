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
    }
}

diesel::table! {
    audit_events (id) {
        id -> Uuid,
        account_id -> Nullable<Uuid>,
        actor_sub -> Text,
        actor_role -> Text,
        action -> Text,
        subject_type -> Text,
        subject_id -> Nullable<Uuid>,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
        reason -> Nullable<Text>,
        request_id -> Text,
        created_at -> Timestamptz,
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

diesel::joinable!(audit_events -> accounts (account_id));
diesel::joinable!(plans -> products (product_id));
diesel::joinable!(prices -> plans (plan_id));
diesel::joinable!(subscriptions -> accounts (account_id));
diesel::joinable!(subscriptions -> products (product_id));
diesel::joinable!(users -> accounts (account_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    audit_events,
    plans,
    prices,
    products,
    subscriptions,
    users,
);
