//! A hardened YAML loader: text → JSON value plus a parallel tree of source spans.
//!
//! It is built on saphyr's event parser (no recursion on input depth) and refuses,
//! with a positioned diagnostic, everything a spec has no use for and an attacker
//! might: several documents, custom tags, duplicate keys, non-scalar keys, nesting
//! deeper than [`MAX_DEPTH`], and more than [`MAX_NODES`] values after alias
//! expansion ("billion laughs"). Scalars are resolved with the YAML 1.2 core schema,
//! so `no` stays a string; plain scalars remember their source text so that a
//! number where a string is expected (an account id such as `012345678901`) can be
//! read back exactly as written.
//!
//! It is not a general YAML library: it builds only what a spec needs.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span as YSpan};
use serde_json::{Map, Number, Value};

use crate::diag::{Diagnostic, FileId, SourceFile, Span};

/// Deepest nesting of mappings and sequences accepted.
pub const MAX_DEPTH: usize = 64;
/// Most values (scalars, mappings, sequences) accepted, aliases expanded.
pub const MAX_NODES: usize = 250_000;

/// A loaded document: the value, and where each part of it came from.
#[derive(Debug, Clone)]
pub struct Doc {
    pub value: Value,
    pub root: Marked,
    pub file: FileId,
    /// The source text (to locate positions inside a scalar, such as a SQL query).
    pub text: std::sync::Arc<str>,
}

/// The span tree, parallel to [`Doc::value`].
#[derive(Debug, Clone)]
pub struct Marked {
    pub span: Span,
    /// The text of a plain scalar that resolved to a number, bool or null.
    pub raw: Option<Box<str>>,
    pub kind: MarkedKind,
}

#[derive(Debug, Clone)]
pub enum MarkedKind {
    Scalar,
    Seq(Vec<Marked>),
    Map(Vec<(String, Span, Marked)>),
}

impl Marked {
    fn count(&self) -> usize {
        1 + match &self.kind {
            MarkedKind::Scalar => 0,
            MarkedKind::Seq(v) => v.iter().map(Marked::count).sum(),
            MarkedKind::Map(v) => v.iter().map(|(_, _, m)| m.count()).sum(),
        }
    }
}

/// One step of a path into a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

impl Doc {
    /// The node at `path`, and the span of the key that led to it (if the last step was a key).
    pub fn lookup(&self, path: &[Seg]) -> Option<(&Marked, Option<Span>)> {
        let mut node = &self.root;
        let mut key_span = None;
        for seg in path {
            match (seg, &node.kind) {
                (Seg::Key(k), MarkedKind::Map(entries)) => {
                    let (_, ks, child) = entries.iter().find(|(name, _, _)| name == k)?;
                    key_span = Some(*ks);
                    node = child;
                }
                (Seg::Index(i), MarkedKind::Seq(items)) => {
                    node = items.get(*i)?;
                    key_span = None;
                }
                _ => return None,
            }
        }
        Some((node, key_span))
    }

    /// The best span for a problem with the value at `path`: the value itself, or the
    /// nearest ancestor that exists.
    pub fn span_of(&self, path: &[Seg]) -> Option<Span> {
        (0..=path.len()).rev().find_map(|n| {
            self.lookup(&path[..n])
                .map(|(m, k)| pick(m, k, n < path.len()))
        })
    }

    /// The span of the key that names `path` (for "unknown key" and "missing key" errors).
    pub fn key_span_of(&self, path: &[Seg]) -> Option<Span> {
        (0..=path.len())
            .rev()
            .find_map(|n| self.lookup(&path[..n]).map(|(m, k)| k.unwrap_or(m.span)))
    }

    /// The span of a key named `key` inside the mapping at `path`.
    pub fn key_in(&self, path: &[Seg], key: &str) -> Option<Span> {
        match &self.lookup(path)?.0.kind {
            MarkedKind::Map(entries) => entries.iter().find(|(k, _, _)| k == key).map(|e| e.1),
            _ => None,
        }
    }
}

