//! The command line: argument parsing, dispatch to the library's phases, rendering
//! and exit codes. No phase logic lives here; each command is a thin wrapper.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The spec file.
    #[arg(default_value = "pipeline.yaml")]
    pub spec: PathBuf,
    /// Treat warnings as errors.
    #[arg(long)]
    pub deny_warnings: bool,
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
    }
}

fn color_stderr() -> bool {
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
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        Format::Human => {
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
                }
            }
        }
    }
    Ok(u8::from(failed))
}

/// Loads a spec and reports its diagnostics; the validated spec, or an exit code.
fn validated(path: &Path, env: Option<&str>) -> Result<spec::Validated, u8> {
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

fn envs_of<'a>(v: &'a spec::Validated, env: Option<&'a str>) -> Vec<&'a str> {
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
            Format::Human => {
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
                    })
                })
                .collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        Format::Human => writeln!(
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
            let bar = (cli.format == Format::Human).then(|| {
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
        Format::Human => {
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
            Format::Human => Style::Human,
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
