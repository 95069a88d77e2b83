//! `Actor`: who does something, as the services see it — a plain value
//! with the role, the org unit's path and the scope it gives. The HTTP
//! layer builds it from the bearer token (`api::extract`); the command line
//! builds it for the console admin.

use crate::error::{AppError, AppResult};
use crate::models::user::{Rank, Role};

/// Who a request says it comes from: the account and session named by a
/// bearer token whose signature and expiry have been checked. Whether the
/// account is active and the session alive is checked in the same database
/// call as the request's own work (`AppState::db_as`), which turns it into an
/// [`Actor`]: one trip to the database per request, not two.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The account (0 for an API key: its service user is read with the key).
    pub user_id: i64,
    /// The login session (refresh-token family) the token belongs to.
    pub session: String,
    /// An API key (`ak_…`) instead of a token.
    pub api_key: Option<String>,
    /// The request may change something (not GET or HEAD): a read-only
    /// key is refused.
    pub writes: bool,
}

/// The project department (项目经理部): its project manager and the staff
/// whose unit is a project department. Named by this constant wherever a
/// step is the department's, so that [`Actor::acts_as`] applies the unit.
pub const DEPARTMENT: &[Role] = &[Role::ProjectManager, Role::Staff];

#[derive(Debug, Clone)]
pub struct Actor {
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
    /// The kind of the user's org unit (`group`, `branch`,
    /// `project_department`), when they have one.
    pub org_kind: Option<String>,
    /// The API key the request came with, when it came with one (a
    /// system's service user): its events name it.
    pub api_key_id: Option<i64>,
    /// The spreadsheet import the writes belong to, while one runs: its
    /// events name it.
    pub import_id: Option<i64>,
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
    /// The paths inside the org subtree rooted at `path` (`/1/4/`), as the
    /// half-open range `[/1/4/, /1/40)`: every descendant's path starts with
    /// the root's and `'0'` is the byte after `'/'`. A range is served by a
    /// plain B-tree index on both databases, where `LIKE 'prefix%'` is not
    /// (and makes SQLite prepare the statement anew at every call).
    pub fn path_range(path: &str) -> (String, String) {
        let upper = match path.strip_suffix('/') {
            Some(stem) => format!("{stem}0"),
            // not a unit path: a range that holds only the path itself
            None => format!("{path}\0"),
        };
        (path.to_string(), upper)
    }

    /// True when the subtree at `path` is the group's or a branch's, which
    /// hold most records; a project department's (three levels down) is a
    /// leaf and holds few.
    pub fn is_wide(path: &str) -> bool {
        path.split('/').filter(|s| !s.is_empty()).count() < 3
    }

    /// True when an org unit with ancestry `path` lies inside the scope.
    pub fn covers_path(&self, path: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::OrgSubtree(root) => path.starts_with(root.as_str()),
            Scope::Customer(_) | Scope::Nothing => false,
        }
    }

    /// True when the unit at `path` lies inside the scope or above the
    /// caller's own unit: a project department may name the customers of
    /// the branch it belongs to, but nothing of another branch.
    pub fn reaches_path(&self, path: &str) -> bool {
        match self {
            Scope::OrgSubtree(root) => self.covers_path(path) || root.starts_with(path),
            other => other.covers_path(path),
        }
    }
}

/// Filters a text column holding an ancestry path to an org subtree:
/// `in_subtree!(deadlines::scope_path, "/1/4/")`. The one way every scoped
/// query is written (see [`Scope::path_range`]).
#[macro_export]
macro_rules! in_subtree {
    ($column:expr, $path:expr) => {{
        let (low, high) = $crate::auth::Scope::path_range($path);
        $column.ge(low).and($column.lt(high))
    }};
}

/// Filters a table's `scope_path` column to an org subtree, for the large
/// record tables (projects, customers, deadlines) whose lists page in id or
/// due order. Written so that the planner makes the right choice on both
/// databases whatever its statistics:
///
/// - a project department (a leaf: no unit lies below one) holds a small
///   part of the data: an indexable range, read on the `…_scope` index and
///   sorted (a few hundred rows);
/// - the group or a branch holds most of it: the range is written on
///   `scope_path || ''`, which no index serves, so the query walks the index
///   that gives its order (the primary key, or a partial index of open
///   deadlines) and checks the scope row by row, stopping when the page is
///   full, instead of sorting every row of the subtree.
///
/// `rows_in_subtree!(projects::table, projects::scope_path, "/1/4/")`.
#[macro_export]
macro_rules! rows_in_subtree {
    ($table:ty, $column:expr, $path:expr) => {{
        use $crate::db::condition::Unindexed;
        let path: &str = $path;
        let (low, high) = $crate::auth::Scope::path_range(path);
        let filter: Box<
            dyn diesel::BoxableExpression<
                $table,
                $crate::db::MultiBackend,
                SqlType = diesel::sql_types::Bool,
            >,
        > = if $crate::auth::Scope::is_wide(path) {
            Box::new(Unindexed($column).ge(low).and(Unindexed($column).lt(high)))
        } else {
            Box::new($column.ge(low).and($column.lt(high)))
        };
        filter
    }};
}

impl Actor {
    pub fn scope(&self) -> Scope {
        match (self.role, &self.org_path, self.customer_id) {
            (Role::Admin, _, _) => Scope::All,
            (Role::Customer, _, Some(customer)) => Scope::Customer(customer),
            (_, Some(path), _) if self.role.is_org_role() => Scope::OrgSubtree(path.clone()),
            _ => Scope::Nothing,
        }
    }

    /// True when the caller's own unit is a project department (a staff
    /// user may belong to the group, a branch or a department).
    pub fn in_project_department(&self) -> bool {
        self.org_kind.as_deref()
            == Some(crate::models::org_unit::OrgUnitKind::ProjectDepartment.as_str())
    }

    /// True when the caller may act as one of `roles`. [`DEPARTMENT`] names
    /// the project department: its manager, and staff whose own unit is a
    /// project department — a staff user of a branch or of the group sees
    /// the department's records but does not act as the department.
    pub fn acts_as(&self, roles: &[Role]) -> bool {
        roles.contains(&self.role)
            && !(self.role == Role::Staff && roles == DEPARTMENT && !self.in_project_department())
    }

    /// 403 unless the caller may act as one of `roles` ([`Actor::acts_as`]).
    pub fn require(&self, roles: &[Role]) -> AppResult<()> {
        if roles.contains(&self.role) && !self.acts_as(roles) {
            return Err(AppError::Forbidden(
                "only the project department may do this: its project manager or staff of a project department; your unit is not one".to_string(),
            ));
        }
        if self.acts_as(roles) {
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

#[cfg(test)]
mod tests {
    use super::Scope;

    #[test]
    fn the_group_and_a_branch_are_wide_scopes_a_project_department_is_narrow() {
        assert!(Scope::is_wide("/1/"));
        assert!(Scope::is_wide("/1/4/"));
        assert!(!Scope::is_wide("/1/4/9/"));
    }

    #[test]
    fn a_subtree_range_holds_its_descendants_and_nothing_beside() {
        let (low, high) = Scope::path_range("/1/4/");
        let inside = |p: &str| p >= low.as_str() && p < high.as_str();
        assert!(inside("/1/4/") && inside("/1/4/9/") && inside("/1/4/99/"));
        assert!(!inside("/1/40/") && !inside("/1/3/") && !inside("/1/5/"));
    }
}
