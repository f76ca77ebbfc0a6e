//! Schema evolution: how a source's event schema changed between a base spec (a git
//! revision or another file) and this one, and whether the change is one the curated
//! dataset can absorb.
//!
//! Compatible changes (a new optional field, a numeric type widened, a field made
//! optional) keep the dataset: new columns appear, old files still read. Breaking
//! changes (a field removed or renamed, a type changed, a field made required, a new
//! required field) need a new major version: the transform then writes a new,
//! versioned dataset (`<dataset>_v<major>`) and table, and the old one stays.

use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::event_schema::{self, Version};
use super::{Checked, Files, MAX_FILE_BYTES};
use crate::diag::{Diagnostic, Diagnostics};

/// One change to one field (`payment.method`, `items[].sku`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub field: String,
    pub kind: ChangeKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    Added {
        required: bool,
    },
    Removed,
    /// The new type holds every value of the old one (`int` → `bigint`).
    Widened {
        from: String,
        to: String,
    },
    TypeChanged {
        from: String,
        to: String,
    },
    MadeRequired,
    MadeOptional,
}

impl Change {
    /// Whether events or data written under the old schema break under the new one.
    pub fn breaking(&self) -> bool {
        match self.kind {
            ChangeKind::Added { required } => required,
            ChangeKind::Removed | ChangeKind::TypeChanged { .. } | ChangeKind::MadeRequired => true,
            ChangeKind::Widened { .. } | ChangeKind::MadeOptional => false,
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = &self.field;
        match &self.kind {
            ChangeKind::Added { required: false } => write!(f, "optional field `{n}` added"),
            ChangeKind::Added { required: true } => write!(f, "required field `{n}` added"),
            ChangeKind::Removed => write!(f, "field `{n}` removed (or renamed)"),
            ChangeKind::Widened { from, to } => {
                write!(f, "field `{n}` widened from {from} to {to}")
            }
            ChangeKind::TypeChanged { from, to } => {
                write!(f, "field `{n}` changed type from {from} to {to}")
            }
            ChangeKind::MadeRequired => write!(f, "field `{n}` made required"),
            ChangeKind::MadeOptional => write!(f, "field `{n}` made optional"),
        }
    }
}

/// The changes from schema `old` to schema `new`, by field path, in path order.
pub fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    walk(old, old, new, new, "", 0, &mut out);
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

fn is(s: &Value, ty: &str) -> bool {
    event_schema::types(s).0.contains(&ty)
}

/// The type of a field as text, for messages, when it has no column type.
fn type_text(root: &Value, s: &Value) -> String {
    match event_schema::column_type(root, s) {
        Ok(t) => t.to_string(),
        Err(_) => {
            let (ts, _) = event_schema::types(event_schema::deref(root, s));
            if ts.is_empty() {
                "any".into()
            } else {
                ts.join("|")
            }
        }
    }
}

fn walk(
    old_root: &Value,
    old: &Value,
    new_root: &Value,
    new: &Value,
    prefix: &str,
    depth: usize,
    out: &mut Vec<Change>,
) {
    if depth > 32 {
        return;
    }
    let old = event_schema::deref(old_root, old);
    let new = event_schema::deref(new_root, new);
    if is(old, "object") && is(new, "object") {
        let before = event_schema::properties(old_root, old);
        let after = event_schema::properties(new_root, new);
        for (name, _, _) in &before {
            if !after.iter().any(|(n, _, _)| n == name) {
                out.push(Change {
                    field: join(prefix, name),
                    kind: ChangeKind::Removed,
                });
            }
        }
        for (name, s, required) in &after {
            let field = join(prefix, name);
            match before.iter().find(|(n, _, _)| n == name) {
                None => out.push(Change {
                    field,
                    kind: ChangeKind::Added {
                        required: *required,
                    },
                }),
                Some((_, was, was_required)) => {
                    if *required && !was_required {
                        out.push(Change {
                            field: field.clone(),
                            kind: ChangeKind::MadeRequired,
                        });
                    } else if !required && *was_required {
                        out.push(Change {
                            field: field.clone(),
                            kind: ChangeKind::MadeOptional,
                        });
                    }
                    walk(old_root, was, new_root, s, &field, depth + 1, out);
                }
            }
        }
        return;
    }
    if is(old, "array") && is(new, "array") {
        let (Some(a), Some(b)) = (old.get("items"), new.get("items")) else {
            return;
        };
        let (a, b) = (
            event_schema::deref(old_root, a),
            event_schema::deref(new_root, b),
        );
        if is(a, "object") && is(b, "object") {
            walk(
                old_root,
                a,
                new_root,
                b,
                &format!("{prefix}[]"),
                depth + 1,
                out,
            );
            return;
        }
    }
    let from = event_schema::column_type(old_root, old);
    let to = event_schema::column_type(new_root, new);
    let kind = match (&from, &to) {
        (Ok(a), Ok(b)) if a == b => return,
        (Ok(a), Ok(b)) if b.widens_from(a) => ChangeKind::Widened {
            from: a.to_string(),
            to: b.to_string(),
        },
        (Err(_), Err(_)) if event_schema::types(old).0 == event_schema::types(new).0 => return,
        _ => ChangeKind::TypeChanged {
            from: type_text(old_root, old),
            to: type_text(new_root, new),
        },
    };
    out.push(Change {
        field: prefix.to_owned(),
        kind,
    });
}

/// What `check --against` found for one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceEvolution {
    pub source: String,
    pub from: String,
    pub to: String,
    pub changes: Vec<Change>,
}

