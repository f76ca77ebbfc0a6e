//! CloudWatch Logs: writing to a log group (functions, jobs) and API Gateway pushing
//! its logs. Not the log groups themselves (`stacks`).

use super::{Grant, Statement};

/// A log group and its streams.
fn log_group_arns(g: &Grant<'_>, group: &str) -> Vec<String> {
    vec![
        g.arn("logs", true, &format!("log-group:{group}")),
        g.arn("logs", true, &format!("log-group:{group}:log-stream:*")),
    ]
}

/// `WriteLogs`: write streams of one group; services other than Lambda also create
/// the group when it is missing.
pub(super) fn write_logs(g: &Grant<'_>, group: &str) -> Vec<Statement> {
    let creates_group = g.role.is_some_and(|r| !r.service.starts_with("lambda."));
    let mut actions = vec!["logs:CreateLogStream", "logs:PutLogEvents"];
    if creates_group {
        actions.push("logs:CreateLogGroup");
    }
    vec![g.allow("", &actions, log_group_arns(g, group))]
}

/// `PushApiLogs`: API Gateway's account role writing access and execution logs.
pub(super) fn push_api_logs(g: &Grant<'_>, group: &str) -> Vec<Statement> {
    vec![g.allow(
        "",
        &[
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "logs:DescribeLogStreams",
        ],
        log_group_arns(g, group),
    )]
}
