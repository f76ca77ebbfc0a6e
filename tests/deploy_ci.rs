//! `deploy`, `diff`, `destroy` and `iam verify` as a CI job runs them: no terminal,
//! credentials checked before anything is built, an endpoint that cannot be reached
//! said in words. Against a real moto server (`PIPEWRIGHT_MOTO_ENDPOINT`) except the
//! unreachable endpoint, which is a closed port.
#![cfg(feature = "aws")]

use std::path::Path;

use aws_sdk_cloudformation::primitives::{DateTime, DateTimeFormat};

mod deploy_common;
use deploy_common::*;

/// What the SDK's `Debug` rendering of a failed request contains, and a user-facing
/// message must not.
const DEBUG_DUMP: [&str; 5] = [
    "DispatchFailure",
    "ConnectorError",
    "Os {",
    "source:",
    "kind:",
];

/// moto's credentials are for its own account (123456789012). Without `--lambda-zip`,
/// deploy would bundle the function with cargo-lambda; with a PATH that has neither
/// cargo nor cargo-lambda, a bundle would fail. It must not get there: the account is
/// refused first.
#[test]
fn a_wrong_account_is_refused_before_the_function_is_bundled() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("pwb{}", std::process::id() % 100_000);
    let spec = spec_copy(dir.path(), &name, 512);
    let plan = plan_of(&spec, "dev");
    let empty = dir.path().join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let out = pipewright_cmd()
        .env("PATH", &empty)
        .args([
            "deploy",
            spec.to_str().unwrap(),
            "--env",
            "dev",
            "--method",
            "direct",
            "--yes",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the credentials are for account 123456789012")
            && stderr.contains(&format!("deploys to account {}", plan.account)),
        "{stderr}"
    );
    assert!(
        !stderr.contains("bundling") && !stderr.contains("cargo"),
        "nothing was bundled: {stderr}"
    );
    assert!(!dir.path().join("build").exists(), "no build output");
}

fn unreachable_run(args: &[&str], cwd: &Path) -> Run {
    pipewright_with(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:1")], args, cwd)
}

/// Port 1 refuses connections. Each command that talks to AWS says it cannot reach
/// the endpoint, names it, and (for the first call of deploy, diff and destroy) says
/// where the endpoint came from; no `Debug` dump, exit code 2.
#[test]
fn an_unreachable_endpoint_is_said_in_words_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec_copy(dir.path(), "pwu", 512);
    let spec = spec.to_str().unwrap();
    let zip = stand_in_zip(dir.path());
    let zip = zip.to_str().unwrap();
    for args in [
        vec!["deploy", spec, "--env", "dev", "--yes", "--lambda-zip", zip],
        vec!["diff", spec, "--env", "dev"],
        vec!["destroy", spec, "--env", "dev", "--yes"],
    ] {
        let r = unreachable_run(&args, dir.path());
        assert_eq!(r.code, 2, "{args:?}: {}\n{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains("cannot reach http://127.0.0.1:1: ")
                && r.stderr.contains("--endpoint-url or AWS_ENDPOINT_URL"),
            "{args:?}: {}",
            r.stderr
        );
        assert!(
            !r.stderr.contains("bundling"),
            "{args:?} did not build: {}",
            r.stderr
        );
        for d in DEBUG_DUMP {
            assert!(!r.stderr.contains(d), "{args:?} `{d}`: {}", r.stderr);
        }
    }
    let r = unreachable_run(&["iam", "verify", spec, "--env", "dev"], dir.path());
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("cannot reach the IAM endpoint: "),
        "{}",
        r.stderr
    );
    for d in DEBUG_DUMP {
        assert!(!r.stderr.contains(d), "iam verify `{d}`: {}", r.stderr);
    }
}

/// Human mode with stderr not a terminal (a CI log): every event CloudFormation (moto)
/// reports for a stack is one line — time, stack, logical id, type, status — checked
/// against DescribeStackEvents itself. moto reports only stack-level events, so those
/// are the lines. Then `destroy` says `deleting`, never `deploying`.
#[tokio::test(flavor = "multi_thread")]
async fn a_ci_log_has_a_line_per_stack_event_and_destroy_says_deleting() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("pwl{}", std::process::id() % 100_000);
    let spec = spec_copy(dir.path(), &name, 512);
    let plan = plan_of(&spec, "dev");
    let zip = stand_in_zip(dir.path());
    let spec_s = spec.to_str().unwrap();
    let r = deploy_direct(&spec, &zip, &[], dir.path());
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let cfn = aws_sdk_cloudformation::Client::new(&sdk().await);
    for stack in plan.stacks.values() {
        let events = cfn
            .describe_stack_events()
            .stack_name(stack)
            .send()
            .await
            .unwrap();
        let events = events.stack_events();
        assert!(
            events
                .iter()
                .any(|e| e.resource_status().map(|s| s.as_str()) == Some("CREATE_COMPLETE")),
            "{stack}: moto reports its creation"
        );
        for e in events {
            // The line shows the time to the millisecond.
            let ms = e.timestamp().unwrap().to_millis().unwrap();
            let time = DateTime::from_millis(ms)
                .fmt(DateTimeFormat::DateTime)
                .unwrap();
            let want = format!(
                "{time} {stack} {} {} {}",
                e.logical_resource_id().unwrap(),
                e.resource_type().unwrap(),
                e.resource_status().unwrap().as_str()
            );
            assert!(
                r.stderr.lines().any(|l| l.starts_with(&want)),
                "no line `{want}` in:\n{}",
                r.stderr
            );
        }
        assert!(
            r.stderr
                .lines()
                .any(|l| l.starts_with(&format!("{stack}: deploying ("))),
            "{stack}: {}",
            r.stderr
        );
    }

    // Again with -q: nothing changes; no progress or events, the results on stdout.
    let r = deploy_direct(&spec, &zip, &["-q"], dir.path());
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    for stack in plan.stacks.values() {
        assert!(!r.stderr.contains(stack.as_str()), "-q:\n{}", r.stderr);
        assert!(
            r.stdout.lines().any(|l| l == format!("{stack}: no-change")),
            "{stack}: {}",
            r.stdout
        );
    }

    let iam = aws_sdk_iam::Client::new(&sdk().await);
    detach_managed_policies(&plan, &iam).await;
    let r = pipewright(
        &["destroy", spec_s, "--env", "dev", "--moto-compat", "--yes"],
        dir.path(),
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(!r.stderr.contains("deploying"), "{}", r.stderr);
    for stack in plan.stacks.values() {
        assert!(
            r.stderr
                .lines()
                .any(|l| l.starts_with(&format!("{stack}: deleting ("))),
            "{stack}: {}",
            r.stderr
        );
    }
}
