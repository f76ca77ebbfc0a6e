//! One CloudFormation template per layer, built from the plan: this module holds the
//! shared context ([`Ctx`]: exports and imports, placeholders, roles, log groups, keys),
//! and `STACKS`, the table of stacks in deployment order; each stack's resources are
//! in its own module. Cross-stack values travel as exports (`<stack>:<Name>`) for ids
//! that only exist after deployment (key ARNs, subnet ids); everything with a derived
//! name is referenced by name.
//!
//! A new stack: a `StackId`, a module here building its template(s), and a row in
//! `STACKS`.

mod analytics;
mod bootstrap;
mod buckets;
mod dashboards;
mod foundation;
mod ingest;
mod ml;
mod network;
mod processing;
mod replica;
mod storage;
mod training;

use std::collections::BTreeMap;

use serde_json::Value;

use super::cfn::{Expr, Resource, Template, logical_id, obj};
use super::iam::{self, RoleIam};
use super::resource_policy::KeyId;
use crate::plan::{BucketId, Plan, StackId};

pub use analytics::{DATA_SET_ACTIONS, DATA_SOURCE_ACTIONS, data_set_lid};
pub use dashboards::{ANALYSIS_ACTIONS, DASHBOARD_ACTIONS};
pub use ingest::{API_CACHE_CLUSTER_SIZE, INGEST_ALARMS};
pub use network::{INTERFACE_ENDPOINTS, PREFIX_LIST_PARAMETERS};

