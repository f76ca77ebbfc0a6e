//! `check`: validates a spec (and, with `--against`, its event schemas' evolution) and
//! renders the diagnostics, each environment's posture, and the schema changes.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::{Cli, load};
use crate::diag::{self, Diagnostic, Diagnostics};
use crate::spec::evolution::SourceEvolution;
use crate::spec::model::{Environment, Spec};
use crate::spec::{self, Checked, RealFiles};

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The spec file.
    #[arg(default_value = "pipeline.yaml")]
    pub spec: PathBuf,
    /// Treat warnings as errors.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Compare each source's event schema with a base spec: a git revision (`main`,
    /// `HEAD~1`, a tag) or a spec file. Breaking changes without a new major version fail.
    #[arg(long, value_name = "GIT-REF|FILE")]
    pub against: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    pub format: CheckFormat,
}

/// What `check` prints.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Diagnostics on stderr (rustc style); verdict and postures on stdout.
    Human,
    /// One JSON document on stdout: validity, counts, environments, diagnostics.
    Json,
    /// A SARIF 2.1.0 log on stdout, for code-scanning UIs (rule ids are PW codes).
    Sarif,
}

/// The base spec of `check --against`: a spec file, else the same spec at a git revision.
fn against(base: &str, spec_path: &Path) -> Result<Checked, u8> {
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("error: --against {base}: {e}");
        2
    };
    let loaded = if Path::new(base).is_file() {
        spec::check(Path::new(base), &RealFiles).map_err(|e| fail(&e))?
    } else {
        let git = spec::evolution::GitFiles::new(base).map_err(|e| fail(&e))?;
        spec::check(spec_path, &git).map_err(|e| fail(&e))?
    };
    if loaded.spec.is_none() {
        return Err(fail(
            &"the base spec does not load (run `pipewright check` on it)",
        ));
    }
    Ok(loaded)
}

pub(super) fn check(cli: &Cli, a: &CheckArgs) -> io::Result<u8> {
    let mut checked = match load(&a.spec) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    undefined_env(cli, &mut checked);
    synthesised(cli, &mut checked);
    let mut evolution = None;
    if let Some(base) = &a.against {
        match against(base, &a.spec) {
            Ok(b) => {
                let (found, diags) = spec::evolution::against(&b, &checked);
                let mut all = std::mem::take(&mut checked.diagnostics);
                for d in diags.iter() {
                    all.push(d.clone());
                }
                checked.diagnostics = all.sorted();
                evolution = Some(found);
            }
            Err(code) => return Ok(code),
        }
    }
    let failed = checked.diagnostics.has_errors()
        || (a.deny_warnings && checked.diagnostics.warning_count() > 0);
    match a.format {
        CheckFormat::Json => render_json(cli, a, &checked, failed, evolution.as_deref())?,
        CheckFormat::Sarif => {
            let log = diag::sarif::log(
                &checked.diagnostics,
                &checked.sources,
                &a.spec,
                u8::from(failed),
            );
            writeln!(
                io::stdout().lock(),
                "{}",
                serde_json::to_string_pretty(&log)?
            )?;
        }
        CheckFormat::Human => render_human(cli, a, &checked, failed, evolution.as_deref())?,
    }
    Ok(u8::from(failed))
}

/// What `synth` would say of each environment, so that a spec `check` accepts synthesises:
/// lowering's and emit's errors (CloudFormation's quotas, PW0301) and what the region
/// lacks (PW0231), each at the spec section that brings it. Nothing is dropped.
fn synthesised(cli: &Cli, checked: &mut Checked) {
    let Some(v) = checked.validated() else {
        return;
    };
    let found: Vec<Diagnostic> = super::envs_of(&v, cli.env.as_deref())
        .into_iter()
        .flat_map(|env| crate::emit::contract::refusals(&v, env))
        .collect();
    if found.is_empty() {
        return;
    }
    let mut all: Diagnostics = std::mem::take(&mut checked.diagnostics);
    for d in found {
        all.push(d);
    }
    checked.diagnostics = all.sorted();
}

/// `--env` names an environment the spec does not define: a diagnostic like the others.
fn undefined_env(cli: &Cli, checked: &mut Checked) {
    let (Some(env), Some(s)) = (&cli.env, &checked.spec) else {
        return;
    };
    if s.environments.contains_key(env) {
        return;
    }
    let known: Vec<&str> = s.environments.keys().map(String::as_str).collect();
    let mut d = Diagnostic::error("PW0203", format!("environment `{env}` is not defined")).at_opt(
        checked
            .doc
            .as_ref()
            .and_then(|d| d.key_span_of(&spec::path(&["environments"]))),
    );
    d = match spec::shape::did_you_mean(env, known.iter().copied()) {
        Some(k) => d.help(format!("did you mean `{k}`?")),
        None => d.help(format!("defined environments: {}", known.join(", "))),
    };
    let mut all: Diagnostics = std::mem::take(&mut checked.diagnostics);
    all.push(d);
    checked.diagnostics = all.sorted();
}

