//! `pipewright deploy` with the change-set method (the default) against a real moto
//! server (`PIPEWRIGHT_MOTO_ENDPOINT`, which `.ci/run` sets; this test fails without it),
//! as far as moto goes.
//!
//! A stack created by a moto 5.2.5 change set gets no Outputs and no Exports, so on a
//! fresh deploy the first stack that imports from one (storage imports foundation's
//! data key) fails in ExecuteChangeSet with "No export named …" and stays the
//! REVIEW_IN_PROGRESS shell the change set made: a whole fresh deploy through change
//! sets cannot pass on moto, and `deploy_moto.rs` deploys with `--method direct`. A
//! change set over stacks created directly works: their exports exist, ImportValue
//! resolves and outputs stay after the update. A REVIEW_IN_PROGRESS shell (a change
//! set that never ran) is deleted by the direct method here; the change-set method
//! creates the stack in the shell through a new CREATE change set, as CloudFormation
//! (and `aws cloudformation deploy`) allows, but moto 5.2.5 makes a second stack of
//! the same name for it and DescribeStacks keeps answering with the shell, so that
//! path is tested with mocks only. moto's change sets never report a
//! Replacement and moto never rolls back, so refusing or allowing a replacement and
//! recreating a ROLLBACK_COMPLETE stack are tested with mocks (`src/deploy/tests/`).
#![cfg(feature = "aws")]

use std::path::Path;

use pipewright::plan::StackId;
use serde_json::Value;

mod deploy_common;
use deploy_common::*;

