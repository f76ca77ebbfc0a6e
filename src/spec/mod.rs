//! Phase 1, load and validate: `pipeline.yaml` (and the event schema files it names)
//! → a [`Validated`] spec, or diagnostics.
//!
//! Reading files goes through the [`Files`] trait so that everything after the bytes
//! is pure (the fuzz target and the tests use [`MemFiles`]). This module does not
//! resolve environments or derive names; that is `plan`'s job.

pub mod event_schema;
pub mod evolution;
pub mod generate;
pub mod model;
pub mod schedule;
pub mod shape;
pub mod sql;
pub mod validate;
pub mod yaml;

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use crate::diag::{Diagnostic, Diagnostics, FileId, SourceMap, Span};
pub use model::*;
use yaml::{Doc, Seg};

/// Largest file read (spec or event schema).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Where file contents come from.
pub trait Files {
    /// The file's bytes; `Err(InvalidData)` when it is larger than [`MAX_FILE_BYTES`].
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
}

/// The real file system.
pub struct RealFiles;

impl Files for RealFiles {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let meta = std::fs::metadata(path)?;
        if meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a directory",
            ));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "file too big"));
        }
        std::fs::read(path)
    }
}

/// Files held in memory (tests, fuzzing, `iam diff --base` at a git ref).
#[derive(Default, Clone)]
pub struct MemFiles(pub BTreeMap<PathBuf, Vec<u8>>);

impl Files for MemFiles {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let b = self
            .0
            .get(path)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))?;
        if b.len() as u64 > MAX_FILE_BYTES {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "file too big"));
        }
        Ok(b.clone())
    }
}

/// A source's event schema, resolved from `inline` or `file`.
#[derive(Debug, Clone)]
pub struct LoadedSchema {
    pub value: Value,
    /// Where the schema text lives: the spec (inline) or its own file.
    pub doc: Doc,
    /// Path to the schema's root inside `doc` (`sources.x.schema.inline`, or the file root).
    pub root: Vec<Seg>,
}

/// The result of loading and validating: whatever could be understood, and the diagnostics.
#[derive(Debug)]
pub struct Checked {
    pub sources: SourceMap,
    pub spec_file: Option<FileId>,
    pub doc: Option<Doc>,
    pub spec: Option<Spec>,
    pub schemas: BTreeMap<String, LoadedSchema>,
    pub diagnostics: Diagnostics,
}

/// A spec with no errors: the input to lowering.
#[derive(Debug, Clone)]
pub struct Validated {
    pub spec: Spec,
    pub doc: Doc,
    pub schemas: BTreeMap<String, LoadedSchema>,
    pub spec_path: PathBuf,
}

impl Checked {
    /// The validated spec, when there are no errors.
    pub fn validated(&self) -> Option<Validated> {
        if self.diagnostics.has_errors() {
            return None;
        }
        Some(Validated {
            spec: self.spec.clone()?,
            doc: self.doc.clone()?,
            schemas: self.schemas.clone(),
            spec_path: self.sources.path(self.spec_file?).to_path_buf(),
        })
    }
}

/// The reason a spec could not even be read (exit code 2, not a finding).
#[derive(Debug)]
pub struct ReadError {
    pub path: PathBuf,
    pub error: io::Error,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot read {}: {}", self.path.display(), self.error)
    }
}

/// Loads `path` through `files` and validates it completely.
pub fn check(path: &Path, files: &dyn Files) -> Result<Checked, ReadError> {
    let bytes = files.read(path).map_err(|error| ReadError {
        path: path.to_path_buf(),
        error,
    })?;
    Ok(check_bytes(path, bytes, files))
}

/// Validates spec bytes that were already read; event schema files come from `files`.
pub fn check_bytes(path: &Path, bytes: Vec<u8>, files: &dyn Files) -> Checked {
    let mut out = Checked {
        sources: SourceMap::default(),
        spec_file: None,
        doc: None,
        spec: None,
        schemas: BTreeMap::new(),
        diagnostics: Diagnostics::default(),
    };
    let text = match decode(path, bytes) {
        Ok(t) => t,
        Err(d) => {
            out.diagnostics.push(*d);
            return out;
        }
    };
    let file = out.sources.add(path.to_path_buf(), text);
    out.spec_file = Some(file);
    let doc = match yaml::load(file, out.sources.get(file)) {
        Ok(doc) => doc,
        Err(ds) => {
            out.diagnostics.extend(ds);
            return out;
        }
    };
    let shaped = shape::check(doc);
    out.diagnostics.extend(shaped.diagnostics);
    out.doc = Some(shaped.doc);
    let Some(spec) = shaped.spec else {
        if !out.diagnostics.has_errors() {
            // Never a silent pass: a spec that could not be read is an error even when no
            // check above named the reason.
            out.diagnostics.push(Diagnostic::error(
                "PW0108",
                "the spec could not be read, and no check said why (a pipewright bug: please report it with the spec)",
            ));
        }
        out.diagnostics = std::mem::take(&mut out.diagnostics).sorted();
        return out;
    };
    let doc = out.doc.as_ref().expect("set above");
    let base = path.parent().unwrap_or(Path::new("")).to_path_buf();
    for (name, source) in &spec.sources {
        if shaped.broken.contains(&format!("sources.{name}")) {
            continue;
        }
        match load_event_schema(name, source, doc, &base, files, &mut out.sources) {
            Ok(s) => {
                out.schemas.insert(name.clone(), s);
            }
            Err(ds) => out.diagnostics.extend(ds),
        }
    }
    let sem = validate::validate(&spec, doc, &out.schemas, &shaped.broken);
    out.diagnostics.extend(sem);
    out.spec = Some(spec);
    out.diagnostics = std::mem::take(&mut out.diagnostics).sorted();
    out
}

