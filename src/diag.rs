//! Diagnostics as data: every phase reports problems as [`Diagnostic`] values, and one
//! renderer turns them into rustc-style text or JSON. This module knows nothing about
//! YAML or AWS; it only knows files, byte ranges and messages.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub mod sarif;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// Index of a file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub usize);

/// A byte range in one file, with the 1-based line and column of its start
/// (column counted in characters, as editors do).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub file: FileId,
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub col: usize,
}

/// The files that diagnostics may point into.
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(path: PathBuf, text: String) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile {
            path,
            text,
            line_starts,
        }
    }

    /// Byte offset of a (1-based line, 0-based char column) position.
    pub fn offset_of(&self, line: usize, col_chars: usize) -> usize {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let rest = &self.text[start..];
        rest.char_indices()
            .nth(col_chars)
            .map(|(i, _)| start + i)
            .unwrap_or(self.text.len())
            .min(self.text.len())
    }

    /// 1-based line and 1-based char column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line_idx = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line_idx];
        let col = self
            .text
            .get(start..offset)
            .map_or(0, |s| s.chars().count());
        (line_idx + 1, col + 1)
    }

    /// A span covering the byte range `start..end`.
    pub fn span(&self, file: FileId, start: usize, end: usize) -> Span {
        let start = floor_char_boundary(&self.text, start.min(self.text.len()));
        let end = floor_char_boundary(&self.text, end.clamp(start, self.text.len()));
        let (line, col) = self.line_col(start);
        Span {
            file,
            start,
            end,
            line,
            col,
        }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl SourceMap {
    pub fn add(&mut self, path: PathBuf, text: String) -> FileId {
        self.files.push(SourceFile::new(path, text));
        FileId(self.files.len() - 1)
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0]
    }

    pub fn path(&self, id: FileId) -> &Path {
        &self.files[id.0].path
    }
}

/// Where a diagnostic points: a file (when the problem is about a file as a whole),
/// or a span inside one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    None,
    File(PathBuf),
    Span(Span),
}

/// One finding. `code` is a stable identifier from [`crate::rules`]; `path` is the
/// dotted path inside the spec (`sources.pos.route`) when the problem is about a value.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub path: Option<String>,
    pub location: Location,
    pub label: Option<String>,
    pub help: Option<String>,
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            path: None,
            location: Location::None,
            label: None,
            help: None,
            notes: Vec::new(),
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    pub fn at(mut self, span: Span) -> Self {
        self.location = Location::Span(span);
        self
    }

    pub fn at_opt(self, span: Option<Span>) -> Self {
        match span {
            Some(s) => self.at(s),
            None => self,
        }
    }

    pub fn in_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.location = Location::File(path.into());
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A set of diagnostics, kept in a stable order (by file, position, then code).
#[derive(Debug, Default, Clone)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn extend(&mut self, other: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(other);
    }

    pub fn last_mut(&mut self) -> Option<&mut Diagnostic> {
        self.items.last_mut()
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.items.len() - self.error_count()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// Sorts into reading order and removes exact repeats.
    pub fn sorted(mut self) -> Self {
        self.items.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
        self.items.dedup_by(|a, b| {
            a.code == b.code
                && a.message == b.message
                && a.location == b.location
                && a.path == b.path
        });
        self
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<T: IntoIterator<Item = Diagnostic>>(iter: T) -> Self {
        Diagnostics {
            items: iter.into_iter().collect(),
        }
    }
}

fn sort_key(d: &Diagnostic) -> (usize, usize, String, &'static str, String) {
    let (file, pos, fname) = match &d.location {
        Location::Span(s) => (s.file.0, s.start, String::new()),
        Location::File(p) => (usize::MAX - 1, 0, p.display().to_string()),
        Location::None => (usize::MAX, 0, String::new()),
    };
    (file, pos, fname, d.code, d.message.clone())
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// The JSON form of a diagnostic (for `--format json`): stable field names, plain data.
#[derive(Serialize, Debug)]
pub struct JsonDiagnostic<'a> {
    pub code: &'a str,
    pub severity: Severity,
    pub message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub notes: &'a [String],
}

pub fn to_json<'a>(d: &'a Diagnostic, sources: &SourceMap) -> JsonDiagnostic<'a> {
    let (file, line, column, end_line, end_column) = match &d.location {
        Location::Span(s) => {
            let f = sources.get(s.file);
            let (el, ec) = f.line_col(s.end);
            (
                Some(f.path.display().to_string()),
                Some(s.line),
                Some(s.col),
                Some(el),
                Some(ec),
            )
        }
        Location::File(p) => (Some(p.display().to_string()), None, None, None, None),
        Location::None => (None, None, None, None, None),
    };
    JsonDiagnostic {
        code: d.code,
        severity: d.severity,
        message: &d.message,
        file,
        line,
        column,
        end_line,
        end_column,
        path: d.path.as_deref(),
        label: d.label.as_deref(),
        help: d.help.as_deref(),
        notes: &d.notes,
    }
}

