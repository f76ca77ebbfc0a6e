//! Unit tests of the pure deploy decisions in `logic`.

use super::*;

fn unit(id: StackId, name: &str, body: Value) -> StackUnit {
    stack_unit(id, name, "eu-west-2", &body.to_string()).unwrap()
}

fn three() -> Vec<StackUnit> {
    vec![
        unit(
            StackId::Foundation,
            "p-foundation",
            serde_json::json!({"Resources": {"Key": {"Type": "AWS::KMS::Key", "DeletionPolicy": "Retain"}},
              "Outputs": {"KeyArn": {"Value": "x", "Export": {"Name": "p-foundation:KeyArn"}}}}),
        ),
        unit(
            StackId::Replica,
            "p-replica",
            serde_json::json!({"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "p-replica-bucket"}}},
              "Outputs": {"ReplicaKeyArn": {"Value": "y"}}}),
        ),
        unit(
            StackId::Storage,
            "p-storage",
            serde_json::json!({"Parameters": {"ReplicaKeyArn": {"Type": "String"}},
              "Resources": {"Raw": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "p-raw"}}},
              "Outputs": {"RawBucketName": {"Value": "p-raw"}}}),
        ),
        unit(
            StackId::Ingest,
            "p-ingest",
            serde_json::json!({"Parameters": {"IngestCodeKey": {"Type": "String"}},
              "Resources": {"F": {"Type": "AWS::Lambda::Function", "Properties": {
                "Environment": {"Variables": {"BUCKET": "p-raw"}},
                "KmsKeyArn": {"Fn::ImportValue": "p-foundation:KeyArn"}}}}}),
        ),
        unit(
            StackId::Ml,
            "p-ml",
            serde_json::json!({"Resources": {"N": {"Type": "AWS::SageMaker::NotebookInstance"}}}),
        ),
    ]
}

#[test]
fn parameters_come_from_earlier_outputs_or_the_bundle() {
    let s = three();
    let p = param_sources(&s).unwrap();
    assert_eq!(
        p[2]["ReplicaKeyArn"],
        ParamSource::Output {
            stack: 1,
            key: "ReplicaKeyArn".into()
        }
    );
    assert_eq!(p[3][INGEST_CODE_KEY], ParamSource::IngestCode);
    let mut bad = three();
    bad[4] = unit(
        StackId::Ml,
        "p-ml",
        serde_json::json!({"Parameters": {"Mystery": {"Type": "String"}}, "Resources": {}}),
    );
    let e = param_sources(&bad).unwrap_err();
    assert!(e.contains("`p-ml`") && e.contains("`Mystery`"), "{e}");
}

#[test]
fn optional_parameters_may_come_from_later_stacks_and_add_no_dependency() {
    let mut s = three();
    // The replica stack takes the storage stack's output, optionally.
    s[1] = unit(
        StackId::Replica,
        "p-replica",
        serde_json::json!({"Parameters": {"RawBucketName": {"Type": "String", "Default": ""}},
          "Resources": {}, "Outputs": {"ReplicaKeyArn": {"Value": "y"}}}),
    );
    let p = param_sources(&s).unwrap();
    assert_eq!(
        p[1]["RawBucketName"],
        ParamSource::Late {
            stack: 2,
            key: "RawBucketName".into()
        }
    );
    let d = dependencies(&s, &p);
    assert!(d[1].is_empty(), "a late parameter is no dependency");
    assert_eq!(late_stacks(&p), vec![1]);
    // Without a default, a later stack's output is no source.
    s[1] = unit(
        StackId::Replica,
        "p-replica",
        serde_json::json!({"Parameters": {"RawBucketName": {"Type": "String"}},
          "Resources": {}, "Outputs": {"ReplicaKeyArn": {"Value": "y"}}}),
    );
    let e = param_sources(&s).unwrap_err();
    assert!(e.contains("no default"), "{e}");
}

#[test]
fn dependencies_follow_imports_parameters_and_names() {
    let s = three();
    let p = param_sources(&s).unwrap();
    let d = dependencies(&s, &p);
    assert!(d[0].is_empty());
    assert!(d[1].is_empty(), "the replica stack needs nothing");
    assert_eq!(
        d[2],
        BTreeSet::from([1]),
        "storage takes the replica key ARN"
    );
    assert_eq!(
        d[3],
        BTreeSet::from([0, 2]),
        "ingest imports the key and names the raw bucket"
    );
    assert!(d[4].is_empty(), "ml is independent");
    // Scheduling: with nothing done, foundation, replica and ml may start.
    let none = BTreeSet::new();
    assert_eq!(ready(&d, &none, &none), vec![0, 1, 4]);
    let started = BTreeSet::from([0, 1, 4]);
    assert_eq!(ready(&d, &started, &BTreeSet::from([1])), vec![2]);
    assert_eq!(
        ready(&d, &BTreeSet::from([0, 1, 2, 4]), &BTreeSet::from([1, 2])),
        Vec::<usize>::new(),
        "ingest waits for foundation too"
    );
    let r = dependents(&d);
    assert_eq!(r[0], BTreeSet::from([3]));
    assert_eq!(r[1], BTreeSet::from([2]));
}

