//! `graph`, `cost` and `docs`: the commands that explain a pipeline to people.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;

use super::{Cli, Format, validated};
use crate::plan::Plan;

#[derive(Args, Debug)]
pub struct GraphArgs {
    /// The spec file.
    #[arg(default_value = "pipeline.yaml")]
    pub spec: PathBuf,
}

/// Lowers the one environment a command works on; `--env` may be left out only
/// when the spec has a single environment.
pub(super) fn plan_of(cli: &Cli, spec: &std::path::Path) -> Result<Plan, u8> {
    let v = validated(spec, cli.env.as_deref())?;
    let env = match &cli.env {
        Some(e) => e.clone(),
        None if v.spec.environments.len() == 1 => v
            .spec
            .environments
            .keys()
            .next()
            .cloned()
            .unwrap_or_default(),
        None => {
            let known: Vec<&str> = v.spec.environments.keys().map(String::as_str).collect();
            eprintln!(
                "error: pass --env NAME (the spec defines {})",
                known.join(", ")
            );
            return Err(2);
        }
    };
    crate::plan::lower(&v, &env).map_err(|d| {
        eprint!(
            "{}",
            crate::diag::render_human(&d, &crate::diag::SourceMap::default(), false)
        );
        1
    })
}

pub(super) fn graph(cli: &Cli, a: &GraphArgs) -> io::Result<u8> {
    let plan = match plan_of(cli, &a.spec) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let g = crate::graph::build(&plan);
    let text = match cli.format {
        Format::Dot => g.dot(),
        Format::Mermaid | Format::Human => g.mermaid(),
        Format::Json => {
            eprintln!("error: `graph` draws DOT or Mermaid: --format dot|mermaid");
            return Ok(2);
        }
    };
    io::stdout().lock().write_all(text.as_bytes())?;
    Ok(0)
}
