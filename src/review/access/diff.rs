//! Semantic diff of two access models.
//!
//! Each entry is split into atoms (one action on one resource, for one principal, on
//! the resource holding the grant). An Allow atom of the new side that no atom of the
//! base covers broadens access; one of the base that nothing new covers narrows it (a
//! Deny counts the other way). Coverage is IAM's: wildcards in actions and ARNs,
//! conditions as constraints (fewer or looser ones cover more), and a principal is
//! covered by itself, by `*`, and by its account's root. Each uncovered atom is then
//! named by the closest atom on the other side: none on that resource (grant added or
//! removed), none for that principal (principal added or removed), none for that
//! action, the same resource (a condition changed), a covering resource (widened or
//! narrowed), or none (resource added or removed).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{Entry, GrantKind, Model, Who, who};
use crate::review::diff::{Class, Side};
use crate::review::norm::{Conditions, action_covers, conditions_cover, resource_covers};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    GrantAdded,
    GrantRemoved,
    PrincipalAdded,
    PrincipalRemoved,
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
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::GrantAdded => "grant added",
            Kind::GrantRemoved => "grant removed",
            Kind::PrincipalAdded => "principal added",
            Kind::PrincipalRemoved => "principal removed",
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
        }
    }
}

/// One change of the access model.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Change {
    pub class: Class,
    pub grant: GrantKind,
    /// The resource holding the grant.
    pub on: String,
    pub principal: String,
    pub who: Who,
    pub kind: Kind,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    /// The grant's conditions, as text (`-`: none).
    pub conditions: String,
    /// What changed, when the kind alone does not say (the conditions' or resources' delta).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// The side whose grant it is.
    pub side: Side,
    pub flows: Vec<String>,
    /// The dotted spec path behind it.
    pub spec: String,
    pub line: Option<usize>,
}

/// One action on one resource for one principal.
#[derive(Debug, Clone)]
struct Atom<'a> {
    e: &'a Entry,
    action: &'a str,
    resource: &'a str,
    conds: Conditions,
}

fn atoms<'a>(m: &'a Model, skip: &dyn Fn(GrantKind) -> bool) -> Vec<Atom<'a>> {
    let mut out = Vec::new();
    for e in m.entries.iter().filter(|e| !skip(e.grant)) {
        let conds = e.conds();
        for a in &e.actions {
            for r in &e.resources {
                out.push(Atom {
                    e,
                    action: a,
                    resource: r,
                    conds: conds.clone(),
                });
            }
        }
        if e.actions.is_empty() {
            for r in &e.resources {
                out.push(Atom {
                    e,
                    action: "",
                    resource: r,
                    conds: conds.clone(),
                });
            }
        }
    }
    out
}

/// The account of an `AWS:` principal.
fn account(p: &str) -> Option<&str> {
    p.strip_prefix("AWS:")?.split(':').nth(4)
}

/// Whether principal `wide` admits every request `narrow` can make.
pub fn principal_covers(wide: &str, narrow: &str) -> bool {
    if wide == narrow || wide == "*" {
        return true;
    }
    // An account's root delegates to the account's IAM principals.
    match (wide.strip_prefix("AWS:"), account(narrow)) {
        (Some(w), Some(acct)) => {
            let parts: Vec<&str> = w.split(':').collect();
            parts.len() == 6 && parts[2] == "iam" && parts[5] == "root" && parts[4] == acct
        }
        _ => false,
    }
}

fn same_place(a: &Atom<'_>, b: &Atom<'_>) -> bool {
    a.e.grant == b.e.grant && a.e.on == b.e.on && a.e.effect == b.e.effect
}

fn covers(a: &Atom<'_>, b: &Atom<'_>) -> bool {
    same_place(a, b)
        && principal_covers(&a.e.principal, &b.e.principal)
        && action_covers(a.action, b.action)
        && resource_covers(a.resource, b.resource)
        && conditions_cover(&a.conds, &b.conds)
}

