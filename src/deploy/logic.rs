//! The deploy engine's decisions, as pure functions over plain data: which stacks
//! depend on which, what to do with a stack in a given state, how a change set's
//! changes are classified, which of them are refused or need approval, and which
//! stack event is the root cause of a failure. Nothing here talks to AWS.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::plan::StackId;

/// Parameter every ingest stack takes: the S3 key of the bundled function's zip.
pub const INGEST_CODE_KEY: &str = "IngestCodeKey";

/// One synthesised stack, as the deploy engine sees it.
#[derive(Debug, Clone)]
pub struct StackUnit {
    pub id: StackId,
    /// Full CloudFormation stack name.
    pub name: String,
    pub region: String,
    pub body: String,
    pub resources: BTreeMap<String, ResourceInfo>,
    pub parameters: Vec<String>,
    /// Parameters with a `Default`, and the default: the stack can be deployed before
    /// their value exists.
    pub optional: BTreeMap<String, String>,
    /// Output key → export name (if exported).
    pub outputs: BTreeMap<String, Option<String>>,
    /// Export names this stack imports.
    pub imports: BTreeSet<String>,
    /// Physical names this stack gives its resources (other stacks refer to them by name).
    pub names: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceInfo {
    pub ty: String,
    /// `DeletionPolicy: Retain` (or `RetainExceptOnCreate`): stays when the stack goes.
    pub retained: bool,
}

/// Properties that give a resource its physical name (or, for a role CloudFormation
/// names, `Path`: the IAM path that identifies it, which policies match).
const NAME_PROPERTIES: &[&str] = &[
    "BucketName",
    "TableName",
    "FunctionName",
    "RoleName",
    "Path",
    "QueueName",
    "TopicName",
    "ManagedPolicyName",
    "LogGroupName",
    "AliasName",
    "Name",
    "WorkGroup",
    "DatabaseName",
];

/// Reads what the engine needs from a template.
pub fn stack_unit(id: StackId, name: &str, region: &str, body: &str) -> Result<StackUnit, String> {
    let t: Value = serde_json::from_str(body)
        .map_err(|e| format!("the template of stack `{name}` is not JSON: {e}"))?;
    let mut resources = BTreeMap::new();
    let mut names = BTreeSet::new();
    if let Some(rs) = t.get("Resources").and_then(Value::as_object) {
        for (logical, r) in rs {
            let ty = r
                .get("Type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let retained = matches!(
                r.get("DeletionPolicy").and_then(Value::as_str),
                Some("Retain" | "RetainExceptOnCreate")
            );
            resources.insert(logical.clone(), ResourceInfo { ty, retained });
            if let Some(props) = r.get("Properties").and_then(Value::as_object) {
                for p in NAME_PROPERTIES {
                    if let Some(n) = props.get(*p).and_then(Value::as_str)
                        && n.len() >= 3
                    {
                        names.insert(n.to_string());
                    }
                }
            }
        }
    }
    let declared = t.get("Parameters").and_then(Value::as_object);
    let parameters = declared
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let optional = declared
        .map(|m| {
            m.iter()
                .filter_map(|(k, d)| {
                    let v = d.get("Default")?;
                    Some((
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut outputs = BTreeMap::new();
    if let Some(os) = t.get("Outputs").and_then(Value::as_object) {
        for (k, o) in os {
            let export = o
                .pointer("/Export/Name")
                .and_then(Value::as_str)
                .map(str::to_string);
            outputs.insert(k.clone(), export);
        }
    }
    let mut imports = BTreeSet::new();
    collect_imports(&t, &mut imports);
    Ok(StackUnit {
        id,
        name: name.to_string(),
        region: region.to_string(),
        body: body.to_string(),
        resources,
        parameters,
        optional,
        outputs,
        imports,
        names,
    })
}

fn collect_imports(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "Fn::ImportValue"
                    && let Some(s) = x.as_str()
                {
                    out.insert(s.to_string());
                } else {
                    collect_imports(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_imports(x, out)),
        _ => {}
    }
}

/// Where a stack parameter's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamSource {
    /// The S3 key of the ingest function's zip.
    IngestCode,
    /// An output of an earlier stack (across regions, where exports do not reach).
    Output { stack: usize, key: String },
    /// An output of a later stack, for an optional parameter: the stack is deployed with
    /// the parameter's default while that output does not exist yet, and deployed again
    /// once it does (the replica stack's way back to buckets created after it).
    Late { stack: usize, key: String },
    /// The id of the AWS-managed prefix list of a service in the stack's region
    /// (`com.amazonaws.<region>.<service>`), looked up through EC2.
    PrefixList { service: String },
}

/// Resolves every parameter of every stack, or says which one has no source.
pub fn param_sources(stacks: &[StackUnit]) -> Result<Vec<BTreeMap<String, ParamSource>>, String> {
    let mut all = Vec::new();
    for (i, s) in stacks.iter().enumerate() {
        let mut m = BTreeMap::new();
        for p in &s.parameters {
            let prefix_list = crate::emit::stacks::PREFIX_LIST_PARAMETERS
                .iter()
                .find(|(name, _)| name == p);
            let src = if p == INGEST_CODE_KEY {
                ParamSource::IngestCode
            } else if let Some((_, service)) = prefix_list {
                ParamSource::PrefixList {
                    service: (*service).to_owned(),
                }
            } else if let Some(j) = (0..i).find(|&j| stacks[j].outputs.contains_key(p)) {
                ParamSource::Output {
                    stack: j,
                    key: p.clone(),
                }
            } else if let Some(j) = (i + 1..stacks.len())
                .find(|&j| s.optional.contains_key(p) && stacks[j].outputs.contains_key(p))
            {
                ParamSource::Late {
                    stack: j,
                    key: p.clone(),
                }
            } else {
                return Err(format!(
                    "stack `{}` takes the parameter `{p}`, but deploy has no value for it \
                     (no earlier stack has an output of that name, and it has no default)",
                    s.name
                ));
            };
            m.insert(p.clone(), src);
        }
        all.push(m);
    }
    Ok(all)
}

/// The name of the AWS-managed prefix list of a service in a region.
pub fn prefix_list_name(region: &str, service: &str) -> String {
    format!("com.amazonaws.{region}.{service}")
}

/// The prefix lists the stacks' parameters need: (region, service) pairs.
pub fn prefix_lists_needed(
    stacks: &[StackUnit],
    params: &[BTreeMap<String, ParamSource>],
) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (s, p) in stacks.iter().zip(params) {
        for src in p.values() {
            if let ParamSource::PrefixList { service } = src {
                out.insert((s.region.clone(), service.clone()));
            }
        }
    }
    out
}

/// The stacks that take a parameter from a later stack, in plan order: `deploy` goes
/// over them again once everything else is deployed.
pub fn late_stacks(params: &[BTreeMap<String, ParamSource>]) -> Vec<usize> {
    (0..params.len())
        .filter(|&i| {
            params[i]
                .values()
                .any(|p| matches!(p, ParamSource::Late { .. }))
        })
        .collect()
}

/// For each stack (in plan order), the earlier stacks it depends on: the ones whose
/// exports it imports, whose outputs feed its parameters, or whose physical names its
/// template mentions (stacks refer to buckets, tables and functions by name).
/// Edges only point backwards in plan order, so the graph has no cycles and any
/// schedule that follows it also follows the plan's order where it matters.
pub fn dependencies(
    stacks: &[StackUnit],
    params: &[BTreeMap<String, ParamSource>],
) -> Vec<BTreeSet<usize>> {
    let mut deps = vec![BTreeSet::new(); stacks.len()];
    for (i, s) in stacks.iter().enumerate() {
        for (j, e) in stacks.iter().enumerate().take(i) {
            let imports = e.outputs.values().flatten().any(|x| s.imports.contains(x));
            let param = params[i]
                .values()
                .any(|p| matches!(p, ParamSource::Output { stack, .. } if *stack == j));
            let named = e
                .names
                .iter()
                .any(|n| !s.names.contains(n) && s.body.contains(n.as_str()));
            if imports || param || named {
                deps[i].insert(j);
            }
        }
    }
    deps
}

/// Whether the credentials' account is the environment's.
pub fn account_check(want: &str, caller: &str, arn: &str, env: &str) -> Result<(), String> {
    if want == caller {
        return Ok(());
    }
    Err(format!(
        "the credentials are for account {caller} ({arn}), but environment `{env}` deploys to \
         account {want}: use credentials of {want} (--profile, AWS_PROFILE), or correct \
         `environments.{env}.account`"
    ))
}

/// The stacks that may start now: not started, and all dependencies done.
pub fn ready(
    deps: &[BTreeSet<usize>],
    started: &BTreeSet<usize>,
    done: &BTreeSet<usize>,
) -> Vec<usize> {
    (0..deps.len())
        .filter(|i| !started.contains(i) && deps[*i].iter().all(|d| done.contains(d)))
        .collect()
}

/// Every stack `i` depends on, directly or not.
pub fn ancestors(deps: &[BTreeSet<usize>], i: usize) -> BTreeSet<usize> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<usize> = deps[i].iter().copied().collect();
    while let Some(d) = todo.pop() {
        if seen.insert(d) {
            todo.extend(deps[d].iter().copied());
        }
    }
    seen
}

/// The reverse graph, for deleting: a stack may go once every stack depending on it is gone.
pub fn dependents(deps: &[BTreeSet<usize>]) -> Vec<BTreeSet<usize>> {
    let mut r = vec![BTreeSet::new(); deps.len()];
    for (i, ds) in deps.iter().enumerate() {
        for d in ds {
            r[*d].insert(i);
        }
    }
    r
}

/// What to do with a stack, given its current status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackAction {
    Create,
    /// The stack exists only as the shell a CREATE change set leaves (REVIEW_IN_PROGRESS).
    CreateInShell,
    Update,
    /// Another operation is running: wait for it to settle, then decide again.
    Wait,
    /// A first create failed and rolled back; the stack holds nothing, so it is
    /// deleted and created again.
    DeleteThenCreate,
    /// A state only a person should resolve.
    Refuse(String),
}

pub fn action_for(name: &str, status: Option<&str>) -> StackAction {
    let Some(s) = status else {
        return StackAction::Create;
    };
    match s {
        "DELETE_COMPLETE" => StackAction::Create,
        "REVIEW_IN_PROGRESS" => StackAction::CreateInShell,
        "ROLLBACK_COMPLETE" => StackAction::DeleteThenCreate,
        "CREATE_COMPLETE"
        | "UPDATE_COMPLETE"
        | "UPDATE_ROLLBACK_COMPLETE"
        | "IMPORT_COMPLETE"
        | "IMPORT_ROLLBACK_COMPLETE" => StackAction::Update,
        "UPDATE_ROLLBACK_FAILED" => StackAction::Refuse(format!(
            "stack `{name}` is in UPDATE_ROLLBACK_FAILED: an update failed and so did its rollback. \
             Fix the cause shown in its events, then run \
             `aws cloudformation continue-update-rollback --stack-name {name}` \
             (with --resources-to-skip for resources that cannot roll back) and deploy again"
        )),
        "ROLLBACK_FAILED" | "CREATE_FAILED" | "DELETE_FAILED" | "IMPORT_ROLLBACK_FAILED" => {
            StackAction::Refuse(format!(
                "stack `{name}` is in {s}; look at its events, remove what blocks it \
                 (`aws cloudformation delete-stack --stack-name {name}`, retaining resources \
                 that must stay) and deploy again"
            ))
        }
        s if s.ends_with("_IN_PROGRESS") => StackAction::Wait,
        other => StackAction::Refuse(format!("stack `{name}` is in an unexpected state {other}")),
    }
}

/// Whether a status is final (nothing is running on the stack).
pub fn is_settled(status: &str) -> bool {
    !status.ends_with("_IN_PROGRESS") || status == "REVIEW_IN_PROGRESS"
}

/// Whether a settled status after an operation means success.
pub fn is_success(status: &str) -> bool {
    matches!(
        status,
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "DELETE_COMPLETE" | "IMPORT_COMPLETE"
    )
}

/// One stack event, newest fields only.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Event {
    pub id: String,
    /// Milliseconds since the epoch.
    pub time_ms: i64,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
}

impl Event {
    pub fn is_stack(&self) -> bool {
        self.resource_type == "AWS::CloudFormation::Stack"
    }
}

/// The root cause of a failed operation: the first failed resource event that is not
/// the cascade of "cancelled" failures CloudFormation adds after it. `events` are
/// in chronological order.
pub fn root_cause(events: &[Event]) -> Option<&Event> {
    let failed = |e: &&Event| e.status.ends_with("_FAILED");
    let cascade = |e: &Event| {
        e.reason
            .as_deref()
            .is_some_and(|r| r.to_ascii_lowercase().contains("cancelled"))
    };
    events
        .iter()
        .filter(failed)
        .find(|e| !e.is_stack() && !cascade(e))
        .or_else(|| events.iter().filter(failed).find(|e| !e.is_stack()))
        .or_else(|| events.iter().find(failed))
}

/// Resources per stack done so far: distinct non-stack resources that reached a final state.
pub fn resources_done(events: &[Event]) -> usize {
    let mut done = BTreeSet::new();
    for e in events {
        if !e.is_stack() && (e.status.ends_with("_COMPLETE") || e.status.ends_with("_SKIPPED")) {
            done.insert(e.logical_id.as_str());
        }
    }
    done.len()
}

/// A change set's change to one resource.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// `True`, `False`, `Conditional` (CloudFormation's words), when it says.
    pub replacement: Option<String>,
    /// Properties whose change forces (or may force) replacement.
    pub forced_by: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Add,
    Modify,
    Replace,
    Remove,
    Other,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Add => "add",
            Kind::Modify => "modify",
            Kind::Replace => "replace",
            Kind::Remove => "remove",
            Kind::Other => "other",
        }
    }
}

