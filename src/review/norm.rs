//! Normal form of a role's IAM for semantic comparison.
//!
//! A role file (`policies/<env>/<role>.json`, or the same document built in memory)
//! becomes a set of *grants*: one per (effect, action, resource, conditions), with
//! actions lower-cased, every list de-duplicated and sorted, and conditions as a
//! sorted map of (operator, key) → value set. Statement order, Sids, the split into
//! managed policies and repeated entries therefore do not matter.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// Canonical conditions: (operator, key with lower-cased name) → values.
pub type Conditions = BTreeMap<(String, String), BTreeSet<String>>;

/// One permission: an effect on an action pattern over a resource pattern.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Grant {
    pub effect: String,
    pub action: String,
    pub resource: String,
    pub conditions: Conditions,
}

/// A role in normal form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NormRole {
    pub name: String,
    pub boundary: Option<String>,
    /// Trust principals as `Service:lambda.amazonaws.com`, `AWS:arn:...`, `Federated:...`.
    pub principals: BTreeSet<String>,
    /// Conditions of the trust policy (all statements together).
    pub trust_conditions: Conditions,
    /// Every grant, with the Sids of the statements that give it.
    pub grants: BTreeMap<Grant, BTreeSet<String>>,
}

/// Why a role file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn strings(v: &Value, what: &str) -> Result<Vec<String>, Malformed> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(a) => a
            .iter()
            .map(|x| match x {
                Value::String(s) => Ok(s.clone()),
                Value::Bool(b) => Ok(b.to_string()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(Malformed(format!("{what}: expected strings, found {x}"))),
            })
            .collect(),
        Value::Bool(b) => Ok(vec![b.to_string()]),
        Value::Number(n) => Ok(vec![n.to_string()]),
        _ => Err(Malformed(format!(
            "{what}: expected a string or a list, found {v}"
        ))),
    }
}

/// Canonical form of a `Condition` block. Operators keep their case (IAM's are
/// case-sensitive); condition key names are case-insensitive, so they are lower-cased.
pub fn conditions(v: Option<&Value>, what: &str) -> Result<Conditions, Malformed> {
    let mut out = Conditions::new();
    let Some(v) = v else { return Ok(out) };
    let ops = v
        .as_object()
        .ok_or_else(|| Malformed(format!("{what}: Condition must be an object")))?;
    for (op, keys) in ops {
        let keys = keys
            .as_object()
            .ok_or_else(|| Malformed(format!("{what}: Condition.{op} must be an object")))?;
        for (k, vals) in keys {
            let set = out.entry((op.clone(), k.to_ascii_lowercase())).or_default();
            set.extend(strings(vals, &format!("{what}: Condition.{op}.{k}"))?);
        }
    }
    Ok(out)
}

fn statements(doc: &Value, what: &str) -> Result<Vec<Value>, Malformed> {
    match doc.get("Statement") {
        Some(Value::Array(a)) => Ok(a.clone()),
        Some(o @ Value::Object(_)) => Ok(vec![o.clone()]),
        _ => Err(Malformed(format!("{what}: no Statement list"))),
    }
}

