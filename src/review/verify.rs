//! `iam verify`: the deployed roles against what synth generates, through the IAM API.
//!
//! Drift: each generated role is read back (trust policy, boundary, attached managed
//! policies' default versions, inline policies) into a role file of the same shape as
//! `policies/<env>/<role>.json`, and compared semantically ([`super::diff`]).
//! Placeholders (`${DataKeyArn}`) are bound from the deployed documents themselves.
//!
//! Simulation: the same allowed and neighbouring requests as `scripts/iam-simulate`
//! ([`super::cases`]), through IAM's own `SimulatePrincipalPolicy` on the deployed role.

use std::collections::BTreeMap;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum, PolicyEvaluationDecisionType};
use serde::Serialize;
use serde_json::{Value, json};

use super::cases::{Cases, Expect};
use super::diff::{Change, diff_role};
use super::norm;
use crate::plan::Plan;

fn err<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// Decodes IAM's URL-encoded policy documents (`%7B%22Version...`).
pub fn decode_document(text: &str) -> Result<Value, String> {
    let t = text.trim();
    let decoded = if t.starts_with('{') {
        t.to_owned()
    } else {
        let bytes = t.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() + 1 {
                let hex = std::str::from_utf8(&bytes[i + 1..(i + 3).min(bytes.len())])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("bad escape in policy document at byte {i}"))?;
                out.push(hex);
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).map_err(|e| format!("policy document is not UTF-8: {e}"))?
    };
    serde_json::from_str(&decoded).map_err(|e| format!("policy document is not JSON: {e}"))
}

/// A deployed role, as found by its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundRole {
    /// The name CloudFormation gave it.
    pub name: String,
    pub arn: String,
}

/// Finds the deployed role with IAM path `path` (CloudFormation names pipewright's roles;
/// each has a path of its own, `/<name>/`): `None` when no role has it, an error when
/// more than one does, since then the deployed role cannot be told from the others.
pub async fn find_role(iam: &Client, path: &str) -> Result<Option<FoundRole>, String> {
    let listed = iam
        .list_roles()
        .path_prefix(path)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| {
            format!(
                "ListRoles under {path}: {}",
                crate::deploy::errors::sdk_error_text(&e, "the IAM endpoint")
            )
        })?;
    // The prefix also lists roles under deeper paths (`/<name>/more/`): not ours.
    let mut found: Vec<FoundRole> = listed
        .iter()
        .filter(|r| r.path() == path)
        .map(|r| FoundRole {
            name: r.role_name().to_owned(),
            arn: r.arn().to_owned(),
        })
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        n => Err(format!(
            "{n} roles have the path {path} ({}): pipewright finds a generated role by its \
             path and expects exactly one; delete the roles its stack did not create",
            found
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// A deployed role as a role file (`Role`, `PermissionsBoundary`, `TrustPolicy`,
/// `Policies`), or `None` when it does not exist.
pub async fn deployed_role(iam: &Client, name: &str) -> Result<Option<Value>, String> {
    let role = match iam.get_role().role_name(name).send().await {
        Ok(r) => r.role.ok_or("GetRole returned no role")?,
        Err(e) => {
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception())
            {
                return Ok(None);
            }
            return Err(format!(
                "GetRole {name}: {}",
                crate::deploy::errors::sdk_error_text(&e, "the IAM endpoint")
            ));
        }
    };
    let trust = decode_document(role.assume_role_policy_document().unwrap_or("{}"))?;
    let boundary = role
        .permissions_boundary()
        .and_then(|b| b.permissions_boundary_arn())
        .map(str::to_owned);
    let mut policies = serde_json::Map::new();
    let attached = iam
        .list_attached_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| {
            format!(
                "ListAttachedRolePolicies {name}: {}",
                crate::deploy::errors::sdk_error_text(&e, "the IAM endpoint")
            )
        })?;
    for a in attached {
        let arn = a.policy_arn().unwrap_or_default();
        let p = iam
            .get_policy()
            .policy_arn(arn)
            .send()
            .await
            .map_err(err(&format!("GetPolicy {arn}")))?
            .policy
            .ok_or("GetPolicy returned no policy")?;
        let version = p.default_version_id().unwrap_or("v1");
        let v = iam
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .map_err(err(&format!("GetPolicyVersion {arn}")))?
            .policy_version
            .ok_or("GetPolicyVersion returned no version")?;
        let doc = decode_document(v.document().unwrap_or("{}"))?;
        policies.insert(a.policy_name().unwrap_or(arn).to_owned(), doc);
    }
    let inline = iam
        .list_role_policies()
        .role_name(name)
        .send()
        .await
        .map_err(err(&format!("ListRolePolicies {name}")))?;
    for pname in inline.policy_names() {
        let p = iam
            .get_role_policy()
            .role_name(name)
            .policy_name(pname)
            .send()
            .await
            .map_err(err(&format!("GetRolePolicy {name}/{pname}")))?;
        policies.insert(
            format!("inline:{pname}"),
            decode_document(p.policy_document())?,
        );
    }
    let mut out = json!({"Role": name, "TrustPolicy": trust, "Policies": policies});
    if let Some(b) = boundary {
        out["PermissionsBoundary"] = json!(b);
    }
    Ok(Some(out))
}

