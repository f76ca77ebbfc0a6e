//! The access model: every grant the generated stacks make, in one normal form —
//! principal → actions → resources → conditions, on the resource that holds the grant,
//! with the flow and the spec line behind it. It is what `policies/<env>/access.json`
//! holds and what `iam diff` compares ([`diff`]). Not the role diff of `review::diff`,
//! which still names changes inside a role's own policies.
//!
//! Each kind of grant has a room that reads it from the plan through the same functions
//! the stacks serialise: `roles` (identity and trust policies, permissions boundaries,
//! from `emit::iam`), `policies` (bucket, key, topic and queue policies, from
//! `emit::resource_policy`), `api` (Lambda permissions, API method authorization and
//! usage plans) and `quicksight` (data source and data set permissions). pipewright
//! generates no Glue catalog or Lake Formation grant (no resource policy on the catalog,
//! no `AWS::LakeFormation::*` resource), so there is no room for one; the coverage test
//! (`tests/access_model.rs`) walks every template and fails on a grant the model lacks.

mod api;
pub mod diff;
mod policies;
mod quicksight;
mod roles;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::norm::{self, Conditions};
use crate::plan::{Origin, Plan};

/// The kinds of grant the stacks make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GrantKind {
    /// A role's managed policies (what the role may do).
    RolePolicy,
    /// A role's trust policy (who may assume it).
    TrustPolicy,
    /// A role's permissions boundary (the most it may ever do).
    PermissionsBoundary,
    BucketPolicy,
    KeyPolicy,
    TopicPolicy,
    QueuePolicy,
    /// Who may invoke a Lambda function (`AWS::Lambda::Permission`).
    LambdaPermission,
    /// Who may call an API method: its authorization type and API key requirement.
    ApiMethod,
    /// Which API key a usage plan admits to which method.
    UsagePlan,
    QuicksightDataSource,
    QuicksightDataSet,
    QuicksightAnalysis,
    QuicksightDashboard,
}

impl GrantKind {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantKind::RolePolicy => "role policy",
            GrantKind::TrustPolicy => "trust policy",
            GrantKind::PermissionsBoundary => "permissions boundary",
            GrantKind::BucketPolicy => "bucket policy",
            GrantKind::KeyPolicy => "key policy",
            GrantKind::TopicPolicy => "topic policy",
            GrantKind::QueuePolicy => "queue policy",
            GrantKind::LambdaPermission => "Lambda permission",
            GrantKind::ApiMethod => "API method",
            GrantKind::UsagePlan => "usage plan",
            GrantKind::QuicksightDataSource => "QuickSight data source",
            GrantKind::QuicksightDataSet => "QuickSight data set",
            GrantKind::QuicksightAnalysis => "QuickSight analysis",
            GrantKind::QuicksightDashboard => "QuickSight dashboard",
        }
    }
}

/// One grant: a principal may (or may not) do actions on resources, under conditions,
/// through what `on` names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    pub grant: GrantKind,
    /// The resource that holds the grant: a role, bucket or topic name, a key's alias,
    /// `POST /v1/pos/sales`, a usage plan's or QuickSight data set's id.
    pub on: String,
    /// `AWS:<arn>`, `Service:<service principal>`, `Role:<role name>` (a generated role),
    /// `QuickSight:<user or group ARN>`, `ApiKey:<source>`, or `*` (anyone).
    pub principal: String,
    /// `Allow`, `Deny`, or `Limit` (a permissions boundary).
    pub effect: String,
    /// Lower-cased, sorted.
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    /// Operator → key (lower-cased) → values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub conditions: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// The statement id, when the grant is a policy statement.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sid: String,
    /// The flows it comes from (none: a setting, or pipewright's fixed posture).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flows: Vec<String>,
    /// The dotted spec path behind it (`security.readers.0`).
    pub spec: String,
    /// Its line in the spec (not written to `access.json`, which would then change with
    /// every unrelated edit above it).
    #[serde(skip)]
    pub line: Option<usize>,
}

