//! Queue requests: sending to a queue encrypted with the data key (SQS generates and
//! reads data keys through KMS for the sender).

use super::kms::kms;
use crate::review::cases::ctx::{Ctx, Need};

pub(super) fn send_messages(cx: &Ctx, out: &mut Vec<Need>, queue: &str) {
    out.push(cx.plain("sqs:SendMessage", cx.arn("sqs", queue)));
    let key = cx.bindings["DataKeyArn"].clone();
    let via = crate::aws::via_service("sqs", &cx.plan.region);
    for a in ["kms:GenerateDataKey", "kms:Decrypt"] {
        out.push(kms(cx, a, &key, &via, None));
    }
}
