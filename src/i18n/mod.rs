//! The words the API shows people, in English and Simplified Chinese: the
//! display labels of every enumeration value, the headers of spreadsheets
//! (import templates, exports) and the problem messages. One catalogue
//! file per language (`en.json`, `zh-CN.json`) that a translator edits
//! without touching the code; a test checks that both have every entry
//! with the same placeholders.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A language the API answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum Lang {
    #[serde(rename = "en")]
    En,
    #[serde(rename = "zh-CN")]
    ZhCn,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::ZhCn];

    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    /// A language tag (`zh-CN`, `zh`, `zh-Hans`, `en-GB`, `en`), when it
    /// names one of ours.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "zh" => Some(Lang::ZhCn),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The first of ours in an `Accept-Language` header by quality
    /// (`zh-CN,zh;q=0.9,en;q=0.8`); `None` when it names none of them.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(f32, usize, Lang)> = None;
        for (i, part) in header.split(',').enumerate() {
            let mut pieces = part.split(';');
            let Some(lang) = pieces.next().and_then(Lang::from_tag) else {
                continue;
            };
            let q = pieces
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q <= 0.0 {
                continue;
            }
            // the higher quality wins; at equal quality, the earlier one
            if best.is_none_or(|(bq, bi, _)| q > bq || (q == bq && i < bi)) {
                best = Some((q, i, lang));
            }
        }
        best.map(|(_, _, lang)| lang)
    }
}

/// One language's catalogue file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// Headers of spreadsheet columns, by key (`projects.code`).
    pub columns: BTreeMap<String, String>,
    /// The display label of each enumeration value, by the enumeration's
    /// name in the spec (`ContactRole`) and the value (`warranty_lead`).
    pub labels: BTreeMap<String, BTreeMap<String, String>>,
    /// Problem messages by key, with `{name}` placeholders.
    pub messages: BTreeMap<String, String>,
}

const SOURCES: [(Lang, &str); 2] = [
    (Lang::En, include_str!("en.json")),
    (Lang::ZhCn, include_str!("zh-CN.json")),
];

/// The catalogue of `lang`, read once. A file that cannot be read leaves
/// it empty (every lookup then falls back to its key); the catalogue test
/// keeps that from ever shipping.
pub fn catalogue(lang: Lang) -> &'static Catalogue {
    static CATALOGUES: OnceLock<[Catalogue; 2]> = OnceLock::new();
    let all = CATALOGUES.get_or_init(|| {
        SOURCES.map(|(_, text)| match serde_json::from_str(text) {
            Ok(c) => c,
            Err(e) => {
                log::error!("a message catalogue cannot be read: {e}");
                Catalogue::default()
            }
        })
    });
    &all[match lang {
        Lang::En => 0,
        Lang::ZhCn => 1,
    }]
}

/// The raw text of each catalogue file, for the catalogue test.
pub fn sources() -> [(Lang, &'static str); 2] {
    SOURCES
}

/// A spreadsheet header in `lang`; the key itself when missing.
pub fn column(lang: Lang, key: &str) -> String {
    catalogue(lang)
        .columns
        .get(key)
        .cloned()
        .unwrap_or_else(|| key.to_string())
}

/// The display label of value `value` of enumeration `enumeration`; the
/// value itself when missing.
pub fn label(lang: Lang, enumeration: &str, value: &str) -> String {
    catalogue(lang)
        .labels
        .get(enumeration)
        .and_then(|values| values.get(value))
        .cloned()
        .unwrap_or_else(|| value.to_string())
}

/// Message `key` in `lang` with its `{name}` placeholders filled from
/// `args`; English when the language lacks it, the key when both do.
pub fn message(lang: Lang, key: &str, args: &[(&str, &str)]) -> Option<String> {
    let template = catalogue(lang)
        .messages
        .get(key)
        .or_else(|| catalogue(Lang::En).messages.get(key))?;
    Some(fill(template, args))
}

/// Fills `{name}` placeholders; an unknown one stays as written.
pub fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match args.iter().find(|(n, _)| *n == name) {
                    Some((_, value)) => out.push_str(value),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `{name}` placeholders of a template, in order.
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut names = vec![];
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        names.push(&after[..close]);
        rest = &after[close + 1..];
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_of_ours() {
        assert_eq!(Lang::from_accept_language("zh-CN"), Some(Lang::ZhCn));
        assert_eq!(Lang::from_accept_language("zh"), Some(Lang::ZhCn));
        assert_eq!(
            Lang::from_accept_language("fr, en;q=0.5, zh;q=0.8"),
            Some(Lang::ZhCn)
        );
        assert_eq!(Lang::from_accept_language("en-GB,zh;q=0.9"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("zh;q=0, en"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("fr, de"), None);
    }

    #[test]
    fn placeholders_are_filled_and_unknown_ones_kept() {
        assert_eq!(
            fill("{field}: at most {max}", &[("field", "name"), ("max", "3")]),
            "name: at most 3"
        );
        assert_eq!(fill("{x} and {y", &[("x", "1")]), "1 and {y");
        assert_eq!(placeholders("{a} b {c}"), vec!["a", "c"]);
    }
}
