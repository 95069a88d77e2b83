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
        contact_name -> Nullable<Text>,
        contact_phone -> Nullable<Text>,
        address -> Nullable<Text>,
        grade -> Nullable<Text>,
        graded_at -> Nullable<Timestamp>,
        serious_problems -> Bool,
        active -> Bool,
        scope_path -> Text,
    }
}

diesel::table! {
    customer_gradings (id) {
        id -> BigInt,
        customer_id -> BigInt,
        operating_score -> Integer,
        payment_score -> Integer,
        cooperation_score -> Integer,
        proposed_grade -> Text,
        grade -> Text,
        override_reason -> Nullable<Text>,
        graded_by -> BigInt,
        graded_at -> Timestamp,
    }
}

diesel::table! {
    projects (id) {
        id -> BigInt,
        code -> Text,
        name -> Text,
        address -> Text,
        branch_id -> BigInt,
        project_department_id -> BigInt,
        customer_id -> BigInt,
        contract_number -> Nullable<Text>,
        building_area -> Nullable<Double>,
        structure_type -> Nullable<Text>,
        quality_grade -> Nullable<Text>,
        completion_accepted_on -> Date,
        handover_on -> Date,
        is_key_project -> Bool,
        hvac_in_scope -> Bool,
        design_service_life_years -> Integer,
        ledger_status -> Text,
        ledger_due_at -> Timestamp,
        ledger_submitted_at -> Nullable<Timestamp>,
        ledger_submitted_late -> Bool,
        ledger_late_reason -> Nullable<Text>,
        ledger_reviewed_at -> Nullable<Timestamp>,
        ledger_reviewed_by -> Nullable<BigInt>,
        ledger_review_comment -> Nullable<Text>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        scope_path -> Text,
        systems_in_operation_on -> Nullable<Date>,
        import_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    project_contacts (id) {
        id -> BigInt,
        project_id -> BigInt,
        role -> Text,
        name -> Text,
        phone -> Text,
        company -> Nullable<Text>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    warranty_terms (id) {
        id -> BigInt,
        project_id -> BigInt,
        category -> Text,
        years -> Nullable<Integer>,
        periods -> Nullable<Integer>,
        starts_on -> Date,
        ends_on -> Date,
        note -> Nullable<Text>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    complaints (id) {
        id -> BigInt,
        project_id -> BigInt,
        customer_id -> BigInt,
        received_at -> Timestamp,
        created_at -> Timestamp,
        branch_id -> Nullable<BigInt>,
        scope_path -> Text,
        status -> Text,
        category -> Text,
        channel -> Text,
        complainant_name -> Text,
        complainant_phone -> Text,
        description -> Text,
        sent_to_group -> Bool,
        registered_by -> Nullable<BigInt>,
        repeat_of -> Nullable<BigInt>,
        is_repeat -> Bool,
        visit_id -> Nullable<BigInt>,
        liability -> Nullable<Text>,
        severity -> Nullable<Text>,
        reasoning -> Nullable<Text>,
        judged_at -> Nullable<Timestamp>,
        judged_by -> Nullable<BigInt>,
        filing_status -> Text,
        filed_at -> Nullable<Timestamp>,
        filed_by -> Nullable<BigInt>,
        filing_note -> Nullable<Text>,
        rounds -> Integer,
        rating -> Nullable<Text>,
        closed_at -> Nullable<Timestamp>,
        version -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    complaint_replies (complaint_id) {
        complaint_id -> BigInt,
        method -> Text,
        sent_at -> Timestamp,
        text -> Text,
        recorded_by -> BigInt,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    complaint_resolutions (id) {
        id -> BigInt,
        complaint_id -> BigInt,
        round -> Integer,
        summary -> Text,
        resolved_by -> BigInt,
        resolved_at -> Timestamp,
    }
}

diesel::table! {
    complaint_evaluations (id) {
        id -> BigInt,
        complaint_id -> BigInt,
        round -> Integer,
        rating -> Text,
        method -> Text,
        notes -> Nullable<Text>,
        satisfied -> Bool,
        evaluated_by -> BigInt,
        evaluated_at -> Timestamp,
    }
}

diesel::table! {
    rectification_plans (id) {
        id -> BigInt,
        complaint_id -> BigInt,
        branch_id -> BigInt,
        project_department_id -> BigInt,
        scope_path -> Text,
        status -> Text,
        revision -> Integer,
        resources -> Text,
        expected_result -> Text,
        created_by -> BigInt,
        submitted_at -> Nullable<Timestamp>,
        reviewed_at -> Nullable<Timestamp>,
        reviewed_by -> Nullable<BigInt>,
        review_comment -> Nullable<Text>,
        covers_all_points -> Nullable<Bool>,
        approved_at -> Nullable<Timestamp>,
        approved_by -> Nullable<BigInt>,
        approval_comment -> Nullable<Text>,
        progress_percent -> Integer,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    rectification_plan_versions (id) {
        id -> BigInt,
        plan_id -> BigInt,
        revision -> Integer,
        milestones -> Text,
        resources -> Text,
        expected_result -> Text,
        reason -> Nullable<Text>,
        changed_by -> BigInt,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    rectification_milestones (id) {
        id -> BigInt,
        plan_id -> BigInt,
        revision -> Integer,
        position -> Integer,
        due_on -> Date,
        description -> Text,
        done_on -> Nullable<Date>,
        current -> Bool,
        status -> Text,
        version -> Integer,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    rectification_progress (id) {
        id -> BigInt,
        plan_id -> BigInt,
        reported_on -> Date,
        percent -> Integer,
        note -> Text,
        resources_in_place -> Bool,
        milestones_done -> Text,
        reported_by -> BigInt,
        created_at -> Timestamp,
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
    sessions (id) {
        id -> Text,
        user_id -> BigInt,
        username -> Text,
        role -> Text,
        rank -> Nullable<Text>,
        org_unit_id -> Nullable<BigInt>,
        org_path -> Nullable<Text>,
        org_kind -> Nullable<Text>,
        customer_id -> Nullable<BigInt>,
        active -> Bool,
        started_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
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
        tx -> BigInt,
        scope_path -> Nullable<Text>,
        customer_id -> Nullable<BigInt>,
        prior_scope_path -> Nullable<Text>,
        prior_customer_id -> Nullable<BigInt>,
        audience -> Text,
        api_key_id -> Nullable<BigInt>,
        webhook_ids -> Nullable<Text>,
    }
}

diesel::table! {
    imports (id) {
        id -> BigInt,
        kind -> Text,
        file_name -> Text,
        sha256 -> Text,
        row_count -> Integer,
        created_by -> BigInt,
        scope_path -> Text,
        created_at -> Timestamp,
        report -> Text,
    }
}

diesel::table! {
    outbox_position (id) {
        id -> Integer,
        tx -> BigInt,
        event_id -> BigInt,
    }
}

diesel::table! {
    api_keys (id) {
        id -> BigInt,
        name -> Text,
        prefix -> Text,
        key_hash -> Text,
        user_id -> BigInt,
        read_only -> Bool,
        expires_at -> Nullable<Timestamp>,
        created_by -> BigInt,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        revoked_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    webhooks (id) {
        id -> BigInt,
        url -> Text,
        description -> Nullable<Text>,
        event_types -> Text,
        branch_id -> Nullable<BigInt>,
        scope_low -> Nullable<Text>,
        scope_high -> Nullable<Text>,
        active -> Bool,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamp>,
        failing_since -> Nullable<Timestamp>,
        disabled_at -> Nullable<Timestamp>,
        disabled_reason -> Nullable<Text>,
        created_by -> BigInt,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        webhook_id -> BigInt,
        event_id -> BigInt,
        event_type -> Text,
        status -> Text,
        body -> Nullable<Text>,
        attempts -> Integer,
        schedule_step -> Integer,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        claim -> Nullable<Text>,
        last_attempt_at -> Nullable<Timestamp>,
        response_status -> Nullable<Integer>,
        response_ms -> Nullable<BigInt>,
        response_body -> Nullable<Text>,
        error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    deadline_policies (id) {
        id -> BigInt,
        rule -> Text,
        version -> Integer,
        duration -> Integer,
        unit -> Text,
        actor_role -> Text,
        escalation_roles -> Text,
        description -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        min_duration -> Nullable<Integer>,
        warn_percent -> Integer,
    }
}

diesel::table! {
    calendar_days (day) {
        day -> Date,
        kind -> Text,
        name -> Text,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    deadlines (id) {
        id -> BigInt,
        rule -> Text,
        policy_id -> BigInt,
        subject_type -> Text,
        subject_id -> BigInt,
        title -> Text,
        link -> Text,
        started_at -> Timestamp,
        due_at -> Timestamp,
        met_at -> Nullable<Timestamp>,
        status -> Text,
        assignee_user_id -> Nullable<BigInt>,
        assignee_role -> Nullable<Text>,
        scope_org_unit_id -> Nullable<BigInt>,
        scope_path -> Text,
        escalation_level -> Integer,
        escalated_at -> Nullable<Timestamp>,
        late_reason -> Nullable<Text>,
        settled_by -> Nullable<BigInt>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        duration -> Nullable<Integer>,
        paused_secs -> BigInt,
        paused_at -> Nullable<Timestamp>,
        pause_reason -> Nullable<Text>,
        warn_at -> Nullable<Timestamp>,
        due_soon_at -> Nullable<Timestamp>,
        note -> Nullable<Text>,
        fixed_due_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    deadline_escalations (id) {
        id -> BigInt,
        deadline_id -> BigInt,
        level -> Integer,
        role -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (id) {
        id -> BigInt,
        user_id -> BigInt,
        idem_key -> Text,
        request_hash -> Text,
        response_status -> Integer,
        response_body -> Text,
        response_location -> Nullable<Text>,
        response_etag -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    visits (id) {
        id -> BigInt,
        project_id -> BigInt,
        customer_id -> BigInt,
        branch_id -> BigInt,
        scope_path -> Text,
        status -> Text,
        kind -> Text,
        method -> Text,
        visited_at -> Timestamp,
        outcome -> Text,
        contact_failed_reason -> Nullable<Text>,
        people_met -> Text,
        findings -> Text,
        owner_opinion -> Nullable<Text>,
        owner_phone -> Nullable<Text>,
        complaint_id -> Nullable<BigInt>,
        opened_complaint_id -> Nullable<BigInt>,
        recorded_by -> BigInt,
        recorded_late -> Bool,
        confirmation -> Nullable<Text>,
        confirmed_at -> Nullable<Timestamp>,
        confirmed_by -> Nullable<BigInt>,
        signer_name -> Nullable<Text>,
        signed_on -> Nullable<Date>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        plan_item_id -> Nullable<BigInt>,
        repair_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    repairs (id) {
        id -> BigInt,
        project_id -> BigInt,
        customer_id -> BigInt,
        branch_id -> BigInt,
        project_department_id -> BigInt,
        scope_path -> Text,
        status -> Text,
        source -> Text,
        visit_id -> Nullable<BigInt>,
        complaint_id -> Nullable<BigInt>,
        category -> Text,
        location -> Text,
        location_key -> Text,
        description -> Text,
        severity -> Text,
        reported_at -> Timestamp,
        reported_by -> BigInt,
        covered -> Nullable<Bool>,
        liability -> Nullable<Text>,
        payer -> Nullable<Text>,
        billable -> Bool,
        scale -> Nullable<Text>,
        target_days -> Nullable<Integer>,
        lead_user_id -> Nullable<BigInt>,
        rounds -> Integer,
        is_repeat -> Bool,
        repeat_of -> Nullable<BigInt>,
        closed_at -> Nullable<Timestamp>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    repair_steps (id) {
        id -> BigInt,
        repair_id -> BigInt,
        round -> Integer,
        action -> Text,
        details -> Text,
        internal_note -> Nullable<Text>,
        recorded_by -> BigInt,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    repair_cost_lines (id) {
        id -> BigInt,
        repair_id -> BigInt,
        project_id -> BigInt,
        kind -> Text,
        round -> Integer,
        item -> Text,
        quantity -> Double,
        unit_price_fen -> BigInt,
        amount_fen -> BigInt,
        payer -> Text,
        contact_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    repair_reopenings (complaint_id) {
        complaint_id -> BigInt,
        repair_id -> BigInt,
        round -> Integer,
    }
}

diesel::table! {
    visit_plans (id) {
        id -> BigInt,
        level -> Text,
        org_unit_id -> BigInt,
        scope_path -> Text,
        year -> Integer,
        month -> Integer,
        period_start -> Date,
        period_end -> Date,
        status -> Text,
        created_by -> BigInt,
        submitted_at -> Nullable<Timestamp>,
        reviewed_at -> Nullable<Timestamp>,
        reviewed_by -> Nullable<BigInt>,
        review_comment -> Nullable<Text>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    visit_plan_items (id) {
        id -> BigInt,
        plan_id -> BigInt,
        project_id -> BigInt,
        kind -> Text,
        method -> Text,
        planned_on -> Date,
        visitor_id -> BigInt,
        status -> Text,
        visit_id -> Nullable<BigInt>,
        replaces_item_id -> Nullable<BigInt>,
        done_on -> Nullable<Date>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    visit_visitors (visit_id, user_id) {
        visit_id -> BigInt,
        user_id -> BigInt,
    }
}

diesel::table! {
    visit_issues (id) {
        id -> BigInt,
        visit_id -> BigInt,
        position -> Integer,
        description -> Text,
        component -> Text,
        location -> Text,
        liability -> Text,
        explanation -> Nullable<Text>,
        advice -> Nullable<Text>,
        repair_needed -> Bool,
        repair_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    visit_surveys (visit_id) {
        visit_id -> BigInt,
        scores -> Text,
        weighted_score_tenths -> Integer,
        rating -> Text,
    }
}

diesel::table! {
    corrective_actions (id) {
        id -> BigInt,
        project_id -> BigInt,
        customer_id -> BigInt,
        branch_id -> BigInt,
        project_department_id -> BigInt,
        scope_path -> Text,
        complaint_id -> Nullable<BigInt>,
        year -> Integer,
        status -> Text,
        cause_analysis -> Text,
        measures -> Text,
        responsible -> Text,
        due_on -> Date,
        result -> Nullable<Text>,
        done_at -> Nullable<Timestamp>,
        done_by -> Nullable<BigInt>,
        verified_at -> Nullable<Timestamp>,
        verified_by -> Nullable<BigInt>,
        verification_note -> Nullable<Text>,
        return_reason -> Nullable<Text>,
        returns -> Integer,
        created_by -> BigInt,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    accountability_records (id) {
        id -> BigInt,
        complaint_id -> BigInt,
        project_id -> BigInt,
        customer_id -> BigInt,
        branch_id -> BigInt,
        project_department_id -> BigInt,
        scope_path -> Text,
        sent_to_group -> Bool,
        status -> Text,
        basis -> Text,
        person -> Text,
        person_user_id -> Nullable<BigInt>,
        measure -> Text,
        fine_fen -> Nullable<BigInt>,
        measure_detail -> Nullable<Text>,
        reason -> Text,
        recorded_by -> BigInt,
        withdrawn_reason -> Nullable<Text>,
        withdrawn_decided_by -> Nullable<Text>,
        withdrawn_at -> Nullable<Timestamp>,
        withdrawn_by -> Nullable<BigInt>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(users -> org_units (org_unit_id));
diesel::table! {
    file_removals (sha256) {
        sha256 -> Text,
        claimed_until -> Timestamp,
    }
}

diesel::table! {
    stored_files (sha256) {
        sha256 -> Text,
        size_bytes -> BigInt,
        media_type -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    uploads (id) {
        id -> BigInt,
        uploaded_by -> BigInt,
        sha256 -> Text,
        file_name -> Text,
        media_type -> Text,
        size_bytes -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        attached_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    attachments (id) {
        id -> BigInt,
        subject_type -> Text,
        subject_id -> BigInt,
        upload_id -> BigInt,
        caption -> Nullable<Text>,
        taken_at -> Nullable<Timestamp>,
        internal -> Bool,
        attached_by -> BigInt,
        hidden_at -> Nullable<Timestamp>,
        hidden_by -> Nullable<BigInt>,
        hidden_reason -> Nullable<Text>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(deadlines -> deadline_policies (policy_id));
diesel::joinable!(deadline_escalations -> deadlines (deadline_id));
diesel::joinable!(users -> customers (customer_id));
diesel::joinable!(customers -> org_units (branch_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(events -> users (actor_user_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(customer_gradings -> customers (customer_id));
diesel::joinable!(projects -> customers (customer_id));
diesel::joinable!(project_contacts -> projects (project_id));
diesel::joinable!(warranty_terms -> projects (project_id));
diesel::joinable!(complaints -> projects (project_id));
diesel::joinable!(complaint_resolutions -> complaints (complaint_id));
diesel::joinable!(complaint_replies -> complaints (complaint_id));
diesel::joinable!(complaint_evaluations -> complaints (complaint_id));
diesel::joinable!(rectification_plans -> complaints (complaint_id));
diesel::joinable!(rectification_plan_versions -> rectification_plans (plan_id));
diesel::joinable!(rectification_milestones -> rectification_plans (plan_id));
diesel::joinable!(rectification_progress -> rectification_plans (plan_id));
diesel::joinable!(uploads -> stored_files (sha256));
diesel::joinable!(visits -> projects (project_id));
diesel::joinable!(visit_visitors -> visits (visit_id));
diesel::joinable!(visit_issues -> visits (visit_id));
diesel::joinable!(visit_surveys -> visits (visit_id));
diesel::joinable!(visit_plan_items -> visit_plans (plan_id));
diesel::joinable!(attachments -> uploads (upload_id));
diesel::joinable!(repairs -> projects (project_id));
diesel::joinable!(repair_steps -> repairs (repair_id));
diesel::joinable!(repair_cost_lines -> repairs (repair_id));
diesel::joinable!(repair_reopenings -> repairs (repair_id));

diesel::allow_tables_to_appear_in_same_query!(
    outbox_position,
    imports,
    org_units,
    corrective_actions,
    accountability_records,
    repairs,
    repair_steps,
    repair_cost_lines,
    repair_reopenings,
    customers,
    idempotency_keys,
    users,
    refresh_tokens,
    sessions,
    login_attempts,
    events,
    api_keys,
    webhooks,
    webhook_deliveries,
    customer_gradings,
    projects,
    project_contacts,
    warranty_terms,
    complaints,
    complaint_replies,
    complaint_resolutions,
    complaint_evaluations,
    rectification_plans,
    rectification_plan_versions,
    rectification_milestones,
    rectification_progress,
    deadline_policies,
    calendar_days,
    deadlines,
    deadline_escalations,
    stored_files,
    file_removals,
    uploads,
    attachments,
    visits,
    visit_visitors,
    visit_issues,
    visit_surveys,
    visit_plans,
    visit_plan_items,
);
