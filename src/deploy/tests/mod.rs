//! The engine against aws-smithy-mocks, for what moto cannot produce: a change set
//! replacing a data resource, a rollback with a cascade of cancelled resources,
//! UPDATE_ROLLBACK_FAILED, a stack another deploy is updating, throttling. The
//! responses are shaped like real CloudFormation's (awsQuery XML for errors). The
//! states a deploy must get past (ROLLBACK_COMPLETE, REVIEW_IN_PROGRESS,
//! `--allow-replace`) are in `states`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::config::{Credentials, Region};
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::create_stack::CreateStackOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::get_stack_policy::GetStackPolicyOutput;
use aws_sdk_cloudformation::types::{
    Change as CfnChange, ChangeAction, ChangeSetStatus, ChangeType, Replacement,
    RequiresRecreation, ResourceAttribute, ResourceChange, ResourceChangeDetail, ResourceStatus,
    ResourceTargetDefinition, Stack, StackEvent, StackStatus,
};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};

use super::artifacts::artifacts_bucket;
use super::aws::{Aws, check_account};
use super::cfn::Cfn;
use super::engine::{Engine, Shared};
use super::*;
use crate::plan::StackId;

mod states;

fn client(rules: &[&Rule]) -> Client {
    Client::from_conf(
        aws_sdk_cloudformation::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-2"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .http_client(create_mock_http_client())
            .retry_config(
                RetryConfig::adaptive()
                    .with_max_attempts(4)
                    .with_initial_backoff(Duration::from_millis(1)),
            )
            .interceptor(interceptor(rules))
            .build(),
    )
}

/// The mock interceptor answering with the rules given.
fn interceptor(rules: &[&Rule]) -> MockResponseInterceptor {
    rules.iter().fold(
        MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny),
        |i, r| i.with_rule(r),
    )
}

/// A client of an SDK crate answering with the rules given (static credentials, no retries).
macro_rules! mocked {
    ($sdk:ident, $rules:expr) => {
        $sdk::Client::from_conf(
            $sdk::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("eu-west-2"))
                .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
                .http_client(create_mock_http_client())
                .interceptor(interceptor($rules))
                .build(),
        )
    };
}

/// An EC2 client answering with the rules given.
fn ec2(rules: &[&Rule]) -> aws_sdk_ec2::Client {
    mocked!(aws_sdk_ec2, rules)
}

/// An STS client answering with the rules given.
fn sts(rules: &[&Rule]) -> aws_sdk_sts::Client {
    mocked!(aws_sdk_sts, rules)
}

/// An engine over the reference spec's `dev` plan, its CloudFormation client mocked.
fn engine(cfn: Client, method: Method) -> Engine {
    engine_for("dev", cfn, method)
}

fn engine_for(env: &str, cfn: Client, method: Method) -> Engine {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let checked = crate::spec::check(&root.join("pipeline.yaml"), &crate::spec::RealFiles).unwrap();
    let v = checked.validated().unwrap();
    let plan = crate::plan::lower(&v, env).unwrap();
    let out = crate::emit::synth(&plan).unwrap();
    let units = units(&plan, &out).unwrap();
    let params = logic::param_sources(&units).unwrap();
    let deps = logic::dependencies(&units, &params);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-2"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .http_client(create_mock_http_client())
            .build(),
    );
    let o = Options {
        method,
        approval: Approval::Never,
        approval_name: "never".into(),
        concurrency: 1,
        allow_replace: Vec::new(),
        profile: None,
        endpoint_url: None,
        yes: true,
        outputs_file: None,
        lambda_zip: None,
        build_dir: root.join("build"),
        poll: Duration::ZERO,
        timeout: Duration::from_secs(5),
        moto_compat: false,
        quiet: false,
        style: Style::Json,
    };
    // One mocked client answers for every region the stacks live in.
    let regions: BTreeSet<String> = units.iter().map(|u| u.region.clone()).collect();
    Engine {
        aws: Aws {
            ec2: regions.iter().map(|r| (r.clone(), ec2(&[]))).collect(),
            cfn: regions
                .into_iter()
                .map(|r| {
                    (
                        r,
                        Cfn {
                            client: cfn.clone(),
                            poll: o.poll,
                            timeout: o.timeout,
                        },
                    )
                })
                .collect(),
            s3,
            sts: sts(&[]),
            endpoint: None,
        },
        bucket: artifacts_bucket(&plan).unwrap(),
        plan,
        units,
        params,
        deps,
        o,
        rep: Reporter::new(Style::Json, false),
        code_key: Some("lambda/ingest/0123.zip".into()),
        shared: Mutex::new(Shared::default()),
        prompt: tokio::sync::Mutex::new(()),
        uploads: Mutex::new(Vec::new()),
    }
}

