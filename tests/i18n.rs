//! English and Simplified Chinese: one catalogue per language, complete
//! against each other, against every problem code the code answers and
//! against every enumeration of the spec; problems told in the language a
//! request asks for, their codes and fields unchanged; the labels apps show.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use actix_web::test::TestRequest;
use aftercare::i18n::{self, Lang};
use common::*;
use serde_json::{json, Value};

fn catalogues() -> Vec<(Lang, Value)> {
    i18n::sources()
        .iter()
        .map(|(lang, text)| {
            (
                *lang,
                serde_json::from_str(text).expect("a catalogue is JSON"),
            )
        })
        .collect()
}

/// Every `section.key` (labels: `labels.Enum.value`) with its text.
fn entries(doc: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for section in ["columns", "messages"] {
        for (key, text) in doc[section].as_object().unwrap() {
            out.insert(
                format!("{section}.{key}"),
                text.as_str().unwrap().to_string(),
            );
        }
    }
    for (name, values) in doc["labels"].as_object().unwrap() {
        for (value, text) in values.as_object().unwrap() {
            out.insert(
                format!("labels.{name}.{value}"),
                text.as_str().unwrap().to_string(),
            );
        }
    }
    out
}

#[test]
fn both_catalogues_have_every_entry_with_the_same_placeholders() {
    let all = catalogues();
    // every file parses into the catalogue the server reads
    for (lang, _) in &all {
        assert!(!i18n::catalogue(*lang).messages.is_empty(), "{lang:?}");
    }
    let (en, zh) = (entries(&all[0].1), entries(&all[1].1));
    let en_keys: BTreeSet<&String> = en.keys().collect();
    let zh_keys: BTreeSet<&String> = zh.keys().collect();
    assert_eq!(
        en_keys.symmetric_difference(&zh_keys).collect::<Vec<_>>(),
        Vec::<&&String>::new(),
        "entries in one language only"
    );
    for (key, text) in &en {
        let mut a = i18n::placeholders(text);
        let mut b = i18n::placeholders(&zh[key]);
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b, "{key}: {text:?} / {:?}", zh[key]);
        assert!(!zh[key].trim().is_empty(), "{key} is empty in Chinese");
    }
}

/// Every problem code the source answers: the codes given to the error
/// constructors, the fixed ones of the error type, the import's own.
fn problem_codes() -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    let mut files = vec![];
    let mut dirs = vec![std::path::PathBuf::from("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let quoted_after = |text: &str, marker: &str, out: &mut BTreeSet<String>| {
        for (at, _) in text.match_indices(marker) {
            let rest = text[at + marker.len()..].trim_start();
            let Some(rest) = rest.strip_prefix('"') else {
                continue;
            };
            let code: String = rest.chars().take_while(|c| *c != '"').collect();
            if !code.is_empty() && code.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                out.insert(code);
            }
        }
    };
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for marker in [
            "AppError::rule(",
            "AppError::conflict(",
            "AppError::bad_request(",
            "AppError::unauthorized(",
            "code: \"",
        ] {
            let marker = marker.trim_end_matches('"');
            quoted_after(&text, marker, &mut codes);
        }
        // a row's problem: `row.problem(Some(field), "code", message)`
        for (at, _) in text.match_indices(".problem(") {
            let call: String = text[at..].chars().take(300).collect();
            let Some((_, after_comma)) = call.split_once(',') else {
                continue;
            };
            if let Some(code) = after_comma
                .trim_start()
                .strip_prefix('"')
                .map(|r| r.chars().take_while(|c| *c != '"').collect::<String>())
            {
                codes.insert(code);
            }
        }
    }
    let error = std::fs::read_to_string("src/error.rs").unwrap();
    for line in error.lines() {
        if let Some((_, code)) = line.trim().split_once("=> \"") {
            if let Some(code) = code.strip_suffix("\",") {
                codes.insert(code.to_string());
            }
        }
    }
    codes.remove("import_rolled_back");
    codes
}

#[test]
fn every_problem_code_is_said_in_chinese_and_english() {
    let codes = problem_codes();
    assert!(codes.len() > 80, "the scan finds the codes: {codes:?}");
    for code in [
        "not_found",
        "validation_failed",
        "warranty_below_minimum",
        "import_invalid",
        "missing_value",
    ] {
        assert!(codes.contains(code), "{code} is scanned");
    }
    for lang in Lang::ALL {
        let messages = &i18n::catalogue(lang).messages;
        let missing: Vec<&String> = codes
            .iter()
            .filter(|c| !messages.contains_key(&format!("problem.{c}")))
            .collect();
        assert!(missing.is_empty(), "{lang:?} lacks problem.{missing:?}");
        for status in [
            400, 401, 403, 404, 405, 409, 412, 413, 414, 415, 416, 422, 429, 500, 503, 507,
        ] {
            assert!(
                messages.contains_key(&format!("title.{status}")),
                "{lang:?} title.{status}"
            );
        }
    }
}

