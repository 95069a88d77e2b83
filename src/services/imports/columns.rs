//! The columns of each kind of import: the ledger form's (appendix C of the
//! standard for customer visits and complaints) for projects, the customer
//! register's for customers. Each has a field name (the API's, stable) and
//! a header in each language from the catalogue; a file's header row may
//! use either, in any order.

use crate::i18n::{self, Lang};
use crate::models::project::{ContactRole, WarrantyCategory};

use super::ImportKind;

/// What a column holds, and so how its cells are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holds {
    Text,
    Number,
    Integer,
    Date,
    YesNo,
    CustomerKind,
    ContactName(ContactRole),
    ContactPhone(ContactRole),
    ContactCompany(ContactRole),
    Term(WarrantyCategory),
}

#[derive(Debug, Clone)]
pub struct Column {
    /// The field name: `code`, `contacts.warranty_lead.phone`, `warranty_terms.waterproofing`.
    pub field: String,
    pub required: bool,
    pub holds: Holds,
}

impl Column {
    fn new(field: &str, required: bool, holds: Holds) -> Column {
        Column {
            field: field.to_string(),
            required,
            holds,
        }
    }

    /// The column's header in `lang`.
    pub fn header(&self, kind: ImportKind, lang: Lang) -> String {
        let key = |name: &str| format!("{kind}.{name}");
        match self.holds {
            Holds::ContactName(role) | Holds::ContactPhone(role) | Holds::ContactCompany(role) => {
                let part = match self.holds {
                    Holds::ContactName(_) => "contact.name",
                    Holds::ContactPhone(_) => "contact.phone",
                    _ => "contact.company",
                };
                let role = i18n::label(lang, "ContactRole", role.as_str());
                i18n::fill(&i18n::column(lang, &key(part)), &[("role", &role)])
            }
            Holds::Term(category) => {
                let part = if category == WarrantyCategory::HeatingCooling {
                    "warranty.periods"
                } else {
                    "warranty.years"
                };
                let category = i18n::label(lang, "WarrantyCategory", category.as_str());
                i18n::fill(&i18n::column(lang, &key(part)), &[("category", &category)])
            }
            _ => i18n::column(lang, &key(&self.field)),
        }
    }
}

/// The columns of `kind`, in the template's order.
pub fn of(kind: ImportKind) -> Vec<Column> {
    use Holds::*;
    match kind {
        ImportKind::Customers => vec![
            Column::new("name", true, Text),
            Column::new("kind", true, CustomerKind),
            Column::new("branch", true, Text),
            Column::new("contact_name", false, Text),
            Column::new("contact_phone", false, Text),
            Column::new("address", false, Text),
            Column::new("serious_problems", false, YesNo),
        ],
        ImportKind::Projects => {
            let mut columns = vec![
                Column::new("code", true, Text),
                Column::new("name", true, Text),
                Column::new("address", true, Text),
                Column::new("project_department", true, Text),
                Column::new("customer", true, Text),
                Column::new("customer_kind", false, CustomerKind),
                Column::new("structure_type", false, Text),
                Column::new("building_area", false, Number),
                Column::new("contract_number", false, Text),
                Column::new("quality_grade", false, Text),
                Column::new("completion_accepted_on", true, Date),
                Column::new("handover_on", true, Date),
                Column::new("is_key_project", false, YesNo),
                Column::new("hvac_in_scope", false, YesNo),
                Column::new("systems_in_operation_on", false, Date),
                Column::new("design_service_life_years", false, Integer),
            ];
            for role in ContactRole::ALL {
                let field = |part: &str| format!("contacts.{role}.{part}");
                columns.push(Column::new(&field("name"), false, ContactName(*role)));
                columns.push(Column::new(&field("phone"), false, ContactPhone(*role)));
                if role.side() == crate::models::project::ContactSide::Subcontractor {
                    columns.push(Column::new(&field("company"), false, ContactCompany(*role)));
                }
            }
            for category in WarrantyCategory::ALL {
                if *category != WarrantyCategory::Other {
                    let field = format!("warranty_terms.{category}");
                    columns.push(Column::new(&field, false, Term(*category)));
                }
            }
            columns
        }
    }
}

/// A header as compared: trimmed, without a required mark (`*`), spaces
/// and full-width brackets folded, case-insensitive.
fn folded(header: &str) -> String {
    header
        .trim()
        .trim_start_matches('*')
        .trim_end_matches('*')
        .replace(['（'], "(")
        .replace(['）'], ")")
        .replace([' ', '\u{3000}', '\n', '\r', '\t'], "")
        .to_lowercase()
}

/// Which column each cell of a header row is (`None`: not one of ours).
pub fn map_headers(kind: ImportKind, headers: &[String]) -> Vec<Option<usize>> {
    let columns = of(kind);
    let names: Vec<Vec<String>> = columns
        .iter()
        .map(|c| {
            let mut names = vec![folded(&c.field)];
            names.extend(Lang::ALL.iter().map(|l| folded(&c.header(kind, *l))));
            names
        })
        .collect();
    headers
        .iter()
        .map(|h| {
            let h = folded(h);
            if h.is_empty() {
                return None;
            }
            names.iter().position(|n| n.contains(&h))
        })
        .collect()
}

/// Whether a row is the template's row of field names (under the headers).
pub fn is_field_row(kind: ImportKind, cells: &[String]) -> bool {
    let fields: Vec<String> = of(kind).iter().map(|c| c.field.clone()).collect();
    let filled: Vec<&String> = cells.iter().filter(|c| !c.trim().is_empty()).collect();
    !filled.is_empty() && filled.iter().all(|c| fields.iter().any(|f| f == c.trim()))
}
