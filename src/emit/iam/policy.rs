//! Policy assembly: each generated role's trust policy and managed policies, built
//! from the statements of its flows (in flow order), split below IAM's size limit as
//! deployed and, past IAM's quota of policies per role, compacted. Not where any
//! statement comes from (the modules per kind of flow).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Value, json};

use super::{Statement, placeholder_docs, statements};
use crate::plan::{Plan, RolePlan};

/// A policy document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Document {
    #[serde(rename = "Version")]
    pub version: &'static str,
    #[serde(rename = "Statement")]
    pub statements: Vec<Statement>,
}

/// Everything IAM about one generated role.
#[derive(Debug, Clone, Serialize)]
pub struct RoleIam {
    #[serde(rename = "Role")]
    pub name: String,
    #[serde(rename = "Purpose")]
    pub purpose: String,
    #[serde(rename = "AssumedBy")]
    pub service: String,
    #[serde(
        rename = "PermissionsBoundary",
        skip_serializing_if = "Option::is_none"
    )]
    pub boundary: Option<String>,
    #[serde(rename = "TrustPolicy")]
    pub trust: Value,
    /// Managed policies (name → document), split to stay under IAM's size limit.
    #[serde(rename = "Policies")]
    pub policies: BTreeMap<String, Document>,
    #[serde(rename = "Placeholders", skip_serializing_if = "BTreeMap::is_empty")]
    pub placeholders: BTreeMap<String, String>,
    /// Statement id → flow id (for reports and `iam explain`).
    #[serde(skip)]
    pub sources: BTreeMap<String, String>,
}

/// IAM's limit on a managed policy document, in characters without white space.
pub const MANAGED_POLICY_LIMIT: usize = 6144;

/// Trust conditions by service: only where the service documents that it sends
/// `aws:SourceAccount` when assuming a role (others would then fail to assume it).
fn trust_condition(plan: &Plan, service: &str) -> Option<Value> {
    match service.split('.').next()? {
        "scheduler" | "sagemaker" => {
            Some(json!({"StringEquals": {"aws:SourceAccount": plan.account}}))
        }
        _ => None,
    }
}

pub fn trust_policy(plan: &Plan, role: &RolePlan) -> Value {
    let mut st = json!({
        "Sid": "AssumedByService",
        "Effect": "Allow",
        "Principal": {"Service": role.service},
        "Action": "sts:AssumeRole",
    });
    if let Some(c) = trust_condition(plan, &role.service) {
        st["Condition"] = c;
    }
    json!({"Version": "2012-10-17", "Statement": [st]})
}

/// The longest a placeholder's value can be once deployed.
fn placeholder_max_len(plan: &Plan, name: &str) -> usize {
    // Key ids are UUIDs or `mrk-` and 32 hex digits: 36 characters either way.
    let key_arn = |region: &str| {
        format!("arn:{}:kms:{region}:{}:key/", plan.partition, plan.account).len() + 36
    };
    match name {
        "DataKeyArn" | "ArtifactsKeyArn" => key_arn(&plan.region),
        "ReplicaKeyArn" => key_arn(plan.replica_region.as_deref().unwrap_or(&plan.region)),
        // `subnet-` or `sg-` and 17 hex digits.
        "WorkloadSecurityGroup" => 20,
        n if n.starts_with("PrivateSubnet") => 24,
        // CloudFormation names the table `<stack>-IndexTable-<suffix of at most 13>`.
        "IndexTableName" => plan
            .stacks
            .get(&crate::plan::StackId::Storage)
            .map_or(255, |s| s.len() + "-IndexTable-".len() + 13),
        // DynamoDB's limit on a name, an upper bound for anything not listed.
        _ => 255,
    }
}

/// The length IAM counts for a document once deployed (no white space), with each
/// `${Name}` placeholder as long as its value can be: a policy that fits in
/// `policies/` must still fit once CloudFormation substitutes key ARNs and names.
pub fn deployed_len<T: Serialize>(plan: &Plan, v: &T) -> usize {
    let text = serde_json::to_string(v).unwrap_or_default();
    placeholder_docs().keys().fold(text.len(), |len, name| {
        let placeholder = format!("${{{name}}}");
        let n = text.matches(&placeholder).count();
        len + n * placeholder_max_len(plan, name).saturating_sub(placeholder.len())
    })
}

/// IAM's default quota of managed policies per role.
pub const MAX_POLICIES_PER_ROLE: usize = 10;

