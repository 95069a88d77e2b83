//! The display labels of every enumeration value the API uses, in English
//! or Simplified Chinese, so that apps show the standard's words (很满意 …
//! 不满意, 项目授权保修负责人) without keeping their own copy.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::extract::ValidQuery;
use crate::error::AppResult;
use crate::i18n::{self, Lang};

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LabelsQuery {
    /// `en` or `zh-CN`; absent: the first of these the request's
    /// `Accept-Language` names (`zh` counts as `zh-CN`), else the
    /// server's default.
    pub lang: Option<Lang>,
}

/// Every enumeration's labels in one language.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"lang": "zh-CN", "labels": {"Rating": {"very_satisfied": "很满意", "dissatisfied": "不满意"}}}))]
pub struct Labels {
    pub lang: Lang,
    /// By the enumeration's schema name in this spec (`Rating`,
    /// `ContactRole`, `RepairStatus`, …), then by value.
    pub labels: BTreeMap<String, BTreeMap<String, String>>,
}

/// Display labels of every enumeration
///
/// For every enumeration of this API (roles, ranks, the states of every
/// workflow, warranty and complaint categories, channels, the five
/// satisfaction levels, survey factors, visit kinds, repair liability and
/// payers, deadline rules, …) the label of each value, in English or
/// Simplified Chinese. Needs no token: an app may load it before anyone
/// logs in. The same labels stand in each enumeration's description here.
#[utoipa::path(get, path = "/api/v1/labels", tag = "labels", operation_id = "get_labels",
    security(()), params(LabelsQuery),
    responses(
        (status = 200, description = "The labels", body = Labels, headers(("Content-Language" = String))),
        (status = 400, description = "`lang` is neither `en` nor `zh-CN`, or an unknown parameter", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(req: HttpRequest, query: ValidQuery<LabelsQuery>) -> AppResult<HttpResponse> {
    let lang = query
        .0
        .lang
        .unwrap_or_else(|| crate::request_language(&req));
    let labels = Labels {
        lang,
        labels: i18n::catalogue(lang).labels.clone(),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_LANGUAGE, lang.as_str()))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .json(labels))
}
