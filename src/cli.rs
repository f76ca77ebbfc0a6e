//! The command line: argument parsing, dispatch to the library's phases, rendering
//! and exit codes. No phase logic lives here; each command is a thin wrapper.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod explain;

use crate::diag::{self, Diagnostic, Diagnostics};
use crate::spec::{self, Checked, RealFiles};

const EXIT_CODES: &str = "\
Exit status:
  0  success (the spec is valid)
  1  findings: the spec is invalid (or has warnings under --deny-warnings)
  2  usage error, unreadable file or internal error";

/// Compile a declarative IoT pipeline spec into CloudFormation stacks and
/// least-privilege IAM.
#[derive(Parser, Debug)]
#[command(name = "pipewright", version, about, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    /// Environment to work on (a key of `environments`); commands that need one
    /// default to every environment where that makes sense.
    #[arg(long, global = true, value_name = "NAME")]
    pub env: Option<String>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Text for people (diagnostics on stderr, rustc style).
    Human,
    /// One JSON document on stdout, for CI and editors.
    Json,
    /// Graphviz DOT (`graph` only).
    Dot,
    /// A Mermaid flowchart (`graph` only; the default there).
    Mermaid,
    /// A Markdown table for pull requests (`iam diff`; other commands print human text).
    Markdown,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Validate a spec: shape, references, names, limits and event schemas, all
    /// errors at once.
    #[command(after_help = "Examples:
  pipewright check                      # ./pipeline.yaml, every environment
  pipewright check specs/fleet.yaml --env prod
  pipewright check --format json        # diagnostics as JSON for CI/editors
  pipewright check --deny-warnings      # warnings fail too

Exit status: 0 valid, 1 invalid, 2 usage or I/O error.")]
    Check(CheckArgs),
    /// Compile the spec into CloudFormation stacks (`stacks/<env>/`) and one IAM
    /// policy file per role (`policies/<env>/`).
    #[command(after_help = "Examples:
  pipewright synth                      # every environment, into ./stacks and ./policies
  pipewright synth --env prod --out build/
  pipewright synth --check              # exit 1 if committed stacks/ or policies/ are stale

Exit status: 0 written (or up to date), 1 invalid spec or stale files (--check), 2 usage or I/O error.")]
    Synth(SynthArgs),
    /// Build the pipeline's Lambda functions with cargo-lambda into reproducible zips
    /// named by their SHA-256 (x86_64, and arm64 when the toolchain has the target).
    #[command(after_help = "Examples:
  pipewright bundle --env prod          # build/prod/lambda/ingest/<arch>/<sha256>.zip
  pipewright bundle --env dev --format json

Needs cargo-lambda (`pip install cargo-lambda==1.9.2 ziglang==0.17.1`).
Exit status: 0 built, 1 invalid spec or build failure, 2 usage error or missing tool.")]
    Bundle(BundleArgs),
    /// Deploy an environment's stacks through CloudFormation: the bootstrap stack
    /// first, uploads of the function zip and Glue scripts, then the rest in
    /// dependency order.
    #[cfg(feature = "aws")]
    #[command(after_help = "Examples:
  pipewright deploy --env dev                       # change sets, approval for broadening changes
  pipewright deploy --env prod --require-approval any-change
  pipewright deploy --env dev --method direct --endpoint-url http://127.0.0.1:5000 --moto-compat
  pipewright deploy --env ci --yes --format json --outputs-file outputs.json

Credentials come from the AWS default chain (environment, profiles, SSO); AWS_ENDPOINT_URL
or --endpoint-url points every client at an emulator.
Exit status: 0 deployed (or nothing to change), 1 a stack failed, a change was refused or
not approved, 2 usage or I/O error, 130 interrupted (operations already started keep running).")]
    Deploy(DeployArgs),
    /// Show what a deploy would change, per stack and resource (add, modify,
    /// replace, remove), from change sets that are created and deleted again.
    #[cfg(feature = "aws")]
    #[command(after_help = "Examples:
  pipewright diff --env prod
  pipewright diff --env dev --format json

Exit status: 0 diff shown, 1 a change set could not be made, 2 usage or I/O error.")]
    Diff(DiffArgs),
    /// Delete an environment's stacks in reverse dependency order. Retained data
    /// resources (buckets, table, keys) stay, and are listed.
    #[cfg(feature = "aws")]
    #[command(after_help = "Examples:
  pipewright destroy --env dev --yes

