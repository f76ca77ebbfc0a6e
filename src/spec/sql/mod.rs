//! SQL transforms: a Spark SQL query over named relations (the transform's inputs),
//! parsed with sqlparser-rs (Databricks dialect, Spark's syntax) and resolved here:
//! relations and columns, types, grouping, joins and window functions. The result is
//! the query's output schema, or errors located at a line and column of the query.
//!
//! Only what pipewright can type is accepted; anything else is an error, never a
//! silent pass: one `SELECT` (optionally with `WITH` and sub-queries in `FROM`),
//! inner and left joins with `ON`/`USING`, `WHERE`, `GROUP BY`, `HAVING`, and the
//! functions of `funcs.rs`.

mod expr;
mod funcs;
mod per_date;
mod relations;

use sqlparser::ast::{
    GroupByExpr, JoinConstraint, JoinOperator, Query, Select, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, Spanned, Statement, TableFactor, TableWithJoins,
};
use sqlparser::dialect::DatabricksDialect;
use sqlparser::parser::{Parser, ParserError};

pub use per_date::per_date;
pub use relations::{
    ENVELOPE, event_columns, output_schema, projection_type, relations_of, writer_of,
};

use crate::spec::event_schema::ColumnType;
use expr::{Mode, Typer};

/// A named input of a query and its typed columns.
#[derive(Debug, Clone)]
pub struct Relation {
    pub name: String,
    pub columns: Vec<(String, ColumnType)>,
}

/// A problem at a place in the query text (1-based line and character column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError {
    pub code: &'static str,
    pub msg: String,
    pub help: Option<String>,
    pub line: usize,
    pub col: usize,
}

impl SqlError {
    pub(crate) fn at(
        code: &'static str,
        span: sqlparser::tokenizer::Span,
        msg: impl Into<String>,
    ) -> Self {
        SqlError {
            code,
            msg: msg.into(),
            help: None,
            line: (span.start.line as usize).max(1),
            col: (span.start.column as usize).max(1),
        }
    }

    pub(crate) fn help(mut self, h: impl Into<String>) -> Self {
        self.help = Some(h.into());
        self
    }
}

/// Columns in scope: each with the relation (or alias) it belongs to.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    pub rels: Vec<(String, Vec<(String, ColumnType)>)>,
    /// A relation in scope is unknown (reported): unknown columns are not reported too.
    pub poisoned: bool,
}

/// The condition of an inner or left join; `None` for the joins not supported.
pub(crate) fn inner_or_left(op: &JoinOperator) -> Option<&JoinConstraint> {
    match op {
        JoinOperator::Join(c)
        | JoinOperator::Inner(c)
        | JoinOperator::Left(c)
        | JoinOperator::LeftOuter(c) => Some(c),
        _ => None,
    }
}

/// Parses and resolves `sql`; returns its output columns in order.
pub fn resolve(
    sql: &str,
    relations: &[Relation],
) -> Result<Vec<(String, ColumnType)>, Vec<SqlError>> {
    let stmts = match Parser::parse_sql(&DatabricksDialect {}, sql) {
        Ok(s) => s,
        Err(e) => return Err(vec![syntax(e, sql)]),
    };
    let query = match stmts.as_slice() {
        [Statement::Query(q)] => q,
        [] => {
            return Err(vec![SqlError {
                code: "PW0251",
                msg: "the query is empty".into(),
                help: Some("write one `SELECT ...`".into()),
                line: 1,
                col: 1,
            }]);
        }
        [other] => {
            return Err(vec![SqlError::at(
                "PW0256",
                other.span(),
                "only a query (`SELECT ...`) can define a transform",
            )]);
        }
        [_, second, ..] => {
            return Err(vec![
                SqlError::at(
                    "PW0256",
                    second.span(),
                    "a transform's `sql` is one query, not several statements",
                )
                .help("remove the `;` and what follows"),
            ]);
        }
    };
    let mut r = Resolver {
        relations: relations.to_vec(),
        errors: Vec::new(),
        partial: Vec::new(),
    };
    let out = r.query(query);
    if r.errors.is_empty() {
        Ok(out.unwrap_or_default())
    } else {
        Err(r.errors)
    }
}

