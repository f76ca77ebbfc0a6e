//! The `iam` commands: argument handling, rendering and exit codes.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::cli::{Cli, FailOn, Format, IamCasesArgs, IamDiffArgs, IamExplainArgs};
use crate::diag;
use crate::plan::Plan;
use crate::spec;

use super::diff::Class;
use super::{Report, Roles};

fn lower(v: &spec::Validated, env: &str, what: &str) -> Result<Plan, u8> {
    crate::plan::lower(v, env).map_err(|d| {
        eprint!(
            "{}",
            diag::render_human(&d, &diag::SourceMap::default(), crate::cli::color_stderr())
        );
        eprintln!("error: {what}: environment `{env}` does not lower");
        1
    })
}

/// The base side of one environment.
enum Base {
    Dir(PathBuf),
    Rev {
        rev: String,
        spec: Option<Box<spec::Validated>>,
    },
}

fn load_base(a: &IamDiffArgs) -> Result<Base, String> {
    match &a.base {
        Some(rev) => {
            super::check_rev(rev)?;
            let files = super::GitFiles { rev: rev.clone() };
            let checked = spec::check(&a.spec, &files).map_err(|e| format!("base {rev}: {e}"))?;
            match checked.validated() {
                Some(v) => Ok(Base::Rev {
                    rev: rev.clone(),
                    spec: Some(Box::new(v)),
                }),
                None => {
                    eprint!(
                        "{}",
                        diag::render_human(&checked.diagnostics, &checked.sources, false)
                    );
                    Err(format!(
                        "base {rev}: {} is invalid at that revision",
                        a.spec.display()
                    ))
                }
            }
        }
        None => {
            let dir = a
                .base_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("policies"));
            if !dir.is_dir() {
                return Err(format!(
                    "base directory {} does not exist (give --base-dir DIR or --base GIT-REF)",
                    dir.display()
                ));
            }
            Ok(Base::Dir(dir))
        }
    }
}

fn base_roles(base: &Base, env: &str, spec_path: &Path) -> Result<Roles, String> {
    match base {
        Base::Dir(dir) => {
            let d = dir.join(env);
            if !d.is_dir() {
                return Err(format!(
                    "{} does not exist: the base has no environment `{env}`",
                    d.display()
                ));
            }
            Roles::from_dir(&d)
        }
        Base::Rev { rev, spec } => {
            let label = format!("{rev}:{}", spec_path.display());
            let Some(v) = spec else {
                return Ok(Roles {
                    label,
                    ..Roles::default()
                });
            };
            if !v.spec.environments.contains_key(env) {
                // The environment is new: every role is added.
                return Ok(Roles {
                    label,
                    ..Roles::default()
                });
            }
            let plan = crate::plan::lower(v, env)
                .map_err(|_| format!("base {rev}: environment `{env}` does not lower"))?;
            Ok(Roles::from_plan(&plan, &label, &label))
        }
    }
}

/// The environments the base has: sub-folders with role files, or the spec's.
fn base_envs(base: &Base) -> Vec<String> {
    match base {
        Base::Dir(dir) => {
            let mut envs: Vec<String> = std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .filter(|e| {
                    std::fs::read_dir(e.path())
                        .into_iter()
                        .flatten()
                        .filter_map(Result::ok)
                        .any(|f| f.path().extension().is_some_and(|x| x == "json"))
                })
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .collect();
            envs.sort();
            envs
        }
        Base::Rev { spec, .. } => spec
            .as_ref()
            .map(|v| v.spec.environments.keys().cloned().collect())
            .unwrap_or_default(),
    }
}

