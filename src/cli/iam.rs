//! The `iam` commands (`diff`, `explain`, `cases`, and `verify` under the `aws`
//! feature): arguments, rendering and exit codes. The review itself is `crate::review`,
//! which knows nothing of the command line.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};

use super::{Cli, Format, envs_of, validated};
use crate::diag;
use crate::plan::Plan;
use crate::review::diff::Class;
use crate::review::{self, Report, Roles};
use crate::spec;

#[derive(Subcommand, Debug)]
pub enum IamCommand {
    /// Compare every grant the spec produces with a base, semantically: role identity
    /// and trust policies and boundaries, bucket, key, topic and queue policies, Lambda
    /// permissions, API method authorization and usage plans, QuickSight permissions.
    /// Each change is classed broadening, narrowing or neutral, its principal labelled
    /// (PUBLIC, OTHER ACCOUNT, service, ...), with the flow and spec line behind it.
    /// The base is the spec at git HEAD unless --base or --base-dir says otherwise.
    #[command(after_help = "Examples:
  pipewright iam diff                               # against the spec at git HEAD
  pipewright iam diff --base origin/main --format markdown --fail-on broadening
  pipewright iam diff --base-dir policies --fail-on any --env prod

Exit status: 0 compared (no failing change), 1 a change that --fail-on names (or an invalid
spec), 2 usage error, or a missing or malformed base.")]
    Diff(IamDiffArgs),
    /// Why a role has each permission: the flow, the spec line that declared it, and
    /// the resources it covers.
    #[command(after_help = "Examples:
  pipewright iam explain --role ingest --env dev
  pipewright iam explain specs/fleet.yaml --role transit-payments-prod-ingest --action s3:PutObject --env prod

Exit status: 0 explained, 1 the role lacks the action (or an invalid spec), 2 usage error.")]
    Explain(IamExplainArgs),
    /// Compare the deployed roles with the generated ones through the IAM API (drift),
    /// and run every role's allowed and neighbouring requests through IAM's policy
    /// simulator. Needs AWS credentials for the environment's account.
    #[cfg(feature = "aws")]
    #[command(after_help = "Examples:
  pipewright iam verify --env prod
  pipewright iam verify --env dev --no-simulate     # drift only

Exit status: 0 no drift and every request decided as intended, 1 drift, a missing role or a
request decided otherwise, 2 usage, credential or API error.")]
    Verify(IamVerifyArgs),
    /// Write the allowed and neighbouring requests of every role, with the policies to
    /// evaluate them against, for `scripts/iam-simulate` (JSON on stdout).
    #[command(hide = true)]
    Cases(IamCasesArgs),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Exit 1 when a change broadens access.
    Broadening,
    /// Exit 1 on any change.
    Any,
}

#[derive(Args, Debug)]
pub struct IamDiffArgs {
    /// The spec file.
    #[arg(default_value = "pipeline.yaml")]
    pub spec: PathBuf,
    /// Compare with the spec at this git revision, synthesised in memory (default: HEAD,
    /// the committed spec).
    #[arg(long, value_name = "GIT-REF", conflicts_with = "base_dir")]
    pub base: Option<String>,
    /// Compare with the files synth wrote to DIR/<env>/ instead (role files and
    /// access.json; e.g. the committed `policies`).
    #[arg(long, value_name = "DIR")]
    pub base_dir: Option<PathBuf>,
    /// Exit 1 when there is a change of this class.
    #[arg(long, value_enum, value_name = "CLASS")]
    pub fail_on: Option<FailOn>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Human)]
    pub format: DiffFormat,
}

/// What `iam diff` prints.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// One row per change, for people.
    Human,
    /// A Markdown table, for a pull request comment or a CI job summary.
    Markdown,
    /// The reports as JSON.
    Json,
}

#[derive(Args, Debug)]
pub struct IamExplainArgs {
    /// The spec file.
    #[arg(default_value = "pipeline.yaml")]
    pub spec: PathBuf,
    /// The role: its id (`ingest`) or its name (`transit-payments-dev-ingest`).
    #[arg(long, value_name = "ROLE")]
    pub role: String,
    /// Only the statements granting this action (`s3:PutObject`, `s3:*`).
    #[arg(long, value_name = "ACTION")]
    pub action: Option<String>,
    /// Deprecated: pass the spec as the positional argument, as to every other command.
    #[arg(
        long = "spec",
        value_name = "SPEC",
        hide = true,
        conflicts_with = "spec"
    )]
    pub spec_flag: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[cfg(feature = "aws")]
