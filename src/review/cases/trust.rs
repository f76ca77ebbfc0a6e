//! Trust cases: who may assume a role. Its service from the pipeline's account is
//! allowed; another service, a principal of another account and, where the trust policy
//! pins `aws:SourceAccount`, the same service acting for another account are denied.

use std::collections::{BTreeMap, BTreeSet};

use super::{Case, Expect};
use crate::plan::Plan;

pub(super) fn trust_cases(
    plan: &Plan,
    role_arn: &str,
    service: &str,
    pins_source_account: bool,
    out: &mut BTreeSet<Case>,
) {
    let other_account = if plan.account == "999999999999" {
        "888888888888"
    } else {
        "999999999999"
    };
    let case = |expect, kind: &str, principal: String, source: &str| Case {
        expect,
        flow: "trust".into(),
        kind: kind.into(),
        action: "sts:AssumeRole".into(),
        resource: role_arn.to_owned(),
        resource_account: plan.account.clone(),
        context: BTreeMap::from([("aws:SourceAccount".to_owned(), source.to_owned())]),
        resource_policy: Some(role_arn.to_owned()),
        principal: Some(principal),
        own_policies: false,
    };
    out.insert(case(
        Expect::Allowed,
        "need",
        service.to_owned(),
        &plan.account,
    ));
    for other in [
        "lambda.amazonaws.com",
        "glue.amazonaws.com",
        "ec2.amazonaws.com",
    ] {
        if other != service {
            out.insert(case(
                Expect::Denied,
                "another service assumes the role",
                other.to_owned(),
                &plan.account,
            ));
        }
    }
    out.insert(case(
        Expect::Denied,
        "a principal of another account assumes the role",
        format!("arn:{}:iam::{other_account}:role/intruder", plan.partition),
        other_account,
    ));
    if pins_source_account {
        out.insert(case(
            Expect::Denied,
            "the service assumes the role for another account",
            service.to_owned(),
            other_account,
        ));
    }
}