/// Reads a role file's JSON (as `synth` writes it) into normal form. `what` names the
/// file in errors.
pub fn role(v: &Value, what: &str) -> Result<NormRole, Malformed> {
    let obj = v
        .as_object()
        .ok_or_else(|| Malformed(format!("{what}: expected a JSON object")))?;
    let name = obj
        .get("Role")
        .and_then(Value::as_str)
        .ok_or_else(|| Malformed(format!("{what}: missing \"Role\" (a string)")))?
        .to_owned();
    let boundary = match obj.get("PermissionsBoundary") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(Malformed(format!(
                "{what}: \"PermissionsBoundary\" must be a string"
            )));
        }
    };
    let mut out = NormRole {
        name,
        boundary,
        ..NormRole::default()
    };
    if let Some(trust) = obj.get("TrustPolicy") {
        for (i, st) in statements(trust, &format!("{what}: TrustPolicy"))?
            .iter()
            .enumerate()
        {
            let w = format!("{what}: TrustPolicy statement {}", i + 1);
            if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
                continue;
            }
            match st.get("Principal") {
                Some(Value::Object(p)) => {
                    for (kind, ids) in p {
                        for id in strings(ids, &w)? {
                            out.principals.insert(format!("{kind}:{id}"));
                        }
                    }
                }
                Some(Value::String(s)) => {
                    out.principals.insert(format!("AWS:{s}"));
                }
                _ => return Err(Malformed(format!("{w}: no Principal"))),
            }
            for (k, vs) in conditions(st.get("Condition"), &w)? {
                out.trust_conditions.entry(k).or_default().extend(vs);
            }
        }
    } else {
        return Err(Malformed(format!("{what}: missing \"TrustPolicy\"")));
    }
    let policies = obj
        .get("Policies")
        .and_then(Value::as_object)
        .ok_or_else(|| Malformed(format!("{what}: missing \"Policies\" (an object)")))?;
    for (pname, doc) in policies {
        for (i, st) in statements(doc, &format!("{what}: {pname}"))?
            .iter()
            .enumerate()
        {
            let w = format!("{what}: {pname} statement {}", i + 1);
            for bad in ["NotAction", "NotResource", "NotPrincipal"] {
                if st.get(bad).is_some() {
                    return Err(Malformed(format!(
                        "{w}: `{bad}` is not supported by iam diff"
                    )));
                }
            }
            let effect = st
                .get("Effect")
                .and_then(Value::as_str)
                .filter(|e| *e == "Allow" || *e == "Deny")
                .ok_or_else(|| Malformed(format!("{w}: Effect must be Allow or Deny")))?;
            let actions = strings(
                st.get("Action")
                    .ok_or_else(|| Malformed(format!("{w}: no Action")))?,
                &w,
            )?;
            let resources = strings(
                st.get("Resource")
                    .ok_or_else(|| Malformed(format!("{w}: no Resource")))?,
                &w,
            )?;
            let cond = conditions(st.get("Condition"), &w)?;
            let sid = st
                .get("Sid")
                .and_then(Value::as_str)
                .map_or_else(|| format!("{pname}#{}", i + 1), str::to_owned);
            for a in &actions {
                for r in &resources {
                    out.grants
                        .entry(Grant {
                            effect: effect.to_owned(),
                            action: a.to_ascii_lowercase(),
                            resource: r.clone(),
                            conditions: cond.clone(),
                        })
                        .or_default()
                        .insert(sid.clone());
                }
            }
        }
    }
    Ok(out)
}

