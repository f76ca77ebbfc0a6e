//! The ingest layer: one stack, or with many sources a core stack (function, API,
//! shared paths), route stacks (one per group of sources) and a release stack
//! (deployment, stage, usage plans), so each stays under CloudFormation's limits.
//! This module lays out those stacks ("slots": core is 0, then the route groups, then
//! the release) and holds the alarm shape they share; the resources are in `core`,
//! `routes` and `release`.

mod core;
mod release;
mod routes;

use super::Ctx;
use crate::emit::cfn::{Expr, Resource, Template};
use crate::plan::StackId;

pub use release::API_CACHE_CLUSTER_SIZE;

/// The ingest templates, core first and the release last.
pub(super) fn templates(cx: &Ctx<'_>) -> Vec<(StackId, Template)> {
    let p = cx.plan;
    let split = p.route_groups.len() > 1;
    let mut parts: Vec<(StackId, Template)> = vec![(StackId::Ingest, core::template(cx))];
    if split {
        for g in 1..=p.route_groups.len() {
            let id = StackId::IngestRoutes(g as u16);
            let mut t = Template::new(format!("{} {}: API routes, part {g}", p.pipeline, p.env));
            cx.stack_meta(&mut t, id);
            parts.push((id, t));
        }
        let mut t = Template::new(format!(
            "{} {}: API deployment, stage and usage plans",
            p.pipeline, p.env
        ));
        cx.stack_meta(&mut t, StackId::IngestRelease);
        parts.push((StackId::IngestRelease, t));
    }
    let release = parts.len() - 1;
    let methods = routes::add(cx, &mut parts, split);
    if split {
        let core = &mut parts[0].1;
        for (name, value) in [
            ("ApiId", Expr::r("Api")),
            ("ApiRootResourceId", Expr::att("Api", "RootResourceId")),
            ("ApiBodyValidatorId", Expr::r("ApiBodyValidator")),
        ] {
            cx.export(core, StackId::Ingest, name, name, value);
        }
    }
    release::add(cx, &mut parts[release].1, release, methods);
    parts
}

/// The alarms the ingest stacks create (three on the function and its dead-letter
/// queue, one on the API), priced by `cost`; the cost test counts them in the templates.
pub const INGEST_ALARMS: usize = 4;

/// An alarm on one metric, notifying the alarm topic when it fires and when it clears.
fn alarm(
    cx: &Ctx<'_>,
    ns: &str,
    metric: &str,
    dims: Expr,
    stat: &str,
    threshold: i64,
    what: &str,
) -> Resource {
    let topic = || Expr::list([cx.import(StackId::Foundation, "AlarmTopicArn")]);
    Resource::new("AWS::CloudWatch::Alarm")
        .p("AlarmDescription", Expr::s(what))
        .p("Namespace", Expr::s(ns))
        .p("MetricName", Expr::s(metric))
        .p("Dimensions", dims)
        .p("Statistic", Expr::s(stat))
        .p("Period", Expr::Int(300))
        .p("EvaluationPeriods", Expr::Int(1))
        .p("Threshold", Expr::Int(threshold))
        .p("ComparisonOperator", "GreaterThanOrEqualToThreshold")
        .p("TreatMissingData", "notBreaching")
        .p("AlarmActions", topic())
        .p("OKActions", topic())
}
