//! Ctrl-C during `pipewright deploy`, against a real moto server
//! (`PIPEWRIGHT_MOTO_ENDPOINT`, which `.ci/run` sets; this test fails without it).
//!
//! moto runs every stack operation synchronously, so a stack pipewright creates is in
//! progress only for the length of one request: too short to interrupt on purpose. The
//! one kind of stack moto keeps in progress is one a failed request left behind: a
//! template moto answers with HTTP 500 leaves its stack in CREATE_IN_PROGRESS for good
//! (see the moto note). The test leaves such a stack where the deploy's first stack
//! goes, so the deploy finds an operation running there and waits for it; SIGINT
//! arrives while it waits. What is checked: exit code 130, the report names the stack
//! whose operation keeps running and says what to do, no later stack was started, and
//! no file was half-written (`--outputs-file` keeps the previous run's content).
#![cfg(all(feature = "aws", unix))]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_cloudformation::config::{Credentials, Region};
use pipewright::plan::StackId;

mod deploy_common;
use deploy_common::{endpoint, pipewright_cmd, spec_copy};

/// CloudFormation in moto, with static credentials and no retries (a request moto
/// answers with HTTP 500 must be sent once).
async fn cfn() -> aws_sdk_cloudformation::Client {
    let conf = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("eu-west-2"))
        .endpoint_url(endpoint())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    aws_sdk_cloudformation::Client::new(&conf)
}

async fn status(cfn: &aws_sdk_cloudformation::Client, stack: &str) -> Option<String> {
    let out = cfn.describe_stacks().stack_name(stack).send().await.ok()?;
    out.stacks()
        .first()?
        .stack_status()
        .map(|s| s.as_str().to_string())
}

/// The files in `dir`, with their contents.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), bytes)
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_while_a_stack_operation_runs_exits_130_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("pwi{}", std::process::id() % 100_000);
    let spec = spec_copy(dir.path(), &name, 512);
    let checked = pipewright::spec::check(&spec, &pipewright::spec::RealFiles).unwrap();
    let plan = pipewright::plan::lower(&checked.validated().unwrap(), "dev").unwrap();
    let first = plan.stacks[&StackId::Bootstrap].clone();
    let second = plan.stacks[&StackId::Foundation].clone();

    // A stack left in CREATE_IN_PROGRESS where the bootstrap stack goes.
    let cfn = cfn().await;
    let bad = r#"{"Resources": {"Q": {"Type": "AWS::SQS::Queue",
        "Properties": {"VisibilityTimeout": "not a number"}}}}"#;
    let _ = cfn
        .create_stack()
        .stack_name(&first)
        .template_body(bad)
        .send()
        .await;
    assert_eq!(
        status(&cfn, &first).await.as_deref(),
        Some("CREATE_IN_PROGRESS"),
        "moto no longer leaves a stack in progress after a failed create; see the header"
    );

    let zip = dir.path().join("ingest.zip");
    let bytes =
        pipewright::bundle::reproducible_zip(&[("bootstrap", b"#!/bin/sh\n", true)]).unwrap();
    std::fs::write(&zip, bytes).unwrap();
    let outputs = dir.path().join("outputs.json");
    std::fs::write(&outputs, "{\"from\": \"the previous run\"}\n").unwrap();
    let before = files(dir.path());

    let mut child = pipewright_cmd()
        .args(["deploy", spec.to_str().unwrap(), "--env", "dev"])
        .args([
            "--moto-compat",
            "--yes",
            "--lambda-zip",
            zip.to_str().unwrap(),
        ])
        .args(["--outputs-file", outputs.to_str().unwrap()])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        for l in stderr.lines() {
            let _ = tx.send(l.unwrap());
        }
    });
    // Until the deploy says it waits for the operation on the bootstrap stack (the
    // bound only keeps a broken deploy from hanging the test).
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|l: &String| l.starts_with(&format!("{first}: ")) && l.contains("waiting for it"))
    {
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(l) => seen.push(l),
            Err(e) => {
                let _ = child.kill();
                panic!("the deploy never waited ({e}):\n{}", seen.join("\n"));
            }
        }
    }
    let int = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(int.success());
    let out = child.wait_with_output().unwrap();
    reader.join().unwrap();
    seen.extend(rx.try_iter());
    let stderr = seen.join("\n");
    assert_eq!(out.status.code(), Some(130), "{stderr}");

    let said = seen
        .iter()
        .find(|l| l.starts_with("interrupted"))
        .unwrap_or_else(|| panic!("no interruption reported:\n{stderr}"));
    assert!(said.contains(&first), "names the stack in flight: {said}");
    assert!(
        said.contains("keeps running") && said.contains("a new `pipewright deploy` waits"),
        "says what happens and what to do: {said}"
    );
    assert!(
        !seen.iter().any(|l| l.starts_with(&format!("{second}: "))),
        "nothing after the interrupted stack was started:\n{stderr}"
    );
    assert_eq!(
        files(dir.path()),
        before,
        "no file written, none half-written"
    );
    assert_eq!(
        status(&cfn, &first).await.as_deref(),
        Some("CREATE_IN_PROGRESS")
    );
    assert_eq!(status(&cfn, &second).await, None);
    cfn.delete_stack().stack_name(&first).send().await.unwrap();
}
