//! Resource-policy cases: who besides the pipeline's roles a bucket or key policy
//! admits. Each principal the spec names outside the pipeline (`security.readers`) may
//! read its prefixes and decrypt through S3 (allowed), and nothing else (a prefix the
//! spec does not give it is denied); for every bucket and key policy, a principal of
//! another account (whose own account allows it everything), another role of the
//! pipeline's account (with no identity policy: the resource policy alone must not admit
//! it) and an anonymous caller are denied. Written from the plan's flows and AWS's
//! cross-account rules, never from `emit`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::ctx::{Ctx, SAMPLE};
use super::{Case, Expect, NamedPolicy, RoleCases};
use crate::plan::{Access, Principal};

/// The name of the cases' group of outside callers (no allowed case: it only proves
/// denials).
pub const OUTSIDERS: &str = "outsiders of every bucket and key policy";

/// The principal check.js turns into iam-simulate's anonymous request.
pub const ANONYMOUS: &str = "anonymous";

fn other_account(account: &str) -> &'static str {
    if account == "999999999999" {
        "888888888888"
    } else {
        "999999999999"
    }
}

/// An outside principal's own account allows it what it asks of the pipeline: the
/// resource policies alone decide.
fn allow_all() -> NamedPolicy {
    NamedPolicy {
        name: "assumed: the caller's own account allows these actions on *".into(),
        policy: json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket", "kms:Decrypt"],
            "Resource": "*",
        }]}),
    }
}

/// One request on a bucket or key, its policy being the resource policy.
struct Req {
    action: &'static str,
    resource: String,
    policy: String,
    context: BTreeMap<String, String>,
}

fn account_of(arn: &str) -> String {
    arn.split(':').nth(4).unwrap_or_default().to_owned()
}

fn case(cx: &Ctx, expect: Expect, flow: &str, kind: &str, who: Option<&str>, r: &Req) -> Case {
    let mut context = r.context.clone();
    context.insert("aws:SecureTransport".into(), "true".into());
    if let Some(p) = who.filter(|p| *p != ANONYMOUS) {
        context.insert("aws:PrincipalArn".into(), p.to_owned());
        context.insert("aws:PrincipalAccount".into(), account_of(p));
        if r.action.starts_with("kms:") {
            context.insert("kms:CallerAccount".into(), account_of(p));
        }
    }
    Case {
        expect,
        flow: flow.to_owned(),
        kind: kind.to_owned(),
        action: r.action.to_owned(),
        resource: r.resource.clone(),
        resource_account: cx.plan.account.clone(),
        context,
        resource_policy: Some(r.policy.clone()),
        principal: None,
        own_policies: false,
    }
}

/// The requests a reader makes of one prefix: get an object, list the prefix, decrypt
/// through S3.
fn reads(cx: &Ctx, bucket: &str, prefix: &str) -> Vec<Req> {
    let key = cx.bindings["DataKeyArn"].clone();
    let via = crate::aws::via_service("s3", &cx.plan.region);
    vec![
        Req {
            action: "s3:GetObject",
            resource: format!("{bucket}/{prefix}{SAMPLE}"),
            policy: bucket.to_owned(),
            context: BTreeMap::new(),
        },
        Req {
            action: "s3:ListBucket",
            resource: bucket.to_owned(),
            policy: bucket.to_owned(),
            context: BTreeMap::from([("s3:prefix".to_owned(), prefix.to_owned())]),
        },
        Req {
            action: "kms:Decrypt",
            resource: key.clone(),
            policy: key,
            context: BTreeMap::from([("kms:ViaService".to_owned(), via)]),
        },
    ]
}

/// Denied cases of the three kinds of outsider for one request.
fn outsiders(cx: &Ctx, flow: &str, r: &Req, out: &mut BTreeSet<Case>) {
    let (p, acct) = (cx.plan.partition, &cx.plan.account);
    let other = format!("arn:{p}:iam::{}:role/intruder", other_account(acct));
    let mut c = case(
        cx,
        Expect::Denied,
        flow,
        "a principal of another account",
        Some(&other),
        r,
    );
    c.principal = Some(other);
    c.own_policies = true;
    out.insert(c);
    let sibling = format!("arn:{p}:iam::{acct}:role/another-role-of-the-account");
    let mut c = case(
        cx,
        Expect::Denied,
        flow,
        "another role of the account, by the resource policy alone",
        Some(&sibling),
        r,
    );
    c.principal = Some(sibling);
    out.insert(c);
    let mut c = case(
        cx,
        Expect::Denied,
        flow,
        "an anonymous caller",
        Some(ANONYMOUS),
        r,
    );
    c.principal = Some(ANONYMOUS.to_owned());
    out.insert(c);
}

/// Each outside reader's cases, and the outsiders' cases of every bucket and key policy
/// in `policies` (by ARN).
pub(super) fn cases(cx: &Ctx, policies: &BTreeMap<String, Value>) -> Vec<RoleCases> {
    let plan = cx.plan;
    let mut by_reader: BTreeMap<&str, BTreeSet<Case>> = BTreeMap::new();
    for f in &plan.flows {
        let (Principal::External(who), Access::ReadObjects { bucket, prefix }) =
            (&f.principal, &f.access)
        else {
            continue;
        };
        let arn = cx.bucket_arn(*bucket);
        let cases = by_reader.entry(who).or_default();
        for r in reads(cx, &arn, prefix) {
            cases.insert(case(cx, Expect::Allowed, &f.id, "need", Some(who), &r));
            outsiders(cx, &f.id, &r, cases);
        }
        // The same reader on a prefix the spec does not give it.
        let other = Req {
            action: "s3:GetObject",
            resource: format!("{arn}/not-granted/{SAMPLE}"),
            policy: arn.clone(),
            context: BTreeMap::new(),
        };
        cases.insert(case(
            cx,
            Expect::Denied,
            &f.id,
            "a prefix the spec does not name",
            Some(who),
            &other,
        ));
    }
    let mut out: Vec<RoleCases> = by_reader
        .into_iter()
        .map(|(who, cases)| RoleCases {
            role: format!("reader {who}"),
            principal: who.to_owned(),
            identity_policies: vec![allow_all()],
            actions_granted: 3,
            cases: cases.into_iter().collect(),
        })
        .collect();
    let mut cases = BTreeSet::new();
    for arn in policies.keys() {
        let r = if arn.contains(":s3:::") {
            Req {
                action: "s3:GetObject",
                resource: format!("{arn}/{SAMPLE}"),
                policy: arn.clone(),
                context: BTreeMap::new(),
            }
        } else if arn.contains(":kms:") {
            // Through S3, the way an outside reader decrypts.
            let region = arn.split(':').nth(3).unwrap_or(&cx.plan.region);
            Req {
                action: "kms:Decrypt",
                resource: arn.clone(),
                policy: arn.clone(),
                context: BTreeMap::from([(
                    "kms:ViaService".to_owned(),
                    crate::aws::via_service("s3", region),
                )]),
            }
        } else {
            continue;
        };
        outsiders(cx, "resource policy", &r, &mut cases);
    }
    out.push(RoleCases {
        role: OUTSIDERS.to_owned(),
        principal: String::new(),
        identity_policies: vec![allow_all()],
        actions_granted: 0,
        cases: cases.into_iter().collect(),
    });
    out
}