Exit status: 0 deleted, 1 a stack could not be deleted or not confirmed, 2 usage or I/O error.")]
    Destroy(DestroyArgs),
    /// Print the JSON Schema of the spec language (for editors: reference it from
    /// the spec with a `# yaml-language-server: $schema=...` line).
    #[command(after_help = "Examples:
  pipewright schema > pipeline.schema.json
  pipewright schema --out pipeline.schema.json")]
    Schema(SchemaArgs),
    /// Explain a diagnostic code, or list them all.
    #[command(after_help = "Examples:
  pipewright explain PW0201
  pipewright explain undefined-source
  pipewright explain                    # list every code")]
    Explain(ExplainArgs),
    /// Draw the pipeline of one environment: components and the data flows between
    /// them, each edge labelled with the access it needs.
    #[command(after_help = "Examples:
  pipewright graph --env prod                    # Mermaid, for Markdown
  pipewright graph --env prod --format dot | dot -Tsvg > pipeline.svg

Exit status: 0 drawn, 1 invalid spec, 2 usage or I/O error.")]
    Graph(explain::GraphArgs),
    /// Estimate one environment's monthly cost per component from AWS's published
    /// on-demand prices for its region, and what batching, arm64 and archive timing
    /// are worth.
    #[command(after_help = "Examples:
  pipewright cost --env prod
  pipewright cost --env prod --events-per-day 5000000 --event-bytes 600 --batch 500
  pipewright cost --env prod --format json
  pipewright cost --env prod --prices my-prices.json   # a region data/prices.json lacks

Exit status: 0 estimated, 1 invalid spec, 2 usage or I/O error (or no prices for the region).")]
    Cost(explain::CostArgs),
    /// Write the architecture document of each environment (`docs/<env>/`): overview,
    /// diagram, components, data flows, IAM summary, compliance, cost and runbook.
    #[command(after_help = "Examples:
  pipewright docs                       # every environment, into ./docs/<env>/
  pipewright docs --env prod --out build/
  pipewright docs --check               # exit 1 if committed docs/ are stale
  scripts/judges/all prod > judges.txt; pipewright docs --env prod --out build/ --judges judges.txt

Exit status: 0 written (or up to date), 1 invalid spec or stale files (--check), 2 usage or I/O error.")]
    Docs(explain::DocsArgs),
    /// IAM review: what changed in the generated policies, and why a role has each
    /// permission.
    #[command(subcommand)]
    Iam(IamCommand),
}

#[derive(Subcommand, Debug)]
pub enum IamCommand {
    /// Compare the policies the spec produces with a base, semantically: roles,
    /// actions, resources (wildcard-aware), conditions, trust principals and
    /// boundaries; each change classed broadening, narrowing or neutral, with the
    /// flow and spec line that caused it.
    #[command(after_help = "Examples:
  pipewright iam diff                               # against the committed policies/
  pipewright iam diff --base origin/main --format markdown
  pipewright iam diff --base-dir policies --fail-on any --env prod

Exit status: 0 compared (no failing change), 1 a change that --fail-on names (or an invalid
spec), 2 usage error, or a missing or malformed base.")]
    Diff(IamDiffArgs),
    /// Why a role has each permission: the flow, the spec line that declared it, and
    /// the resources it covers.
    #[command(after_help = "Examples:
  pipewright iam explain ingest --env dev
  pipewright iam explain transit-payments-prod-ingest s3:PutObject --env prod

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
    /// Compare with the spec at this git revision (synthesised in memory).
    #[arg(long, value_name = "GIT-REF", conflicts_with = "base_dir")]
    pub base: Option<String>,
    /// Compare with role files in DIR/<env>/ (default: policies).
    #[arg(long, value_name = "DIR")]
    pub base_dir: Option<PathBuf>,
    /// Exit 1 when there is a change of this class.
    #[arg(long, value_enum, value_name = "CLASS")]
    pub fail_on: Option<FailOn>,
}

#[derive(Args, Debug)]
pub struct IamExplainArgs {
    /// The role: its id (`ingest`) or its name (`transit-payments-dev-ingest`).
    pub role: String,
    /// Only the statements granting this action (`s3:PutObject`, `s3:*`).
    pub action: Option<String>,
    /// The spec file.
    #[arg(long, default_value = "pipeline.yaml")]
    pub spec: PathBuf,
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
    /// Send IAM requests to this endpoint (a local emulator) instead of AWS.
    #[arg(long, value_name = "URL", env = "PIPEWRIGHT_IAM_ENDPOINT")]
    pub endpoint_url: Option<String>,
}

