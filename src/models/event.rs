use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::events;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = events)]
pub struct Event {
    pub id: i64,
    pub at: NaiveDateTime,
    pub actor_user_id: Option<i64>,
    pub action: String,
    pub subject_type: String,
    pub subject_id: i64,
    pub payload: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = events)]
pub struct NewEvent<'a> {
    pub at: NaiveDateTime,
    pub actor_user_id: Option<i64>,
    pub action: &'a str,
    pub subject_type: &'a str,
    pub subject_id: i64,
    pub payload: String,
}
