//! Request cases for the independent policy evaluators (`scripts/iam-simulate`).
//!
//! For every role, each request its flows *need* (action, a concrete resource ARN and
//! the context keys AWS sends, such as `kms:ViaService` and the S3 encryption context)
//! is expected **allowed**; each *neighbour* of a need (another bucket, a sibling
//! prefix, delete instead of put, another table or index, another Glue job, the key
//! through another service, ...) is expected **denied**, unless another need of the
//! same role asks for exactly that. Needs are written here (`needs`, one module per kind
//! of access, with AWS's documented requirements such as `needs::vpc`), from the plan's
//! flows, never from `emit`'s statements; neighbours (`neighbours`) are derived from
//! needs mechanically, so a new flow gets its negative cases for free. A QuickSight
//! audience's role is also denied every request another audience's role needs
//! (`audiences`).
//!
//! Placeholders are bound to concrete values for the plan's partition, account and
//! region ([`super::bindings`]); the policies under test, identity, bucket and key
//! policies, come from [`super::subject`], so the evaluator sees them together.

mod audiences;
mod ctx;
pub mod needs;
mod neighbours;
pub mod outsiders;
#[cfg(test)]
mod tests;
mod trust;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::plan::Plan;
use ctx::{Ctx, Need};

use super::norm::glob;
use super::subject::{self, SubjectRole};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expect {
    Allowed,
    Denied,
}

