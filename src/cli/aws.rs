//! `deploy`, `diff` and `destroy` (feature `aws`): the commands that talk to
//! CloudFormation. Arguments become `deploy::Options`; the engine is `crate::deploy`.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{Cli, Format, validated};
use crate::deploy::{self, Method, Options, Style, logic::Approval};
use crate::diag::{self, Diagnostics};

/// Where and how to reach AWS (every command that talks to CloudFormation).
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
    /// For the moto emulator only (needs --endpoint-url): drops `Tags` from KMS keys,
    /// which moto 5.2.5 cannot create, and reports moto's account instead of refusing it.
    #[arg(long)]
    pub moto_compat: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// How long to wait for stack operations (deploy, diff, destroy).
#[derive(Args, Debug)]
pub struct WaitArgs {
    /// Give up waiting for a stack after this many minutes (the operation keeps running).
    #[arg(long, value_name = "MIN", default_value_t = 60)]
    pub timeout_minutes: u64,
    /// Seconds between polls of a running stack operation.
    #[arg(long, value_name = "S", hide = true)]
    pub poll_seconds: Option<f64>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// Create a change set, show it, approve, execute.
    ChangeSet,
    /// CreateStack / UpdateStack (for emulators without full change-set support).
    Direct,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ApprovalArg {
    Never,
    /// Changes that can widen access (IAM, resource policies, keys).
    Broadening,
    AnyChange,
}

#[derive(Args, Debug)]
pub struct DeployArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Most stacks worked on at once (independent stacks run in parallel).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub concurrency: usize,
    /// Use this ingest zip instead of bundling the function with cargo-lambda.
    #[arg(long, value_name = "FILE")]
    pub lambda_zip: Option<PathBuf>,
    /// Where `pipewright bundle` output goes when deploy bundles.
    #[arg(long, value_name = "DIR", default_value = "build")]
    pub build_dir: PathBuf,
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

#[derive(Args, Debug)]
pub struct DiffArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Data resources whose replacement you intend (not listed as refused).
    #[arg(long, value_name = "RESOURCE")]
    pub allow_replace: Vec<String>,
}

#[derive(Args, Debug)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Most stacks deleted at once (stacks nothing depends on any more go in parallel).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub concurrency: usize,
    /// Do not ask.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Args, Debug)]
pub struct OutputsArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
}