#[derive(Args, Debug)]
pub struct IamCasesArgs {
    /// The spec file.
    #[arg(default_value = "pipeline.yaml")]
    pub spec: PathBuf,
}

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
}

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
}

#[derive(Args, Debug)]
pub struct BundleArgs {
    /// The spec file.
    #[arg(default_value = "pipeline.yaml")]
    pub spec: PathBuf,
    /// Where zips go (not committed).
    #[arg(long, value_name = "DIR", default_value = "build")]
    pub out: PathBuf,
}

/// Where and how to reach AWS.
#[cfg(feature = "aws")]
#[derive(Args, Debug)]
pub struct AwsArgs {
    /// The spec file.
    #[arg(default_value = "pipeline.yaml")]
    pub spec: PathBuf,
    /// Named profile of the AWS config files.
    #[arg(long, value_name = "P")]
    pub profile: Option<String>,
    /// Must match the environment's region in the spec (a guard, not an override).
    #[arg(long, value_name = "R")]
    pub region: Option<String>,
    /// Send every AWS call here (an emulator such as moto).
    #[arg(long, value_name = "URL", env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// Most stacks worked on at once (independent stacks run in parallel).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub concurrency: usize,
    /// Use this ingest zip instead of bundling the function with cargo-lambda.
    #[arg(long, value_name = "FILE")]
    pub lambda_zip: Option<PathBuf>,
    /// Where `pipewright bundle` output goes when deploy bundles.
    #[arg(long, value_name = "DIR", default_value = "build")]
    pub build_dir: PathBuf,
    /// Give up waiting for a stack after this many minutes (the operation keeps running).
    #[arg(long, value_name = "MIN", default_value_t = 60)]
    pub timeout_minutes: u64,
    /// Seconds between polls of a running stack operation.
    #[arg(long, value_name = "S", hide = true)]
    pub poll_seconds: Option<f64>,
    /// For the moto emulator only (needs --endpoint-url): drops `Tags` from KMS keys,
    /// which moto 5.2.5 cannot create, and says so.
    #[arg(long)]
    pub moto_compat: bool,
}

#[cfg(feature = "aws")]
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// Create a change set, show it, approve, execute.
    ChangeSet,
    /// CreateStack / UpdateStack (for emulators without full change-set support).
    Direct,
}

#[cfg(feature = "aws")]
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ApprovalArg {
    Never,
    /// Changes that can widen access (IAM, resource policies, keys).
    Broadening,
    AnyChange,
}

#[cfg(feature = "aws")]
#[derive(Args, Debug)]
pub struct DeployArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    #[arg(long, value_enum, default_value_t = MethodArg::ChangeSet)]
    pub method: MethodArg,
    /// Which changes need a person's approval (without a terminal: --yes or failure).
    #[arg(long, value_enum, default_value_t = ApprovalArg::Broadening)]
    pub require_approval: ApprovalArg,
    /// Allow replacing or removing this data resource (logical id; repeatable).
    #[arg(long, value_name = "RESOURCE")]
    pub allow_replace: Vec<String>,
    /// Write every stack's result and outputs here as JSON (atomically).
    #[arg(long, value_name = "FILE")]
    pub outputs_file: Option<PathBuf>,
    /// Approve every change.
    #[arg(long)]
    pub yes: bool,
}

#[cfg(feature = "aws")]
#[derive(Args, Debug)]
pub struct DiffArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Data resources whose replacement you intend (not listed as refused).
    #[arg(long, value_name = "RESOURCE")]
    pub allow_replace: Vec<String>,
}

#[cfg(feature = "aws")]
#[derive(Args, Debug)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Do not ask.
    #[arg(long)]
    pub yes: bool,
}

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