/// GetTemplate answering with an older template (so that the stack is not unchanged).
fn older_template() -> Rule {
    mock!(Client::get_template).then_output(|| {
        aws_sdk_cloudformation::operation::get_template::GetTemplateOutput::builder()
            .template_body("{\"Resources\": {}}")
            .build()
    })
}

fn index_of(e: &Engine, id: StackId) -> usize {
    e.units.iter().position(|u| u.id == id).unwrap()
}

fn stack(name: &str, status: StackStatus) -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(
            Stack::builder()
                .stack_name(name)
                .stack_status(status)
                .build(),
        )
        .build()
}

fn query_error(code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\
         <Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
         <RequestId>8f1b6a2c-0000-4000-8000-000000000000</RequestId></ErrorResponse>"
    )
}

/// A stack with no events and no stack policy yet, whose policy may be set:
/// (DescribeStackEvents, GetStackPolicy, SetStackPolicy).
fn quiet_stack() -> (Rule, Rule, Rule) {
    (
        mock!(Client::describe_stack_events)
            .then_output(|| DescribeStackEventsOutput::builder().build()),
        mock!(Client::get_stack_policy).then_output(|| GetStackPolicyOutput::builder().build()),
        mock!(Client::set_stack_policy).then_output(|| {
            aws_sdk_cloudformation::operation::set_stack_policy::SetStackPolicyOutput::builder()
                .build()
        }),
    )
}

/// CloudFormation's answer to DescribeStacks for a stack that does not exist.
fn missing(name: &str) -> Option<String> {
    Some(query_error(
        "ValidationError",
        &format!("Stack with id {name} does not exist"),
    ))
}

fn event(n: u32, id: &str, ty: &str, status: ResourceStatus, reason: Option<&str>) -> StackEvent {
    StackEvent::builder()
        .event_id(format!("ev-{n}"))
        .stack_name("s")
        .logical_resource_id(id)
        .resource_type(ty)
        .timestamp(aws_sdk_cloudformation::primitives::DateTime::from_secs(
            1_790_000_000 + i64::from(n),
        ))
        .resource_status(status)
        .set_resource_status_reason(reason.map(str::to_string))
        .build()
}

