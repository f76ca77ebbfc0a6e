//! `iam diff` reports for people: text for a terminal, and a Markdown table for a pull
//! request comment or a CI job summary. One row per change, role changes and every
//! other grant alike: class, kind of grant, what holds it, the change, the principal
//! (labelled: PUBLIC, OTHER ACCOUNT, service, ...), actions, resources, conditions, and
//! the spec line behind it.

use std::fmt::Write as _;

use super::access::diff::Change as AccessChange;
use super::access::{GrantKind, Who};
use super::diff::{Class, Kind, Side};
use super::{Cause, Report, Reported, at};

/// One row of a report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Row {
    pub class: Class,
    pub grant: &'static str,
    pub on: String,
    pub principal: String,
    pub who: Option<Who>,
    pub change: &'static str,
    pub actions: String,
    pub resources: String,
    pub conditions: String,
    pub spec: String,
}

fn cause_text(causes: &[Cause]) -> String {
    if causes.is_empty() {
        return "-".into();
    }
    causes
        .iter()
        .map(|c| {
            if c.path.is_empty() {
                format!("{} ({})", c.flow, c.at)
            } else {
                format!("{} ({}, {})", c.flow, c.at, c.path)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn role_row(c: &Reported) -> Row {
    let ch = &c.change;
    let (grant, principal) = match ch.kind {
        Kind::PrincipalAdded
        | Kind::PrincipalRemoved
        | Kind::TrustConditionRemoved
        | Kind::TrustConditionLoosened
        | Kind::TrustConditionAdded
        | Kind::TrustConditionTightened => (
            GrantKind::TrustPolicy,
            if matches!(ch.kind, Kind::PrincipalAdded | Kind::PrincipalRemoved) {
                ch.detail.clone()
            } else {
                "-".into()
            },
        ),
        Kind::BoundaryAdded | Kind::BoundaryRemoved | Kind::BoundaryChanged => {
            (GrantKind::PermissionsBoundary, format!("Role:{}", ch.role))
        }
        _ => (GrantKind::RolePolicy, format!("Role:{}", ch.role)),
    };
    let conditional = matches!(
        ch.kind,
        Kind::ConditionRemoved
            | Kind::ConditionLoosened
            | Kind::ConditionAdded
            | Kind::ConditionTightened
            | Kind::TrustConditionRemoved
            | Kind::TrustConditionLoosened
            | Kind::TrustConditionAdded
            | Kind::TrustConditionTightened
    );
    Row {
        class: ch.class,
        grant: grant.as_str(),
        on: ch.role.clone(),
        who: Some(if principal.starts_with("Role:") {
            Who::PipelineRole
        } else if principal.starts_with("Service:") {
            Who::Service
        } else {
            Who::OtherAccount
        })
        .filter(|_| principal != "-"),
        principal,
        change: ch.kind.as_str(),
        actions: if ch.actions.is_empty() {
            "-".into()
        } else {
            ch.actions.join(", ")
        },
        resources: if conditional {
            "-".into()
        } else {
            ch.detail.clone()
        },
        conditions: if conditional {
            ch.detail.clone()
        } else {
            "-".into()
        },
        spec: cause_text(&c.causes),
    }
}

fn access_row(r: &Report, c: &AccessChange) -> Row {
    let file = match c.side {
        Side::New => &r.new,
        Side::Base => &r.base,
    };
    let mut spec = format!("{} ({})", at(file, c.line), c.spec);
    if !c.flows.is_empty() {
        spec = format!("{} — {spec}", c.flows.join(", "));
    }
    let conditions = if c.detail.is_empty() {
        c.conditions.clone()
    } else {
        format!("{} ({})", c.conditions, c.detail)
    };
    Row {
        class: c.class,
        grant: c.grant.as_str(),
        on: c.on.clone(),
        principal: c.principal.clone(),
        who: Some(c.who),
        change: c.kind.as_str(),
        actions: if c.actions.is_empty() {
            "-".into()
        } else {
            c.actions.join(", ")
        },
        resources: c.resources.join(", "),
        conditions,
        spec,
    }
}

/// Every change of a report as rows, broadening first.
pub fn rows(r: &Report) -> Vec<Row> {
    let mut out: Vec<Row> = r.changes.iter().map(role_row).collect();
    out.extend(r.access.iter().map(|c| access_row(r, c)));
    out.sort();
    out
}

/// The principal's label: loud for anyone outside the account.
fn label(row: &Row, loud: &str) -> String {
    match row.who {
        Some(w @ (Who::Public | Who::OtherAccount)) => format!(" {loud}[{}]{loud}", w.as_str()),
        Some(w) => format!(" [{}]", w.as_str()),
        None => String::new(),
    }
}

fn summary(r: &Report) -> String {
    format!(
        "{} broadening, {} narrowing, {} neutral",
        r.count(Class::Broadening),
        r.count(Class::Narrowing),
        r.count(Class::Neutral)
    )
}

/// Text for people.
pub fn render_human(reports: &[Report]) -> String {
    let mut s = String::new();
    for r in reports {
        let _ = writeln!(s, "iam diff {}: {} → {}", r.environment, r.base, r.new);
        if let Some(n) = &r.not_compared {
            let _ = writeln!(
                s,
                "  WARNING: resource policies, API authorization and QuickSight permissions were not compared: {n}"
            );
        }
        if r.total() == 0 {
            let _ = writeln!(s, "  no change");
            continue;
        }
        for row in rows(r) {
            let who = format!("{}{}", row.principal, label(&row, ""));
            let _ = writeln!(
                s,
                "  {:<10} {} {}: {}\n      principal  {who}\n      actions    {}\n      resources  {}\n      conditions {}\n      spec       {}",
                row.class.as_str(),
                row.grant,
                row.on,
                row.change,
                row.actions,
                row.resources,
                row.conditions,
                row.spec
            );
        }
        let _ = writeln!(s, "  {}", summary(r));
    }
    s
}

fn md(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn code(text: &str) -> String {
    if text == "-" || text.is_empty() {
        "-".into()
    } else {
        format!("`{}`", md(text).replace('`', "'"))
    }
}

/// A table to paste into a pull request or a CI job summary.
pub fn render_markdown(reports: &[Report]) -> String {
    let mut s = String::new();
    for r in reports {
        let _ = writeln!(
            s,
            "### Access changes in `{}` ({} → {})\n",
            r.environment,
            md(&r.base),
            md(&r.new)
        );
        if let Some(n) = &r.not_compared {
            let _ = writeln!(
                s,
                "> **Warning:** resource policies, API authorization and QuickSight permissions were not compared: {}\n",
                md(n)
            );
        }
        if r.total() == 0 {
            let _ = writeln!(s, "No change.\n");
            continue;
        }
        let _ = writeln!(
            s,
            "**{} broadening**, {} narrowing, {} neutral.\n",
            r.count(Class::Broadening),
            r.count(Class::Narrowing),
            r.count(Class::Neutral)
        );
        let _ = writeln!(
            s,
            "| class | grant | change | principal | actions | resources | conditions | spec |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
        for row in rows(r) {
            let class = match row.class {
                Class::Broadening => "**broadening**",
                Class::Narrowing => "narrowing",
                Class::Neutral => "neutral",
            };
            let who = format!("{}{}", code(&row.principal), label(&row, "**"));
            let _ = writeln!(
                s,
                "| {class} | {} `{}` | {} | {who} | {} | {} | {} | {} |",
                row.grant,
                md(&row.on),
                row.change,
                code(&row.actions),
                code(&row.resources),
                code(&row.conditions),
                md(&row.spec)
            );
        }
        s.push('\n');
    }
    s
}