impl Doc {
    /// The span of character `index` of the string scalar at `path` whose value is
    /// `value`: each character of the value is matched to the next equal one in the
    /// source (skipping a block scalar's header, indentation and quotes). `None` when
    /// the scalar is missing or does not align (escapes).
    pub fn span_in_scalar(&self, path: &[Seg], value: &str, index: usize) -> Option<Span> {
        let (m, _) = self.lookup(path)?;
        let src = self.text.get(m.span.start..m.span.end)?;
        let mut pos = match src.chars().next() {
            Some('|' | '>') => src.find('\n')? + 1,
            Some('"' | '\'') => 1,
            _ => 0,
        };
        for (i, ch) in value.chars().enumerate() {
            let found = src[pos..].find(ch)? + pos;
            if i == index {
                let end = src[found..]
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .map_or(src.len(), |e| found + e.max(ch.len_utf8()));
                return Some(self.span_at(m.span.start + found, m.span.start + end));
            }
            pos = found + ch.len_utf8();
        }
        // Just past the end of the value (an error at the end of the query).
        Some(self.span_at(m.span.start + pos, m.span.start + pos))
    }

    fn span_at(&self, start: usize, end: usize) -> Span {
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = self.text[line_start..start].chars().count() + 1;
        Span {
            file: self.file,
            start,
            end,
            line,
            col,
        }
    }
}

fn pick(m: &Marked, key: Option<Span>, ancestor: bool) -> Span {
    // For an ancestor (the value itself is missing) point at its key, which is
    // where a reader would add the missing part.
    if ancestor {
        key.unwrap_or(m.span)
    } else {
        m.span
    }
}

/// Parses `file` into a [`Doc`], or returns the diagnostics that prevent it.
pub fn load(file_id: FileId, file: &SourceFile) -> Result<Doc, Vec<Diagnostic>> {
    let text = file.text.as_str();
    if text.trim().is_empty() {
        return Err(vec![
            Diagnostic::error("PW0003", "the file is empty")
                .in_file(&file.path)
                .help("a spec needs at least `version`, `name`, `environments` and `sources`; run `pipewright schema` for the full shape"),
        ]);
    }
    let mut b = Builder {
        file_id,
        file,
        cursor: CharCursor::new(text),
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        root: None,
        documents: 0,
    };
    let mut parser = Parser::new_from_str(text);
    loop {
        match parser.next_event() {
            None => break,
            Some(Err(e)) => {
                let m = e.marker();
                let off = b.cursor.byte_of(m.index());
                let span = file.span(file_id, off, off);
                let info = e.info().to_string();
                if info.contains("recursion limit") {
                    return Err(vec![
                        Diagnostic::error("PW0007", "nesting is too deep for a spec")
                            .at(span)
                            .label("too deep")
                            .help("a pipeline spec never needs this depth; check the file is the right one"),
                    ]);
                }
                let mut d = Diagnostic::error("PW0001", format!("YAML syntax error: {info}"))
                    .at(span)
                    .label("here");
                if info.contains("tab") || line_has_tab_indent(text, off) {
                    d = d.help("YAML does not allow tabs for indentation; indent with spaces");
                }
                return Err(vec![d]);
            }
            Some(Ok((ev, span))) => b.event(ev, span)?,
        }
    }
    match b.root {
        Some((value, root)) => Ok(Doc {
            value,
            root,
            file: file_id,
            text: text.into(),
        }),
        None => Err(vec![
            Diagnostic::error("PW0003", "the file holds no YAML document (only comments?)")
                .in_file(&file.path),
        ]),
    }
}

fn line_has_tab_indent(text: &str, off: usize) -> bool {
    let start = text[..off.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    text[start..].starts_with(['\t', ' '])
        && text[start..]
            .chars()
            .take_while(|c| c.is_whitespace() && *c != '\n')
            .any(|c| c == '\t')
}

/// Converts saphyr's character indices to byte offsets without rescanning the text
/// for every event (events arrive in order, so a moving cursor is linear overall).
struct CharCursor<'a> {
    text: &'a str,
    ascii: bool,
    chars: usize,
    bytes: usize,
}

impl<'a> CharCursor<'a> {
    fn new(text: &'a str) -> Self {
        CharCursor {
            text,
            ascii: text.is_ascii(),
            chars: 0,
            bytes: 0,
        }
    }

