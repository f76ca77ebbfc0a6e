//! The states a deploy finds a stack in and must get past, against aws-smithy-mocks:
//! a create that rolled back (ROLLBACK_COMPLETE), the empty shell an unexecuted change
//! set leaves (REVIEW_IN_PROGRESS), and a replacement allowed with `--allow-replace`.
//! moto never produces the first two and does not say when a change replaces a
//! resource. [`Life`] plays one stack's life from the requests the engine sends, so
//! that a test sees which requests were sent, in which order, and what state each found.

use std::collections::VecDeque;
use std::sync::Arc;

use aws_sdk_cloudformation::error::ErrorMetadata;
use aws_sdk_cloudformation::operation::create_stack::CreateStackError;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError;
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetError;
use aws_sdk_cloudformation::operation::set_stack_policy::SetStackPolicyOutput;
use aws_sdk_cloudformation::operation::update_stack::UpdateStackOutput;
use aws_smithy_mocks::MockResponse;

use super::*;

/// One stack as CloudFormation would report it. `now` is the status the engine last
/// saw (`None`: no such stack); each DescribeStacks moves on to the next queued status.
/// Every request that changes something is logged as `Request@STATUS`, the status it
/// found the stack in.
#[derive(Clone)]
struct Life {
    name: String,
    now: Arc<Mutex<Option<StackStatus>>>,
    next: Arc<Mutex<VecDeque<Option<StackStatus>>>>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Life {
    fn new(name: &str, now: Option<StackStatus>) -> Life {
        Life {
            name: name.to_string(),
            now: Arc::new(Mutex::new(now)),
            next: Arc::new(Mutex::new(VecDeque::new())),
            log: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Logs `what` with the status the stack is in; then the stack goes through `then`.
    fn record(&self, what: &str, then: Vec<Option<StackStatus>>) {
        let now = match &*self.now.lock().unwrap() {
            Some(s) => s.as_str().to_string(),
            None => "gone".to_string(),
        };
        self.log.lock().unwrap().push(format!("{what}@{now}"));
        if !then.is_empty() {
            *self.next.lock().unwrap() = then.into();
        }
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn describe(&self) -> Rule {
        let l = self.clone();
        mock!(Client::describe_stacks).then_compute_response(move |_| {
            if let Some(s) = l.next.lock().unwrap().pop_front() {
                *l.now.lock().unwrap() = s;
            }
            match l.now.lock().unwrap().clone() {
                Some(s) => MockResponse::Output(stack(&l.name, s)),
                None => MockResponse::Error(DescribeStacksError::generic(
                    ErrorMetadata::builder()
                        .code("ValidationError")
                        .message(format!("Stack with id {} does not exist", l.name))
                        .build(),
                )),
            }
        })
    }

    fn delete(&self) -> Rule {
        let l = self.clone();
        mock!(Client::delete_stack).then_compute_response(move |_| {
            l.record(
                "DeleteStack",
                vec![Some(StackStatus::DeleteInProgress), None],
            );
            MockResponse::Output(DeleteStackOutput::builder().build())
        })
    }

    fn create(&self) -> Rule {
        let l = self.clone();
        mock!(Client::create_stack).then_compute_response(move |_| {
            if l.now.lock().unwrap().is_some() {
                l.record("CreateStack (refused: AlreadyExists)", vec![]);
                return MockResponse::Error(CreateStackError::generic(
                    ErrorMetadata::builder()
                        .code("AlreadyExistsException")
                        .message(format!("Stack [{}] already exists", l.name))
                        .build(),
                ));
            }
            l.record(
                "CreateStack",
                vec![
                    Some(StackStatus::CreateInProgress),
                    Some(StackStatus::CreateComplete),
                ],
            );
            MockResponse::Output(CreateStackOutput::builder().stack_id("id").build())
        })
    }

    fn update(&self) -> Rule {
        let l = self.clone();
        mock!(Client::update_stack).then_compute_response(move |r| {
            l.record(
                &format!(
                    "UpdateStack, during it {}",
                    protects(r.stack_policy_during_update_body())
                ),
                vec![
                    Some(StackStatus::UpdateInProgress),
                    Some(StackStatus::UpdateComplete),
                ],
            );
            MockResponse::Output(UpdateStackOutput::builder().build())
        })
    }

    /// CreateChangeSet; a CREATE change set for a stack that does not exist makes the
    /// empty REVIEW_IN_PROGRESS stack at once, as CloudFormation does.
    fn create_change_set(&self) -> Rule {
        let l = self.clone();
        mock!(Client::create_change_set).then_compute_response(move |r| {
            let ty = r.change_set_type().map(|t| t.as_str()).unwrap_or("UPDATE");
            l.record(&format!("CreateChangeSet {ty}"), vec![]);
            let mut now = l.now.lock().unwrap();
            if ty == "CREATE" && now.is_none() {
                *now = Some(StackStatus::ReviewInProgress);
            }
            MockResponse::Output(CreateChangeSetOutput::builder().id("cs-1").build())
        })
    }

    /// ExecuteChangeSet: a CREATE change set when the stack is a shell, else an update.
    fn execute(&self) -> Rule {
        let l = self.clone();
        mock!(Client::execute_change_set).then_compute_response(move |_| {
            let shell = *l.now.lock().unwrap() == Some(StackStatus::ReviewInProgress);
            let then = if shell {
                [StackStatus::CreateInProgress, StackStatus::CreateComplete]
            } else {
                [StackStatus::UpdateInProgress, StackStatus::UpdateComplete]
            };
            l.record("ExecuteChangeSet", then.map(Some).to_vec());
            MockResponse::Output(ExecuteChangeSetOutput::builder().build())
        })
    }

    fn set_policy(&self) -> Rule {
        let l = self.clone();
        mock!(Client::set_stack_policy).then_compute_response(move |r| {
            l.record(
                &format!("SetStackPolicy {}", protects(r.stack_policy_body())),
                vec![],
            );
            MockResponse::Output(SetStackPolicyOutput::builder().build())
        })
    }

    fn delete_change_set(&self) -> Rule {
        let l = self.clone();
        mock!(Client::delete_change_set).then_compute_response(move |_| {
            l.record("DeleteChangeSet", vec![]);
            MockResponse::Output(DeleteChangeSetOutput::builder().build())
        })
    }

    /// A client answering for this stack: the rules above, the change set `changes`
    /// describes, no events, no stack policy yet and an older template.
    fn client(&self, changes: Vec<CfnChange>, extra: &[&Rule]) -> Client {
        let described = mock!(Client::describe_change_set).then_output(move || {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::CreateComplete)
                .set_changes(Some(changes.clone()))
                .build()
        });
        let (events, policy, _) = quiet_stack();
        let rules = [
            self.describe(),
            self.delete(),
            self.create(),
            self.update(),
            self.create_change_set(),
            self.execute(),
            self.set_policy(),
            self.delete_change_set(),
            described,
            events,
            policy,
            older_template(),
        ];
        let mut all: Vec<&Rule> = extra.to_vec();
        all.extend(rules.iter());
        client(&all)
    }
}

/// The logical ids a stack policy denies replacing, as `protects A,B`.
fn protects(policy: Option<&str>) -> String {
    let p: serde_json::Value = serde_json::from_str(policy.unwrap_or("{}")).unwrap();
    let mut ids: Vec<String> = p["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["Effect"] == "Deny")
        .flat_map(|s| s["Resource"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| Some(r.as_str()?.strip_prefix("LogicalResourceId/")?.to_string()))
        .collect();
    ids.sort();
    format!("protects {}", ids.join(","))
}

/// A change set entry: `id` (of type `ty`) replaced because `property` changed.
fn replacing(id: &str, ty: &str, property: &str) -> CfnChange {
    CfnChange::builder()
        .r#type(ChangeType::Resource)
        .resource_change(
            ResourceChange::builder()
                .action(ChangeAction::Modify)
                .logical_resource_id(id)
                .resource_type(ty)
                .replacement(Replacement::True)
                .details(
                    ResourceChangeDetail::builder()
                        .target(
                            ResourceTargetDefinition::builder()
                                .attribute(ResourceAttribute::Properties)
                                .name(property)
                                .requires_recreation(RequiresRecreation::Always)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .build()
}

/// What the run reported about `stack`: (event, message) pairs in order.
fn reported(e: &Engine, stack: &str) -> Vec<(String, String)> {
    e.rep
        .lines
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l["stack"] == stack)
        .map(|l| {
            let what = l["message"]
                .as_str()
                .map(str::to_string)
                .or_else(|| l["result"].as_str().map(str::to_string))
                .unwrap_or_default();
            (l["event"].as_str().unwrap_or("").to_string(), what)
        })
        .collect()
}

/// The note the run gave about `stack`, if exactly one.
fn note(e: &Engine, stack: &str) -> String {
    let notes: Vec<String> = reported(e, stack)
        .into_iter()
        .filter(|(ev, _)| ev == "note")
        .map(|(_, m)| m)
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    notes[0].clone()
}

#[tokio::test]
async fn a_rolled_back_create_is_deleted_waited_for_and_created_again() {
    let name = "transit-payments-dev-ingest";
    for method in [Method::Direct, Method::ChangeSet] {
        let life = Life::new(name, Some(StackStatus::RollbackComplete));
        let e = engine(life.client(Vec::new(), &[]), method);
        let i = index_of(&e, StackId::Ingest);
        assert_eq!(e.deploy_one(i).await, Outcome::Created, "{method:?}");
        // Each request found the stack in the state CloudFormation needs for it: the
        // create came only once the deleted stack was gone.
        let want: &[&str] = match method {
            Method::Direct => &["DeleteStack@ROLLBACK_COMPLETE", "CreateStack@gone"],
            Method::ChangeSet => &[
                "DeleteStack@ROLLBACK_COMPLETE",
                "CreateChangeSet CREATE@gone",
                "ExecuteChangeSet@REVIEW_IN_PROGRESS",
            ],
        };
        assert_eq!(life.log(), want, "{method:?}");
        let why = note(&e, name);
        assert!(
            why.contains("ROLLBACK_COMPLETE") && why.contains("delet") && why.contains("again"),
            "{why}"
        );
        assert_eq!(
            reported(&e, name).last().unwrap(),
            &("stack-done".to_string(), "created".to_string())
        );
    }
}

#[tokio::test]
async fn a_review_in_progress_shell_is_cleared_and_the_stack_created() {
    let name = "transit-payments-dev-ingest";
    // Direct: CreateStack cannot create over the shell, so the shell goes first.
    let life = Life::new(name, Some(StackStatus::ReviewInProgress));
    let e = engine(life.client(Vec::new(), &[]), Method::Direct);
    let i = index_of(&e, StackId::Ingest);
    assert_eq!(e.deploy_one(i).await, Outcome::Created);
    assert_eq!(
        life.log(),
        ["DeleteStack@REVIEW_IN_PROGRESS", "CreateStack@gone"]
    );
    let why = note(&e, name);
    assert!(
        why.contains("REVIEW_IN_PROGRESS") && why.contains("deleting"),
        "{why}"
    );

    // Change set: a new CREATE change set goes into the shell and runs (CloudFormation
    // then drops the shell's other change sets); nothing is deleted.
    let life = Life::new(name, Some(StackStatus::ReviewInProgress));
    let e = engine(life.client(Vec::new(), &[]), Method::ChangeSet);
    assert_eq!(e.deploy_one(i).await, Outcome::Created);
    assert_eq!(
        life.log(),
        [
            "CreateChangeSet CREATE@REVIEW_IN_PROGRESS",
            "ExecuteChangeSet@REVIEW_IN_PROGRESS"
        ]
    );
    let why = note(&e, name);
    assert!(
        why.contains("REVIEW_IN_PROGRESS") && why.contains("new change set"),
        "{why}"
    );
}

/// The counterpart of `a_change_set_replacing_the_table_is_refused_before_it_runs`:
/// with `--allow-replace IndexTable` the change set runs, the stack policy lets only
/// the table go while it runs, and protects it again afterwards.
#[tokio::test]
async fn allow_replace_lets_the_replacement_run_and_protects_the_table_again() {
    let name = "transit-payments-dev-storage";
    let life = Life::new(name, Some(StackStatus::UpdateComplete));
    let mut e = engine(
        life.client(
            vec![replacing("IndexTable", "AWS::DynamoDB::Table", "KeySchema")],
            &[],
        ),
        Method::ChangeSet,
    );
    e.o.allow_replace = vec!["IndexTable".into()];
    let i = index_of(&e, StackId::Storage);
    assert_eq!(e.deploy_one(i).await, Outcome::Updated);
    let log = life.log();
    assert_eq!(log.len(), 4, "{log:?}");
    assert_eq!(log[0], "CreateChangeSet UPDATE@UPDATE_COMPLETE");
    assert!(
        log[1].starts_with("SetStackPolicy protects")
            && !log[1].contains("IndexTable")
            && log[1].contains("RawBucket"),
        "only the table may go while it runs: {log:?}"
    );
    assert_eq!(log[2], "ExecuteChangeSet@UPDATE_COMPLETE");
    assert!(
        log[3].contains("IndexTable") && log[3].contains("RawBucket"),
        "protected again: {log:?}"
    );
    let said = reported(&e, name);
    assert!(said.iter().any(|(ev, _)| ev == "changes"), "{said:?}");
    assert!(!said.iter().any(|(ev, _)| ev == "stack-failed"), "{said:?}");
    assert_eq!(
        said.last().unwrap(),
        &("stack-done".to_string(), "updated".to_string())
    );

    // --method direct: the same allowance only for the update (StackPolicyDuringUpdate).
    let life = Life::new(name, Some(StackStatus::UpdateComplete));
    let mut e = engine(life.client(Vec::new(), &[]), Method::Direct);
    e.o.allow_replace = vec!["IndexTable".into()];
    assert_eq!(e.deploy_one(i).await, Outcome::Updated);
    let log = life.log();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(
        log[0].starts_with("SetStackPolicy") && log[0].contains("IndexTable"),
        "{log:?}"
    );
    assert!(
        log[1].starts_with("UpdateStack, during it protects")
            && !log[1].contains("IndexTable")
            && log[1].contains("RawBucket"),
        "{log:?}"
    );
}

/// A change set allowed to replace the table that then fails to start must not leave
/// the table unprotected.
#[tokio::test]
async fn an_allowed_replacement_that_cannot_run_leaves_the_table_protected() {
    let name = "transit-payments-dev-storage";
    let life = Life::new(name, Some(StackStatus::UpdateComplete));
    let l = life.clone();
    let refuse = mock!(Client::execute_change_set).then_compute_response(move |_| {
        l.record("ExecuteChangeSet (refused)", vec![]);
        MockResponse::Error(ExecuteChangeSetError::generic(
            ErrorMetadata::builder()
                .code("InvalidChangeSetStatus")
                .message("ChangeSet [cs-1] cannot be executed in its current status of [OBSOLETE]")
                .build(),
        ))
    });
    let mut e = engine(
        life.client(
            vec![replacing("IndexTable", "AWS::DynamoDB::Table", "KeySchema")],
            &[&refuse],
        ),
        Method::ChangeSet,
    );
    e.o.allow_replace = vec!["IndexTable".into()];
    let i = index_of(&e, StackId::Storage);
    let err = e.deploy_inner(i).await.unwrap_err();
    assert!(err.contains("OBSOLETE"), "{err}");
    let log = life.log();
    assert_eq!(
        log[2], "ExecuteChangeSet (refused)@UPDATE_COMPLETE",
        "{log:?}"
    );
    assert!(
        log.last().unwrap().starts_with("SetStackPolicy")
            && log.last().unwrap().contains("IndexTable"),
        "the table is protected again: {log:?}"
    );
}