/// Leaves the empty REVIEW_IN_PROGRESS shell of a change set that never ran (as a
/// refused or interrupted deploy leaves it) where `stack` goes.
async fn leave_shell(cfn: &aws_sdk_cloudformation::Client, stack: &str) {
    cfn.create_change_set()
        .stack_name(stack)
        .change_set_name("left-behind")
        .change_set_type(aws_sdk_cloudformation::types::ChangeSetType::Create)
        .template_body(r#"{"Resources": {"LeftBehind": {"Type": "AWS::SQS::Queue"}}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(status(cfn, stack).await, "REVIEW_IN_PROGRESS");
}

/// The logical ids of a stack's resources.
async fn resource_ids(cfn: &aws_sdk_cloudformation::Client, stack: &str) -> Vec<String> {
    let out = cfn
        .describe_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .unwrap();
    out.stack_resources()
        .iter()
        .filter_map(|r| r.logical_resource_id().map(str::to_string))
        .collect()
}

/// Whether the run noted `text` about `stack`.
fn noted(events: &[Value], stack: &str, text: &str) -> bool {
    events.iter().any(|e| {
        e["event"] == "note"
            && e["stack"] == stack
            && e["message"].as_str().is_some_and(|m| m.contains(text))
    })
}

async fn status(cfn: &aws_sdk_cloudformation::Client, stack: &str) -> String {
    let out = cfn
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .unwrap();
    out.stacks()[0].stack_status().unwrap().as_str().to_string()
}

/// The change-set method as far as moto goes; see the header. A fresh
/// deploy creates the stacks that import nothing through change sets and stops at the
/// first import; over stacks that exist with their exports, a change goes through a
/// change set and the stacks without changes are left alone. On the way, the direct
/// deploy deletes a REVIEW_IN_PROGRESS shell and creates the stack.
#[tokio::test(flavor = "multi_thread")]
async fn the_change_set_method_creates_what_moto_can_and_updates_through_change_sets() {
    let dir = tempfile::tempdir().unwrap();
    let zip = stand_in_zip(dir.path());
    let outputs = dir.path().join("outputs.json");
    let deploy = |spec: &Path, method: &[&str]| {
        let mut args = vec!["deploy", spec.to_str().unwrap(), "--env", "dev"];
        args.extend_from_slice(method);
        args.extend_from_slice(&["--moto-compat", "--yes", "--concurrency", "1"]);
        args.extend_from_slice(&["--lambda-zip", zip.to_str().unwrap(), "--format", "json"]);
        args.extend_from_slice(&["--outputs-file", outputs.to_str().unwrap()]);
        pipewright(&args, dir.path())
    };
    let conf = sdk().await;
    let cfn = aws_sdk_cloudformation::Client::new(&conf);

    // 1. A fresh deploy: bootstrap and foundation import nothing and are created
    // through change sets (each reported its changes first); storage imports the data
    // key from foundation, whose change-set stack moto gave no exports.
    let name = format!("pwc{}", std::process::id() % 100_000);
    let spec = spec_copy(&dir.path().join("fresh"), &name, 512);
    let plan = plan_of(&spec, "dev");
    let r = deploy(&spec, &[]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let doc = results(&outputs);
    let events = events_of(&r.stdout);
    let changes_of = |events: &[Value], stack: &str| {
        events
            .iter()
            .filter(|e| e["event"] == "changes" && e["stack"] == stack)
            .count()
    };
    for id in [StackId::Bootstrap, StackId::Foundation] {
        let stack = &plan.stacks[&id];
        assert_eq!(result_of(&doc, stack), "created", "{stack}");
        assert_eq!(
            changes_of(&events, stack),
            1,
            "{stack} through a change set"
        );
    }
    let storage = &plan.stacks[&StackId::Storage];
    let foundation = &plan.stacks[&StackId::Foundation];
    assert_eq!(result_of(&doc, storage), "failed");
    let failed = events
        .iter()
        .find(|e| e["event"] == "stack-failed" && e["stack"] == storage.as_str())
        .expect("storage failed");
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains(&format!("No export named {foundation}:DataKeyArn")),
        "{failed}"
    );
    // The change set was created (the stack is its empty shell) and nothing else ran.
    assert_eq!(status(&cfn, storage).await, "REVIEW_IN_PROGRESS");
    for (id, stack) in &plan.stacks {
        if !matches!(
            id,
            StackId::Bootstrap | StackId::Foundation | StackId::Storage
        ) {
            assert_eq!(result_of(&doc, stack), "skipped", "{stack}");
        }
    }

    // 2. Stacks created directly have their exports; a change to the function then
    // goes through a change set, and only the ingest stack changes.
    let name = format!("pwu{}", std::process::id() % 100_000);
    let spec = spec_copy(&dir.path().join("update"), &name, 512);
    let plan = plan_of(&spec, "dev");
    // A shell where the ml stack goes: the direct deploy deletes it, then creates.
    let ml = &plan.stacks[&StackId::Ml];
    leave_shell(&cfn, ml).await;
    let r = deploy(&spec, &["--method", "direct"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let events = events_of(&r.stdout);
    assert!(noted(&events, ml, "REVIEW_IN_PROGRESS"), "{}", r.stdout);
    assert_eq!(status(&cfn, ml).await, "CREATE_COMPLETE");
    let ids = resource_ids(&cfn, ml).await;
    assert!(
        ids.iter().any(|i| i == "SagemakerRole") && !ids.iter().any(|i| i == "LeftBehind"),
        "{ids:?}"
    );
    let spec = spec_copy(&dir.path().join("update"), &name, 1024);
    let r = deploy(&spec, &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let doc = results(&outputs);
    let events = events_of(&r.stdout);
    let ingest = &plan.stacks[&StackId::Ingest];
    for stack in plan.stacks.values() {
        let want = if stack == ingest {
            "updated"
        } else {
            "no-change"
        };
        assert_eq!(result_of(&doc, stack), want, "{stack}");
    }
    let shown: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "changes" && e["stack"] == ingest.as_str())
        .collect();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(
        shown[0]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["logical_id"] == "IngestFunction" && c["action"] == "Modify"),
        "{}",
        shown[0]
    );
    let lambda = aws_sdk_lambda::Client::new(&conf);
    let f = lambda
        .get_function_configuration()
        .function_name(&plan.function_name)
        .send()
        .await
        .unwrap();
    assert_eq!(f.memory_size(), Some(1024));
    // The outputs a later stack reads are still there after the change set ran.
    assert!(
        doc["stacks"][ingest.as_str()]["outputs"]["ApiUrl"].is_string(),
        "{doc}"
    );
}
