//! Sending webhooks, the Standard Webhooks way: each instance's dispatcher
//! claims due deliveries from the outbox the services write in their own
//! transactions ([`crate::services::webhooks::claim_due`]), sends each
//! signed, and records what came of it. No request of the API ever waits on
//! a partner: sending runs beside the requests, with its own timeouts.
//!
//! The URL's host is resolved, every address checked (no loopback,
//! private, link-local, multicast or unspecified address unless the
//! operator allows them), and the connection made to the address checked,
//! so a name that resolves elsewhere a second later (DNS rebinding) reaches
//! nothing new. Redirects are never followed.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use base64::Engine;
use chrono::NaiveDateTime;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::auth::Actor;
use crate::config::WebhookConfig;
use crate::error::{AppError, AppResult};
use crate::kit::workflow::Ctx;
use crate::services::webhooks::{self as records, Attempt, Claimed};
use crate::state::AppState;

/// The first bytes of an answer kept with the attempt.
const KEPT_ANSWER: usize = 1024;

/// An address no webhook may reach unless the operator allows private
/// networks: loopback, private, link-local (the cloud metadata service at
/// 169.254.169.254), shared (CGNAT), multicast, broadcast, unspecified,
/// and their IPv6 forms (an IPv4-mapped address is judged as IPv4).
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_unspecified()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// Where a webhook goes: its URL, its host, and the address checked.
#[derive(Debug, Clone)]
pub struct CheckedUrl {
    pub url: reqwest::Url,
    pub host: String,
    pub addr: SocketAddr,
}

fn refused(detail: impl Into<String>) -> AppError {
    AppError::rule("webhook_url_refused", "url", detail)
}

