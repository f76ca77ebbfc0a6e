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
    crate::aws::prefix_list(service, region)
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
mod tests;