/// A parse error: sqlparser says "... at Line: L, Column: C", or nothing at the end
/// of the text, which is then where it points.
fn syntax(e: ParserError, sql: &str) -> SqlError {
    let text = match &e {
        ParserError::TokenizerError(s) | ParserError::ParserError(s) => s.clone(),
        ParserError::RecursionLimitExceeded => "the query nests too deeply".into(),
    };
    let (msg, line, col) = match text.rfind(" at Line: ") {
        Some(i) => {
            let rest = &text[i + " at Line: ".len()..];
            let mut parts = rest.split(", Column: ");
            let line = parts
                .next()
                .and_then(|l| l.trim().parse().ok())
                .unwrap_or(1);
            let col = parts
                .next()
                .and_then(|c| c.trim().parse().ok())
                .unwrap_or(1);
            (text[..i].to_owned(), line, col)
        }
        None => {
            let body = sql.trim_end();
            let line = body.matches('\n').count() + 1;
            let col = body.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            (text, line, col)
        }
    };
    SqlError {
        code: "PW0251",
        msg: format!("SQL syntax error: {msg}"),
        help: None,
        line,
        col,
    }
}

pub(crate) struct Resolver {
    pub relations: Vec<Relation>,
    pub errors: Vec<SqlError>,
    /// `WITH` names whose columns are only partly known (errors inside them).
    pub partial: Vec<String>,
}

impl Resolver {
    pub(crate) fn err(&mut self, e: SqlError) {
        self.errors.push(e);
    }