#[derive(Args, Debug)]
pub struct IamVerifyArgs {
    /// The spec file.
    #[arg(default_value = "pipeline.yaml")]
    pub spec: PathBuf,
    /// Only compare policies; do not call the policy simulator.
    #[arg(long)]
    pub no_simulate: bool,
    /// Send IAM requests to this endpoint (an emulator such as moto) instead of AWS.
    #[arg(long, value_name = "URL", env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// Named profile of the AWS config files.
    #[arg(long, value_name = "P")]
    pub profile: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct IamCasesArgs {
    /// The spec file.
    #[arg(default_value = "pipeline.yaml")]
    pub spec: PathBuf,
}

fn lower(v: &spec::Validated, env: &str, what: &str) -> Result<Plan, u8> {
    crate::plan::lower(v, env).map_err(|d| {
        eprint!(
            "{}",
            diag::render_human(&d, &diag::SourceMap::default(), super::ui::color())
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
    if let Some(dir) = &a.base_dir {
        if !dir.is_dir() {
            return Err(format!("base directory {} does not exist", dir.display()));
        }
        return Ok(Base::Dir(dir.clone()));
    }
    let rev = a.base.clone().unwrap_or_else(|| "HEAD".to_owned());
    review::check_rev(&rev).map_err(|e| {
        if a.base.is_none() {
            format!("{e}: the default base is the spec at git HEAD; give --base GIT-REF or --base-dir DIR")
        } else {
            e
        }
    })?;
    let files = review::GitFiles { rev: rev.clone() };
    // A spec the revision does not have yet: every grant is new.
    if let Err(e) = spec::Files::read(&files, &a.spec) {
        super::ui::info(format_args!(
            "note: {} is not in {rev} ({e}); every grant is compared with nothing",
            a.spec.display()
        ));
        return Ok(Base::Rev { rev, spec: None });
    }
    let checked = spec::check(&a.spec, &files).map_err(|e| format!("base {rev}: {e}"))?;
    match checked.validated() {
        Some(v) => Ok(Base::Rev {
            rev,
            spec: Some(Box::new(v)),
        }),
        None => {
            eprint!(
                "{}",
                diag::render_human(&checked.diagnostics, &checked.sources, super::ui::color())
            );
            Err(format!(
                "base {rev}: {} is invalid at that revision",
                a.spec.display()
            ))
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
                return Ok(Roles::none(label));
            };
            if !v.spec.environments.contains_key(env) {
                // The environment is new: every role is added.
                return Ok(Roles::none(label));
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

pub(super) fn diff(cli: &Cli, a: &IamDiffArgs) -> io::Result<u8> {
    let v = match validated(&a.spec, cli.env.as_deref()) {
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
    for env in envs_of(&v, cli.env.as_deref()) {
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
        reports.push(review::compare(env, &old, &new));
    }
    // Environments only the base has: every role of them is removed.
    if cli.env.is_none() {
        let new_envs: Vec<&str> = envs_of(&v, None);
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
            let none = Roles::none(format!("{spec_label} (no environment `{env}`)"));
            reports.push(review::compare(&env, &old, &none));
        }
    }
    let mut out = io::stdout().lock();
    match a.format {
        DiffFormat::Human => out.write_all(review::render_human(&reports).as_bytes())?,
        DiffFormat::Markdown => out.write_all(review::render_markdown(&reports).as_bytes())?,
        DiffFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&reports)?)?,
    }
    let broadening: usize = reports.iter().map(|r| r.count(Class::Broadening)).sum();
    let any: usize = reports.iter().map(Report::total).sum();
    // A gate that could not compare everything fails closed.
    let unchecked = reports.iter().filter(|r| r.not_compared.is_some()).count();
    if unchecked > 0 && a.fail_on.is_some() {
        eprintln!(
            "error: {unchecked} environment(s) could not be compared in full (no {}): regenerate the base with `pipewright synth`, or use --base GIT-REF",
            review::access::FILE
        );
        return Ok(1);
    }
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

/// The plan of the one environment `--env` names (or the spec's only one).
fn one_plan(cli: &Cli, spec: &Path) -> Result<Plan, u8> {
    let v = validated(spec, cli.env.as_deref())?;
    let env = one_env(cli, &v)?;
    lower(&v, env, &spec.display().to_string())
}

pub(super) fn explain(cli: &Cli, a: &IamExplainArgs) -> io::Result<u8> {
    let spec = match &a.spec_flag {
        Some(s) => {
            eprintln!(
                "warning: `iam explain --spec SPEC` is deprecated: pass the spec first, as to every command (`pipewright iam explain {} --role {}`)",
                s.display(),
                a.role
            );
            s
        }
        None => &a.spec,
    };
    let spec_label = spec.display().to_string();
    let plan = match one_plan(cli, spec) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let e = match review::explain::explain(&plan, &a.role, a.action.as_deref(), &spec_label) {
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
    match a.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&e)?)?,
        Format::Human => out.write_all(review::explain::render(&e).as_bytes())?,
    }
    Ok(0)
}

pub(super) fn cases(cli: &Cli, a: &IamCasesArgs) -> io::Result<u8> {
    let plan = match one_plan(cli, &a.spec) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let cases = match review::cases::build(&plan) {
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
pub(super) fn verify(cli: &Cli, a: &IamVerifyArgs) -> io::Result<u8> {
    let v = match validated(&a.spec, cli.env.as_deref()) {
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
        if let Some(ep) = a.endpoint_url.as_deref().filter(|s| !s.is_empty()) {
            loader = loader.endpoint_url(ep);
        }
        if let Some(p) = &a.profile {
            loader = loader.profile_name(p);
        }
        let iam = aws_sdk_iam::Client::new(&loader.load().await);
        review::verify::verify_with(&iam, &plan, !a.no_simulate).await
    });
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(2);
        }
    };
    let mut out = io::stdout().lock();
    match a.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        Format::Human => out.write_all(review::verify::render_verify(&report).as_bytes())?,
    }
    Ok(u8::from(!report.ok()))
}