pub(super) enum AwsCommand<'a> {
    Deploy(&'a DeployArgs),
    Diff(&'a DiffArgs),
    Destroy(&'a DestroyArgs),
}

/// The environment's plan and templates, or the exit code after the error is printed.
fn synthesised(cli: &Cli, a: &AwsArgs) -> Result<(crate::plan::Plan, crate::emit::Output), u8> {
    let Some(env) = cli.env.as_deref() else {
        eprintln!("error: --env NAME is required: which environment to work on");
        return Err(2);
    };
    let v = validated(&a.spec, Some(env))?;
    let report = |d: &Diagnostics| {
        eprint!(
            "{}",
            diag::render_human(d, &diag::SourceMap::default(), super::ui::color())
        );
        1
    };
    let plan = crate::plan::lower(&v, env).map_err(|d| report(&d))?;
    let out = crate::emit::synth(&plan).map_err(|d| report(&d))?;
    if let Some(r) = &a.region
        && r != &plan.region
    {
        eprintln!(
            "error: environment `{env}` deploys to {} (the spec says so); --region says {r}",
            plan.region
        );
        return Err(2);
    }
    Ok((plan, out))
}

pub(super) fn aws_command(cli: &Cli, a: &AwsArgs, which: AwsCommand) -> io::Result<u8> {
    let (plan, out) = match synthesised(cli, a) {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let mut o = options(a)?;
    Ok(match which {
        AwsCommand::Deploy(d) => {
            wait(&mut o, &d.wait);
            o.concurrency = d.concurrency.max(1);
            o.lambda_zip = d.lambda_zip.clone();
            o.build_dir = d.build_dir.clone();
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
            wait(&mut o, &d.wait);
            o.allow_replace = d.allow_replace.clone();
            deploy::diff(plan, &out, o)
        }
        AwsCommand::Destroy(d) => {
            wait(&mut o, &d.wait);
            o.concurrency = d.concurrency.max(1);
            o.yes = d.yes;
            deploy::destroy(plan, &out, o)
        }
    })
}

/// `outputs`: the deployed stacks' outputs, as a table or JSON; exit 1 when a stack of
/// the environment is not deployed.
pub(super) fn outputs(cli: &Cli, a: &OutputsArgs) -> io::Result<u8> {
    let (plan, out) = match synthesised(cli, &a.aws) {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let env = plan.env.clone();
    // stdout holds only the table or the one JSON document: the engine's notes (moto
    // compat, the account) go to stderr as text.
    let mut o = options(&a.aws)?;
    o.style = Style::Human;
    let doc = match deploy::outputs(plan, &out, o) {
        Ok(d) => d,
        Err((code, m)) => {
            eprintln!("error: {m}");
            return Ok(code);
        }
    };
    let stacks = doc["stacks"].as_object().cloned().unwrap_or_default();
    let missing: Vec<&String> = stacks
        .iter()
        .filter(|(_, s)| s["status"].is_null())
        .map(|(n, _)| n)
        .collect();
    let mut w = io::stdout().lock();
    match a.aws.format {
        Format::Json => writeln!(w, "{}", serde_json::to_string_pretty(&doc)?)?,
        Format::Human => w.write_all(outputs_table(&stacks).as_bytes())?,
    }
    if missing.is_empty() {
        return Ok(0);
    }
    eprintln!(
        "error: {} of environment `{env}` not deployed: {}; `pipewright deploy --env {env}` creates {}",
        if missing.len() == 1 {
            "a stack is"
        } else {
            "stacks are"
        },
        missing
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        if missing.len() == 1 { "it" } else { "them" }
    );
    Ok(1)
}

/// One line per output, grouped by stack: `STACK  KEY  VALUE`, aligned.
fn outputs_table(stacks: &serde_json::Map<String, serde_json::Value>) -> String {
    let mut rows: Vec<[String; 3]> = vec![["STACK".into(), "OUTPUT".into(), "VALUE".into()]];
    for (name, s) in stacks {
        let outs = s["outputs"].as_object().cloned().unwrap_or_default();
        if s["status"].is_null() {
            rows.push([name.clone(), "-".into(), "(not deployed)".into()]);
        } else if outs.is_empty() {
            rows.push([name.clone(), "-".into(), "(no outputs)".into()]);
        }
        for (k, v) in outs {
            rows.push([name.clone(), k, v.as_str().unwrap_or_default().to_owned()]);
        }
    }
    let w0 = rows.iter().map(|r| r[0].chars().count()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r[1].chars().count()).max().unwrap_or(0);
    rows.iter()
        .map(|r| format!("{:<w0$}  {:<w1$}  {}\n", r[0], r[1], r[2]).replace("  \n", "\n"))
        .collect()
}

/// `--timeout-minutes` and the poll interval (quick against an emulator).
fn wait(o: &mut Options, w: &WaitArgs) {
    o.poll = std::time::Duration::from_secs_f64(
        w.poll_seconds
            .unwrap_or(if o.endpoint_url.is_some() { 0.1 } else { 2.0 })
            .max(0.0),
    );
    o.timeout = std::time::Duration::from_secs(w.timeout_minutes * 60);
}

/// The engine's options from the shared arguments; each command then sets its own.
fn options(a: &AwsArgs) -> io::Result<Options> {
    let endpoint = a.endpoint_url.clone().filter(|s| !s.is_empty());
    Ok(Options {
        method: Method::ChangeSet,
        approval: Approval::Broadening,
        approval_name: "broadening".into(),
        concurrency: 1,
        allow_replace: Vec::new(),
        profile: a.profile.clone(),
        poll: std::time::Duration::from_secs(2),
        endpoint_url: endpoint,
        yes: false,
        outputs_file: None,
        lambda_zip: None,
        build_dir: PathBuf::from("build"),
        timeout: std::time::Duration::from_secs(3600),
        moto_compat: a.moto_compat,
        style: match a.format {
            Format::Human => Style::Human,
            Format::Json => Style::Json,
        },
        quiet: super::ui::quiet(),
    })
}
