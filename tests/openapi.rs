//! The spec is the contract: the committed `openapi/openapi.json` must be
//! exactly what the code generates, and the served spec and Swagger UI work.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_web::test::TestRequest;
use aftercare::openapi::ApiDoc;
use common::*;
use utoipa::OpenApi;

fn generated() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap() + "\n"
}

#[test]
fn committed_spec_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    if std::env::var("UPDATE_OPENAPI").is_ok() {
        std::fs::write(path, generated()).unwrap();
        return;
    }
    assert!(
        committed == generated(),
        "openapi/openapi.json is out of date: run `cargo run -- openapi > openapi/openapi.json` \
         (or `UPDATE_OPENAPI=1 cargo test --test openapi`) and commit it"
    );
}

#[test]
fn every_operation_documents_its_errors_as_problem_json() {
    let spec: serde_json::Value = serde_json::from_str(&generated()).unwrap();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.contains_key("500"),
                "{method} {path} documents 500"
            );
            let secured = op
                .get("security")
                .is_none_or(|s| s != &serde_json::json!([{}]));
            if secured {
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} documents 401"
                );
                assert!(
                    responses.contains_key("403"),
                    "{method} {path} documents 403"
                );
            }
            if path.contains('{') {
                assert!(
                    responses.contains_key("404"),
                    "{method} {path} documents 404"
                );
            }
            if op.get("requestBody").is_some() {
                assert!(
                    responses.contains_key("422"),
                    "{method} {path} documents 422"
                );
                let content = &op["requestBody"]["content"];
                if let Some(json) = content.get("application/json") {
                    let schema = &json["schema"]["$ref"];
                    let name = schema.as_str().unwrap().rsplit('/').next().unwrap();
                    assert!(
                        spec["components"]["schemas"][name].get("example").is_some(),
                        "request body {name} of {method} {path} has an example"
                    );
                } else {
                    // a file upload: a form whose file part Swagger UI can fill
                    let form = &content["multipart/form-data"]["schema"]["$ref"];
                    let name = form.as_str().unwrap().rsplit('/').next().unwrap();
                    let file = &spec["components"]["schemas"][name]["properties"]["file"];
                    assert_eq!(file["type"], "string", "{method} {path}: the file part");
                    assert!(
                        file["format"] == "binary" || file.get("contentMediaType").is_some(),
                        "{method} {path}: the file part is binary: {file}"
                    );
                }
            }
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        response["content"]
                            .get("application/problem+json")
                            .is_some(),
                        "{method} {path} {status} is problem+json"
                    );
                }
            }
        }
    }
}

#[test]
fn spec_declares_bearer_auth_and_enum_values() {
    let spec: serde_json::Value = serde_json::from_str(&generated()).unwrap();
    let scheme = &spec["components"]["securitySchemes"]["bearer_auth"];
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(scheme["bearerFormat"], "JWT");
    let roles = spec["components"]["schemas"]["Role"]["enum"]
        .as_array()
        .unwrap();
    assert_eq!(roles.len(), 7);
    assert!(roles.contains(&serde_json::json!("branch_leader")));
}

#[actix_rt::test]
async fn spec_and_swagger_ui_are_served() {
    let app = spawn().await;
    let r = app
        .send(TestRequest::get().uri("/api-docs/openapi.json"))
        .await;
    r.expect(200);
    assert_eq!(r.body["info"]["title"], "Aftercare API");
    let r = app.send(TestRequest::get().uri("/swagger-ui/")).await;
    r.expect(200);
    assert!(
        r.body.as_str().unwrap().contains("swagger"),
        "Swagger UI page"
    );
    let r = app
        .send(TestRequest::get().uri("/swagger-ui/swagger-ui-bundle.js"))
        .await;
    r.expect(200); // vendored: works offline
}

