//! Semantic diff of two sets of roles in normal form ([`super::norm`]).
//!
//! A grant of the new side that no grant of the base covers broadens access; a grant
//! of the base that nothing new covers narrows it. Each such grant is then named by
//! the closest grant on the other side: same action and resource (a condition
//! changed), a covered resource (widened or narrowed), the action alone (a resource
//! added or removed), or nothing (an action added or removed).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::norm::{Conditions, Grant, NormRole, action_covers, grant_covers, resource_covers};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    Broadening,
    Narrowing,
    Neutral,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Broadening => "broadening",
            Class::Narrowing => "narrowing",
            Class::Neutral => "neutral",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    RoleAdded,
    RoleRemoved,
    ActionAdded,
    ActionRemoved,
    ResourceAdded,
    ResourceRemoved,
    ResourceWidened,
    ResourceNarrowed,
    ConditionRemoved,
    ConditionLoosened,
    ConditionAdded,
    ConditionTightened,
    DenyAdded,
    DenyRemoved,
    PrincipalAdded,
    PrincipalRemoved,
    TrustConditionRemoved,
    TrustConditionLoosened,
    TrustConditionAdded,
    TrustConditionTightened,
    BoundaryRemoved,
    BoundaryAdded,
    BoundaryChanged,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::RoleAdded => "role added",
            Kind::RoleRemoved => "role removed",
            Kind::ActionAdded => "action added",
            Kind::ActionRemoved => "action removed",
            Kind::ResourceAdded => "resource added",
            Kind::ResourceRemoved => "resource removed",
            Kind::ResourceWidened => "resource widened",
            Kind::ResourceNarrowed => "resource narrowed",
            Kind::ConditionRemoved => "condition removed",
            Kind::ConditionLoosened => "condition loosened",
            Kind::ConditionAdded => "condition added",
            Kind::ConditionTightened => "condition tightened",
            Kind::DenyAdded => "deny added",
            Kind::DenyRemoved => "deny removed",
            Kind::PrincipalAdded => "trust principal added",
            Kind::PrincipalRemoved => "trust principal removed",
            Kind::TrustConditionRemoved => "trust condition removed",
            Kind::TrustConditionLoosened => "trust condition loosened",
            Kind::TrustConditionAdded => "trust condition added",
            Kind::TrustConditionTightened => "trust condition tightened",
            Kind::BoundaryRemoved => "boundary removed",
            Kind::BoundaryAdded => "boundary added",
            Kind::BoundaryChanged => "boundary changed",
        }
    }
}

/// Which side a change's evidence is on (for finding its cause).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    Base,
    New,
}

/// One change of one role.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Change {
    pub role: String,
    pub class: Class,
    pub kind: Kind,
    /// The actions concerned (lower-cased); empty for role-level changes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    pub detail: String,
    /// The side whose statements (Sids) caused it.
    pub side: Side,
    /// Statement ids on that side; empty for role-level changes (trust, boundary).
    pub sids: BTreeSet<String>,
}

