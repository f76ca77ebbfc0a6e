//! Shape validation: the loaded value against the spec's own JSON Schema (the one
//! `pipewright schema` prints), all errors at once, each mapped to a positioned
//! diagnostic with a hint.
//!
//! After reporting, the value is made deserialisable where possible by dropping the
//! entries that are broken (a source with a bad key, say), so that semantic
//! validation can still report problems elsewhere in the same run.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use jsonschema::ValidationError;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use serde_json::Value;

use super::Spec;
use super::fmt_path;
use super::yaml::{Doc, MarkedKind, Seg};
use crate::diag::{Diagnostic, Span};

/// The JSON Schema of the spec language (what `pipewright schema` prints).
pub fn json_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let schema = schemars::schema_for!(Spec);
        serde_json::to_value(schema).expect("schema serialises")
    })
}

fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| jsonschema::validator_for(json_schema()).expect("the spec schema compiles"))
}

/// The outcome of shape validation.
pub struct Shaped {
    pub doc: Doc,
    pub spec: Option<Spec>,
    /// Entries dropped because they are malformed, as `sources.name` / `analytics`.
    pub broken: BTreeSet<String>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Most shape errors described in one run (the rest are counted).
const MAX_SHAPE_ERRORS: usize = 200;

const MAP_SECTIONS: &[&str] = &["sources", "transforms", "environments"];
const REQUIRED_TOP: &[&str] = &["version", "name", "owner", "environments", "sources"];

pub fn check(mut doc: Doc) -> Shaped {
    coerce_plain_scalars(&mut doc);
    let errors: Vec<(Vec<Seg>, ValidationErrorKind)> = validator()
        .iter_errors(&doc.value)
        .map(|e| (to_segs(e.instance_path().iter()), e.into_parts().kind))
        .collect();
    let mut diagnostics = Vec::new();
    for (path, kind) in errors.iter().take(MAX_SHAPE_ERRORS) {
        describe(&doc, path, kind, &mut diagnostics);
    }
    if errors.len() > MAX_SHAPE_ERRORS {
        diagnostics.push(Diagnostic::error(
            "PW0108",
            format!(
                "{} more shape errors are not shown",
                errors.len() - MAX_SHAPE_ERRORS
            ),
        ));
    }
    // Make the value deserialisable by dropping broken entries.
    let mut value = doc.value.clone();
    let mut broken = BTreeSet::new();
    let mut fatal = false;
    for (path, kind) in &errors {
        match path.as_slice() {
            [] => match kind {
                ValidationErrorKind::AdditionalProperties { unexpected } => {
                    for k in unexpected {
                        value.as_object_mut().map(|o| o.remove(k));
                    }
                }
                _ => fatal = true,
            },
            [Seg::Key(top), Seg::Key(name), ..] if MAP_SECTIONS.contains(&top.as_str()) => {
                if let Some(m) = value.get_mut(top).and_then(Value::as_object_mut) {
                    m.remove(name);
                }
                broken.insert(format!("{top}.{name}"));
            }
            [Seg::Key(top), ..] if !REQUIRED_TOP.contains(&top.as_str()) => {
                value.as_object_mut().map(|o| o.remove(top));
                broken.insert(top.clone());
            }
            _ => fatal = true,
        }
    }
    let spec = if fatal {
        None
    } else {
        match serde_path_to_error::deserialize::<_, Spec>(value) {
            Ok(spec) => Some(spec),
            Err(e) => {
                // The schema admits what the model cannot hold (an integer past its type's
                // range, say): say so rather than leave the spec unread without a word.
                diagnostics.push(unreadable(&doc, &e));
                None
            }
        }
    };
    Shaped {
        doc,
        spec,
        broken,
        diagnostics,
    }
}

/// A value the schema accepts but the spec's model cannot hold, where it is.
fn unreadable(doc: &Doc, e: &serde_path_to_error::Error<serde_json::Error>) -> Diagnostic {
    let path: Vec<Seg> = e
        .path()
        .iter()
        .filter_map(|s| match s {
            serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
            serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
            _ => None,
        })
        .collect();
    let mut d = Diagnostic::error("PW0108", format!("{}", e.inner()))
        .at_opt(doc.span_of(&path))
        .help(
            "integers must fit their field (counts and days are 32-bit; see `pipewright schema`)",
        );
    if !path.is_empty() {
        d = d.note(format!("in `{}`", fmt_path(&path)));
    }
    d
}

fn to_segs<'a>(it: impl Iterator<Item = LocationSegment<'a>>) -> Vec<Seg> {
    it.map(|s| match s {
        LocationSegment::Property(p) => Seg::Key(p.into_owned()),
        LocationSegment::Index(i) => Seg::Index(i),
    })
    .collect()
}

