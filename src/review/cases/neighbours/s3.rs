//! Neighbours of an S3 need: the same request on every other bucket of the plan, on a
//! sibling or the parent of the granted prefix, and a listing of those prefixes.

use super::Found;
use crate::plan::BucketId;
use crate::review::cases::ctx::{Ctx, Need};

/// A folder's parent (with its `/`, or empty) and its last name.
fn split_dir(dir: &str) -> (String, String) {
    match dir.rsplit_once('/') {
        Some((p, l)) => (format!("{p}/"), l.to_owned()),
        None => (String::new(), dir.to_owned()),
    }
}

pub(super) fn neighbours(cx: &Ctx, n: &Need, out: &mut Found) {
    let plan = cx.plan;
    let (bucket, key) = match n.resource.split_once('/') {
        Some((b, k)) => (b.to_owned(), Some(k.to_owned())),
        None => (n.resource.clone(), None),
    };
    for b in plan.buckets.values() {
        let arn = format!("arn:{}:s3:::{}", plan.partition, b.name);
        if arn == bucket {
            continue;
        }
        let mut m = n.clone();
        m.resource = match &key {
            Some(k) => format!("{arn}/{k}"),
            None => arn.clone(),
        };
        out.push(m, &format!("another bucket ({})", b.name));
    }
    if let Some(k) = &key {
        prefixes(n, &bucket, k, out);
        other_inputs(cx, n, &bucket, k, out);
    }
    if let Some(p) = n.context.get("s3:prefix") {
        let (parent, last) = split_dir(p.trim_end_matches('/'));
        for (v, what) in [
            (format!("{parent}{last}x/"), "list a sibling prefix"),
            (parent.clone(), "list the parent prefix"),
        ] {
            let mut m = n.clone();
            m.context.insert("s3:prefix".into(), v);
            out.push(m, what);
        }
    }
}

/// The same request under every other source's raw prefix and every other dataset's
/// prefix (a job reads exactly its inputs; a neighbour that is one of its needs, such
/// as a second input, is dropped by the caller).
fn other_inputs(cx: &Ctx, n: &Need, bucket: &str, k: &str, out: &mut Found) {
    let plan = cx.plan;
    let known: Vec<String> = if bucket == cx.bucket_arn(BucketId::Raw) {
        plan.ingest_config
            .sources
            .keys()
            .map(|s| pipewright_ingest_config::layout::raw_prefix(s))
            .collect()
    } else if bucket == cx.bucket_arn(BucketId::Curated) {
        plan.transforms.iter().map(|t| t.prefix.clone()).collect()
    } else {
        return;
    };
    let Some(own) = known.iter().find(|p| k.starts_with(p.as_str())) else {
        return;
    };
    let rest = &k[own.len()..];
    for p in known.iter().filter(|p| *p != own) {
        let mut m = n.clone();
        m.resource = format!("{bucket}/{p}{rest}");
        out.push(m, "another source's or dataset's prefix");
    }
}

/// Sibling and parent of the deepest folder of the granted prefix.
fn prefixes(n: &Need, bucket: &str, k: &str, out: &mut Found) {
    let prefix = n
        .pattern
        .split_once('/')
        .map(|(_, p)| p.trim_end_matches('*'))
        .unwrap_or_default();
    let dir = prefix.trim_end_matches('/');
    if dir.is_empty() || !prefix.ends_with('/') {
        return;
    }
    let (parent, last) = split_dir(dir);
    let rest = &k[prefix.len().min(k.len())..];
    for (sib, what) in [
        (
            format!("{parent}{last}x/{rest}"),
            "sibling prefix sharing the name's start",
        ),
        (format!("{parent}{last}-sibling/{rest}"), "sibling prefix"),
        (format!("{parent}{rest}"), "parent prefix"),
    ] {
        let mut m = n.clone();
        m.resource = format!("{bucket}/{sib}");
        out.push(m, what);
    }
}
