//! Roles in the access model: each generated role's managed policies (what the role may
//! do), its trust policy (who may assume it) and its permissions boundary, read from
//! `emit::iam::roles`, the same documents the stacks attach.

use serde_json::Value;

use super::{Entry, GrantKind, Source, from_statement};
use crate::plan::Plan;

pub(super) fn entries(plan: &Plan, out: &mut Vec<Entry>) {
    for (id, r) in crate::emit::iam::roles(plan) {
        let rp = &plan.roles[&id];
        let role = format!("Role:{}", r.name);
        let made = Source::of(&rp.origin, Vec::new());
        for doc in r.policies.values() {
            for st in &doc.statements {
                let flows: Vec<String> = r
                    .sources
                    .get(&st.sid)
                    .map(|f| f.split(',').map(str::to_owned).collect())
                    .unwrap_or_default();
                let src = Source::from_flows(plan, flows, "");
                let src = if src.path.is_empty() {
                    made.clone()
                } else {
                    src
                };
                let v = serde_json::to_value(st).expect("statement serialises");
                out.extend(from_statement(
                    GrantKind::RolePolicy,
                    &r.name,
                    &v,
                    Some(&role),
                    &src,
                ));
            }
        }
        let arn = rp.arn_pattern(plan.partition, &plan.account);
        let trust = r.trust.get("Statement").and_then(Value::as_array);
        for st in trust.into_iter().flatten() {
            let mut st = st.clone();
            st["Resource"] = Value::String(arn.clone());
            out.extend(from_statement(
                GrantKind::TrustPolicy,
                &r.name,
                &st,
                None,
                &made,
            ));
        }
        if let Some(b) = &r.boundary {
            let mut e = from_statement(
                GrantKind::PermissionsBoundary,
                &r.name,
                &serde_json::json!({"Effect": "Limit", "Resource": b}),
                Some(&role),
                &Source::setting(plan, "security.permissions_boundary", Vec::new()),
            );
            out.append(&mut e);
        }
    }
}