/// Runs the CLI and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> io::Result<u8> {
    if matches!(cli.format, Format::Dot | Format::Mermaid)
        && !matches!(cli.command, Command::Graph(_))
    {
        eprintln!("error: --format dot and mermaid are for `pipewright graph`; use human or json");
        return Ok(2);
    }
    match &cli.command {
        Command::Check(a) => check(&cli, a),
        Command::Synth(a) => synth(&cli, a),
        Command::Bundle(a) => bundle(&cli, a),
        #[cfg(feature = "aws")]
        Command::Deploy(a) => aws_command(&cli, &a.aws, AwsCommand::Deploy(a)),
        #[cfg(feature = "aws")]
        Command::Diff(a) => aws_command(&cli, &a.aws, AwsCommand::Diff(a)),
        #[cfg(feature = "aws")]
        Command::Destroy(a) => aws_command(&cli, &a.aws, AwsCommand::Destroy(a)),
        Command::Schema(a) => schema(a),
        Command::Explain(a) => explain(a),
        Command::Graph(a) => explain::graph(&cli, a),
        Command::Cost(a) => explain::cost(&cli, a),
        Command::Docs(a) => explain::docs(&cli, a),
        Command::Iam(IamCommand::Diff(a)) => crate::review::cli::diff(&cli, a),
        Command::Iam(IamCommand::Explain(a)) => crate::review::cli::explain(&cli, a),
        Command::Iam(IamCommand::Cases(a)) => crate::review::cli::cases(&cli, a),
        #[cfg(feature = "aws")]
        Command::Iam(IamCommand::Verify(a)) => crate::review::cli::verify(&cli, a),
    }
}