/// Where the schema expects a string and the YAML has a plain scalar that resolved to
/// a number, bool or null, use the text as written (`account: 012345678901` keeps its
/// leading zero; `version: 1.10` stays `1.10`).
fn coerce_plain_scalars(doc: &mut Doc) {
    // One pass: coercing a scalar to its text can only remove type errors.
    let fixes: Vec<(Vec<Seg>, String)> = validator()
        .iter_errors(&doc.value)
        .filter_map(|e| {
            let ValidationErrorKind::Type { kind } = e.kind() else {
                return None;
            };
            let wants_string = match kind {
                TypeKind::Single(t) => t.to_string() == "string",
                TypeKind::Multiple(ts) => ts.iter().any(|t| t.to_string() == "string"),
            };
            if !wants_string {
                return None;
            }
            let path = to_segs(e.instance_path().iter());
            let (node, _) = doc.lookup(&path)?;
            let raw = node.raw.as_deref()?;
            if raw.is_empty() || raw == "~" {
                return None; // an empty value is a missing value, not the string ""
            }
            Some((path, raw.to_owned()))
        })
        .collect();
    for (path, raw) in fixes {
        if let Some(v) = value_at_mut(&mut doc.value, &path) {
            *v = Value::String(raw);
        }
    }
}

fn value_at_mut<'a>(mut v: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    for seg in path {
        v = match seg {
            Seg::Key(k) => v.get_mut(k.as_str())?,
            Seg::Index(i) => v.get_mut(*i)?,
        };
    }
    Some(v)
}

// ---------------------------------------------------------------------------------
// Error → diagnostic
// ---------------------------------------------------------------------------------

/// Where a shape error is: what every description of it starts from.
struct At<'a> {
    doc: &'a Doc,
    path: &'a [Seg],
    /// `path` as text.
    where_: String,
    span: Option<Span>,
    /// The schema that applies there, if the path reaches one.
    schema: Option<&'static Value>,
    /// The value there, if there is one.
    value: Option<&'a Value>,
}

impl At<'_> {
    /// An error at the value.
    fn error(&self, code: &'static str, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::error(code, msg)
            .at_opt(self.span)
            .with_path(self.where_.clone())
    }

    /// The value as text, for messages.
    fn text(&self) -> String {
        self.value.map(scalar_text).unwrap_or_default()
    }
}

/// Adds the diagnostics for one shape error to `out` (usually one; one per unknown key,
/// or the errors of the branch that applies for `anyOf`/`oneOf`).
fn describe(doc: &Doc, path: &[Seg], kind: &ValidationErrorKind, out: &mut Vec<Diagnostic>) {
    let at = At {
        doc,
        path,
        where_: fmt_path(path),
        span: doc.span_of(path),
        schema: schema_at(path),
        value: value_at(&doc.value, path),
    };
    let d = match kind {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            return unknown_keys(&at, unexpected, out);
        }
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            return alternatives(&at, context, out);
        }
        ValidationErrorKind::Required { property } => missing_key(&at, property),
        ValidationErrorKind::Type { kind } => wrong_type(&at, kind),
        ValidationErrorKind::Enum { options } => {
            let opts: Vec<String> = options
                .as_array()
                .map(|a| a.iter().map(scalar_text).collect())
                .unwrap_or_default();
            not_allowed(at.value, &opts, at.span, &at.where_)
        }
        ValidationErrorKind::Constant { expected_value } => not_allowed(
            at.value,
            &[scalar_text(expected_value)],
            at.span,
            &at.where_,
        ),
        other => out_of_bounds(&at, other),
    };
    out.push(d);
}

