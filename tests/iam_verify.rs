//! `iam verify`: drift of deployed roles against a moto server of its own (IAM read API,
//! no enforcement), and the SimulatePrincipalPolicy requests and report with
//! aws-smithy-mocks (moto has no policy simulator).
#![cfg(feature = "aws")]

use std::process::Command;

use aws_sdk_iam::Client;
use aws_sdk_iam::operation::simulate_principal_policy::SimulatePrincipalPolicyOutput;
use aws_sdk_iam::types::{EvaluationResult, PolicyEvaluationDecisionType};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use pipewright::review::cases::{Expect, build};
use pipewright::review::diff::{Class, Kind};
use pipewright::review::verify::verify_with;
use pipewright::spec::{self, RealFiles};
use serde_json::json;

mod json_schema_common;
mod private_moto;
use private_moto::Moto;

const REGION: &str = "eu-west-2";

fn plan(env: &str) -> pipewright::plan::Plan {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipeline.yaml");
    let v = spec::check(&path, &RealFiles).unwrap().validated().unwrap();
    pipewright::plan::lower(&v, env).unwrap()
}

fn iam(ep: &str) -> Client {
    Client::from_conf(
        aws_sdk_iam::Config::builder()
            .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
            .region(aws_sdk_iam::config::Region::new(REGION))
            .credentials_provider(aws_sdk_iam::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .endpoint_url(ep)
            .build(),
    )
}

const KEY: &str = "arn:aws:kms:eu-west-2:111111111111:key/5b3e6a0c-1111-4222-8333-944445555666";

/// The name CloudFormation would give a role (`<stack>-<LogicalId>-<suffix>`).
fn generated(id: &str) -> String {
    let lid: String = id
        .split(['-', '_'])
        .map(|w| w[..1].to_uppercase() + &w[1..])
        .collect();
    format!("transit-payments-dev-stack-{lid}Role-4F7K2Q9Z1XJD")
}

/// Deploys every generated role of the plan as synth's templates would (through the IAM
/// API: the role's path and a name of CloudFormation's, trust policy, boundary, one
/// managed policy per generated document, named by CloudFormation too).
async fn deploy_roles(iam: &Client, plan: &pipewright::plan::Plan) {
    // Deploy-time values: the key ARN differs from the cases' test binding, so drift
    // must learn it from the deployed documents.
    let mut bindings = build(plan).unwrap().bindings;
    bindings.insert("DataKeyArn".into(), KEY.into());
    let bind = |mut text: String| {
        for (k, v) in &bindings {
            text = text.replace(&format!("${{{k}}}"), v);
        }
        text
    };
    for (id, r) in &pipewright::emit::iam::roles(plan) {
        let name = generated(id);
        let mut b = iam
            .create_role()
            .role_name(&name)
            .path(plan.roles[id].path())
            .assume_role_policy_document(r.trust.to_string());
        if let Some(pb) = &r.boundary {
            b = b.permissions_boundary(pb);
        }
        b.send().await.unwrap();
        for (i, doc) in r.policies.values().enumerate() {
            let text = bind(serde_json::to_string(doc).unwrap());
            let p = iam
                .create_policy()
                .policy_name(format!("{name}-Policy{}-9QW3E7R1T5YU", i + 1))
                .policy_document(text)
                .send()
                .await
                .unwrap()
                .policy
                .unwrap();
            iam.attach_role_policy()
                .role_name(&name)
                .policy_arn(p.arn().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_is_reported_role_by_role() {
    let m = Moto::start(&[]);
    let ep = m.endpoint();
    let iam = iam(&ep);
    let plan = plan("dev");
    deploy_roles(&iam, &plan).await;

    let r = verify_with(&iam, &plan, false).await.unwrap();
    assert!(r.ok(), "{r:#?}");
    assert_eq!(r.drift.len(), plan.roles.len());
    // Found by path, reported under the plan's name, with the deployed ARN.
    let ingest = r
        .drift
        .iter()
        .find(|d| d.role == "transit-payments-dev-ingest")
        .unwrap();
    assert_eq!(ingest.path, "/transit-payments-dev-ingest/");
    // moto's account.
    assert_eq!(
        ingest.arn.as_deref(),
        Some(
            format!(
                "arn:aws:iam::123456789012:role/transit-payments-dev-ingest/{}",
                generated("ingest")
            )
            .as_str()
        )
    );

    // Edited in the console: a new default version of the ingest policy with a delete; an
    // inline policy on the crawler; the boundary taken off SageMaker's role.
    let roles = pipewright::emit::iam::roles(&plan);
    let ingest = &roles["ingest"];
    let doc = ingest.policies.values().next().unwrap();
    let mut v = serde_json::to_value(doc).unwrap();
    v["Statement"].as_array_mut().unwrap().push(json!({"Sid": "Console", "Effect": "Allow",
        "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::transit-payments-dev-raw-111111111111/*"}));
    let arn = iam
        .list_policies()
        .send()
        .await
        .unwrap()
        .policies()
        .iter()
        .find(|p| {
            p.policy_name()
                == Some(format!("{}-Policy1-9QW3E7R1T5YU", generated("ingest")).as_str())
        })
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    iam.create_policy_version()
        .policy_arn(&arn)
        .policy_document({
            let mut b = build(&plan).unwrap().bindings;
            b.insert("DataKeyArn".into(), KEY.into());
            let mut t = v.to_string();
            for (k, x) in &b {
                t = t.replace(&format!("${{{k}}}"), x);
            }
            t
        })
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name(generated("crawler"))
        .policy_name("quick-fix")
        .policy_document(json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "glue:*", "Resource": "*"}]}).to_string())
        .send()
        .await
        .unwrap();
    iam.delete_role_permissions_boundary()
        .role_name(generated("sagemaker"))
        .send()
        .await
        .unwrap();

    let r = verify_with(&iam, &plan, false).await.unwrap();
    assert!(!r.ok());
    let of = |role: &str| {
        &r.drift
            .iter()
            .find(|d| d.role == roles[role].name)
            .unwrap()
            .changes
    };
    let ingest_changes = of("ingest");
    assert_eq!(ingest_changes.len(), 1, "{ingest_changes:#?}");
    assert_eq!(ingest_changes[0].class, Class::Broadening);
    assert_eq!(ingest_changes[0].kind, Kind::ActionAdded);
    assert_eq!(ingest_changes[0].actions, ["s3:deleteobject"]);
    assert!(
        of("crawler")
            .iter()
            .any(|c| c.actions == ["glue:*"] && c.class == Class::Broadening)
    );
    assert!(
        of("sagemaker")
            .iter()
            .any(|c| c.kind == Kind::BoundaryRemoved)
    );
    assert!(
        of("quicksight-payments-analysts").is_empty(),
        "placeholders bound from the deployed key ARN"
    );

    // The command: exit 1 with the drift listed. It finds the emulator through
    // AWS_ENDPOINT_URL, as every command does.
    let verify = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pipewright"))
            .args(["iam", "verify", "--env", "dev", "--no-simulate"])
            .args(extra)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("AWS_ENDPOINT_URL", &ep)
            .env("AWS_REGION", "eu-west-2")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .output()
            .unwrap()
    };
    let o = verify(&[]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("role transit-payments-dev-ingest: drift"),
        "{out}"
    );
    assert!(
        out.contains("role transit-payments-dev-apigw-logs: as generated"),
        "{out}"
    );
    // The same as JSON, in the shape docs/schemas/iam-verify.v1.json documents.
    let o = verify(&["--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    json_schema_common::assert_matches("iam-verify", &doc);
    let ingest = doc["drift"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["role"] == "transit-payments-dev-ingest")
        .unwrap();
    assert!(!ingest["changes"].as_array().unwrap().is_empty(), "{doc}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_is_found_by_its_path_alone() {
    let m = Moto::start(&[]);
    let ep = m.endpoint();
    let iam = iam(&ep);
    let plan = plan("dev");
    let trust = pipewright::emit::iam::roles(&plan)["ingest"]
        .trust
        .to_string();
    let create = |name: &str, path: &str| {
        iam.create_role()
            .role_name(name)
            .path(path)
            .assume_role_policy_document(&trust)
            .send()
    };
    // A role named like the plan's but without its path, and one under a deeper path:
    // neither is the generated role.
    create("transit-payments-dev-ingest", "/").await.unwrap();
    create("deeper", "/transit-payments-dev-ingest/more/")
        .await
        .unwrap();
    let r = verify_with(&iam, &plan, false).await.unwrap();
    assert!(!r.ok());
    assert!(r.drift.iter().all(|d| !d.deployed && d.arn.is_none()));
    assert!(
        pipewright::review::verify::render_verify(&r).contains(
            "role transit-payments-dev-ingest: not deployed (no role has the path /transit-payments-dev-ingest/)"
        )
    );
    // Two roles in the path: which one is deployed cannot be told.
    create("ingest-a", "/transit-payments-dev-ingest/")
        .await
        .unwrap();
    create("ingest-b", "/transit-payments-dev-ingest/")
        .await
        .unwrap();
    let e = verify_with(&iam, &plan, false).await.unwrap_err();
    assert!(
        e.contains("2 roles have the path /transit-payments-dev-ingest/ (ingest-a, ingest-b)")
            && e.contains("exactly one"),
        "{e}"
    );
}

fn answer(decision: PolicyEvaluationDecisionType, action: &str) -> SimulatePrincipalPolicyOutput {
    SimulatePrincipalPolicyOutput::builder()
        .evaluation_results(
            EvaluationResult::builder()
                .eval_action_name(action)
                .eval_decision(decision)
                .build()
                .unwrap(),
        )
        .build()
}

#[tokio::test]
async fn simulator_requests_carry_the_context_and_the_report_compares_decisions() {
    let plan = plan("dev");
    let mut cases = build(&plan).unwrap();
    cases.roles.retain(|r| r.role.ends_with("-ingest"));
    let role_arn = cases.roles[0].principal.clone();
    // Trust cases are other principals asking; the simulator is about the role's own.
    cases.roles[0].cases.retain(|c| c.principal.is_none());
    let needs = cases.roles[0]
        .cases
        .iter()
        .filter(|c| c.expect == Expect::Allowed)
        .count();

    // A simulator that allows only well-formed requests: the role as the source, the
    // context of KMS uses, and the bucket policy for S3.
    let well_formed = mock!(Client::simulate_principal_policy).then_compute_output(move |req| {
        let action = req.action_names().first().cloned().unwrap_or_default();
        let ctx = |k: &str| {
            req.context_entries()
                .iter()
                .any(|e| e.context_key_name() == Some(k))
        };
        let ok = req.policy_source_arn() == Some(role_arn.as_str())
            && req.resource_arns().len() == 1
            && ctx("aws:SecureTransport")
            && (!action.starts_with("kms:")
                || ctx("kms:ViaService")
                || action.starts_with("kms:Sched")
                || action.starts_with("kms:Put")
                || action.starts_with("kms:ReEncrypt"))
            && (!action.starts_with("s3:") || req.resource_policy().is_some());
        answer(
            if ok {
                PolicyEvaluationDecisionType::Allowed
            } else {
                PolicyEvaluationDecisionType::ImplicitDeny
            },
            &action,
        )
    });
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&well_formed]);
    let sims = pipewright::review::verify::simulate(&client, &cases)
        .await
        .unwrap();
    assert_eq!(sims.len(), cases.roles[0].cases.len());
    assert_eq!(well_formed.num_calls(), sims.len());
    for s in &sims {
        // Everything is allowed, so needs are as intended and neighbours are not.
        assert_eq!(s.as_intended, s.expect == Expect::Allowed, "{s:?}");
    }

    // A simulator that denies everything: every need is reported.
    let deny = mock!(Client::simulate_principal_policy).then_compute_output(|req| {
        answer(
            PolicyEvaluationDecisionType::ImplicitDeny,
            req.action_names().first().map_or("", String::as_str),
        )
    });
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&deny]);
    let sims = pipewright::review::verify::simulate(&client, &cases)
        .await
        .unwrap();
    assert_eq!(sims.iter().filter(|s| !s.as_intended).count(), needs);

    // An API error stops the run with its reason.
    let failing = mock!(Client::simulate_principal_policy).then_error(|| {
        aws_sdk_iam::operation::simulate_principal_policy::SimulatePrincipalPolicyError::NoSuchEntityException(
            aws_sdk_iam::types::error::NoSuchEntityException::builder()
                .message("role not found")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&failing]);
    let e = pipewright::review::verify::simulate(&client, &cases)
        .await
        .unwrap_err();
    assert!(
        e.contains("SimulatePrincipalPolicy") && e.contains("role not found"),
        "{e}"
    );
}