fn conds_text(c: &Conditions) -> String {
    if c.is_empty() {
        return "no condition".into();
    }
    c.iter()
        .map(|((op, k), vs)| {
            let v: Vec<&str> = vs.iter().map(String::as_str).collect();
            format!("{op} {k} = {}", v.join("|"))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Differences between two condition sets, as (key text, loosened?) from `from` to `to`:
/// a key of `from` missing in `to`, or with more values in `to`, loosens.
fn cond_delta(from: &Conditions, to: &Conditions) -> (Vec<String>, Vec<String>) {
    let mut removed_or_loosened = Vec::new();
    let mut added_or_tightened = Vec::new();
    for (k, vs) in from {
        match to.get(k) {
            None => removed_or_loosened.push(format!("{} {} removed", k.0, k.1)),
            Some(ts) if !ts.is_subset(vs) => {
                let extra: Vec<&str> = ts.difference(vs).map(String::as_str).collect();
                removed_or_loosened.push(format!("{} {} now also {}", k.0, k.1, extra.join("|")));
            }
            Some(ts) if ts != vs => {
                let gone: Vec<&str> = vs.difference(ts).map(String::as_str).collect();
                added_or_tightened.push(format!("{} {} no longer {}", k.0, k.1, gone.join("|")));
            }
            Some(_) => {}
        }
    }
    for (k, vs) in to {
        if !from.contains_key(k) {
            let v: Vec<&str> = vs.iter().map(String::as_str).collect();
            added_or_tightened.push(format!("{} {} = {} added", k.0, k.1, v.join("|")));
        }
    }
    (removed_or_loosened, added_or_tightened)
}

/// Grants of `side` (with their Sids) that no grant of `other` covers.
fn uncovered<'a>(
    side: &'a BTreeMap<Grant, BTreeSet<String>>,
    other: &BTreeMap<Grant, BTreeSet<String>>,
    effect: &str,
) -> Vec<(&'a Grant, &'a BTreeSet<String>)> {
    side.iter()
        .filter(|(g, _)| g.effect == effect)
        .filter(|(g, _)| !other.keys().any(|o| grant_covers(o, g)))
        .collect()
}

/// Names a grant present on one side only. `growing`: it is on the new side (so the
/// change broadens); otherwise it is on the base side (narrows).
fn classify(
    role: &str,
    g: &Grant,
    sids: &BTreeSet<String>,
    other: &BTreeMap<Grant, BTreeSet<String>>,
    growing: bool,
) -> Change {
    let (class, side) = if growing {
        (Class::Broadening, Side::New)
    } else {
        (Class::Narrowing, Side::Base)
    };
    let same_action: Vec<&Grant> = other
        .keys()
        .filter(|o| o.effect == g.effect && action_covers(&o.action, &g.action))
        .collect();
    let mk = |kind: Kind, detail: String| Change {
        role: role.to_owned(),
        class,
        kind,
        actions: vec![g.action.clone()],
        detail,
        side,
        sids: sids.clone(),
    };
    if same_action.is_empty() {
        let kind = if growing {
            Kind::ActionAdded
        } else {
            Kind::ActionRemoved
        };
        let when = if g.conditions.is_empty() {
            String::new()
        } else {
            format!(" when {}", conds_text(&g.conditions))
        };
        return mk(kind, format!("on {}{when}", g.resource));
    }
    // Same resource: only the conditions differ.
    if let Some(o) = same_action.iter().find(|o| {
        resource_covers(&o.resource, &g.resource) && resource_covers(&g.resource, &o.resource)
    }) {
        let (from, to) = if growing {
            (&o.conditions, &g.conditions)
        } else {
            (&g.conditions, &o.conditions)
        };
        let (loosened, tightened) = cond_delta(from, to);
        let removed = from.keys().any(|k| !to.contains_key(k));
        let kind = match (growing, removed) {
            (true, true) => Kind::ConditionRemoved,
            (true, false) => Kind::ConditionLoosened,
            (false, _) if to.keys().any(|k| !from.contains_key(k)) => Kind::ConditionAdded,
            (false, _) => Kind::ConditionTightened,
        };
        let mut parts = if growing { loosened } else { tightened };
        if parts.is_empty() {
            parts.push(format!("{} → {}", conds_text(from), conds_text(to)));
        }
        return mk(kind, format!("on {}: {}", g.resource, parts.join("; ")));
    }
    // Resources of the other side that this grant covers: widened (new) or narrowed (base).
    let related: BTreeSet<&str> = same_action
        .iter()
        // Either way the grant present on one side only is the wider one.
        .filter(|o| resource_covers(&g.resource, &o.resource))
        .map(|o| o.resource.as_str())
        .collect();
    if !related.is_empty() {
        let others = related.into_iter().collect::<Vec<_>>().join(", ");
        let (kind, detail) = if growing {
            (Kind::ResourceWidened, format!("{others} → {}", g.resource))
        } else {
            (Kind::ResourceNarrowed, format!("{} → {others}", g.resource))
        };
        return mk(kind, detail);
    }
    let kind = if growing {
        Kind::ResourceAdded
    } else {
        Kind::ResourceRemoved
    };
    mk(kind, g.resource.clone())
}

fn role_level(role: &str, class: Class, kind: Kind, detail: String, side: Side) -> Change {
    Change {
        role: role.to_owned(),
        class,
        kind,
        actions: Vec::new(),
        detail,
        side,
        sids: BTreeSet::new(),
    }
}

/// Compares one role.
pub fn diff_role(base: &NormRole, new: &NormRole) -> Vec<Change> {
    let role = new.name.as_str();
    let mut out = Vec::new();
    for (g, sids) in uncovered(&new.grants, &base.grants, "Allow") {
        out.push(classify(role, g, sids, &base.grants, true));
    }
    for (g, sids) in uncovered(&base.grants, &new.grants, "Allow") {
        out.push(classify(role, g, sids, &new.grants, false));
    }
    for (g, sids) in uncovered(&new.grants, &base.grants, "Deny") {
        let mut c = classify(role, g, sids, &base.grants, true);
        c.class = Class::Narrowing;
        c.kind = Kind::DenyAdded;
        out.push(c);
    }
    for (g, sids) in uncovered(&base.grants, &new.grants, "Deny") {
        let mut c = classify(role, g, sids, &new.grants, false);
        c.class = Class::Broadening;
        c.kind = Kind::DenyRemoved;
        out.push(c);
    }
    for p in new.principals.difference(&base.principals) {
        out.push(role_level(
            role,
            Class::Broadening,
            Kind::PrincipalAdded,
            p.clone(),
            Side::New,
        ));
    }
    for p in base.principals.difference(&new.principals) {
        out.push(role_level(
            role,
            Class::Narrowing,
            Kind::PrincipalRemoved,
            p.clone(),
            Side::Base,
        ));
    }
    if base.trust_conditions != new.trust_conditions {
        let (loosened, tightened) = cond_delta(&base.trust_conditions, &new.trust_conditions);
        let removed = base
            .trust_conditions
            .keys()
            .any(|k| !new.trust_conditions.contains_key(k));
        if !loosened.is_empty() {
            let kind = if removed {
                Kind::TrustConditionRemoved
            } else {
                Kind::TrustConditionLoosened
            };
            out.push(role_level(
                role,
                Class::Broadening,
                kind,
                loosened.join("; "),
                Side::New,
            ));
        }
        if !tightened.is_empty() {
            let added = new
                .trust_conditions
                .keys()
                .any(|k| !base.trust_conditions.contains_key(k));
            let kind = if added {
                Kind::TrustConditionAdded
            } else {
                Kind::TrustConditionTightened
            };
            out.push(role_level(
                role,
                Class::Narrowing,
                kind,
                tightened.join("; "),
                Side::New,
            ));
        }
    }
    match (&base.boundary, &new.boundary) {
        (Some(b), None) => out.push(role_level(
            role,
            Class::Broadening,
            Kind::BoundaryRemoved,
            format!("was {b}"),
            Side::New,
        )),
        (None, Some(n)) => out.push(role_level(
            role,
            Class::Narrowing,
            Kind::BoundaryAdded,
            n.clone(),
            Side::New,
        )),
        (Some(b), Some(n)) if b != n => out.push(role_level(
            role,
            Class::Neutral,
            Kind::BoundaryChanged,
            format!("{b} → {n} (the boundaries' contents are not compared: review them)"),
            Side::New,
        )),
        _ => {}
    }
    merge(out)
}

/// Joins changes that differ only in their action (`s3:putobject` and
/// `s3:abortmultipartupload` on the same new prefix are one change).
fn merge(mut changes: Vec<Change>) -> Vec<Change> {
    changes.sort();
    let mut out: Vec<Change> = Vec::new();
    for c in changes {
        match out.iter_mut().find(|o| {
            o.role == c.role
                && o.class == c.class
                && o.kind == c.kind
                && o.detail == c.detail
                && o.side == c.side
                && o.sids == c.sids
        }) {
            Some(o) => {
                o.actions.extend(c.actions);
                o.actions.sort();
                o.actions.dedup();
            }
            None => out.push(c),
        }
    }
    out.sort();
    out
}

fn summary(r: &NormRole) -> String {
    let actions: BTreeSet<&str> = r.grants.keys().map(|g| g.action.as_str()).collect();
    let resources: BTreeSet<&str> = r.grants.keys().map(|g| g.resource.as_str()).collect();
    format!(
        "{} action(s) on {} resource(s), assumed by {}",
        actions.len(),
        resources.len(),
        r.principals.iter().cloned().collect::<Vec<_>>().join(", ")
    )
}

/// Compares two sets of roles keyed by role name.
pub fn diff(base: &BTreeMap<String, NormRole>, new: &BTreeMap<String, NormRole>) -> Vec<Change> {
    let mut out = Vec::new();
    for (name, n) in new {
        match base.get(name) {
            Some(b) => out.extend(diff_role(b, n)),
            None => {
                let mut c = role_level(
                    name,
                    Class::Broadening,
                    Kind::RoleAdded,
                    summary(n),
                    Side::New,
                );
                c.sids = n.grants.values().flatten().cloned().collect();
                out.push(c);
            }
        }
    }
    for (name, b) in base {
        if !new.contains_key(name) {
            let mut c = role_level(
                name,
                Class::Narrowing,
                Kind::RoleRemoved,
                summary(b),
                Side::Base,
            );
            c.sids = b.grants.values().flatten().cloned().collect();
            out.push(c);
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::norm::role;
    use serde_json::{Value, json};

    fn doc(statements: Value) -> Value {
        json!({
            "Role": "r",
            "PermissionsBoundary": "arn:aws:iam::1:policy/b",
            "TrustPolicy": {"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "Policies": {"r-1": {"Version": "2012-10-17", "Statement": statements}}
        })
    }

    fn st(sid: &str, actions: &[&str], resources: &[&str]) -> Value {
        json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources})
    }

    fn run(base: Value, new: Value) -> Vec<Change> {
        diff_role(&role(&base, "base").unwrap(), &role(&new, "new").unwrap())
    }

    fn kinds(c: &[Change]) -> Vec<(Class, Kind)> {
        c.iter().map(|c| (c.class, c.kind)).collect()
    }

    const PUT: &[&str] = &["s3:PutObject"];
    const POS: &str = "arn:aws:s3:::b/raw/pos/*";

    #[test]
    fn identical_and_reordered_policies_have_no_change() {
        let a = doc(json!([
            st("A", PUT, &[POS]),
            st("B", &["s3:GetObject"], &[POS])
        ]));
        let b = doc(json!([
            st("X", &["s3:getobject"], &[POS]),
            st("Y", &["S3:PutObject", "s3:PutObject"], &[POS])
        ]));
        assert!(run(a, b).is_empty());
    }

    #[test]
    fn an_added_action_broadens_and_names_its_statement() {
        let c = run(
            doc(json!([st("A", PUT, &[POS])])),
            doc(json!([st(
                "A",
                &["s3:PutObject", "s3:DeleteObject"],
                &[POS]
            )])),
        );
        assert_eq!(kinds(&c), [(Class::Broadening, Kind::ActionAdded)]);
        assert_eq!(c[0].actions, ["s3:deleteobject"]);
        assert_eq!(c[0].side, Side::New);
        assert!(c[0].sids.contains("A"));
    }

    #[test]
    fn a_removed_action_narrows() {
        let c = run(
            doc(json!([st(
                "A",
                &["s3:PutObject", "s3:DeleteObject"],
                &[POS]
            )])),
            doc(json!([st("A", PUT, &[POS])])),
        );
        assert_eq!(kinds(&c), [(Class::Narrowing, Kind::ActionRemoved)]);
        assert_eq!(c[0].side, Side::Base);
    }

    #[test]
    fn a_broader_prefix_or_a_wildcard_widens() {
        let c = run(
            doc(json!([st("A", PUT, &[POS])])),
            doc(json!([st("A", PUT, &["arn:aws:s3:::b/raw/*"])])),
        );
        assert_eq!(kinds(&c), [(Class::Broadening, Kind::ResourceWidened)]);
        assert_eq!(
            c[0].detail,
            "arn:aws:s3:::b/raw/pos/* → arn:aws:s3:::b/raw/*"
        );
        let c = run(
            doc(json!([st("A", PUT, &[POS])])),
            doc(json!([st("A", PUT, &["*"])])),
        );
        assert_eq!(kinds(&c), [(Class::Broadening, Kind::ResourceWidened)]);
    }

    #[test]
    fn a_narrower_prefix_narrows() {
        let c = run(
            doc(json!([st("A", PUT, &["arn:aws:s3:::b/raw/*"])])),
            doc(json!([st("A", PUT, &[POS])])),
        );
        assert_eq!(kinds(&c), [(Class::Narrowing, Kind::ResourceNarrowed)]);
    }

    #[test]
    fn resources_added_and_removed() {
        let other = "arn:aws:s3:::b/raw/ferry/*";
        let c = run(
            doc(json!([st("A", PUT, &[POS])])),
            doc(json!([st("A", PUT, &[POS, other])])),
        );
        assert_eq!(kinds(&c), [(Class::Broadening, Kind::ResourceAdded)]);
        let c = run(
            doc(json!([st("A", PUT, &[POS, other])])),
            doc(json!([st("A", PUT, &[POS])])),
        );
        assert_eq!(kinds(&c), [(Class::Narrowing, Kind::ResourceRemoved)]);
    }

    #[test]
    fn conditions_removed_loosened_added_tightened() {
        let with = |vals: Value| {
            doc(
                json!([{"Sid": "K", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "k",
                "Condition": {"StringEquals": {"kms:ViaService": vals}}}]),
            )
        };
        let without = doc(json!([st("K", &["kms:Decrypt"], &["k"])]));
        let c = run(with(json!("s3.x")), without.clone());
        assert_eq!(kinds(&c), [(Class::Broadening, Kind::ConditionRemoved)]);
        let c = run(with(json!("s3.x")), with(json!(["s3.x", "sqs.x"])));
        assert_eq!(kinds(&c), [(Class::Broadening, Kind::ConditionLoosened)]);
        assert!(c[0].detail.contains("sqs.x"), "{}", c[0].detail);
        let c = run(without, with(json!("s3.x")));
        assert_eq!(kinds(&c), [(Class::Narrowing, Kind::ConditionAdded)]);
        let c = run(with(json!(["s3.x", "sqs.x"])), with(json!("s3.x")));
        assert_eq!(kinds(&c), [(Class::Narrowing, Kind::ConditionTightened)]);
    }

    #[test]
    fn trust_principals_and_conditions() {
        let base = doc(json!([]));
        let mut new = base.clone();
        new["TrustPolicy"]["Statement"][0]["Principal"]["AWS"] = json!("arn:aws:iam::9:root");
        let c = run(base.clone(), new);
        assert_eq!(kinds(&c), [(Class::Broadening, Kind::PrincipalAdded)]);
        assert_eq!(c[0].detail, "AWS:arn:aws:iam::9:root");
        let mut with = base.clone();
        with["TrustPolicy"]["Statement"][0]["Condition"] =
            json!({"StringEquals": {"aws:SourceAccount": "1"}});
        let c = run(with.clone(), base.clone());
        assert_eq!(
            kinds(&c),
            [(Class::Broadening, Kind::TrustConditionRemoved)]
        );
        let c = run(base, with);
        assert_eq!(kinds(&c), [(Class::Narrowing, Kind::TrustConditionAdded)]);
    }

    #[test]
    fn boundary_removed_added_changed() {
        let base = doc(json!([]));
        let mut none = base.clone();
        none.as_object_mut().unwrap().remove("PermissionsBoundary");
        let mut other = base.clone();
        other["PermissionsBoundary"] = json!("arn:aws:iam::1:policy/other");
        assert_eq!(
            kinds(&run(base.clone(), none.clone())),
            [(Class::Broadening, Kind::BoundaryRemoved)]
        );
        assert_eq!(
            kinds(&run(none, base.clone())),
            [(Class::Narrowing, Kind::BoundaryAdded)]
        );
        assert_eq!(
            kinds(&run(base, other)),
            [(Class::Neutral, Kind::BoundaryChanged)]
        );
    }

    #[test]
    fn deny_statements_count_the_other_way() {
        let deny = json!({"Sid": "D", "Effect": "Deny", "Action": "s3:*", "Resource": "*"});
        let c = run(doc(json!([deny.clone()])), doc(json!([])));
        assert_eq!(kinds(&c), [(Class::Broadening, Kind::DenyRemoved)]);
        let c = run(doc(json!([])), doc(json!([deny])));
        assert_eq!(kinds(&c), [(Class::Narrowing, Kind::DenyAdded)]);
    }

    #[test]
    fn roles_added_and_removed() {
        let r = role(&doc(json!([st("A", PUT, &[POS])])), "x").unwrap();
        let base = BTreeMap::new();
        let new = BTreeMap::from([("r".to_owned(), r)]);
        let c = diff(&base, &new);
        assert_eq!(kinds(&c), [(Class::Broadening, Kind::RoleAdded)]);
        let c = diff(&new, &base);
        assert_eq!(kinds(&c), [(Class::Narrowing, Kind::RoleRemoved)]);
    }
}
