// One schema for both backends; kept by hand in step with migrations/{postgres,sqlite}.

diesel::table! {
    org_units (id) {
        id -> BigInt,
        name -> Text,
        kind -> Text,
        parent_id -> Nullable<BigInt>,
        path -> Text,
        active -> Bool,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    customers (id) {
        id -> BigInt,
        name -> Text,
        kind -> Text,
        branch_id -> BigInt,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        display_name -> Text,
        phone -> Nullable<Text>,
        role -> Text,
        rank -> Nullable<Text>,
        org_unit_id -> Nullable<BigInt>,
        customer_id -> Nullable<BigInt>,
        password_hash -> Text,
        active -> Bool,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_login_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        family -> Text,
        token_hash -> Text,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_attempts (id) {
        id -> BigInt,
        username -> Text,
        remote_addr -> Text,
        succeeded -> Bool,
        at -> Timestamp,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        at -> Timestamp,
        actor_user_id -> Nullable<BigInt>,
        action -> Text,
        subject_type -> Text,
        subject_id -> BigInt,
        payload -> Text,
    }
}

diesel::joinable!(users -> org_units (org_unit_id));
diesel::joinable!(users -> customers (customer_id));
diesel::joinable!(customers -> org_units (branch_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(events -> users (actor_user_id));

diesel::allow_tables_to_appear_in_same_query!(
    org_units,
    customers,
    users,
    refresh_tokens,
    login_attempts,
    events,
);