fn strings_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings_in(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings_in(x, out)),
        _ => {}
    }
}

/// Binds `${Name}` placeholders of a generated document from the deployed one: a
/// generated string `pre${Name}post` binds Name to the middle of the one deployed
/// string that has that prefix and suffix (and no placeholder of its own).
pub fn bind_placeholders(generated: &Value, deployed: &Value) -> BTreeMap<String, String> {
    let mut gen_strings = Vec::new();
    strings_in(generated, &mut gen_strings);
    let mut dep_strings = Vec::new();
    strings_in(deployed, &mut dep_strings);
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for g in gen_strings {
        let Some(start) = g.find("${") else { continue };
        let Some(len) = g[start..].find('}') else {
            continue;
        };
        let name = &g[start + 2..start + len];
        if name.contains(':') || out.contains_key(name) {
            continue;
        }
        let (pre, post) = (&g[..start], &g[start + len + 1..]);
        if post.contains("${") {
            continue;
        }
        let candidates: Vec<&str> = dep_strings
            .iter()
            .filter(|d| !d.contains("${") && d.len() > pre.len() + post.len())
            .filter(|d| d.starts_with(pre) && d.ends_with(post))
            .map(|d| &d[pre.len()..d.len() - post.len()])
            .filter(|m| !m.is_empty() && !m.contains('*'))
            .collect();
        if let Some(first) = candidates.first()
            && candidates.iter().all(|c| c == first)
        {
            out.insert(name.to_owned(), (*first).to_owned());
        }
    }
    // A resource that is only a placeholder: pair statements by Sid, and bind it to the
    // one deployed resource of that statement that the generated one lacks.
    let statements = |docs: &Value| -> Vec<Value> {
        docs.as_object()
            .into_iter()
            .flat_map(|o| o.values())
            .filter_map(|d| d.get("Statement").and_then(Value::as_array))
            .flatten()
            .cloned()
            .collect()
    };
    let resources = |st: &Value| -> Vec<String> {
        let mut r = Vec::new();
        if let Some(v) = st.get("Resource") {
            strings_in(v, &mut r);
        }
        r
    };
    let deployed_by_sid: BTreeMap<String, Vec<String>> = statements(deployed)
        .iter()
        .filter_map(|st| Some((st.get("Sid")?.as_str()?.to_owned(), resources(st))))
        .collect();
    for st in statements(generated) {
        let Some(sid) = st.get("Sid").and_then(Value::as_str) else {
            continue;
        };
        let Some(dep) = deployed_by_sid.get(sid) else {
            continue;
        };
        let gen_res = resources(&st);
        let bare: Vec<&str> = gen_res
            .iter()
            .filter(|r| r.starts_with("${") && r.ends_with('}') && r.matches("${").count() == 1)
            .map(|r| &r[2..r.len() - 1])
            .filter(|n| !out.contains_key(*n))
            .collect();
        let extra: Vec<&String> = dep.iter().filter(|d| !gen_res.contains(d)).collect();
        if let ([name], [value]) = (bare.as_slice(), extra.as_slice()) {
            out.insert((*name).to_owned(), (*value).clone());
        }
    }
    out
}

fn bind(v: &Value, b: &BTreeMap<String, String>) -> Value {
    match v {
        Value::String(s) => {
            let mut t = s.clone();
            for (k, x) in b {
                t = t.replace(&format!("${{{k}}}"), x);
            }
            Value::String(t)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| bind(x, b)).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), bind(x, b))).collect()),
        other => other.clone(),
    }
}