impl Change {
    pub fn kind(&self) -> Kind {
        match self.action.as_str() {
            "Add" => Kind::Add,
            "Remove" => Kind::Remove,
            "Modify" => match self.replacement.as_deref() {
                Some("True" | "Conditional") => Kind::Replace,
                _ => Kind::Modify,
            },
            _ => Kind::Other,
        }
    }
}

/// Types that hold data: replacing or removing one loses it.
pub fn is_data_type(ty: &str) -> bool {
    matches!(
        ty,
        "AWS::S3::Bucket" | "AWS::DynamoDB::Table" | "AWS::DynamoDB::GlobalTable" | "AWS::KMS::Key"
    )
}

/// Types that grant access: a change to one can broaden who may do what.
pub fn is_security_type(ty: &str) -> bool {
    ty.starts_with("AWS::IAM::")
        || matches!(
            ty,
            "AWS::Lambda::Permission"
                | "AWS::S3::BucketPolicy"
                | "AWS::SQS::QueuePolicy"
                | "AWS::SNS::TopicPolicy"
                | "AWS::KMS::Key"
                | "AWS::ApiGateway::Authorizer"
                | "AWS::ApiGateway::RestApi"
                | "AWS::Glue::SecurityConfiguration"
        )
}

/// A change refused to protect data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Refusal {
    pub stack: String,
    pub logical_id: String,
    pub resource_type: String,
    pub kind: Kind,
    pub forced_by: Vec<String>,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            Kind::Replace => {
                write!(
                    f,
                    "stack `{}` would replace {} `{}`, losing its data",
                    self.stack, self.resource_type, self.logical_id
                )?;
                if self.forced_by.is_empty() {
                    f.write_str(" (CloudFormation did not say which property forces it)")
                } else {
                    write!(
                        f,
                        ": changing {} forces a new resource",
                        self.forced_by.join(", ")
                    )
                }
            }
            _ => write!(
                f,
                "stack `{}` would delete {} `{}` and its data",
                self.stack, self.resource_type, self.logical_id
            ),
        }
    }
}

