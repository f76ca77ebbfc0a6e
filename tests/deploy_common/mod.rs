//! Helpers of the deploy tests that run `pipewright` against a real moto server
//! (`PIPEWRIGHT_MOTO_ENDPOINT`): the spec copy, the binary run with static
//! credentials, an SDK config for moto, results read back.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use aws_config::BehaviorVersion;
use aws_sdk_s3::config::{Credentials, Region};
use pipewright::plan::Plan;
use serde_json::Value;

#[path = "../json_schema_common/mod.rs"]
mod json_schema_common;

pub fn endpoint() -> String {
    match std::env::var("PIPEWRIGHT_MOTO_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => panic!(
            "PIPEWRIGHT_MOTO_ENDPOINT is not set: these tests need a moto server, \
             e.g. `moto_server -H 127.0.0.1 -p 5000` and PIPEWRIGHT_MOTO_ENDPOINT=http://127.0.0.1:5000"
        ),
    }
}

/// A copy of the reference spec under its own pipeline name (so that it shares the
/// emulator with other tests), keeping data (`retain_data: true`) in `dev`.
pub fn spec_copy(dir: &Path, name: &str, memory: u32) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("pipeline.yaml")).unwrap();
    let text = text
        .replacen("name: transit-payments", &format!("name: {name}"), 1)
        .replacen("retain_data: false", "retain_data: true", 1)
        .replacen("memory_mb: 512", &format!("memory_mb: {memory}"), 1);
    std::fs::create_dir_all(dir.join("schemas")).unwrap();
    for f in ["pos-sale.v1.json", "ferry-boarding.v1.json"] {
        std::fs::copy(root.join("schemas").join(f), dir.join("schemas").join(f)).unwrap();
    }
    let p = dir.join("pipeline.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

pub fn plan_of(spec: &Path, env: &str) -> Plan {
    let checked = pipewright::spec::check(spec, &pipewright::spec::RealFiles).unwrap();
    let v = checked.validated().expect("valid spec");
    pipewright::plan::lower(&v, env).unwrap()
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The pipewright binary with only the moto server's endpoint and static credentials in
/// its environment (nothing else: no profile, no metadata service).
pub fn pipewright_cmd() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pipewright"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "eu-west-2")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    c
}

/// Runs pipewright; a JSON output (`--format json`) must match its schema under
/// `docs/schemas/`.
pub fn pipewright(args: &[&str], cwd: &Path) -> Run {
    pipewright_with(&[], args, cwd)
}

/// [`pipewright`] with more environment variables (`AWS_ENDPOINT_URL` overridden, ...).
pub fn pipewright_with(env: &[(&str, &str)], args: &[&str], cwd: &Path) -> Run {
    let out = pipewright_cmd()
        .envs(env.iter().copied())
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    if args.windows(2).any(|w| w == ["--format", "json"]) {
        match args.first().copied() {
            Some("deploy" | "diff" | "destroy") => {
                json_schema_common::assert_event_lines(&run.stdout);
            }
            Some("outputs") if !run.stdout.trim().is_empty() => {
                let doc =
                    serde_json::from_str(&run.stdout).expect("outputs prints one JSON document");
                json_schema_common::assert_matches("outputs", &doc);
            }
            _ => {}
        }
    }
    run
}

pub async fn sdk() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("eu-west-2"))
        .endpoint_url(endpoint())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .load()
        .await
}

/// An ingest zip that moto stores but never runs (`--lambda-zip`).
pub fn stand_in_zip(dir: &Path) -> PathBuf {
    let zip = dir.join("ingest.zip");
    let bytes = pipewright::bundle::reproducible_zip(&[
        ("bootstrap", b"#!/bin/sh\necho not run by moto\n", true),
        ("pipewright-ingest.json", b"{}", false),
    ])
    .unwrap();
    std::fs::write(&zip, bytes).unwrap();
    zip
}

/// A stack's parameters, as CloudFormation has them.
pub async fn cfn_parameters(
    cfn: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> std::collections::BTreeMap<String, String> {
    let st = cfn
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .unwrap();
    st.stacks()[0]
        .parameters()
        .iter()
        .map(|p| {
            (
                p.parameter_key().unwrap_or_default().to_owned(),
                p.parameter_value().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Results per stack from `--outputs-file`.
pub fn results(file: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
}

pub fn result_of<'a>(doc: &'a Value, stack: &str) -> &'a str {
    doc["stacks"][stack]["result"]
        .as_str()
        .unwrap_or_else(|| panic!("no result for {stack} in {doc}"))
}

/// JSON events of a `--format json` run.
pub fn events_of(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// moto 5.2.5 neither deletes nor detaches an AWS::IAM::ManagedPolicy on stack
/// deletion, so deleting the role it is attached to fails (DeleteConflict) where AWS
/// would delete the policy first. Tests detach them, outside the tool under test, before
/// `destroy`. CloudFormation named the roles: each is found by its path.
pub async fn detach_managed_policies(plan: &Plan, iam: &aws_sdk_iam::Client) {
    for role in plan.roles.values() {
        let Some(found) = pipewright::review::verify::find_role(iam, &role.path())
            .await
            .unwrap()
        else {
            continue;
        };
        let Ok(att) = iam
            .list_attached_role_policies()
            .role_name(&found.name)
            .send()
            .await
        else {
            continue;
        };
        for p in att.attached_policies() {
            iam.detach_role_policy()
                .role_name(&found.name)
                .policy_arn(p.policy_arn().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

/// `deploy SPEC --env dev` straight through CreateStack/UpdateStack, as moto needs, with a
/// prebuilt zip, no questions, and `extra` arguments.
pub fn deploy_direct(spec: &Path, zip: &Path, extra: &[&str], cwd: &Path) -> Run {
    let mut args = vec![
        "deploy",
        spec.to_str().unwrap(),
        "--env",
        "dev",
        "--method",
        "direct",
        "--moto-compat",
        "--yes",
        "--lambda-zip",
        zip.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    pipewright(&args, cwd)
}