pub fn diff(cli: &Cli, a: &IamDiffArgs) -> io::Result<u8> {
    let v = match crate::cli::validated(&a.spec, cli.env.as_deref()) {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let base = match load_base(a) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(2);
        }
    };
    let spec_label = a.spec.display().to_string();
    let mut reports: Vec<Report> = Vec::new();
    for env in crate::cli::envs_of(&v, cli.env.as_deref()) {
        let plan = match lower(&v, env, &spec_label) {
            Ok(p) => p,
            Err(code) => return Ok(code),
        };
        let new = Roles::from_plan(&plan, &spec_label, &spec_label);
        let old = match base_roles(&base, env, &a.spec) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(2);
            }
        };
        reports.push(super::compare(env, &old, &new));
    }
    // Environments only the base has: every role of them is removed.
    if cli.env.is_none() {
        let new_envs: Vec<&str> = crate::cli::envs_of(&v, None);
        for env in base_envs(&base) {
            if new_envs.contains(&env.as_str()) {
                continue;
            }
            let old = match base_roles(&base, &env, &a.spec) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(2);
                }
            };
            let none = Roles {
                label: format!("{spec_label} (no environment `{env}`)"),
                ..Roles::default()
            };
            reports.push(super::compare(&env, &old, &none));
        }
    }
    let mut out = io::stdout().lock();
    match cli.format {
        // `run` refuses dot and mermaid for every command but `graph`.
        Format::Human | Format::Dot | Format::Mermaid => {
            out.write_all(super::render_human(&reports).as_bytes())?
        }
        Format::Markdown => out.write_all(super::render_markdown(&reports).as_bytes())?,
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&reports)?)?,
    }
    let broadening: usize = reports.iter().map(|r| r.count(Class::Broadening)).sum();
    let any: usize = reports.iter().map(|r| r.changes.len()).sum();
    Ok(match a.fail_on {
        Some(FailOn::Broadening) if broadening > 0 => 1,
        Some(FailOn::Any) if any > 0 => 1,
        _ => 0,
    })
}

/// The environment a single-environment command works on: `--env`, or the spec's only one.
fn one_env<'a>(cli: &'a Cli, v: &'a spec::Validated) -> Result<&'a str, u8> {
    if let Some(e) = cli.env.as_deref() {
        return Ok(e);
    }
    let envs: Vec<&str> = v.spec.environments.keys().map(String::as_str).collect();
    match envs.as_slice() {
        [one] => Ok(one),
        _ => {
            eprintln!(
                "error: --env is required: the spec defines {}",
                envs.join(", ")
            );
            Err(2)
        }
    }
}

pub fn explain(cli: &Cli, a: &IamExplainArgs) -> io::Result<u8> {
    let v = match crate::cli::validated(&a.spec, cli.env.as_deref()) {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let env = match one_env(cli, &v) {
        Ok(e) => e,
        Err(code) => return Ok(code),
    };
    let spec_label = a.spec.display().to_string();
    let plan = match lower(&v, env, &spec_label) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let e = match super::explain::explain(&plan, &a.role, a.action.as_deref(), &spec_label) {
        Ok(e) => e,
        Err(msg) => {
            eprintln!("error: {msg}");
            // An unknown role is a usage error; a missing action is a finding.
            return Ok(
                if plan
                    .roles
                    .iter()
                    .any(|(id, r)| *id == a.role || r.name == a.role)
                {
                    1
                } else {
                    2
                },
            );
        }
    };
    let mut out = io::stdout().lock();
    match cli.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&e)?)?,
        _ => out.write_all(super::explain::render(&e).as_bytes())?,
    }
    Ok(0)
}

pub fn cases(cli: &Cli, a: &IamCasesArgs) -> io::Result<u8> {
    let v = match crate::cli::validated(&a.spec, cli.env.as_deref()) {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let env = match one_env(cli, &v) {
        Ok(e) => e,
        Err(code) => return Ok(code),
    };
    let plan = match lower(&v, env, &a.spec.display().to_string()) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let cases = match super::cases::build(&plan) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(1);
        }
    };
    writeln!(
        io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(&cases)?
    )?;
    Ok(0)
}

