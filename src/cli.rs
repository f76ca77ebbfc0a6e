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