/// `additionalProperties`: one diagnostic per unknown key (at most 20), each with the
/// closest known key or the list of known keys.
fn unknown_keys(at: &At<'_>, unexpected: &[String], out: &mut Vec<Diagnostic>) {
    let known = at.schema.map(property_names).unwrap_or_default();
    const SHOWN: usize = 20;
    if unexpected.len() > SHOWN {
        out.push(at.error(
            "PW0100",
            format!(
                "{} unknown keys in this mapping (the first {SHOWN} follow)",
                unexpected.len()
            ),
        ));
    }
    for key in unexpected.iter().take(SHOWN) {
        let mut p = at.path.to_vec();
        p.push(Seg::Key(key.clone()));
        let mut d = Diagnostic::error("PW0100", format!("unknown key `{key}`"))
            .at_opt(at.doc.key_in(at.path, key).or(at.span))
            .with_path(fmt_path(&p))
            .label("not a key of this mapping");
        d = match did_you_mean(key, known.iter().map(String::as_str)) {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None if !known.is_empty() => d.help(format!("known keys here: {}", join_code(&known))),
            None => d,
        };
        out.push(d);
    }
}

/// `required`: at the mapping's key, with the missing key's description.
fn missing_key(at: &At<'_>, property: &Value) -> Diagnostic {
    let prop = property.as_str().unwrap_or_default();
    let mut d = Diagnostic::error("PW0102", format!("missing key `{prop}`"))
        .at_opt(at.doc.key_span_of(at.path))
        .with_path(if at.where_.is_empty() {
            "(top level)".into()
        } else {
            at.where_.clone()
        })
        .label(format!("this mapping needs `{prop}`"));
    if let Some(desc) = at
        .schema
        .and_then(|s| s.get("properties"))
        .and_then(|p| p.get(prop))
        .and_then(|p| deref(p).get("description").or_else(|| p.get("description")))
        .and_then(Value::as_str)
    {
        d = d.help(format!("`{prop}`: {}", first_sentence(desc)));
    }
    d
}

/// `type`: what was expected and what was found.
fn wrong_type(at: &At<'_>, kind: &TypeKind) -> Diagnostic {
    let expected = match kind {
        TypeKind::Single(t) => article(&t.to_string()),
        TypeKind::Multiple(ts) => ts
            .iter()
            .map(|t| t.to_string())
            .filter(|t| t != "null")
            .map(|t| article(&t))
            .collect::<Vec<_>>()
            .join(" or "),
    };
    let found = at
        .value
        .map(describe_value)
        .unwrap_or_else(|| "nothing".into());
    let mut d = at
        .error("PW0101", format!("expected {expected}, found {found}"))
        .label(format!("expected {expected}"));
    if at.value.is_some_and(Value::is_null) {
        d = d.help("the key has no value; give one or remove the key");
    } else if let Some(desc) = at.schema.and_then(description) {
        d = d.help(first_sentence(desc));
    }
    d
}

/// `oneOf`/`anyOf`: a choice among constants is "not allowed here"; otherwise the
/// errors of the branch that applies.
fn alternatives(at: &At<'_>, context: &[Vec<ValidationError<'_>>], out: &mut Vec<Diagnostic>) {
    let consts = at.schema.map(const_options).unwrap_or_default();
    if !consts.is_empty() {
        out.push(not_allowed(at.value, &consts, at.span, &at.where_));
        return;
    }
    // `Option<T>` is `anyOf: [T, null]`: report the errors of the branch that is not
    // "expected null".
    let branch = context.iter().find(|errs| {
        !errs.iter().all(|e| {
            matches!(e.kind(), ValidationErrorKind::Type { kind: TypeKind::Single(t) } if t.to_string() == "null")
        })
    });
    match branch {
        Some(errs) if !errs.is_empty() => {
            for e in errs {
                let p = to_segs(e.instance_path().iter());
                describe(at.doc, &p, e.kind(), out);
            }
        }
        _ => out.push(at.error("PW0108", "this value does not fit any allowed form")),
    }
}

