//! `deploy`, `diff` and `destroy` (feature `aws`): the commands that talk to
//! CloudFormation. Arguments become `deploy::Options`; the engine is `crate::deploy`.

use std::io;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{Cli, Format, color_stderr, validated};
use crate::deploy::{self, Method, Options, Style, logic::Approval};
use crate::diag::{self, Diagnostics};

/// Where and how to reach AWS.
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
    /// Data resources whose replacement you intend (not listed as refused).
    #[arg(long, value_name = "RESOURCE")]
    pub allow_replace: Vec<String>,
}

#[derive(Args, Debug)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Do not ask.
    #[arg(long)]
    pub yes: bool,
}

pub(super) enum AwsCommand<'a> {
    Deploy(&'a DeployArgs),
    Diff(&'a DiffArgs),
    Destroy(&'a DestroyArgs),
}

pub(super) fn aws_command(cli: &Cli, a: &AwsArgs, which: AwsCommand) -> io::Result<u8> {
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
    let mut o = options(cli, a)?;
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

/// The engine's options from the shared arguments; each command then sets its own.
fn options(cli: &Cli, a: &AwsArgs) -> io::Result<Options> {
    let endpoint = a.endpoint_url.clone().filter(|s| !s.is_empty());
    Ok(Options {
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
        build_dir: a.build_dir.clone(),
        timeout: std::time::Duration::from_secs(a.timeout_minutes * 60),
        moto_compat: a.moto_compat,
        style: match cli.format {
            Format::Human | Format::Markdown | Format::Dot | Format::Mermaid => Style::Human,
            Format::Json => Style::Json,
        },
    })
}