/// Every enum stored as text is documented with the very strings the API
/// sends and accepts (a client generated from the spec must round-trip).
#[test]
fn enum_schemas_list_the_values_the_api_sends() {
    use aftercare::models::{customer, deadline, org_unit, project, user};
    let spec = serde_json::to_value(ApiDoc::openapi()).unwrap();
    macro_rules! check {
        ($($ty:path => $name:literal),+ $(,)?) => {$({
            let sent: Vec<serde_json::Value> = <$ty>::ALL
                .iter()
                .map(|v| {
                    let json = serde_json::to_value(v).unwrap();
                    assert_eq!(json, v.as_str(), "{} serialises as stored", $name);
                    json
                })
                .collect();
            let documented = &spec["components"]["schemas"][$name]["enum"];
            assert_eq!(documented, &serde_json::Value::from(sent), "schema {}", $name);
        })+};
    }
    check!(
        org_unit::OrgUnitKind => "OrgUnitKind",
        project::ApprovalStatus => "ApprovalStatus",
        project::ContactRole => "ContactRole",
        project::ContactSide => "ContactSide",
        project::WarrantyCategory => "WarrantyCategory",
        user::Role => "Role",
        user::Rank => "Rank",
        customer::CustomerKind => "CustomerKind",
        customer::Grade => "Grade",
        customer::Tier => "Tier",
        deadline::DurationUnit => "DurationUnit",
        deadline::DeadlineStatus => "DeadlineStatus",
        deadline::CalendarDayKind => "CalendarDayKind",
    );
}

#[test]
fn every_operation_id_is_unique() {
    let spec = serde_json::to_value(ApiDoc::openapi()).unwrap();
    let mut ids = vec![];
    for item in spec["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            if let Some(id) = op["operationId"].as_str() {
                ids.push(id.to_string());
            }
        }
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
}

/// A `$ref` to a schema the document does not define breaks generated
/// clients and leaves fuzzers blind (a parameter's enum was once left out).
#[test]
fn every_schema_reference_resolves() {
    fn walk(value: &serde_json::Value, refs: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(r) = map.get("$ref").and_then(|r| r.as_str()) {
                    refs.push(r.to_string());
                }
                map.values().for_each(|v| walk(v, refs));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, refs)),
            _ => {}
        }
    }
    let spec = serde_json::to_value(ApiDoc::openapi()).unwrap();
    let mut refs = vec![];
    walk(&spec, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{r} points outside the schemas"));
        assert!(
            spec["components"]["schemas"].get(name).is_some(),
            "{r} is not defined"
        );
    }
}

/// utoipa names a schema after its Rust type, and two types of one name
/// become one schema: the other's values are then refused by the server
/// although the spec offers them (the ledger's `approve` once vanished
/// behind the rectification review's `pass`). Every type that derives
/// `ToSchema` (or is a `text_enum!`) has a name of its own.
#[test]
fn no_two_schema_types_share_a_name() {
    fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = vec![];
    rust_files(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut seen: std::collections::BTreeMap<String, String> = Default::default();
    let mut record = |name: &str, place: String| {
        if let Some(first) = seen.insert(name.to_string(), place.clone()) {
            panic!("two schema types are named {name}: {first} and {place}");
        }
    };
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let place = format!("{}:{}", file.display(), i + 1);
            let named_by = |from: usize| {
                lines[from..].iter().find_map(|l| {
                    let l = l.trim();
                    if let Some(alias) = l.split("schema(as = ").nth(1) {
                        return Some(alias.split(')').next().unwrap().trim().to_string());
                    }
                    let rest = l
                        .strip_prefix("pub struct ")
                        .or_else(|| l.strip_prefix("pub enum "))?;
                    Some(
                        rest.split(|c: char| !c.is_alphanumeric() && c != '_')
                            .next()
                            .unwrap()
                            .to_string(),
                    )
                })
            };
            if line.trim_start().starts_with("#[derive(") && line.contains("ToSchema") {
                record(&named_by(i).unwrap(), place);
            } else if line.trim_end().ends_with("text_enum! {") && !line.contains("macro_rules") {
                // the enum's name is the first line that is neither a doc
                // comment nor an attribute
                let name = lines[i + 1..]
                    .iter()
                    .map(|l| l.trim())
                    .find(|l| !l.starts_with("///") && !l.starts_with("#["))
                    .unwrap()
                    .trim_end_matches('{')
                    .trim()
                    .to_string();
                record(&name, place);
            }
        }
    }
    assert!(seen.len() > 100, "found only {} schema types", seen.len());
}
