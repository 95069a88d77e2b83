//! `GET /metrics`, served apart from the API (see `AFTERCARE_METRICS_BIND`):
//! not in the OpenAPI document, which describes the API's own address.

use actix_web::{web, HttpResponse};

use crate::error::AppResult;
use crate::AppState;

/// The Prometheus text format.
pub async fn scrape(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let pool = state.pool.clone();
    let text = state
        .db(move |conn| crate::metrics::render(conn, &pool))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}