impl Entry {
    /// The canonical conditions.
    pub fn conds(&self) -> Conditions {
        let mut out = Conditions::new();
        for (op, keys) in &self.conditions {
            for (k, vs) in keys {
                out.insert((op.clone(), k.clone()), vs.iter().cloned().collect());
            }
        }
        out
    }
}

fn conditions_json(c: &Conditions) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let mut out: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for ((op, k), vs) in c {
        out.entry(op.clone())
            .or_default()
            .insert(k.clone(), vs.iter().cloned().collect());
    }
    out
}

/// Every grant of one environment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub pipeline: String,
    pub environment: String,
    pub account: String,
    pub partition: String,
    pub entries: Vec<Entry>,
}

/// Where a grant comes from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Source {
    pub flows: Vec<String>,
    pub path: String,
    pub line: Option<usize>,
}

impl Source {
    fn of(origin: &Origin, flows: Vec<String>) -> Source {
        Source {
            flows,
            path: origin.path.clone(),
            line: origin.line,
        }
    }

    /// The source of a statement: its first flow's origin, else the setting `path`.
    fn from_flows(plan: &Plan, flows: Vec<String>, setting: &str) -> Source {
        match flows
            .first()
            .and_then(|id| plan.flows.iter().find(|f| &f.id == id))
        {
            Some(f) => Source::of(&f.origin, flows),
            None => Source::setting(plan, setting, flows),
        }
    }

    /// A setting of [`crate::plan::GRANT_SETTINGS`].
    fn setting(plan: &Plan, path: &str, flows: Vec<String>) -> Source {
        match plan.origins.get(path) {
            Some(o) => Source::of(o, flows),
            None => Source {
                flows,
                path: path.to_owned(),
                line: None,
            },
        }
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| match x {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        Some(other) if !other.is_null() => vec![other.to_string()],
        _ => Vec::new(),
    }
}

/// The principals of a policy statement, one per entry: `AWS:<arn>`, `Service:<name>`,
/// and `*` for `"*"` or `{"AWS": "*"}`.
pub fn principals(st: &Value) -> Vec<String> {
    let mut out = BTreeSet::new();
    match st.get("Principal") {
        Some(Value::String(s)) if s == "*" => {
            out.insert("*".to_owned());
        }
        Some(Value::String(s)) => {
            out.insert(format!("AWS:{s}"));
        }
        Some(Value::Object(o)) => {
            for (kind, ids) in o {
                for id in strings(Some(ids)) {
                    out.insert(if kind == "AWS" && id == "*" {
                        "*".to_owned()
                    } else {
                        format!("{kind}:{id}")
                    });
                }
            }
        }
        _ => {}
    }
    out.into_iter().collect()
}

/// One entry per principal of a policy statement (`principal`: the statement names
/// none, as in identity policies).
pub(crate) fn from_statement(
    grant: GrantKind,
    on: &str,
    st: &Value,
    principal: Option<&str>,
    src: &Source,
) -> Vec<Entry> {
    let mut actions: Vec<String> = strings(st.get("Action"))
        .iter()
        .map(|a| a.to_ascii_lowercase())
        .collect();
    actions.sort();
    actions.dedup();
    let mut resources = strings(st.get("Resource"));
    resources.sort();
    resources.dedup();
    let conds = norm::conditions(st.get("Condition"), on).unwrap_or_default();
    let who = match principal {
        Some(p) => vec![p.to_owned()],
        None => principals(st),
    };
    who.into_iter()
        .map(|principal| Entry {
            grant,
            on: on.to_owned(),
            principal,
            effect: st
                .get("Effect")
                .and_then(Value::as_str)
                .unwrap_or("Allow")
                .to_owned(),
            actions: actions.clone(),
            resources: resources.clone(),
            conditions: conditions_json(&conds),
            sid: st
                .get("Sid")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            flows: src.flows.clone(),
            spec: src.path.clone(),
            line: src.line,
        })
        .collect()
}

/// A grant that is a property rather than a statement (an API method's authorization, a
/// QuickSight permission).
#[allow(clippy::too_many_arguments)]
pub(crate) fn entry(
    grant: GrantKind,
    on: &str,
    principal: String,
    actions: &[&str],
    resources: Vec<String>,
    conditions: Conditions,
    src: &Source,
) -> Entry {
    let mut actions: Vec<String> = actions.iter().map(|a| a.to_ascii_lowercase()).collect();
    actions.sort();
    actions.dedup();
    Entry {
        grant,
        on: on.to_owned(),
        principal,
        effect: "Allow".to_owned(),
        actions,
        resources,
        conditions: conditions_json(&conditions),
        sid: String::new(),
        flows: src.flows.clone(),
        spec: src.path.clone(),
        line: src.line,
    }
}

/// Every grant a plan's stacks make, sorted.
pub fn model(plan: &Plan) -> Model {
    let mut entries = Vec::new();
    roles::entries(plan, &mut entries);
    policies::entries(plan, &mut entries);
    api::entries(plan, &mut entries);
    quicksight::entries(plan, &mut entries);
    entries.sort();
    entries.dedup();
    Model {
        pipeline: plan.pipeline.clone(),
        environment: plan.env.clone(),
        account: plan.account.clone(),
        partition: plan.partition.to_owned(),
        entries,
    }
}

/// The file name of the model in `policies/<env>/`.
pub const FILE: &str = "access.json";

/// Adds `policies/<env>/access.json` to what synth writes for a plan (`synth` and
/// `synth --check` go through it).
pub fn add_to(out: &mut crate::emit::Output, plan: &Plan) {
    out.files.insert(
        std::path::PathBuf::from("policies")
            .join(&plan.env)
            .join(FILE),
        model(plan).to_json().into_bytes(),
    );
}

impl Model {
    /// `policies/<env>/access.json`: two-space JSON, entries sorted, trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("the access model serialises");
        s.push('\n');
        s
    }

