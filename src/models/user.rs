use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::users;

super::text_enum! {
    /// What a user may do.
    Role {
        /// system administrator: users, org units, policies, calendar
        Admin => "admin",
        /// 集团工程部
        GroupEngineer => "group_engineer",
        /// 二级单位工程部
        BranchEngineer => "branch_engineer",
        /// 二级单位分管领导
        BranchLeader => "branch_leader",
        /// 项目经理部 / 项目经理
        ProjectManager => "project_manager",
        /// 部门职员 / 维修技工
        Staff => "staff",
        /// 业主 / 物业
        Customer => "customer",
    }
}

super::text_enum! {
    /// Seniority, used to choose who may visit a customer (000 §3).
    Rank {
        /// 部门经理
        Manager => "manager",
        /// 部门主管
        Supervisor => "supervisor",
        /// 职员
        Staff => "staff",
    }
}

impl Rank {
    fn seniority(self) -> u8 {
        match self {
            Rank::Manager => 3,
            Rank::Supervisor => 2,
            Rank::Staff => 1,
        }
    }

    /// At least as senior as `required` (a manager may make any visit).
    pub fn meets(self, required: Rank) -> bool {
        self.seniority() >= required.seniority()
    }
}

impl Role {
    /// The org unit kind a user of this role belongs to; `None` when the role
    /// belongs to no org unit (customer) or to any (admin, staff).
    pub fn org_unit_kind(self) -> Option<super::org_unit::OrgUnitKind> {
        use super::org_unit::OrgUnitKind;
        match self {
            Role::GroupEngineer => Some(OrgUnitKind::Group),
            Role::BranchEngineer | Role::BranchLeader => Some(OrgUnitKind::Branch),
            Role::ProjectManager => Some(OrgUnitKind::ProjectDepartment),
            Role::Admin | Role::Staff | Role::Customer => None,
        }
    }

    /// Staff of the contractor, as opposed to the customer side.
    pub fn is_org_role(self) -> bool {
        !matches!(self, Role::Admin | Role::Customer)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub role: String,
    pub rank: Option<String>,
    pub org_unit_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub password_hash: String,
    pub active: bool,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_login_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub phone: Option<&'a str>,
    pub role: &'a str,
    pub rank: Option<&'a str>,
    pub org_unit_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub password_hash: &'a str,
    pub active: bool,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}