/// Compares the event schemas of the sources both specs have, and reports breaking
/// changes without a new major version (PW0241), versions that went down (PW0240) and
/// changed schemas that kept their version (PW0242, a warning).
pub fn against(base: &Checked, new: &Checked) -> (Vec<SourceEvolution>, Diagnostics) {
    let mut diags = Diagnostics::default();
    let mut found = Vec::new();
    let (Some(base_spec), Some(spec)) = (&base.spec, &new.spec) else {
        return (found, diags);
    };
    for (name, source) in &spec.sources {
        let (Some(was), Some(old), Some(now)) = (
            base_spec.sources.get(name),
            base.schemas.get(name),
            new.schemas.get(name),
        ) else {
            continue;
        };
        let span = new
            .doc
            .as_ref()
            .and_then(|d| d.span_of(&super::path(&["sources", name, "schema", "version"])));
        let (Some(v0), Some(v1)) = (
            Version::parse(&was.schema.version),
            Version::parse(&source.schema.version),
        ) else {
            continue;
        };
        let changes = diff(&old.value, &now.value);
        if v1 < v0 {
            diags.push(
                Diagnostic::error(
                    "PW0240",
                    format!("the event schema of `{name}` went from version {v0} down to {v1}"),
                )
                .at_opt(span)
                .help("schema versions only go up: data written under the newer version exists"),
            );
        } else if v1.major == v0.major {
            let breaking: Vec<&Change> = changes.iter().filter(|c| c.breaking()).collect();
            for c in &breaking {
                diags.push(
                    Diagnostic::error(
                        "PW0241",
                        format!("breaking change to the event schema of `{name}`: {c}"),
                    )
                    .at_opt(span)
                    .help(format!(
                        "keep the change compatible, or make it version {}.0.0: a new major version writes a new dataset and table, and the current ones stay",
                        v0.major + 1
                    )),
                );
            }
            if breaking.is_empty() && !changes.is_empty() && v1 == v0 {
                diags.push(
                    Diagnostic::warning(
                        "PW0242",
                        format!(
                            "the event schema of `{name}` changed ({}) but its version is still {v1}",
                            changes
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join("; ")
                        ),
                    )
                    .at_opt(span)
                    .help(format!(
                        "a compatible change takes a new minor version: {}.{}.0",
                        v1.major,
                        v1.minor + 1
                    )),
                );
            }
        }
        if !changes.is_empty() || v0 != v1 {
            found.push(SourceEvolution {
                source: name.clone(),
                from: v0.to_string(),
                to: v1.to_string(),
                changes,
            });
        }
    }
    (found, diags)
}