#[tokio::test]
async fn a_change_set_replacing_the_table_is_refused_before_it_runs() {
    let describe = mock!(Client::describe_stacks)
        .then_output(|| stack("transit-payments-dev-storage", StackStatus::UpdateComplete));
    let create = mock!(Client::create_change_set).then_output(|| {
        CreateChangeSetOutput::builder()
            .id("arn:aws:cloudformation:eu-west-2:111111111111:changeSet/pipewright-1/abc")
            .build()
    });
    let changes = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::CreateComplete)
            .changes(
                CfnChange::builder()
                    .r#type(ChangeType::Resource)
                    .resource_change(
                        ResourceChange::builder()
                            .action(ChangeAction::Modify)
                            .logical_resource_id("IndexTable")
                            .resource_type("AWS::DynamoDB::Table")
                            .replacement(Replacement::True)
                            .details(
                                ResourceChangeDetail::builder()
                                    .target(
                                        ResourceTargetDefinition::builder()
                                            .attribute(ResourceAttribute::Properties)
                                            .name("KeySchema")
                                            .requires_recreation(RequiresRecreation::Always)
                                            .build(),
                                    )
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let delete =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let execute =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let e = engine(
        client(&[
            &describe,
            &create,
            &changes,
            &delete,
            &execute,
            &older_template(),
        ]),
        Method::ChangeSet,
    );
    let i = index_of(&e, StackId::Storage);
    let err = e.deploy_inner(i).await.unwrap_err();
    assert!(err.contains("`IndexTable`"), "{err}");
    assert!(err.contains("KeySchema"), "{err}");
    assert!(err.contains("--allow-replace IndexTable"), "{err}");
    assert_eq!(execute.num_calls(), 0, "nothing ran");
    assert_eq!(delete.num_calls(), 1, "the change set is cleaned up");
    assert_eq!(e.deploy_one(i).await, Outcome::Refused);
    assert_eq!(execute.num_calls(), 0);
}

#[tokio::test]
async fn a_failed_create_reports_the_first_failure_not_the_cancelled_cascade() {
    let name = "transit-payments-dev-ingest";
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .http_status(400, missing(name))
        .output(move || stack(name, StackStatus::RollbackComplete))
        .repeatedly()
        .build();
    let create = mock!(Client::create_stack).then_output(|| {
        CreateStackOutput::builder()
            .stack_id("arn:aws:cloudformation:eu-west-2:111111111111:stack/x/1")
            .build()
    });
    let events = mock!(Client::describe_stack_events).then_output(move || {
        // Newest first, as CloudFormation returns them.
        let mut v = vec![
            event(1, name, "AWS::CloudFormation::Stack", ResourceStatus::CreateInProgress, Some("User Initiated")),
            event(2, "DeadLetterQueue", "AWS::SQS::Queue", ResourceStatus::CreateInProgress, None),
            event(3, "IngestFunction", "AWS::Lambda::Function", ResourceStatus::CreateInProgress, None),
            event(4, "IngestFunction", "AWS::Lambda::Function", ResourceStatus::CreateFailed,
                Some("Resource handler returned message: \"Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist.\"")),
            event(5, "DeadLetterQueue", "AWS::SQS::Queue", ResourceStatus::CreateFailed, Some("Resource creation cancelled")),
            event(6, "Api", "AWS::ApiGateway::RestApi", ResourceStatus::CreateFailed, Some("Resource creation cancelled")),
            event(7, name, "AWS::CloudFormation::Stack", ResourceStatus::RollbackInProgress,
                Some("The following resource(s) failed to create: [Api, DeadLetterQueue, IngestFunction]. Rollback requested by user.")),
            event(8, name, "AWS::CloudFormation::Stack", ResourceStatus::RollbackComplete, None),
        ];
        v.reverse();
        DescribeStackEventsOutput::builder().set_stack_events(Some(v)).build()
    });
    let e = engine(client(&[&describe, &create, &events]), Method::Direct);
    let i = index_of(&e, StackId::Ingest);
    let err = e.deploy_inner(i).await.unwrap_err();
    assert!(err.contains("ROLLBACK_COMPLETE"), "{err}");
    assert!(
        err.contains("IngestFunction (AWS::Lambda::Function)"),
        "{err}"
    );
    assert!(err.contains("NoSuchKey"), "{err}");
    assert!(!err.contains("cancelled"), "{err}");
    assert_eq!(create.num_calls(), 1);
}

#[tokio::test]
async fn update_rollback_failed_is_refused_with_what_to_do() {
    let name = "transit-payments-dev-processing";
    let describe = mock!(Client::describe_stacks)
        .then_output(move || stack(name, StackStatus::UpdateRollbackFailed));
    let update = mock!(Client::update_stack).then_output(|| {
        aws_sdk_cloudformation::operation::update_stack::UpdateStackOutput::builder().build()
    });
    let e = engine(client(&[&describe, &update]), Method::Direct);
    let i = index_of(&e, StackId::Processing);
    let err = e.deploy_inner(i).await.unwrap_err();
    assert!(
        err.contains(&format!("continue-update-rollback --stack-name {name}")),
        "{err}"
    );
    assert_eq!(update.num_calls(), 0);
}

#[tokio::test]
async fn a_stack_being_updated_by_someone_else_is_waited_for() {
    let name = "transit-payments-dev-foundation";
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .output(move || stack(name, StackStatus::UpdateInProgress))
        .times(3)
        .output(move || stack(name, StackStatus::UpdateComplete))
        .repeatedly()
        .build();
    let (events, policy, set_policy) = quiet_stack();
    let update = mock!(Client::update_stack)
        .sequence()
        .http_status(
            400,
            Some(query_error(
                "ValidationError",
                "No updates are to be performed.",
            )),
        )
        .build();
    let e = engine(
        client(&[
            &describe,
            &events,
            &policy,
            &set_policy,
            &update,
            &older_template(),
        ]),
        Method::Direct,
    );
    let i = index_of(&e, StackId::Foundation);
    let r = e.deploy_inner(i).await.unwrap();
    assert_eq!(r, Outcome::NoChange);
    assert!(describe.num_calls() >= 4, "polled until settled");
    assert_eq!(
        update.num_calls(),
        1,
        "updated only after the other operation ended"
    );
    assert_eq!(set_policy.num_calls(), 1, "the data stack got its policy");
}

#[tokio::test]
async fn throttling_is_retried() {
    let name = "transit-payments-dev-ml";
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .http_status(400, Some(query_error("Throttling", "Rate exceeded")))
        .times(2)
        .output(move || stack(name, StackStatus::CreateComplete))
        .build();
    let e = engine(client(&[&describe]), Method::Direct);
    let s = e.cfn(0).describe(name).await.unwrap().unwrap();
    assert_eq!(s.status, "CREATE_COMPLETE");
    assert_eq!(describe.num_calls(), 3);
}

#[tokio::test]
async fn a_no_op_change_set_runs_nothing() {
    let name = "transit-payments-dev-ml";
    let describe = mock!(Client::describe_stacks)
        .then_output(move || stack(name, StackStatus::UpdateComplete));
    let create = mock!(Client::create_change_set)
        .then_output(|| CreateChangeSetOutput::builder().id("cs-1").build());
    let changes = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::Failed)
            .status_reason("The submitted information didn't contain changes. Submit different information to create a change set.")
            .build()
    });
    let delete =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let execute =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let e = engine(
        client(&[
            &describe,
            &create,
            &changes,
            &delete,
            &execute,
            &older_template(),
        ]),
        Method::ChangeSet,
    );
    let i = index_of(&e, StackId::Ml);
    assert_eq!(e.deploy_inner(i).await.unwrap(), Outcome::NoChange);
    assert_eq!(execute.num_calls(), 0);
    assert_eq!(delete.num_calls(), 1);
}

