//! Buckets as every stack makes them: private, versioned, encrypted, access-logged,
//! with their lifecycle, TLS-only policies and replication rules; and the replica key
//! parameter of stacks whose buckets replicate. Not which buckets a stack has (each
//! stack's module says that).

use std::collections::BTreeMap;

use super::replica::RETURN_REPLICATION;
use super::{Ctx, KMS_KEY_ARN};
use crate::emit::cfn::{Expr, Parameter, Resource, Template, logical_id, obj};
use crate::emit::iam::{self, bucket_arn};
use crate::plan::{BucketId, BucketPlan, StackId};

/// Default encryption: under `key` (SSE-KMS, with bucket keys), or SSE-S3 without one.
fn encryption(key: Option<Expr>) -> Expr {
    match key {
        Some(k) => obj([(
            "ServerSideEncryptionConfiguration",
            Expr::list([obj([
                ("BucketKeyEnabled", true.into()),
                (
                    "ServerSideEncryptionByDefault",
                    obj([("KMSMasterKeyID", k), ("SSEAlgorithm", "aws:kms".into())]),
                ),
            ])]),
        )]),
        None => obj([(
            "ServerSideEncryptionConfiguration",
            Expr::list([obj([(
                "ServerSideEncryptionByDefault",
                obj([("SSEAlgorithm", "AES256".into())]),
            )])]),
        )]),
    }
}

/// Lifecycle: abort stale uploads, expire old versions, and the bucket's own retention
/// and archive transition.
fn lifecycle_rules(b: &BucketPlan) -> Vec<Expr> {
    let mut rules = vec![obj([
        ("Id", "abort-incomplete-uploads".into()),
        ("Status", "Enabled".into()),
        (
            "AbortIncompleteMultipartUpload",
            obj([("DaysAfterInitiation", Expr::Int(7))]),
        ),
    ])];
    rules.push(obj([
        ("Id", "expire-noncurrent-versions".into()),
        ("Status", "Enabled".into()),
        (
            "NoncurrentVersionExpiration",
            obj([("NoncurrentDays", Expr::Int(90))]),
        ),
    ]));
    if b.expire_days.is_some() || b.archive.is_some() {
        let mut rule = BTreeMap::from([
            ("Id".to_owned(), Expr::s("retention")),
            ("Status".to_owned(), Expr::s("Enabled")),
        ]);
        if let Some(d) = b.expire_days {
            rule.insert("ExpirationInDays".into(), Expr::Int(i64::from(d)));
        }
        if let Some((d, class)) = b.archive {
            rule.insert(
                "Transitions".into(),
                Expr::list([obj([
                    ("StorageClass", Expr::s(class.as_str())),
                    ("TransitionInDays", Expr::Int(i64::from(d))),
                ])]),
            );
        }
        rules.push(Expr::Map(rule));
    }
    rules
}

