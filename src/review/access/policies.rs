//! Resource policies in the access model: bucket policies, key policies, the alarm
//! topic's and the dead-letter queue's policies, read from `emit::resource_policy`, the
//! same statements the stacks attach.

use super::{Entry, GrantKind, Source, from_statement};
use crate::emit::resource_policy::{self as rp, KeyId, Stated};
use crate::plan::{BucketId, Plan, Principal};

/// A statement's entries, one per principal, each with the flows of that principal
/// (a statement may name several outside readers, each from its own spec entry).
fn add(
    plan: &Plan,
    grant: GrantKind,
    on: &str,
    setting: &str,
    sts: Vec<Stated>,
    out: &mut Vec<Entry>,
) {
    for s in sts {
        let all = Source::from_flows(plan, s.flows.clone(), setting);
        for e in from_statement(grant, on, &s.statement, None, &all) {
            let own: Vec<String> = s
                .flows
                .iter()
                .filter(|id| {
                    plan.flows.iter().any(|f| {
                        &f.id == *id
                            && matches!(&f.principal, Principal::External(x) if e.principal == format!("AWS:{x}"))
                    })
                })
                .cloned()
                .collect();
            if own.is_empty() {
                out.push(e);
            } else {
                let src = Source::from_flows(plan, own, setting);
                out.push(Entry {
                    flows: src.flows,
                    spec: src.path,
                    line: src.line,
                    ..e
                });
            }
        }
    }
}

/// Whether the stacks give a bucket a policy: every bucket the plan has (the replica
/// buckets in the replica stack, the others in bootstrap and storage).
fn has_policy(plan: &Plan, id: BucketId) -> bool {
    match id {
        BucketId::RawReplica
        | BucketId::CuratedReplica
        | BucketId::ResultsReplica
        | BucketId::ArtifactsReplica
        | BucketId::LogsReplica => KeyId::all(plan).contains(&KeyId::Replica),
        _ => true,
    }
}

pub(super) fn entries(plan: &Plan, out: &mut Vec<Entry>) {
    for (id, b) in &plan.buckets {
        if has_policy(plan, *id) {
            let sts = rp::bucket_policy(plan, *id);
            add(plan, GrantKind::BucketPolicy, &b.name, "storage", sts, out);
        }
    }
    for key in KeyId::all(plan) {
        let alias = key.alias(plan);
        let sts = rp::key_policy(plan, key);
        add(plan, GrantKind::KeyPolicy, &alias, "security.kms", sts, out);
    }
    let topic = plan.alarm_topic.clone();
    add(
        plan,
        GrantKind::TopicPolicy,
        &topic,
        "environments",
        rp::topic_policy(plan),
        out,
    );
    let queue = plan.dlq_name.clone();
    add(
        plan,
        GrantKind::QueuePolicy,
        &queue,
        "ingest",
        rp::queue_policy(plan),
        out,
    );
}
