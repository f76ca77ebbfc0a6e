//! CloudWatch Logs requests: a service writing its own logs, and API Gateway pushing
//! execution logs. Streams are created and written as log-stream resources; the group
//! itself is created and listed as a log-group resource.

use crate::review::cases::ctx::{Ctx, Need};

/// Requests on a group (or its streams) for each action.
fn logs(cx: &Ctx, out: &mut Vec<Need>, group: &str, actions: &[&str]) {
    // A group named only after deployment (API Gateway's execution logs carry the API
    // id) is granted with a `*`; the request names one concrete group.
    let pattern = cx.arn("logs", &format!("log-group:{group}"));
    let g = cx.arn(
        "logs",
        &format!("log-group:{}", group.replace('*', "a1b2c3d4e5")),
    );
    for a in actions {
        if matches!(*a, "logs:PutLogEvents" | "logs:CreateLogStream") {
            let mut n = cx.plain(a, format!("{g}:log-stream:2026/11/27/sample"));
            n.pattern = format!("{pattern}:log-stream:*");
            out.push(n);
        } else {
            let mut n = cx.plain(a, g.clone());
            n.pattern.clone_from(&pattern);
            out.push(n);
        }
    }
}

/// Lambda creates its log group itself only when it may; the others create theirs.
pub(super) fn write_logs(cx: &Ctx, out: &mut Vec<Need>, group: &str, service: &str) {
    let mut actions = vec!["logs:CreateLogStream", "logs:PutLogEvents"];
    if !service.starts_with("lambda.") {
        actions.push("logs:CreateLogGroup");
    }
    logs(cx, out, group, &actions);
}

pub(super) fn push_api_logs(cx: &Ctx, out: &mut Vec<Need>, group: &str) {
    logs(
        cx,
        out,
        group,
        &[
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "logs:DescribeLogStreams",
        ],
    );
}
