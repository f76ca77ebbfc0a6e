//! Lowering of the buckets: each bucket's name, region and lifecycle (expiry and
//! archive), and under PCI-DSS the replica buckets in the replica region. Who may
//! read or write a bucket is not decided here: each section adds its own flows.

use crate::spec::model::ArchiveClass;

use super::cx::{FIX_BASE, LowerCx};
use super::names::Rule;
use super::{BucketId, BucketPlan};

impl LowerCx<'_> {
    /// Adds the environment's buckets, in the order their names are checked.
    pub(super) fn buckets(&mut self) {
        let (spec, env) = (self.spec, self.env);
        let (raw_days, archive) = spec.raw_lifecycle(env);
        let archive = archive.map(|a| (a, spec.storage.raw.archive_class));
        let curated_days = env
            .storage
            .transformed_retention_days
            .or(spec.storage.transformed.retention_days);
        let results_days = spec
            .analytics
            .as_ref()
            .map(|a| a.athena.results_retention_days);
        let log_days = Some(self.log_days().max(90));
        let here = env.region.as_str();
        self.bucket(BucketId::Artifacts, here, None, None);
        self.bucket(BucketId::Logs, here, log_days, None);
        self.bucket(BucketId::Raw, here, Some(raw_days), archive);
        self.bucket(BucketId::Curated, here, curated_days, None);
        if spec.analytics.is_some() {
            self.bucket(BucketId::Results, here, results_days, None);
        }
        let (true, Some(rr)) = (self.pci, &env.replica_region) else {
            return;
        };
        self.bucket(BucketId::RawReplica, rr, Some(raw_days), archive);
        self.bucket(BucketId::CuratedReplica, rr, curated_days, None);
        self.bucket(BucketId::LogsReplica, rr, log_days, None);
        self.bucket(BucketId::ArtifactsReplica, rr, None, None);
        if spec.analytics.is_some() {
            self.bucket(BucketId::ResultsReplica, rr, results_days, None);
        }
    }

    /// Names the bucket `id` (`<base>-<key>-<account>`) and adds it.
    fn bucket(
        &mut self,
        id: BucketId,
        region: &str,
        expire_days: Option<u32>,
        archive: Option<(u32, ArchiveClass)>,
    ) {
        let name = self.name(
            format!("{}-{}-{}", self.base, id.key(), self.account()),
            Rule::S3Bucket,
            "bucket",
            FIX_BASE,
            &["name"],
        );
        self.buckets.insert(
            id,
            BucketPlan {
                id,
                name,
                region: region.to_owned(),
                expire_days,
                archive,
            },
        );
    }
}
