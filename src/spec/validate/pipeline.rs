//! Rules for the pipeline-wide sections: `version`, `name`, `tags`, `storage`,
//! `ingest` and `catalog`. Not the per-entry maps (sources, transforms, environments),
//! which have their own modules.

use std::collections::BTreeMap;

use super::context::{Ctx, p};
use super::limits::{glue_schedule, lifecycle};
use crate::spec::SPEC_VERSION;
use crate::spec::model::{Catalog, Ingest, Storage};
use crate::spec::yaml::Seg;

pub(super) fn top_level(cx: &mut Ctx<'_>) {
    let spec = cx.spec;
    if spec.version != SPEC_VERSION {
        cx.err(
            "PW0200",
            &p(&["version"]),
            format!("spec version {} is not supported", spec.version),
        )
        .help(format!("this pipewright reads `version: {SPEC_VERSION}`"));
    }
    let n = &spec.name;
    let ok = n.len() >= 3
        && n.as_bytes()[0].is_ascii_lowercase()
        && n.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && !n.ends_with('-')
        && !n.contains("--");
    if !ok {
        cx.err("PW0207", &p(&["name"]), format!("`{n}` is not a valid pipeline name"))
            .label("lower-case letters, digits and single hyphens")
            .help("the name starts every resource name (buckets included), so it must start with a letter and use only a-z, 0-9 and `-`");
    }
    tags(cx, &spec.tags, &["tags"]);
}

/// Resource tags, pipeline-wide or per environment.
pub(super) fn tags(cx: &mut Ctx<'_>, tags: &BTreeMap<String, String>, at: &[&str]) {
    for (k, v) in tags {
        let mut path = p(at);
        path.push(Seg::Key(k.clone()));
        if k.is_empty() || k.chars().count() > 128 || k.to_ascii_lowercase().starts_with("aws:") {
            cx.err("PW0207", &path, format!("tag key `{k}` is not allowed"))
                .help("tag keys are 1–128 characters and may not start with `aws:`");
            cx.at_key(&path);
        }
        if v.chars().count() > 256 {
            cx.err("PW0207", &path, "tag values are at most 256 characters");
        }
    }
}

pub(super) fn storage(cx: &mut Ctx<'_>, s: &Storage) {
    lifecycle(
        cx,
        &p(&["storage", "raw"]),
        s.raw.retention_days,
        s.raw.archive_after_days,
        s.raw.archive_class,
    );
}

pub(super) fn ingest(cx: &mut Ctx<'_>, i: &Ingest) {
    if !(128..=10240).contains(&i.memory_mb) {
        cx.err(
            "PW0211",
            &p(&["ingest", "memory_mb"]),
            format!("Lambda memory must be 128–10,240 MB, not {}", i.memory_mb),
        );
    }
    if !(1..=29).contains(&i.timeout_seconds) {
        cx.err(
            "PW0211",
            &p(&["ingest", "timeout_seconds"]),
            format!(
                "the timeout must be 1–29 s (API Gateway waits 29 s), not {}",
                i.timeout_seconds
            ),
        );
    }
    if let Some(r) = i.reserved_concurrency
        && !(1..=1000).contains(&r)
    {
        cx.err(
            "PW0211",
            &p(&["ingest", "reserved_concurrency"]),
            format!("reserved concurrency must be 1–1,000, not {r}"),
        );
    }
    if !(1..=9).contains(&i.gzip_level) {
        cx.err(
            "PW0211",
            &p(&["ingest", "gzip_level"]),
            format!("gzip levels are 1–9, not {}", i.gzip_level),
        );
    }
}

pub(super) fn catalog(cx: &mut Ctx<'_>, c: &Catalog) {
    if let Some(db) = &c.database
        && (db.is_empty()
            || db.len() > 255
            || !db
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
    {
        cx.err(
            "PW0207",
            &p(&["catalog", "database"]),
            format!("`{db}` is not a valid Glue database name"),
        )
        .help("Glue database names are lower-case letters, digits and `_` (Athena needs this)");
    }
    if let Some(s) = &c.crawler.schedule {
        glue_schedule(cx, &p(&["catalog", "crawler", "schedule"]), s);
    }
}
