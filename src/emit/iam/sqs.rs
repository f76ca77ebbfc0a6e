//! SQS: sending to a queue (the ingest function's dead-letter queue), with the data
//! key's use through SQS. Not the queue itself (`stacks`).

use super::{DATA_KEY, Grant, Statement};

/// `SendMessages`: send to one queue.
pub(super) fn send_messages(g: &Grant<'_>, queue: &str) -> Vec<Statement> {
    vec![
        g.allow("", &["sqs:SendMessage"], vec![g.arn("sqs", true, queue)]),
        g.allow(
            "Key",
            &["kms:GenerateDataKey", "kms:Decrypt"],
            vec![DATA_KEY.to_owned()],
        )
        .when("StringEquals", "kms:ViaService", g.via("sqs")),
    ]
}
