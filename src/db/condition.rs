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

/// A text column as `(column || '')`: the same value, which no index on the
/// column serves, so the planner keeps to the index that gives the query's
/// order and checks this condition row by row. The `''` is written into the
/// statement (not bound), so the statement stays cacheable and PostgreSQL's
/// statistics on the expression (`CREATE STATISTICS … ON ((scope_path || ''))`)
/// apply to it.
#[derive(Debug, Clone, Copy)]
pub struct Unindexed<C>(pub C);

impl<C: Expression<SqlType = diesel::sql_types::Text>> Expression for Unindexed<C> {
    type SqlType = diesel::sql_types::Text;
}

impl<C: QueryFragment<DB>, DB: Backend> QueryFragment<DB> for Unindexed<C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("(");
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(" || '')");
        Ok(())
    }
}

impl<C: QueryId> QueryId for Unindexed<C> {
    type QueryId = Unindexed<C::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = C::HAS_STATIC_QUERY_ID;
}

impl<QS, C: SelectableExpression<QS>> SelectableExpression<QS> for Unindexed<C> where
    Self: AppearsOnTable<QS>
{
}

impl<QS, C: AppearsOnTable<QS>> AppearsOnTable<QS> for Unindexed<C> where Self: Expression {}

impl<GB, C: ValidGrouping<GB>> ValidGrouping<GB> for Unindexed<C> {
    type IsAggregate = C::IsAggregate;
}