pub fn color_stderr() -> bool {
    io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Loads and validates a spec; an unreadable spec is an I/O error (exit 2).
pub fn load(path: &Path) -> Result<Checked, u8> {
    match spec::check(path, &RealFiles) {
        Ok(c) => Ok(c),
        Err(e) => {
            eprintln!("error: {e}");
            Err(2)
        }
    }
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

fn check(cli: &Cli, a: &CheckArgs) -> io::Result<u8> {
    let mut checked = match load(&a.spec) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    if let (Some(env), Some(s)) = (&cli.env, &checked.spec)
        && !s.environments.contains_key(env)
    {
        let known: Vec<&str> = s.environments.keys().map(String::as_str).collect();
        let mut d = Diagnostic::error("PW0203", format!("environment `{env}` is not defined"))
            .at_opt(
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
    let mut out = io::stdout().lock();
    match cli.format {
        Format::Json => {
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
                "schema_changes": evolution.as_ref().map(|found| found
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
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        Format::Human | Format::Markdown | Format::Dot | Format::Mermaid => {
            let rendered =
                diag::render_human(&checked.diagnostics, &checked.sources, color_stderr());
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
                        "no VPC, endpoints, replication or Object Lock (warning PW0901); guard packs only report".to_owned()
                    } else {
                        format!(
                            "functions and jobs in private subnets reaching AWS only through VPC endpoints; every route signed (SigV4) and metered by an API key; data buckets replicated under a key of the replica region; Object Lock, access logs, KMS-encrypted logs; built to pass the guard packs {}",
                            crate::plan::PCI_DSS_RULE_SETS.join(", ")
                        )
                    };
                    writeln!(out, "  {:<10} {what}", "")?;
                }
            }
            if let (Some(found), Some(base)) = (&evolution, &a.against) {
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
            }
        }
    }
    Ok(u8::from(failed))
}

/// Loads a spec and reports its diagnostics; the validated spec, or an exit code.
pub fn validated(path: &Path, env: Option<&str>) -> Result<spec::Validated, u8> {
    let checked = load(path)?;
    let rendered = diag::render_human(&checked.diagnostics, &checked.sources, color_stderr());
    let v = checked.validated();
    if v.is_none() {
        eprint!("{rendered}");
        eprintln!(
            "error: {} is invalid; `pipewright check` shows the same",
            path.display()
        );
        return Err(1);
    }
    let v = v.expect("checked above");
    if let Some(e) = env
        && !v.spec.environments.contains_key(e)
    {
        let known: Vec<&str> = v.spec.environments.keys().map(String::as_str).collect();
        eprintln!(
            "error[PW0203]: environment `{e}` is not defined (defined: {})",
            known.join(", ")
        );
        return Err(1);
    }
    Ok(v)
}

pub fn envs_of<'a>(v: &'a spec::Validated, env: Option<&'a str>) -> Vec<&'a str> {
    match env {
        Some(e) => vec![e],
        None => v.spec.environments.keys().map(String::as_str).collect(),
    }
}

/// Lowers and emits one environment, rendering diagnostics on failure.
pub fn emit_env(
    v: &spec::Validated,
    env: &str,
    sources: Option<&diag::SourceMap>,
) -> Result<crate::emit::Output, u8> {
    let report = |d: &Diagnostics| {
        let sm = sources.cloned().unwrap_or_default();
        eprint!("{}", diag::render_human(d, &sm, color_stderr()));
    };
    let plan = crate::plan::lower(v, env).map_err(|d| {
        report(&d);
        1u8
    })?;
    crate::emit::synth(&plan).map_err(|d| {
        report(&d);
        1u8
    })
}

fn synth(cli: &Cli, a: &SynthArgs) -> io::Result<u8> {
    let v = match validated(&a.spec, cli.env.as_deref()) {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let mut outputs = Vec::new();
    for env in envs_of(&v, cli.env.as_deref()) {
        match emit_env(&v, env, None) {
            Ok(o) => outputs.push(o),
            Err(code) => return Ok(code),
        }
    }
    let mut out = io::stdout().lock();
    if a.check {
        let mut stale = 0;
        for o in &outputs {
            for d in crate::emit::drift(o, &a.out)? {
                stale += 1;
                let (what, p) = match &d {
                    crate::emit::Drift::Missing(p) => ("missing", p),
                    crate::emit::Drift::Changed(p) => ("differs", p),
                    crate::emit::Drift::Extra(p) => ("not generated", p),
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
        return Ok(0);
    }
    for o in &outputs {
        crate::emit::write(o, &a.out)?;
        match cli.format {
            Format::Json => {}
            Format::Human | Format::Markdown | Format::Dot | Format::Mermaid => {
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
                if let Some(c) = &o.summary.compliance_cost {
                    for line in c.lines() {
                        writeln!(out, "{line}")?;
                    }
                }
            }
        }
    }
    match cli.format {
        Format::Json => {
            let doc: Vec<serde_json::Value> = outputs
                .iter()
                .map(|o| {
                    serde_json::json!({
                        "environment": o.env,
                        "files": o.files.keys().map(|p| a.out.join(p).display().to_string()).collect::<Vec<_>>(),
                        "stacks": o.summary.stacks.iter().map(|(n, r, b)| serde_json::json!({"name": n, "resources": r, "bytes": b})).collect::<Vec<_>>(),
                        "roles": o.summary.roles.iter().map(|(n, a, s)| serde_json::json!({"name": n, "actions": a, "statements": s})).collect::<Vec<_>>(),
                        "compliance_cost": o.summary.compliance_cost.as_ref().map(|c| serde_json::json!({
                            "interface_endpoint_azs": c.endpoint_az_pairs,
                            "endpoints_usd_per_month": c.endpoints_per_month,
                            "api_cache_gb": c.api_cache_size_gb,
                            "api_cache_usd_per_hour": c.api_cache_per_hour,
                            "api_cache_usd_per_month": c.api_cache_per_month,
                            "replicated_buckets": c.replicated_buckets,
                            "replication_transfer_usd_per_gb": c.replication_transfer_per_gb,
                            "replica_storage_usd_per_gb_month": c.replica_storage_per_gb_month,
                        })),
                    })
                })
                .collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        Format::Human | Format::Markdown | Format::Dot | Format::Mermaid => writeln!(
            out,
            "\nnext: review policies/<env>/README.md, then `pipewright deploy --env <env>` (or commit stacks/ and policies/ for CI)"
        )?,
    }
    Ok(0)
}

fn bundle(cli: &Cli, a: &BundleArgs) -> io::Result<u8> {
    use crate::bundle::{self as b, BundleError};
    use crate::spec::model::Architecture;
    let v = match validated(&a.spec, cli.env.as_deref()) {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let workspace = std::env::current_dir()?;
    if let Err(e) = b::check_cargo_lambda(&workspace) {
        eprintln!("error: {e}");
        return Ok(2);
    }
    let mut artifacts = Vec::new();
    let mut notes = Vec::new();
    for env in envs_of(&v, cli.env.as_deref()) {
        let plan = match crate::plan::lower(&v, env) {
            Ok(p) => p,
            Err(d) => {
                eprint!(
                    "{}",
                    diag::render_human(&d, &diag::SourceMap::default(), color_stderr())
                );
                return Ok(1);
            }
        };
        for arch in [Architecture::X86_64, Architecture::Arm64] {
            let bar = (cli.format != Format::Json).then(|| {
                let pb = indicatif::ProgressBar::new_spinner();
                pb.enable_steady_tick(std::time::Duration::from_millis(120));
                pb.set_message(format!(
                    "building {} ({}) with cargo-lambda",
                    plan.function_name,
                    arch.as_str()
                ));
                pb
            });
            let r = b::bundle_ingest(&plan, &workspace, &a.out, arch);
            if let Some(pb) = bar {
                pb.finish_and_clear();
            }
            match r {
                Ok(art) => artifacts.push(art),
                Err(BundleError::TargetMissing(m)) if arch != plan.architecture => {
                    notes.push(format!("{env}: skipped {}: {m}", arch.as_str()));
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(match e {
                        BundleError::ToolMissing(_) => 2,
                        _ => 1,
                    });
                }
            }
        }
    }
    let mut out = io::stdout().lock();
    match cli.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&artifacts)?)?,
        Format::Human | Format::Markdown | Format::Dot | Format::Mermaid => {
            for art in &artifacts {
                writeln!(
                    out,
                    "{} {:<7} {}  sha256 {}  {} bytes",
                    art.function,
                    art.architecture,
                    art.path.display(),
                    art.sha256,
                    art.bytes
                )?;
            }
            for n in &notes {
                writeln!(out, "note: {n}")?;
            }
        }
    }
    Ok(0)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn schema(a: &SchemaArgs) -> io::Result<u8> {
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

fn explain(a: &ExplainArgs) -> io::Result<u8> {
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

#[cfg(feature = "aws")]
enum AwsCommand<'a> {
    Deploy(&'a DeployArgs),
    Diff(&'a DiffArgs),
    Destroy(&'a DestroyArgs),
}

#[cfg(feature = "aws")]
fn aws_command(cli: &Cli, a: &AwsArgs, which: AwsCommand) -> io::Result<u8> {
    use crate::deploy::{self, Method, Options, Style, logic::Approval};
    let Some(env) = cli.env.as_deref() else {
        eprintln!("error: --env NAME is required: which environment to work on");
        return Ok(2);
    };
    let v = match validated(&a.spec, Some(env)) {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let report = |d: &Diagnostics| {
        eprint!(
            "{}",
            diag::render_human(d, &diag::SourceMap::default(), color_stderr())
        )
    };
    let plan = match crate::plan::lower(&v, env) {
        Ok(p) => p,
        Err(d) => {
            report(&d);
            return Ok(1);
        }
    };
    let out = match crate::emit::synth(&plan) {
        Ok(o) => o,
        Err(d) => {
            report(&d);
            return Ok(1);
        }
    };
    if let Some(r) = &a.region
        && r != &plan.region
    {
        eprintln!(
            "error: environment `{env}` deploys to {} (the spec says so); --region says {r}",
            plan.region
        );
        return Ok(2);
    }
    let endpoint = a.endpoint_url.clone().filter(|s| !s.is_empty());
    let mut o = Options {
        method: Method::ChangeSet,
        approval: Approval::Broadening,
        approval_name: "broadening".into(),
        concurrency: a.concurrency.max(1),
        allow_replace: Vec::new(),
        profile: a.profile.clone(),
        poll: std::time::Duration::from_secs_f64(
            a.poll_seconds
                .unwrap_or(if endpoint.is_some() { 0.1 } else { 2.0 })
                .max(0.0),
        ),
        endpoint_url: endpoint,
        yes: false,
        outputs_file: None,
        lambda_zip: a.lambda_zip.clone(),
        workspace: std::env::current_dir()?,
        build_dir: a.build_dir.clone(),
        timeout: std::time::Duration::from_secs(a.timeout_minutes * 60),
        moto_compat: a.moto_compat,
        style: match cli.format {
            Format::Human | Format::Markdown | Format::Dot | Format::Mermaid => Style::Human,
            Format::Json => Style::Json,
        },
    };
    Ok(match which {
        AwsCommand::Deploy(d) => {
            o.method = match d.method {
                MethodArg::ChangeSet => Method::ChangeSet,
                MethodArg::Direct => Method::Direct,
            };
            (o.approval, o.approval_name) = match d.require_approval {
                ApprovalArg::Never => (Approval::Never, "never".into()),
                ApprovalArg::Broadening => (Approval::Broadening, "broadening".into()),
                ApprovalArg::AnyChange => (Approval::AnyChange, "any-change".into()),
            };
            o.allow_replace = d.allow_replace.clone();
            o.outputs_file = d.outputs_file.clone();
            o.yes = d.yes;
            deploy::deploy(plan, &out, o)
        }
        AwsCommand::Diff(d) => {
            o.allow_replace = d.allow_replace.clone();
            deploy::diff(plan, &out, o)
        }
        AwsCommand::Destroy(d) => {
            o.yes = d.yes;
            deploy::destroy(plan, &out, o)
        }
    })
}