/// The data resources a stack's changes would replace or remove, except those
/// `allow` names (by logical id).
pub fn refusals(stack: &str, changes: &[Change], allow: &[String]) -> Vec<Refusal> {
    changes
        .iter()
        .filter(|c| is_data_type(&c.resource_type))
        .filter(|c| matches!(c.kind(), Kind::Replace | Kind::Remove))
        .filter(|c| !allow.iter().any(|a| a == &c.logical_id))
        .map(|c| Refusal {
            stack: stack.to_string(),
            logical_id: c.logical_id.clone(),
            resource_type: c.resource_type.clone(),
            kind: c.kind(),
            forced_by: c.forced_by.clone(),
        })
        .collect()
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Approval {
    Never,
    Broadening,
    AnyChange,
}

/// Whether these changes need a person's approval at this level.
pub fn needs_approval(changes: &[Change], level: Approval) -> bool {
    match level {
        Approval::Never => false,
        Approval::AnyChange => !changes.is_empty(),
        Approval::Broadening => changes.iter().any(|c| {
            is_security_type(&c.resource_type)
                && matches!(c.kind(), Kind::Add | Kind::Modify | Kind::Replace)
        }),
    }
}

/// What happens when approval is needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalOutcome {
    Proceed,
    Ask,
    Fail(String),
}