#[tokio::test]
async fn a_stack_running_this_template_is_left_alone() {
    let e0 = engine(client(&[]), Method::ChangeSet);
    let i = index_of(&e0, StackId::Ml);
    let body = e0.units[i].body.clone();
    let name = e0.units[i].name.clone();
    let describe = mock!(Client::describe_stacks)
        .then_output(move || stack(&name, StackStatus::UpdateComplete));
    let current = mock!(Client::get_template).then_output(move || {
        aws_sdk_cloudformation::operation::get_template::GetTemplateOutput::builder()
            .template_body(body.clone())
            .build()
    });
    let create = mock!(Client::create_change_set)
        .then_output(|| CreateChangeSetOutput::builder().id("cs-1").build());
    let e = engine(client(&[&describe, &current, &create]), Method::ChangeSet);
    assert_eq!(e.deploy_inner(i).await.unwrap(), Outcome::NoChange);
    assert_eq!(
        create.num_calls(),
        0,
        "no change set for an unchanged stack"
    );
}

#[tokio::test]
async fn a_data_stack_where_data_is_retained_is_created_protected() {
    let name = "transit-payments-prod-storage";
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .http_status(400, missing(name))
        .output(move || stack(name, StackStatus::CreateComplete))
        .repeatedly()
        .build();
    let create = mock!(Client::create_stack)
        .match_requests(|r| {
            let policy: serde_json::Value =
                serde_json::from_str(r.stack_policy_body().unwrap_or("{}")).unwrap();
            let denied = policy["Statement"][1]["Resource"].to_string();
            r.enable_termination_protection() == Some(true)
                && policy["Statement"][1]["Effect"] == "Deny"
                && denied.contains("LogicalResourceId/RawBucket")
                && denied.contains("LogicalResourceId/IndexTable")
                && r.parameters().iter().any(|p| {
                    p.parameter_key() == Some("ReplicaKeyArn")
                        && p.parameter_value() == Some("arn:aws:kms:eu-west-1:222222222222:key/r")
                })
        })
        .then_output(|| CreateStackOutput::builder().stack_id("id").build());
    let events = mock!(Client::describe_stack_events)
        .then_output(|| DescribeStackEventsOutput::builder().build());
    let e = engine_for(
        "prod",
        client(&[&describe, &create, &events]),
        Method::Direct,
    );
    let replica = index_of(&e, StackId::Replica);
    e.shared.lock().unwrap().outputs.insert(
        replica,
        BTreeMap::from([(
            "ReplicaKeyArn".to_string(),
            "arn:aws:kms:eu-west-1:222222222222:key/r".to_string(),
        )]),
    );
    let i = index_of(&e, StackId::Storage);
    assert_eq!(e.deploy_inner(i).await.unwrap(), Outcome::Created);
    assert_eq!(
        create.num_calls(),
        1,
        "created with policy, protection and the replica key"
    );
}