/// UTF-8 decoding with a positioned error.
fn decode(path: &Path, bytes: Vec<u8>) -> Result<String, Box<Diagnostic>> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        let msg = format!(
            "the file is {} bytes; at most {MAX_FILE_BYTES} are read",
            bytes.len()
        );
        return Err(Box::new(Diagnostic::error("PW0010", msg).in_file(path)));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let good = &e.as_bytes()[..at];
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        let col = good.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
        let msg = format!(
            "the file is not UTF-8: invalid byte 0x{:02x} at line {line}, column {col} (byte {at})",
            e.as_bytes()[at]
        );
        Box::new(
            Diagnostic::error("PW0002", msg)
                .in_file(path)
                .help("save the file as UTF-8 text"),
        )
    })
}

fn load_event_schema(
    name: &str,
    source: &Source,
    doc: &Doc,
    base: &Path,
    files: &dyn Files,
    sources: &mut SourceMap,
) -> Result<LoadedSchema, Vec<Diagnostic>> {
    let at = vec![
        Seg::Key("sources".into()),
        Seg::Key(name.into()),
        Seg::Key("schema".into()),
    ];
    let path_str = format!("sources.{name}.schema");
    match (&source.schema.file, &source.schema.inline) {
        (Some(_), Some(_)) | (None, None) => Err(vec![
            Diagnostic::error(
                "PW0214",
                "an event schema needs exactly one of `file` and `inline`",
            )
            .at_opt(doc.key_span_of(&at))
            .with_path(path_str)
            .help("`file: schemas/pos.json` points at a file next to the spec; `inline:` holds the schema itself"),
        ]),
        (None, Some(v)) => {
            let mut root = at.clone();
            root.push(Seg::Key("inline".into()));
            Ok(LoadedSchema {
                value: v.clone(),
                doc: doc.clone(),
                root,
            })
        }
        (Some(rel), None) => {
            let mut fat = at.clone();
            fat.push(Seg::Key("file".into()));
            let span = doc.span_of(&fat);
            let fpath = format!("{path_str}.file");
            let err = |msg: String| {
                Diagnostic::error("PW0213", msg)
                    .at_opt(span)
                    .with_path(fpath.clone())
            };
            let relp = Path::new(rel);
            if relp.is_absolute()
                || relp
                    .components()
                    .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
            {
                return Err(vec![
                    err(format!("schema file `{rel}` must be a relative path inside the spec's folder"))
                        .help("move the schema next to the spec, for example `schemas/pos.json`"),
                ]);
            }
            let full = base.join(relp);
            let bytes = files.read(&full).map_err(|e| {
                vec![err(format!("cannot read schema file `{}`: {e}", full.display()))]
            })?;
            let text = decode(&full, bytes).map_err(|d| vec![*d])?;
            let fid = sources.add(full.clone(), text);
            let sdoc = yaml::load(fid, sources.get(fid)).map_err(|ds| {
                let mut ds = ds;
                ds.push(err(format!("schema file `{rel}` could not be loaded (see above)")));
                ds
            })?;
            Ok(LoadedSchema {
                value: sdoc.value.clone(),
                doc: sdoc,
                root: Vec::new(),
            })
        }
    }
}

/// Formats a path as `sources.pos.columns[2].name` (keys that are not simple
/// identifiers are quoted: `tags["cost centre"]`).
pub fn fmt_path(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                let simple = !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$');
                if simple {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    s.push_str(k);
                } else {
                    s.push_str(&format!(
                        "[{}]",
                        serde_json::to_string(k).unwrap_or_default()
                    ));
                }
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Builds a path from string keys: `path(&["sources", name, "route"])`.
pub fn path(keys: &[&str]) -> Vec<Seg> {
    keys.iter().map(|k| Seg::Key((*k).to_owned())).collect()
}

/// A located value: span lookups for diagnostics raised after validation.
pub trait Locate {
    fn span(&self, path: &[Seg]) -> Option<Span>;
}

impl Locate for Doc {
    fn span(&self, path: &[Seg]) -> Option<Span> {
        self.span_of(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_format_like_code() {
        let p = vec![
            Seg::Key("transforms".into()),
            Seg::Key("pos_sales".into()),
            Seg::Key("columns".into()),
            Seg::Index(2),
            Seg::Key("name".into()),
        ];
        assert_eq!(fmt_path(&p), "transforms.pos_sales.columns[2].name");
        assert_eq!(
            fmt_path(&[Seg::Key("tags".into()), Seg::Key("cost centre".into())]),
            "tags[\"cost centre\"]"
        );
    }

    #[test]
    fn non_utf8_names_the_position() {
        let d = decode(Path::new("p.yaml"), b"a: 1\nb: \xff\n".to_vec()).unwrap_err();
        assert_eq!(d.code, "PW0002");
        assert!(d.message.contains("line 2, column 4"), "{}", d.message);
    }
}