/// Drift of one role.
#[derive(Debug, Clone, Serialize)]
pub struct RoleDrift {
    /// The role's name in the plan (and in `policies/`).
    pub role: String,
    /// The IAM path it was looked up by.
    pub path: String,
    pub deployed: bool,
    /// The deployed role's ARN (its name is CloudFormation's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// Changes from the generated role to the deployed one (broadening: the deployed
    /// role can do more than the spec says).
    pub changes: Vec<Change>,
}

/// Compares every generated role with its deployed version; also returns the
/// placeholder bindings learned from the deployed documents.
pub async fn drift(
    iam: &Client,
    plan: &Plan,
) -> Result<(Vec<RoleDrift>, BTreeMap<String, String>), String> {
    let mut out = Vec::new();
    let mut bindings = BTreeMap::new();
    for (id, r) in &crate::emit::iam::roles(plan) {
        let generated = serde_json::to_value(r).expect("serialises");
        let path = plan.roles[id].path();
        let not_deployed = || RoleDrift {
            role: r.name.clone(),
            path: path.clone(),
            deployed: false,
            arn: None,
            changes: Vec::new(),
        };
        let Some(found) = find_role(iam, &path).await? else {
            out.push(not_deployed());
            continue;
        };
        let Some(mut deployed) = deployed_role(iam, &found.name).await? else {
            out.push(not_deployed());
            continue;
        };
        // Compared under the plan's name: the deployed one is CloudFormation's.
        deployed["Role"] = json!(r.name);
        let b = bind_placeholders(&generated["Policies"], &deployed["Policies"]);
        let generated = bind(&generated, &b);
        bindings.extend(b);
        let g = norm::role(&generated, &r.name).map_err(|e| e.0)?;
        let d = norm::role(&deployed, &format!("deployed {}", r.name)).map_err(|e| e.0)?;
        out.push(RoleDrift {
            role: r.name.clone(),
            path,
            deployed: true,
            arn: Some(found.arn),
            changes: diff_role(&g, &d),
        });
    }
    Ok((out, bindings))
}

/// One case as IAM's simulator decided it.
#[derive(Debug, Clone, Serialize)]
pub struct Simulated {
    pub role: String,
    pub expect: Expect,
    pub flow: String,
    pub kind: String,
    pub action: String,
    pub resource: String,
    pub decision: String,
    pub as_intended: bool,
}

fn context_type(key: &str) -> ContextKeyTypeEnum {
    if key.eq_ignore_ascii_case("aws:SecureTransport") {
        ContextKeyTypeEnum::Boolean
    } else {
        ContextKeyTypeEnum::String
    }
}

/// Runs every case through `SimulatePrincipalPolicy` on the deployed role.
pub async fn simulate(iam: &Client, cases: &Cases) -> Result<Vec<Simulated>, String> {
    let mut out = Vec::new();
    for role in &cases.roles {
        // Trust cases are about other principals; the simulator evaluates the role's own.
        for c in role.cases.iter().filter(|c| c.principal.is_none()) {
            let mut req = iam
                .simulate_principal_policy()
                .policy_source_arn(&role.principal)
                .action_names(&c.action)
                .resource_arns(&c.resource);
            for (k, v) in &c.context {
                req = req.context_entries(
                    ContextEntry::builder()
                        .context_key_name(k)
                        .context_key_values(v)
                        .context_key_type(context_type(k))
                        .build(),
                );
            }
            if let Some(p) = c
                .resource_policy
                .as_ref()
                .and_then(|p| cases.resource_policies.get(p))
            {
                req = req.resource_policy(p.to_string()).resource_owner(format!(
                    "arn:{}:iam::{}:root",
                    cases.partition, c.resource_account
                ));
            }
            let resp = req.send().await.map_err(|e| {
                format!(
                    "SimulatePrincipalPolicy {} {}: {}",
                    role.role,
                    c.action,
                    crate::deploy::errors::sdk_error_text(&e, "the IAM endpoint")
                )
            })?;
            let decision = resp
                .evaluation_results()
                .first()
                .map(|r| r.eval_decision().clone())
                .ok_or_else(|| format!("SimulatePrincipalPolicy {}: no result", c.action))?;
            let allowed = decision == PolicyEvaluationDecisionType::Allowed;
            out.push(Simulated {
                role: role.role.clone(),
                expect: c.expect,
                flow: c.flow.clone(),
                kind: c.kind.clone(),
                action: c.action.clone(),
                resource: c.resource.clone(),
                decision: decision.as_str().to_owned(),
                as_intended: allowed == (c.expect == Expect::Allowed),
            });
        }
    }
    Ok(out)
}