/// Files as they are at a git revision (`git show REV:PATH`), for `check --against`.
/// Paths are taken relative to the current directory, like the working tree's.
pub struct GitFiles {
    rev: String,
    top: PathBuf,
    cwd: PathBuf,
}

impl GitFiles {
    /// Checks that `rev` names a commit of the repository around the current directory.
    pub fn new(rev: &str) -> io::Result<GitFiles> {
        if rev.starts_with('-') || rev.contains(':') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("`{rev}` is not a git revision"),
            ));
        }
        let top = git(&["rev-parse", "--show-toplevel"])?;
        git(&[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ])
        .map_err(|_| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("`{rev}` is neither a file nor a git revision"),
            )
        })?;
        Ok(GitFiles {
            rev: rev.to_owned(),
            top: PathBuf::from(String::from_utf8_lossy(&top).trim()),
            cwd: std::env::current_dir()?,
        })
    }
}

fn git(args: &[&str]) -> io::Result<Vec<u8>> {
    let out = Command::new("git").args(args).output()?;
    if !out.status.success() {
        return Err(io::Error::other(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    Ok(out.stdout)
}

/// `path` made absolute against `cwd` without touching the file system.
fn lexical(cwd: &Path, path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in cwd.join(path).components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

impl Files for GitFiles {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let abs = lexical(&self.cwd, path);
        let top = std::fs::canonicalize(&self.top).unwrap_or_else(|_| self.top.clone());
        let cwd_top = lexical(&self.cwd, &self.top);
        let rel = abs
            .strip_prefix(&top)
            .or_else(|_| abs.strip_prefix(&cwd_top))
            .map_err(|_| io::Error::new(io::ErrorKind::NotFound, "outside the git repository"))?;
        let rel = rel
            .to_str()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path is not UTF-8"))?;
        let bytes = git(&["show", &format!("{}:{rel}", self.rev)])
            .map_err(|_| io::Error::new(io::ErrorKind::NotFound, format!("not in {}", self.rev)))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "larger than 16 MiB",
            ));
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pos_v1() -> Value {
        json!({
            "type": "object",
            "required": ["event_id", "amount", "payment"],
            "properties": {
                "event_id": {"type": "string"},
                "amount": {"type": "number", "multipleOf": 0.01},
                "qty": {"type": "integer", "minimum": 0, "maximum": 100},
                "note": {"type": "string"},
                "payment": {
                    "type": "object",
                    "required": ["method"],
                    "properties": {"method": {"type": "string"}, "scheme": {"type": "string"}}
                },
                "items": {"type": "array", "items": {"$ref": "#/$defs/item"}}
            },
            "$defs": {"item": {"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"}, "price": {"type": "number"}}}}
        })
    }

    fn with(mut v: Value, f: impl FnOnce(&mut Value)) -> Value {
        f(&mut v);
        v
    }

    #[test]
    fn same_schema_no_changes() {
        assert_eq!(diff(&pos_v1(), &pos_v1()), vec![]);
    }

    #[test]
    fn optional_field_added_is_compatible() {
        let new = with(pos_v1(), |v| {
            v["properties"]["channel"] = json!({"type": "string"});
            v["properties"]["payment"]["properties"]["wallet"] = json!({"type": "string"});
        });
        let d = diff(&pos_v1(), &new);
        assert_eq!(
            d,
            vec![
                Change {
                    field: "channel".into(),
                    kind: ChangeKind::Added { required: false }
                },
                Change {
                    field: "payment.wallet".into(),
                    kind: ChangeKind::Added { required: false }
                },
            ]
        );
        assert!(d.iter().all(|c| !c.breaking()));
    }

    #[test]
    fn required_field_added_is_breaking() {
        let new = with(pos_v1(), |v| {
            v["properties"]["store"] = json!({"type": "string"});
            v["required"] = json!(["event_id", "amount", "payment", "store"]);
        });
        let d = diff(&pos_v1(), &new);
        assert_eq!(d.len(), 1);
        assert!(d[0].breaking(), "{}", d[0]);
        assert_eq!(d[0].to_string(), "required field `store` added");
    }

    #[test]
    fn widening_is_compatible_and_narrowing_is_not() {
        let wide = with(pos_v1(), |v| {
            v["properties"]["qty"] = json!({"type": "integer"});
        });
        let d = diff(&pos_v1(), &wide);
        assert_eq!(
            d,
            vec![Change {
                field: "qty".into(),
                kind: ChangeKind::Widened {
                    from: "int".into(),
                    to: "bigint".into()
                }
            }]
        );
        assert!(!d[0].breaking());
        let back = diff(&wide, &pos_v1());
        assert!(back[0].breaking(), "bigint → int loses values");
        // A number to a double: decimal(18,2) does not widen to double (loses exactness).
        let dbl = with(pos_v1(), |v| {
            v["properties"]["amount"] = json!({"type": "number"});
        });
        assert!(diff(&pos_v1(), &dbl)[0].breaking());
    }

    #[test]
    fn removal_rename_type_change_and_required_are_breaking() {
        let renamed = with(pos_v1(), |v| {
            let note = v["properties"]["note"].take();
            v["properties"].as_object_mut().unwrap().remove("note");
            v["properties"]["comment"] = note;
        });
        let d = diff(&pos_v1(), &renamed);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].to_string(), "optional field `comment` added");
        assert_eq!(d[1].to_string(), "field `note` removed (or renamed)");
        assert!(d[1].breaking());

        let retyped = with(pos_v1(), |v| {
            v["properties"]["note"] = json!({"type": "integer"});
        });
        let d = diff(&pos_v1(), &retyped);
        assert_eq!(
            d[0].to_string(),
            "field `note` changed type from string to bigint"
        );
        assert!(d[0].breaking());

        let required = with(pos_v1(), |v| {
            v["properties"]["payment"]["required"] = json!(["method", "scheme"]);
        });
        let d = diff(&pos_v1(), &required);
        assert_eq!(d[0].kind, ChangeKind::MadeRequired);
        assert_eq!(d[0].field, "payment.scheme");
        assert!(d[0].breaking());
        let d = diff(&required, &pos_v1());
        assert_eq!(d[0].kind, ChangeKind::MadeOptional);
        assert!(!d[0].breaking());
    }

    #[test]
    fn fields_of_list_items_through_refs() {
        let new = with(pos_v1(), |v| {
            v["$defs"]["item"]["properties"]["sku"] = json!({"type": "boolean"});
            v["$defs"]["item"]["properties"]["discount"] = json!({"type": "number"});
        });
        let d = diff(&pos_v1(), &new);
        assert_eq!(
            d.iter().map(ToString::to_string).collect::<Vec<_>>(),
            vec![
                "optional field `items[].discount` added",
                "field `items[].sku` changed type from string to boolean"
            ]
        );
    }

    #[test]
    fn object_replaced_by_scalar_is_a_type_change() {
        let new = with(pos_v1(), |v| {
            v["properties"]["payment"] = json!({"type": "string"});
        });
        let d = diff(&pos_v1(), &new);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].field, "payment");
        assert!(matches!(d[0].kind, ChangeKind::TypeChanged { .. }));
    }

    #[test]
    fn lexical_paths() {
        assert_eq!(
            lexical(Path::new("/r/a"), Path::new("../b/./c.json")),
            PathBuf::from("/r/b/c.json")
        );
        assert_eq!(
            lexical(Path::new("/r"), Path::new("/x/y")),
            PathBuf::from("/x/y")
        );
    }
}