#[test]
fn labels_are_complete_against_the_spec_enums() {
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string("openapi/openapi.json").unwrap()).unwrap();
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    let enums: BTreeMap<&String, Vec<String>> = schemas
        .iter()
        .filter_map(|(name, s)| {
            s["enum"].as_array().map(|values| {
                let values = values
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                    .collect();
                (name, values)
            })
        })
        .collect();
    assert!(enums.len() > 60);
    for lang in Lang::ALL {
        let labels = &i18n::catalogue(lang).labels;
        for (name, values) in &enums {
            for value in values {
                let label = labels.get(*name).and_then(|l| l.get(value));
                assert!(
                    label.is_some_and(|l| !l.trim().is_empty()),
                    "{lang:?}: no label for {name}.{value}"
                );
            }
            assert_eq!(
                labels[*name].len(),
                values.len(),
                "{lang:?}: {name} has stale labels"
            );
            // the spec's description carries both
            let description = schemas[*name]["description"].as_str().unwrap_or("");
            assert!(description.contains(&format!("`{}`", values[0])), "{name}");
        }
        let stale: Vec<&String> = labels.keys().filter(|n| !enums.contains_key(n)).collect();
        assert!(
            stale.is_empty(),
            "{lang:?}: labels of no enumeration: {stale:?}"
        );
    }
    assert_eq!(
        i18n::label(Lang::ZhCn, "Rating", "very_satisfied"),
        "很满意"
    );
    assert_eq!(i18n::label(Lang::ZhCn, "Rating", "dissatisfied"), "不满意");
}

#[actix_rt::test]
async fn a_problem_is_told_in_chinese_when_asked_and_its_code_and_fields_stay() {
    let app = spawn().await;
    let admin = app.admin().await;
    let bad = json!({"name": "", "kind": "owner_organisation", "branch_id": 1,
                     "contact_phone": "x".repeat(40)});
    let send = |lang: Option<&'static str>| {
        let mut req = TestRequest::post()
            .uri("/api/v1/customers")
            .insert_header(("Authorization", format!("Bearer {admin}")))
            .set_json(bad.clone());
        if let Some(lang) = lang {
            req = req.insert_header(("Accept-Language", lang));
        }
        req
    };
    let en = app.send(send(None)).await;
    en.expect_problem(422, "validation_failed");
    assert_eq!(en.body["title"], "Unprocessable Entity");
    assert_eq!(en.body["detail"], "the request has invalid fields");
    for tag in ["zh-CN", "zh", "zh-CN,zh;q=0.9,en;q=0.8"] {
        let zh = app.send(send(Some(tag))).await;
        zh.expect_problem(422, "validation_failed");
        assert_eq!(zh.body["title"], "无法处理的内容", "{tag}");
        assert_eq!(zh.body["detail"], "请求中有不符合要求的字段");
        assert_eq!(zh.fields(), en.fields(), "the fields stay");
        let messages: Vec<&str> = zh.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["message"].as_str().unwrap())
            .collect();
        assert!(
            messages.contains(&"长度须为 1 到 200 个字符"),
            "{messages:?}"
        );
        assert!(messages.contains(&"长度至多为 32 个字符"), "{messages:?}");
    }
    // English asked first wins
    let en_first = app.send(send(Some("en-GB, zh;q=0.5"))).await;
    assert_eq!(en_first.body["detail"], "the request has invalid fields");
    // a detail with values of its own keeps them
    let missing = app
        .send(
            TestRequest::get()
                .uri("/api/v1/customers/987654")
                .insert_header(("Authorization", format!("Bearer {admin}")))
                .insert_header(("Accept-Language", "zh-CN")),
        )
        .await;
    missing.expect_problem(404, "not_found");
    assert_eq!(missing.body["title"], "未找到");
    assert_eq!(missing.body["detail"], "未找到客户 987654");
    // before any handler: no token, a method the path does not take
    let anonymous = app
        .send(
            TestRequest::get()
                .uri("/api/v1/customers")
                .insert_header(("Accept-Language", "zh-CN")),
        )
        .await;
    anonymous.expect_problem(401, "missing_token");
    assert_eq!(anonymous.body["title"], "未认证");
    assert!(anonymous.body["detail"]
        .as_str()
        .unwrap()
        .starts_with("请发送访问令牌"));
    let wrong_method = app
        .send(
            TestRequest::delete()
                .uri("/api/v1/customers")
                .insert_header(("Authorization", format!("Bearer {admin}")))
                .insert_header(("Accept-Language", "zh")),
        )
        .await;
    wrong_method.expect_problem(405, "method_not_allowed");
    assert_eq!(wrong_method.body["title"], "不支持该方法");
    assert!(wrong_method.header("allow").is_some());
}