    fn byte_of(&mut self, char_index: usize) -> usize {
        if self.ascii {
            return char_index.min(self.text.len());
        }
        if char_index < self.chars {
            self.chars = 0;
            self.bytes = 0;
        }
        let mut it = self.text[self.bytes..].char_indices();
        while self.chars < char_index {
            match it.next() {
                Some((_, c)) => {
                    self.bytes += c.len_utf8();
                    self.chars += 1;
                }
                None => break,
            }
        }
        self.bytes
    }
}

enum Frame {
    Seq {
        start: usize,
        anchor: usize,
        values: Vec<Value>,
        marks: Vec<Marked>,
    },
    Map {
        start: usize,
        anchor: usize,
        values: Map<String, Value>,
        marks: Vec<(String, Span, Marked)>,
        pending_key: Option<(String, Span)>,
        /// Keys from `<<` merges: overridable by explicit keys.
        merged: std::collections::BTreeSet<String>,
    },
}

struct Builder<'a> {
    file_id: FileId,
    file: &'a SourceFile,
    cursor: CharCursor<'a>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Value, Marked, usize)>,
    nodes: usize,
    root: Option<(Value, Marked)>,
    documents: usize,
}

type Res = Result<(), Vec<Diagnostic>>;

impl Builder<'_> {
    fn span(&mut self, s: YSpan) -> Span {
        let a = self.cursor.byte_of(s.start.index());
        let b = self.cursor.byte_of(s.end.index()).max(a);
        self.file.span(self.file_id, a, b)
    }

    fn err(&self, code: &'static str, msg: impl Into<String>, span: Span) -> Vec<Diagnostic> {
        vec![Diagnostic::error(code, msg).at(span)]
    }

    fn count(&mut self, n: usize, span: Span, alias: bool) -> Res {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            let msg = if alias {
                format!("alias expansion makes the document larger than {MAX_NODES} values")
            } else {
                format!("the document has more than {MAX_NODES} values")
            };
            return Err(self.err("PW0008", msg, span).into_iter().map(|d| {
                d.label("limit reached here").help(if alias {
                    "this looks like an alias bomb (\"billion laughs\"); use fewer nested aliases"
                } else {
                    "a pipeline spec is far smaller than this; split it or check the file is the right one"
                })
            }).collect());
        }
        Ok(())
    }

    fn event(&mut self, ev: Event<'_>, ys: YSpan) -> Res {
        match ev {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => Ok(()),
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    let span = self.span(ys);
                    return Err(self.err(
                        "PW0006",
                        "the file holds more than one YAML document",
                        span,
                    )
                    .into_iter()
                    .map(|d| {
                        d.label("second document starts here")
                            .help("a spec is a single document: remove the `---` separator and what follows, or merge the documents")
                    })
                    .collect());
                }
                Ok(())
            }
            Event::Alias(id) => {
                let span = self.span(ys);
                let Some((v, m, n)) = self.anchors.get(&id) else {
                    return Err(self.err("PW0001", "YAML alias to an unknown anchor", span));
                };
                let (v, m, n) = (v.clone(), m.clone(), *n);
                self.count(n, span, true)?;
                // The copy keeps the anchor's spans; point the top at the alias itself.
                let m = Marked { span, ..m };
                self.push_value(v, m, span)
            }
            Event::Scalar(text, style, anchor, tag) => {
                let span = self.span(ys);
                self.count(1, span, false)?;
                let force_str = match tag.as_deref() {
                    None => false,
                    Some(t) if t.handle == "tag:yaml.org,2002:" && t.suffix == "str" => true,
                    Some(t) => {
                        return Err(self.err(
                            "PW0005",
                            format!("unsupported YAML tag `{}{}`", display_handle(&t.handle), t.suffix),
                            span,
                        )
                        .into_iter()
                        .map(|d| d.help("specs use plain YAML only; remove the tag (only `!!str` is accepted, to force a string)"))
                        .collect());
                    }
                };
                let (value, raw) = if style == ScalarStyle::Plain && !force_str {
                    resolve_plain(&text)
                } else {
                    (Value::String(text.into_owned()), None)
                };
                let marked = Marked {
                    span,
                    raw,
                    kind: MarkedKind::Scalar,
                };
                if anchor != 0 {
                    self.anchors
                        .insert(anchor, (value.clone(), marked.clone(), 1));
                }
                self.push_value(value, marked, span)
            }
            Event::SequenceStart(anchor, tag) => {
                let span = self.span(ys);
                self.check_collection_tag(tag.as_deref(), "seq", span)?;
                self.open(span, anchor, true)
            }
            Event::MappingStart(anchor, tag) => {
                let span = self.span(ys);
                self.check_collection_tag(tag.as_deref(), "map", span)?;
                self.open(span, anchor, false)
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let end_span = self.span(ys);
                let frame = self.stack.pop().expect("balanced events");
                let (value, marked, anchor) = match frame {
                    Frame::Seq {
                        start,
                        anchor,
                        values,
                        marks,
                    } => (
                        Value::Array(values),
                        Marked {
                            span: self.collection_span(
                                start,
                                end_span,
                                marks.last().map(|m| m.span.end),
                            ),
                            raw: None,
                            kind: MarkedKind::Seq(marks),
                        },
                        anchor,
                    ),
                    Frame::Map {
                        start,
                        anchor,
                        values,
                        marks,
                        ..
                    } => (
                        Value::Object(values),
                        Marked {
                            span: self.collection_span(
                                start,
                                end_span,
                                marks.last().map(|m| m.2.span.end),
                            ),
                            raw: None,
                            kind: MarkedKind::Map(marks),
                        },
                        anchor,
                    ),
                };
                if anchor != 0 {
                    let n = marked.count();
                    self.anchors
                        .insert(anchor, (value.clone(), marked.clone(), n));
                }
                let span = marked.span;
                self.push_value(value, marked, span)
            }
        }
    }

    /// The span of a finished collection: up to the closing bracket of a flow
    /// collection, or the end of the last entry of a block one (saphyr's end events
    /// sit at the next token, after comments).
    fn collection_span(
        &self,
        start: usize,
        end_event: Span,
        last_child_end: Option<usize>,
    ) -> Span {
        let flow = matches!(self.file.text.as_bytes().get(start), Some(b'[' | b'{'));
        let end = if flow {
            end_event.start + 1
        } else {
            last_child_end.unwrap_or(start)
        };
        self.file.span(self.file_id, start, end.max(start))
    }

    fn check_collection_tag(
        &self,
        tag: Option<&saphyr_parser::Tag>,
        core: &str,
        span: Span,
    ) -> Res {
        match tag {
            None => Ok(()),
            Some(t) if t.handle == "tag:yaml.org,2002:" && t.suffix == core => Ok(()),
            Some(t) => Err(self
                .err(
                    "PW0005",
                    format!(
                        "unsupported YAML tag `{}{}`",
                        display_handle(&t.handle),
                        t.suffix
                    ),
                    span,
                )
                .into_iter()
                .map(|d| d.help("specs use plain YAML only; remove the tag"))
                .collect()),
        }
    }

    fn open(&mut self, span: Span, anchor: usize, seq: bool) -> Res {
        self.count(1, span, false)?;
        if self.stack.len() >= MAX_DEPTH {
            return Err(self
                .err(
                    "PW0007",
                    format!("nesting deeper than {MAX_DEPTH} levels"),
                    span,
                )
                .into_iter()
                .map(|d| {
                    d.label("too deep").help(
                        "a pipeline spec never needs this depth; check the file is the right one",
                    )
                })
                .collect());
        }
        if let Some(Frame::Map {
            pending_key: None, ..
        }) = self.stack.last()
        {
            return Err(self
                .err(
                    "PW0009",
                    "mapping keys must be plain scalars, not collections",
                    span,
                )
                .into_iter()
                .map(|d| d.help("use a string key"))
                .collect());
        }
        self.stack.push(if seq {
            Frame::Seq {
                start: span.start,
                anchor,
                values: Vec::new(),
                marks: Vec::new(),
            }
        } else {
            Frame::Map {
                start: span.start,
                anchor,
                values: Map::new(),
                marks: Vec::new(),
                pending_key: None,
                merged: std::collections::BTreeSet::new(),
            }
        });
        Ok(())
    }

    fn push_value(&mut self, value: Value, marked: Marked, span: Span) -> Res {
        match self.stack.last_mut() {
            None => {
                if !value.is_object() {
                    let kind = match &value {
                        Value::Array(_) => "a list",
                        Value::Null => "null",
                        _ => "a scalar",
                    };
                    return Err(vec![
                        Diagnostic::error(
                            "PW0009",
                            format!("the top level of a spec must be a mapping, found {kind}"),
                        )
                        .at(span)
                        .help("start the file with keys such as `version: 1` and `name: ...`"),
                    ]);
                }
                self.root = Some((value, marked));
                Ok(())
            }
            Some(Frame::Seq { values, marks, .. }) => {
                values.push(value);
                marks.push(marked);
                Ok(())
            }
            Some(Frame::Map {
                values,
                marks,
                pending_key,
                merged,
                ..
            }) => match pending_key.take() {
                None => {
                    // This value is a key.
                    let key = match value {
                        Value::String(s) => s,
                        Value::Null if marked.raw.is_none() => String::new(),
                        _ => marked.raw.as_deref().map(str::to_owned).unwrap_or_default(),
                    };
                    // `values` is a sorted map: the check is O(log n), so a mapping
                    // with many keys stays linear overall.
                    if values.contains_key(&key)
                        && !merged.contains(&key)
                        && let Some(prev) = marks.iter().find(|(k, _, _)| *k == key)
                    {
                        let (line, _) = (prev.1.line, prev.1.col);
                        return Err(vec![
                            Diagnostic::error("PW0004", format!("duplicate key `{key}`"))
                                .at(span)
                                .label("defined again here")
                                .note(format!("first defined on line {line}"))
                                .help("each key may appear once per mapping; remove or rename one"),
                        ]);
                    }
                    *pending_key = Some((key, span));
                    Ok(())
                }
                Some((key, key_span)) if key == "<<" => {
                    // YAML merge key: copy entries of the merged mapping(s) that are
                    // not set explicitly.
                    let sources: Vec<(Value, Marked)> = match (value, marked.kind) {
                        (Value::Object(o), kind @ MarkedKind::Map(_)) => vec![(
                            Value::Object(o),
                            Marked {
                                span: marked.span,
                                raw: None,
                                kind,
                            },
                        )],
                        (Value::Array(items), MarkedKind::Seq(ms)) => {
                            items.into_iter().zip(ms).collect()
                        }
                        _ => {
                            return Err(vec![
                                Diagnostic::error(
                                    "PW0009",
                                    "`<<` must merge a mapping or a list of mappings",
                                )
                                .at(key_span),
                            ]);
                        }
                    };
                    for (v, m) in sources {
                        let (Value::Object(o), MarkedKind::Map(entries)) = (v, m.kind) else {
                            return Err(vec![
                                Diagnostic::error(
                                    "PW0009",
                                    "`<<` must merge a mapping or a list of mappings",
                                )
                                .at(key_span),
                            ]);
                        };
                        for ((k, v), (_, ks, m)) in o.into_iter().zip(entries) {
                            if !values.contains_key(&k) {
                                values.insert(k.clone(), v);
                                marks.push((k.clone(), ks, m));
                                merged.insert(k);
                            }
                        }
                    }
                    Ok(())
                }
                Some((key, key_span)) => {
                    if merged.remove(&key) {
                        // An explicit key overrides a merged one.
                        marks.retain(|(k, _, _)| *k != key);
                    }
                    values.insert(key.clone(), value);
                    marks.push((key, key_span, marked));
                    Ok(())
                }
            },
        }
    }
}