/// Limits on numbers, strings, lists and mappings; any other keyword is "invalid value".
fn out_of_bounds(at: &At<'_>, kind: &ValidationErrorKind) -> Diagnostic {
    match kind {
        ValidationErrorKind::Minimum { limit }
        | ValidationErrorKind::ExclusiveMinimum { limit } => at
            .error(
                "PW0104",
                format!("`{}` is below the minimum of {limit}", at.text()),
            )
            .label(format!("at least {limit}")),
        ValidationErrorKind::Maximum { limit }
        | ValidationErrorKind::ExclusiveMaximum { limit } => at
            .error(
                "PW0104",
                format!("`{}` is above the maximum of {limit}", at.text()),
            )
            .label(format!("at most {limit}")),
        ValidationErrorKind::Pattern { pattern } => {
            let mut d = at
                .error(
                    "PW0105",
                    format!("`{}` does not have the required format", at.text()),
                )
                .label(format!("must match `{pattern}`"));
            if let Some(desc) = at.schema.and_then(description) {
                d = d.help(first_sentence(desc));
            }
            d
        }
        ValidationErrorKind::MinItems { limit } | ValidationErrorKind::MinProperties { limit } => {
            Diagnostic::error(
                "PW0106",
                format!("needs at least {limit} {}", entries(*limit)),
            )
            .at_opt(at.doc.key_span_of(at.path))
            .with_path(at.where_.clone())
        }
        ValidationErrorKind::MaxItems { limit } | ValidationErrorKind::MaxProperties { limit } => {
            at.error(
                "PW0106",
                format!("has more than {limit} {}", entries(*limit)),
            )
        }
        ValidationErrorKind::MinLength { limit } => at.error(
            "PW0107",
            format!("must be at least {limit} characters long"),
        ),
        ValidationErrorKind::MaxLength { limit } => {
            at.error("PW0107", format!("must be at most {limit} characters long"))
        }
        other => at.error("PW0108", format!("invalid value ({})", other.keyword())),
    }
}

fn not_allowed(
    value: Option<&Value>,
    opts: &[String],
    span: Option<Span>,
    path: &str,
) -> Diagnostic {
    let v = value.map(scalar_text).unwrap_or_default();
    let mut d = Diagnostic::error("PW0103", format!("`{v}` is not allowed here"))
        .at_opt(span)
        .with_path(path.to_owned())
        .label(format!("expected one of {}", join_code(opts)));
    if let Some(s) = did_you_mean(&v, opts.iter().map(String::as_str)) {
        d = d.help(format!("did you mean `{s}`?"));
    }
    d
}

fn entries(n: u64) -> &'static str {
    if n == 1 { "entry" } else { "entries" }
}

fn article(t: &str) -> String {
    match t {
        "object" => "a mapping".into(),
        "array" => "a list".into(),
        "integer" => "an integer".into(),
        "null" => "nothing".into(),
        other => format!("a {other}"),
    }
}