#[actix_rt::test]
async fn the_servers_default_language_answers_a_request_that_names_none_of_ours() {
    let app = spawn_with(|c| c.default_language = Lang::ZhCn).await;
    let admin = app.admin().await;
    let get = |lang: Option<&'static str>| {
        let mut req = TestRequest::get()
            .uri("/api/v1/projects/424242")
            .insert_header(("Authorization", format!("Bearer {admin}")));
        if let Some(lang) = lang {
            req = req.insert_header(("Accept-Language", lang));
        }
        req
    };
    for lang in [None, Some("fr-FR, de;q=0.8")] {
        let r = app.send(get(lang)).await;
        r.expect_problem(404, "not_found");
        assert_eq!(r.body["detail"], "未找到工程 424242");
    }
    let r = app.send(get(Some("en"))).await;
    assert_eq!(r.body["detail"], "project 424242 not found");
}

#[actix_rt::test]
async fn labels_answer_the_standards_words_without_a_token() {
    let app = spawn().await;
    let r = app
        .send(TestRequest::get().uri("/api/v1/labels?lang=zh-CN"))
        .await;
    r.expect(200);
    assert_eq!(r.header("content-language").as_deref(), Some("zh-CN"));
    assert_eq!(r.body["lang"], "zh-CN");
    let labels = &r.body["labels"];
    assert_eq!(labels["Rating"]["very_satisfied"], "很满意");
    assert_eq!(labels["Rating"]["basically_satisfied"], "基本满意");
    assert_eq!(labels["Rating"]["dissatisfied"], "不满意");
    assert_eq!(labels["ContactRole"]["warranty_lead"], "项目授权保修负责人");
    assert_eq!(labels["OrgUnitKind"]["project_department"], "项目部");
    assert_eq!(labels["Rule"]["complaint.judge"], "判定投诉责任");
    let zh = app
        .send(
            TestRequest::get()
                .uri("/api/v1/labels")
                .insert_header(("Accept-Language", "zh")),
        )
        .await;
    assert_eq!(zh.body, r.body);
    let by_header = app
        .send(
            TestRequest::get()
                .uri("/api/v1/labels")
                .insert_header(("Accept-Language", "zh-Hans-CN")),
        )
        .await;
    assert_eq!(by_header.body["lang"], "zh-CN");
    let en = app.send(TestRequest::get().uri("/api/v1/labels")).await;
    assert_eq!(en.body["lang"], "en");
    assert_eq!(
        en.body["labels"]["Rating"]["very_satisfied"],
        "Very satisfied"
    );
    let bad = app
        .send(TestRequest::get().uri("/api/v1/labels?lang=fr"))
        .await;
    assert!(bad.status == 400 || bad.status == 422, "{}", bad.status);
    assert_eq!(bad.fields(), vec!["lang"]);
}

#[actix_rt::test]
async fn an_import_tells_its_problems_in_the_language_asked() {
    let app = spawn().await;
    let admin = app.admin().await;
    let csv = "客户名称,客户类型,所属分公司\r\n甲,individual,Nowhere\r\n";
    let boundary = "----aftercare-i18n-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\ncustomers\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    );
    let send = |dry: bool| {
        let body = if dry {
            body.replace(
                "customers\r\n",
                &format!("customers\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"dry_run\"\r\n\r\ntrue\r\n"),
            )
        } else {
            body.clone()
        };
        TestRequest::post()
            .uri("/api/v1/imports")
            .insert_header(("Authorization", format!("Bearer {admin}")))
            .insert_header(("Accept-Language", "zh-CN"))
            .insert_header((
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            ))
            .set_payload(body)
    };
    let dry = app.send(send(true)).await;
    dry.expect(200);
    assert_eq!(dry.body["problems"][0]["code"], "not_found");
    assert_eq!(
        dry.body["problems"][0]["message"],
        "您的权限范围内没有名为 \"Nowhere\" 的分公司（branch）"
    );
    let real = app.send(send(false)).await;
    real.expect_problem(422, "import_invalid");
    assert_eq!(real.body["detail"], "文件中有 1 个问题，未导入任何数据");
    assert_eq!(
        real.body["rows"][0]["message"],
        dry.body["problems"][0]["message"]
    );
    assert_eq!(real.body["rows"][0]["field"], "branch");
}
