//! `iam explain ROLE [ACTION]`: why a role has each permission, flow by flow.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use crate::emit::iam::statements;
use crate::plan::Plan;

/// One statement of a role, with the flow and spec line that caused it.
#[derive(Debug, Clone, Serialize)]
pub struct Permission {
    pub flow: String,
    pub why: String,
    pub at: String,
    pub path: String,
    pub sid: String,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub condition: BTreeMap<String, BTreeMap<String, Value>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub role: String,
    pub id: String,
    pub purpose: String,
    pub assumed_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boundary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    pub permissions: Vec<Permission>,
}

/// Explains a role, named by its id (`ingest`) or its name
/// (`transit-payments-dev-ingest`); with `action`, only the statements granting it
/// (`*` wildcards in the statement or the argument match; case does not matter).
pub fn explain(
    plan: &Plan,
    role: &str,
    action: Option<&str>,
    spec_file: &str,
) -> Result<Explanation, String> {
    let (id, rp) = plan
        .roles
        .iter()
        .find(|(id, r)| *id == role || r.name == role)
        .ok_or_else(|| {
            let known: Vec<&str> = plan.roles.keys().map(String::as_str).collect();
            format!(
                "no role `{role}` in environment `{}` (roles: {})",
                plan.env,
                known.join(", ")
            )
        })?;
    let wanted = action.map(str::to_ascii_lowercase);
    let mut permissions = Vec::new();
    for flow in plan.flows_of(id) {
        for st in statements(plan, flow) {
            let matches = wanted.as_ref().is_none_or(|w| {
                st.actions.iter().any(|a| {
                    let a = a.to_ascii_lowercase();
                    super::norm::glob(&a, w) || super::norm::glob(w, &a)
                })
            });
            if !matches {
                continue;
            }
            permissions.push(Permission {
                flow: flow.id.clone(),
                why: flow.why.clone(),
                at: match flow.origin.line {
                    Some(l) => format!("{spec_file}:{l}"),
                    None => spec_file.to_owned(),
                },
                path: flow.origin.path.clone(),
                sid: st.sid.clone(),
                actions: st.actions.clone(),
                resources: st.resources.clone(),
                condition: st.condition.clone(),
            });
        }
    }
    if let Some(a) = action
        && permissions.is_empty()
    {
        return Err(format!("role `{}` is not granted `{a}`", rp.name));
    }
    Ok(Explanation {
        role: rp.name.clone(),
        id: id.clone(),
        purpose: rp.purpose.clone(),
        assumed_by: rp.service.clone(),
        boundary: plan.permissions_boundary.clone(),
        action: action.map(str::to_owned),
        permissions,
    })
}

/// Text for people: one block per flow.
pub fn render(e: &Explanation) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{} ({}; assumed by {})", e.role, e.purpose, e.assumed_by);
    if let Some(b) = &e.boundary {
        let _ = writeln!(s, "permissions boundary {b}");
    }
    let mut flow = "";
    for p in &e.permissions {
        if p.flow != flow {
            flow = &p.flow;
            let _ = writeln!(
                s,
                "\nflow {}: {}\n  declared at {} ({})",
                p.flow, p.why, p.at, p.path
            );
        }
        let _ = writeln!(s, "  {}  [{}]", p.actions.join(", "), p.sid);
        for r in &p.resources {
            let _ = writeln!(s, "    on {r}");
        }
        for (op, kv) in &p.condition {
            for (k, v) in kv {
                let v = match v {
                    Value::String(x) => x.clone(),
                    other => other.to_string(),
                };
                let _ = writeln!(s, "    when {op} {k} = {v}");
            }
        }
    }
    s
}
