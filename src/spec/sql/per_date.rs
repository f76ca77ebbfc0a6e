//! A run recomputes only the dates its new raw objects touch (dynamic partition
//! overwrite of those `event_date`s), so a query is correct under late data only when
//! every output row comes from the events of one date. This pass refuses what would
//! mix dates: an aggregate that does not group by `event_date`, a join whose condition
//! does not equate the two sides' `event_date`, a window not partitioned by it, and an
//! output `event_date` that is not an input's `event_date` unchanged. It walks every
//! query of the statement (`WITH` parts and sub-queries included) with sqlparser's
//! visitor, after the query has resolved.

use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Expr, GroupByExpr, JoinConstraint, Query, Select, SelectItem, SetExpr, Spanned,
    Visit, Visitor, WindowType,
};
use sqlparser::dialect::DatabricksDialect;
use sqlparser::parser::Parser;

use super::SqlError;
use super::expr::has_aggregate;

const CODE: &str = "PW0261";
const DATE: &str = "event_date";

/// `event_date`, bare or qualified (`b.event_date`).
fn is_date(e: &Expr) -> bool {
    match e {
        Expr::Identifier(i) => i.value.eq_ignore_ascii_case(DATE),
        Expr::CompoundIdentifier(p) => p.last().is_some_and(|i| i.value.eq_ignore_ascii_case(DATE)),
        Expr::Nested(x) => is_date(x),
        _ => false,
    }
}

/// Whether a join condition has a conjunct `x.event_date = y.event_date`.
fn equates_dates(e: &Expr) -> bool {
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => equates_dates(left) || equates_dates(right),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } => is_date(left) && is_date(right),
        Expr::Nested(x) => equates_dates(x),
        _ => false,
    }
}

/// The problems of a query that resolved; empty when each row comes from one date.
pub fn per_date(sql: &str) -> Vec<SqlError> {
    let Ok(stmts) = Parser::parse_sql(&DatabricksDialect {}, sql) else {
        return Vec::new();
    };
    let mut v = Dates::default();
    let _ = stmts.visit(&mut v);
    v.errors
}

#[derive(Default)]
struct Dates {
    errors: Vec<SqlError>,
}

impl Visitor for Dates {
    type Break = ();

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        let mut body = q.body.as_ref();
        while let SetExpr::Query(inner) = body {
            body = inner.body.as_ref();
        }
        if let SetExpr::Select(s) = body {
            self.select(s);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = e
            && let Some(WindowType::WindowSpec(w)) = &f.over
            && !w.partition_by.iter().any(is_date)
        {
            self.errors.push(
                SqlError::at(CODE, e.span(), "this window is not partitioned by `event_date`")
                    .help("add `event_date` to its `PARTITION BY`: a run recomputes only the dates new events touch, so a window must not reach into other dates"),
            );
        }
        ControlFlow::Continue(())
    }
}

impl Dates {
    fn select(&mut self, s: &Select) {
        self.grouping(s);
        for t in &s.from {
            for j in &t.joins {
                let Some(constraint) = super::inner_or_left(&j.join_operator) else {
                    continue;
                };
                let same_date = match constraint {
                    JoinConstraint::On(e) => equates_dates(e),
                    JoinConstraint::Using(cols) => cols
                        .iter()
                        .any(|c| c.to_string().eq_ignore_ascii_case(DATE)),
                    _ => true,
                };
                if !same_date {
                    self.errors.push(
                        SqlError::at(CODE, j.relation.span(), "this join does not match rows of the same `event_date`")
                            .help("add `AND a.event_date = b.event_date` to its `ON`: a run recomputes only the dates new events touch"),
                    );
                }
            }
        }
        for item in &s.projection {
            if let SelectItem::ExprWithAlias { expr, alias } = item
                && alias.value.eq_ignore_ascii_case(DATE)
                && !is_date(expr)
            {
                self.errors.push(
                    SqlError::at(CODE, expr.span(), "`event_date` is computed here, not taken from an input")
                        .help("output an input's `event_date` unchanged: it names the partition a run overwrites"),
                );
            }
        }
    }

    fn grouping(&mut self, s: &Select) {
        let groups: &[Expr] = match &s.group_by {
            GroupByExpr::Expressions(g, _) => g,
            GroupByExpr::All(_) => &[],
        };
        let aggregated = !groups.is_empty()
            || s.having.is_some()
            || s.projection.iter().any(|p| match p {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    has_aggregate(e)
                }
                _ => false,
            });
        // `GROUP BY 1` or an alias naming `event_date` counts when that item is the
        // input's `event_date` (an alias computed otherwise is refused above).
        let names_date = |g: &Expr| {
            is_date(g)
                || matches!(g, Expr::Value(v) if v.to_string().parse::<usize>().ok()
                    .and_then(|i| i.checked_sub(1))
                    .and_then(|i| s.projection.get(i))
                    .is_some_and(|it| matches!(it,
                        SelectItem::UnnamedExpr(x) | SelectItem::ExprWithAlias { expr: x, .. } if is_date(x))))
        };
        if aggregated && !groups.iter().any(names_date) {
            self.errors.push(
                SqlError::at(CODE, s.span(), "this aggregate does not group by `event_date`")
                    .help("add `event_date` to its `GROUP BY` (and output it): a run recomputes only the dates new events touch, so an aggregate over several dates would be recomputed from part of its events"),
            );
        }
    }
}
