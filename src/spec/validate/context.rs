//! The validation context every section's rules report through: the spec, its
//! document (for spans), the names other sections define, and the diagnostics so far.
//! It holds no rules of its own beyond the shared "is not defined" reports.

use std::collections::BTreeMap;

use super::INDEX_DATASET;
use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::spec::shape::did_you_mean;
use crate::spec::yaml::{Doc, Seg};
use crate::spec::{LoadedSchema, Spec, fmt_path};

/// What a reference may name, including entries shape validation dropped as broken
/// (so a reference to a broken source is not reported as undefined too).
#[derive(Clone, Copy)]
pub(super) struct Known<'a> {
    pub sources: &'a [&'a str],
    pub transforms: &'a [&'a str],
    pub datasets: &'a [&'a str],
    /// A transform was dropped as broken, so its dataset name is unknown: dataset
    /// references and "unread source" warnings are not reported.
    pub lenient: bool,
}

pub(super) struct Ctx<'a> {
    pub doc: &'a Doc,
    pub spec: &'a Spec,
    pub schemas: &'a BTreeMap<String, LoadedSchema>,
    pub known: Known<'a>,
    pub out: Diagnostics,
}

/// A path under construction: `p(&["sources", name])`.
pub(super) fn p(keys: &[&str]) -> Vec<Seg> {
    keys.iter().map(|k| Seg::Key((*k).to_owned())).collect()
}

pub(super) fn pi(keys: &[&str], i: usize) -> Vec<Seg> {
    let mut v = p(keys);
    v.push(Seg::Index(i));
    v
}

/// `base` followed by `keys`.
pub(super) fn under(base: &[Seg], keys: &[&str]) -> Vec<Seg> {
    let mut v = base.to_vec();
    v.extend(p(keys));
    v
}

impl Ctx<'_> {
    fn report(&mut self, sev: Severity, code: &'static str, at: &[Seg], msg: String) -> Edit<'_> {
        let d = match sev {
            Severity::Error => Diagnostic::error(code, msg),
            Severity::Warning => Diagnostic::warning(code, msg),
        }
        .at_opt(self.doc.span_of(at))
        .with_path(fmt_path(at));
        self.out.push(d);
        Edit(self.out.last_mut().expect("just pushed"))
    }

    /// An error at `span` (inside the value at `at`, such as a position in a query).
    pub(super) fn err_at(
        &mut self,
        code: &'static str,
        at: &[Seg],
        span: Option<crate::diag::Span>,
        msg: impl Into<String>,
    ) -> Edit<'_> {
        let d = Diagnostic::error(code, msg.into())
            .at_opt(span.or_else(|| self.doc.span_of(at)))
            .with_path(fmt_path(at));
        self.out.push(d);
        Edit(self.out.last_mut().expect("just pushed"))
    }

    pub(super) fn err(
        &mut self,
        code: &'static str,
        at: &[Seg],
        msg: impl Into<String>,
    ) -> Edit<'_> {
        self.report(Severity::Error, code, at, msg.into())
    }

    pub(super) fn warn(
        &mut self,
        code: &'static str,
        at: &[Seg],
        msg: impl Into<String>,
    ) -> Edit<'_> {
        self.report(Severity::Warning, code, at, msg.into())
    }

    /// Points the last diagnostic at the key instead of the value.
    pub(super) fn at_key(&mut self, at: &[Seg]) {
        let span = self.doc.key_span_of(at);
        if let Some(d) = self.out.last_mut() {
            d.location = match span {
                Some(s) => crate::diag::Location::Span(s),
                None => d.location.clone(),
            };
        }
    }

    pub(super) fn undefined(
        &mut self,
        code: &'static str,
        at: &[Seg],
        what: &str,
        name: &str,
        known: &[&str],
    ) {
        let msg = format!("{what} `{name}` is not defined");
        let help = match did_you_mean(name, known.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None if known.is_empty() => format!("no {what}s are defined"),
            None => format!("defined {what}s: {}", code_list(known)),
        };
        self.err(code, at, msg)
            .label(format!("unknown {what}"))
            .help(help);
    }

    /// A reference to a source by name.
    pub(super) fn source_ref(&mut self, at: &[Seg], s: &str) {
        let sources = self.known.sources;
        if !sources.contains(&s) {
            self.undefined("PW0201", at, "source", s, sources);
        }
    }

    /// A reference to a curated dataset (or, where `index_ok`, the metadata index).
    pub(super) fn dataset_ref(&mut self, at: &[Seg], d: &str, index_ok: bool) {
        let Known {
            datasets, lenient, ..
        } = self.known;
        if (index_ok && d == INDEX_DATASET) || datasets.contains(&d) || lenient {
            return;
        }
        let mut known: Vec<&str> = datasets.to_vec();
        if index_ok {
            known.push(INDEX_DATASET);
        }
        self.undefined("PW0202", at, "dataset", d, &known);
    }
}

/// Adds detail to a diagnostic that was just reported.
pub(super) struct Edit<'a>(&'a mut Diagnostic);

impl Edit<'_> {
    pub(super) fn label(self, l: impl Into<String>) -> Self {
        self.0.label = Some(l.into());
        self
    }
    pub(super) fn help(self, h: impl Into<String>) -> Self {
        self.0.help = Some(h.into());
        self
    }
    pub(super) fn note(self, n: impl Into<String>) -> Self {
        self.0.notes.push(n.into());
        self
    }
}

pub(super) fn code_list<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| format!("`{}`", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}
