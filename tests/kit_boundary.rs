//! The transition kit (`kit/workflow.rs` with the deadline engine in
//! `kit/deadlines/`) is the one place that writes a record's state
//! and starts, settles or cancels a clock. This test reads the source and
//! fails when a state write or a clock call appears anywhere else.
//!
//! Every record's creation (its first state and first clocks), the
//! children's small tables (milestones, plan items), the effects of one
//! record's step on another and the calendar's own clocks are declared to
//! the kit and run by it, so no file may do either.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

/// Files that are the kit itself (the outbox: webhook deliveries' own
/// small life cycle, declared there).
const KIT: [&str; 3] = ["kit/workflow.rs", "kit/deadlines/mod.rs", "kit/outbox.rs"];

/// (file, state writes, clock calls) outside the kit: none.
const BESIDE_THE_KIT: [(&str, usize, usize); 0] = [];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A line that writes a state column (not a filter on one, nor the first
/// state a creation row hands to the row's insert: `state.as_str()`).
fn writes_state(line: &str) -> bool {
    if line.contains(".eq(state.as_str())") {
        return false;
    }
    ["::status.eq(", "::ledger_status.eq(", "::filing_status.eq("]
        .iter()
        .any(|p| line.contains(p))
        && !line.contains(".filter(")
        && !line.contains("eq_any")
}

/// A call that starts, settles or cancels a clock.
fn moves_a_clock(line: &str) -> bool {
    ["clocks::", "deadlines::"].iter().any(|m| {
        [
            "start(",
            "settle(",
            "settle_done_at(",
            "cancel(",
            "restart(",
        ]
        .iter()
        .any(|f| line.contains(&format!("{m}{f}")))
    })
}

#[test]
fn nothing_outside_the_kit_writes_a_state_or_moves_a_clock() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    rust_files(&src, &mut files);
    let mut found: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for file in files {
        let name = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if KIT.contains(&name.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        // the test modules inside a file set up what they test
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        let lines: Vec<&str> = code
            .lines()
            .map(str::trim)
            .filter(|l| !l.starts_with("//"))
            .collect();
        let states = lines.iter().filter(|l| writes_state(l)).count();
        let clocks = lines.iter().filter(|l| moves_a_clock(l)).count();
        if states + clocks > 0 {
            found.insert(name, (states, clocks));
        }
    }
    let allowed: BTreeMap<String, (usize, usize)> = BESIDE_THE_KIT
        .iter()
        .map(|(f, s, c)| (f.to_string(), (*s, *c)))
        .collect();
    assert_eq!(
        found, allowed,
        "state writes and clock calls outside the kit, by file (state, clock): each belongs in a \
         declaration the kit runs (a creation row, a table row, an effect)"
    );
}

/// The kit is a floor below the records: nothing in `src/kit/` names a
/// workflow (`crate::services`) or the HTTP layer (`crate::api`), so a
/// record kind can be added without touching the kit.
#[test]
fn the_kit_imports_no_workflow() {
    let kit = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/kit");
    let mut files = vec![];
    rust_files(&kit, &mut files);
    assert!(files.len() >= 8, "the kit's files: {files:?}");
    let mut found = vec![];
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if ["crate::services", "crate::api", "crate::jobs"]
                .iter()
                .any(|m| code.contains(m))
            {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the kit imports above itself:\n{}",
        found.join("\n")
    );
}
