//! Text artefacts rendered with handlebars: the Glue job script of each transform.
//! Templates live in `templates/` and are embedded at build time; rendering is
//! strict (a missing field is an error) and never HTML-escapes. Values reach the
//! Python template already written as Python literals.

use std::collections::BTreeMap;

use handlebars::Handlebars;
use serde_json::{Value, json};

use crate::plan::{Plan, TransformPlan};

const GLUE_TEMPLATE: &str = include_str!("../../templates/glue/transform.py.hbs");
const SQL_TEMPLATE: &str = include_str!("../../templates/glue/sql.py.hbs");

fn registry() -> Handlebars<'static> {
    let mut h = Handlebars::new();
    h.set_strict_mode(true);
    h.register_escape_fn(handlebars::no_escape);
    h.register_template_string("glue", GLUE_TEMPLATE)
        .expect("the Glue template parses");
    h.register_template_string("sql", SQL_TEMPLATE)
        .expect("the SQL Glue template parses");
    h
}

/// A JSON value written as a Python literal (`null` → `None`, ...), with sorted keys.
pub fn py_literal(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => serde_json::to_string(s).expect("strings serialise"),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(py_literal).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(o) => {
            let mut items: Vec<(&String, &Value)> = o.iter().collect();
            items.sort_by(|a, b| a.0.cmp(b.0));
            format!(
                "{{{}}}",
                items
                    .iter()
                    .map(|(k, v)| format!(
                        "{}: {}",
                        py_literal(&Value::String((*k).clone())),
                        py_literal(v)
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    }
}

/// A nested read schema under construction: field → (type or children).
#[derive(Default)]
struct Tree(BTreeMap<String, Node>);

enum Node {
    Leaf(String),
    Branch(Tree),
}

impl Tree {
    fn insert(&mut self, path: &[&str], ty: String) {
        match path {
            [] => {}
            [last] => {
                self.0.entry((*last).to_owned()).or_insert(Node::Leaf(ty));
            }
            [first, rest @ ..] => {
                let e = self
                    .0
                    .entry((*first).to_owned())
                    .or_insert_with(|| Node::Branch(Tree::default()));
                if let Node::Branch(t) = e {
                    t.insert(rest, ty);
                }
            }
        }
    }

    fn ddl(&self, top: bool) -> String {
        let fields: Vec<String> = self
            .0
            .iter()
            .map(|(k, n)| {
                let ty = match n {
                    Node::Leaf(t) => t.clone(),
                    Node::Branch(t) => format!("STRUCT<{}>", t.ddl(false)),
                };
                if top {
                    format!("`{k}` {ty}")
                } else {
                    format!("`{k}`: {ty}")
                }
            })
            .collect();
        fields.join(", ")
    }
}

/// The column type as read from JSON: scalars as strings (cast and checked later),
/// lists and objects with their full type.
fn read_type(ty: &str) -> String {
    if ty.starts_with("array<") || ty.starts_with("struct<") {
        ty.to_owned()
    } else {
        "STRING".to_owned()
    }
}

/// What both Glue templates are given: the transform's names, its output, its
/// inputs' read schemas (`sources`) and its typed columns, as Python literals.
fn template_data(
    plan: &Plan,
    t: &TransformPlan,
    sources: serde_json::Map<String, Value>,
) -> serde_json::Map<String, Value> {
    let columns: Vec<Value> = t
        .columns
        .iter()
        .map(|c| json!([c.name, c.ty, c.nullable]))
        .collect();
    let data = json!({
        "name": t.name,
        "dataset": t.dataset,
        "sources_text": t.inputs.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", "),
        "py_name": py_literal(&json!(t.name)),
        "py_dataset": py_literal(&json!(t.dataset)),
        "py_prefix": py_literal(&json!(t.prefix)),
        "py_compression": py_literal(&json!(plan.compression.as_str())),
        "py_partition_by": py_literal(&json!(t.partition_by)),
        "py_sources": py_literal(&Value::Object(sources)),
        "py_columns": py_literal(&Value::Array(columns)),
    });
    match data {
        Value::Object(m) => m,
        _ => unreachable!("a JSON object literal"),
    }
}

/// The Glue script of a SQL transform: each input a temporary view, the query over
/// them, the result cast to the inferred columns.
fn sql_script(plan: &Plan, t: &TransformPlan, sql: &str) -> String {
    let mut sources = serde_json::Map::new();
    for (input, cols) in &t.source_columns {
        let src = &plan.ingest_config.sources[input];
        let mut tree = Tree::default();
        for c in cols {
            tree.insert(&[c.name.as_str()], read_type(&c.ty));
        }
        for f in [&src.id_field, &src.time_field].into_iter().flatten() {
            tree.insert(&f.split('.').collect::<Vec<_>>(), "STRING".into());
        }
        let typed: Vec<Value> = cols.iter().map(|c| json!([c.name, c.ty])).collect();
        sources.insert(
            input.clone(),
            json!({"schema": tree.ddl(true), "columns": typed, "id": src.id_field, "time": src.time_field}),
        );
    }
    let mut data = template_data(plan, t, sources);
    data.insert(
        "py_datasets".into(),
        py_literal(&json!(t.dataset_inputs)).into(),
    );
    data.insert("py_sql".into(), py_literal(&json!(sql)).into());
    registry()
        .render("sql", &data)
        .expect("the SQL Glue template renders with complete data")
}

/// The Glue script of one transform.
pub fn glue_script(plan: &Plan, t: &TransformPlan) -> String {
    if let Some(sql) = &t.sql {
        return sql_script(plan, t, sql);
    }
    let mut sources = serde_json::Map::new();
    for input in &t.inputs {
        let src = &plan.ingest_config.sources[input];
        let mut tree = Tree::default();
        let mut columns = serde_json::Map::new();
        for c in &t.columns {
            tree.insert(&c.from.split('.').collect::<Vec<_>>(), read_type(&c.ty));
            columns.insert(c.name.clone(), json!(c.from));
        }
        for f in [&src.id_field, &src.time_field].into_iter().flatten() {
            tree.insert(&f.split('.').collect::<Vec<_>>(), "STRING".into());
        }
        sources.insert(
            input.clone(),
            json!({
                "schema": tree.ddl(true),
                "id": src.id_field,
                "time": src.time_field,
                "columns": columns,
            }),
        );
    }
    // The column every input fills from its event id: rows already in the dataset
    // are recognised by it on later runs.
    let id_column = t
        .columns
        .iter()
        .find(|c| {
            t.inputs
                .iter()
                .all(|i| plan.ingest_config.sources[i].id_field.as_deref() == Some(c.from.as_str()))
        })
        .map(|c| c.name.clone());
    let mut data = template_data(plan, t, sources);
    data.insert("py_id_column".into(), py_literal(&json!(id_column)).into());
    registry()
        .render("glue", &data)
        .expect("the Glue template renders with complete data")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_literals() {
        assert_eq!(
            py_literal(&json!({"b": null, "a": [true, 1, "x\"y"]})),
            r#"{"a": [True, 1, "x\"y"], "b": None}"#
        );
    }

    #[test]
    fn nested_read_schema() {
        let mut t = Tree::default();
        t.insert(&["payment", "method"], "STRING".into());
        t.insert(&["payment", "card"], "STRING".into());
        t.insert(&["id"], "STRING".into());
        assert_eq!(
            t.ddl(true),
            "`id` STRING, `payment` STRUCT<`card`: STRING, `method`: STRING>"
        );
    }
}