fn display_handle(h: &str) -> &str {
    if h == "tag:yaml.org,2002:" { "!!" } else { h }
}

/// Resolves a plain scalar by the YAML 1.2 core schema. Returns the value and, when it
/// is not a string, the source text.
fn resolve_plain(s: &str) -> (Value, Option<Box<str>>) {
    let raw = || Some(Box::<str>::from(s));
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return (Value::Null, raw()),
        "true" | "True" | "TRUE" => return (Value::Bool(true), raw()),
        "false" | "False" | "FALSE" => return (Value::Bool(false), raw()),
        _ => {}
    }
    if is_int(s) {
        if let Ok(i) = s.parse::<i64>() {
            return (Value::Number(i.into()), raw());
        }
        if let Ok(u) = s.parse::<u64>() {
            return (Value::Number(u.into()), raw());
        }
    }
    if let Some(hex) = s.strip_prefix("0x")
        && !hex.is_empty()
        && hex.chars().all(|c| c.is_ascii_hexdigit())
        && let Ok(u) = u64::from_str_radix(hex, 16)
    {
        return (Value::Number(u.into()), raw());
    }
    if let Some(oct) = s.strip_prefix("0o")
        && !oct.is_empty()
        && oct.chars().all(|c| ('0'..='7').contains(&c))
        && let Ok(u) = u64::from_str_radix(oct, 8)
    {
        return (Value::Number(u.into()), raw());
    }
    if is_float(s)
        && let Some(n) = s.parse::<f64>().ok().and_then(Number::from_f64)
    {
        return (Value::Number(n), raw());
    }
    (Value::String(s.to_owned()), None)
}