/// One JSON document on stdout: validity, counts, environments, diagnostics, schema changes.
fn render_json(
    cli: &Cli,
    a: &CheckArgs,
    checked: &Checked,
    failed: bool,
    evolution: Option<&[SourceEvolution]>,
) -> io::Result<()> {
    let diags: Vec<_> = checked
        .diagnostics
        .iter()
        .map(|d| diag::to_json(d, &checked.sources))
        .collect();
    let envs = checked.spec.as_ref().map(|s| {
        s.environments
            .iter()
            .filter(|(n, _)| cli.env.as_ref().is_none_or(|e| e == *n))
            .map(|(n, e)| {
                (
                    n.clone(),
                    serde_json::json!({
                        "account": e.account,
                        "region": e.region,
                        "partition": spec::validate::partition_of(&e.region),
                        "compliance": s.compliance(e),
                        "retain_data": e.retain_data.unwrap_or(true),
                    }),
                )
            })
            .collect::<serde_json::Map<_, _>>()
    });
    let doc = serde_json::json!({
        "spec": a.spec.display().to_string(),
        "valid": !failed,
        "errors": checked.diagnostics.error_count(),
        "warnings": checked.diagnostics.warning_count(),
        "environments": envs,
        "diagnostics": diags,
        "schema_changes": evolution.map(|found| found
            .iter()
            .map(|e| serde_json::json!({
                "source": e.source,
                "from": e.from,
                "to": e.to,
                "changes": e.changes.iter().map(|c| serde_json::json!({
                    "field": c.field,
                    "change": c.to_string(),
                    "breaking": c.breaking(),
                })).collect::<Vec<_>>(),
            }))
            .collect::<Vec<_>>()),
    });
    writeln!(
        io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(&doc)?
    )
}

/// Diagnostics on stderr; on stdout the verdict, each environment's posture and the
/// schema changes.
fn render_human(
    cli: &Cli,
    a: &CheckArgs,
    checked: &Checked,
    failed: bool,
    evolution: Option<&[SourceEvolution]>,
) -> io::Result<()> {
    let mut out = io::stdout().lock();
    let rendered = diag::render_human(&checked.diagnostics, &checked.sources, super::ui::color());
    let mut err = io::stderr().lock();
    err.write_all(rendered.as_bytes())?;
    if failed {
        writeln!(
            err,
            "error: {} is invalid{}",
            a.spec.display(),
            if checked.diagnostics.has_errors() {
                ""
            } else {
                " (warnings denied)"
            }
        )?;
    } else if let Some(s) = &checked.spec {
        writeln!(
            out,
            "{}: valid ({} environment{}, {} source{}, {} transform{})",
            a.spec.display(),
            s.environments.len(),
            plural(s.environments.len()),
            s.sources.len(),
            plural(s.sources.len()),
            s.transforms.len(),
            plural(s.transforms.len()),
        )?;
        for (name, e) in &s.environments {
            if cli.env.as_ref().is_some_and(|x| x != name) {
                continue;
            }
            write_posture(&mut out, s, name, e)?;
        }
    }
    if let (Some(found), Some(base)) = (evolution, &a.against) {
        write_evolution(&mut out, found, base)?;
    }
    Ok(())
}

/// An environment's account, region, compliance posture and what the posture builds.
fn write_posture(out: &mut impl Write, s: &Spec, name: &str, e: &Environment) -> io::Result<()> {
    let comp = s.compliance(e);
    let posture = if comp.is_empty() {
        "no compliance posture (opted out)".to_owned()
    } else {
        format!(
            "compliance: {} (VPC + endpoints, replication to {})",
            comp.iter()
                .map(|c| serde_json::to_value(c)
                    .unwrap()
                    .as_str()
                    .unwrap_or("")
                    .to_owned())
                .collect::<Vec<_>>()
                .join(", "),
            e.replica_region.as_deref().unwrap_or("?")
        )
    };
    let data = if e.retain_data.unwrap_or(true) {
        "data retained on delete"
    } else {
        "data deleted with stacks"
    };
    writeln!(
        out,
        "  {name:<10} {} {:<14} {posture}; {data}",
        e.account, e.region
    )?;
    let what = if comp.is_empty() {
        "no VPC, endpoints, replication or Object Lock (warning PW0901); guard packs only report"
            .to_owned()
    } else {
        format!(
            "functions and jobs in private subnets reaching AWS only through VPC endpoints; every route signed (SigV4) and metered by an API key; data buckets replicated under a key of the replica region; Object Lock, access logs, KMS-encrypted logs; built to pass the guard packs {}",
            crate::plan::PCI_DSS_RULE_SETS.join(", ")
        )
    };
    writeln!(out, "  {:<10} {what}", "")?;
    writeln!(
        out,
        "  {:<10} Glue database `{}`",
        "",
        s.glue_database(name)
    )
}

/// Each source's event schema change since `base`, field by field.
fn write_evolution(out: &mut impl Write, found: &[SourceEvolution], base: &str) -> io::Result<()> {
    if found.is_empty() {
        writeln!(out, "event schemas: unchanged since {base}")?;
    }
    for e in found {
        let breaking = e.changes.iter().any(|c| c.breaking());
        let major = |v: &str| v.split('.').next().map(str::to_owned);
        writeln!(
            out,
            "event schema `{}`: {} → {} ({})",
            e.source,
            e.from,
            e.to,
            if breaking && major(&e.from) != major(&e.to) {
                "breaking, under a new major version: a new versioned dataset"
            } else if breaking {
                "breaking"
            } else if e.changes.is_empty() {
                "no field changes"
            } else {
                "compatible: columns added or widened"
            }
        )?;
        for c in &e.changes {
            writeln!(out, "  {c}")?;
        }
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