pub fn conds_text(c: &Conditions) -> String {
    if c.is_empty() {
        return "-".into();
    }
    c.iter()
        .map(|((op, k), vs)| {
            let v: Vec<&str> = vs.iter().map(String::as_str).collect();
            format!("{op} {k} = {}", v.join("|"))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// What differs between two condition sets, read from `from` to `to`.
fn cond_delta(from: &Conditions, to: &Conditions) -> String {
    let mut parts = Vec::new();
    for (k, vs) in from {
        match to.get(k) {
            None => parts.push(format!("{} {} removed", k.0, k.1)),
            Some(ts) if ts != vs => {
                let v: Vec<&str> = ts.iter().map(String::as_str).collect();
                parts.push(format!("{} {} now {}", k.0, k.1, v.join("|")));
            }
            Some(_) => {}
        }
    }
    for (k, vs) in to {
        if !from.contains_key(k) {
            let v: Vec<&str> = vs.iter().map(String::as_str).collect();
            parts.push(format!("{} {} = {} added", k.0, k.1, v.join("|")));
        }
    }
    parts.join("; ")
}

/// Names an atom present on one side only; `growing`: it is on the new side.
fn classify(g: &Atom<'_>, other: &[Atom<'_>], growing: bool) -> (Kind, String) {
    let place: Vec<&Atom<'_>> = other.iter().filter(|o| same_place(o, g)).collect();
    if place.is_empty()
        && !other
            .iter()
            .any(|o| o.e.grant == g.e.grant && o.e.on == g.e.on)
    {
        return (
            if growing {
                Kind::GrantAdded
            } else {
                Kind::GrantRemoved
            },
            String::new(),
        );
    }
    let who: Vec<&&Atom<'_>> = place
        .iter()
        .filter(|o| principal_covers(&o.e.principal, &g.e.principal))
        .collect();
    if who.is_empty() {
        return (
            if growing {
                Kind::PrincipalAdded
            } else {
                Kind::PrincipalRemoved
            },
            String::new(),
        );
    }
    let acts: Vec<&&&Atom<'_>> = who
        .iter()
        .filter(|o| action_covers(o.action, g.action))
        .collect();
    if acts.is_empty() {
        return (
            if growing {
                Kind::ActionAdded
            } else {
                Kind::ActionRemoved
            },
            String::new(),
        );
    }
    if let Some(o) = acts.iter().find(|o| {
        resource_covers(o.resource, g.resource) && resource_covers(g.resource, o.resource)
    }) {
        let (from, to) = if growing {
            (&o.conds, &g.conds)
        } else {
            (&g.conds, &o.conds)
        };
        let removed = from.keys().any(|k| !to.contains_key(k));
        let added = to.keys().any(|k| !from.contains_key(k));
        let kind = match (growing, removed, added) {
            (true, true, _) => Kind::ConditionRemoved,
            (true, false, _) => Kind::ConditionLoosened,
            (false, _, true) => Kind::ConditionAdded,
            (false, _, false) => Kind::ConditionTightened,
        };
        return (kind, cond_delta(from, to));
    }
    let related: BTreeSet<&str> = acts
        .iter()
        .filter(|o| resource_covers(g.resource, o.resource))
        .map(|o| o.resource)
        .collect();
    if !related.is_empty() {
        let others = related.into_iter().collect::<Vec<_>>().join(", ");
        return if growing {
            (Kind::ResourceWidened, format!("was {others}"))
        } else {
            (Kind::ResourceNarrowed, format!("now {others}"))
        };
    }
    (
        if growing {
            Kind::ResourceAdded
        } else {
            Kind::ResourceRemoved
        },
        String::new(),
    )
}

fn change(a: &Atom<'_>, growing: bool, other: &[Atom<'_>], account: &str) -> Change {
    let (kind, detail) = classify(a, other, growing);
    let deny = a.e.effect == "Deny";
    let exists_other = other
        .iter()
        .any(|o| o.e.grant == a.e.grant && o.e.on == a.e.on);
    let (class, kind) = match (deny, growing) {
        // A usage plan meters the API key it admits; the access the key gives is the
        // method's `apikeyrequired` condition, compared on the method.
        _ if a.e.grant == GrantKind::UsagePlan => (Class::Neutral, kind),
        // A deny on a resource one side does not have changes nobody's access.
        (true, _) if !exists_other => (
            Class::Neutral,
            if growing {
                Kind::DenyAdded
            } else {
                Kind::DenyRemoved
            },
        ),
        (true, true) => (Class::Narrowing, Kind::DenyAdded),
        (true, false) => (Class::Broadening, Kind::DenyRemoved),
        (false, true) => (Class::Broadening, kind),
        (false, false) => (Class::Narrowing, kind),
    };
    Change {
        class,
        grant: a.e.grant,
        on: a.e.on.clone(),
        principal: a.e.principal.clone(),
        who: who(&a.e.principal, account),
        kind,
        actions: if a.action.is_empty() {
            Vec::new()
        } else {
            vec![a.action.to_owned()]
        },
        resources: vec![a.resource.to_owned()],
        conditions: conds_text(&a.conds),
        detail,
        side: if growing { Side::New } else { Side::Base },
        flows: a.e.flows.clone(),
        spec: a.e.spec.clone(),
        line: a.e.line,
    }
}

/// Joins changes that differ only in their actions or resources.
fn merge(changes: Vec<Change>) -> Vec<Change> {
    type Key = (
        Class,
        GrantKind,
        String,
        String,
        Kind,
        String,
        String,
        Side,
        String,
    );
    let mut by: BTreeMap<Key, Change> = BTreeMap::new();
    for c in changes {
        let key = (
            c.class,
            c.grant,
            c.on.clone(),
            c.principal.clone(),
            c.kind,
            c.conditions.clone(),
            c.detail.clone(),
            c.side,
            c.spec.clone(),
        );
        match by.get_mut(&key) {
            Some(o) => {
                o.actions.extend(c.actions);
                o.resources.extend(c.resources);
                o.flows.extend(c.flows);
                for v in [&mut o.actions, &mut o.resources, &mut o.flows] {
                    v.sort();
                    v.dedup();
                }
            }
            None => {
                by.insert(key, c);
            }
        }
    }
    by.into_values().collect()
}

/// Compares two models, leaving out the grant kinds `skip` names (those compared
/// elsewhere). `account` is the new side's account (for labelling principals).
pub fn diff(
    base: &Model,
    new: &Model,
    account: &str,
    skip: &dyn Fn(GrantKind) -> bool,
) -> Vec<Change> {
    let b = atoms(base, skip);
    let n = atoms(new, skip);
    let mut out = Vec::new();
    for a in &n {
        if !b.iter().any(|o| covers(o, a)) {
            out.push(change(a, true, &b, account));
        }
    }
    for a in &b {
        if !n.iter().any(|o| covers(o, a)) {
            out.push(change(a, false, &n, account));
        }
    }
    merge(out)
}

/// The grant kinds `review::diff` compares role by role (with names for the changes
/// inside a role's own policies).
pub fn role_kinds(g: GrantKind) -> bool {
    matches!(
        g,
        GrantKind::RolePolicy | GrantKind::TrustPolicy | GrantKind::PermissionsBoundary
    )
}