fn describe_value(v: &Value) -> String {
    match v {
        Value::Null => "no value".into(),
        Value::Bool(b) => format!("a boolean (`{b}`)"),
        Value::Number(n) => format!("a number (`{n}`)"),
        Value::String(s) => format!("a string (`{}`)", truncate(s, 40)),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => truncate(s, 60),
        other => truncate(&other.to_string(), 60),
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

fn join_code(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn first_sentence(s: &str) -> String {
    let s = s.split("\n\n").next().unwrap_or(s).replace('\n', " ");
    s.trim().to_owned()
}

/// The closest candidate to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let w = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&w, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len().max(w.len()) / 3).max(1))
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

fn value_at<'a>(mut v: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    for seg in path {
        v = match seg {
            Seg::Key(k) => v.get(k.as_str())?,
            Seg::Index(i) => v.get(*i)?,
        };
    }
    Some(v)
}

// ---------------------------------------------------------------------------------
// Navigating the spec schema by instance path
// ---------------------------------------------------------------------------------

fn deref(s: &Value) -> &Value {
    let mut s = s;
    for _ in 0..8 {
        match s.get("$ref").and_then(Value::as_str) {
            Some(r) => match r.strip_prefix("#/$defs/") {
                Some(name) => match json_schema().get("$defs").and_then(|d| d.get(name)) {
                    Some(t) => s = t,
                    None => return s,
                },
                None => return s,
            },
            None => return s,
        }
    }
    s
}

/// The non-null branch of an `anyOf: [T, null]`.
fn unwrap_option(s: &Value) -> &Value {
    let s = deref(s);
    if let Some(branches) = s.get("anyOf").and_then(Value::as_array) {
        let non_null: Vec<&Value> = branches
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) != Some("null"))
            .collect();
        if non_null.len() == 1 {
            return deref(non_null[0]);
        }
    }
    s
}

/// The schema that applies to the value at `path`.
pub fn schema_at(path: &[Seg]) -> Option<&'static Value> {
    let mut s = unwrap_option(json_schema());
    for seg in path {
        s = match seg {
            Seg::Key(k) => match s.get("properties").and_then(|p| p.get(k.as_str())) {
                Some(p) => unwrap_option(p),
                None => unwrap_option(s.get("additionalProperties").filter(|v| v.is_object())?),
            },
            Seg::Index(_) => unwrap_option(s.get("items")?),
        };
    }
    Some(s)
}

fn property_names(s: &Value) -> Vec<String> {
    s.get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

fn description(s: &Value) -> Option<&str> {
    s.get("description").and_then(Value::as_str)
}

fn const_options(s: &Value) -> Vec<String> {
    let branches = s
        .get("oneOf")
        .or_else(|| s.get("anyOf"))
        .and_then(Value::as_array);
    let Some(branches) = branches else {
        return s
            .get("enum")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(scalar_text).collect())
            .unwrap_or_default();
    };
    let mut out = Vec::new();
    for b in branches {
        let b = deref(b);
        if let Some(c) = b.get("const") {
            out.push(scalar_text(c));
        } else if let Some(e) = b.get("enum").and_then(Value::as_array) {
            out.extend(e.iter().map(scalar_text));
        } else if b.get("type").and_then(Value::as_str) == Some("null") {
            continue;
        } else {
            return Vec::new();
        }
    }
    out
}

/// Keys of a mapping node in source order (for messages that list what is there).
pub fn keys_in(doc: &Doc, path: &[Seg]) -> Vec<String> {
    match doc.lookup(path).map(|(m, _)| &m.kind) {
        Some(MarkedKind::Map(entries)) => entries.iter().map(|(k, _, _)| k.clone()).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_are_close_matches_only() {
        let c = ["sources", "storage", "security"];
        assert_eq!(did_you_mean("sourcse", c), Some("sources"));
        assert_eq!(did_you_mean("storge", c), Some("storage"));
        assert_eq!(did_you_mean("banana", c), None);
    }

    #[test]
    fn schema_navigation_reaches_nested_types() {
        let s = schema_at(&[
            Seg::Key("sources".into()),
            Seg::Key("pos".into()),
            Seg::Key("auth".into()),
        ])
        .unwrap();
        assert_eq!(
            const_options(s),
            vec!["iam_and_api_key", "api_key", "iam", "none"]
        );
        let s = schema_at(&[Seg::Key("environments".into()), Seg::Key("dev".into())]).unwrap();
        assert!(property_names(s).contains(&"account".to_owned()));
    }
}
