//! The relations a SQL transform reads: each input by name, a source as its typed
//! event fields plus the envelope columns, a dataset as the output columns of the
//! transform that writes it (resolved through its own query when it has one).

use std::collections::BTreeMap;

use super::{Relation, SqlError, resolve};
use crate::spec::event_schema::{self, ColumnType};
use crate::spec::model::{Column, Transform};
use crate::spec::shape::did_you_mean;
use crate::spec::{LoadedSchema, Spec};

/// Columns every source relation has besides its event fields (when the source
/// declares an event time, for the first two), as the projection path derives them.
pub const ENVELOPE: &[(&str, ColumnType)] = &[
    ("event_date", ColumnType::Date),
    ("event_hour", ColumnType::String),
    ("ingest_date", ColumnType::String),
];

/// "`x` is not defined" with a suggestion, located at `span`.
pub(crate) fn unknown(
    what: &str,
    name: &str,
    known: &[&str],
    span: sqlparser::tokenizer::Span,
) -> SqlError {
    let e = SqlError::at("PW0253", span, format!("unknown {what} `{name}`"));
    let e = if what == "relation" {
        SqlError {
            code: "PW0252",
            ..e
        }
    } else {
        e
    };
    match did_you_mean(name, known.iter().copied()) {
        Some(s) => e.help(format!("did you mean `{s}`?")),
        None if known.is_empty() => e,
        None if known.len() <= 12 => e.help(format!(
            "known: {}",
            known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        None => e,
    }
}

/// A suffix for the unknown-relation help naming the inputs.
pub(crate) fn hint(_name: &str, known: &[&str]) -> String {
    if known.is_empty() {
        String::new()
    } else {
        format!(
            " ({})",
            known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// The transform that writes dataset `d`.
pub fn writer_of<'s>(spec: &'s Spec, d: &str) -> Option<(&'s str, &'s Transform)> {
    spec.transforms
        .iter()
        .find(|(n, t)| t.dataset.as_deref().unwrap_or(n.as_str()) == d)
        .map(|(n, t)| (n.as_str(), t))
}

/// The relations of `t`'s inputs whose columns are known, in input order.
pub fn relations_of(
    spec: &Spec,
    schemas: &BTreeMap<String, LoadedSchema>,
    t: &Transform,
) -> Vec<Relation> {
    relations_at(spec, schemas, t, spec.transforms.len())
}

fn relations_at(
    spec: &Spec,
    schemas: &BTreeMap<String, LoadedSchema>,
    t: &Transform,
    depth: usize,
) -> Vec<Relation> {
    let mut out = Vec::new();
    for input in &t.inputs {
        if let Some(src) = spec.sources.get(input) {
            let Some(schema) = schemas.get(input) else {
                continue;
            };
            if !event_schema::problems(&schema.value).is_empty() {
                continue;
            }
            let mut columns: Vec<(String, ColumnType)> = event_columns(&schema.value)
                .into_iter()
                .map(|(k, t)| (k.to_lowercase(), t))
                .collect();
            for (name, ty) in ENVELOPE {
                let timed = *name == "ingest_date" || src.fields.time.is_some();
                if timed && !columns.iter().any(|(c, _)| c == name) {
                    columns.push(((*name).to_owned(), ty.clone()));
                }
            }
            out.push(Relation {
                name: input.clone(),
                columns,
            });
        } else if let Some((w, _)) = writer_of(spec, input)
            && depth > 0
            && let Some(columns) = schema_at(spec, schemas, w, depth - 1)
        {
            out.push(Relation {
                name: input.clone(),
                columns,
            });
        }
    }
    out
}

/// The top-level fields of an event schema that have a column type, as written.
pub fn event_columns(schema: &serde_json::Value) -> Vec<(String, ColumnType)> {
    event_schema::properties(schema, schema)
        .into_iter()
        .filter_map(|(k, s, _)| {
            event_schema::column_type(schema, s)
                .ok()
                .map(|t| (k.to_owned(), t))
        })
        .collect()
}

/// A projection column's type: its declared `type`, else its field's in the first
/// input's event schema; `None` when neither is known (an error check reports).
pub fn projection_type(
    schemas: &BTreeMap<String, LoadedSchema>,
    t: &Transform,
    c: &Column,
) -> Option<ColumnType> {
    let declared = c.ty.as_deref().and_then(|s| ColumnType::parse(s).ok());
    declared.or_else(|| {
        let s = schemas.get(t.inputs.first()?)?;
        let f = event_schema::field(&s.value, c.from.as_deref().unwrap_or(&c.name)).ok()?;
        event_schema::column_type(&s.value, f.schema).ok()
    })
}

/// The output columns of transform `name` (its query's, or its projection's with
/// the derived partitions), or `None` when they cannot be known (errors elsewhere).
pub fn output_schema(
    spec: &Spec,
    schemas: &BTreeMap<String, LoadedSchema>,
    name: &str,
) -> Option<Vec<(String, ColumnType)>> {
    schema_at(spec, schemas, name, spec.transforms.len())
}

fn schema_at(
    spec: &Spec,
    schemas: &BTreeMap<String, LoadedSchema>,
    name: &str,
    depth: usize,
) -> Option<Vec<(String, ColumnType)>> {
    let t = spec.transforms.get(name)?;
    if let Some(sql) = &t.sql {
        let rels = relations_at(spec, schemas, t, depth);
        return resolve(sql, &rels).ok();
    }
    let mut out: Vec<(String, ColumnType)> = t
        .columns
        .iter()
        .map(|c| {
            let ty = projection_type(schemas, t, c).unwrap_or(ColumnType::String);
            (c.name.clone(), ty)
        })
        .collect();
    for p in &t.partition_by {
        if let Some((n, ty)) = ENVELOPE.iter().find(|(n, _)| n == p) {
            out.push(((*n).to_owned(), ty.clone()));
        }
    }
    Some(out)
}
