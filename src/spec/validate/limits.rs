//! AWS service limits checked the same way wherever a section sets them: API Gateway
//! throttles, S3 lifecycles, Glue schedules and workers. Each check takes the path it
//! reports at; which sections call it is up to them.

use super::context::{Ctx, under};
use crate::spec::model::{ArchiveClass, Throttle, WorkerType, Workers};
use crate::spec::schedule::Schedule;
use crate::spec::yaml::Seg;

pub(super) fn throttle(cx: &mut Ctx<'_>, at: &[Seg], t: &Throttle) {
    if !(t.rate_limit > 0.0 && t.rate_limit <= 10_000.0) {
        cx.err(
            "PW0211",
            &under(at, &["rate_limit"]),
            format!(
                "rate limit {} is outside API Gateway's 0–10,000 requests per second",
                t.rate_limit
            ),
        );
    }
    if !(1..=5000).contains(&t.burst_limit) {
        cx.err(
            "PW0211",
            &under(at, &["burst_limit"]),
            format!(
                "burst limit {} is outside API Gateway's 1–5,000",
                t.burst_limit
            ),
        );
    }
}

pub(super) fn lifecycle(
    cx: &mut Ctx<'_>,
    at: &[Seg],
    retention: u32,
    archive: Option<u32>,
    class: ArchiveClass,
) {
    let Some(a) = archive else { return };
    if a >= retention {
        cx.err("PW0228", at, format!("raw objects would expire after {retention} days, before they move to {} after {a} days", class.as_str()))
            .help("make `archive_after_days` smaller than `retention_days`, or set it to null");
    }
    if class == ArchiveClass::StandardIa && a < 30 {
        cx.err(
            "PW0228",
            at,
            format!("S3 moves objects to STANDARD_IA after 30 days at the earliest, not {a}"),
        );
    }
}

pub(super) fn glue_schedule(cx: &mut Ctx<'_>, at: &[Seg], s: &str) {
    match Schedule::parse(s).and_then(|sc| sc.to_glue_cron()) {
        Ok(_) => {}
        Err(e) => {
            cx.err("PW0210", at, format!("invalid schedule `{s}`: {e}"));
        }
    }
}

pub(super) fn workers(cx: &mut Ctx<'_>, at: &[Seg], w: &Workers) {
    if !(2..=299).contains(&w.count) {
        cx.err(
            "PW0211",
            &under(at, &["count"]),
            format!("Glue jobs take 2–299 workers, not {}", w.count),
        );
    }
    if w.ty == WorkerType::G025X {
        cx.err(
            "PW0211",
            &under(at, &["type"]),
            "G.025X workers are for Glue streaming jobs only",
        )
        .help("use `G.1X` or larger");
    }
}