    /// Reads `access.json`; `what` names the file in errors.
    pub fn from_json(text: &str, what: &str) -> Result<Model, String> {
        serde_json::from_str(text).map_err(|e| format!("{what}: not an access model: {e}"))
    }
}

/// Who a principal is, for reviewers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Who {
    /// Anyone, signed or not.
    Public,
    /// A principal of another AWS account.
    OtherAccount,
    /// An AWS service.
    Service,
    /// A role the pipeline generates.
    PipelineRole,
    /// A principal of the environment's account (its root, a role, a QuickSight user or
    /// group).
    SameAccount,
    /// An API key of the pipeline.
    ApiKey,
}

impl Who {
    pub fn as_str(self) -> &'static str {
        match self {
            Who::Public => "PUBLIC",
            Who::OtherAccount => "OTHER ACCOUNT",
            Who::Service => "service",
            Who::PipelineRole => "pipeline role",
            Who::SameAccount => "same account",
            Who::ApiKey => "API key",
        }
    }
}

/// The account of an ARN (`arn:partition:service:region:account:...`), or a bare id.
fn account_of(arn: &str) -> Option<&str> {
    if arn.len() == 12 && arn.bytes().all(|b| b.is_ascii_digit()) {
        return Some(arn);
    }
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// Labels a principal against the environment's account.
pub fn who(principal: &str, account: &str) -> Who {
    if principal == "*" {
        return Who::Public;
    }
    let (kind, id) = principal.split_once(':').unwrap_or(("AWS", principal));
    match kind {
        "Service" => Who::Service,
        "Role" => Who::PipelineRole,
        "ApiKey" => Who::ApiKey,
        _ if id == "*" => Who::Public,
        _ => match account_of(id) {
            Some(a) if a == account => Who::SameAccount,
            Some(a) if a.contains('*') => Who::Public,
            _ => Who::OtherAccount,
        },
    }
}
