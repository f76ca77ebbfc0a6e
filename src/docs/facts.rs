//! The countable facts the document states — which keys encrypt which buckets, which
//! buckets replicate where, which log groups exist and for how long, what is kept when
//! the stacks are deleted — each derived from the plan here, once, and rendered into
//! the template's sentences. `tests/docs_facts.rs` checks every one of them against the
//! synthesised templates.

use serde_json::{Value, json};

use crate::plan::{BucketId, Plan, StackId};

/// A customer managed KMS key and the buckets it encrypts.
struct Key {
    alias: String,
    region: String,
    buckets: Vec<String>,
    /// The data key also encrypts the table, queue, topic and log groups.
    data: bool,
    retained: bool,
}

/// Bucket names (in the plan's order) of the ids given that the plan has.
fn names(plan: &Plan, ids: &[BucketId]) -> Vec<String> {
    plan.buckets
        .values()
        .filter(|b| ids.contains(&b.id))
        .map(|b| b.name.clone())
        .collect()
}

fn keys(plan: &Plan) -> Vec<Key> {
    use BucketId as B;
    let mut keys = vec![
        Key {
            alias: plan.key_alias.clone(),
            region: plan.region.clone(),
            buckets: names(plan, &[B::Raw, B::Curated, B::Results]),
            data: true,
            retained: plan.retain,
        },
        Key {
            alias: plan.artifacts_key_alias(),
            region: plan.region.clone(),
            buckets: names(plan, &[B::Artifacts]),
            data: false,
            retained: true,
        },
    ];
    if let (true, Some(rr)) = (
        plan.stacks.contains_key(&StackId::Replica),
        &plan.replica_region,
    ) {
        keys.push(Key {
            alias: plan.replica_key_alias(),
            region: rr.clone(),
            buckets: names(
                plan,
                &[
                    B::RawReplica,
                    B::CuratedReplica,
                    B::ResultsReplica,
                    B::ArtifactsReplica,
                ],
            ),
            data: false,
            retained: plan.retain,
        });
    }
    keys
}

/// `a`, `b` and `c`.
fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The log groups the stacks create (the crawler's is Glue's own).
pub fn log_groups(plan: &Plan) -> Vec<String> {
    let mut g = vec![
        plan.function_log_group.clone(),
        plan.api_log_group.clone(),
        format!("API-Gateway-Execution-Logs_<api id>/{}", plan.stage),
    ];
    for t in &plan.transforms {
        g.push(format!("{}/error", t.log_group));
        g.push(format!("{}/output", t.log_group));
    }
    g
}

/// The template's `facts` value: one sentence (or list) per fact.
pub fn facts(plan: &Plan) -> Value {
    let keys = keys(plan);
    let key_lines: Vec<String> = keys
        .iter()
        .map(|k| {
            let mut what = vec![format!(
                "{} {}",
                if k.buckets.len() == 1 {
                    "bucket"
                } else {
                    "buckets"
                },
                list(&k.buckets)
            )];
            if k.data {
                what.push(
                    "the index table, the dead-letter queue, the alarm topic and the log groups"
                        .into(),
                );
            }
            format!("`{}` ({}) encrypts {}", k.alias, k.region, what.join("; "))
        })
        .collect();
    let sse_s3 = names(plan, &[BucketId::Logs, BucketId::LogsReplica]);
    let out: Vec<(String, String)> = replication(plan, true);
    let back = replication(plan, false);
    let groups = log_groups(plan);
    let mut kept: Vec<String> = Vec::new();
    if plan.retain {
        let data: Vec<String> = plan
            .buckets
            .values()
            .filter(|b| !matches!(b.id, BucketId::Artifacts | BucketId::ArtifactsReplica))
            .map(|b| b.name.clone())
            .collect();
        kept.push(format!("buckets {}", list(&data)));
        kept.push("the index table".into());
    }
    let kept_keys: Vec<String> = keys
        .iter()
        .filter(|k| k.retained)
        .map(|k| k.alias.clone())
        .collect();
    kept.push(format!(
        "{} {}",
        if kept_keys.len() == 1 { "key" } else { "keys" },
        list(&kept_keys)
    ));
    json!({
        "keys": plural(keys.len(), "customer managed KMS key", "customer managed KMS keys"),
        "key_lines": key_lines,
        "key_aliases": list(&keys.iter().map(|k| k.alias.clone()).collect::<Vec<_>>()),
        "sse_s3": list(&sse_s3),
        "replicated": plural(out.len(), "bucket replicates", "buckets replicate"),
        "replication_pairs": out.iter().map(|(a, b)| format!("`{a}` → `{b}`")).collect::<Vec<_>>().join(", "),
        "replicated_back": plural(back.len(), "replica replicates", "replicas replicate"),
        "has_replication": !out.is_empty(),
        "log_groups": plural(groups.len(), "CloudWatch log group", "CloudWatch log groups"),
        "log_group_names": list(&groups),
        "kept": kept.join("; "),
        "readers": readers(plan),
        "jobs": plural(plan.transforms.len(), "Glue job turns", "Glue jobs turn"),
    })
}

/// Bucket name pairs the plan replicates: out of the environment's region (`out`),
/// or back into it.
fn replication(plan: &Plan, out: bool) -> Vec<(String, String)> {
    plan.flows
        .iter()
        .filter_map(|f| match f.access {
            crate::plan::Access::Replicate { from, to } => {
                let (a, b) = (plan.bucket(from), plan.bucket(to));
                ((a.region == plan.region) == out).then(|| (a.name.clone(), b.name.clone()))
            }
            _ => None,
        })
        .collect()
}

/// Who reads the datasets: Athena, QuickSight, SageMaker, as the plan has them.
fn readers(plan: &Plan) -> String {
    let mut r: Vec<String> = Vec::new();
    if plan.buckets.contains_key(&BucketId::Results) {
        r.push("Athena".into());
    }
    if !plan.quicksight.is_empty() {
        r.push("QuickSight".into());
    }
    if plan.model_package_group.is_some() {
        r.push("SageMaker".into());
    }
    match r.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}
