//! Diagnostics as a SARIF 2.1.0 log (`check --format sarif`), for code-scanning UIs: one
//! run whose tool lists the catalogue's rules that were reported (id = the PW code, the
//! rule's name, summary, explanation and default level), and one result per diagnostic
//! with its level, message (help and notes appended) and region (1-based lines,
//! columns in Unicode code points, the end column exclusive, as SARIF counts them).

use std::path::Path;

use serde_json::{Value, json};

use super::{Diagnostic, Diagnostics, Location, Severity, SourceMap};

/// The official schema's id, which `$schema` names.
pub const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The SARIF log of `diags`; diagnostics without a location point at `spec`.
pub fn log(diags: &Diagnostics, sources: &SourceMap, spec: &Path, exit_code: u8) -> Value {
    let mut codes: Vec<&'static str> = diags.iter().map(|d| d.code).collect();
    codes.sort_unstable();
    codes.dedup();
    let rules: Vec<Value> = codes.iter().map(|c| rule(c)).collect();
    let results: Vec<Value> = diags
        .iter()
        .map(|d| {
            let index = codes.binary_search(&d.code).unwrap_or_default();
            result(d, index, sources, spec)
        })
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "pipewright",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "invocations": [{"executionSuccessful": exit_code < 2, "exitCode": exit_code}],
            "results": results,
        }],
    })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// A reporting descriptor from the diagnostic catalogue (`crate::rules`).
fn rule(code: &str) -> Value {
    match crate::rules::find(code) {
        Some(r) => json!({
            "id": r.code,
            "name": r.name,
            "shortDescription": {"text": r.summary},
            "fullDescription": {"text": r.explanation},
            "help": {"text": format!("{}\n\n`pipewright explain {}` prints this.", r.explanation, r.code)},
            "defaultConfiguration": {"level": level(r.severity)},
        }),
        None => json!({"id": code}),
    }
}

fn result(d: &Diagnostic, rule_index: usize, sources: &SourceMap, spec: &Path) -> Value {
    let mut text = d.message.clone();
    if let Some(l) = &d.label {
        text.push_str(&format!(" ({l})"));
    }
    for n in &d.notes {
        text.push_str(&format!("\nnote: {n}"));
    }
    if let Some(h) = &d.help {
        text.push_str(&format!("\nhelp: {h}"));
    }
    let physical = match &d.location {
        Location::Span(s) => {
            let f = sources.get(s.file);
            let (end_line, end_column) = f.line_col(s.end);
            json!({
                "artifactLocation": {"uri": uri(&f.path)},
                "region": {
                    "startLine": s.line,
                    "startColumn": s.col,
                    "endLine": end_line,
                    "endColumn": end_column,
                },
            })
        }
        Location::File(p) => json!({"artifactLocation": {"uri": uri(p)}}),
        Location::None => json!({"artifactLocation": {"uri": uri(spec)}}),
    };
    let mut r = json!({
        "ruleId": d.code,
        "ruleIndex": rule_index,
        "level": level(d.severity),
        "message": {"text": text},
        "locations": [{"physicalLocation": physical}],
    });
    if let Some(p) = &d.path {
        r["properties"] = json!({"specPath": p});
    }
    r
}

/// A path as a URI reference: relative paths stay relative (to the repository root,
/// where code scanning resolves them), absolute ones become `file://` URIs; bytes
/// outside RFC 3986's unreserved set and `/` are percent-encoded.
pub fn uri(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    let s = s.strip_prefix("./").unwrap_or(&s);
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if s.starts_with('/') {
        format!("file://{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_encoded_references() {
        assert_eq!(uri(Path::new("pipeline.yaml")), "pipeline.yaml");
        assert_eq!(uri(Path::new("./specs/a b.yaml")), "specs/a%20b.yaml");
        assert_eq!(uri(Path::new("/tmp/x#1.yaml")), "file:///tmp/x%231.yaml");
    }
}