impl Ctx<'_> {
    /// The `ReplicaKeyArn` parameter of a stack whose buckets replicate (deploy passes
    /// the replica stack's output of the same name).
    pub(super) fn replica_key_parameter(&self, t: &mut Template) {
        t.parameters.insert(
            "ReplicaKeyArn".into(),
            Parameter {
                ty: "String",
                description: "ARN of the replica region's KMS key (output `ReplicaKeyArn` of the replica stack)".into(),
                allowed_pattern: Some(format!("^{KMS_KEY_ARN}$")),
                default: None,
            },
        );
    }

    /// The replication rule of a bucket the plan replicates: to its replica (or, for a
    /// replica, back to its source), by the role whose flow copies it, re-encrypted under
    /// the destination's key when it has one. A replica's rule holds only under the
    /// replica stack's `ReturnReplication` condition: its destination exists later.
    pub(super) fn replication(&self, from: BucketId) -> Option<Expr> {
        let (role, to) = self
            .plan
            .flows
            .iter()
            .find_map(|f| match (&f.principal, &f.access) {
                (
                    crate::plan::Principal::Role(r),
                    crate::plan::Access::Replicate { from: b, to },
                ) if *b == from => Some((r.as_str(), *to)),
                _ => None,
            })?;
        let back = self.plan.bucket(from).region != self.plan.region;
        let stack = if back {
            StackId::Replica
        } else {
            StackId::Storage
        };
        let mut rule = BTreeMap::from([
            (
                "Id".to_owned(),
                Expr::s(if back {
                    "back-to-source-region"
                } else {
                    "to-replica-region"
                }),
            ),
            ("Status".to_owned(), Expr::s("Enabled")),
            ("Priority".to_owned(), Expr::Int(1)),
            ("Filter".to_owned(), obj([("Prefix", "".into())])),
            (
                "DeleteMarkerReplication".to_owned(),
                obj([("Status", "Disabled".into())]),
            ),
        ]);
        let mut destination =
            BTreeMap::from([("Bucket".to_owned(), Expr::s(bucket_arn(self.plan, to)))]);
        if iam::key_for(from).is_some() {
            rule.insert(
                "SourceSelectionCriteria".into(),
                obj([(
                    "SseKmsEncryptedObjects",
                    obj([("Status", "Enabled".into())]),
                )]),
            );
        }
        if let Some(key) = iam::key_for(to) {
            destination.insert(
                "EncryptionConfiguration".into(),
                obj([("ReplicaKmsKeyID", self.placeholder(key, stack))]),
            );
        }
        rule.insert("Destination".into(), Expr::Map(destination));
        let config = obj([
            ("Role", Expr::att(logical_id(&[role, "role"]), "Arn")),
            ("Rules", Expr::list([Expr::Map(rule)])),
        ]);
        Some(if back {
            Expr::when(RETURN_REPLICATION, config)
        } else {
            config
        })
    }

    /// A private, versioned, encrypted, access-logged bucket with its lifecycle.
    pub(super) fn bucket(
        &self,
        id: BucketId,
        key: Option<Expr>,
        log_target: Option<Expr>,
    ) -> Resource {
        let b = self.plan.bucket(id);
        let encryption = encryption(key);
        let rules = lifecycle_rules(b);
        // Object Lock (PCI-DSS posture) lets auditors put legal holds and retention on
        // data. No default retention: it would make every PUT carry a checksum and fight
        // the lifecycle rules. Access-log buckets cannot have it: S3 will not deliver
        // server access logs to a bucket with Object Lock.
        let lock = self.plan.object_lock(id);
        Resource::new("AWS::S3::Bucket")
            .p("BucketName", Expr::s(&b.name))
            .p_opt("ObjectLockEnabled", lock.then_some(Expr::Bool(true)))
            .p("BucketEncryption", encryption)
            .p(
                "VersioningConfiguration",
                obj([("Status", "Enabled".into())]),
            )
            .p(
                "PublicAccessBlockConfiguration",
                obj([
                    ("BlockPublicAcls", true.into()),
                    ("BlockPublicPolicy", true.into()),
                    ("IgnorePublicAcls", true.into()),
                    ("RestrictPublicBuckets", true.into()),
                ]),
            )
            .p(
                "OwnershipControls",
                obj([(
                    "Rules",
                    Expr::list([obj([("ObjectOwnership", "BucketOwnerEnforced".into())])]),
                )]),
            )
            // The canned ACL S3 gives every bucket anyway, stated so a reader (and the
            // cfn_nag rule S3_BUCKET_NO_PUBLIC_RW_ACL) sees it is not public; with
            // BucketOwnerEnforced, ACLs are disabled and access is the bucket policy's.
            .p("AccessControl", "Private")
            .lint_ignore(
                "W3045",
                "AccessControl Private is S3's default canned ACL (owner only); with BucketOwnerEnforced, ACLs are disabled and access is decided by the bucket policy alone",
            )
            .p_opt(
                "LoggingConfiguration",
                log_target.map(|t| {
                    obj([
                        ("DestinationBucketName", t),
                        (
                            "LogFilePrefix",
                            Expr::s(format!("{}/", b.name)),
                        ),
                    ])
                }),
            )
            .p(
                "LifecycleConfiguration",
                obj([("Rules", Expr::List(rules))]),
            )
            .p_opt("ReplicationConfiguration", self.replication(id))
            .p("Tags", self.tags())
            .retain(self.plan.retain && !matches!(id, BucketId::Artifacts | BucketId::ArtifactsReplica))
    }

    /// The bucket's policy (`resource_policy::bucket_policy`: TLS only, log delivery,
    /// outside readers).
    pub(super) fn bucket_policy(&self, bucket_lid: &str, id: BucketId) -> Resource {
        let statements = crate::emit::resource_policy::bucket_policy(self.plan, id);
        Resource::new("AWS::S3::BucketPolicy")
            .p("Bucket", Expr::r(bucket_lid))
            .p(
                "PolicyDocument",
                Expr::Json(crate::emit::resource_policy::document(&statements)),
            )
    }

    /// An access-log bucket (SSE-S3: log delivery cannot use SSE-KMS) and its policy
    /// admitting S3 log delivery from this account. It logs to itself under its own name
    /// (expired with the rest), so every bucket has access logging.
    pub(super) fn log_bucket(&self, t: &mut Template, lid: &str, id: BucketId) {
        t.add(
            lid,
            self.bucket(id, None, Some(Expr::s(self.bucket_name(id)))),
        );
        t.add(&format!("{lid}Policy"), self.bucket_policy(lid, id));
    }
}