#[cfg(feature = "aws")]
pub fn verify(cli: &Cli, a: &crate::cli::IamVerifyArgs) -> io::Result<u8> {
    let v = match crate::cli::validated(&a.spec, cli.env.as_deref()) {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let env = match one_env(cli, &v) {
        Ok(e) => e,
        Err(code) => return Ok(code),
    };
    let plan = match lower(&v, env, &a.spec.display().to_string()) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = rt.block_on(async {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(plan.region.clone()));
        if let Some(ep) = &a.endpoint_url {
            loader = loader.endpoint_url(ep);
        }
        let iam = aws_sdk_iam::Client::new(&loader.load().await);
        verify_with(&iam, &plan, !a.no_simulate).await
    });
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(2);
        }
    };
    let mut out = io::stdout().lock();
    match cli.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        _ => out.write_all(render_verify(&report).as_bytes())?,
    }
    Ok(u8::from(!report.ok()))
}

/// What `iam verify` found.
#[cfg(feature = "aws")]
#[derive(Debug, serde::Serialize)]
pub struct VerifyReport {
    pub environment: String,
    pub drift: Vec<super::verify::RoleDrift>,
    pub simulated: Vec<super::verify::Simulated>,
}

#[cfg(feature = "aws")]
impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.drift
            .iter()
            .all(|d| d.deployed && d.changes.is_empty())
            && self.simulated.iter().all(|s| s.as_intended)
    }
}

/// Drift, then (when asked) the simulator, against one IAM client.
#[cfg(feature = "aws")]
pub async fn verify_with(
    iam: &aws_sdk_iam::Client,
    plan: &Plan,
    simulate: bool,
) -> Result<VerifyReport, String> {
    let (drift, bindings) = super::verify::drift(iam, plan).await?;
    let mut simulated = Vec::new();
    if simulate {
        let mut cases = super::cases::build_with(plan, &bindings)?;
        for d in &drift {
            if let Some(arn) = &d.arn {
                cases.set_principal(&d.role, arn);
            }
        }
        let deployed: std::collections::BTreeSet<&str> = drift
            .iter()
            .filter(|d| d.deployed)
            .map(|d| d.role.as_str())
            .collect();
        cases.roles.retain(|r| deployed.contains(r.role.as_str()));
        simulated = super::verify::simulate(iam, &cases).await?;
    }
    Ok(VerifyReport {
        environment: plan.env.clone(),
        drift,
        simulated,
    })
}

#[cfg(feature = "aws")]
pub fn render_verify(r: &VerifyReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    for d in &r.drift {
        if !d.deployed {
            let _ = writeln!(
                s,
                "role {}: not deployed (no role has the path {})",
                d.role, d.path
            );
        } else if d.changes.is_empty() {
            let _ = writeln!(s, "role {}: as generated", d.role);
        } else {
            let _ = writeln!(s, "role {}: drift (generated → deployed)", d.role);
            for c in &d.changes {
                let what = if c.actions.is_empty() {
                    c.detail.clone()
                } else {
                    format!("{} {}", c.actions.join(", "), c.detail)
                };
                let _ = writeln!(
                    s,
                    "    {:<10} {:<24} {what}",
                    c.class.as_str(),
                    c.kind.as_str()
                );
            }
        }
    }
    if !r.simulated.is_empty() {
        let wrong: Vec<_> = r.simulated.iter().filter(|x| !x.as_intended).collect();
        for w in &wrong {
            let _ = writeln!(
                s,
                "simulator: {} {} on {} is {} ({}: {})",
                w.role, w.action, w.resource, w.decision, w.flow, w.kind
            );
        }
        let _ = writeln!(
            s,
            "simulator: {} request(s), {} decided otherwise than synth intended",
            r.simulated.len(),
            wrong.len()
        );
    }
    let _ = writeln!(
        s,
        "{}",
        if r.ok() {
            "iam verify: the deployed roles are what the spec generates"
        } else {
            "iam verify: differences found"
        }
    );
    s
}
