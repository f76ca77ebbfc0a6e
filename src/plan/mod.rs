//! Phase 2, lower: a validated spec and one environment → a [`Plan`], the typed
//! graph of components and the data flows between them.
//!
//! Lowering applies the environment's overrides and the defaults, derives every
//! resource name once (checking it against the service's rules), and records every
//! access a component needs as a [`Flow`] with the spec path that caused it. The IAM
//! emitter turns flows into statements; nothing else grants anything. This module
//! does no I/O and knows nothing of CloudFormation.

pub mod names;

use std::collections::BTreeMap;

use pipewright_ingest_config as contract;
use serde::Serialize;

use crate::diag::{Diagnostic, Diagnostics};
use crate::spec::event_schema::{self, ColumnType};
use crate::spec::model::*;
use crate::spec::schedule::Schedule;
use crate::spec::validate::{INDEX_DATASET, partition_of};
use crate::spec::yaml::Seg;
use crate::spec::{Validated, fmt_path};
use names::Rule;

/// Where in the spec something came from: the dotted path, and its line when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    pub path: String,
    pub line: Option<usize>,
}

/// The buckets a plan may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BucketId {
    Artifacts,
    Logs,
    Raw,
    Curated,
    Results,
    RawReplica,
    CuratedReplica,
    LogsReplica,
    ResultsReplica,
    ArtifactsReplica,
}

impl BucketId {
    /// The bucket's short name: the suffix of its physical name and the key the
    /// graph, flows and docs use for it (`raw`, `curated-replica`, ...).
    pub fn key(self) -> &'static str {
        match self {
            BucketId::Artifacts => "artifacts",
            BucketId::Logs => "logs",
            BucketId::Raw => "raw",
            BucketId::Curated => "curated",
            BucketId::Results => "results",
            BucketId::RawReplica => "raw-replica",
            BucketId::CuratedReplica => "curated-replica",
            BucketId::LogsReplica => "logs-replica",
            BucketId::ResultsReplica => "results-replica",
            BucketId::ArtifactsReplica => "artifacts-replica",
        }
    }
}

/// What a principal may do to what. Each variant is one kind of data access; the IAM
/// emitter knows which actions (and KMS uses) each needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Access {
    /// Create objects under a prefix (no read, no delete).
    PutObjects { bucket: BucketId, prefix: String },
    /// Read and list objects under a prefix.
    ReadObjects { bucket: BucketId, prefix: String },
    /// Read, write and delete objects under a prefix (scratch space).
    ScratchObjects { bucket: BucketId, prefix: String },
    /// Write index items (conditional puts in a transaction).
    WriteItems,
    /// Read index items by key.
    ReadItems,
    /// Query one index lookup (a GSI).
    QueryIndex { index: String },
    /// Export the table to a prefix (point-in-time export).
    ExportTable { bucket: BucketId, prefix: String },
    /// Start runs of a Glue job.
    StartJob { job: String },
    /// Write to a CloudWatch log group.
    WriteLogs { group: String },
    /// Send messages to a queue.
    SendMessages { queue: String },
    /// Read table definitions of the catalog database.
    ReadCatalog { tables: Vec<String> },
    /// Create and update table definitions (the crawler).
    UpdateCatalog { tables: Vec<String> },
    /// Run queries in an Athena workgroup.
    QueryAthena,
    /// Create network interfaces in the pipeline's private subnets.
    AttachToVpc,
    /// Register model versions in a model package group.
    RegisterModels,
    /// Replicate objects from a bucket to its replica.
    Replicate { from: BucketId, to: BucketId },
    /// Use the data key directly (client-side encryption of Glue job bookmarks).
    EncryptBookmarks,
    /// Write access logs for API Gateway.
    PushApiLogs { group: String },
}

/// A principal needs an access, for a reason that a spec line caused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flow {
    /// Stable id (`ingest:put-raw:pos`), unique within the plan.
    pub id: String,
    /// The role (a key of [`Plan::roles`]) or external principal that needs it.
    pub principal: Principal,
    pub access: Access,
    pub origin: Origin,
    /// One sentence for reviewers.
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "type", content = "id", rename_all = "kebab-case")]
pub enum Principal {
    /// A role pipewright generates (key of [`Plan::roles`]).
    Role(String),
    /// An IAM principal outside the pipeline (`security.readers`).
    External(String),
}

/// A role pipewright generates.
///
/// CloudFormation names the deployed role (`<stack>-<LogicalId>-<suffix>`), so a role
/// never holds on to a name: it can be replaced like any other resource. `name` is the
/// role's identity for people and reviews (`policies/<env>/<name>.json`, `iam diff`),
/// and in AWS the role's IAM path, `/<name>/`, which no other generated role shares.
/// Policies that must name the role before it exists (key policies) match its path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RolePlan {
    pub name: String,
    /// The service that assumes it (`lambda.amazonaws.com`).
    pub service: String,
    /// What the role is for, in a few words.
    pub purpose: String,
    /// The stack that owns it.
    pub stack: StackId,
    pub origin: Origin,
}

impl RolePlan {
    /// The role's IAM path: `/<name>/`. The name is checked against IAM's role-name
    /// characters and 64-character limit, which keeps the path within IAM's path rules
    /// (`/`, then printable ASCII without spaces, then `/`; at most 512 characters).
    pub fn path(&self) -> String {
        format!("/{}/", self.name)
    }

    /// The ARN of the role when CloudFormation names it `generated`.
    pub fn arn(&self, partition: &str, account: &str, generated: &str) -> String {
        format!(
            "arn:{partition}:iam::{account}:role{}{generated}",
            self.path()
        )
    }

    /// The pattern (for `ArnLike`) that the role's ARN matches whatever name
    /// CloudFormation gives it.
    pub fn arn_pattern(&self, partition: &str, account: &str) -> String {
        self.arn(partition, account, "*")
    }
}

/// The stacks, in deployment order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StackId {
    /// Replica-region buckets and key (PCI-DSS posture), first: S3 refuses a replication
    /// rule whose destination bucket does not exist, and bootstrap's buckets replicate.
    Replica,
    Bootstrap,
    Foundation,
    Network,
    Storage,
    Ingest,
    /// Routes of many sources, split off the ingest stack to stay under
    /// CloudFormation's 500 resources per stack (numbered from 1).
    IngestRoutes(u16),
    /// The API deployment, stage and usage plans, after all route stacks.
    IngestRelease,
    Processing,
    /// Glue jobs of many transforms, split off the processing stack (numbered from 1).
    ProcessingJobs(u16),
    /// Triggers and the crawler, after all job stacks.
    ProcessingCatalog,
    Analytics,
    Ml,
}

