//! Lowering of cross-region replication (PCI-DSS posture): the replication roles and
//! a flow per replicated bucket pair. The replica buckets themselves are the buckets
//! section's; the replication rules are written by the emitters from these flows.

use super::cx::LowerCx;
use super::{Access, BucketId, StackId};

use BucketId as B;

/// One replication role: its id, purpose, the stack that holds its rules, and the
/// bucket pairs (from, to) it replicates.
type Rule = (
    &'static str,
    &'static str,
    StackId,
    &'static [(BucketId, BucketId)],
);

/// One role per stack that holds the rules: storage's buckets by a role of the storage
/// stack; bootstrap's (artifacts, access logs) by a role of the bootstrap stack, which
/// is deployed before storage; and the way back, every replica to its source (two-way
/// replication, so that data written in the replica region after a failover returns),
/// by a role of the replica stack. S3 does not replicate replicas, so nothing loops.
/// The sources exist only after the replica stack, so `deploy` turns the way back on
/// in a second pass over that stack (its `DataKeyArn` and `ArtifactsKeyArn`
/// parameters).
const RULES: [Rule; 3] = [
    (
        "replication",
        "cross-region replication",
        StackId::Storage,
        &[
            (B::Raw, B::RawReplica),
            (B::Curated, B::CuratedReplica),
            (B::Results, B::ResultsReplica),
        ],
    ),
    (
        "bootstrap-replication",
        "cross-region replication of artifacts and access logs",
        StackId::Bootstrap,
        &[
            (B::Artifacts, B::ArtifactsReplica),
            (B::Logs, B::LogsReplica),
        ],
    ),
    (
        "replica-return",
        "replication from the replica region back to the sources",
        StackId::Replica,
        &[
            (B::RawReplica, B::Raw),
            (B::CuratedReplica, B::Curated),
            (B::ResultsReplica, B::Results),
            (B::ArtifactsReplica, B::Artifacts),
            (B::LogsReplica, B::Logs),
        ],
    ),
];

impl LowerCx<'_> {
    /// The replication roles and flows, under PCI-DSS with a replica region; a pair
    /// replicates only when the plan has both buckets.
    pub(super) fn replication(&mut self) {
        if !self.pci || self.env.replica_region.is_none() {
            return;
        }
        let at = &["environments", self.env_name, "replica_region"];
        let ro = self.origin(at);
        for (id, purpose, stack, pairs) in RULES {
            self.role(id, "s3", purpose, stack, at);
            for &(from, to) in pairs {
                if !self.buckets.contains_key(&from) || !self.buckets.contains_key(&to) {
                    continue;
                }
                let what = if stack == StackId::Replica {
                    format!(
                        "copy objects written in the replica region back to the {} bucket",
                        to.key()
                    )
                } else {
                    format!("copy the {} bucket to the replica region", from.key())
                };
                let access = Access::Replicate { from, to };
                self.flow(format!("{id}:{}", from.key()), id, access, ro.clone(), what);
            }
        }
    }
}
