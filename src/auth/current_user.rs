//! `CurrentUser`: the caller, taken from the bearer token and checked against
//! the database on every request (so deactivation and logout act at once).

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::error::{AppError, AppResult};
use crate::models::user::{Rank, Role};
use crate::AppState;

#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub rank: Option<Rank>,
    pub org_unit_id: Option<i64>,
    /// Ancestry path of the user's org unit (`/1/4/`), when they have one.
    pub org_path: Option<String>,
    pub customer_id: Option<i64>,
    /// The login session (refresh-token family) the token belongs to.
    pub session: String,
}

/// What part of the data a caller may see. Every service query that lists or
/// loads records filters by it; a record outside it is answered with 404.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Administrators.
    All,
    /// Everything at or under the org unit with this ancestry path.
    OrgSubtree(String),
    /// One customer's own records.
    Customer(i64),
    /// A user with neither (cannot happen with the schema's checks).
    Nothing,
}

impl Scope {
    /// The `LIKE` pattern matching the paths inside an org subtree.
    pub fn path_pattern(path: &str) -> String {
        format!("{path}%")
    }

    /// True when an org unit with ancestry `path` lies inside the scope.
    pub fn covers_path(&self, path: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::OrgSubtree(root) => path.starts_with(root.as_str()),
            Scope::Customer(_) | Scope::Nothing => false,
        }
    }
}

impl CurrentUser {
    pub fn scope(&self) -> Scope {
        match (self.role, &self.org_path, self.customer_id) {
            (Role::Admin, _, _) => Scope::All,
            (Role::Customer, _, Some(customer)) => Scope::Customer(customer),
            (_, Some(path), _) if self.role.is_org_role() => Scope::OrgSubtree(path.clone()),
            _ => Scope::Nothing,
        }
    }

    /// 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> AppResult<()> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(AppError::Forbidden(format!(
                "this action needs the role {}; you are {}",
                names.join(" or "),
                self.role
            )))
        }
    }

    pub fn require_admin(&self) -> AppResult<()> {
        self.require(&[Role::Admin])
    }

    /// 403 for customer users: the contractor's internal records are not theirs.
    pub fn require_staff_side(&self) -> AppResult<()> {
        if self.role == Role::Customer {
            Err(AppError::Forbidden(
                "customer accounts cannot use this resource".to_string(),
            ))
        } else {
            Ok(())
        }
    }
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let auth = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().map(str::to_owned));
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::internal("application state missing"))?;
            let token = match auth {
                None => {
                    return Err(AppError::unauthorized(
                        "missing_token",
                        "send an access token: Authorization: Bearer <token> (get one at /api/v1/auth/login)",
                    ))
                }
                Some(Err(_)) => return Err(malformed()),
                Some(Ok(value)) => bearer_token(&value).ok_or_else(malformed)?,
            };
            let claims = state.jwt.verify(&token, state.clock.now())?;
            let user_id: i64 = claims.sub.parse().map_err(|_| {
                AppError::unauthorized("invalid_token", "the access token is not valid")
            })?;
            let session = claims.sid;
            state
                .db(move |conn| crate::services::auth::session_user(conn, user_id, &session))
                .await
        })
    }
}

fn malformed() -> AppError {
    AppError::unauthorized(
        "invalid_token",
        "the Authorization header must be `Bearer <token>`",
    )
}

fn bearer_token(value: &str) -> Option<String> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
}