impl StackId {
    /// The stack's short name (`ingest`, `ingest-routes-2`), used in its full name
    /// and its file name.
    pub fn name(self) -> String {
        match self {
            StackId::Bootstrap => "bootstrap".into(),
            StackId::Foundation => "foundation".into(),
            StackId::Network => "network".into(),
            StackId::Replica => "replica".into(),
            StackId::Storage => "storage".into(),
            StackId::Ingest => "ingest".into(),
            StackId::IngestRoutes(n) => format!("ingest-routes-{n}"),
            StackId::IngestRelease => "ingest-release".into(),
            StackId::Processing => "processing".into(),
            StackId::ProcessingJobs(n) => format!("processing-jobs-{n}"),
            StackId::ProcessingCatalog => "processing-catalog".into(),
            StackId::Analytics => "analytics".into(),
            StackId::Ml => "ml".into(),
        }
    }
}

/// Most routes kept in one stack; more are split into route stacks of this size.
pub const ROUTES_PER_STACK: usize = 40;
/// Most transforms kept in one stack; more are split into job stacks of this size.
pub const TRANSFORMS_PER_STACK: usize = 15;

#[derive(Debug, Clone, Serialize)]
pub struct BucketPlan {
    pub id: BucketId,
    pub name: String,
    /// Region it lives in (replicas live in the replica region).
    pub region: String,
    /// Days before objects expire (none: kept).
    pub expire_days: Option<u32>,
    /// Days before objects move to the archive class.
    pub archive: Option<(u32, ArchiveClass)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoutePlan {
    pub source: String,
    pub route: String,
    pub auth: Auth,
    pub rate_limit: f64,
    pub burst_limit: u32,
    pub quota: Option<(u32, QuotaPeriod)>,
    pub max_body_bytes: u32,
    pub max_events: u32,
    pub origin: Origin,
}

#[derive(Debug, Clone, Serialize)]
pub struct ColumnPlan {
    pub name: String,
    pub from: String,
    pub ty: String,
    pub nullable: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Trigger {
    Schedule { cron: String },
    After { jobs: Vec<String> },
    OnIngest,
    Manual,
}

#[derive(Debug, Clone, Serialize)]
pub struct TransformPlan {
    pub name: String,
    pub job_name: String,
    pub role: String,
    pub dataset: String,
    pub inputs: Vec<String>,
    pub columns: Vec<ColumnPlan>,
    pub partition_by: Vec<String>,
    /// Highest major version of the inputs' event schemas.
    pub schema_major: u64,
    /// Where the job writes: the dataset of the current major version.
    pub prefix: String,
    /// The dataset of every major version so far (1 to `schema_major`): all stay
    /// crawled and readable.
    pub prefixes: Vec<String>,
    pub trigger: Trigger,
    pub worker_type: WorkerType,
    pub workers: u32,
    pub timeout_minutes: u32,
    pub max_retries: u32,
    pub script_key: String,
    pub log_group: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuickSightDataset {
    pub id: String,
    pub dataset: String,
    pub principals: Vec<String>,
}

/// Everything one environment of the pipeline is made of.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub pipeline: String,
    pub env: String,
    pub description: Option<String>,
    pub account: String,
    pub region: String,
    pub partition: &'static str,
    pub replica_region: Option<String>,
    pub compliance: Vec<Compliance>,
    pub retain: bool,
    pub tags: BTreeMap<String, String>,
    pub log_retention_days: u32,
    pub alarm_email: Option<String>,
    pub permissions_boundary: Option<String>,
    pub key_alias: String,
    pub key_rotation_days: u32,
    pub key_deletion_window_days: u32,
    pub key_admins: Vec<String>,
    pub buckets: BTreeMap<BucketId, BucketPlan>,
    /// The index table's name for people (docs, graph, reviews). CloudFormation names the
    /// deployed table; other stacks import it (storage output `IndexTableName`) and IAM
    /// names it with the `${IndexTableName}` placeholder.
    pub table: String,
    pub lookups: Vec<Lookup>,
    pub index_ttl_days: Option<u32>,
    pub api_name: String,
    pub stage: String,
    pub api_log_group: String,
    pub routes: Vec<RoutePlan>,
    /// Route indices per route stack; a single group means no split.
    pub route_groups: Vec<Vec<usize>>,
    /// Transform indices per job stack; a single group means no split.
    pub transform_groups: Vec<Vec<usize>>,
    pub function_name: String,
    pub function_log_group: String,
    pub dlq_name: String,
    pub alarm_topic: String,
    pub memory_mb: u32,
    pub timeout_seconds: u32,
    pub architecture: Architecture,
    pub reserved_concurrency: Option<u32>,
    pub ingest_config: contract::IngestConfig,
    pub transforms: Vec<TransformPlan>,
    /// Parquet compression of curated datasets.
    pub compression: Compression,
    pub database: String,
    pub crawler_name: String,
    pub crawler_schedule: Option<String>,
    /// The crawler's log group, a pattern (no crawler, no group): Glue names it after
    /// the role's path and name and the security configuration, and CloudFormation
    /// names the role.
    pub crawler_log_group: Option<String>,
    pub glue_security_configuration: String,
    pub on_change: UpdateBehavior,
    pub on_delete: DeleteBehavior,
    pub workgroup: String,
    pub bytes_scanned_cutoff: u64,
    pub quicksight: Vec<QuickSightDataset>,
    pub index_export: Option<String>,
    pub model_package_group: Option<String>,
    pub network: Option<NetworkPlan>,
    pub roles: BTreeMap<String, RolePlan>,
    pub flows: Vec<Flow>,
    pub stacks: BTreeMap<StackId, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NetworkPlan {
    pub cidr: String,
    pub subnets: Vec<String>,
}

/// The AWS Guard rule packs a `pci-dss` environment is built to pass with no failure
/// (recorded in each template's `Metadata.pipewright.rule_sets`; `scripts/judges/guard`).
pub const PCI_DSS_RULE_SETS: [&str; 5] = [
    "pci_dss_3_2_1",
    "wa-Security-Pillar",
    "wa-Reliability-Pillar",
    "cfn_nag",
    "nist800_53rev5",
];

/// API Gateway's own name for a stage's execution log group: this prefix, the API id,
/// `/`, the stage name.
pub const API_EXECUTION_LOG_PREFIX: &str = "API-Gateway-Execution-Logs_";

/// Prefixes inside buckets.
pub mod prefix {
    pub fn curated(dataset: &str) -> String {
        format!("curated/{dataset}/")
    }
    /// The dataset of an event-schema major version: `curated/<dataset>/` for major 0
    /// and 1, `curated/<dataset>_v<major>/` from 2 on (a breaking schema change writes
    /// a new dataset, and the crawler a new table, beside the earlier ones).
    pub fn curated_version(dataset: &str, major: u64) -> String {
        if major <= 1 {
            curated(dataset)
        } else {
            format!("curated/{dataset}_v{major}/")
        }
    }
    pub fn transform_rejects(transform: &str) -> String {
        format!("rejected/{transform}/")
    }
    pub const INDEX_EXPORT: &str = "index-export/";
    pub fn models(group: &str) -> String {
        format!("models/{group}/")
    }
    /// Folder of a job's scripts; each script's key is `<folder><sha256>.py`.
    pub fn glue_script(job: &str) -> String {
        format!("glue/scripts/{job}/")
    }
    pub fn glue_temp(job: &str) -> String {
        format!("glue/temp/{job}/")
    }
    pub fn athena_results(who: &str) -> String {
        format!("athena/{who}/")
    }
}

/// The AWS service principal domain of a partition.
pub fn service_principal(service: &str) -> String {
    format!("{service}.amazonaws.com")
}

struct Lower<'a> {
    v: &'a Validated,
    diags: Diagnostics,
    flows: Vec<Flow>,
    roles: BTreeMap<String, RolePlan>,
}

impl Lower<'_> {
    fn origin(&self, keys: &[&str]) -> Origin {
        let path: Vec<Seg> = keys.iter().map(|k| Seg::Key((*k).to_owned())).collect();
        Origin {
            path: fmt_path(&path),
            line: self.v.doc.span_of(&path).map(|s| s.line),
        }
    }