/// What `iam verify` found.
#[derive(Debug, serde::Serialize)]
pub struct VerifyReport {
    pub environment: String,
    pub drift: Vec<RoleDrift>,
    pub simulated: Vec<Simulated>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.drift
            .iter()
            .all(|d| d.deployed && d.changes.is_empty())
            && self.simulated.iter().all(|s| s.as_intended)
    }
}

/// Drift, then (when asked) the simulator, against one IAM client.
pub async fn verify_with(
    iam: &aws_sdk_iam::Client,
    plan: &Plan,
    run_simulator: bool,
) -> Result<VerifyReport, String> {
    let (drift, bindings) = drift(iam, plan).await?;
    let mut simulated = Vec::new();
    if run_simulator {
        let mut cases = super::cases::build_with(plan, &bindings)?;
        for d in &drift {
            if let Some(arn) = &d.arn {
                cases.set_principal(&d.role, arn);
            }
        }
        let deployed: std::collections::BTreeSet<&str> = drift
            .iter()
            .filter(|d| d.deployed)
            .map(|d| d.role.as_str())
            .collect();
        cases.roles.retain(|r| deployed.contains(r.role.as_str()));
        simulated = simulate(iam, &cases).await?;
    }
    Ok(VerifyReport {
        environment: plan.env.clone(),
        drift,
        simulated,
    })
}

pub fn render_verify(r: &VerifyReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    for d in &r.drift {
        if !d.deployed {
            let _ = writeln!(
                s,
                "role {}: not deployed (no role has the path {})",
                d.role, d.path
            );
        } else if d.changes.is_empty() {
            let _ = writeln!(s, "role {}: as generated", d.role);
        } else {
            let _ = writeln!(s, "role {}: drift (generated → deployed)", d.role);
            for c in &d.changes {
                let what = if c.actions.is_empty() {
                    c.detail.clone()
                } else {
                    format!("{} {}", c.actions.join(", "), c.detail)
                };
                let _ = writeln!(
                    s,
                    "    {:<10} {:<24} {what}",
                    c.class.as_str(),
                    c.kind.as_str()
                );
            }
        }
    }
    if !r.simulated.is_empty() {
        let wrong: Vec<_> = r.simulated.iter().filter(|x| !x.as_intended).collect();
        for w in &wrong {
            let _ = writeln!(
                s,
                "simulator: {} {} on {} is {} ({}: {})",
                w.role, w.action, w.resource, w.decision, w.flow, w.kind
            );
        }
        let _ = writeln!(
            s,
            "simulator: {} request(s), {} decided otherwise than synth intended",
            r.simulated.len(),
            wrong.len()
        );
    }
    let _ = writeln!(
        s,
        "{}",
        if r.ok() {
            "iam verify: the deployed roles are what the spec generates"
        } else {
            "iam verify: differences found"
        }
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_url_decoded() {
        let v = decode_document("%7B%22Version%22%3A%222012-10-17%22%7D").unwrap();
        assert_eq!(v["Version"], "2012-10-17");
        assert_eq!(decode_document("{\"a\":1}").unwrap()["a"], 1);
        assert!(decode_document("%7").is_err());
    }

    #[test]
    fn placeholders_bind_from_the_deployed_document() {
        let g = json!({"p": {"Statement": [{"Resource": ["${DataKeyArn}", "arn:aws:ec2:r:1:subnet/${PrivateSubnet1}"]}]}});
        let d = json!({"p": {"Statement": [{"Resource": ["arn:aws:kms:r:1:key/k1", "arn:aws:ec2:r:1:subnet/subnet-1"]}]}});
        let b = bind_placeholders(&g, &d);
        assert_eq!(b["PrivateSubnet1"], "subnet-1");
        // `${DataKeyArn}` alone matches every deployed string: ambiguous, left unbound.
        assert!(!b.contains_key("DataKeyArn"));
        // Paired by Sid instead.
        let g = json!({"p": {"Statement": [{"Sid": "K", "Resource": ["${DataKeyArn}"]}]}});
        let d = json!({"q": {"Statement": [{"Sid": "K", "Resource": "arn:aws:kms:r:1:key/k1"}]}});
        assert_eq!(
            bind_placeholders(&g, &d)["DataKeyArn"],
            "arn:aws:kms:r:1:key/k1"
        );
    }
}
