use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::org_units;

super::text_enum! {
    /// Level of an org unit: 集团公司 / 二级单位 / 项目经理部.
    OrgUnitKind {
        Group => "group",
        Branch => "branch",
        ProjectDepartment => "project_department",
    }
}

impl OrgUnitKind {
    /// The kind a parent must have; `None` for the root.
    pub fn parent_kind(self) -> Option<OrgUnitKind> {
        match self {
            OrgUnitKind::Group => None,
            OrgUnitKind::Branch => Some(OrgUnitKind::Group),
            OrgUnitKind::ProjectDepartment => Some(OrgUnitKind::Branch),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = org_units)]
pub struct OrgUnit {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub parent_id: Option<i64>,
    pub path: String,
    pub active: bool,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = org_units)]
pub struct NewOrgUnit<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub parent_id: Option<i64>,
    pub path: &'a str,
    pub active: bool,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Path of a unit under `parent_path`: the ancestry ends with the unit's own id.
pub fn child_path(parent_path: &str, id: i64) -> String {
    format!("{parent_path}{id}/")
}