fn is_int(s: &str) -> bool {
    let d = s.strip_prefix(['-', '+']).unwrap_or(s);
    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
}

fn is_float(s: &str) -> bool {
    // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let b = s.strip_prefix(['-', '+']).unwrap_or(s).as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - st
    };
    let int = digits(&mut i);
    let mut frac = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        frac = digits(&mut i);
    } else if int == 0 {
        return false;
    }
    if int == 0 && frac == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::SourceMap;

    fn load_str(s: &str) -> Result<Doc, Vec<Diagnostic>> {
        let mut sm = SourceMap::default();
        let id = sm.add("t.yaml".into(), s.to_owned());
        load(id, sm.get(id))
    }

    #[test]
    fn core_schema_scalars() {
        let d = load_str("a: no\nb: 012\nc: 1.5\nd: ~\ne: '7'\nf: true\ng: 0x1F\nh: .5\n").unwrap();
        assert_eq!(d.value["a"], Value::String("no".into()));
        assert_eq!(d.value["b"], Value::Number(12.into()));
        assert_eq!(d.value["c"].as_f64(), Some(1.5));
        assert_eq!(d.value["d"], Value::Null);
        assert_eq!(d.value["e"], Value::String("7".into()));
        assert_eq!(d.value["f"], Value::Bool(true));
        assert_eq!(d.value["g"], Value::Number(31.into()));
        assert_eq!(d.value["h"].as_f64(), Some(0.5));
        let (m, _) = d.lookup(&[Seg::Key("b".into())]).unwrap();
        assert_eq!(m.raw.as_deref(), Some("012"));
    }

    #[test]
    fn spans_point_at_values() {
        let d = load_str("top:\n  inner: [1, 2]\n  name: héllo\n").unwrap();
        let s = d
            .span_of(&[Seg::Key("top".into()), Seg::Key("name".into())])
            .unwrap();
        assert_eq!((s.line, s.col), (3, 9));
        let s = d
            .span_of(&[
                Seg::Key("top".into()),
                Seg::Key("inner".into()),
                Seg::Index(1),
            ])
            .unwrap();
        assert_eq!((s.line, s.col), (2, 14));
    }

    #[test]
    fn rejects_duplicates_tags_and_documents() {
        let e = load_str("a: 1\na: 2\n").unwrap_err();
        assert_eq!(e[0].code, "PW0004");
        let e = load_str("a: !custom 1\n").unwrap_err();
        assert_eq!(e[0].code, "PW0005");
        let e = load_str("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(e[0].code, "PW0006");
        let e = load_str("- 1\n").unwrap_err();
        assert_eq!(e[0].code, "PW0009");
    }

    #[test]
    fn merge_keys_and_overrides() {
        let d = load_str("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n").unwrap();
        assert_eq!(d.value["other"]["x"], Value::Number(1.into()));
        assert_eq!(d.value["other"]["y"], Value::Number(3.into()));
    }

    #[test]
    fn deep_nesting_is_refused_without_overflow() {
        let s = format!("a: {}{}", "[".repeat(100_000), "]".repeat(100_000));
        let e = load_str(&s).unwrap_err();
        assert_eq!(e[0].code, "PW0007");
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            s.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let e = load_str(&s).unwrap_err();
        assert_eq!(e[0].code, "PW0008");
    }

    #[test]
    fn float_grammar() {
        for ok in ["1.0", "-2.5e3", ".5", "5.", "1e9"] {
            assert!(is_float(ok), "{ok}");
        }
        for bad in ["e3", ".", "1.2.3", "1e", "abc", "-"] {
            assert!(!is_float(bad), "{bad}");
        }
    }
}
