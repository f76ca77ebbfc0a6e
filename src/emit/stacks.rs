//! One CloudFormation template per layer, built from the plan. Cross-stack values
//! travel as exports (`<stack>:<Name>`) for ids that only exist after deployment
//! (key ARNs, subnet ids); everything with a derived name is referenced by name.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::cfn::{Expr, Parameter, Resource, Template, logical_id, obj};
use super::iam::{self, RoleIam, bucket_arn};
use crate::plan::{BucketId, Plan, StackId, Trigger};
use crate::spec::model::{Auth, QuotaPeriod, UpdateBehavior};

pub struct Ctx<'a> {
    pub plan: &'a Plan,
    pub iam: &'a BTreeMap<String, RoleIam>,
    /// Job name → content-addressed key of its script in the artifacts bucket.
    pub script_keys: &'a BTreeMap<String, String>,
}

impl Ctx<'_> {
    fn export_name(&self, stack: StackId, name: &str) -> String {
        format!("{}:{name}", self.plan.stacks[&stack])
    }

    /// An output exported as `<stack>:<name>`: the name is written once.
    fn export(&self, t: &mut Template, stack: StackId, name: &str, description: &str, value: Expr) {
        t.output(
            name,
            description,
            value,
            Some(self.export_name(stack, name)),
        );
    }

    fn import(&self, stack: StackId, name: &str) -> Expr {
        Expr::import(self.export_name(stack, name))
    }

    fn tags(&self) -> Expr {
        Expr::list(
            self.plan
                .tags
                .iter()
                .map(|(k, v)| obj([("Key", Expr::s(k)), ("Value", Expr::s(v))])),
        )
    }

    fn arn(&self, service: &str, rest: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{rest}",
            self.plan.partition, self.plan.region, self.plan.account
        )
    }

    /// The `ReplicaKeyArn` parameter of a stack whose buckets replicate (deploy passes
    /// the replica stack's output of the same name).
    fn replica_key_parameter(&self, t: &mut Template) {
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

    /// The optional key parameters of the replica stack, and the condition that both
    /// were given: the sources' keys exist once the foundation and bootstrap stacks do.
    fn return_key_parameters(&self, t: &mut Template) {
        for (name, from) in [
            ("DataKeyArn", "foundation"),
            ("ArtifactsKeyArn", "bootstrap"),
        ] {
            t.parameters.insert(
                name.into(),
                Parameter {
                    ty: "String",
                    description: format!(
                        "ARN of the source region's key (output `{name}` of the {from} stack); \
                         empty until that stack exists, which leaves the way back off"
                    ),
                    allowed_pattern: Some(format!("^({KMS_KEY_ARN})?$")),
                    default: Some(String::new()),
                },
            );
        }
        t.conditions.insert(
            RETURN_REPLICATION.into(),
            Expr::And(vec![
                Expr::given("DataKeyArn"),
                Expr::given("ArtifactsKeyArn"),
            ]),
        );
    }

    /// The replication rule of a bucket the plan replicates: to its replica (or, for a
    /// replica, back to its source), by the role whose flow copies it, re-encrypted under
    /// the destination's key when it has one. A replica's rule holds only under the
    /// replica stack's `ReturnReplication` condition: its destination exists later.
    fn replication(&self, from: BucketId) -> Option<Expr> {
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

    fn bucket_name(&self, b: BucketId) -> String {
        self.plan.bucket(b).name.clone()
    }

    /// A string with `${Placeholder}`s becomes `Fn::Sub` with each placeholder bound.
    fn resolve(&self, s: &str, in_stack: StackId) -> Expr {
        if !s.contains("${") {
            return Expr::s(s);
        }
        let mut vars = BTreeMap::new();
        for (name, _) in iam::placeholder_docs() {
            if s.contains(&format!("${{{name}}}")) {
                let v = self.placeholder(&format!("${{{name}}}"), in_stack);
                if v != Expr::sub(format!("${{{name}}}")) {
                    vars.insert(name.to_owned(), v);
                }
            }
        }
        Expr::Sub(s.to_owned(), vars)
    }

    /// What one `${Placeholder}` (a whole string, as in `iam::DATA_KEY`) stands for in a
    /// stack: an import, a parameter or a resource of that stack. A placeholder with
    /// nothing to bind stays an `Fn::Sub` of itself.
    fn placeholder(&self, whole: &str, in_stack: StackId) -> Expr {
        let name = whole
            .strip_prefix("${")
            .and_then(|n| n.strip_suffix('}'))
            .unwrap_or(whole);
        match name {
            // The replica stack lives in another region: no imports reach it.
            "DataKeyArn" | "ArtifactsKeyArn" if in_stack == StackId::Replica => Expr::r(name),
            "ReplicaKeyArn" if in_stack == StackId::Replica => Expr::att("ReplicaKey", "Arn"),
            "DataKeyArn" => self.import(StackId::Foundation, "DataKeyArn"),
            "ArtifactsKeyArn" if in_stack == StackId::Bootstrap => Expr::att("ArtifactsKey", "Arn"),
            "ArtifactsKeyArn" => self.import(StackId::Bootstrap, "ArtifactsKeyArn"),
            "ReplicaKeyArn" if matches!(in_stack, StackId::Storage | StackId::Bootstrap) => {
                Expr::r("ReplicaKeyArn")
            }
            "ReplicaKeyArn" => Expr::sub(whole),
            "IndexTableName" if in_stack == StackId::Storage => Expr::r("IndexTable"),
            "IndexTableName" => self.import(StackId::Storage, "IndexTableName"),
            other => self.import(StackId::Network, other),
        }
    }

    /// A JSON document with placeholders resolved inside every string.
    fn resolve_json(&self, v: &Value, in_stack: StackId) -> Expr {
        match v {
            Value::String(s) => self.resolve(s, in_stack),
            Value::Array(a) => Expr::list(a.iter().map(|x| self.resolve_json(x, in_stack))),
            Value::Object(o) => Expr::Map(
                o.iter()
                    .map(|(k, x)| (k.clone(), self.resolve_json(x, in_stack)))
                    .collect(),
            ),
            Value::Bool(b) => Expr::Bool(*b),
            Value::Number(n) => n
                .as_i64()
                .map_or_else(|| Expr::Float(n.as_f64().unwrap_or(0.0)), Expr::Int),
            Value::Null => Expr::Json(Value::Null),
        }
    }

    fn stack_meta(&self, t: &mut Template, stack: StackId) {
        let rule_sets: Vec<&str> = if self.plan.pci() {
            crate::plan::PCI_DSS_RULE_SETS.to_vec()
        } else {
            Vec::new()
        };
        t.metadata.insert(
            "pipewright".into(),
            obj([
                ("pipeline", Expr::s(&self.plan.pipeline)),
                ("environment", Expr::s(&self.plan.env)),
                ("stack", Expr::s(stack.name())),
                (
                    "compliance",
                    Expr::strs(self.plan.compliance.iter().map(|c| {
                        serde_json::to_value(c)
                            .unwrap()
                            .as_str()
                            .unwrap_or("")
                            .to_owned()
                    })),
                ),
                ("rule_sets", Expr::strs(rule_sets)),
            ]),
        );
    }

    /// A role with its trust policy, boundary and managed policies. CloudFormation
    /// names the role and its policies; the role's path (`/<name>/`) identifies it.
    fn role(&self, t: &mut Template, id: &str, stack: StackId) -> String {
        let r = &self.iam[id];
        let lid = logical_id(&[id, "role"]);
        let res = Resource::new("AWS::IAM::Role")
            .p("Path", Expr::s(self.plan.roles[id].path()))
            .p("Description", Expr::s(format!("pipewright: {}", r.purpose)))
            .p("AssumeRolePolicyDocument", Expr::Json(r.trust.clone()))
            .p_opt("PermissionsBoundary", r.boundary.as_ref().map(Expr::s))
            .p("Tags", self.tags());
        t.add(&lid, res);
        for (i, doc) in r.policies.values().enumerate() {
            let doc = serde_json::to_value(doc).expect("policy serialises");
            t.add(
                &logical_id(&[id, "policy", &(i + 1).to_string()]),
                Resource::new("AWS::IAM::ManagedPolicy")
                    .p(
                        "Description",
                        Expr::s(format!("pipewright: permissions of {}", r.name)),
                    )
                    .p("PolicyDocument", self.resolve_json(&doc, stack))
                    .p("Roles", Expr::list([Expr::r(&lid)])),
            );
        }
        lid
    }

    /// A role whose resources exist only under a template condition.
    fn role_if(&self, t: &mut Template, id: &str, stack: StackId, condition: &str) {
        let before: Vec<String> = t.resources.keys().cloned().collect();
        self.role(t, id, stack);
        for (lid, r) in &mut t.resources {
            if !before.contains(lid) {
                r.condition = Some(condition.to_owned());
            }
        }
    }

    fn log_group(&self, name: &str) -> Resource {
        self.log_group_named(Expr::s(name))
    }

    /// A KMS-encrypted log group with the environment's retention.
    fn log_group_named(&self, name: Expr) -> Resource {
        Resource::new("AWS::Logs::LogGroup")
            .p("LogGroupName", name)
            .p(
                "RetentionInDays",
                Expr::Int(i64::from(self.plan.log_retention_days)),
            )
            .p("KmsKeyId", self.import(StackId::Foundation, "DataKeyArn"))
            .p("Tags", self.tags())
            .retain(self.plan.retain)
    }

    /// A private, versioned, encrypted, access-logged bucket with its lifecycle.
    fn bucket(&self, id: BucketId, key: Option<Expr>, log_target: Option<Expr>) -> Resource {
        let b = self.plan.bucket(id);
        let encryption = match key {
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
        };
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

    /// TLS-only policy plus any extra statements.
    fn bucket_policy(&self, bucket_lid: &str, id: BucketId, extra: Vec<Value>) -> Resource {
        let arn = bucket_arn(self.plan, id);
        let mut statements = vec![json!({
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "s3:*",
            "Resource": [arn, format!("{arn}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": false}},
        })];
        statements.extend(extra);
        Resource::new("AWS::S3::BucketPolicy")
            .p("Bucket", Expr::r(bucket_lid))
            .p(
                "PolicyDocument",
                Expr::Json(json!({"Version": "2012-10-17", "Statement": statements})),
            )
    }

    /// An access-log bucket (SSE-S3: log delivery cannot use SSE-KMS) and its policy
    /// admitting S3 log delivery from this account. It logs to itself under its own name
    /// (expired with the rest), so every bucket has access logging.
    fn log_bucket(&self, t: &mut Template, lid: &str, id: BucketId) {
        let p = self.plan;
        t.add(
            lid,
            self.bucket(id, None, Some(Expr::s(self.bucket_name(id)))),
        );
        let arn = bucket_arn(p, id);
        t.add(
            &format!("{lid}Policy"),
            self.bucket_policy(
                lid,
                id,
                vec![json!({
                    "Sid": "AllowServerAccessLogs",
                    "Effect": "Allow",
                    "Principal": {"Service": "logging.s3.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": format!("{arn}/*"),
                    "Condition": {"StringEquals": {"aws:SourceAccount": p.account}},
                })],
            ),
        );
    }

    fn key(&self, description: &str, statements: Vec<Value>) -> Resource {
        let mut all = vec![json!({
            "Sid": "KeyAdministration",
            "Effect": "Allow",
            "Principal": {"AWS": self.plan.key_admins},
            "Action": [
                "kms:CancelKeyDeletion", "kms:Create*", "kms:Delete*", "kms:Describe*", "kms:Disable*",
                "kms:Enable*", "kms:Get*", "kms:List*", "kms:Put*", "kms:Revoke*", "kms:ScheduleKeyDeletion",
                "kms:TagResource", "kms:UntagResource", "kms:Update*"
            ],
            "Resource": "*",
        })];
        all.extend(statements);
        Resource::new("AWS::KMS::Key")
            .p("Description", Expr::s(description))
            .p("EnableKeyRotation", true)
            .p(
                "RotationPeriodInDays",
                Expr::Int(i64::from(self.plan.key_rotation_days)),
            )
            .p(
                "PendingWindowInDays",
                Expr::Int(i64::from(self.plan.key_deletion_window_days)),
            )
            .p(
                "KeyPolicy",
                Expr::Json(json!({"Version": "2012-10-17", "Statement": all})),
            )
            .p("Tags", self.tags())
            .retain(self.plan.retain)
    }
}

fn quota_period(p: QuotaPeriod) -> &'static str {
    match p {
        QuotaPeriod::Day => "DAY",
        QuotaPeriod::Week => "WEEK",
        QuotaPeriod::Month => "MONTH",
    }
}

// ---------------------------------------------------------------------------------
// bootstrap
// ---------------------------------------------------------------------------------

pub fn bootstrap(cx: &Ctx<'_>) -> Template {
    let p = cx.plan;
    let mut t = Template::new(format!(
        "{} {}: artifacts bucket and access-log bucket (deploy {})",
        p.pipeline,
        p.env,
        if p.stacks.contains_key(&StackId::Replica) {
            "right after the replica stack"
        } else {
            "first"
        }
    ));
    cx.stack_meta(&mut t, StackId::Bootstrap);
    if p.roles.contains_key("bootstrap-replication") {
        cx.replica_key_parameter(&mut t);
        cx.role(&mut t, "bootstrap-replication", StackId::Bootstrap);
    }
    t.add(
        "ArtifactsKey",
        cx.key(
            &format!("{}-{}: Lambda zips, Glue scripts and templates", p.pipeline, p.env),
            vec![json!({
                "Sid": "UseThroughS3InThisAccount",
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:{}:iam::{}:root", p.partition, p.account)},
                "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": format!("s3.{}.amazonaws.com", p.region), "kms:CallerAccount": p.account}},
            })],
        )
        .retain(true),
    );
    t.add(
        "ArtifactsKeyAlias",
        Resource::new("AWS::KMS::Alias")
            .p(
                "AliasName",
                Expr::s(format!("alias/{}-{}-artifacts", p.pipeline, p.env)),
            )
            .p("TargetKeyId", Expr::r("ArtifactsKey")),
    );
    cx.log_bucket(&mut t, "LogsBucket", BucketId::Logs);
    t.add(
        "ArtifactsBucket",
        cx.bucket(
            BucketId::Artifacts,
            Some(Expr::att("ArtifactsKey", "Arn")),
            Some(Expr::r("LogsBucket")),
        )
        .depends("LogsBucketPolicy"),
    );
    t.add(
        "ArtifactsBucketPolicy",
        cx.bucket_policy("ArtifactsBucket", BucketId::Artifacts, Vec::new()),
    );
    cx.export(
        &mut t,
        StackId::Bootstrap,
        "ArtifactsBucketName",
        "Bucket for Lambda zips, Glue scripts and large templates",
        Expr::r("ArtifactsBucket"),
    );
    cx.export(
        &mut t,
        StackId::Bootstrap,
        "ArtifactsKeyArn",
        "KMS key of the artifacts bucket",
        Expr::att("ArtifactsKey", "Arn"),
    );
    cx.export(
        &mut t,
        StackId::Bootstrap,
        "LogsBucketName",
        "Bucket receiving S3 server access logs",
        Expr::r("LogsBucket"),
    );
    t
}

