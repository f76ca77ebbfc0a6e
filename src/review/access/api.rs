//! The ingest API in the access model: who may call each route's method (its
//! authorization type and API key requirement), which API key each usage plan admits,
//! and API Gateway's permission to invoke the function — read from the plan's routes,
//! the facts `emit::stacks::ingest` builds the methods, usage plans and permissions from.

use std::collections::BTreeSet;

use super::{Entry, GrantKind, Source, entry};
use crate::plan::{Plan, RoutePlan};
use crate::review::norm::Conditions;

/// The pseudo-condition of a method that requires an API key (API Gateway checks it
/// before anything else; there is no IAM condition key for it).
pub const API_KEY_CONDITION: (&str, &str) = ("ApiGateway", "apikeyrequired");

/// `POST /v1/pos/sales`: the method's name in the model.
pub fn method_name(r: &RoutePlan) -> String {
    format!("POST {}", r.route)
}

fn method_arn(p: &Plan, stage: &str, r: &RoutePlan) -> String {
    format!(
        "arn:{}:execute-api:{}:{}:${{Api}}/{stage}/POST{}",
        p.partition, p.region, p.account, r.route
    )
}

fn one(k: (&str, &str), v: &str) -> Conditions {
    Conditions::from([(
        (k.0.to_owned(), k.1.to_owned()),
        BTreeSet::from([v.to_owned()]),
    )])
}

pub(super) fn entries(p: &Plan, out: &mut Vec<Entry>) {
    let function = format!(
        "arn:{}:lambda:{}:{}:function:{}",
        p.partition, p.region, p.account, p.function_name
    );
    for r in &p.routes {
        let src = Source::of(&r.origin, Vec::new());
        let on = method_name(r);
        // AWS_IAM without a resource policy admits callers of the API's own account
        // whose identity policies allow execute-api:Invoke; NONE admits anyone.
        let caller = if r.auth.signed() {
            format!("AWS:arn:{}:iam::{}:root", p.partition, p.account)
        } else {
            "*".to_owned()
        };
        let conds = if r.auth.keyed() {
            one(API_KEY_CONDITION, "true")
        } else {
            Conditions::new()
        };
        out.push(entry(
            GrantKind::ApiMethod,
            &on,
            caller,
            &["execute-api:Invoke"],
            vec![method_arn(p, &p.stage, r)],
            conds,
            &src,
        ));
        if r.auth.keyed() {
            out.push(entry(
                GrantKind::UsagePlan,
                &format!("{}-{}-{}", p.pipeline, p.env, r.source),
                format!("ApiKey:{}", r.source),
                &["execute-api:Invoke"],
                vec![method_arn(p, &p.stage, r)],
                Conditions::new(),
                &src,
            ));
        }
        let mut conds = one(("StringEquals", "aws:sourceaccount"), &p.account);
        conds.insert(
            ("ArnLike".to_owned(), "aws:sourcearn".to_owned()),
            BTreeSet::from([method_arn(p, "*", r)]),
        );
        out.push(entry(
            GrantKind::LambdaPermission,
            &p.function_name,
            format!("Service:{}", crate::aws::principal("apigateway", &p.region)),
            &["lambda:InvokeFunction"],
            vec![function.clone()],
            conds,
            &src,
        ));
    }
}
