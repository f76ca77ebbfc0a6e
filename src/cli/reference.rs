//! `schema` and `explain CODE`: the spec language's JSON Schema and the catalogue of
//! diagnostic codes. Neither reads a spec.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;

use crate::spec;

#[derive(Args, Debug)]
pub struct SchemaArgs {
    /// Write the schema to this file (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// A code (`PW0201`) or rule name (`undefined-source`).
    pub code: Option<String>,
}

pub(super) fn schema(a: &SchemaArgs) -> io::Result<u8> {
    let text = schema_text();
    match &a.out {
        Some(p) => {
            crate::fsio::write_atomic(p, text.as_bytes())?;
            eprintln!("wrote {}", p.display());
        }
        None => io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(0)
}

/// The schema as committed in `pipeline.schema.json`.
pub fn schema_text() -> String {
    let mut s =
        serde_json::to_string_pretty(spec::shape::json_schema()).expect("schema serialises");
    s.push('\n');
    s
}

pub(super) fn explain(a: &ExplainArgs) -> io::Result<u8> {
    let mut out = io::stdout().lock();
    match &a.code {
        None => {
            for r in crate::rules::RULES {
                writeln!(
                    out,
                    "{}  {:<8} {:<24} {}",
                    r.code, r.severity, r.name, r.summary
                )?;
            }
            Ok(0)
        }
        Some(code) => match crate::rules::find(code) {
            Some(r) => {
                writeln!(
                    out,
                    "{} {} ({})\n\n{}.\n\n{}",
                    r.code,
                    r.name,
                    r.severity,
                    capitalise(r.summary),
                    r.explanation
                )?;
                Ok(0)
            }
            None => {
                eprintln!(
                    "error: no diagnostic code or rule named `{code}`; `pipewright explain` lists them"
                );
                Ok(2)
            }
        },
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