    /// A query: `WITH` relations, then its body. `None` when its columns are unknown.
    fn query(&mut self, q: &Query) -> Option<Vec<(String, ColumnType)>> {
        let before = self.relations.len();
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                let cols = self.query(&cte.query);
                if cols.is_none() {
                    self.partial.push(cte.alias.name.value.to_lowercase());
                }
                let cols = cols.unwrap_or_default();
                self.relations.push(Relation {
                    name: cte.alias.name.value.to_lowercase(),
                    columns: cols,
                });
            }
        }
        if let Some(o) = &q.order_by {
            self.err(
                SqlError::at("PW0256", o.span(), "`ORDER BY` has no effect on a dataset").help(
                    "order rows inside a window (`OVER (ORDER BY ...)`) or when reading the table",
                ),
            );
        }
        if let Some(l) = &q.limit_clause {
            self.err(
                SqlError::at(
                    "PW0256",
                    l.span(),
                    "`LIMIT` is not supported in a transform",
                )
                .help("a run recomputes whole partitions; a limit would drop rows at random"),
            );
        }
        let out = match q.body.as_ref() {
            SetExpr::Select(s) => self.select(s),
            SetExpr::Query(inner) => self.query(inner),
            other => {
                self.err(SqlError::at(
                    "PW0256",
                    other.span(),
                    "only `SELECT` queries are supported (not UNION, VALUES, ...)",
                ));
                None
            }
        };
        self.relations.truncate(before);
        out
    }

    fn select(&mut self, s: &Select) -> Option<Vec<(String, ColumnType)>> {
        let mut scope = Scope::default();
        match s.from.as_slice() {
            [] => {}
            [one] => self.from(one, &mut scope),
            [_, second, ..] => {
                self.err(
                    SqlError::at(
                        "PW0256",
                        second.span(),
                        "a comma join (cross join) is not supported",
                    )
                    .help("write `JOIN ... ON ...`"),
                );
                return None;
            }
        }
        if s.distinct.is_some()
            || s.top.is_some()
            || !s.lateral_views.is_empty()
            || s.qualify.is_some()
            || !s.named_window.is_empty()
            || !s.cluster_by.is_empty()
            || !s.distribute_by.is_empty()
            || !s.sort_by.is_empty()
        {
            self.err(SqlError::at("PW0256", s.span(), "DISTINCT, TOP, LATERAL VIEW, QUALIFY, WINDOW, CLUSTER/DISTRIBUTE/SORT BY are not supported here")
                .help("use `GROUP BY` for distinct rows, and an inline `OVER (...)` for windows"));
        }
        if let Some(w) = &s.selection {
            let mut t = Typer::new(self, &scope, Mode::Row);
            t.no_aggregates = true;
            let ty = t.ty(w);
            t.expect_bool(w, ty, "`WHERE`");
        }
        let groups: Vec<sqlparser::ast::Expr> = match &s.group_by {
            GroupByExpr::Expressions(g, m) if m.is_empty() => self.group_exprs(g, s),
            GroupByExpr::Expressions(_, _) | GroupByExpr::All(_) => {
                self.err(
                    SqlError::at(
                        "PW0256",
                        s.span(),
                        "`GROUP BY ALL`, ROLLUP, CUBE and GROUPING SETS are not supported",
                    )
                    .help("list the grouping columns"),
                );
                return None;
            }
        };
        for g in &groups {
            let mut t = Typer::new(self, &scope, Mode::Row);
            t.no_aggregates = true;
            t.ty(g);
        }
        let aggregated = !groups.is_empty()
            || s.having.is_some()
            || s.projection.iter().any(|p| match p {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    expr::has_aggregate(e)
                }
                _ => false,
            });
        let mode = if aggregated {
            Mode::Grouped(&groups)
        } else {
            Mode::Row
        };
        if let Some(h) = &s.having {
            let mut t = Typer::new(self, &scope, mode);
            let ty = t.ty(h);
            t.expect_bool(h, ty, "`HAVING`");
        }
        self.projection(s, &scope, mode)
    }

    /// `GROUP BY` items, with ordinals (`GROUP BY 1`) and output aliases replaced by
    /// the select item they name, as Spark does.
    fn group_exprs(&mut self, g: &[sqlparser::ast::Expr], s: &Select) -> Vec<sqlparser::ast::Expr> {
        use sqlparser::ast::{Expr, Value};
        g.iter()
            .map(|e| {
                if let Expr::Value(v) = e
                    && let Value::Number(n, _) = &v.value
                {
                    let item = n.parse::<usize>().ok().and_then(|i| i.checked_sub(1)).and_then(|i| s.projection.get(i));
                    return match item {
                        Some(SelectItem::UnnamedExpr(x) | SelectItem::ExprWithAlias { expr: x, .. }) => x.clone(),
                        _ => {
                            self.err(SqlError::at("PW0253", e.span(), format!("`GROUP BY {n}` names no select item")));
                            e.clone()
                        }
                    };
                }
                if let Expr::Identifier(id) = e {
                    for item in &s.projection {
                        if let SelectItem::ExprWithAlias { expr, alias } = item
                            && alias.value.eq_ignore_ascii_case(&id.value)
                            && !matches!(expr, Expr::Identifier(i) if i.value.eq_ignore_ascii_case(&id.value))
                        {
                            return expr.clone();
                        }
                    }
                }
                e.clone()
            })
            .collect()
    }

    fn projection(
        &mut self,
        s: &Select,
        scope: &Scope,
        mode: Mode<'_>,
    ) -> Option<Vec<(String, ColumnType)>> {
        let mut out: Vec<(String, ColumnType)> = Vec::new();
        let mut known = true;
        for item in &s.projection {
            match item {
                SelectItem::Wildcard(_) => {
                    out.extend(scope.rels.iter().flat_map(|(_, c)| c.iter().cloned()))
                }
                SelectItem::QualifiedWildcard(
                    SelectItemQualifiedWildcardKind::ObjectName(n),
                    _,
                ) => {
                    let q = n.to_string().to_lowercase();
                    match scope.rels.iter().find(|(r, _)| *r == q) {
                        Some((_, cols)) => out.extend(cols.iter().cloned()),
                        None => {
                            let names: Vec<&str> =
                                scope.rels.iter().map(|(r, _)| r.as_str()).collect();
                            self.err(relations::unknown("relation", &q, &names, n.span()));
                        }
                    }
                }
                SelectItem::QualifiedWildcard(k, _) => {
                    self.err(SqlError::at(
                        "PW0256",
                        k.span(),
                        "this wildcard is not supported",
                    ));
                }
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    let ty = Typer::new(self, scope, mode).ty(e);
                    let name = match item {
                        SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.clone()),
                        _ => expr::natural_name(e),
                    };
                    let Some(name) = name else {
                        self.err(
                            SqlError::at("PW0258", e.span(), "this output column has no name")
                                .help("name it: `... AS column_name`"),
                        );
                        continue;
                    };
                    match ty.and_then(expr::Ty::column) {
                        Some(t) => out.push((name, t)),
                        None => known = false,
                    }
                }
            }
        }
        known.then_some(out)
    }

    /// `FROM` with its joins: each relation joins the scope under its alias.
    fn from(&mut self, t: &TableWithJoins, scope: &mut Scope) {
        self.factor(&t.relation, scope);
        for j in &t.joins {
            // Every output column is nullable, so a left join changes no type.
            let constraint = match inner_or_left(&j.join_operator) {
                Some(c) => c,
                None => {
                    self.err(
                        SqlError::at(
                            "PW0256",
                            j.relation.span(),
                            "only inner and left joins are supported",
                        )
                        .help("write `JOIN ... ON ...` or `LEFT JOIN ... ON ...`"),
                    );
                    continue;
                }
            };
            let left_scope = scope.clone();
            self.factor(&j.relation, scope);
            match constraint {
                JoinConstraint::On(e) => {
                    let mut t = Typer::new(self, scope, Mode::Row);
                    t.no_aggregates = true;
                    let ty = t.ty(e);
                    t.expect_bool(e, ty, "a join condition");
                }
                JoinConstraint::Using(cols) => {
                    for c in cols {
                        let name = c.to_string().to_lowercase();
                        let right = scope
                            .rels
                            .last()
                            .map(|(_, cs)| cs.iter().any(|(n, _)| *n == name))
                            .unwrap_or(false);
                        let l = left_scope
                            .rels
                            .iter()
                            .any(|(_, cs)| cs.iter().any(|(n, _)| *n == name));
                        if !(right && l) {
                            self.err(SqlError::at(
                                "PW0253",
                                c.span(),
                                format!("`USING ({name})` needs a column `{name}` on both sides"),
                            ));
                        }
                    }
                }
                _ => {
                    self.err(
                        SqlError::at(
                            "PW0256",
                            j.relation.span(),
                            "a join needs `ON ...` or `USING (...)`",
                        )
                        .help("cross and natural joins are not supported"),
                    );
                }
            }
        }
    }

    fn factor(&mut self, f: &TableFactor, scope: &mut Scope) {
        match f {
            TableFactor::Table {
                name,
                alias,
                args: None,
                ..
            } => {
                let n = name.to_string().to_lowercase();
                let shown = alias
                    .as_ref()
                    .map_or_else(|| n.clone(), |a| a.name.value.to_lowercase());
                match self.relations.iter().rev().find(|r| r.name == n) {
                    Some(r) => {
                        scope.poisoned |= self.partial.contains(&n);
                        scope.rels.push((shown, r.columns.clone()));
                    }
                    None => {
                        let names: Vec<String> =
                            self.relations.iter().map(|r| r.name.clone()).collect();
                        let names: Vec<&str> = names.iter().map(String::as_str).collect();
                        let e = relations::unknown("relation", &n, &names, name.span());
                        let e = if e.help.is_some() {
                            e
                        } else {
                            e.help(format!(
                                "a query reads the transform's `inputs` by name{}",
                                relations::hint(&n, &names)
                            ))
                        };
                        self.err(e);
                        scope.rels.push((shown, Vec::new()));
                        scope.poisoned = true;
                    }
                }
            }
            TableFactor::Derived {
                subquery,
                alias: Some(a),
                lateral: false,
                ..
            } => {
                let cols = self.query(subquery);
                scope.poisoned |= cols.is_none();
                scope
                    .rels
                    .push((a.name.value.to_lowercase(), cols.unwrap_or_default()));
            }
            TableFactor::Derived { subquery, .. } => {
                self.err(SqlError::at(
                    "PW0256",
                    subquery.span(),
                    "a sub-query in `FROM` needs an alias: `(...) AS name`",
                ));
            }
            other => {
                self.err(SqlError::at(
                    "PW0256",
                    other.span(),
                    "only inputs, `WITH` names and sub-queries can be read in `FROM`",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests;
