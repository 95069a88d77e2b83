//! A fixed SQL condition that diesel may keep prepared.
//!
//! `diesel::dsl::sql` marks every query it appears in as unsafe to cache,
//! so such a query is parsed and planned anew at every call (a fair share of
//! a short read's time on SQLite, a round trip more on PostgreSQL). A
//! `Condition` is a `&'static str` fixed at compile time, holding no bound
//! value: the statement text is the same at every call, so caching it is
//! safe.

use diesel::backend::Backend;
use diesel::expression::{
    is_aggregate, AppearsOnTable, Expression, SelectableExpression, ValidGrouping,
};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::Bool;
use diesel::QueryResult;

/// A constant boolean SQL condition, e.g. the predicate of a partial index
/// written into the queries that must use that index.
#[derive(Debug, Clone, Copy)]
pub struct Condition(pub &'static str);

impl Expression for Condition {
    type SqlType = Bool;
}

impl<DB: Backend> QueryFragment<DB> for Condition {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(self.0);
        Ok(())
    }
}

impl QueryId for Condition {
    type QueryId = ();
    // the text is not part of the type: cache by the statement's text
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<QS> SelectableExpression<QS> for Condition {}

impl<QS> AppearsOnTable<QS> for Condition {}

impl<GB> ValidGrouping<GB> for Condition {
    type IsAggregate = is_aggregate::Never;
}
