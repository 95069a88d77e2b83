use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{customer_gradings, customers};

use super::user::Rank;

super::text_enum! {
    /// What kind of customer: owner organisation (建设单位/业主), property
    /// company (物业) or an individual owner.
    CustomerKind {
        OwnerOrganisation => "owner_organisation",
        PropertyCompany => "property_company",
        Individual => "individual",
    }
}

super::text_enum! {
    /// Customer grade (000 §3): A and B split into three steps each.
    Grade {
        #[allow(clippy::upper_case_acronyms)]
        AAA => "AAA",
        AA => "AA",
        A => "A",
        #[allow(clippy::upper_case_acronyms)]
        BBB => "BBB",
        BB => "BB",
        B => "B",
        C => "C",
    }
}

super::text_enum! {
    /// The class a grade belongs to; it decides who visits.
    Tier {
        A => "A",
        B => "B",
        C => "C",
    }
}

impl Grade {
    pub fn tier(self) -> Tier {
        match self {
            Grade::AAA | Grade::AA | Grade::A => Tier::A,
            Grade::BBB | Grade::BB | Grade::B => Tier::B,
            Grade::C => Tier::C,
        }
    }
}

impl Tier {
    /// The least rank that may visit a customer of this tier (000 §3 (1)①).
    pub fn required_visitor_rank(self) -> Rank {
        match self {
            Tier::A => Rank::Manager,
            Tier::B => Rank::Supervisor,
            Tier::C => Rank::Staff,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = customers)]
pub struct Customer {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub branch_id: i64,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub address: Option<String>,
    pub grade: Option<String>,
    pub graded_at: Option<NaiveDateTime>,
    pub serious_problems: bool,
    pub active: bool,
    /// Ancestry path of the serving branch: the scope the customer lies in.
    #[serde(skip)]
    pub scope_path: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = customers)]
pub struct NewCustomer<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub branch_id: i64,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub contact_name: Option<&'a str>,
    pub contact_phone: Option<&'a str>,
    pub address: Option<&'a str>,
    pub serious_problems: bool,
    pub active: bool,
    pub scope_path: &'a str,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = customer_gradings)]
pub struct Grading {
    pub id: i64,
    pub customer_id: i64,
    pub operating_score: i32,
    pub payment_score: i32,
    pub cooperation_score: i32,
    pub proposed_grade: String,
    pub grade: String,
    pub override_reason: Option<String>,
    pub graded_by: i64,
    pub graded_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = customer_gradings)]
pub struct NewGrading<'a> {
    pub customer_id: i64,
    pub operating_score: i32,
    pub payment_score: i32,
    pub cooperation_score: i32,
    pub proposed_grade: &'a str,
    pub grade: &'a str,
    pub override_reason: Option<&'a str>,
    pub graded_by: i64,
    pub graded_at: NaiveDateTime,
}
