use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{project_contacts, projects, warranty_terms};

pub use super::ApprovalStatus;

super::text_enum! {
    /// A step of the ledger workflow.
    LedgerAction {
        /// the project department hands the filled ledger in
        Submit => "submit",
        /// the branch engineering department accepts it
        Approve => "approve",
        /// the branch engineering department sends it back to be completed
        Return => "return",
    }
}

super::text_enum! {
    /// Contact roles of the ledger (appendix C).
    ContactRole {
        /// 项目授权保修负责人
        WarrantyLead => "warranty_lead",
        /// 项目经理
        ProjectManager => "project_manager",
        /// 项目总工
        ChiefEngineer => "chief_engineer",
        /// 工程经理
        EngineeringManager => "engineering_manager",
        /// 土建主任
        CivilLead => "civil_lead",
        /// 电气主任
        ElectricalLead => "electrical_lead",
        /// 水暖主任
        PlumbingHvacLead => "plumbing_hvac_lead",
        /// 防水分包
        WaterproofingSubcontractor => "waterproofing_subcontractor",
        /// 二次结构分包
        SecondaryStructureSubcontractor => "secondary_structure_subcontractor",
        /// 装饰装修分包
        DecorationSubcontractor => "decoration_subcontractor",
        /// 玻璃幕墙分包
        CurtainWallSubcontractor => "curtain_wall_subcontractor",
        /// 业主方 工程部经理
        OwnerEngineeringManager => "owner_engineering_manager",
        /// 物业经理
        PropertyManager => "property_manager",
    }
}

super::text_enum! {
    /// Which side a contact is on.
    ContactSide {
        /// the contractor's warranty team (保修责任主体)
        Warranty => "warranty",
        /// 施工分包
        Subcontractor => "subcontractor",
        /// 业主方或接收方
        Owner => "owner",
    }
}

impl ContactRole {
    pub fn side(self) -> ContactSide {
        use ContactRole::*;
        match self {
            WarrantyLead | ProjectManager | ChiefEngineer | EngineeringManager | CivilLead
            | ElectricalLead | PlumbingHvacLead => ContactSide::Warranty,
            WaterproofingSubcontractor
            | SecondaryStructureSubcontractor
            | DecorationSubcontractor
            | CurtainWallSubcontractor => ContactSide::Subcontractor,
            OwnerEngineeringManager | PropertyManager => ContactSide::Owner,
        }
    }

    pub fn roles_of(side: ContactSide) -> Vec<ContactRole> {
        ContactRole::ALL
            .iter()
            .copied()
            .filter(|r| r.side() == side)
            .collect()
    }
}

super::text_enum! {
    /// Component categories with their own warranty term (保修范围).
    WarrantyCategory {
        /// 地基基础和主体结构
        FoundationStructure => "foundation_structure",
        /// 屋面防水、有防水要求的卫生间/房间、外墙面防渗漏
        Waterproofing => "waterproofing",
        /// 供热与供冷系统 (counted in heating/cooling periods)
        HeatingCooling => "heating_cooling",
        /// 电气管线、给排水管道
        ElectricalPlumbing => "electrical_plumbing",
        /// 设备安装
        EquipmentInstallation => "equipment_installation",
        /// 装修工程
        Decoration => "decoration",
        /// anything else the contract names
        Other => "other",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = projects)]
pub struct Project {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub address: String,
    pub branch_id: i64,
    pub project_department_id: i64,
    pub customer_id: i64,
    pub contract_number: Option<String>,
    pub building_area: Option<f64>,
    pub structure_type: Option<String>,
    pub quality_grade: Option<String>,
    pub completion_accepted_on: NaiveDate,
    pub handover_on: NaiveDate,
    pub is_key_project: bool,
    pub hvac_in_scope: bool,
    pub design_service_life_years: i32,
    pub ledger_status: String,
    pub ledger_due_at: NaiveDateTime,
    pub ledger_submitted_at: Option<NaiveDateTime>,
    pub ledger_submitted_late: bool,
    pub ledger_late_reason: Option<String>,
    pub ledger_reviewed_at: Option<NaiveDateTime>,
    pub ledger_reviewed_by: Option<i64>,
    pub ledger_review_comment: Option<String>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Ancestry path of the project department: the scope the project lies in.
    #[serde(skip)]
    pub scope_path: String,
    pub systems_in_operation_on: Option<NaiveDate>,
    /// The import that entered it, if one did.
    pub import_id: Option<i64>,
}

#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = projects)]
#[diesel(treat_none_as_null = true)]
pub struct ProjectFields {
    pub code: String,
    pub name: String,
    pub address: String,
    pub branch_id: i64,
    pub project_department_id: i64,
    pub customer_id: i64,
    pub contract_number: Option<String>,
    pub building_area: Option<f64>,
    pub structure_type: Option<String>,
    pub quality_grade: Option<String>,
    pub completion_accepted_on: NaiveDate,
    pub handover_on: NaiveDate,
    pub is_key_project: bool,
    pub hvac_in_scope: bool,
    pub design_service_life_years: i32,
    pub ledger_due_at: NaiveDateTime,
    pub scope_path: String,
    pub systems_in_operation_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = project_contacts)]
pub struct Contact {
    pub id: i64,
    pub project_id: i64,
    pub role: String,
    pub name: String,
    pub phone: String,
    pub company: Option<String>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = warranty_terms)]
pub struct WarrantyTerm {
    pub id: i64,
    pub project_id: i64,
    pub category: String,
    pub years: Option<i32>,
    pub periods: Option<i32>,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub note: Option<String>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}