pub fn approval_outcome(
    needed: bool,
    yes: bool,
    interactive: bool,
    level: &str,
) -> ApprovalOutcome {
    if !needed || yes {
        ApprovalOutcome::Proceed
    } else if interactive {
        ApprovalOutcome::Ask
    } else {
        ApprovalOutcome::Fail(format!(
            "these changes need approval (--require-approval {level}) and there is no terminal to ask; \
             review them with `pipewright diff`, then rerun with --yes, or choose another --require-approval"
        ))
    }
}

/// The stack policy of a data stack: updates are allowed except replacing or
/// deleting its data resources; `allow` lifts that for the named ones.
pub fn stack_policy(unit: &StackUnit, allow: &[String]) -> Option<String> {
    let protected: Vec<String> = unit
        .resources
        .iter()
        .filter(|(id, r)| is_data_type(&r.ty) && !allow.contains(id))
        .map(|(id, _)| format!("LogicalResourceId/{id}"))
        .collect();
    if !unit.resources.values().any(|r| is_data_type(&r.ty)) {
        return None;
    }
    let mut statements = vec![serde_json::json!({
        "Effect": "Allow", "Principal": "*", "Action": "Update:*", "Resource": "*"
    })];
    if !protected.is_empty() {
        statements.push(serde_json::json!({
            "Effect": "Deny", "Principal": "*",
            "Action": ["Update:Replace", "Update:Delete"],
            "Resource": protected
        }));
    }
    Some(serde_json::json!({ "Statement": statements }).to_string())
}

/// Resources that stay behind when the stack is deleted.
pub fn retained(unit: &StackUnit) -> Vec<(&str, &str)> {
    unit.resources
        .iter()
        .filter(|(_, r)| r.retained)
        .map(|(id, r)| (id.as_str(), r.ty.as_str()))
        .collect()
}

/// Whether an error from UpdateStack / CreateChangeSet means "nothing to change".
pub fn is_no_change(code: Option<&str>, message: Option<&str>) -> bool {
    let m = message.unwrap_or("");
    (code == Some("ValidationError") || code.is_none())
        && (m.contains("No updates are to be performed")
            || m.contains("didn't contain changes")
            || m.contains("did not contain changes"))
}

#[cfg(test)]
mod tests {
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
        let p: Value =
            serde_json::from_str(&stack_policy(&s[2], &["Raw".into()]).unwrap()).unwrap();
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
}