/// Splits statements, in order, into managed policies under the size limit.
fn split(plan: &Plan, role: &str, statements: &[Statement]) -> BTreeMap<String, Document> {
    const ENVELOPE: usize = r#"{"Version":"2012-10-17","Statement":[]}"#.len();
    let mut policies = BTreeMap::new();
    let mut current: Vec<Statement> = Vec::new();
    let mut size = ENVELOPE;
    let flush = |current: &mut Vec<Statement>, policies: &mut BTreeMap<String, Document>| {
        let n = policies.len() + 1;
        policies.insert(
            format!("{role}-{n}"),
            Document {
                version: "2012-10-17",
                statements: std::mem::take(current),
            },
        );
    };
    for st in statements {
        let len = deployed_len(plan, st) + 1;
        if size + len > MANAGED_POLICY_LIMIT && !current.is_empty() {
            flush(&mut current, &mut policies);
            size = ENVELOPE;
        }
        size += len;
        current.push(st.clone());
    }
    if !current.is_empty() {
        flush(&mut current, &mut policies);
    }
    policies
}

/// Merges statements with the same actions and conditions; `sources` is updated so
/// each merged Sid lists every flow it serves.
fn compact(statements: Vec<Statement>, sources: &mut BTreeMap<String, String>) -> Vec<Statement> {
    let mut out: Vec<(Statement, Vec<String>)> = Vec::new();
    for st in statements {
        match out
            .iter_mut()
            .find(|(o, _)| o.actions == st.actions && o.condition == st.condition)
        {
            Some((o, sids)) => {
                o.resources.extend(st.resources);
                o.resources.sort();
                o.resources.dedup();
                sids.push(st.sid);
            }
            None => {
                let sid = st.sid.clone();
                out.push((st, vec![sid]));
            }
        }
    }
    let mut used = std::collections::BTreeSet::new();
    out.into_iter()
        .map(|(mut st, sids)| {
            if sids.len() > 1 {
                let first = &sids[0];
                let common = sids.iter().fold(first.len(), |n, s| {
                    first
                        .bytes()
                        .zip(s.bytes())
                        .take(n)
                        .take_while(|(a, b)| a == b)
                        .count()
                });
                let mut sid = format!("{}Merged", &first[..common.max(1)]);
                let mut k = 2;
                while used.contains(&sid) {
                    sid = format!("{}Merged{k}", &first[..common.max(1)]);
                    k += 1;
                }
                let flows: Vec<String> = sids.iter().filter_map(|s| sources.remove(s)).collect();
                sources.insert(sid.clone(), flows.join(","));
                st.sid = sid;
            }
            used.insert(st.sid.clone());
            st
        })
        .collect()
}

/// All generated roles' IAM, keyed by role id.
pub fn roles(plan: &Plan) -> BTreeMap<String, RoleIam> {
    let mut out = BTreeMap::new();
    for (id, role) in &plan.roles {
        let mut all = Vec::new();
        let mut sources = BTreeMap::new();
        for flow in plan.flows_of(id) {
            for st in statements(plan, flow) {
                sources.insert(st.sid.clone(), flow.id.clone());
                all.push(st);
            }
        }
        let mut policies = split(plan, &role.name, &all);
        if policies.len() > MAX_POLICIES_PER_ROLE {
            // Too many for IAM's default quota: merge statements that grant the same
            // actions under the same conditions (their resources are joined), keeping
            // the flows' common Sid prefix.
            let merged = compact(all, &mut sources);
            policies = split(plan, &role.name, &merged);
        }
        let text = serde_json::to_string(&policies).unwrap_or_default();
        let placeholders = placeholder_docs()
            .into_iter()
            .filter(|(k, _)| text.contains(&format!("${{{k}}}")))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        out.insert(
            id.clone(),
            RoleIam {
                name: role.name.clone(),
                purpose: role.purpose.clone(),
                service: role.service.clone(),
                boundary: plan.permissions_boundary.clone(),
                trust: trust_policy(plan, role),
                policies,
                placeholders,
                sources,
            },
        );
    }
    out
}

/// Every action granted to a role (for summaries).
pub fn actions_of(r: &RoleIam) -> BTreeSet<String> {
    r.policies
        .values()
        .flat_map(|d| d.statements.iter().flat_map(|s| s.actions.iter().cloned()))
        .collect()
}