// ---------------------------------------------------------------------------------
// foundation
// ---------------------------------------------------------------------------------

pub fn foundation(cx: &Ctx<'_>) -> Template {
    let p = cx.plan;
    let mut t = Template::new(format!(
        "{} {}: the data KMS key and the alarm topic",
        p.pipeline, p.env
    ));
    cx.stack_meta(&mut t, StackId::Foundation);
    let root = format!("arn:{}:iam::{}:root", p.partition, p.account);
    let roles: Vec<String> = p
        .roles
        .values()
        .map(|r| r.arn_pattern(p.partition, &p.account))
        .collect();
    let deploy_via: Vec<String> = ["dynamodb", "lambda", "sns", "sqs"]
        .iter()
        .map(|s| format!("{s}.{}.amazonaws.com", p.region))
        .collect();
    let mut statements = vec![
        json!({
            "Sid": "UseByPipelineRoles",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
            "Resource": "*",
            "Condition": {"ArnLike": {"aws:PrincipalArn": roles}},
        }),
        json!({
            "Sid": "UseByCloudWatchLogs",
            "Effect": "Allow",
            "Principal": {"Service": format!("logs.{}.amazonaws.com", p.region)},
            "Action": ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
            "Resource": "*",
            "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": format!("arn:{}:logs:{}:{}:log-group:*", p.partition, p.region, p.account)}},
        }),
        json!({
            "Sid": "UseByCloudWatchAlarms",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": p.account}},
        }),
        json!({
            "Sid": "GrantsForAwsServices",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": ["kms:CreateGrant", "kms:DescribeKey"],
            "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        }),
        // Deployers (through CloudFormation) encrypt Lambda environment variables and
        // create tables and queues with the key; only through these services.
        json!({
            "Sid": "DeployThroughServices",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:CallerAccount": p.account,
                    "kms:ViaService": deploy_via,
                }
            },
        }),
    ];
    let readers: Vec<String> = p
        .flows
        .iter()
        .filter_map(|f| match &f.principal {
            crate::plan::Principal::External(a) => Some(a.clone()),
            _ => None,
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if !readers.is_empty() {
        statements.push(json!({
            "Sid": "DecryptForReaders",
            "Effect": "Allow",
            "Principal": {"AWS": readers},
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": format!("s3.{}.amazonaws.com", p.region)}},
        }));
    }
    t.add(
        "DataKey",
        cx.key(
            &format!("{}-{}: pipeline data", p.pipeline, p.env),
            statements,
        ),
    );
    t.add(
        "DataKeyAlias",
        Resource::new("AWS::KMS::Alias")
            .p("AliasName", Expr::s(&p.key_alias))
            .p("TargetKeyId", Expr::r("DataKey")),
    );
    t.add(
        "AlarmTopic",
        Resource::new("AWS::SNS::Topic")
            .p("TopicName", Expr::s(&p.alarm_topic))
            .p("KmsMasterKeyId", Expr::r("DataKey"))
            .p("Tags", cx.tags()),
    );
    t.add(
        "AlarmTopicPolicy",
        Resource::new("AWS::SNS::TopicPolicy")
            .p("Topics", Expr::list([Expr::r("AlarmTopic")]))
            .p(
                "PolicyDocument",
                obj([
                    ("Version", "2012-10-17".into()),
                    (
                        "Statement",
                        Expr::list([
                            obj([
                                ("Sid", "AlarmsPublish".into()),
                                ("Effect", "Allow".into()),
                                (
                                    "Principal",
                                    obj([("Service", "cloudwatch.amazonaws.com".into())]),
                                ),
                                ("Action", "sns:Publish".into()),
                                ("Resource", Expr::r("AlarmTopic")),
                                (
                                    "Condition",
                                    obj([(
                                        "StringEquals",
                                        obj([("aws:SourceAccount", Expr::s(&p.account))]),
                                    )]),
                                ),
                            ]),
                            obj([
                                ("Sid", "DenyInsecureTransport".into()),
                                ("Effect", "Deny".into()),
                                ("Principal", obj([("AWS", "*".into())])),
                                ("Action", "sns:Publish".into()),
                                ("Resource", Expr::r("AlarmTopic")),
                                (
                                    "Condition",
                                    obj([("Bool", obj([("aws:SecureTransport", false.into())]))]),
                                ),
                            ]),
                        ]),
                    ),
                ]),
            ),
    );
    if let Some(email) = &p.alarm_email {
        t.add(
            "AlarmEmail",
            Resource::new("AWS::SNS::Subscription")
                .p("TopicArn", Expr::r("AlarmTopic"))
                .p("Protocol", "email")
                .p("Endpoint", Expr::s(email)),
        );
    }
    cx.export(
        &mut t,
        StackId::Foundation,
        "DataKeyArn",
        "The pipeline's KMS key",
        Expr::att("DataKey", "Arn"),
    );
    cx.export(
        &mut t,
        StackId::Foundation,
        "AlarmTopicArn",
        "SNS topic for alarms",
        Expr::r("AlarmTopic"),
    );
    t
}

// ---------------------------------------------------------------------------------
// storage
// ---------------------------------------------------------------------------------

pub fn storage(cx: &Ctx<'_>) -> Template {
    let p = cx.plan;
    let mut t = Template::new(format!(
        "{} {}: raw, curated and query-result buckets and the metadata index",
        p.pipeline, p.env
    ));
    cx.stack_meta(&mut t, StackId::Storage);
    let key = || cx.import(StackId::Foundation, "DataKeyArn");
    let logs = || Expr::s(cx.bucket_name(BucketId::Logs));
    let replication = p.roles.contains_key("replication");
    if replication {
        cx.replica_key_parameter(&mut t);
        cx.role(&mut t, "replication", StackId::Storage);
    }
    let mut readers: BTreeMap<BucketId, Vec<Value>> = BTreeMap::new();
    for f in &p.flows {
        if let (
            crate::plan::Principal::External(who),
            crate::plan::Access::ReadObjects { bucket, prefix },
        ) = (&f.principal, &f.access)
        {
            let arn = bucket_arn(p, *bucket);
            let sid = logical_id(&["reader", &f.id]);
            readers.entry(*bucket).or_default().push(json!({
                "Sid": sid,
                "Effect": "Allow",
                "Principal": {"AWS": who},
                "Action": "s3:GetObject",
                "Resource": format!("{arn}/{prefix}*"),
            }));
            readers.entry(*bucket).or_default().push(json!({
                "Sid": format!("{sid}List"),
                "Effect": "Allow",
                "Principal": {"AWS": who},
                "Action": "s3:ListBucket",
                "Resource": arn,
                "Condition": {"StringLike": {"s3:prefix": [prefix.trim_end_matches('/'), format!("{prefix}*")]}},
            }));
        }
    }
    for (id, lid) in [
        (BucketId::Raw, "RawBucket"),
        (BucketId::Curated, "CuratedBucket"),
        (BucketId::Results, "ResultsBucket"),
    ] {
        if !p.buckets.contains_key(&id) {
            continue;
        }
        let b = cx.bucket(id, Some(key()), Some(logs()));
        t.add(lid, b);
        t.add(
            &format!("{lid}Policy"),
            cx.bucket_policy(lid, id, readers.remove(&id).unwrap_or_default()),
        );
        cx.export(
            &mut t,
            StackId::Storage,
            &format!("{lid}Name"),
            &format!(
                "The {} bucket",
                lid.trim_end_matches("Bucket").to_lowercase()
            ),
            Expr::r(lid),
        );
    }
    // The metadata index
    use pipewright_ingest_config::index as ix;
    let mut attrs = vec![(ix::PK, "S"), (ix::SK, "S")];
    let mut gsis = Vec::new();
    for l in &p.lookups {
        let g = match l {
            crate::spec::model::Lookup::BySourceDate => ix::BY_SOURCE_DATE,
            crate::spec::model::Lookup::ByDevice => ix::BY_DEVICE,
            crate::spec::model::Lookup::BySchemaVersion => ix::BY_SCHEMA_VERSION,
        };
        attrs.push((g.pk, "S"));
        attrs.push((g.sk, "S"));
        gsis.push(obj([
            ("IndexName", Expr::s(g.name)),
            (
                "KeySchema",
                Expr::list([
                    obj([("AttributeName", Expr::s(g.pk)), ("KeyType", "HASH".into())]),
                    obj([
                        ("AttributeName", Expr::s(g.sk)),
                        ("KeyType", "RANGE".into()),
                    ]),
                ]),
            ),
            ("Projection", obj([("ProjectionType", "ALL".into())])),
        ]));
    }
    attrs.sort();
    attrs.dedup();
    let mut table = Resource::new("AWS::DynamoDB::Table")
        .p("BillingMode", "PAY_PER_REQUEST")
        .p(
            "AttributeDefinitions",
            Expr::list(attrs.iter().map(|(n, ty)| {
                obj([
                    ("AttributeName", Expr::s(*n)),
                    ("AttributeType", Expr::s(*ty)),
                ])
            })),
        )
        .p(
            "KeySchema",
            Expr::list([
                obj([
                    ("AttributeName", Expr::s(ix::PK)),
                    ("KeyType", "HASH".into()),
                ]),
                obj([
                    ("AttributeName", Expr::s(ix::SK)),
                    ("KeyType", "RANGE".into()),
                ]),
            ]),
        )
        .p(
            "PointInTimeRecoverySpecification",
            obj([("PointInTimeRecoveryEnabled", true.into())]),
        )
        .p(
            "SSESpecification",
            obj([
                ("KMSMasterKeyId", key()),
                ("SSEEnabled", true.into()),
                ("SSEType", "KMS".into()),
            ]),
        )
        .p(
            "TimeToLiveSpecification",
            obj([
                ("AttributeName", Expr::s(ix::TTL)),
                ("Enabled", true.into()),
            ]),
        )
        .p("DeletionProtectionEnabled", p.retain)
        .p("Tags", cx.tags())
        .retain(p.retain);
    if !gsis.is_empty() {
        table = table.p("GlobalSecondaryIndexes", Expr::List(gsis));
    }
    t.add("IndexTable", table);
    cx.export(
        &mut t,
        StackId::Storage,
        "IndexTableName",
        "The metadata index table",
        Expr::r("IndexTable"),
    );
    t
}

// ---------------------------------------------------------------------------------
// ingest
// ---------------------------------------------------------------------------------

/// The ingest layer: one stack, or with many sources a core stack (function, API,
/// shared paths), route stacks (one per group of sources) and a release stack
/// (deployment, stage, usage plans), so each stays under CloudFormation's limits.
pub fn ingest(cx: &Ctx<'_>) -> Vec<(StackId, Template)> {
    let p = cx.plan;
    let split = p.route_groups.len() > 1;
    let mut parts: Vec<(StackId, Template)> = Vec::new();
    let mut core = Template::new(format!(
        "{} {}: API Gateway and the ingest function",
        p.pipeline, p.env
    ));
    cx.stack_meta(&mut core, StackId::Ingest);
    ingest_core(cx, &mut core);
    parts.push((StackId::Ingest, core));
    if split {
        for g in 1..=p.route_groups.len() {
            let id = StackId::IngestRoutes(g as u16);
            let mut t = Template::new(format!("{} {}: API routes, part {g}", p.pipeline, p.env));
            cx.stack_meta(&mut t, id);
            parts.push((id, t));
        }
        let mut t = Template::new(format!(
            "{} {}: API deployment, stage and usage plans",
            p.pipeline, p.env
        ));
        cx.stack_meta(&mut t, StackId::IngestRelease);
        parts.push((StackId::IngestRelease, t));
    }
    let release = parts.len() - 1;
    let slot_of_group = |g: usize| if split { 1 + g } else { 0 };
    // A reference to a core resource from a slot: `Ref` inside core, an import elsewhere.
    let core_ref = |slot: usize, lid: &str, export: &str| {
        if slot == 0 {
            Expr::r(lid)
        } else {
            cx.import(StackId::Ingest, export)
        }
    };
    let path_lid = |path: &str| {
        format!(
            "ApiPath{}",
            logical_id(&path.split('/').collect::<Vec<_>>())
        )
    };
    // Paths that are a proper prefix of some route live in core (shared parents).
    let mut shared: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for r in &p.routes {
        let segs: Vec<&str> = r.route.trim_start_matches('/').split('/').collect();
        for n in 1..segs.len() {
            shared.insert(format!("/{}", segs[..n].join("/")));
        }
    }
    let mut created: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let mut method_shapes = Vec::new();
    let mut method_ids: Vec<(usize, String)> = Vec::new();
    let mut method_settings = Vec::new();
    for (g, group) in p.route_groups.iter().enumerate() {
        let slot = slot_of_group(g);
        for &ri in group {
            let r = &p.routes[ri];
            let segs: Vec<&str> = r.route.trim_start_matches('/').split('/').collect();
            let mut parent_path = String::new();
            for (k, seg) in segs.iter().enumerate() {
                let path = format!("/{}", segs[..=k].join("/"));
                let lid = path_lid(&path);
                let in_core = shared.contains(&path);
                let home = if in_core { 0 } else { slot };
                if created.insert(path.clone()) {
                    let parent = if parent_path.is_empty() {
                        if home == 0 {
                            Expr::att("Api", "RootResourceId")
                        } else {
                            cx.import(StackId::Ingest, "ApiRootResourceId")
                        }
                    } else {
                        core_ref(
                            home,
                            &path_lid(&parent_path),
                            &format!("{}Id", path_lid(&parent_path)),
                        )
                    };
                    parts[home].1.add(
                        &lid,
                        Resource::new("AWS::ApiGateway::Resource")
                            .p("RestApiId", core_ref(home, "Api", "ApiId"))
                            .p("ParentId", parent)
                            .p("PathPart", Expr::s(*seg)),
                    );
                    if in_core && split {
                        cx.export(
                            &mut parts[0].1,
                            StackId::Ingest,
                            &format!("{lid}Id"),
                            &format!("API resource {path}"),
                            Expr::r(&lid),
                        );
                    }
                }
                parent_path = path;
            }
            let route_res = if shared.contains(&r.route) {
                core_ref(
                    slot,
                    &path_lid(&r.route),
                    &format!("{}Id", path_lid(&r.route)),
                )
            } else {
                Expr::r(path_lid(&r.route))
            };
            let t = &mut parts[slot].1;
            let model_lid = logical_id(&[&r.source, "envelope", "model"]);
            t.add(
                &model_lid,
                Resource::new("AWS::ApiGateway::Model")
                    .p("RestApiId", core_ref(slot, "Api", "ApiId"))
                    .p("Name", Expr::s(logical_id(&[&r.source, "envelope"])))
                    .p("ContentType", "application/json")
                    .p(
                        "Description",
                        Expr::s(format!(
                            "`{}` requests: one event object or a list of at most {} (each event is validated by the function, which keeps rejects)",
                            r.source, r.max_events
                        )),
                    )
                    .p(
                        "Schema",
                        Expr::Json(json!({
                            "$schema": "http://json-schema.org/draft-04/schema#",
                            "title": format!("{} batch", r.source),
                            "oneOf": [
                                {"type": "object"},
                                {"type": "array", "minItems": 1, "maxItems": r.max_events, "items": {"type": "object"}}
                            ]
                        })),
                    ),
            );
            let method_lid = logical_id(&[&r.source, "post", "method"]);
            let fn_arn = cx.arn("lambda", &format!("function:{}", p.function_name));
            let mut method = Resource::new("AWS::ApiGateway::Method")
                .p("RestApiId", core_ref(slot, "Api", "ApiId"))
                .p("ResourceId", route_res)
                .p("HttpMethod", "POST")
                .p("AuthorizationType", if r.auth.signed() { "AWS_IAM" } else { "NONE" })
                .p("ApiKeyRequired", r.auth.keyed())
                .p("OperationName", Expr::s(logical_id(&["ingest", &r.source])))
                .p("RequestValidatorId", core_ref(slot, "ApiBodyValidator", "ApiBodyValidatorId"))
                .p("RequestModels", obj([("application/json", Expr::r(&model_lid))]))
                .p(
                    "Integration",
                    obj([
                        ("Type", "AWS_PROXY".into()),
                        ("IntegrationHttpMethod", "POST".into()),
                        (
                            "Uri",
                            Expr::s(format!(
                                "arn:{}:apigateway:{}:lambda:path/2015-03-31/functions/{fn_arn}/invocations",
                                p.partition, p.region
                            )),
                        ),
                        ("TimeoutInMillis", Expr::Int(29_000)),
                    ]),
                );
            if slot == 0 {
                method = method.depends("IngestFunction");
            }
            if r.auth == Auth::None {
                method = method.skip_check(
                    "CKV_AWS_59",
                    &format!(
                        "the spec declares `auth: none` for source `{}` (warned by `pipewright check` as PW0900)",
                        r.source
                    ),
                );
            }
            method_shapes.push(serde_json::to_string(&method.properties).unwrap_or_default());
            t.add(&method_lid, method);
            let api_id = if slot == 0 {
                BTreeMap::new()
            } else {
                BTreeMap::from([("Api".to_owned(), cx.import(StackId::Ingest, "ApiId"))])
            };
            let mut permission = Resource::new("AWS::Lambda::Permission")
                .p("FunctionName", Expr::s(&p.function_name))
                .p("Action", "lambda:InvokeFunction")
                .p("Principal", "apigateway.amazonaws.com")
                .p("SourceAccount", Expr::s(&p.account))
                .p(
                    "SourceArn",
                    Expr::Sub(
                        format!(
                            "arn:{}:execute-api:{}:{}:${{Api}}/*/POST{}",
                            p.partition, p.region, p.account, r.route
                        ),
                        api_id,
                    ),
                );
            if slot == 0 {
                permission = permission.depends("IngestFunction");
            }
            t.add(
                &logical_id(&[&r.source, "invoke", "permission"]),
                permission,
            );
            method_ids.push((slot, method_lid));
            // In the PCI-DSS posture a route with a key is throttled by its usage plan, per key
            // and per method, with the same limits; a stage override here would have to state
            // `CachingEnabled: false` and so break the stage-wide encrypted-cache setting (which
            // is why `check` admits only `iam_and_api_key` there). Routes without a key (iam,
            // none) have no usage plan and keep their override.
            if p.pci() && r.auth.keyed() {
                continue;
            }
            method_settings.push(obj([
                ("ResourcePath", Expr::s(r.route.clone())),
                ("HttpMethod", "POST".into()),
                ("ThrottlingRateLimit", Expr::Float(r.rate_limit)),
                ("ThrottlingBurstLimit", Expr::Int(i64::from(r.burst_limit))),
                ("MetricsEnabled", true.into()),
                ("DataTraceEnabled", false.into()),
                // Execution logs of failures only (never request bodies: data tracing is off).
                ("LoggingLevel", "ERROR".into()),
                // Every POST stores a batch of events: a cached answer would drop the next
                // batch. Stated, so this override never inherits the stage-wide cache setting.
                ("CachingEnabled", false.into()),
            ]));
        }
    }
    if split {
        let core = &mut parts[0].1;
        for (name, value) in [
            ("ApiId", Expr::r("Api")),
            ("ApiRootResourceId", Expr::att("Api", "RootResourceId")),
            ("ApiBodyValidatorId", Expr::r("ApiBodyValidator")),
        ] {
            cx.export(core, StackId::Ingest, name, name, value);
        }
    }
    ingest_release(
        cx,
        &mut parts[release].1,
        release,
        &method_shapes,
        &method_ids,
        method_settings,
    );
    parts
}

/// The function, queue, log groups, roles, the API itself and the function's alarms.
fn ingest_core(cx: &Ctx<'_>, t: &mut Template) {
    let p = cx.plan;
    t.parameters.insert(
        "IngestCodeKey".into(),
        Parameter {
            ty: "String",
            description: "Key of the ingest function's zip in the artifacts bucket (content-hashed; set by `pipewright deploy`)".into(),
            allowed_pattern: Some("^lambda/[a-z0-9_-]+/[a-f0-9]{64}\\.zip$".into()),
            default: None,
        },
    );
    let role = cx.role(t, "ingest", StackId::Ingest);
    t.add("IngestLogGroup", cx.log_group(&p.function_log_group));
    t.add("ApiAccessLogGroup", cx.log_group(&p.api_log_group));
    // API Gateway names its execution log group after the API id; creating it here gives
    // it the key and retention every other group has.
    t.add(
        "ApiExecutionLogGroup",
        cx.log_group_named(Expr::Sub(
            format!(
                "{}${{Api}}/{}",
                crate::plan::API_EXECUTION_LOG_PREFIX,
                p.stage
            ),
            BTreeMap::new(),
        )),
    );
    t.add(
        "DeadLetterQueue",
        Resource::new("AWS::SQS::Queue")
            .p("QueueName", Expr::s(&p.dlq_name))
            .p(
                "KmsMasterKeyId",
                cx.import(StackId::Foundation, "DataKeyArn"),
            )
            .p("MessageRetentionPeriod", Expr::Int(1_209_600))
            .p("Tags", cx.tags()),
    );
    t.add(
        "DeadLetterQueuePolicy",
        Resource::new("AWS::SQS::QueuePolicy")
            .p("Queues", Expr::list([Expr::r("DeadLetterQueue")]))
            .p(
                "PolicyDocument",
                obj([
                    ("Version", "2012-10-17".into()),
                    (
                        "Statement",
                        Expr::list([obj([
                            ("Sid", "DenyInsecureTransport".into()),
                            ("Effect", "Deny".into()),
                            ("Principal", obj([("AWS", "*".into())])),
                            ("Action", "sqs:*".into()),
                            ("Resource", Expr::att("DeadLetterQueue", "Arn")),
                            (
                                "Condition",
                                obj([("Bool", obj([("aws:SecureTransport", false.into())]))]),
                            ),
                        ])]),
                    ),
                ]),
            ),
    );
    let env_vars = obj([
        (
            pipewright_ingest_config::env::RAW_BUCKET,
            Expr::s(cx.bucket_name(BucketId::Raw)),
        ),
        (
            pipewright_ingest_config::env::INDEX_TABLE,
            cx.import(StackId::Storage, "IndexTableName"),
        ),
        (
            pipewright_ingest_config::env::KMS_KEY_ARN,
            cx.import(StackId::Foundation, "DataKeyArn"),
        ),
    ]);
    let mut function = Resource::new("AWS::Lambda::Function")
        .p("FunctionName", Expr::s(&p.function_name))
        .p("Description", Expr::s("pipewright ingest: validates device events and stores them in the raw bucket and the index"))
        .p("Runtime", "provided.al2023")
        .p("Handler", "bootstrap")
        .p("Architectures", Expr::strs([p.architecture.as_str()]))
        .p("MemorySize", Expr::Int(i64::from(p.memory_mb)))
        .p("Timeout", Expr::Int(i64::from(p.timeout_seconds)))
        .p("Role", Expr::att(&role, "Arn"))
        .p(
            "Code",
            obj([("S3Bucket", Expr::s(cx.bucket_name(BucketId::Artifacts))), ("S3Key", Expr::r("IngestCodeKey"))]),
        )
        .p("Environment", obj([("Variables", env_vars)]))
        .p("KmsKeyArn", cx.import(StackId::Foundation, "DataKeyArn"))
        .p("DeadLetterConfig", obj([("TargetArn", Expr::att("DeadLetterQueue", "Arn"))]))
        .p("LoggingConfig", obj([("LogFormat", "JSON".into()), ("LogGroup", Expr::r("IngestLogGroup"))]))
        .p_opt("ReservedConcurrentExecutions", p.reserved_concurrency.map(|r| Expr::Int(i64::from(r))))
        .p("Tags", cx.tags());
    for lid in t
        .resources
        .keys()
        .filter(|k| k.starts_with("IngestPolicy"))
        .cloned()
        .collect::<Vec<_>>()
    {
        function = function.depends(&lid);
    }
    if let Some(n) = &p.network {
        function = function.p(
            "VpcConfig",
            obj([
                (
                    "SecurityGroupIds",
                    Expr::list([cx.import(StackId::Network, "WorkloadSecurityGroup")]),
                ),
                (
                    "SubnetIds",
                    Expr::list(
                        (1..=n.subnets.len())
                            .map(|i| cx.import(StackId::Network, &format!("PrivateSubnet{i}"))),
                    ),
                ),
            ]),
        );
    }
    if p.network.is_none() {
        function = function.skip_check(
            "CKV_AWS_117",
            &format!(
                "environment `{}` opts out of the VPC posture (`compliance: []`, warned by `pipewright check` as PW0901)",
                p.env
            ),
        );
    }
    t.add("IngestFunction", function);

    t.add(
        "Api",
        Resource::new("AWS::ApiGateway::RestApi")
            .p("Name", Expr::s(&p.api_name))
            .p(
                "Description",
                Expr::s(format!("{} {}: device event ingestion", p.pipeline, p.env)),
            )
            .p(
                "EndpointConfiguration",
                obj([("Types", Expr::strs(["REGIONAL"]))]),
            )
            // Every body reaches the function as bytes (base64): a gzip body sent as
            // `application/json` would otherwise be mangled as text. The function
            // decodes, inflates and validates each event itself.
            .p("BinaryMediaTypes", Expr::strs(["*/*"]))
            .p("DisableExecuteApiEndpoint", false)
            .p("Tags", cx.tags()),
    );
    t.add(
        "ApiBodyValidator",
        Resource::new("AWS::ApiGateway::RequestValidator")
            .p("RestApiId", Expr::r("Api"))
            .p("Name", "body")
            .p("ValidateRequestBody", true)
            .p("ValidateRequestParameters", false),
    );
    let logs_role = cx.role(t, "apigw-logs", StackId::Ingest);
    t.add(
        "ApiGatewayAccount",
        Resource::new("AWS::ApiGateway::Account")
            .p("CloudWatchRoleArn", Expr::att(&logs_role, "Arn")),
    );
    let fn_dims = || {
        Expr::list([obj([
            ("Name", "FunctionName".into()),
            ("Value", Expr::r("IngestFunction")),
        ])])
    };
    t.add(
        "IngestErrorsAlarm",
        alarm(
            cx,
            "AWS/Lambda",
            "Errors",
            fn_dims(),
            "Sum",
            1,
            "The ingest function failed",
        ),
    );
    t.add(
        "IngestThrottlesAlarm",
        alarm(
            cx,
            "AWS/Lambda",
            "Throttles",
            fn_dims(),
            "Sum",
            1,
            "The ingest function was throttled",
        ),
    );
    t.add(
        "DeadLetterAlarm",
        alarm(
            cx,
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            Expr::list([obj([
                ("Name", "QueueName".into()),
                ("Value", Expr::att("DeadLetterQueue", "QueueName")),
            ])]),
            "Maximum",
            1,
            "Events are waiting in the ingest dead-letter queue",
        ),
    );
    t.output(
        "IngestFunctionName",
        "The ingest function",
        Expr::r("IngestFunction"),
        None,
    );
    cx.export(
        t,
        StackId::Ingest,
        "ApiUrl",
        "Base URL devices post to",
        Expr::sub(format!(
            "https://${{Api}}.execute-api.{}.amazonaws.com/{}",
            p.region, p.stage
        )),
    );
}

fn alarm(
    cx: &Ctx<'_>,
    ns: &str,
    metric: &str,
    dims: Expr,
    stat: &str,
    threshold: i64,
    what: &str,
) -> Resource {
    let topic = || Expr::list([cx.import(StackId::Foundation, "AlarmTopicArn")]);
    Resource::new("AWS::CloudWatch::Alarm")
        .p("AlarmDescription", Expr::s(what))
        .p("Namespace", Expr::s(ns))
        .p("MetricName", Expr::s(metric))
        .p("Dimensions", dims)
        .p("Statistic", Expr::s(stat))
        .p("Period", Expr::Int(300))
        .p("EvaluationPeriods", Expr::Int(1))
        .p("Threshold", Expr::Int(threshold))
        .p("ComparisonOperator", "GreaterThanOrEqualToThreshold")
        .p("TreatMissingData", "notBreaching")
        .p("AlarmActions", topic())
        .p("OKActions", topic())
}

/// The deployment (a new one whenever the API's shape changes: its id hashes the
/// methods), the stage, usage plans and keys, and the API's alarm.
/// The smallest API Gateway cache cluster, in GB (priced in `compliance_cost`).
/// The network stack's parameters for the AWS-managed prefix lists of the gateway
/// endpoints' services, which CloudFormation cannot look up: `deploy` passes the ids
/// of `com.amazonaws.<region>.<service>`.
pub const PREFIX_LIST_PARAMETERS: &[(&str, &str)] = &[
    ("S3PrefixListId", "s3"),
    ("DynamodbPrefixListId", "dynamodb"),
];

/// A KMS key ARN in any partition (the body of a parameter's `AllowedPattern`).
const KMS_KEY_ARN: &str = "arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-f0-9-]+";

/// The replica stack's condition: the sources' keys were given, so the replicas
/// replicate back (`deploy` passes them in its second pass over that stack).
const RETURN_REPLICATION: &str = "ReturnReplication";

pub const API_CACHE_CLUSTER_SIZE: &str = "0.5";

/// The stage-wide method setting of the PCI-DSS posture: cache on and encrypted. API Gateway
/// applies stage caching to GET methods only; other methods cache only through an override.
fn api_cache_stage_setting() -> Expr {
    obj([
        ("ResourcePath", Expr::s("/*")),
        ("HttpMethod", "*".into()),
        ("CachingEnabled", true.into()),
        ("CacheDataEncrypted", true.into()),
        ("MetricsEnabled", true.into()),
        ("DataTraceEnabled", false.into()),
        ("LoggingLevel", "ERROR".into()),
    ])
}

fn ingest_release(
    cx: &Ctx<'_>,
    t: &mut Template,
    slot: usize,
    method_shapes: &[String],
    method_ids: &[(usize, String)],
    method_settings: Vec<Expr>,
) {
    let p = cx.plan;
    let api = || {
        if slot == 0 {
            Expr::r("Api")
        } else {
            cx.import(StackId::Ingest, "ApiId")
        }
    };
    let digest = Sha256::digest(method_shapes.concat().as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let dep_lid = format!("ApiDeployment{hash}");
    let mut dep = Resource::new("AWS::ApiGateway::Deployment")
        .p("RestApiId", api())
        .p("Description", Expr::s(format!("API shape {hash}")));
    for (s, m) in method_ids {
        if *s == slot {
            dep = dep.depends(m);
        }
    }
    t.add(&dep_lid, dep);
    let mut stage = Resource::new("AWS::ApiGateway::Stage")
        .p("RestApiId", api())
        .p("StageName", Expr::s(&p.stage))
        .p("DeploymentId", Expr::r(&dep_lid))
        .p("TracingEnabled", true)
        .p(
            "AccessLogSetting",
            obj([
                ("DestinationArn", Expr::s(cx.arn("logs", &format!("log-group:{}", p.api_log_group)))),
                (
                    "Format",
                    Expr::s(r#"{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","apiKeyId":"$context.identity.apiKeyId","time":"$context.requestTime","method":"$context.httpMethod","path":"$context.resourcePath","status":"$context.status","bytes":"$context.responseLength","latencyMs":"$context.responseLatency","error":"$context.error.message"}"#),
                ),
            ]),
        )
        .p("Tags", cx.tags());
    if p.pci() {
        // PCI-DSS posture: an encrypted cache cluster of the smallest size. API Gateway caches
        // only GET methods by default (the route overrides above keep every POST uncached).
        let mut all = vec![api_cache_stage_setting()];
        all.extend(method_settings);
        stage = stage
            .p("CacheClusterEnabled", true)
            .p("CacheClusterSize", API_CACHE_CLUSTER_SIZE)
            .p("MethodSettings", Expr::List(all));
    } else {
        stage = stage.p("MethodSettings", Expr::List(method_settings)).skip_check(
            "CKV_AWS_120",
            "no compliance posture: the POST-only ingestion API caches nothing, so no cache cluster is paid for",
        );
    }
    if slot == 0 {
        stage = stage
            .depends("ApiGatewayAccount")
            .depends("ApiAccessLogGroup")
            .depends("ApiExecutionLogGroup");
    }
    t.add("ApiStage", stage);
    for r in p.routes.iter().filter(|r| r.auth.keyed()) {
        let plan_lid = logical_id(&[&r.source, "usage", "plan"]);
        let key_lid = logical_id(&[&r.source, "api", "key"]);
        let mut up = Resource::new("AWS::ApiGateway::UsagePlan")
            .p(
                "UsagePlanName",
                Expr::s(format!("{}-{}-{}", p.pipeline, p.env, r.source)),
            )
            .p(
                "Description",
                Expr::s(format!("Devices of source `{}`", r.source)),
            )
            .p(
                "ApiStages",
                Expr::list([obj([
                    ("ApiId", api()),
                    ("Stage", Expr::r("ApiStage")),
                    (
                        "Throttle",
                        Expr::Map(BTreeMap::from([(
                            format!("{}/POST", r.route),
                            obj([
                                ("RateLimit", Expr::Float(r.rate_limit)),
                                ("BurstLimit", Expr::Int(i64::from(r.burst_limit))),
                            ]),
                        )])),
                    ),
                ])]),
            )
            .p(
                "Throttle",
                obj([
                    ("RateLimit", Expr::Float(r.rate_limit)),
                    ("BurstLimit", Expr::Int(i64::from(r.burst_limit))),
                ]),
            )
            .p("Tags", cx.tags());
        if let Some((limit, period)) = r.quota {
            up = up.p(
                "Quota",
                obj([
                    ("Limit", Expr::Int(i64::from(limit))),
                    ("Period", Expr::s(quota_period(period))),
                ]),
            );
        }
        t.add(&plan_lid, up);
        t.add(
            &key_lid,
            // CloudFormation names the key; its id is an output, and devices need only
            // its value.
            Resource::new("AWS::ApiGateway::ApiKey")
                .p(
                    "Description",
                    Expr::s(format!(
                        "{}-{}: API key for `{}` devices",
                        p.pipeline, p.env, r.source
                    )),
                )
                .p("Enabled", true)
                .p("Tags", cx.tags()),
        );
        t.add(
            &logical_id(&[&r.source, "usage", "plan", "key"]),
            Resource::new("AWS::ApiGateway::UsagePlanKey")
                .p("KeyId", Expr::r(&key_lid))
                .p("KeyType", "API_KEY")
                .p("UsagePlanId", Expr::r(&plan_lid)),
        );
        t.output(&logical_id(&[&r.source, "api", "key", "id"]), &format!("API key id for `{}` devices (read the value with `aws apigateway get-api-key --include-value`)", r.source), Expr::r(&key_lid), None);
    }
    t.add(
        "Api5xxAlarm",
        alarm(
            cx,
            "AWS/ApiGateway",
            "5XXError",
            Expr::list([
                obj([("Name", "ApiName".into()), ("Value", Expr::s(&p.api_name))]),
                obj([("Name", "Stage".into()), ("Value", Expr::s(&p.stage))]),
            ]),
            "Sum",
            5,
            "The ingest API returned server errors",
        ),
    );
}

// ---------------------------------------------------------------------------------
// processing
// ---------------------------------------------------------------------------------

/// The processing layer: security configuration, database and (in one stack, or
/// split for many transforms) the jobs, their triggers and the crawler.
pub fn processing(cx: &Ctx<'_>) -> Vec<(StackId, Template)> {
    let p = cx.plan;
    let mut t = Template::new(format!(
        "{} {}: Glue jobs, the catalog database and the crawler",
        p.pipeline, p.env
    ));
    cx.stack_meta(&mut t, StackId::Processing);
    let key = || cx.import(StackId::Foundation, "DataKeyArn");
    t.add(
        "GlueSecurityConfiguration",
        Resource::new("AWS::Glue::SecurityConfiguration")
            .p("Name", Expr::s(&p.glue_security_configuration))
            .p(
                "EncryptionConfiguration",
                obj([
                    (
                        "CloudWatchEncryption",
                        obj([
                            ("CloudWatchEncryptionMode", "SSE-KMS".into()),
                            ("KmsKeyArn", key()),
                        ]),
                    ),
                    (
                        "JobBookmarksEncryption",
                        obj([
                            ("JobBookmarksEncryptionMode", "CSE-KMS".into()),
                            ("KmsKeyArn", key()),
                        ]),
                    ),
                    (
                        "S3Encryptions",
                        Expr::list([obj([
                            ("S3EncryptionMode", "SSE-KMS".into()),
                            ("KmsKeyArn", key()),
                        ])]),
                    ),
                ]),
            ),
    );
    t.add(
        "Database",
        Resource::new("AWS::Glue::Database")
            .p("CatalogId", Expr::s(&p.account))
            .p(
                "DatabaseInput",
                obj([
                    ("Name", Expr::s(&p.database)),
                    (
                        "Description",
                        Expr::s(format!("{} {}: curated datasets", p.pipeline, p.env)),
                    ),
                ]),
            ),
    );
    if p.network.is_some() {
        t.add(
            "GlueConnection",
            Resource::new("AWS::Glue::Connection")
                .p("CatalogId", Expr::s(&p.account))
                .p(
                    "ConnectionInput",
                    obj([
                        ("Name", Expr::s(glue_connection_name(p))),
                        ("ConnectionType", "NETWORK".into()),
                        (
                            "PhysicalConnectionRequirements",
                            obj([
                                ("SubnetId", cx.import(StackId::Network, "PrivateSubnet1")),
                                (
                                    "SecurityGroupIdList",
                                    Expr::list([
                                        cx.import(StackId::Network, "WorkloadSecurityGroup")
                                    ]),
                                ),
                                ("AvailabilityZone", Expr::Az(0)),
                            ]),
                        ),
                    ]),
                ),
        );
    }
    t.output(
        "DatabaseName",
        "Glue database of the curated datasets",
        Expr::s(&p.database),
        None,
    );
    let split = p.transform_groups.len() > 1;
    let mut parts = vec![(StackId::Processing, t)];
    for (g, group) in p.transform_groups.iter().enumerate() {
        let slot = if split {
            let id = StackId::ProcessingJobs(g as u16 + 1);
            let mut jt = Template::new(format!(
                "{} {}: Glue jobs, part {}",
                p.pipeline,
                p.env,
                g + 1
            ));
            cx.stack_meta(&mut jt, id);
            parts.push((id, jt));
            parts.len() - 1
        } else {
            0
        };
        for &i in group {
            let stack = parts[slot].0;
            glue_job(cx, &mut parts[slot].1, &p.transforms[i], stack);
        }
    }
    let last = if split {
        let mut ct = Template::new(format!(
            "{} {}: Glue triggers and the crawler",
            p.pipeline, p.env
        ));
        cx.stack_meta(&mut ct, StackId::ProcessingCatalog);
        parts.push((StackId::ProcessingCatalog, ct));
        parts.len() - 1
    } else {
        0
    };
    let stack = parts[last].0;
    for tr in &p.transforms {
        glue_trigger(&mut parts[last].1, tr);
    }
    if p.roles.contains_key("crawler") {
        glue_crawler(cx, &mut parts[last].1, stack);
    }
    for (_, t) in &mut parts {
        depend_on_names(t);
    }
    parts
}

/// Glue resources refer to each other by name, which CloudFormation does not see as
/// a dependency: within one template, make each resource depend on the Glue
/// resources whose names it mentions (across stacks, stack order does this).
fn depend_on_names(t: &mut Template) {
    let mut names: Vec<(String, String)> = Vec::new();
    for (lid, r) in &t.resources {
        let v = serde_json::to_value(&r.properties).unwrap_or_default();
        let name = match r.ty.as_str() {
            "AWS::Glue::Job" | "AWS::Glue::SecurityConfiguration" | "AWS::Glue::Crawler" => {
                v.get("Name")
            }
            "AWS::Glue::Connection" => v.pointer("/ConnectionInput/Name"),
            "AWS::Glue::Database" => v.pointer("/DatabaseInput/Name"),
            _ => None,
        };
        if let Some(Value::String(n)) = name {
            names.push((n.clone(), lid.clone()));
        }
    }
    let lids: Vec<String> = t.resources.keys().cloned().collect();
    for lid in lids {
        let text = serde_json::to_string(&t.resources[&lid].properties).unwrap_or_default();
        let mut deps: Vec<String> = names
            .iter()
            .filter(|(n, other)| *other != lid && text.contains(&format!("\"{n}\"")))
            .map(|(_, other)| other.clone())
            .collect();
        // A resource that merely *names* itself elsewhere is not a dependency on
        // that name's owner when it is the owner's own name field.
        deps.sort();
        deps.dedup();
        let r = t.resources.get_mut(&lid).expect("listed above");
        for d in deps {
            if !r.depends_on.contains(&d) {
                r.depends_on.push(d);
            }
        }
        r.depends_on.sort();
    }
}

fn glue_connection_name(p: &Plan) -> String {
    format!("{}-{}-vpc", p.pipeline, p.env)
}

/// One transform's role, log groups and Glue job.
fn glue_job(cx: &Ctx<'_>, t: &mut Template, tr: &crate::plan::TransformPlan, stack: StackId) {
    let p = cx.plan;
    let artifacts = cx.bucket_name(BucketId::Artifacts);
    let role = cx.role(t, &tr.role, stack);
    let job_lid = logical_id(&[&tr.name, "job"]);
    for stream in ["error", "output"] {
        t.add(
            &logical_id(&[&tr.name, stream, "log", "group"]),
            cx.log_group(&format!("{}/{stream}", tr.log_group)),
        );
    }
    let args = obj([
        ("--job-bookmark-option", "job-bookmark-enable".into()),
        (
            "--TempDir",
            Expr::s(format!(
                "s3://{artifacts}/{}",
                crate::plan::prefix::glue_temp(&tr.job_name)
            )),
        ),
        ("--enable-metrics", "true".into()),
        ("--enable-observability-metrics", "true".into()),
        ("--custom-logGroup-prefix", Expr::s(&tr.log_group)),
        ("--raw_bucket", Expr::s(cx.bucket_name(BucketId::Raw))),
        (
            "--curated_bucket",
            Expr::s(cx.bucket_name(BucketId::Curated)),
        ),
        ("--dataset", Expr::s(&tr.dataset)),
        ("--sources", Expr::s(tr.inputs.join(","))),
    ]);
    let mut job = Resource::new("AWS::Glue::Job")
        .p("Name", Expr::s(&tr.job_name))
        .p(
            "Description",
            Expr::s(format!(
                "pipewright transform `{}` → dataset `{}`",
                tr.name, tr.dataset
            )),
        )
        .p("Role", Expr::att(&role, "Arn"))
        .p(
            "Command",
            obj([
                ("Name", "glueetl".into()),
                ("PythonVersion", "3".into()),
                (
                    "ScriptLocation",
                    Expr::s(format!("s3://{artifacts}/{}", cx.script_keys[&tr.job_name])),
                ),
            ]),
        )
        .p("GlueVersion", "5.0")
        .p("WorkerType", Expr::s(tr.worker_type.as_str()))
        .p("NumberOfWorkers", Expr::Int(i64::from(tr.workers)))
        .p("Timeout", Expr::Int(i64::from(tr.timeout_minutes)))
        .p("MaxRetries", Expr::Int(i64::from(tr.max_retries)))
        .p(
            "ExecutionProperty",
            obj([("MaxConcurrentRuns", Expr::Int(1))]),
        )
        .p(
            "SecurityConfiguration",
            Expr::s(&p.glue_security_configuration),
        )
        .p("DefaultArguments", args)
        .p(
            "Tags",
            Expr::Map(
                p.tags
                    .iter()
                    .map(|(k, v)| (k.clone(), Expr::s(v)))
                    .collect(),
            ),
        );
    if p.network.is_some() {
        job = job.p(
            "Connections",
            obj([(
                "Connections",
                Expr::list([Expr::s(glue_connection_name(p))]),
            )]),
        );
    }
    for lid in t
        .resources
        .keys()
        .filter(|k| k.starts_with(&logical_id(&[&tr.role, "policy"])))
        .cloned()
        .collect::<Vec<_>>()
    {
        job = job.depends(&lid);
    }
    t.add(&job_lid, job);
}

/// The trigger that starts a transform (schedule or after other jobs), by job name.
fn glue_trigger(t: &mut Template, tr: &crate::plan::TransformPlan) {
    match &tr.trigger {
        Trigger::Schedule { cron } => t.add(
            &logical_id(&[&tr.name, "schedule"]),
            Resource::new("AWS::Glue::Trigger")
                .p("Name", Expr::s(format!("{}-schedule", tr.job_name)))
                .p("Type", "SCHEDULED")
                .p("Schedule", Expr::s(cron))
                .p("StartOnCreation", true)
                .p(
                    "Actions",
                    Expr::list([obj([("JobName", Expr::s(&tr.job_name))])]),
                ),
        ),
        Trigger::After { jobs } => t.add(
            &logical_id(&[&tr.name, "after"]),
            Resource::new("AWS::Glue::Trigger")
                .p("Name", Expr::s(format!("{}-after", tr.job_name)))
                .p("Type", "CONDITIONAL")
                .p("StartOnCreation", true)
                .p(
                    "Predicate",
                    obj([
                        ("Logical", "ANY".into()),
                        (
                            "Conditions",
                            Expr::list(jobs.iter().map(|j| {
                                obj([
                                    ("JobName", Expr::s(j)),
                                    ("LogicalOperator", "EQUALS".into()),
                                    ("State", "SUCCEEDED".into()),
                                ])
                            })),
                        ),
                    ]),
                )
                .p(
                    "Actions",
                    Expr::list([obj([("JobName", Expr::s(&tr.job_name))])]),
                ),
        ),
        Trigger::OnIngest | Trigger::Manual => {}
    }
}

/// The crawler over the curated datasets, its role, and the trigger that starts it
/// after the transforms.
fn glue_crawler(cx: &Ctx<'_>, t: &mut Template, stack: StackId) {
    let p = cx.plan;
    let role = cx.role(t, "crawler", stack);
    let curated = cx.bucket_name(BucketId::Curated);
    let mut crawler = Resource::new("AWS::Glue::Crawler")
        .p("Name", Expr::s(&p.crawler_name))
        .p("Description", Expr::s("pipewright: catalogues the curated datasets"))
        .p("Role", Expr::att(&role, "Arn"))
        .p("DatabaseName", Expr::s(&p.database))
        .p(
            "Targets",
            obj([(
                "S3Targets",
                // Every major version's dataset: each is its own table, and all stay queryable.
                Expr::list(p.transforms.iter().flat_map(|tr| &tr.prefixes).map(|prefix| {
                    obj([("Path", Expr::s(format!("s3://{curated}/{prefix}")))])
                })),
            )]),
        )
        .p(
            "SchemaChangePolicy",
            obj([
                (
                    "UpdateBehavior",
                    Expr::s(if p.on_change == UpdateBehavior::Update { "UPDATE_IN_DATABASE" } else { "LOG" }),
                ),
                (
                    "DeleteBehavior",
                    Expr::s(match p.on_delete {
                        crate::spec::model::DeleteBehavior::Deprecate => "DEPRECATE_IN_DATABASE",
                        crate::spec::model::DeleteBehavior::Log => "LOG",
                        crate::spec::model::DeleteBehavior::Delete => "DELETE_FROM_DATABASE",
                    }),
                ),
            ]),
        )
        .p("CrawlerSecurityConfiguration", Expr::s(&p.glue_security_configuration))
        .p(
            "Configuration",
            // One prefix only ever holds compatible schemas (a breaking change comes under
            // a new major version, in a new prefix and table), so the crawler's update
            // adds the new columns and takes widened types (`MergeNewColumns` would keep
            // an `int` column `int` after its files became `bigint`).
            Expr::s(r#"{"Version":1.0,"CrawlerOutput":{"Partitions":{"AddOrUpdateBehavior":"InheritFromTable"}},"Grouping":{"TableGroupingPolicy":"CombineCompatibleSchemas"}}"#),
        )
        .p("Tags", Expr::Map(p.tags.iter().map(|(k, v)| (k.clone(), Expr::s(v))).collect()));
    if let Some(s) = &p.crawler_schedule {
        crawler = crawler.p("Schedule", obj([("ScheduleExpression", Expr::s(s))]));
    }
    t.add("Crawler", crawler);
    if p.crawler_schedule.is_none() {
        t.add(
            "CrawlAfterTransforms",
            Resource::new("AWS::Glue::Trigger")
                .p(
                    "Name",
                    Expr::s(format!("{}-after-transforms", p.crawler_name)),
                )
                .p("Type", "CONDITIONAL")
                .p("StartOnCreation", true)
                .p(
                    "Predicate",
                    obj([
                        ("Logical", "ANY".into()),
                        (
                            "Conditions",
                            Expr::list(p.transforms.iter().map(|tr| {
                                obj([
                                    ("JobName", Expr::s(&tr.job_name)),
                                    ("LogicalOperator", "EQUALS".into()),
                                    ("State", "SUCCEEDED".into()),
                                ])
                            })),
                        ),
                    ]),
                )
                .p(
                    "Actions",
                    Expr::list([obj([("CrawlerName", Expr::r("Crawler"))])]),
                ),
        );
    }
}

// ---------------------------------------------------------------------------------
// analytics and ml
// ---------------------------------------------------------------------------------

pub fn analytics(cx: &Ctx<'_>) -> Template {
    let p = cx.plan;
    let mut t = Template::new(format!(
        "{} {}: Athena workgroup, QuickSight data sets and the index export",
        p.pipeline, p.env
    ));
    cx.stack_meta(&mut t, StackId::Analytics);
    let results = cx.bucket_name(BucketId::Results);
    t.add(
        "Workgroup",
        Resource::new("AWS::Athena::WorkGroup")
            .p("Name", Expr::s(&p.workgroup))
            .p(
                "Description",
                Expr::s(format!(
                    "{} {}: queries over the curated datasets",
                    p.pipeline, p.env
                )),
            )
            .p("State", "ENABLED")
            .p(
                "WorkGroupConfiguration",
                obj([
                    ("EnforceWorkGroupConfiguration", true.into()),
                    ("PublishCloudWatchMetricsEnabled", true.into()),
                    (
                        "BytesScannedCutoffPerQuery",
                        Expr::Int(p.bytes_scanned_cutoff as i64),
                    ),
                    (
                        "ResultConfiguration",
                        obj([
                            (
                                "OutputLocation",
                                Expr::s(format!(
                                    "s3://{results}/{}",
                                    crate::plan::prefix::athena_results("quicksight")
                                )),
                            ),
                            (
                                "EncryptionConfiguration",
                                obj([
                                    ("EncryptionOption", "SSE_KMS".into()),
                                    ("KmsKey", cx.import(StackId::Foundation, "DataKeyArn")),
                                ]),
                            ),
                        ]),
                    ),
                ]),
            )
            .p("Tags", cx.tags()),
    );
    if p.roles.contains_key("quicksight") {
        let role = cx.role(&mut t, "quicksight", StackId::Analytics);
        let source_id = format!("{}-{}-athena", p.pipeline, p.env);
        let mut all_principals: Vec<String> = p
            .quicksight
            .iter()
            .flat_map(|d| d.principals.clone())
            .collect();
        all_principals.sort();
        all_principals.dedup();
        t.add(
            "QuickSightDataSource",
            Resource::new("AWS::QuickSight::DataSource")
                .p("AwsAccountId", Expr::s(&p.account))
                .p("DataSourceId", Expr::s(&source_id))
                .p("Name", Expr::s(&source_id))
                .p("Type", "ATHENA")
                .p(
                    "DataSourceParameters",
                    obj([(
                        "AthenaParameters",
                        obj([
                            ("WorkGroup", Expr::r("Workgroup")),
                            ("RoleArn", Expr::att(&role, "Arn")),
                        ]),
                    )]),
                )
                .p("SslProperties", obj([("DisableSsl", false.into())]))
                .p(
                    "Permissions",
                    Expr::list(all_principals.iter().map(|pr| {
                        obj([
                            ("Principal", Expr::s(pr)),
                            (
                                "Actions",
                                Expr::strs([
                                    "quicksight:DescribeDataSource",
                                    "quicksight:DescribeDataSourcePermissions",
                                    "quicksight:PassDataSource",
                                ]),
                            ),
                        ])
                    })),
                )
                .p("Tags", cx.tags()),
        );
        for d in &p.quicksight {
            let columns: Vec<(String, &str)> = if d.dataset == "index_export" {
                vec![("item".to_owned(), "JSON")]
            } else {
                let tr = p.transforms.iter().find(|tr| tr.dataset == d.dataset);
                tr.map(|tr| {
                    let mut cols: Vec<(String, &str)> = tr
                        .columns
                        .iter()
                        .map(|c| (c.name.clone(), quicksight_type(&c.ty)))
                        .collect();
                    cols.extend(
                        tr.partition_by
                            .iter()
                            .filter(|pcol| !tr.columns.iter().any(|c| &&c.name == pcol))
                            .map(|pcol| (pcol.clone(), "STRING")),
                    );
                    cols
                })
                .unwrap_or_default()
            };
            let physical =
                obj([(
                    "RelationalTable",
                    obj([
                        ("DataSourceArn", Expr::att("QuickSightDataSource", "Arn")),
                        ("Catalog", "AwsDataCatalog".into()),
                        ("Schema", Expr::s(&p.database)),
                        ("Name", Expr::s(&d.dataset)),
                        (
                            "InputColumns",
                            Expr::list(columns.iter().map(|(n, ty)| {
                                obj([("Name", Expr::s(n)), ("Type", Expr::s(*ty))])
                            })),
                        ),
                    ]),
                )]);
            t.add(
                &logical_id(&[&d.dataset, "data", "set"]),
                Resource::new("AWS::QuickSight::DataSet")
                    .p("AwsAccountId", Expr::s(&p.account))
                    .p("DataSetId", Expr::s(&d.id))
                    .p("Name", Expr::s(&d.dataset))
                    .p("ImportMode", "DIRECT_QUERY")
                    .p(
                        "PhysicalTableMap",
                        Expr::Map(BTreeMap::from([(logical_id(&[&d.dataset]), physical)])),
                    )
                    .p(
                        "Permissions",
                        Expr::list(d.principals.iter().map(|pr| {
                            obj([
                                ("Principal", Expr::s(pr)),
                                (
                                    "Actions",
                                    Expr::strs([
                                        "quicksight:DescribeDataSet",
                                        "quicksight:DescribeDataSetPermissions",
                                        "quicksight:DescribeIngestion",
                                        "quicksight:ListIngestions",
                                        "quicksight:PassDataSet",
                                    ]),
                                ),
                            ])
                        })),
                    )
                    .p("Tags", cx.tags()),
            );
        }
    }
    if let Some(schedule) = &p.index_export {
        let role = cx.role(&mut t, "index-export", StackId::Analytics);
        let curated = cx.bucket_name(BucketId::Curated);
        t.add(
            "IndexExportTable",
            Resource::new("AWS::Glue::Table")
                .p("CatalogId", Expr::s(&p.account))
                .p("DatabaseName", Expr::s(&p.database))
                .p(
                    "TableInput",
                    obj([
                        ("Name", "index_export".into()),
                        (
                            "Description",
                            "Daily exports of the metadata index (DynamoDB JSON)".into(),
                        ),
                        ("TableType", "EXTERNAL_TABLE".into()),
                        ("Parameters", obj([("classification", "json".into())])),
                        (
                            "StorageDescriptor",
                            obj([
                                (
                                    "Location",
                                    Expr::s(format!(
                                        "s3://{curated}/{}AWSDynamoDB/",
                                        crate::plan::prefix::INDEX_EXPORT
                                    )),
                                ),
                                (
                                    "InputFormat",
                                    "org.apache.hadoop.mapred.TextInputFormat".into(),
                                ),
                                (
                                    "OutputFormat",
                                    "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
                                        .into(),
                                ),
                                (
                                    "SerdeInfo",
                                    obj([
                                        (
                                            "SerializationLibrary",
                                            "org.openx.data.jsonserde.JsonSerDe".into(),
                                        ),
                                        (
                                            "Parameters",
                                            obj([("ignore.malformed.json", "true".into())]),
                                        ),
                                    ]),
                                ),
                                (
                                    "Columns",
                                    Expr::list([obj([
                                        ("Name", "item".into()),
                                        ("Type", "string".into()),
                                    ])]),
                                ),
                            ]),
                        ),
                    ]),
                ),
        );
        let input = json!({
            "TableArn": cx.arn("dynamodb", &format!("table/{}", iam::INDEX_TABLE)),
            "S3Bucket": curated,
            "S3Prefix": crate::plan::prefix::INDEX_EXPORT.trim_end_matches('/'),
            "ExportFormat": "DYNAMODB_JSON",
            "S3SseAlgorithm": "KMS",
            "S3SseKmsKeyId": "${DataKeyArn}",
        });
        t.add(
            "IndexExportSchedule",
            Resource::new("AWS::Scheduler::Schedule")
                .p(
                    "Name",
                    Expr::s(format!("{}-{}-index-export", p.pipeline, p.env)),
                )
                .p(
                    "Description",
                    Expr::s("Export the metadata index to S3 for QuickSight"),
                )
                .p("ScheduleExpression", Expr::s(schedule))
                .p("FlexibleTimeWindow", obj([("Mode", "OFF".into())]))
                .p("KmsKeyArn", cx.import(StackId::Foundation, "DataKeyArn"))
                .p(
                    "Target",
                    obj([
                        (
                            "Arn",
                            Expr::s(format!(
                                "arn:{}:scheduler:::aws-sdk:dynamodb:exportTableToPointInTime",
                                p.partition
                            )),
                        ),
                        ("RoleArn", Expr::att(&role, "Arn")),
                        (
                            "Input",
                            cx.resolve(
                                &serde_json::to_string(&input).expect("json"),
                                StackId::Analytics,
                            ),
                        ),
                    ]),
                ),
        );
    }
    t.output(
        "WorkgroupName",
        "Athena workgroup",
        Expr::r("Workgroup"),
        None,
    );
    t
}

fn quicksight_type(glue: &str) -> &'static str {
    match glue {
        "int" | "bigint" => "INTEGER",
        "double" => "DECIMAL",
        t if t.starts_with("decimal") => "DECIMAL",
        "boolean" => "BOOLEAN",
        "timestamp" | "date" => "DATETIME",
        t if t.starts_with("array") || t.starts_with("struct") => "JSON",
        _ => "STRING",
    }
}

pub fn ml(cx: &Ctx<'_>) -> Template {
    let p = cx.plan;
    let mut t = Template::new(format!(
        "{} {}: SageMaker training access and the model registry",
        p.pipeline, p.env
    ));
    cx.stack_meta(&mut t, StackId::Ml);
    let role = cx.role(&mut t, "sagemaker", StackId::Ml);
    let group = p.model_package_group.clone().unwrap_or_default();
    t.add(
        "ModelPackageGroup",
        Resource::new("AWS::SageMaker::ModelPackageGroup")
            .p("ModelPackageGroupName", Expr::s(&group))
            .p(
                "ModelPackageGroupDescription",
                Expr::s(format!("{} {}: trained models", p.pipeline, p.env)),
            )
            .p("Tags", cx.tags()),
    );
    t.output(
        "SageMakerRoleArn",
        "Execution role for training jobs",
        Expr::att(&role, "Arn"),
        None,
    );
    t.output(
        "ModelArtifactsUri",
        "Where training jobs write model artifacts",
        Expr::s(format!(
            "s3://{}/{}",
            cx.bucket_name(BucketId::Curated),
            crate::plan::prefix::models(&group)
        )),
        None,
    );
    t
}

// ---------------------------------------------------------------------------------
// network and replica (the PCI-DSS posture)
// ---------------------------------------------------------------------------------

/// Interface endpoints the workloads need to reach AWS without the internet.
pub const INTERFACE_ENDPOINTS: &[(&str, &str)] = &[
    (
        "glue",
        "Glue jobs' catalog and bookmark calls; the ingest function starting jobs",
    ),
    ("kms", "Glue's client-side encryption of job bookmarks"),
    ("logs", "Glue and SageMaker job logs"),
    ("monitoring", "Glue job metrics"),
    ("sts", "Glue and SageMaker credentials"),
    (
        "sagemaker.api",
        "SageMaker training jobs registering models",
    ),
];

pub fn network(cx: &Ctx<'_>) -> Template {
    let p = cx.plan;
    let n = p
        .network
        .as_ref()
        .expect("network stack only with a network plan");
    let mut t = Template::new(format!(
        "{} {}: private VPC, subnets and endpoints (no internet path)",
        p.pipeline, p.env
    ));
    cx.stack_meta(&mut t, StackId::Network);
    for (param, svc) in PREFIX_LIST_PARAMETERS {
        t.parameters.insert(
            (*param).into(),
            Parameter {
                ty: "String",
                description: format!(
                    "id of the AWS-managed prefix list com.amazonaws.{}.{svc} (looked up by `pipewright deploy`)",
                    p.region
                ),
                allowed_pattern: Some("^pl-[0-9a-f]{8,17}$".into()),
                default: None,
            },
        );
    }
    t.add(
        "Vpc",
        Resource::new("AWS::EC2::VPC")
            .p("CidrBlock", Expr::s(&n.cidr))
            .p("EnableDnsHostnames", true)
            .p("EnableDnsSupport", true)
            .p("Tags", cx.tags()),
    );
    t.add(
        "VpcFlowLog",
        Resource::new("AWS::EC2::FlowLog")
            .p("ResourceId", Expr::r("Vpc"))
            .p("ResourceType", "VPC")
            .p("TrafficType", "ALL")
            .p("LogDestinationType", "s3")
            .p(
                "LogDestination",
                Expr::s(format!("{}/vpc-flow-logs/", bucket_arn(p, BucketId::Logs))),
            )
            .p("Tags", cx.tags()),
    );
    let mut route_tables = Vec::new();
    for (i, cidr) in n.subnets.iter().enumerate() {
        let k = i + 1;
        let subnet = format!("PrivateSubnet{k}");
        let rt = format!("PrivateRouteTable{k}");
        t.add(
            &subnet,
            Resource::new("AWS::EC2::Subnet")
                .p("VpcId", Expr::r("Vpc"))
                .p("CidrBlock", Expr::s(cidr))
                .p("AvailabilityZone", Expr::Az(i as u32))
                .p("MapPublicIpOnLaunch", false)
                .p("Tags", cx.tags()),
        );
        t.add(
            &rt,
            Resource::new("AWS::EC2::RouteTable")
                .p("VpcId", Expr::r("Vpc"))
                .p("Tags", cx.tags()),
        );
        t.add(
            &format!("{subnet}RouteTable"),
            Resource::new("AWS::EC2::SubnetRouteTableAssociation")
                .p("SubnetId", Expr::r(&subnet))
                .p("RouteTableId", Expr::r(&rt)),
        );
        route_tables.push(Expr::r(&rt));
        cx.export(
            &mut t,
            StackId::Network,
            &subnet,
            &format!("Private subnet {k}"),
            Expr::r(&subnet),
        );
    }
    t.add(
        "WorkloadSecurityGroup",
        Resource::new("AWS::EC2::SecurityGroup")
            .p(
                "GroupDescription",
                Expr::s("pipewright workloads: HTTPS to AWS endpoints only"),
            )
            .p("VpcId", Expr::r("Vpc"))
            // HTTPS to S3 and DynamoDB only, through their gateway endpoints: their
            // AWS-managed prefix lists (deploy looks the ids up). The interface
            // endpoints are reached through their own group (WorkloadToEndpoints).
            .p(
                "SecurityGroupEgress",
                Expr::list(PREFIX_LIST_PARAMETERS.iter().map(|(param, svc)| {
                    obj([
                        ("IpProtocol", "tcp".into()),
                        ("FromPort", Expr::Int(443)),
                        ("ToPort", Expr::Int(443)),
                        ("DestinationPrefixListId", Expr::r(*param)),
                        (
                            "Description",
                            Expr::s(format!("HTTPS to {svc} through its gateway endpoint")),
                        ),
                    ])
                })),
            )
            .p("Tags", cx.tags()),
    );
    t.add(
        "WorkloadToEndpoints",
        Resource::new("AWS::EC2::SecurityGroupEgress")
            .p("GroupId", Expr::r("WorkloadSecurityGroup"))
            .p(
                "DestinationSecurityGroupId",
                Expr::r("EndpointSecurityGroup"),
            )
            .p("IpProtocol", "tcp")
            .p("FromPort", Expr::Int(443))
            .p("ToPort", Expr::Int(443))
            .p("Description", "HTTPS to the interface endpoints"),
    );
    // Glue workers talk to each other inside the group.
    t.add(
        "WorkloadSelfIngress",
        Resource::new("AWS::EC2::SecurityGroupIngress")
            .p("GroupId", Expr::r("WorkloadSecurityGroup"))
            .p("SourceSecurityGroupId", Expr::r("WorkloadSecurityGroup"))
            .p("IpProtocol", "tcp")
            .p("FromPort", Expr::Int(0))
            .p("ToPort", Expr::Int(65535))
            .p("Description", "Glue workers within the group"),
    );
    t.add(
        "WorkloadSelfEgress",
        Resource::new("AWS::EC2::SecurityGroupEgress")
            .p("GroupId", Expr::r("WorkloadSecurityGroup"))
            .p(
                "DestinationSecurityGroupId",
                Expr::r("WorkloadSecurityGroup"),
            )
            .p("IpProtocol", "tcp")
            .p("FromPort", Expr::Int(0))
            .p("ToPort", Expr::Int(65535))
            .p("Description", "Glue workers within the group"),
    );
    for (svc, lid) in [("s3", "S3Endpoint"), ("dynamodb", "DynamoDbEndpoint")] {
        t.add(
            lid,
            Resource::new("AWS::EC2::VPCEndpoint")
                .p("VpcId", Expr::r("Vpc"))
                .p("VpcEndpointType", "Gateway")
                .p(
                    "ServiceName",
                    Expr::s(format!("com.amazonaws.{}.{svc}", p.region)),
                )
                .p("RouteTableIds", Expr::List(route_tables.clone())),
        );
    }
    t.add(
        "EndpointSecurityGroup",
        Resource::new("AWS::EC2::SecurityGroup")
            .p(
                "GroupDescription",
                Expr::s("pipewright interface endpoints: HTTPS from workloads"),
            )
            .p("VpcId", Expr::r("Vpc"))
            .p(
                "SecurityGroupIngress",
                Expr::list([obj([
                    ("IpProtocol", "tcp".into()),
                    ("FromPort", Expr::Int(443)),
                    ("ToPort", Expr::Int(443)),
                    ("SourceSecurityGroupId", Expr::r("WorkloadSecurityGroup")),
                    ("Description", "HTTPS from workloads".into()),
                ])]),
            )
            .p(
                "SecurityGroupEgress",
                Expr::list([obj([
                    ("IpProtocol", "icmp".into()),
                    ("FromPort", Expr::Int(-1)),
                    ("ToPort", Expr::Int(-1)),
                    ("CidrIp", "127.0.0.1/32".into()),
                    (
                        "Description",
                        "no egress (placeholder rule replaces the default allow-all)".into(),
                    ),
                ])]),
            )
            .p("Tags", cx.tags()),
    );
    for (svc, _why) in INTERFACE_ENDPOINTS {
        t.add(
            &format!("{}Endpoint", logical_id(&[svc])),
            Resource::new("AWS::EC2::VPCEndpoint")
                .p("VpcId", Expr::r("Vpc"))
                .p("VpcEndpointType", "Interface")
                .p(
                    "ServiceName",
                    Expr::s(format!("com.amazonaws.{}.{svc}", p.region)),
                )
                .p("PrivateDnsEnabled", true)
                .p(
                    "SubnetIds",
                    Expr::list((1..=n.subnets.len()).map(|k| Expr::r(format!("PrivateSubnet{k}")))),
                )
                .p(
                    "SecurityGroupIds",
                    Expr::list([Expr::r("EndpointSecurityGroup")]),
                ),
        );
    }
    cx.export(
        &mut t,
        StackId::Network,
        "WorkloadSecurityGroup",
        "Security group of functions and jobs",
        Expr::r("WorkloadSecurityGroup"),
    );
    t.output("VpcId", "The pipeline's VPC", Expr::r("Vpc"), None);
    t
}

pub fn replica(cx: &Ctx<'_>) -> Template {
    let p = cx.plan;
    let rr = p.replica_region.clone().unwrap_or_default();
    let mut t = Template::new(format!(
        "{} {}: replica buckets and key (deploy in {rr})",
        p.pipeline, p.env
    ));
    cx.stack_meta(&mut t, StackId::Replica);
    cx.return_key_parameters(&mut t);
    let role_arns = |ids: &[&str]| -> Vec<String> {
        ids.iter()
            .filter_map(|id| p.roles.get(*id))
            .map(|r| r.arn_pattern(p.partition, &p.account))
            .collect()
    };
    let root = format!("arn:{}:iam::{}:root", p.partition, p.account);
    t.add(
        "ReplicaKey",
        cx.key(
            &format!("{}-{}: replicated data in {rr}", p.pipeline, p.env),
            vec![
                json!({
                    "Sid": "UseByReplicationRole",
                    "Effect": "Allow",
                    "Principal": {"AWS": root},
                    "Action": ["kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                    "Resource": "*",
                    "Condition": {"ArnLike": {"aws:PrincipalArn": role_arns(&["bootstrap-replication", "replication"])}},
                }),
                json!({
                    "Sid": "ReadByReturnRole",
                    "Effect": "Allow",
                    "Principal": {"AWS": root},
                    "Action": ["kms:Decrypt", "kms:DescribeKey"],
                    "Resource": "*",
                    "Condition": {"ArnLike": {"aws:PrincipalArn": role_arns(&["replica-return"])}},
                }),
            ],
        ),
    );
    if p.roles.contains_key("replica-return") {
        cx.role_if(
            &mut t,
            "replica-return",
            StackId::Replica,
            RETURN_REPLICATION,
        );
    }
    t.add(
        "ReplicaKeyAlias",
        Resource::new("AWS::KMS::Alias")
            .p("AliasName", Expr::s(format!("{}-replica", p.key_alias)))
            .p("TargetKeyId", Expr::r("ReplicaKey")),
    );
    cx.log_bucket(&mut t, "ReplicaLogsBucket", BucketId::LogsReplica);
    for (id, lid) in [
        (BucketId::RawReplica, "RawReplicaBucket"),
        (BucketId::CuratedReplica, "CuratedReplicaBucket"),
        (BucketId::ResultsReplica, "ResultsReplicaBucket"),
        (BucketId::ArtifactsReplica, "ArtifactsReplicaBucket"),
    ] {
        if !p.buckets.contains_key(&id) {
            continue;
        }
        t.add(
            lid,
            cx.bucket(
                id,
                Some(Expr::att("ReplicaKey", "Arn")),
                Some(Expr::r("ReplicaLogsBucket")),
            )
            .depends("ReplicaLogsBucketPolicy"),
        );
        t.add(
            &format!("{lid}Policy"),
            cx.bucket_policy(lid, id, Vec::new()),
        );
    }
    t.output(
        "ReplicaKeyArn",
        "KMS key of the replica buckets (a parameter of the bootstrap and storage stacks)",
        Expr::att("ReplicaKey", "Arn"),
        None,
    );
    t
}