    fn name(&mut self, name: String, rule: Rule, what: &str, fix: &str, at: &[&str]) -> String {
        if let Some(d) = names::check(&name, rule, what, fix) {
            let path: Vec<Seg> = at.iter().map(|k| Seg::Key((*k).to_owned())).collect();
            self.diags.push(
                d.at_opt(self.v.doc.span_of(&path))
                    .with_path(fmt_path(&path)),
            );
        }
        name
    }

    fn flow(
        &mut self,
        id: String,
        role: &str,
        access: Access,
        origin: Origin,
        why: impl Into<String>,
    ) {
        self.flows.push(Flow {
            id,
            principal: Principal::Role(role.to_owned()),
            access,
            origin,
            why: why.into(),
        });
    }
}

/// Lowers one environment. Errors are naming-rule or quota violations that only
/// show once names are derived.
pub fn lower(v: &Validated, env_name: &str) -> Result<Plan, Diagnostics> {
    let spec = &v.spec;
    let Some(env) = spec.environments.get(env_name) else {
        let mut d = Diagnostics::default();
        d.push(Diagnostic::error(
            "PW0203",
            format!("environment `{env_name}` is not defined"),
        ));
        return Err(d);
    };
    let mut lw = Lower {
        v,
        diags: Diagnostics::default(),
        flows: Vec::new(),
        roles: BTreeMap::new(),
    };
    let p = spec.name.as_str();
    let e = env_name;
    let acct = env.account.as_str();
    let partition = partition_of(&env.region);
    let base = format!("{p}-{e}");
    let fix_base = "the pipeline `name` or the environment name";
    let compliance = spec.compliance(env);
    let pci = compliance.contains(&Compliance::PciDss);
    let retain = env.retain_data.unwrap_or(true);

    // Tags: owner, cost centre, spec tags, environment tags (later wins).
    let mut tags = BTreeMap::new();
    tags.insert("Owner".to_owned(), spec.owner.clone());
    if let Some(c) = &spec.cost_centre {
        tags.insert("CostCentre".to_owned(), c.clone());
    }
    tags.insert("pipewright:pipeline".to_owned(), p.to_owned());
    tags.insert("pipewright:environment".to_owned(), e.to_owned());
    tags.extend(spec.tags.clone());
    tags.extend(env.tags.clone());

    // Stacks
    let mut stacks = BTreeMap::new();
    for s in [
        StackId::Bootstrap,
        StackId::Foundation,
        StackId::Storage,
        StackId::Ingest,
        StackId::Processing,
        StackId::Analytics,
        StackId::Ml,
    ] {
        let n = lw.name(
            format!("{base}-{}", s.name()),
            Rule::Stack,
            "stack",
            fix_base,
            &["name"],
        );
        stacks.insert(s, n);
    }
    if pci {
        for s in [StackId::Network, StackId::Replica] {
            let n = lw.name(
                format!("{base}-{}", s.name()),
                Rule::Stack,
                "stack",
                fix_base,
                &["name"],
            );
            stacks.insert(s, n);
        }
    }
    if spec.analytics.is_none() {
        stacks.remove(&StackId::Analytics);
    }
    if spec.ml.is_none() {
        stacks.remove(&StackId::Ml);
    }

    // Buckets
    let (raw_days, archive) = spec.raw_lifecycle(env);
    let curated_days = env
        .storage
        .transformed_retention_days
        .or(spec.storage.transformed.retention_days);
    let results_days = spec
        .analytics
        .as_ref()
        .map(|a| a.athena.results_retention_days);
    let log_days = env.log_retention_days.unwrap_or(365);
    let mut buckets = BTreeMap::new();
    let mut bucket = |lw: &mut Lower<'_>,
                      id: BucketId,
                      purpose: &str,
                      region: &str,
                      expire: Option<u32>,
                      arch: Option<(u32, ArchiveClass)>| {
        let name = lw.name(
            format!("{base}-{purpose}-{acct}"),
            Rule::S3Bucket,
            "bucket",
            fix_base,
            &["name"],
        );
        buckets.insert(
            id,
            BucketPlan {
                id,
                name,
                region: region.to_owned(),
                expire_days: expire,
                archive: arch,
            },
        );
    };
    let archive_plan = archive.map(|a| (a, spec.storage.raw.archive_class));
    bucket(
        &mut lw,
        BucketId::Artifacts,
        "artifacts",
        &env.region,
        None,
        None,
    );
    bucket(
        &mut lw,
        BucketId::Logs,
        "logs",
        &env.region,
        Some(log_days.max(90)),
        None,
    );
    bucket(
        &mut lw,
        BucketId::Raw,
        "raw",
        &env.region,
        Some(raw_days),
        archive_plan,
    );
    bucket(
        &mut lw,
        BucketId::Curated,
        "curated",
        &env.region,
        curated_days,
        None,
    );
    if spec.analytics.is_some() {
        bucket(
            &mut lw,
            BucketId::Results,
            "results",
            &env.region,
            results_days,
            None,
        );
    }
    if let (true, Some(rr)) = (pci, &env.replica_region) {
        bucket(
            &mut lw,
            BucketId::RawReplica,
            "raw-replica",
            rr,
            Some(raw_days),
            archive_plan,
        );
        bucket(
            &mut lw,
            BucketId::CuratedReplica,
            "curated-replica",
            rr,
            curated_days,
            None,
        );
        bucket(
            &mut lw,
            BucketId::LogsReplica,
            "logs-replica",
            rr,
            Some(log_days.max(90)),
            None,
        );
        bucket(
            &mut lw,
            BucketId::ArtifactsReplica,
            "artifacts-replica",
            rr,
            None,
            None,
        );
        if spec.analytics.is_some() {
            bucket(
                &mut lw,
                BucketId::ResultsReplica,
                "results-replica",
                rr,
                results_days,
                None,
            );
        }
    }

    // Key, table, topic, queue, function, API
    let key_alias = lw.name(
        format!("alias/{base}-data"),
        Rule::KmsAlias,
        "KMS alias",
        fix_base,
        &["name"],
    );
    let table = lw.name(
        format!("{base}-index"),
        Rule::DynamoTable,
        "table",
        fix_base,
        &["name"],
    );
    let alarm_topic = lw.name(
        format!("{base}-alarms"),
        Rule::SnsTopic,
        "topic",
        fix_base,
        &["name"],
    );
    let dlq_name = lw.name(
        format!("{base}-ingest-dlq"),
        Rule::SqsQueue,
        "queue",
        fix_base,
        &["name"],
    );
    let function_name = lw.name(
        format!("{base}-ingest"),
        Rule::LambdaFunction,
        "function",
        fix_base,
        &["name"],
    );
    let function_log_group = format!("/aws/lambda/{function_name}");
    let api_name = lw.name(
        format!("{base}-api"),
        Rule::ApiName,
        "API",
        fix_base,
        &["name"],
    );
    let api_log_group = lw.name(
        format!("/aws/apigateway/{base}-access"),
        Rule::LogGroup,
        "log group",
        fix_base,
        &["name"],
    );

    // Roles
    let role = |lw: &mut Lower<'_>,
                id: &str,
                service: &str,
                purpose: &str,
                stack: StackId,
                at: &[&str]| {
        let name = lw.name(format!("{base}-{id}"), Rule::IamRole, "role", fix_base, at);
        let origin = lw.origin(at);
        lw.roles.insert(
            id.to_owned(),
            RolePlan {
                name,
                service: service_principal(service),
                purpose: purpose.to_owned(),
                stack,
                origin,
            },
        );
    };
    role(
        &mut lw,
        "ingest",
        "lambda",
        "the ingest function",
        StackId::Ingest,
        &["sources"],
    );
    role(
        &mut lw,
        "apigw-logs",
        "apigateway",
        "API Gateway access logging",
        StackId::Ingest,
        &["sources"],
    );

    // Routes and ingest flows
    let mut routes = Vec::new();
    for (name, src) in &spec.sources {
        let ov = env.sources.get(name);
        let throttle = ov
            .and_then(|o| o.throttle.clone())
            .unwrap_or_else(|| src.throttle.clone());
        let quota = ov
            .and_then(|o| o.quota.clone())
            .or_else(|| src.quota.clone());
        routes.push(RoutePlan {
            source: name.clone(),
            route: src.route.trim_end_matches('/').to_owned(),
            auth: ov.and_then(|o| o.auth).unwrap_or(src.auth),
            rate_limit: throttle.rate_limit,
            burst_limit: throttle.burst_limit,
            quota: quota.map(|q| (q.limit, q.period)),
            max_body_bytes: src.limits.max_body_bytes,
            max_events: src.limits.max_events,
            origin: lw.origin(&["sources", name, "route"]),
        });
        let o = lw.origin(&["sources", name]);
        lw.flow(
            format!("ingest:put-raw:{name}"),
            "ingest",
            Access::PutObjects {
                bucket: BucketId::Raw,
                prefix: contract::layout::raw_prefix(name),
            },
            o.clone(),
            format!("store accepted `{name}` events as received"),
        );
        lw.flow(
            format!("ingest:put-rejected:{name}"),
            "ingest",
            Access::PutObjects {
                bucket: BucketId::Raw,
                prefix: contract::layout::rejected_prefix(name),
            },
            o,
            format!("keep rejected `{name}` events with their reasons"),
        );
    }
    let io = lw.origin(&["index"]);
    lw.flow(
        "ingest:write-index".into(),
        "ingest",
        Access::WriteItems,
        io.clone(),
        "record each stored object (and idempotency keys) in the index",
    );
    lw.flow(
        "ingest:read-idempotency".into(),
        "ingest",
        Access::ReadItems,
        io,
        "answer retried requests from their idempotency record",
    );
    let ingo = lw.origin(&["ingest"]);
    lw.flow(
        "ingest:logs".into(),
        "ingest",
        Access::WriteLogs {
            group: function_log_group.clone(),
        },
        ingo.clone(),
        "write the function's logs and metrics",
    );
    lw.flow(
        "ingest:dead-letters".into(),
        "ingest",
        Access::SendMessages {
            queue: dlq_name.clone(),
        },
        ingo.clone(),
        "park events of failed asynchronous invocations",
    );
    lw.flow(
        "apigw-logs:access-logs".into(),
        "apigw-logs",
        Access::PushApiLogs {
            group: api_log_group.clone(),
        },
        lw.origin(&["sources"]),
        "write API access logs",
    );
    lw.flow(
        "apigw-logs:execution-logs".into(),
        "apigw-logs",
        Access::PushApiLogs {
            group: format!("{API_EXECUTION_LOG_PREFIX}*/{e}"),
        },
        lw.origin(&["sources"]),
        "write API execution logs (errors only) of the stage; the API id is known only after deployment",
    );
    if pci {
        lw.flow(
            "ingest:vpc".into(),
            "ingest",
            Access::AttachToVpc,
            lw.origin(&["environments", e]),
            "run the function in the pipeline's private subnets",
        );
    }

    // Transforms
    let database = {
        let db = spec
            .catalog
            .database
            .clone()
            .unwrap_or_else(|| p.replace('-', "_"));
        lw.name(
            format!("{db}_{e}"),
            Rule::GlueDatabase,
            "Glue database",
            "`catalog.database`",
            &["catalog"],
        )
    };
    let mut transforms = Vec::new();
    let mut on_ingest_jobs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (tname, t) in &spec.transforms {
        let ov = env.transforms.get(tname);
        let job_name = lw.name(
            format!("{base}-{tname}"),
            Rule::GlueName,
            "Glue job",
            "the transform name",
            &["transforms", tname],
        );
        let role_id = format!("transform-{tname}");
        role(
            &mut lw,
            &role_id,
            "glue",
            &format!("Glue job `{tname}`"),
            StackId::Processing,
            &["transforms", tname],
        );
        let dataset = t.dataset.clone().unwrap_or_else(|| tname.clone());
        let schema_major = t
            .inputs
            .iter()
            .filter_map(|i| spec.sources.get(i))
            .filter_map(|s| crate::spec::event_schema::Version::parse(&s.schema.version))
            .map(|v| v.major)
            .max()
            .unwrap_or(1);
        let prefixes: Vec<String> = (1..=schema_major.max(1))
            .map(|m| prefix::curated_version(&dataset, m))
            .collect();
        let schedule = ov
            .and_then(|o| o.schedule.clone())
            .or_else(|| t.schedule.clone());
        let trigger = if let Some(s) = schedule {
            match Schedule::parse(&s).and_then(|sc| sc.to_glue_cron()) {
                Ok(cron) => Trigger::Schedule { cron },
                Err(_) => Trigger::Manual, // validated earlier
            }
        } else if !t.after.is_empty() {
            Trigger::After {
                jobs: t.after.iter().map(|a| format!("{base}-{a}")).collect(),
            }
        } else if t.on_ingest {
            for input in &t.inputs {
                on_ingest_jobs
                    .entry(input.clone())
                    .or_default()
                    .push(job_name.clone());
            }
            Trigger::OnIngest
        } else {
            Trigger::Manual
        };
        let workers = ov
            .and_then(|o| o.workers.clone())
            .unwrap_or_else(|| t.workers.clone());
        let columns = columns_of(v, t);
        let script_key = prefix::glue_script(&job_name);
        let to = lw.origin(&["transforms", tname]);
        for input in &t.inputs {
            lw.flow(
                format!("{role_id}:read-raw:{input}"),
                &role_id,
                Access::ReadObjects {
                    bucket: BucketId::Raw,
                    prefix: contract::layout::raw_prefix(input),
                },
                lw.origin(&["transforms", tname, "inputs"]),
                format!("read raw `{input}` events"),
            );
        }
        let current = prefixes.last().cloned().unwrap_or_default();
        lw.flow(
            format!("{role_id}:write-dataset"),
            &role_id,
            Access::PutObjects {
                bucket: BucketId::Curated,
                prefix: current.clone(),
            },
            to.clone(),
            format!("write the `{dataset}` dataset"),
        );
        lw.flow(
            format!("{role_id}:read-dataset"),
            &role_id,
            Access::ReadObjects {
                bucket: BucketId::Curated,
                prefix: current,
            },
            to.clone(),
            "recognise events the dataset already holds (de-duplication across runs)",
        );
        lw.flow(
            format!("{role_id}:write-rejects"),
            &role_id,
            Access::PutObjects {
                bucket: BucketId::Curated,
                prefix: prefix::transform_rejects(tname),
            },
            to.clone(),
            "keep rows that fail parsing or casting, with the reason",
        );
        lw.flow(
            format!("{role_id}:read-script"),
            &role_id,
            Access::ReadObjects {
                bucket: BucketId::Artifacts,
                prefix: script_key.clone(),
            },
            to.clone(),
            "load the job's script",
        );
        lw.flow(
            format!("{role_id}:temp"),
            &role_id,
            Access::ScratchObjects {
                bucket: BucketId::Artifacts,
                prefix: prefix::glue_temp(&job_name),
            },
            to.clone(),
            "use the job's temporary directory",
        );
        // Glue 5 writes to `<prefix>/error` and `<prefix>/output` with
        // `--custom-logGroup-prefix`; the groups are created (encrypted, with
        // retention) by the processing stack.
        let log_group = format!("/aws-glue/jobs/{job_name}");
        for stream in ["error", "output"] {
            lw.flow(
                format!("{role_id}:logs-{stream}"),
                &role_id,
                Access::WriteLogs {
                    group: format!("{log_group}/{stream}"),
                },
                to.clone(),
                format!("write the job's {stream} log"),
            );
        }
        lw.flow(
            format!("{role_id}:bookmarks"),
            &role_id,
            Access::EncryptBookmarks,
            to.clone(),
            "encrypt job bookmarks (which raw objects were processed)",
        );
        if pci {
            lw.flow(
                format!("{role_id}:vpc"),
                &role_id,
                Access::AttachToVpc,
                lw.origin(&["environments", e]),
                "run in the pipeline's private subnets",
            );
        }
        if let Trigger::After { .. } = &trigger {
            // Triggers are started by Glue itself; no permission needed.
        }
        transforms.push(TransformPlan {
            name: tname.clone(),
            job_name,
            role: role_id,
            dataset,
            inputs: t.inputs.clone(),
            columns,
            partition_by: t.partition_by.clone(),
            schema_major,
            prefix: prefixes.last().cloned().unwrap_or_default(),
            prefixes,
            trigger,
            worker_type: workers.ty,
            workers: workers.count,
            timeout_minutes: t.timeout_minutes,
            max_retries: t.max_retries,
            script_key,
            log_group,
        });
    }
    for (src, jobs) in &on_ingest_jobs {
        for job in jobs {
            lw.flow(
                format!("ingest:start-job:{job}"),
                "ingest",
                Access::StartJob { job: job.clone() },
                lw.origin(&["sources", src]),
                format!("start `{job}` after storing `{src}` events"),
            );
        }
    }

    // Catalog crawler
    let crawler_name = lw.name(
        format!("{base}-curated"),
        Rule::GlueName,
        "crawler",
        fix_base,
        &["catalog"],
    );
    let glue_security_configuration = format!("{base}-glue");
    let mut crawler_log_group = None;
    let datasets: Vec<String> = transforms.iter().map(|t| t.dataset.clone()).collect();
    if !transforms.is_empty() {
        role(
            &mut lw,
            "crawler",
            "glue",
            "the catalog crawler",
            StackId::Processing,
            &["catalog"],
        );
        // With a security configuration, Glue writes a crawler's logs to
        // `/aws-glue/crawlers-role/<role path without its first slash><role name>-<configuration>`;
        // the generated role name is the only part not known here.
        let group = format!(
            "/aws-glue/crawlers-role{}*-{glue_security_configuration}",
            lw.roles["crawler"].path()
        );
        crawler_log_group = Some(group.clone());
        let co = lw.origin(&["catalog"]);
        for d in &datasets {
            for (n, p) in dataset_prefixes(&transforms, d).into_iter().enumerate() {
                lw.flow(
                    versioned_id(format!("crawler:read-dataset:{d}"), n),
                    "crawler",
                    Access::ReadObjects {
                        bucket: BucketId::Curated,
                        prefix: p,
                    },
                    co.clone(),
                    format!("infer the `{d}` table's schema and partitions"),
                );
            }
        }
        lw.flow(
            "crawler:update-catalog".into(),
            "crawler",
            Access::UpdateCatalog {
                tables: datasets.clone(),
            },
            co.clone(),
            "create and update the datasets' tables",
        );
        lw.flow(
            "crawler:logs".into(),
            "crawler",
            Access::WriteLogs { group },
            co,
            "write the crawler's logs",
        );
    }
    let crawler_schedule = spec
        .catalog
        .crawler
        .schedule
        .as_deref()
        .and_then(|s| Schedule::parse(s).ok()?.to_glue_cron().ok());

    // Analytics
    let mut quicksight = Vec::new();
    let mut index_export = None;
    let workgroup = spec
        .analytics
        .as_ref()
        .and_then(|a| a.athena.workgroup.clone())
        .map(|w| format!("{w}-{e}"))
        .unwrap_or_else(|| base.clone());
    let workgroup = lw.name(
        workgroup,
        Rule::AthenaWorkgroup,
        "Athena workgroup",
        "`analytics.athena.workgroup`",
        &["analytics"],
    );
    if let Some(qs) = spec.analytics.as_ref().and_then(|a| a.quicksight.as_ref()) {
        role(
            &mut lw,
            "quicksight",
            "quicksight",
            "QuickSight's Athena data source",
            StackId::Analytics,
            &["analytics", "quicksight"],
        );
        let mut by_dataset: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for pr in &qs.principals {
            let arn = quicksight_arn(&pr.principal, partition, &env.region, acct);
            for d in &pr.datasets {
                by_dataset.entry(d.clone()).or_default().push(arn.clone());
            }
        }
        let qo = lw.origin(&["analytics", "quicksight"]);
        lw.flow(
            "quicksight:query".into(),
            "quicksight",
            Access::QueryAthena,
            qo.clone(),
            "run Athena queries for dashboards",
        );
        lw.flow(
            "quicksight:results".into(),
            "quicksight",
            Access::ScratchObjects {
                bucket: BucketId::Results,
                prefix: prefix::athena_results("quicksight"),
            },
            qo.clone(),
            "store and read Athena query results",
        );
        let mut tables = Vec::new();
        for (d, principals) in by_dataset {
            let (bucket_prefix, table) = if d == INDEX_DATASET {
                (prefix::INDEX_EXPORT.to_owned(), "index_export".to_owned())
            } else {
                (prefix::curated(&d), d.clone())
            };
            lw.flow(
                format!("quicksight:read:{d}"),
                "quicksight",
                Access::ReadObjects {
                    bucket: BucketId::Curated,
                    prefix: bucket_prefix,
                },
                qo.clone(),
                format!("read the `{d}` dataset for dashboards"),
            );
            tables.push(table.clone());
            let mut principals = principals;
            principals.sort();
            principals.dedup();
            quicksight.push(QuickSightDataset {
                id: format!("{base}-{d}"),
                dataset: table,
                principals,
            });
        }
        lw.flow(
            "quicksight:catalog".into(),
            "quicksight",
            Access::ReadCatalog { tables },
            qo.clone(),
            "read the tables' definitions",
        );
        if quicksight.iter().any(|q| q.dataset == "index_export") {
            let schedule = qs
                .index_export_schedule
                .clone()
                .unwrap_or_else(|| "rate(1 day)".into());
            role(
                &mut lw,
                "index-export",
                "scheduler",
                "the scheduled index export",
                StackId::Analytics,
                &["analytics", "quicksight"],
            );
            lw.flow(
                "index-export:export".into(),
                "index-export",
                Access::ExportTable {
                    bucket: BucketId::Curated,
                    prefix: prefix::INDEX_EXPORT.into(),
                },
                qo,
                "export the index to S3 so QuickSight can read it",
            );
            index_export = Some(schedule);
        }
    }

    // ML
    let mut model_package_group = None;
    if let Some(ml) = &spec.ml {
        let group = lw.name(
            format!("{base}-{}", ml.model_package_group),
            Rule::ModelPackageGroup,
            "model package group",
            "`ml.model_package_group`",
            &["ml", "model_package_group"],
        );
        role(
            &mut lw,
            "sagemaker",
            "sagemaker",
            "SageMaker training",
            StackId::Ml,
            &["ml"],
        );
        for s in &ml.sources {
            lw.flow(
                format!("sagemaker:read-raw:{s}"),
                "sagemaker",
                Access::ReadObjects {
                    bucket: BucketId::Raw,
                    prefix: contract::layout::raw_prefix(s),
                },
                lw.origin(&["ml", "sources"]),
                format!("train on raw `{s}` events"),
            );
        }
        for d in &ml.datasets {
            for (n, p) in dataset_prefixes(&transforms, d).into_iter().enumerate() {
                lw.flow(
                    versioned_id(format!("sagemaker:read-dataset:{d}"), n),
                    "sagemaker",
                    Access::ReadObjects {
                        bucket: BucketId::Curated,
                        prefix: p,
                    },
                    lw.origin(&["ml", "datasets"]),
                    format!("train on the `{d}` dataset"),
                );
            }
        }
        for l in &ml.index_lookups {
            lw.flow(
                format!("sagemaker:query:{}", l.as_str()),
                "sagemaker",
                Access::QueryIndex {
                    index: l.as_str().to_owned(),
                },
                lw.origin(&["ml", "index_lookups"]),
                format!("pick datasets through the index's `{}` lookup", l.as_str()),
            );
        }
        let mo = lw.origin(&["ml", "model_package_group"]);
        lw.flow(
            "sagemaker:models".into(),
            "sagemaker",
            Access::PutObjects {
                bucket: BucketId::Curated,
                prefix: prefix::models(&group),
            },
            mo.clone(),
            "write model artifacts",
        );
        lw.flow(
            "sagemaker:read-models".into(),
            "sagemaker",
            Access::ReadObjects {
                bucket: BucketId::Curated,
                prefix: prefix::models(&group),
            },
            mo.clone(),
            "read model artifacts back",
        );
        lw.flow(
            "sagemaker:register".into(),
            "sagemaker",
            Access::RegisterModels,
            mo,
            "register model versions",
        );
        lw.flow(
            "sagemaker:logs".into(),
            "sagemaker",
            Access::WriteLogs {
                group: "/aws/sagemaker/TrainingJobs".into(),
            },
            lw.origin(&["ml"]),
            "write training job logs",
        );
        if pci {
            lw.flow(
                "sagemaker:vpc".into(),
                "sagemaker",
                Access::AttachToVpc,
                lw.origin(&["environments", e]),
                "train in the pipeline's private subnets",
            );
        }
        model_package_group = Some(group);
    }

    // Replication (PCI-DSS posture), one role per stack that holds the rules: storage's
    // buckets by a role of the storage stack; bootstrap's (artifacts, access logs) by a
    // role of the bootstrap stack, which is deployed before storage; and the way back,
    // every replica to its source (two-way replication, so that data written in the
    // replica region after a failover returns), by a role of the replica stack. S3 does
    // not replicate replicas, so nothing loops. The sources exist only after the replica
    // stack, so `deploy` turns the way back on in a second pass over that stack (its
    // `DataKeyArn` and `ArtifactsKeyArn` parameters).
    if pci && env.replica_region.is_some() {
        use BucketId as B;
        let ro = lw.origin(&["environments", e, "replica_region"]);
        type Pairs = &'static [(BucketId, BucketId)];
        let rules: [(&str, &str, StackId, Pairs); 3] = [
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
        for (id, purpose, stack, pairs) in rules {
            role(
                &mut lw,
                id,
                "s3",
                purpose,
                stack,
                &["environments", e, "replica_region"],
            );
            for &(from, to) in pairs {
                if !buckets.contains_key(&from) || !buckets.contains_key(&to) {
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
                lw.flow(
                    format!("{id}:{}", from.key()),
                    id,
                    Access::Replicate { from, to },
                    ro.clone(),
                    what,
                );
            }
        }
    }

    // External readers
    for (i, r) in spec.security.readers.iter().enumerate() {
        let principal = placeholders(&r.principal, partition, &env.region, acct);
        let idx = i.to_string();
        let ro = lw.origin(&["security", "readers", &idx]);
        for s in &r.sources {
            lw.flows.push(Flow {
                id: format!("reader-{i}:read-raw:{s}"),
                principal: Principal::External(principal.clone()),
                access: Access::ReadObjects {
                    bucket: BucketId::Raw,
                    prefix: contract::layout::raw_prefix(s),
                },
                origin: ro.clone(),
                why: format!("`security.readers` grants raw `{s}` events"),
            });
        }
        for d in &r.datasets {
            for (n, p) in dataset_prefixes(&transforms, d).into_iter().enumerate() {
                lw.flows.push(Flow {
                    id: versioned_id(format!("reader-{i}:read-dataset:{d}"), n),
                    principal: Principal::External(principal.clone()),
                    access: Access::ReadObjects {
                        bucket: BucketId::Curated,
                        prefix: p,
                    },
                    origin: ro.clone(),
                    why: format!("`security.readers` grants the `{d}` dataset"),
                });
            }
        }
    }

    let network = if pci {
        let cidr = env
            .network
            .cidr
            .clone()
            .unwrap_or_else(|| "10.0.0.0/16".into());
        let azs = env.network.availability_zones.unwrap_or(2);
        Some(NetworkPlan {
            subnets: subnets(&cidr, azs),
            cidr,
        })
    } else {
        None
    };

    let boundary = env
        .permissions_boundary
        .as_ref()
        .or(spec.security.permissions_boundary.as_ref())
        .map(|b| placeholders(b, partition, &env.region, acct));
    let key_admins = if spec.security.kms.admins.is_empty() {
        vec![format!("arn:{partition}:iam::{acct}:root")]
    } else {
        spec.security
            .kms
            .admins
            .iter()
            .map(|a| placeholders(a, partition, &env.region, acct))
            .collect()
    };
    let mut lookups = spec.index.lookups.clone();
    lookups.sort();
    lookups.dedup();
    let index_ttl_days = env
        .index_ttl_days
        .or(spec.index.ttl_days)
        .or(Some(raw_days));
    let ingest_config = contract::IngestConfig {
        version: contract::CONFIG_VERSION,
        pipeline: p.to_owned(),
        environment: e.to_owned(),
        partitioning: match spec.storage.raw.partitioning {
            Partitioning::Hour => contract::Partitioning::Hour,
            Partitioning::Day => contract::Partitioning::Day,
        },
        gzip_level: spec.ingest.gzip_level,
        max_device_ids: spec.index.max_device_ids,
        index_ttl_days,
        idempotency_ttl_days: 7,
        lookups: contract::Lookups {
            by_source_date: lookups.contains(&Lookup::BySourceDate),
            by_device: lookups.contains(&Lookup::ByDevice),
            by_schema_version: lookups.contains(&Lookup::BySchemaVersion),
        },
        sources: spec
            .sources
            .iter()
            .map(|(n, s)| {
                (
                    n.clone(),
                    contract::SourceConfig {
                        route: s.route.trim_end_matches('/').to_owned(),
                        schema_version: s.schema.version.clone(),
                        schema: v
                            .schemas
                            .get(n)
                            .map(|l| l.value.clone())
                            .unwrap_or_default(),
                        max_body_bytes: s.limits.max_body_bytes,
                        max_events: s.limits.max_events,
                        id_field: s.fields.id.clone(),
                        time_field: s.fields.time.clone(),
                        device_field: s.fields.device.clone(),
                        start_jobs: on_ingest_jobs.get(n).cloned().unwrap_or_default(),
                    },
                )
            })
            .collect(),
    };

    let route_groups = groups(routes.len(), ROUTES_PER_STACK);
    if route_groups.len() > 1 {
        for i in 1..=route_groups.len() {
            let id = StackId::IngestRoutes(i as u16);
            let n = lw.name(
                format!("{base}-{}", id.name()),
                Rule::Stack,
                "stack",
                fix_base,
                &["name"],
            );
            stacks.insert(id, n);
        }
        let n = lw.name(
            format!("{base}-{}", StackId::IngestRelease.name()),
            Rule::Stack,
            "stack",
            fix_base,
            &["name"],
        );
        stacks.insert(StackId::IngestRelease, n);
    }
    let transform_groups = groups(transforms.len(), TRANSFORMS_PER_STACK);
    if transform_groups.len() > 1 {
        for i in 1..=transform_groups.len() {
            let id = StackId::ProcessingJobs(i as u16);
            let n = lw.name(
                format!("{base}-{}", id.name()),
                Rule::Stack,
                "stack",
                fix_base,
                &["name"],
            );
            stacks.insert(id, n);
        }
        let n = lw.name(
            format!("{base}-{}", StackId::ProcessingCatalog.name()),
            Rule::Stack,
            "stack",
            fix_base,
            &["name"],
        );
        stacks.insert(StackId::ProcessingCatalog, n);
    }
    let mut flows = std::mem::take(&mut lw.flows);
    flows.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(w) = flows.windows(2).find(|w| w[0].id == w[1].id) {
        lw.diags.push(Diagnostic::error(
            "PW0301",
            format!("internal: two flows with id `{}`", w[0].id),
        ));
    }
    if lw.diags.has_errors() {
        return Err(lw.diags);
    }
    Ok(Plan {
        pipeline: p.to_owned(),
        env: e.to_owned(),
        description: spec.description.clone(),
        account: acct.to_owned(),
        region: env.region.clone(),
        partition,
        replica_region: if pci {
            env.replica_region.clone()
        } else {
            None
        },
        compliance,
        retain,
        tags,
        log_retention_days: log_days,
        alarm_email: env.alarm_email.clone(),
        permissions_boundary: boundary,
        key_alias,
        key_rotation_days: spec.security.kms.rotation_days,
        key_deletion_window_days: spec.security.kms.deletion_window_days,
        key_admins,
        buckets,
        table,
        lookups,
        index_ttl_days,
        api_name,
        stage: e.to_owned(),
        api_log_group,
        routes,
        route_groups,
        transform_groups,
        function_name,
        function_log_group,
        dlq_name,
        alarm_topic,
        memory_mb: env.ingest.memory_mb.unwrap_or(spec.ingest.memory_mb),
        timeout_seconds: spec.ingest.timeout_seconds,
        architecture: spec.ingest.architecture,
        reserved_concurrency: env
            .ingest
            .reserved_concurrency
            .or(spec.ingest.reserved_concurrency),
        ingest_config,
        transforms,
        compression: spec.storage.transformed.compression,
        database,
        crawler_name,
        crawler_schedule,
        crawler_log_group,
        glue_security_configuration,
        on_change: spec.catalog.crawler.on_change,
        on_delete: spec.catalog.crawler.on_delete,
        workgroup,
        bytes_scanned_cutoff: spec
            .analytics
            .as_ref()
            .map_or(10240, |a| a.athena.bytes_scanned_cutoff_mb)
            * 1024
            * 1024,
        quicksight,
        index_export,
        model_package_group,
        network,
        roles: lw.roles,
        flows,
        stacks,
    })
}

/// Indices `0..n` in chunks of `size` (one chunk, possibly empty, when `n <= size`).
fn groups(n: usize, size: usize) -> Vec<Vec<usize>> {
    if n <= size {
        return vec![(0..n).collect()];
    }
    (0..n)
        .collect::<Vec<_>>()
        .chunks(size)
        .map(<[usize]>::to_vec)
        .collect()
}

/// Replaces `{account}`, `{region}` and `{partition}`.
pub fn placeholders(s: &str, partition: &str, region: &str, account: &str) -> String {
    s.replace("{account}", account)
        .replace("{region}", region)
        .replace("{partition}", partition)
}

fn quicksight_arn(p: &str, partition: &str, region: &str, account: &str) -> String {
    if p.starts_with("arn:") {
        p.to_owned()
    } else {
        format!("arn:{partition}:quicksight:{region}:{account}:{p}")
    }
}

/// The curated prefixes of a dataset: one per event-schema major version of the
/// transform that writes it (just `curated/<dataset>/` when none does).
fn dataset_prefixes(transforms: &[TransformPlan], dataset: &str) -> Vec<String> {
    transforms
        .iter()
        .find(|t| t.dataset == dataset)
        .map_or_else(|| vec![prefix::curated(dataset)], |t| t.prefixes.clone())
}

/// A flow id for the `n`th version of a dataset (the first keeps the plain id).
fn versioned_id(id: String, n: usize) -> String {
    if n == 0 {
        id
    } else {
        format!("{id}:v{}", n + 1)
    }
}

/// The output columns of a transform with their types (from the first input's
/// schema, or the override).
fn columns_of(v: &Validated, t: &Transform) -> Vec<ColumnPlan> {
    t.columns
        .iter()
        .map(|c| {
            let from = c.from.clone().unwrap_or_else(|| c.name.clone());
            let mut ty = c.ty.as_deref().and_then(|s| ColumnType::parse(s).ok());
            let mut nullable = true;
            if let Some(schema) = t.inputs.first().and_then(|i| v.schemas.get(i))
                && let Ok(f) = event_schema::field(&schema.value, &from)
            {
                nullable = !f.required;
                if ty.is_none() {
                    ty = event_schema::column_type(&schema.value, f.schema).ok();
                }
            }
            ColumnPlan {
                name: c.name.clone(),
                from,
                ty: ty.map_or_else(|| "string".to_owned(), |t| t.to_string()),
                nullable,
            }
        })
        .collect()
}

/// `n` private /20 (or smaller) subnets carved from the start of the VPC block.
fn subnets(cidr: &str, n: u32) -> Vec<String> {
    let Ok((octets, len)) = crate::spec::validate::parse_cidr(cidr) else {
        return Vec::new();
    };
    let base = u32::from_be_bytes(octets);
    let sub_len = (len + 4).min(28);
    let size = 1u32 << (32 - sub_len);
    (0..n)
        .map(|i| format!("{}/{sub_len}", std::net::Ipv4Addr::from(base + i * size)))
        .collect()
}

impl Plan {
    pub fn bucket(&self, id: BucketId) -> &BucketPlan {
        &self.buckets[&id]
    }

    pub fn pci(&self) -> bool {
        self.compliance.contains(&Compliance::PciDss)
    }

    /// Whether a bucket has S3 Object Lock: every bucket of the PCI-DSS posture except
    /// the access-log buckets (S3 does not deliver server access logs to a bucket with
    /// Object Lock).
    /// The bucket a bucket replicates to, when the plan replicates it.
    pub fn replica_of(&self, b: BucketId) -> Option<BucketId> {
        self.flows.iter().find_map(|f| match f.access {
            Access::Replicate { from, to } if from == b => Some(to),
            _ => None,
        })
    }

    pub fn object_lock(&self, b: BucketId) -> bool {
        self.pci() && !matches!(b, BucketId::Logs | BucketId::LogsReplica)
    }

    /// Flows of one role, in id order.
    pub fn flows_of<'a>(&'a self, role: &'a str) -> impl Iterator<Item = &'a Flow> + 'a {
        self.flows
            .iter()
            .filter(move |f| f.principal == Principal::Role(role.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_are_carved_in_order() {
        assert_eq!(
            subnets("10.40.0.0/16", 2),
            vec!["10.40.0.0/20", "10.40.16.0/20"]
        );
        assert_eq!(
            subnets("192.168.0.0/24", 3),
            vec!["192.168.0.0/28", "192.168.0.16/28", "192.168.0.32/28"]
        );
    }

    #[test]
    fn a_role_is_identified_by_its_path() {
        let r = RolePlan {
            name: "shop-prod-ingest".into(),
            service: service_principal("lambda"),
            purpose: "the ingest function".into(),
            stack: StackId::Ingest,
            origin: Origin {
                path: "sources".into(),
                line: Some(1),
            },
        };
        assert_eq!(r.path(), "/shop-prod-ingest/");
        assert_eq!(
            r.arn("aws-cn", "123456789012", "shop-prod-ingest-IngestRole-AB12"),
            "arn:aws-cn:iam::123456789012:role/shop-prod-ingest/shop-prod-ingest-IngestRole-AB12"
        );
        assert_eq!(
            r.arn_pattern("aws", "123456789012"),
            "arn:aws:iam::123456789012:role/shop-prod-ingest/*"
        );
    }

    #[test]
    fn placeholders_resolve() {
        assert_eq!(
            placeholders(
                "arn:{partition}:iam::{account}:policy/b",
                "aws-cn",
                "cn-north-1",
                "123456789012"
            ),
            "arn:aws-cn:iam::123456789012:policy/b"
        );
    }
}