/// Renders diagnostics the way rustc does: title, `--> file:line:col`, the source line
/// with the span underlined, then notes and help.
pub fn render_human(diags: &Diagnostics, sources: &SourceMap, color: bool) -> String {
    use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    for d in diags.iter() {
        let level = match d.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let title = level.primary_title(d.message.as_str()).id(d.code);
        let mut group: Group<'_> = match &d.location {
            Location::Span(span) => {
                let f = sources.get(span.file);
                let path = f.path.to_string_lossy();
                let (text, base, first_line) = excerpt(&f.text, span.start, span.end);
                let mut ann = AnnotationKind::Primary.span(span.start - base..span.end - base);
                if let Some(label) = &d.label {
                    ann = ann.label(label.as_str());
                }
                title.element(
                    Snippet::source(text)
                        .line_start(first_line)
                        .path(path.into_owned())
                        .annotation(ann),
                )
            }
            Location::File(p) => title.element(
                Snippet::<annotate_snippets::Annotation<'_>>::source("")
                    .path(p.to_string_lossy().into_owned()),
            ),
            Location::None => Group::with_title(title),
        };
        if let Some(path) = &d.path {
            group = group.element(Level::NOTE.message(format!("in `{path}`")));
        }
        for n in &d.notes {
            group = group.element(Level::NOTE.message(n.as_str()));
        }
        if let Some(h) = &d.help {
            group = group.element(Level::HELP.message(h.as_str()));
        }
        out.push_str(&renderer.render(&[group]));
        out.push_str("\n\n");
    }
    let (e, w) = (diags.error_count(), diags.warning_count());
    if e > 0 || w > 0 {
        out.push_str(&summary_line(e, w));
        out.push('\n');
    }
    out
}

/// "2 errors, 1 warning" in the style of cargo's summary.
pub fn summary_line(errors: usize, warnings: usize) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    match (errors, warnings) {
        (0, w) => format!("{} emitted", plural(w, "warning")),
        (e, 0) => format!("{} emitted", plural(e, "error")),
        (e, w) => format!("{}, {} emitted", plural(e, "error"), plural(w, "warning")),
    }
}

/// The lines around a span (at most 200 KiB of them), so that a diagnostic on a
/// 10 MB one-line scalar does not print the whole file.
fn excerpt(text: &str, start: usize, end: usize) -> (&str, usize, usize) {
    const MAX: usize = 2048;
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
    let (mut a, mut b) = (line_start, line_end);
    if b - a > MAX {
        a = floor_char_boundary(text, start.saturating_sub(MAX / 2).max(line_start));
        b = floor_char_boundary(text, (end + MAX / 2).min(line_end)).max(end);
    }
    let first_line = text[..a].matches('\n').count() + 1;
    (&text[a..b], a, first_line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_chars() {
        let f = SourceFile::new("x".into(), "ab\nçd\n".into());
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        assert_eq!(f.line_col(5), (2, 2)); // 'ç' is two bytes
        assert_eq!(f.offset_of(2, 1), 5);
    }

    #[test]
    fn summary_wording() {
        assert_eq!(summary_line(1, 0), "1 error emitted");
        assert_eq!(summary_line(2, 1), "2 errors, 1 warning emitted");
        assert_eq!(summary_line(0, 3), "3 warnings emitted");
    }

    #[test]
    fn excerpt_of_huge_line_is_bounded() {
        let text = "a".repeat(1_000_000);
        let (ex, base, line) = excerpt(&text, 500_000, 500_001);
        assert!(ex.len() <= 2100);
        assert!(base <= 500_000 && base + ex.len() >= 500_001);
        assert_eq!(line, 1);
    }
}
