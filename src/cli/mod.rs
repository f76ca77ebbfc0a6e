//! The command line: the clap types, dispatch to one module per command group, and
//! the helpers they share (loading a spec, rendering its diagnostics, exit codes). No
//! phase logic lives here or in the command modules; each command is a thin wrapper
//! over the library (cargo's `ops/` split: `check`, `synth`, `bundle`, `aws` for
//! deploy/diff/destroy, `iam`, `explain` for graph/cost/docs, `reference` for
//! schema/explain CODE). The command line depends on the phases, never the reverse.

use std::io;
use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[cfg(feature = "aws")]
mod aws;
mod bundle;
mod check;
mod explain;
mod iam;
mod init;
mod reference;
mod synth;
pub mod ui;

#[cfg(feature = "aws")]
pub use aws::{ApprovalArg, AwsArgs, DeployArgs, DestroyArgs, DiffArgs, MethodArg, OutputsArgs};
pub use bundle::BundleArgs;
pub use check::{CheckArgs, CheckFormat};
pub use explain::GraphFormat;
#[cfg(feature = "aws")]
pub use iam::IamVerifyArgs;
pub use iam::{DiffFormat, FailOn, IamCasesArgs, IamCommand, IamDiffArgs, IamExplainArgs};
pub use init::InitArgs;
pub use reference::{CompletionsArgs, ExplainArgs, ManArgs, SchemaArgs, schema_text};
pub use synth::SynthArgs;
pub use ui::ColorChoice;

