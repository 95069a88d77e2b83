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

/// A language the API answers in: English or Simplified Chinese.
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

/// One piece of a message template: literal text or a `{name}` placeholder.
enum Piece<'a> {
    Text(&'a str),
    Slot(&'a str),
}

fn pieces(template: &str) -> Vec<Piece<'_>> {
    let mut out = vec![];
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        if open > 0 {
            out.push(Piece::Text(&rest[..open]));
        }
        out.push(Piece::Slot(&rest[open + 1..open + close]));
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    out
}

/// The values of `template`'s placeholders in `text`, when `text` is that
/// template filled in (each placeholder at least one character; the
/// leftmost match of each literal after a placeholder).
fn matched<'t>(template: &str, text: &'t str) -> Option<Vec<(String, &'t str)>> {
    let pieces = pieces(template);
    let mut values = vec![];
    let mut at = 0;
    let mut open: Option<&str> = None;
    for (i, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Text(lit) => match open.take() {
                None => {
                    if !text[at..].starts_with(lit) {
                        return None;
                    }
                    at += lit.len();
                }
                Some(name) => {
                    let last = i == pieces.len() - 1;
                    let found = if last {
                        text[at..]
                            .rfind(lit)
                            .filter(|f| at + f + lit.len() == text.len())
                    } else {
                        text[at..].find(lit)
                    }?;
                    if found == 0 {
                        return None;
                    }
                    values.push((name.to_string(), &text[at..at + found]));
                    at += found + lit.len();
                }
            },
            Piece::Slot(name) => {
                if open.is_some() {
                    // two placeholders side by side cannot be told apart
                    return None;
                }
                open = Some(name);
            }
        }
    }
    match open {
        Some(name) if at < text.len() => values.push((name.to_string(), &text[at..])),
        Some(_) => return None,
        None if at != text.len() => return None,
        None => {}
    }
    Some(values)
}

/// The message templates (`text.*`) of the English catalogue, the most
/// specific (most literal text) first.
fn templates() -> &'static [(String, String)] {
    static TEMPLATES: OnceLock<Vec<(String, String)>> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let mut all: Vec<(String, String)> = catalogue(Lang::En)
            .messages
            .iter()
            .filter(|(key, _)| key.starts_with("text."))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let literal = |t: &str| {
            pieces(t)
                .iter()
                .map(|p| match p {
                    Piece::Text(s) => s.len(),
                    Piece::Slot(_) => 0,
                })
                .sum::<usize>()
        };
        all.sort_by_key(|(_, t)| std::cmp::Reverse(literal(t)));
        all
    })
}

/// An English message of ours in `lang`: the catalogue's template it is an
/// instance of, in `lang`, with the same values (each value that is itself
/// a message of ours translated too). `None` when no template fits.
pub fn translate(lang: Lang, english: &str) -> Option<String> {
    translate_at(lang, english, 0)
}

fn translate_at(lang: Lang, english: &str, depth: u8) -> Option<String> {
    if lang == Lang::En {
        return Some(english.to_string());
    }
    let target = &catalogue(lang).messages;
    templates().iter().find_map(|(key, template)| {
        let values = matched(template, english)?;
        let into = target.get(key)?;
        let values: Vec<(String, String)> = values
            .into_iter()
            .map(|(name, value)| {
                let value = (depth < 2)
                    .then(|| translate_at(lang, value, depth + 1))
                    .flatten()
                    .unwrap_or_else(|| value.to_string());
                (name, value)
            })
            .collect();
        let args: Vec<(&str, &str)> = values
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        Some(fill(into, &args))
    })
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

    #[test]
    fn a_message_is_translated_by_the_template_it_fills() {
        assert_eq!(
            translate(Lang::ZhCn, "must be 3 to 64 characters long").as_deref(),
            Some("长度须为 3 到 64 个字符")
        );
        assert_eq!(
            translate(Lang::ZhCn, "limit: must be between 1 and 200").as_deref(),
            Some("limit：须在 1 到 200 之间")
        );
        assert_eq!(
            translate(Lang::ZhCn, "customer 7 is inactive").as_deref(),
            Some("客户 7 已停用")
        );
        assert_eq!(translate(Lang::ZhCn, "something we never say"), None);
        assert_eq!(matched("a {x} b", "a  b"), None);
        assert_eq!(
            matched("{x}: {y}", "k: v: w"),
            Some(vec![("x".into(), "k"), ("y".into(), "v: w")])
        );
    }
}
