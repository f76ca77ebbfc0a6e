//! Rules for a transform defined by `sql`: its inputs may be datasets, its query
//! must resolve against them (every problem located inside the query), and its
//! output columns must be valid dataset columns, partitioned by `event_date`.

use super::context::{Ctx, code_list, pi, under};
use super::formats::is_ident;
use crate::spec::event_schema::ColumnType;
use crate::spec::model::Transform;
use crate::spec::shape::did_you_mean;
use crate::spec::sql::{self, SqlError};
use crate::spec::yaml::Seg;

/// Most problems reported, with their location, per query.
const MAX_ERRORS: usize = 20;

/// Checks the query of transform `name`; returns its output columns when it resolves.
pub(super) fn query(
    cx: &mut Ctx<'_>,
    name: &str,
    t: &Transform,
    q: &str,
) -> Option<Vec<(String, ColumnType)>> {
    let at = under(&super::context::p(&["transforms", name]), &["sql"]);
    let rels = sql::relations_of(cx.spec, cx.schemas, t);
    let missing = t.inputs.iter().any(|i| !rels.iter().any(|r| &r.name == i));
    match sql::resolve(q, &rels) {
        Ok(out) => {
            outputs(cx, &at, q, &out);
            for e in sql::per_date(q).iter().take(MAX_ERRORS) {
                located(cx, &at, q, e);
            }
            Some(out)
        }
        Err(errors) => {
            // An input whose columns are unknown was reported where it is defined.
            let shown: Vec<&SqlError> = errors
                .iter()
                .filter(|e| !(missing && matches!(e.code, "PW0253" | "PW0252")))
                .collect();
            // Locating an error walks the query: a bounded number keeps a huge,
            // broken query linear.
            for e in shown.iter().take(MAX_ERRORS) {
                located(cx, &at, q, e);
            }
            if shown.len() > MAX_ERRORS {
                cx.err(
                    shown[MAX_ERRORS].code,
                    &at,
                    format!(
                        "{} more problems in this query are not shown",
                        shown.len() - MAX_ERRORS
                    ),
                );
            }
            None
        }
    }
}

/// Reports `e` at its line and column inside the query.
fn located(cx: &mut Ctx<'_>, at: &[Seg], q: &str, e: &SqlError) {
    let index: usize = q
        .split('\n')
        .take(e.line - 1)
        .map(|l| l.chars().count() + 1)
        .sum::<usize>()
        + e.col
        - 1;
    let span = cx.doc.span_in_scalar(at, q, index);
    let d = cx.err_at(e.code, at, span, e.msg.clone());
    if let Some(h) = &e.help {
        d.help(h.clone());
    }
}

/// Output columns: dataset column names, once each.
fn outputs(cx: &mut Ctx<'_>, at: &[Seg], q: &str, out: &[(String, ColumnType)]) {
    let mut seen: Vec<&str> = Vec::new();
    for (n, _) in out {
        let bad = if !is_ident(n, 128) {
            Some(format!(
                "output column `{n}` is not a valid dataset column name"
            ))
        } else if seen.contains(&n.as_str()) || n == "source" {
            Some(format!(
                "output column `{n}` appears twice (or clashes with `source`)"
            ))
        } else {
            None
        };
        if let Some(msg) = bad {
            let index = q
                .find(n.as_str())
                .map(|b| q[..b].chars().count())
                .unwrap_or(0);
            let span = cx.doc.span_in_scalar(at, q, index);
            cx.err_at("PW0258", at, span, msg)
                .help("name each output column with `AS name`: lower-case letters, digits and `_`, unique");
        }
        seen.push(n);
    }
}

/// `partition_by` of a SQL transform: output columns of a scalar type, `event_date` among them.
pub(super) fn partitions(
    cx: &mut Ctx<'_>,
    name: &str,
    t: &Transform,
    out: &[(String, ColumnType)],
) {
    let names: Vec<&str> = out.iter().map(|(n, _)| n.as_str()).collect();
    for (i, part) in t.partition_by.iter().enumerate() {
        let pp = pi(&["transforms", name, "partition_by"], i);
        match out.iter().find(|(n, _)| n == part) {
            None => {
                cx.err(
                    "PW0218",
                    &pp,
                    format!("`{part}` is not an output column of the query"),
                )
                .help(match did_you_mean(part, names.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("the query outputs {}", code_list(&names)),
                });
            }
            Some((_, ColumnType::Array(_) | ColumnType::Struct(_))) => {
                cx.err(
                    "PW0218",
                    &pp,
                    format!("`{part}` is a list or object and cannot partition a dataset"),
                );
            }
            Some(_) => {}
        }
    }
    let base = super::context::p(&["transforms", name]);
    let has_date = out
        .iter()
        .any(|(n, ty)| n == "event_date" && *ty == ColumnType::Date);
    if !has_date || !t.partition_by.iter().any(|p| p == "event_date") {
        let at = if t.partition_by.is_empty() {
            base
        } else {
            under(&base, &["partition_by"])
        };
        cx.err("PW0260", &at, format!("SQL transform `{name}` must output a date column `event_date` and be partitioned by it"))
            .help("select the inputs' `event_date` (and group by it): each run recomputes the dates that new events touch and replaces those partitions");
        if t.partition_by.is_empty() {
            cx.at_key(&super::context::p(&["transforms", name]));
        }
    }
}
