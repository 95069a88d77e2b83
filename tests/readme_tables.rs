//! The README's life-cycle tables are generated from the declarations the
//! kit runs: each table between `<!-- table:NAME … -->` and `<!-- /table -->`
//! must be what `workflow::markdown` makes of NAME's declaration. Run with
//! `UPDATE_README=1` to write them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aftercare::kit::workflow::markdown;
use aftercare::services::accountability::AccountabilityFlow;
use aftercare::services::complaints::{ComplaintFlow, FilingFlow};
use aftercare::services::corrective_actions::CorrectiveFlow;
use aftercare::services::projects::ledger::Ledger;
use aftercare::services::rectification::{MilestoneFlow, PlanFlow};
use aftercare::services::repairs::RepairFlow;
use aftercare::services::visit_plans::{PlanItemFlow, VisitPlanFlow};
use aftercare::services::visits::VisitFlow;

fn tables() -> Vec<(&'static str, String)> {
    vec![
        ("ledger", markdown::<Ledger>()),
        ("complaint", markdown::<ComplaintFlow>()),
        ("filing", markdown::<FilingFlow>()),
        ("rectification_plan", markdown::<PlanFlow>()),
        ("milestone", markdown::<MilestoneFlow>()),
        ("visit_plan", markdown::<VisitPlanFlow>()),
        ("visit_plan_item", markdown::<PlanItemFlow>()),
        ("visit", markdown::<VisitFlow>()),
        ("repair", markdown::<RepairFlow>()),
        ("corrective_action", markdown::<CorrectiveFlow>()),
        ("accountability", markdown::<AccountabilityFlow>()),
    ]
}

/// The README with every table written from its declaration.
fn generated(readme: &str) -> String {
    let mut out = readme.to_string();
    for (name, table) in tables() {
        let open = format!("<!-- table:{name} ");
        let start = out
            .find(&open)
            .unwrap_or_else(|| panic!("README.md has no table:{name}"));
        let body = start + out[start..].find("-->\n").unwrap() + 4;
        let end = body + out[body..].find("<!-- /table -->").unwrap();
        out.replace_range(body..end, &table);
    }
    out
}

#[test]
fn readme_shows_every_life_cycle_as_the_kit_runs_it() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let expected = generated(&readme);
    if std::env::var("UPDATE_README").is_ok_and(|v| v == "1") {
        std::fs::write(path, &expected).unwrap();
        return;
    }
    assert!(
        readme == expected,
        "README.md's tables differ from the declarations; run UPDATE_README=1 cargo test --test readme_tables"
    );
}

#[test]
fn every_table_has_its_creation_rows() {
    for (name, table) in tables() {
        // the filing is born with its complaint
        if name != "filing" {
            assert!(
                table.contains("\n| — |"),
                "{name} shows no creation:\n{table}"
            );
        }
    }
}