/// The replica stack goes first, before the buckets it replicates back to exist: it is
/// created with its optional key parameters empty (the way back off), and after every
/// other stack the second pass updates it with the keys those stacks output.
#[tokio::test]
async fn the_replica_stack_turns_the_way_back_on_in_a_second_pass() {
    let name = "transit-payments-prod-replica";
    let data_key = "arn:aws:kms:eu-west-2:111111111111:key/d";
    let artifacts_key = "arn:aws:kms:eu-west-2:111111111111:key/a";
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .http_status(400, missing(name))
        .output(move || stack(name, StackStatus::CreateComplete))
        .times(3)
        .output(move || stack(name, StackStatus::UpdateComplete))
        .repeatedly()
        .build();
    let param = |r: &[aws_sdk_cloudformation::types::Parameter], k: &str| {
        r.iter()
            .find(|p| p.parameter_key() == Some(k))
            .and_then(|p| p.parameter_value())
            .map(str::to_owned)
    };
    let create = mock!(Client::create_stack)
        .match_requests(move |r| {
            param(r.parameters(), "DataKeyArn").as_deref() == Some("")
                && param(r.parameters(), "ArtifactsKeyArn").as_deref() == Some("")
        })
        .then_output(|| CreateStackOutput::builder().stack_id("id").build());
    let update = mock!(Client::update_stack)
        .match_requests(move |r| {
            param(r.parameters(), "DataKeyArn").as_deref() == Some(data_key)
                && param(r.parameters(), "ArtifactsKeyArn").as_deref() == Some(artifacts_key)
        })
        .then_output(|| {
            aws_sdk_cloudformation::operation::update_stack::UpdateStackOutput::builder().build()
        });
    let (events, policy, set_policy) = quiet_stack();
    let protect = mock!(Client::update_termination_protection).then_output(|| {
        aws_sdk_cloudformation::operation::update_termination_protection::UpdateTerminationProtectionOutput::builder().build()
    });
    let e = engine_for(
        "prod",
        client(&[
            &describe,
            &create,
            &update,
            &events,
            &policy,
            &set_policy,
            &protect,
            &older_template(),
        ]),
        Method::Direct,
    );
    let replica = index_of(&e, StackId::Replica);
    assert_eq!(logic::late_stacks(&e.params), vec![replica]);
    assert!(
        e.deps[replica].is_empty(),
        "the replica stack still goes first"
    );
    assert_eq!(e.deploy_one(replica).await, Outcome::Created);
    assert_eq!(create.num_calls(), 1, "created with the way back off");
    // The later stacks ran and output their keys.
    let foundation = index_of(&e, StackId::Foundation);
    let bootstrap = index_of(&e, StackId::Bootstrap);
    {
        let mut sh = e.shared.lock().unwrap();
        sh.outputs.insert(
            foundation,
            BTreeMap::from([("DataKeyArn".to_string(), data_key.to_string())]),
        );
        sh.outputs.insert(
            bootstrap,
            BTreeMap::from([("ArtifactsKeyArn".to_string(), artifacts_key.to_string())]),
        );
    }
    assert!(e.second_pass().await);
    assert_eq!(update.num_calls(), 1, "updated with both source keys");
    assert_eq!(
        e.shared.lock().unwrap().results[&replica],
        Outcome::Created,
        "the run reports what happened first"
    );
}