/// Checks a webhook URL and resolves its host once: blocking (DNS), so
/// called on a blocking thread, holding no database connection.
pub fn check_url(url: &str, config: &WebhookConfig) -> AppResult<CheckedUrl> {
    let parsed = reqwest::Url::parse(url.trim())
        .map_err(|e| AppError::invalid("url", format!("not a URL: {e}")))?;
    match parsed.scheme() {
        "https" => {}
        "http" if config.allow_http => {}
        "http" => return Err(refused("must be https://")),
        other => return Err(refused(format!("must be https://, not {other}://"))),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(refused("must not hold a user name or password"));
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| refused("must name a host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = parsed
        .port_or_known_default()
        .ok_or_else(|| refused("must name a port or a known scheme"))?;
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
            .map_err(|e| {
                AppError::rule(
                    "webhook_url_unresolvable",
                    "url",
                    format!("the host {host:?} cannot be resolved: {e}"),
                )
            })?
            .collect(),
    };
    let Some(first) = addrs.first().copied() else {
        return Err(AppError::rule(
            "webhook_url_unresolvable",
            "url",
            format!("the host {host:?} has no address"),
        ));
    };
    if !config.allow_private {
        if let Some(bad) = addrs.iter().find(|a| is_internal(a.ip())) {
            return Err(refused(format!(
                "the host {host:?} resolves to {}, an internal address; webhooks go to public addresses only",
                bad.ip()
            )));
        }
    }
    Ok(CheckedUrl {
        url: parsed,
        host,
        addr: first,
    })
}

/// `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` under
/// each secret, space-separated (Standard Webhooks).
pub fn signature(secrets: &[&str], id: &str, timestamp: i64, body: &str) -> String {
    secrets
        .iter()
        .filter_map(|secret| {
            let key = base64::engine::general_purpose::STANDARD
                .decode(secret.trim_start_matches("whsec_"))
                .ok()?;
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
            mac.update(format!("{id}.{timestamp}.").as_bytes());
            mac.update(body.as_bytes());
            Some(format!(
                "v1,{}",
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
            ))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The actor that reads a record for a webhook's body: an administrator
/// of no unit, who sees every record whole (what an admin reads with a GET).
fn reader() -> Actor {
    Actor {
        id: 0,
        username: "webhooks".to_string(),
        role: crate::models::user::Role::Admin,
        rank: None,
        org_unit_id: None,
        org_path: None,
        org_kind: None,
        customer_id: None,
        session: String::new(),
        api_key_id: None,
        import_id: None,
    }
}

/// The subject as an administrator would read it with a GET now; `None`
/// for what has no such view (policies, the calendar) or is gone.
pub fn public_view(
    conn: &mut crate::db::DbConn,
    config: &crate::config::Config,
    now: NaiveDateTime,
    (subject_type, id): (&str, i64),
) -> AppResult<Option<serde_json::Value>> {
    use crate::api;
    let actor = reader();
    let ctx = Ctx {
        actor: &actor,
        config,
        now,
    };
    let view = match subject_type {
        "user" => api::users::public_view(conn, ctx, id),
        "org_unit" => api::org_units::public_view(conn, ctx, id),
        "customer" => api::customers::public_view(conn, ctx, id),
        "project" => api::projects::public_view(conn, ctx, id),
        "complaint" => api::complaints::public_view(conn, ctx, id),
        "rectification_plan" => api::rectification_plans::public_view(conn, ctx, id),
        "visit" => api::visits::public_view(conn, ctx, id),
        "visit_plan" => api::visit_plans::public_view(conn, ctx, id),
        "repair" => api::repairs::public_view(conn, ctx, id),
        "corrective_action" => api::corrective_actions::public_view(conn, ctx, id),
        "accountability_record" => api::accountability::public_view(conn, ctx, id),
        "deadline" => api::deadlines::public_view(conn, ctx, id),
        _ => return Ok(None),
    };
    match view {
        Ok(v) => Ok(Some(v)),
        Err(AppError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The body of a delivery: `{"type", "timestamp", "data"}`, where `data`
/// names the event and its subject and carries the subject's view (for a
/// record with none, what the event recorded of it).
fn body_of(
    state: &AppState,
    claimed: &Claimed,
) -> impl FnOnce(&mut crate::db::DbConn) -> AppResult<String> + Send + 'static {
    let (config, now, claimed) = (
        state.config.clone(),
        state.clock.now_naive(),
        claimed.clone(),
    );
    move |conn| {
        let (subject_type, subject_id) = (&claimed.subject.0, claimed.subject.1);
        let object = match public_view(conn, &config, now, (subject_type, subject_id))? {
            Some(v) => v,
            None => {
                let payload: serde_json::Value =
                    serde_json::from_str(&claimed.event_payload).unwrap_or_default();
                payload
                    .get("after")
                    .cloned()
                    .unwrap_or(serde_json::Value::Null)
            }
        };
        let body = serde_json::json!({
            "type": claimed.delivery.event_type,
            "timestamp": crate::api::utc(claimed.event_at).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "data": {
                "event_id": claimed.delivery.event_id,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "object": object,
            },
        });
        crate::kit::outbox::fix_body(conn, claimed.delivery.id, &body.to_string())
    }
}

/// One attempt: resolve and check the host again, connect to the address
/// checked, POST the signed body, keep the first KiB of the answer.
async fn send(
    config: &WebhookConfig,
    claimed: &Claimed,
    body: &str,
    now: NaiveDateTime,
) -> Attempt {
    let started = Instant::now();
    let failed = |error: String| Attempt {
        status: None,
        elapsed_ms: started.elapsed().as_millis() as i64,
        body: None,
        error: Some(error),
    };
    let (url, cfg) = (claimed.webhook.url.clone(), config.clone());
    let target = match actix_web::rt::task::spawn_blocking(move || check_url(&url, &cfg)).await {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return failed(e.to_string()),
        Err(e) => return failed(format!("cannot resolve: {e}")),
    };
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(std::time::Duration::from_secs(config.connect_timeout_secs))
        .timeout(std::time::Duration::from_secs(config.timeout_secs))
        .no_proxy()
        .user_agent(concat!("aftercare-webhooks/", env!("CARGO_PKG_VERSION")));
    if target.host.parse::<IpAddr>().is_err() {
        builder = builder.resolve(&target.host, target.addr);
    }
    let client = match builder.build() {
        Ok(c) => c,
        Err(e) => return failed(format!("cannot make the client: {e}")),
    };
    let id = claimed.delivery.event_id.to_string();
    // the signature's time is the wall clock's: the receiver checks it
    // against its own
    let timestamp = chrono::Utc::now().timestamp();
    let secrets = records::signing_secrets(&claimed.webhook, now);
    let answer = client
        .post(target.url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header(
            "webhook-signature",
            signature(&secrets, &id, timestamp, body),
        )
        .body(body.to_string())
        .send()
        .await;
    let mut response = match answer {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return failed("timed out".to_string()),
        Err(e) if e.is_connect() => return failed(format!("cannot connect: {e}")),
        Err(e) => return failed(e.to_string()),
    };
    let status = response.status().as_u16();
    let mut kept: Vec<u8> = vec![];
    while kept.len() < KEPT_ANSWER {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                kept.extend_from_slice(&chunk[..chunk.len().min(KEPT_ANSWER - kept.len())])
            }
            _ => break,
        }
    }
    Attempt {
        status: Some(status),
        elapsed_ms: started.elapsed().as_millis() as i64,
        body: Some(String::from_utf8_lossy(&kept).into_owned()),
        error: None,
    }
}

/// One pass: fans out every event committed before the call (waiting up
/// to ten seconds for older transactions to settle, as on PostgreSQL an
/// event waits for every one still running), claims what is due (at most
/// the endpoints' room), sends it all at once and records each outcome,
/// waiting for them all. Answers how many attempts were made.
pub async fn dispatch(state: &AppState) -> AppResult<usize> {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let done = state
            .db(|conn| {
                crate::kit::outbox::fan_out(conn, FAN_OUT_BATCH)?;
                crate::kit::outbox::fanned_out(conn)
            })
            .await?;
        if done || std::time::Instant::now() > until {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let attempts = claim_and_send(state).await?;
    let n = attempts.len();
    for r in futures_util::future::join_all(attempts).await {
        if let Err(e) = r {
            log::warn!("webhook delivery: {e}");
        }
    }
    Ok(n)
}

/// Events fanned out to their deliveries in one transaction: a pass keeps
/// up with thousands of writes a second and holds SQLite's writer lock for
/// a few milliseconds.
const FAN_OUT_BATCH: i64 = 1000;

type Sending = std::pin::Pin<Box<dyn std::future::Future<Output = AppResult<bool>>>>;

async fn claim_and_send(state: &AppState) -> AppResult<Vec<Sending>> {
    let now = state.clock.now_naive();
    let config = state.config.webhooks.clone();
    let claim = crate::auth::jwt::random_token(12);
    let hold = chrono::Duration::seconds(
        i64::try_from(config.connect_timeout_secs + config.timeout_secs + 60).unwrap_or(120),
    );
    let (c, max) = (claim.clone(), config.max_in_flight);
    let claimed = state
        .db(move |conn| {
            crate::kit::outbox::fan_out(conn, FAN_OUT_BATCH)?;
            crate::kit::outbox::claim_due(conn, now, &c, hold, max, 100)
        })
        .await?;
    let attempts = claimed.into_iter().map(|item| {
        let (state, config, claim) = (state.clone(), config.clone(), claim.clone());
        Box::pin(async move {
            let body = match &item.delivery.body {
                Some(b) => b.clone(),
                None => state.db(body_of(&state, &item)).await?,
            };
            let attempt = send(&config, &item, &body, now).await;
            crate::metrics::webhook_attempt(attempt.succeeded());
            let finished = state.clock.now_naive();
            let disable_after = chrono::Duration::seconds(config.disable_after_secs);
            state
                .db(move |conn| {
                    records::record_attempt(
                        conn,
                        finished,
                        &item,
                        &claim,
                        &attempt,
                        &config.retry_schedule,
                        disable_after,
                    )
                })
                .await
        }) as Sending
    });
    Ok(attempts.collect())
}

/// The built-in dispatcher: a pass every `poll_ms`. Each attempt runs as
/// its own task, so an endpoint that hangs holds up only its own
/// deliveries (at most `max_in_flight` of them), never another's.
pub async fn dispatcher(state: AppState) {
    let every = std::time::Duration::from_millis(state.config.webhooks.poll_ms.max(50));
    loop {
        match claim_and_send(&state).await {
            Ok(attempts) => {
                for attempt in attempts {
                    actix_web::rt::spawn(async move {
                        if let Err(e) = attempt.await {
                            log::warn!("webhook delivery: {e}");
                        }
                    });
                }
            }
            Err(e) => log::warn!("webhook dispatch failed, will retry: {e}"),
        }
        actix_web::rt::time::sleep(every).await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_told_from_public_ones() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(is_internal(internal.parse().unwrap()), "{internal}");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_internal(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn a_signature_follows_standard_webhooks() {
        // the example of the Standard Webhooks specification
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }
}