/// What a stack's module builds: one template, or (for layers that split to stay under
/// CloudFormation's limits) several, each with its own stack id.
enum Emit {
    One(StackId, fn(&Ctx<'_>) -> Template),
    Split(fn(&Ctx<'_>) -> Vec<(StackId, Template)>),
}

/// A stack of the table: whether the plan has it, and how it is built.
struct Stack {
    when: fn(&Plan) -> bool,
    emit: Emit,
}

fn always(_: &Plan) -> bool {
    true
}

/// Every stack, in deployment order (`StackId`'s order). The replica stack comes first:
/// every replication destination must exist before a rule names it.
const STACKS: &[Stack] = &[
    Stack {
        when: |p| p.stacks.contains_key(&StackId::Replica) && p.replica_region.is_some(),
        emit: Emit::One(StackId::Replica, replica::template),
    },
    Stack {
        when: always,
        emit: Emit::One(StackId::Bootstrap, bootstrap::template),
    },
    Stack {
        when: always,
        emit: Emit::One(StackId::Foundation, foundation::template),
    },
    Stack {
        when: |p| p.network.is_some(),
        emit: Emit::One(StackId::Network, network::template),
    },
    Stack {
        when: always,
        emit: Emit::One(StackId::Storage, storage::template),
    },
    Stack {
        when: always,
        emit: Emit::Split(ingest::templates),
    },
    Stack {
        when: always,
        emit: Emit::Split(processing::templates),
    },
    Stack {
        when: |p| p.stacks.contains_key(&StackId::Analytics),
        emit: Emit::One(StackId::Analytics, analytics::template),
    },
    Stack {
        when: |p| p.stacks.contains_key(&StackId::Ml),
        emit: Emit::One(StackId::Ml, ml::template),
    },
];

/// The templates of every stack the plan has, in deployment order.
pub fn all(cx: &Ctx<'_>) -> Vec<(StackId, Template)> {
    let mut out = Vec::new();
    for s in STACKS.iter().filter(|s| (s.when)(cx.plan)) {
        match s.emit {
            Emit::One(id, build) => out.push((id, build(cx))),
            Emit::Split(build) => out.extend(build(cx)),
        }
    }
    out
}

/// A KMS key ARN in any partition (the body of a parameter's `AllowedPattern`).
const KMS_KEY_ARN: &str = "arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-f0-9-]+";

/// What every stack module reads: the plan, each role's IAM, and the scripts' keys.
pub struct Ctx<'a> {
    pub plan: &'a Plan,
    pub iam: &'a BTreeMap<String, RoleIam>,
    /// Job name → content-addressed key of its script in the artifacts bucket.
    pub script_keys: &'a BTreeMap<String, String>,
}

impl Ctx<'_> {
    fn export_name(&self, stack: StackId, name: &str) -> String {
        format!("{}:{name}", self.plan.stacks[&stack])
    }

    /// An output exported as `<stack>:<name>`: the name is written once.
    fn export(&self, t: &mut Template, stack: StackId, name: &str, description: &str, value: Expr) {
        t.output(
            name,
            description,
            value,
            Some(self.export_name(stack, name)),
        );
    }

    fn import(&self, stack: StackId, name: &str) -> Expr {
        Expr::import(self.export_name(stack, name))
    }

    fn tags(&self) -> Expr {
        Expr::list(
            self.plan
                .tags
                .iter()
                .map(|(k, v)| obj([("Key", Expr::s(k)), ("Value", Expr::s(v))])),
        )
    }

    fn arn(&self, service: &str, rest: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{rest}",
            self.plan.partition, self.plan.region, self.plan.account
        )
    }

    fn bucket_name(&self, b: BucketId) -> String {
        self.plan.bucket(b).name.clone()
    }

    /// A string with `${Placeholder}`s becomes `Fn::Sub` with each placeholder bound.
    fn resolve(&self, s: &str, in_stack: StackId) -> Expr {
        if !s.contains("${") {
            return Expr::s(s);
        }
        let mut vars = BTreeMap::new();
        for (name, _) in iam::placeholder_docs() {
            if s.contains(&format!("${{{name}}}")) {
                let v = self.placeholder(&format!("${{{name}}}"), in_stack);
                if v != Expr::sub(format!("${{{name}}}")) {
                    vars.insert(name.to_owned(), v);
                }
            }
        }
        Expr::Sub(s.to_owned(), vars)
    }

    /// What one `${Placeholder}` (a whole string, as in `iam::DATA_KEY`) stands for in a
    /// stack: an import, a parameter or a resource of that stack. A placeholder with
    /// nothing to bind stays an `Fn::Sub` of itself.
    fn placeholder(&self, whole: &str, in_stack: StackId) -> Expr {
        let name = whole
            .strip_prefix("${")
            .and_then(|n| n.strip_suffix('}'))
            .unwrap_or(whole);
        match name {
            // The replica stack lives in another region: no imports reach it.
            "DataKeyArn" | "ArtifactsKeyArn" if in_stack == StackId::Replica => Expr::r(name),
            "ReplicaKeyArn" if in_stack == StackId::Replica => Expr::att("ReplicaKey", "Arn"),
            "DataKeyArn" => self.import(StackId::Foundation, "DataKeyArn"),
            "ArtifactsKeyArn" if in_stack == StackId::Bootstrap => Expr::att("ArtifactsKey", "Arn"),
            "ArtifactsKeyArn" => self.import(StackId::Bootstrap, "ArtifactsKeyArn"),
            "ReplicaKeyArn" if matches!(in_stack, StackId::Storage | StackId::Bootstrap) => {
                Expr::r("ReplicaKeyArn")
            }
            "ReplicaKeyArn" => Expr::sub(whole),
            "IndexTableName" if in_stack == StackId::Storage => Expr::r("IndexTable"),
            "IndexTableName" => self.import(StackId::Storage, "IndexTableName"),
            other => self.import(StackId::Network, other),
        }
    }

    /// A JSON document with placeholders resolved inside every string.
    fn resolve_json(&self, v: &Value, in_stack: StackId) -> Expr {
        match v {
            Value::String(s) => self.resolve(s, in_stack),
            Value::Array(a) => Expr::list(a.iter().map(|x| self.resolve_json(x, in_stack))),
            Value::Object(o) => Expr::Map(
                o.iter()
                    .map(|(k, x)| (k.clone(), self.resolve_json(x, in_stack)))
                    .collect(),
            ),
            Value::Bool(b) => Expr::Bool(*b),
            Value::Number(n) => n
                .as_i64()
                .map_or_else(|| Expr::Float(n.as_f64().unwrap_or(0.0)), Expr::Int),
            Value::Null => Expr::Json(Value::Null),
        }
    }

    fn stack_meta(&self, t: &mut Template, stack: StackId) {
        let rule_sets: Vec<&str> = if self.plan.pci() {
            crate::plan::PCI_DSS_RULE_SETS.to_vec()
        } else {
            Vec::new()
        };
        t.metadata.insert(
            "pipewright".into(),
            obj([
                ("pipeline", Expr::s(&self.plan.pipeline)),
                ("environment", Expr::s(&self.plan.env)),
                ("stack", Expr::s(stack.name())),
                (
                    "compliance",
                    Expr::strs(self.plan.compliance.iter().map(|c| {
                        serde_json::to_value(c)
                            .unwrap()
                            .as_str()
                            .unwrap_or("")
                            .to_owned()
                    })),
                ),
                ("rule_sets", Expr::strs(rule_sets)),
            ]),
        );
    }

    /// A role with its trust policy, boundary and managed policies. CloudFormation
    /// names the role and its policies; the role's path (`/<name>/`) identifies it.
    fn role(&self, t: &mut Template, id: &str, stack: StackId) -> String {
        let r = &self.iam[id];
        let lid = logical_id(&[id, "role"]);
        let res = Resource::new("AWS::IAM::Role")
            .p("Path", Expr::s(self.plan.roles[id].path()))
            .p("Description", Expr::s(format!("pipewright: {}", r.purpose)))
            .p("AssumeRolePolicyDocument", Expr::Json(r.trust.clone()))
            .p_opt("PermissionsBoundary", r.boundary.as_ref().map(Expr::s))
            .p("Tags", self.tags());
        t.add(&lid, res);
        for (i, doc) in r.policies.values().enumerate() {
            let doc = serde_json::to_value(doc).expect("policy serialises");
            t.add(
                &logical_id(&[id, "policy", &(i + 1).to_string()]),
                Resource::new("AWS::IAM::ManagedPolicy")
                    .p(
                        "Description",
                        Expr::s(format!("pipewright: permissions of {}", r.name)),
                    )
                    .p("PolicyDocument", self.resolve_json(&doc, stack))
                    .p("Roles", Expr::list([Expr::r(&lid)])),
            );
        }
        lid
    }

    /// A role whose resources exist only under a template condition.
    fn role_if(&self, t: &mut Template, id: &str, stack: StackId, condition: &str) {
        let before: Vec<String> = t.resources.keys().cloned().collect();
        self.role(t, id, stack);
        for (lid, r) in &mut t.resources {
            if !before.contains(lid) {
                r.condition = Some(condition.to_owned());
            }
        }
    }

    fn log_group(&self, name: &str) -> Resource {
        self.log_group_named(Expr::s(name))
    }

    /// A KMS-encrypted log group with the environment's retention.
    fn log_group_named(&self, name: Expr) -> Resource {
        Resource::new("AWS::Logs::LogGroup")
            .p("LogGroupName", name)
            .p(
                "RetentionInDays",
                Expr::Int(i64::from(self.plan.log_retention_days)),
            )
            .p("KmsKeyId", self.import(StackId::Foundation, "DataKeyArn"))
            .p("Tags", self.tags())
            .retain(self.plan.retain)
    }

    /// A KMS key with its policy (`resource_policy::key_policy`).
    fn key(&self, description: &str, key: KeyId) -> Resource {
        let policy = super::resource_policy::key_policy(self.plan, key);
        Resource::new("AWS::KMS::Key")
            .p("Description", Expr::s(description))
            .p("EnableKeyRotation", true)
            .p(
                "RotationPeriodInDays",
                Expr::Int(i64::from(self.plan.key_rotation_days)),
            )
            .p(
                "PendingWindowInDays",
                Expr::Int(i64::from(self.plan.key_deletion_window_days)),
            )
            .p(
                "KeyPolicy",
                Expr::Json(super::resource_policy::document(&policy)),
            )
            .p("Tags", self.tags())
            .retain(self.plan.retain)
    }
}