/// On a redeploy the sources exist: their outputs are read before anything runs, so the
/// replica stack, deployed first, keeps the way back on instead of turning it off.
#[tokio::test]
async fn a_redeploy_reads_the_later_stacks_outputs_before_the_replica_stack_runs() {
    let data_key = "arn:aws:kms:eu-west-2:111111111111:key/d";
    let describe = mock!(Client::describe_stacks).then_output(move || {
        DescribeStacksOutput::builder()
            .stacks(
                Stack::builder()
                    .stack_name("any")
                    .stack_status(StackStatus::UpdateComplete)
                    .outputs(
                        aws_sdk_cloudformation::types::Output::builder()
                            .output_key("DataKeyArn")
                            .output_value(data_key)
                            .build(),
                    )
                    .outputs(
                        aws_sdk_cloudformation::types::Output::builder()
                            .output_key("ArtifactsKeyArn")
                            .output_value("arn:aws:kms:eu-west-2:111111111111:key/a")
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let e = engine_for("prod", client(&[&describe]), Method::Direct);
    let replica = index_of(&e, StackId::Replica);
    assert_eq!(e.parameters(replica).unwrap()["DataKeyArn"], "");
    e.preload_late_outputs().await.unwrap();
    let p = e.parameters(replica).unwrap();
    assert_eq!(p["DataKeyArn"], data_key);
    assert_eq!(
        p["ArtifactsKeyArn"],
        "arn:aws:kms:eu-west-2:111111111111:key/a"
    );
    assert_eq!(
        describe.num_calls(),
        2,
        "only the two source stacks are read"
    );
}

#[test]
fn moto_compat_rewrites_only_what_moto_cannot_create_and_says_so() {
    let body = serde_json::json!({"Resources": {
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"Tags": [{"Key": "a", "Value": "b"}], "EnableKeyRotation": true}},
        "Log": {"Type": "AWS::EC2::FlowLog", "Properties": {"Tags": [], "LogDestination": "arn:aws:s3:::logs-1/vpc-flow-logs/"}},
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"Tags": [{"Key": "a", "Value": "b"}]}}
    }});
    let mut units =
        vec![logic::stack_unit(StackId::Network, "n", "eu-west-2", &body.to_string()).unwrap()];
    let notes = moto_compat(&mut units);
    assert_eq!(notes.len(), 3, "{notes:?}");
    let t: serde_json::Value = serde_json::from_str(&units[0].body).unwrap();
    let r = &t["Resources"];
    assert!(r["Key"]["Properties"].get("Tags").is_none());
    assert_eq!(r["Key"]["Properties"]["EnableKeyRotation"], true);
    assert!(r["Log"]["Properties"].get("Tags").is_none());
    assert_eq!(
        r["Log"]["Properties"]["LogDestination"],
        "arn:aws:s3:::logs-1"
    );
    assert_eq!(
        r["Bucket"], body["Resources"]["Bucket"],
        "other resources are untouched"
    );
}