#[test]
fn a_role_path_is_a_name_later_stacks_depend_on() {
    let role = serde_json::json!({"Resources": {"R": {"Type": "AWS::IAM::Role",
        "Properties": {"Path": "/p-replication/"}}}});
    let user = serde_json::json!({"Resources": {"K": {"Type": "AWS::KMS::Key", "Properties": {
        "KeyPolicy": {"Statement": [{"Condition": {"ArnLike": {
            "aws:PrincipalArn": "arn:aws:iam::1:role/p-replication/*"}}}]}}}}});
    let s = vec![
        unit(StackId::Storage, "p-storage", role),
        unit(StackId::Analytics, "p-analytics", user),
    ];
    let p = param_sources(&s).unwrap();
    assert_eq!(dependencies(&s, &p)[1], BTreeSet::from([0]));
    // The root path names nothing.
    let root = serde_json::json!({"Resources": {"R": {"Type": "AWS::IAM::Role",
        "Properties": {"Path": "/"}}}});
    assert!(
        stack_unit(StackId::Ml, "p-ml", "eu-west-2", &root.to_string())
            .unwrap()
            .names
            .is_empty()
    );
}

#[test]
fn each_stack_state_has_a_deliberate_action() {
    assert_eq!(action_for("s", None), StackAction::Create);
    assert_eq!(
        action_for("s", Some("CREATE_COMPLETE")),
        StackAction::Update
    );
    assert_eq!(
        action_for("s", Some("UPDATE_ROLLBACK_COMPLETE")),
        StackAction::Update
    );
    assert_eq!(
        action_for("s", Some("ROLLBACK_COMPLETE")),
        StackAction::DeleteThenCreate
    );
    assert_eq!(
        action_for("s", Some("REVIEW_IN_PROGRESS")),
        StackAction::CreateInShell
    );
    for s in [
        "CREATE_IN_PROGRESS",
        "UPDATE_IN_PROGRESS",
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "DELETE_IN_PROGRESS",
    ] {
        assert_eq!(action_for("s", Some(s)), StackAction::Wait, "{s}");
        assert!(!is_settled(s));
    }
    match action_for("p-storage", Some("UPDATE_ROLLBACK_FAILED")) {
        StackAction::Refuse(m) => assert!(
            m.contains("continue-update-rollback --stack-name p-storage"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        action_for("s", Some("DELETE_FAILED")),
        StackAction::Refuse(_)
    ));
}

fn ev(i: i64, id: &str, ty: &str, status: &str, reason: Option<&str>) -> Event {
    Event {
        id: format!("e{i}"),
        time_ms: i,
        logical_id: id.into(),
        resource_type: ty.into(),
        status: status.into(),
        reason: reason.map(str::to_string),
    }
}

#[test]
fn the_root_cause_is_the_first_failure_not_the_cancelled_cascade() {
    let events = vec![
        ev(
            1,
            "p-ingest",
            "AWS::CloudFormation::Stack",
            "CREATE_IN_PROGRESS",
            Some("User Initiated"),
        ),
        ev(2, "Queue", "AWS::SQS::Queue", "CREATE_IN_PROGRESS", None),
        ev(3, "Fn", "AWS::Lambda::Function", "CREATE_IN_PROGRESS", None),
        ev(
            4,
            "Queue",
            "AWS::SQS::Queue",
            "CREATE_FAILED",
            Some("Resource creation cancelled"),
        ),
        ev(
            5,
            "Fn",
            "AWS::Lambda::Function",
            "CREATE_FAILED",
            Some(
                "Resource handler returned message: \"Error occurred while GetObject. S3 Error Code: NoSuchKey\"",
            ),
        ),
        ev(
            6,
            "Api",
            "AWS::ApiGateway::RestApi",
            "CREATE_FAILED",
            Some("Resource creation cancelled"),
        ),
        ev(
            7,
            "p-ingest",
            "AWS::CloudFormation::Stack",
            "ROLLBACK_IN_PROGRESS",
            Some(
                "The following resource(s) failed to create: [Api, Fn, Queue]. Rollback requested by user.",
            ),
        ),
        ev(
            8,
            "p-ingest",
            "AWS::CloudFormation::Stack",
            "ROLLBACK_COMPLETE",
            None,
        ),
    ];
    let rc = root_cause(&events).unwrap();
    assert_eq!(rc.logical_id, "Fn");
    assert!(rc.reason.as_deref().unwrap().contains("NoSuchKey"));
    // Only cancelled ones: the first of them; only the stack's: the stack event.
    assert_eq!(root_cause(&events[..4]).unwrap().logical_id, "Queue");
    let only_stack = vec![ev(
        1,
        "p",
        "AWS::CloudFormation::Stack",
        "UPDATE_FAILED",
        Some("x"),
    )];
    assert_eq!(root_cause(&only_stack).unwrap().logical_id, "p");
    assert!(root_cause(&events[..3]).is_none());
    assert_eq!(resources_done(&events), 0);
}

fn ch(action: &str, id: &str, ty: &str, repl: Option<&str>, forced: &[&str]) -> Change {
    Change {
        action: action.into(),
        logical_id: id.into(),
        resource_type: ty.into(),
        replacement: repl.map(str::to_string),
        forced_by: forced.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn replacing_or_removing_data_is_refused_unless_allowed() {
    let changes = vec![
        ch(
            "Modify",
            "IndexTable",
            "AWS::DynamoDB::Table",
            Some("True"),
            &["KeySchema"],
        ),
        ch("Modify", "RawBucket", "AWS::S3::Bucket", Some("False"), &[]),
        ch("Remove", "CuratedBucket", "AWS::S3::Bucket", None, &[]),
        ch(
            "Modify",
            "Fn",
            "AWS::Lambda::Function",
            Some("True"),
            &["FunctionName"],
        ),
        ch(
            "Modify",
            "DataKey",
            "AWS::KMS::Key",
            Some("Conditional"),
            &[],
        ),
    ];
    let r = refusals("p-storage", &changes, &[]);
    let ids: Vec<&str> = r.iter().map(|r| r.logical_id.as_str()).collect();
    assert_eq!(ids, ["IndexTable", "CuratedBucket", "DataKey"]);
    let msg = r[0].to_string();
    assert!(
        msg.contains("`IndexTable`") && msg.contains("KeySchema"),
        "{msg}"
    );
    assert!(r[1].to_string().contains("delete"));
    let r = refusals(
        "p-storage",
        &changes,
        &["IndexTable".into(), "DataKey".into()],
    );
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].logical_id, "CuratedBucket");
}

#[test]
fn approval_levels() {
    let iam = vec![ch(
        "Modify",
        "Policy",
        "AWS::IAM::ManagedPolicy",
        Some("False"),
        &[],
    )];
    let plain = vec![ch(
        "Modify",
        "Fn",
        "AWS::Lambda::Function",
        Some("False"),
        &[],
    )];
    let removal = vec![ch("Remove", "Perm", "AWS::Lambda::Permission", None, &[])];
    assert!(!needs_approval(&iam, Approval::Never));
    assert!(needs_approval(&iam, Approval::Broadening));
    assert!(!needs_approval(&plain, Approval::Broadening));
    assert!(
        !needs_approval(&removal, Approval::Broadening),
        "removing access narrows it"
    );
    assert!(needs_approval(&plain, Approval::AnyChange));
    assert!(!needs_approval(&[], Approval::AnyChange));
    assert_eq!(
        approval_outcome(true, true, false, "any-change"),
        ApprovalOutcome::Proceed
    );
    assert_eq!(
        approval_outcome(true, false, true, "any-change"),
        ApprovalOutcome::Ask
    );
    assert!(
        matches!(approval_outcome(true, false, false, "broadening"), ApprovalOutcome::Fail(m) if m.contains("--yes"))
    );
    assert_eq!(
        approval_outcome(false, false, false, "never"),
        ApprovalOutcome::Proceed
    );
}

#[test]
fn data_stacks_get_a_policy_denying_replace_and_delete() {
    let s = three();
    let p: Value = serde_json::from_str(&stack_policy(&s[2], &[]).unwrap()).unwrap();
    assert_eq!(p["Statement"][1]["Effect"], "Deny");
    assert_eq!(p["Statement"][1]["Resource"][0], "LogicalResourceId/Raw");
    let p: Value = serde_json::from_str(&stack_policy(&s[2], &["Raw".into()]).unwrap()).unwrap();
    assert_eq!(
        p["Statement"].as_array().unwrap().len(),
        1,
        "allowed: nothing denied"
    );
    assert!(stack_policy(&s[3], &[]).is_none(), "no data, no policy");
    assert_eq!(retained(&s[0]), vec![("Key", "AWS::KMS::Key")]);
}

#[test]
fn no_change_errors_are_recognised() {
    assert!(is_no_change(
        Some("ValidationError"),
        Some("No updates are to be performed.")
    ));
    assert!(is_no_change(
        None,
        Some(
            "The submitted information didn't contain changes. Submit different information to create a change set."
        )
    ));
    assert!(!is_no_change(
        Some("ValidationError"),
        Some("Template format error")
    ));
}

#[test]
fn ancestors_follow_dependencies_transitively() {
    // 0 <- 1 <- 2, and 3 alone.
    let deps = vec![
        BTreeSet::new(),
        BTreeSet::from([0]),
        BTreeSet::from([1]),
        BTreeSet::new(),
    ];
    assert_eq!(ancestors(&deps, 2), BTreeSet::from([0, 1]));
    assert_eq!(ancestors(&deps, 0), BTreeSet::new());
    assert_eq!(ancestors(&deps, 3), BTreeSet::new());
}
