//! The context needs are written in: a need (one request and what else counts as the
//! same request), and the ARNs of the plan's resources with placeholders bound to test
//! values. Derived from the plan and the bindings alone, never from the emitted policies.

use std::collections::BTreeMap;

use crate::plan::{BucketId, Plan};

/// A request a flow needs, and what makes another request the same need.
#[derive(Debug, Clone)]
pub(super) struct Need {
    pub(super) action: String,
    pub(super) resource: String,
    /// Resources this need stands for (the granted pattern's meaning).
    pub(super) pattern: String,
    pub(super) context: BTreeMap<String, String>,
    /// Context keys that must hold (key → accepted patterns) for a request to be this need.
    pub(super) constraints: BTreeMap<String, Vec<String>>,
    pub(super) account: String,
    pub(super) policy: Option<String>,
}

pub(super) struct Ctx<'a> {
    pub(super) plan: &'a Plan,
    pub(super) bindings: BTreeMap<String, String>,
}

/// The object every object request names, under the prefix the flow is about.
pub(super) const SAMPLE: &str = "pipewright-sample.bin";

impl Ctx<'_> {
    pub(super) fn arn(&self, service: &str, rest: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{rest}",
            self.plan.partition, self.plan.region, self.plan.account
        )
    }

    /// A bucket's ARN, from its name in the plan.
    pub(super) fn bucket_arn(&self, b: BucketId) -> String {
        format!(
            "arn:{}:s3:::{}",
            self.plan.partition,
            self.plan.bucket(b).name
        )
    }

    /// The key that encrypts a bucket's objects (none for SSE-S3 buckets: S3 server
    /// access logging cannot deliver to SSE-KMS buckets).
    pub(super) fn key_of(&self, b: BucketId) -> Option<String> {
        let name = match b {
            BucketId::Artifacts => "ArtifactsKeyArn",
            BucketId::Logs | BucketId::LogsReplica => return None,
            BucketId::RawReplica
            | BucketId::CuratedReplica
            | BucketId::ResultsReplica
            | BucketId::ArtifactsReplica => "ReplicaKeyArn",
            _ => "DataKeyArn",
        };
        self.bindings.get(name).cloned()
    }

    pub(super) fn table_arn(&self) -> String {
        self.arn(
            "dynamodb",
            &format!("table/{}", self.bindings["IndexTableName"]),
        )
    }

    /// An S3 request; the bucket's policy is evaluated with it.
    pub(super) fn s3(&self, action: &str, resource: String, pattern: String) -> Need {
        let bucket = resource.split('/').next().unwrap_or_default().to_owned();
        Need {
            action: action.to_owned(),
            resource,
            pattern,
            context: BTreeMap::new(),
            constraints: BTreeMap::new(),
            account: self.plan.account.clone(),
            policy: Some(bucket),
        }
    }

    /// A request on exactly one resource, with no resource policy.
    pub(super) fn plain(&self, action: &str, resource: String) -> Need {
        Need {
            action: action.to_owned(),
            pattern: resource.clone(),
            resource,
            context: BTreeMap::new(),
            constraints: BTreeMap::new(),
            account: self.plan.account.clone(),
            policy: None,
        }
    }

    pub(super) fn subnet(&self, i: usize) -> String {
        self.arn(
            "ec2",
            &format!("subnet/{}", self.bindings[&format!("PrivateSubnet{i}")]),
        )
    }
}
