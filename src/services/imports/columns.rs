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
pub struct ImportColumn {
    /// The field name: `code`, `contacts.warranty_lead.phone`, `warranty_terms.waterproofing`.
    pub field: String,
    pub required: bool,
    pub holds: Holds,
}

impl ImportColumn {
    fn new(field: &str, required: bool, holds: Holds) -> ImportColumn {
        ImportColumn {
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
pub fn of(kind: ImportKind) -> Vec<ImportColumn> {
    use Holds::*;
    match kind {
        ImportKind::Customers => vec![
            ImportColumn::new("name", true, Text),
            ImportColumn::new("kind", true, CustomerKind),
            ImportColumn::new("branch", true, Text),
            ImportColumn::new("contact_name", false, Text),
            ImportColumn::new("contact_phone", false, Text),
            ImportColumn::new("address", false, Text),
            ImportColumn::new("serious_problems", false, YesNo),
        ],
        ImportKind::Projects => {
            let mut columns = vec![
                ImportColumn::new("code", true, Text),
                ImportColumn::new("name", true, Text),
                ImportColumn::new("address", true, Text),
                ImportColumn::new("project_department", true, Text),
                ImportColumn::new("customer", true, Text),
                ImportColumn::new("customer_kind", false, CustomerKind),
                ImportColumn::new("structure_type", false, Text),
                ImportColumn::new("building_area", false, Number),
                ImportColumn::new("contract_number", false, Text),
                ImportColumn::new("quality_grade", false, Text),
                ImportColumn::new("completion_accepted_on", true, Date),
                ImportColumn::new("handover_on", true, Date),
                ImportColumn::new("is_key_project", false, YesNo),
                ImportColumn::new("hvac_in_scope", false, YesNo),
                ImportColumn::new("systems_in_operation_on", false, Date),
                ImportColumn::new("design_service_life_years", false, Integer),
            ];
            for role in ContactRole::ALL {
                let field = |part: &str| format!("contacts.{role}.{part}");
                columns.push(ImportColumn::new(&field("name"), false, ContactName(*role)));
                columns.push(ImportColumn::new(
                    &field("phone"),
                    false,
                    ContactPhone(*role),
                ));
                if role.side() == crate::models::project::ContactSide::Subcontractor {
                    columns.push(ImportColumn::new(
                        &field("company"),
                        false,
                        ContactCompany(*role),
                    ));
                }
            }
            for category in WarrantyCategory::ALL {
                if *category != WarrantyCategory::Other {
                    let field = format!("warranty_terms.{category}");
                    columns.push(ImportColumn::new(&field, false, Term(*category)));
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