use crate::diag::{self, Diagnostics};
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
    /// Colour diagnostics and progress: auto (a terminal, and NO_COLOR unset), always, never.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print only results, warnings and errors: no progress, notes or next steps.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more detail, such as each file written.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// The output format of commands that print either text for people or JSON.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Text for people (diagnostics on stderr, rustc style).
    Human,
    /// JSON on stdout, for CI and editors (deploy and destroy: one object per event).
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start a pipeline repository: a starter `pipeline.yaml` (with the schema line for
    /// editors), its event schema, `pipeline.schema.json`, a `.gitignore` and a GitHub
    /// Actions workflow. Writes nothing if any of them exists.
    #[command(after_help = "Examples:
  pipewright init                                   # here; the pipeline is named after the folder
  pipewright init fleet-events --account 123456789012 --region eu-west-2

Exit status: 0 written, 1 a starter file already exists, 2 options that fail `check`, or an I/O error.")]
    Init(InitArgs),
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
    /// Print the outputs of an environment's deployed stacks (API URL, API key ids,
    /// bucket and table names), read back from CloudFormation.
    #[cfg(feature = "aws")]
    #[command(after_help = "Examples:
  pipewright outputs --env prod
  pipewright outputs --env dev --format json > outputs.json

The JSON has the shape of deploy's --outputs-file, with each stack's CloudFormation status.
Exit status: 0 every stack is deployed, 1 a stack is missing, 2 usage, credential or API error.")]
    Outputs(OutputsArgs),
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

Exit status: 0 estimated (or, for a region the price book lacks, quantities only with a `no price data` note), 1 invalid spec, 2 usage or I/O error.")]
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
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = "Examples:
  pipewright completions bash > ~/.local/share/bash-completion/completions/pipewright
  pipewright completions zsh > \"${fpath[1]}/_pipewright\"
  pipewright completions fish > ~/.config/fish/completions/pipewright.fish")]
    Completions(CompletionsArgs),
    /// Write the man page (roff), to stdout or into a folder.
    #[command(after_help = "Examples:
  pipewright man | man -l -
  pipewright man --out-dir /usr/local/share/man/man1     # pipewright.1 and one page per command")]
    Man(ManArgs),
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> ExitCode {
    // `--color` reaches clap's own help and usage errors too, which come before `Cli` is.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let command = <Cli as clap::CommandFactory>::command().color(clap_color(&args));
    let cli = match command
        .try_get_matches_from(&args)
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m))
    {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    ui::init(ui::Ui::new(cli.color, cli.quiet, cli.verbose));
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// The `--color` of a command line not parsed yet (`--color WHEN`, `--color=WHEN`, before
/// any `--`); clap's own choice (auto, which honours NO_COLOR) otherwise.
fn clap_color(args: &[std::ffi::OsString]) -> clap::ColorChoice {
    let mut when = None;
    let mut it = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(a) = it.next() {
        match a.as_ref() {
            "--" => break,
            "--color" => when = it.next().map(|w| w.into_owned()),
            other => {
                if let Some(w) = other.strip_prefix("--color=") {
                    when = Some(w.to_owned());
                }
            }
        }
    }
    match when.as_deref() {
        Some("always") => clap::ColorChoice::Always,
        Some("never") => clap::ColorChoice::Never,
        _ => clap::ColorChoice::Auto,
    }
}

fn run(cli: Cli) -> io::Result<u8> {
    match &cli.command {
        Command::Init(a) => init::init(a),
        Command::Check(a) => check::check(&cli, a),
        Command::Synth(a) => synth::synth(&cli, a),
        Command::Bundle(a) => bundle::bundle(&cli, a),
        #[cfg(feature = "aws")]
        Command::Deploy(a) => aws::aws_command(&cli, &a.aws, aws::AwsCommand::Deploy(a)),
        #[cfg(feature = "aws")]
        Command::Diff(a) => aws::aws_command(&cli, &a.aws, aws::AwsCommand::Diff(a)),
        #[cfg(feature = "aws")]
        Command::Destroy(a) => aws::aws_command(&cli, &a.aws, aws::AwsCommand::Destroy(a)),
        #[cfg(feature = "aws")]
        Command::Outputs(a) => aws::outputs(&cli, a),
        Command::Schema(a) => reference::schema(a),
        Command::Explain(a) => reference::explain(a),
        Command::Graph(a) => explain::graph(&cli, a),
        Command::Cost(a) => explain::cost(&cli, a),
        Command::Docs(a) => explain::docs(&cli, a),
        Command::Iam(IamCommand::Diff(a)) => iam::diff(&cli, a),
        Command::Iam(IamCommand::Explain(a)) => iam::explain(&cli, a),
        Command::Iam(IamCommand::Cases(a)) => iam::cases(&cli, a),
        #[cfg(feature = "aws")]
        Command::Iam(IamCommand::Verify(a)) => iam::verify(&cli, a),
        Command::Completions(a) => reference::completions(a),
        Command::Man(a) => reference::man(a),
    }
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

/// Loads a spec and reports its diagnostics; the validated spec, or an exit code.
pub fn validated(path: &Path, env: Option<&str>) -> Result<spec::Validated, u8> {
    let checked = load(path)?;
    let rendered = diag::render_human(&checked.diagnostics, &checked.sources, ui::color());
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
        eprint!("{}", diag::render_human(d, &sm, ui::color()));
    };
    let plan = crate::plan::lower(v, env).map_err(|d| {
        report(&d);
        1u8
    })?;
    emit_plan(&plan, sources)
}

/// An environment's plan; lowering's diagnostics (there should be none for a valid
/// spec) are printed and exit 1.
pub fn plan_env(v: &spec::Validated, env: &str) -> Result<crate::plan::Plan, u8> {
    crate::plan::lower(v, env).map_err(|d| {
        eprint!(
            "{}",
            diag::render_human(&d, &diag::SourceMap::default(), ui::color())
        );
        1u8
    })
}

/// [`emit_env`] for a plan already lowered.
pub fn emit_plan(
    plan: &crate::plan::Plan,
    sources: Option<&diag::SourceMap>,
) -> Result<crate::emit::Output, u8> {
    let report = |d: &Diagnostics| {
        let sm = sources.cloned().unwrap_or_default();
        eprint!("{}", diag::render_human(d, &sm, ui::color()));
        1u8
    };
    let mut out = crate::emit::synth(plan).map_err(|d| report(&d))?;
    // The access model beside the role files: every grant, for reviews (`iam diff`).
    crate::review::access::add_to(&mut out, plan);
    // What the region lacks fails here as in `check` (PW0231), not later in CloudFormation.
    let missing = crate::emit::availability::unavailable(plan, &out);
    if !missing.is_empty() {
        let mut d = Diagnostics::default();
        for x in crate::emit::availability::diagnostics(plan, &missing) {
            d.push(x);
        }
        return Err(report(&d));
    }
    Ok(out)
}