/// One request to evaluate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Case {
    pub expect: Expect,
    pub flow: String,
    /// `need`, or what the neighbour changes (`another bucket`, `sibling prefix`, ...).
    pub kind: String,
    pub action: String,
    pub resource: String,
    pub resource_account: String,
    pub context: BTreeMap<String, String>,
    /// Key into [`Cases::resource_policies`] (the bucket's or the key's policy, or the
    /// role's trust policy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_policy: Option<String>,
    /// Set for trust cases: the principal that asks to assume the role (a service or
    /// another account); the role's own policies do not apply to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// With `principal`: that principal's own identity policies are the group's (an
    /// outside principal whose account allows it everything), not none.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub own_policies: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct NamedPolicy {
    pub name: String,
    pub policy: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoleCases {
    pub role: String,
    pub principal: String,
    pub identity_policies: Vec<NamedPolicy>,
    pub actions_granted: usize,
    pub cases: Vec<Case>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cases {
    pub pipeline: String,
    pub environment: String,
    pub partition: String,
    pub account: String,
    pub region: String,
    /// The values the placeholders were bound to.
    pub bindings: BTreeMap<String, String>,
    /// Bucket and key policies that synth generates, by bucket or key ARN.
    pub resource_policies: BTreeMap<String, Value>,
    /// The permissions boundary is a policy the spec names but does not define, so
    /// its contents cannot be evaluated here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boundary: Option<String>,
    pub roles: Vec<RoleCases>,
    /// Flows not evaluated, with the reason.
    pub skipped: Vec<String>,
}

impl Cases {
    /// Puts a deployed role's ARN where its cases have the example one (the requests'
    /// principal and `aws:PrincipalArn`, the trust cases' resource and policy).
    pub fn set_principal(&mut self, role: &str, arn: &str) {
        let Some(r) = self.roles.iter_mut().find(|r| r.role == role) else {
            return;
        };
        let old = std::mem::replace(&mut r.principal, arn.to_owned());
        if old == arn {
            return;
        }
        for c in &mut r.cases {
            if c.resource == old {
                arn.clone_into(&mut c.resource);
            }
            if c.resource_policy.as_deref() == Some(old.as_str()) {
                c.resource_policy = Some(arn.to_owned());
            }
            for v in c.context.values_mut().filter(|v| **v == old) {
                arn.clone_into(v);
            }
        }
        if let Some(trust) = self.resource_policies.remove(&old) {
            self.resource_policies.insert(arn.to_owned(), trust);
        }
    }
}

/// Whether request `r` is what need `n` asks for.
fn is_need(n: &Need, r: &Need) -> bool {
    n.action.eq_ignore_ascii_case(&r.action)
        && super::norm::resource_covers(&n.pattern, &r.resource)
        && n.constraints.iter().all(|(k, pats)| {
            r.context
                .get(k)
                .is_some_and(|v| pats.iter().any(|p| glob(p, v)))
        })
}

/// Builds every role's cases, with placeholders bound to test values.
pub fn build(plan: &Plan) -> Result<Cases, String> {
    build_with(plan, &BTreeMap::new())
}

/// Builds every role's cases, with some placeholders bound to given values (those
/// learned from a deployed account) and the rest to test values.
pub fn build_with(plan: &Plan, bound: &BTreeMap<String, String>) -> Result<Cases, String> {
    let mut b = super::bindings::bindings(plan);
    b.extend(bound.iter().map(|(k, v)| (k.clone(), v.clone())));
    let cx = Ctx { plan, bindings: b };
    let mut resource_policies = subject::resource_policies(plan, &cx.bindings)?;
    let subject = subject::roles(plan, &cx.bindings);
    // Outside readers are judged too (`outsiders`): nothing is skipped today.
    let skipped = Vec::new();
    let mut roles = outsiders::cases(&cx, &resource_policies);
    for id in plan.roles.keys() {
        roles.push(role_cases(&cx, id, &subject[id], &mut resource_policies));
    }
    Ok(Cases {
        pipeline: plan.pipeline.clone(),
        environment: plan.env.clone(),
        partition: plan.partition.to_owned(),
        account: plan.account.clone(),
        region: plan.region.clone(),
        bindings: cx.bindings.clone(),
        resource_policies,
        boundary: plan.permissions_boundary.clone(),
        roles,
        skipped,
    })
}

/// One role's cases: its needs (allowed), their neighbours (denied) and who may assume
/// it. Adds the role's trust policy to the resource policies.
fn role_cases(
    cx: &Ctx,
    id: &str,
    subject: &SubjectRole,
    resource_policies: &mut BTreeMap<String, Value>,
) -> RoleCases {
    let plan = cx.plan;
    let role = &plan.roles[id];
    let principal = role.arn(
        plan.partition,
        &plan.account,
        &subject::generated_role_name(plan, id, role),
    );
    let mut all_needs: Vec<(String, Need)> = Vec::new();
    for flow in plan.flows_of(id) {
        for n in needs::needs(cx, flow, &role.service) {
            all_needs.push((flow.id.clone(), n));
        }
    }
    let case = |expect, flow: &str, kind: String, n: &Need| Case {
        expect,
        flow: flow.to_owned(),
        kind,
        action: n.action.clone(),
        resource: n.resource.clone(),
        resource_account: n.account.clone(),
        context: request_context(plan, &principal, n),
        resource_policy: n
            .policy
            .clone()
            .filter(|p| resource_policies.contains_key(p)),
        principal: None,
        own_policies: false,
    };
    let mut cases: BTreeSet<Case> = BTreeSet::new();
    for (flow, n) in &all_needs {
        cases.insert(case(Expect::Allowed, flow, "need".into(), n));
    }
    let mut seen: BTreeSet<(String, String, BTreeMap<String, String>)> = BTreeSet::new();
    for (flow, n) in &all_needs {
        for (m, what) in neighbours::neighbours(cx, n) {
            if all_needs.iter().any(|(_, x)| is_need(x, &m)) {
                continue;
            }
            if !seen.insert((m.action.clone(), m.resource.clone(), m.context.clone())) {
                continue;
            }
            cases.insert(case(Expect::Denied, flow, what, &m));
        }
    }
    for (flow, what, m) in audiences::others_needs(cx, id) {
        if all_needs.iter().any(|(_, x)| is_need(x, &m))
            || !seen.insert((m.action.clone(), m.resource.clone(), m.context.clone()))
        {
            continue;
        }
        cases.insert(case(Expect::Denied, &flow, what, &m));
    }
    trust::trust_cases(
        plan,
        &principal,
        &role.service,
        subject.pins_source_account(),
        &mut cases,
    );
    resource_policies.insert(principal.clone(), subject.trust.clone());
    RoleCases {
        role: subject.name.clone(),
        principal,
        identity_policies: subject
            .identity_policies
            .iter()
            .map(|(name, policy)| NamedPolicy {
                name: name.clone(),
                policy: policy.clone(),
            })
            .collect(),
        actions_granted: subject.actions_granted,
        cases: cases.into_iter().collect(),
    }
}

/// The context AWS sends with a request of the role: the need's own keys and the
/// principal's.
fn request_context(plan: &Plan, principal: &str, n: &Need) -> BTreeMap<String, String> {
    let mut c = n.context.clone();
    c.insert("aws:PrincipalArn".into(), principal.to_owned());
    c.insert("aws:PrincipalAccount".into(), plan.account.clone());
    c.insert("aws:SecureTransport".into(), "true".into());
    if n.action.starts_with("kms:") {
        c.insert("kms:CallerAccount".into(), plan.account.clone());
    }
    c
}
