//! What partners' systems are given: API keys, webhook subscriptions and
//! their deliveries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{api_keys, webhook_deliveries, webhooks};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub user_id: i64,
    pub read_only: bool,
    pub expires_at: Option<NaiveDateTime>,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoked_by: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = webhooks)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub description: Option<String>,
    pub event_types: String,
    pub branch_id: Option<i64>,
    pub scope_low: Option<String>,
    pub scope_high: Option<String>,
    pub active: bool,
    #[serde(skip)]
    pub secret: String,
    #[serde(skip)]
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<NaiveDateTime>,
    pub failing_since: Option<NaiveDateTime>,
    pub disabled_at: Option<NaiveDateTime>,
    pub disabled_reason: Option<String>,
    pub created_by: i64,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
}

impl Webhook {
    /// The event types it takes, from their stored `,a,b,` form.
    pub fn types(&self) -> Vec<&str> {
        self.event_types
            .split(',')
            .filter(|t| !t.is_empty())
            .collect()
    }
}

crate::models::text_enum! {
    /// Where a delivery stands.
    DeliveryStatus {
        /// Waiting for its next attempt.
        Pending => "pending",
        /// The endpoint answered 2xx.
        Delivered => "delivered",
        /// Every attempt of the schedule failed (or the endpoint was disabled).
        Failed => "failed",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = webhook_deliveries)]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    pub event_id: i64,
    pub event_type: String,
    pub status: String,
    pub body: Option<String>,
    pub attempts: i32,
    pub schedule_step: i32,
    pub next_attempt_at: NaiveDateTime,
    pub claimed_until: Option<NaiveDateTime>,
    pub last_attempt_at: Option<NaiveDateTime>,
    pub response_status: Option<i32>,
    pub response_ms: Option<i64>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub delivered_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}