/// Credentials of another account stop everything before a stack is touched; the
/// emulator's fixed account is only reported under --moto-compat.
#[tokio::test]
async fn credentials_of_another_account_are_refused() {
    let identity = |account: &'static str| {
        mock!(aws_sdk_sts::Client::get_caller_identity).then_output(move || {
            aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput::builder()
                .account(account)
                .arn(format!("arn:aws:iam::{account}:user/ci"))
                .build()
        })
    };
    let mut e = engine(client(&[]), Method::Direct);
    let ours = identity("111111111111");
    e.aws.sts = sts(&[&ours]);
    check_account(&e.aws, &e.plan, &e.o, &e.rep).await.unwrap();
    assert_eq!(ours.num_calls(), 1);

    let theirs = identity("999999999999");
    e.aws.sts = sts(&[&theirs]);
    let err = check_account(&e.aws, &e.plan, &e.o, &e.rep)
        .await
        .unwrap_err();
    assert!(
        err.contains("account 999999999999")
            && err.contains("deploys to account 111111111111")
            && err.contains("`environments.dev.account`"),
        "{err}"
    );
    e.o.moto_compat = true;
    check_account(&e.aws, &e.plan, &e.o, &e.rep).await.unwrap();

    let broken = mock!(aws_sdk_sts::Client::get_caller_identity)
        .sequence()
        .http_status(
            403,
            Some(
                "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>\
                 <Message>The security token included in the request is invalid.</Message>\
                 </Error></ErrorResponse>"
                    .to_owned(),
            ),
        )
        .build();
    e.aws.sts = sts(&[&broken]);
    let err = check_account(&e.aws, &e.plan, &e.o, &e.rep)
        .await
        .unwrap_err();
    assert!(
        err.contains("sts:GetCallerIdentity") && err.contains("InvalidClientTokenId"),
        "{err}"
    );
}

/// The network stack's egress is limited to the AWS-managed prefix lists of S3 and
/// DynamoDB, whose ids deploy looks up: only lists AWS owns count, and a region without
/// one stops the deploy with the list's name.
#[tokio::test]
async fn prefix_lists_are_looked_up_and_only_aws_owned_ones_count() {
    use aws_sdk_ec2::operation::describe_managed_prefix_lists::DescribeManagedPrefixListsOutput;
    use aws_sdk_ec2::types::ManagedPrefixList;
    let list = |name: &str, id: &str, owner: &str| {
        ManagedPrefixList::builder()
            .prefix_list_name(name)
            .prefix_list_id(id)
            .owner_id(owner)
            .build()
    };
    let lists = mock!(aws_sdk_ec2::Client::describe_managed_prefix_lists).then_output(move || {
        DescribeManagedPrefixListsOutput::builder()
            // Someone's own list may carry the same name; it is not the service's.
            .prefix_lists(list(
                "com.amazonaws.eu-west-2.s3",
                "pl-0000000000000000a",
                "111111111111",
            ))
            .prefix_lists(list("com.amazonaws.eu-west-2.s3", "pl-7ca54015", "AWS"))
            .prefix_lists(list(
                "com.amazonaws.eu-west-2.dynamodb",
                "pl-b3a742da",
                "AWS",
            ))
            .build()
    });
    let mut e = engine_for("prod", client(&[]), Method::Direct);
    let network = index_of(&e, StackId::Network);
    assert!(
        e.parameters(network).unwrap_err().contains("not looked up"),
        "nothing is guessed"
    );
    e.aws.ec2.insert("eu-west-2".into(), ec2(&[&lists]));
    e.resolve_prefix_lists().await.unwrap();
    let p = e.parameters(network).unwrap();
    assert_eq!(p["S3PrefixListId"], "pl-7ca54015");
    assert_eq!(p["DynamodbPrefixListId"], "pl-b3a742da");
    assert_eq!(lists.num_calls(), 2, "one lookup per service");

    let none = mock!(aws_sdk_ec2::Client::describe_managed_prefix_lists)
        .then_output(|| DescribeManagedPrefixListsOutput::builder().build());
    let e = engine_for("prod", client(&[]), Method::Direct);
    let mut e = e;
    e.aws.ec2.insert("eu-west-2".into(), ec2(&[&none]));
    let err = e.resolve_prefix_lists().await.unwrap_err();
    assert!(
        err.contains("no AWS-managed prefix list com.amazonaws.eu-west-2."),
        "{err}"
    );
}