/// IAM-style wildcard match: `*` any run of characters, `?` one character.
/// `literal` may itself contain wildcards; a `?` in the pattern never matches a
/// `*` of the literal, so `covers(p, q)` (every string `q` matches, `p` matches) is
/// approximated soundly for the patterns IAM policies use.
pub fn glob(pattern: &str, literal: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = literal.chars().collect();
    // Iterative matcher with one backtrack point (linear for one `*`, quadratic worst).
    let (mut pi, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, si));
            pi += 1;
        } else if pi < p.len() && (p[pi] == s[si] || (p[pi] == '?' && s[si] != '*')) {
            pi += 1;
            si += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Whether resource pattern `wide` covers every resource `narrow` matches. ARNs are
/// compared segment by segment, as IAM does (a wildcard does not cross the colons
/// before the resource part); anything else (a `${Placeholder}`) textually.
pub fn resource_covers(wide: &str, narrow: &str) -> bool {
    if wide == "*" || wide == narrow {
        return true;
    }
    let ws: Vec<&str> = wide.splitn(6, ':').collect();
    let ns: Vec<&str> = narrow.splitn(6, ':').collect();
    if ws[0] == "arn" && ns[0] == "arn" {
        ws.len() == ns.len() && ws.iter().zip(&ns).all(|(w, n)| glob(w, n))
    } else {
        glob(wide, narrow)
    }
}

/// Whether action pattern `wide` (lower-cased) covers `narrow`.
pub fn action_covers(wide: &str, narrow: &str) -> bool {
    glob(wide, narrow)
}

/// Whether conditions `loose` are implied by `strict`: each constraint of `loose`
/// is in `strict` with no more values allowed.
pub fn conditions_cover(loose: &Conditions, strict: &Conditions) -> bool {
    loose
        .iter()
        .all(|(k, vs)| strict.get(k).is_some_and(|ss| ss.is_subset(vs)))
}

/// Whether grant `a` allows (or denies) everything `b` does.
pub fn grant_covers(a: &Grant, b: &Grant) -> bool {
    a.effect == b.effect
        && action_covers(&a.action, &b.action)
        && resource_covers(&a.resource, &b.resource)
        && conditions_cover(&a.conditions, &b.conditions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn glob_matches_iam_wildcards() {
        assert!(glob("raw/*", "raw/pos/x"));
        assert!(glob("raw/*", "raw/"));
        assert!(!glob("raw/*", "rawx/"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "a*c"), "? does not cover *");
        assert!(glob("a*", "a*b"));
        assert!(glob("*", ""));
        assert!(!glob("ab", "abc"));
    }

    #[test]
    fn arn_wildcards_stay_in_their_segment() {
        assert!(resource_covers(
            "arn:aws:s3:::b/raw/*",
            "arn:aws:s3:::b/raw/pos/*"
        ));
        assert!(!resource_covers(
            "arn:aws:s3:::b/raw/pos/*",
            "arn:aws:s3:::b/raw/*"
        ));
        assert!(resource_covers(
            "arn:aws:logs:*:1:log-group:x",
            "arn:aws:logs:eu-west-2:1:log-group:x"
        ));
        assert!(!resource_covers(
            "arn:aws:logs:eu-*",
            "arn:aws:logs:eu-west-2:1:log-group:x"
        ));
        assert!(resource_covers("*", "${DataKeyArn}"));
    }

    #[test]
    fn statement_order_splitting_and_case_do_not_matter() {
        let a = json!({"Role": "r", "TrustPolicy": {"Statement": []}, "Policies": {"p-1": {"Statement": [
            {"Sid": "A", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": ["arn:aws:s3:::b/x/*"]},
            {"Sid": "B", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "k",
             "Condition": {"StringEquals": {"kms:ViaService": ["s3.x", "s3.x"]}}}
        ]}}});
        let b = json!({"Role": "r", "TrustPolicy": {"Statement": []}, "Policies": {
        "p-1": {"Statement": [{"Sid": "B2", "Effect": "Allow", "Action": ["KMS:decrypt"], "Resource": ["k"],
         "Condition": {"StringEquals": {"KMS:ViaService": "s3.x"}}}]},
        "p-2": {"Statement": [
            {"Sid": "A1", "Effect": "Allow", "Action": "s3:getobject", "Resource": "arn:aws:s3:::b/x/*"},
            {"Sid": "A2", "Effect": "Allow", "Action": ["s3:PutObject", "s3:PutObject"], "Resource": "arn:aws:s3:::b/x/*"}
        ]}}});
        let ra = role(&a, "a").unwrap();
        let rb = role(&b, "b").unwrap();
        let ka: Vec<_> = ra.grants.keys().collect();
        let kb: Vec<_> = rb.grants.keys().collect();
        assert_eq!(ka, kb);
        assert_eq!(ra.grants.len(), 3);
    }

    #[test]
    fn malformed_files_say_where() {
        let e = role(
            &json!({"Role": "r", "TrustPolicy": {"Statement": []}}),
            "f.json",
        )
        .unwrap_err();
        assert!(e.0.contains("f.json") && e.0.contains("Policies"), "{e}");
        let e = role(
            &json!({"Role": "r", "TrustPolicy": {"Statement": []}, "Policies": {"p": {"Statement": [
                {"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}]}}}),
            "f.json",
        )
        .unwrap_err();
        assert!(e.0.contains("NotAction"), "{e}");
    }
}
