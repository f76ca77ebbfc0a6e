//! `synth`: writes (or, with `--check`, compares) each environment's stacks and
//! policies, and prints a summary per environment.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;

use super::{Cli, Format, emit_plan, envs_of, validated};
use crate::cost::compliance;
use crate::cost::prices::PriceBook;
use crate::emit::{Drift, Output};

/// An environment's compliance cost: none without a posture; an error when the
/// price book has no prices for its regions.
type Posture = Result<Option<compliance::Posture>, String>;

#[derive(Args, Debug)]
pub struct SynthArgs {
    /// The spec file.
    #[arg(default_value = "pipeline.yaml")]
    pub spec: PathBuf,
    /// Root folder of the output (`DIR/stacks/<env>/`, `DIR/policies/<env>/`).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// Write nothing; exit 1 and list the files that differ from what the spec produces.
    #[arg(long)]
    pub check: bool,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

pub(super) fn synth(cli: &Cli, a: &SynthArgs) -> io::Result<u8> {
    let v = match validated(&a.spec, cli.env.as_deref()) {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let mut outputs = Vec::new();
    let mut postures = Vec::new();
    let book = PriceBook::builtin();
    for env in envs_of(&v, cli.env.as_deref()) {
        let plan = match super::plan_env(&v, env) {
            Ok(p) => p,
            Err(code) => return Ok(code),
        };
        match emit_plan(&plan, None) {
            Ok(o) => outputs.push(o),
            Err(code) => return Ok(code),
        }
        postures.push(compliance::posture(&plan, &book).map_err(|e| e.to_string()));
    }
    if a.check {
        return stale(&outputs, a);
    }
    let mut out = io::stdout().lock();
    for (o, posture) in outputs.iter().zip(&postures) {
        crate::emit::write(o, &a.out)?;
        for p in o.files.keys() {
            super::ui::detail(format_args!("wrote {}", a.out.join(p).display()));
        }
        if a.format == Format::Human {
            write_summary(&mut out, o, a)?;
            write_posture(&mut out, posture)?;
        }
    }
    match a.format {
        Format::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&json_summary(&outputs, &postures, a))?
        )?,
        Format::Human if !super::ui::quiet() => writeln!(
            out,
            "\nnext: review policies/<env>/README.md, then `pipewright deploy --env <env>` (or commit stacks/ and policies/ for CI)"
        )?,
        Format::Human => {}
    }
    Ok(0)
}

/// `--check`: lists the files that differ from what the spec produces; 1 if any do.
fn stale(outputs: &[Output], a: &SynthArgs) -> io::Result<u8> {
    let mut out = io::stdout().lock();
    let mut stale = 0;
    for o in outputs {
        for d in crate::emit::drift(o, &a.out)? {
            stale += 1;
            let (what, p) = match &d {
                Drift::Missing(p) => ("missing", p),
                Drift::Changed(p) => ("differs", p),
                Drift::Extra(p) => ("not generated", p),
            };
            writeln!(out, "{what:>13}  {}", a.out.join(p).display())?;
        }
    }
    if stale > 0 {
        writeln!(
            out,
            "{stale} file(s) are stale; run `pipewright synth {}` and commit the result",
            a.spec.display()
        )?;
        return Ok(1);
    }
    writeln!(
        out,
        "stacks/ and policies/ are up to date with {}",
        a.spec.display()
    )?;
    Ok(0)
}

/// One environment's stacks, roles and the posture's cost, for people.
fn write_summary(out: &mut impl Write, o: &Output, a: &SynthArgs) -> io::Result<()> {
    writeln!(
        out,
        "{} → {}",
        o.env,
        a.out.join("stacks").join(&o.env).display()
    )?;
    for (name, n, bytes) in &o.summary.stacks {
        let note = if *bytes > crate::emit::TEMPLATE_INLINE_BYTES {
            " (deployed from S3)"
        } else {
            ""
        };
        writeln!(
            out,
            "  stack {name:<40} {n:>3} resources {:>7} bytes{note}",
            bytes
        )?;
    }
    for (name, actions, statements) in &o.summary.roles {
        writeln!(
            out,
            "  role  {name:<40} {actions:>3} actions in {statements} statements"
        )?;
    }
    Ok(())
}

/// What the environment's compliance posture costs (the `cost` estimate's lines).
fn write_posture(out: &mut impl Write, posture: &Posture) -> io::Result<()> {
    match posture {
        Ok(None) => Ok(()),
        Ok(Some(p)) => p.lines().iter().try_for_each(|l| writeln!(out, "{l}")),
        Err(e) => writeln!(
            out,
            "  cost  compliance: not priced: {}: {e}",
            crate::cost::prices::BUILTIN_PATH
        ),
    }
}

/// Every environment's files, stacks, roles and the posture's cost, for machines.
fn json_summary(outputs: &[Output], postures: &[Posture], a: &SynthArgs) -> Vec<serde_json::Value> {
    outputs
        .iter()
        .zip(postures)
        .map(|(o, posture)| {
            serde_json::json!({
                "environment": o.env,
                "files": o.files.keys().map(|p| a.out.join(p).display().to_string()).collect::<Vec<_>>(),
                "stacks": o.summary.stacks.iter().map(|(n, r, b)| serde_json::json!({"name": n, "resources": r, "bytes": b})).collect::<Vec<_>>(),
                "roles": o.summary.roles.iter().map(|(n, a, s)| serde_json::json!({"name": n, "actions": a, "statements": s})).collect::<Vec<_>>(),
                "compliance_cost": match posture {
                    Ok(p) => serde_json::to_value(p).unwrap_or_default(),
                    Err(e) => serde_json::json!({"error": e}),
                },
            })
        })
        .collect()
}
