//! Phase 2, lower: a validated spec and one environment → a [`Plan`], the typed
//! graph of components and the data flows between them.
//!
//! Lowering applies the environment's overrides and the defaults, derives every
//! resource name once (checking it against the service's rules), and records every
//! access a component needs as a [`Flow`] with the spec path that caused it. The IAM
//! emitter turns flows into statements; nothing else grants anything. This module
//! does no I/O and knows nothing of CloudFormation.
//!
//! This file holds the plan's types and [`lower`], which only sequences the sections.
//! Each section of the spec lowers in its own module (`buckets`, `index`, `ingest`,
//! `transforms`, `catalog`, `analytics`, `ml`, `replication`, `readers`, `network`,
//! `stacks`, `foundation`, `environment`), adding methods to the one lowering context
//! in `cx` (the validated spec, the environment, and the flows, roles, stacks, buckets
//! and diagnostics being built); `assemble` puts the sections' parts into the plan.

mod analytics;
mod assemble;
mod buckets;
mod catalog;
mod cx;
mod dashboards;
mod environment;
mod foundation;
mod index;
mod ingest;
mod ml;
pub mod names;
mod network;
mod readers;
mod replication;
mod stacks;
mod training;
mod transforms;

pub use training::{PIPELINE_JOB_PREFIX, TrainingPlan, manifest_prefix};

use std::collections::BTreeMap;

use pipewright_ingest_config as contract;
use serde::Serialize;

use crate::diag::Diagnostics;
use crate::spec::Validated;
use crate::spec::model::*;

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
    QueryAthena { workgroup: String },
    /// Create network interfaces in the pipeline's private subnets.
    AttachToVpc,
    /// Register model versions in a model package group.
    RegisterModels,
    /// Invoke a Lambda function (a pipeline's Lambda step).
    InvokeFunction { function: String },
    /// Start, describe and stop the training jobs of a SageMaker pipeline, passing them
    /// the generated role `role`.
    RunTrainingJobs { role: String },
    /// Start executions of a SageMaker pipeline.
    StartPipeline { pipeline: String },
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
    /// Inputs that are datasets other transforms write (SQL transforms only), with
    /// the prefix the job reads (the writer's current one).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub dataset_inputs: BTreeMap<String, String>,
    /// The Spark SQL query, for a transform defined by one; its output columns are
    /// `columns`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    /// The typed event fields of each source a SQL transform reads (its relation
    /// besides the envelope columns), as the events spell them.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub source_columns: BTreeMap<String, Vec<ColumnPlan>>,
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
    /// The catalog table it queries.
    pub dataset: String,
    /// The audience (`QuickSightAudience::slug`) whose data source it uses.
    pub audience: String,
    pub principals: Vec<String>,
    /// Principal → the spec entry (`analytics.quicksight.principals.N`) that names it
    /// for this data set (the first, when several do).
    pub origins: BTreeMap<String, Origin>,
}

/// One QuickSight audience: a principal of `analytics.quicksight.principals` with the
/// datasets it may read, and what it reads them through, its own: a role, an Athena
/// workgroup writing to its own results prefix, and a data source. No audience's role
/// reaches another audience's prefixes or tables.
#[derive(Debug, Clone, Serialize)]
pub struct QuickSightAudience {
    /// Short name, unique in the plan (from the principal's last segment).
    pub slug: String,
    /// The principal's ARN in this environment.
    pub principal: String,
    /// Role id (`quicksight-<slug>`).
    pub role: String,
    pub workgroup: String,
    pub results_prefix: String,
    pub data_source_id: String,
    /// Dataset names as the spec gives them (`index` for the index), sorted.
    pub datasets: Vec<String>,
    pub origin: Origin,
    /// Spec path of its entry (`analytics.quicksight.principals.N`).
    pub at: Vec<String>,
}

/// A dashboard (and the analysis it is published from): who views it, the data sets
/// it reads (identifier = the spec's dataset name → QuickSight data set id, all of one
/// audience), its date-range control and its sheets.
#[derive(Debug, Clone, Serialize)]
pub struct DashboardPlan {
    pub name: String,
    /// Dashboard and analysis id.
    pub id: String,
    pub title: String,
    /// Viewers' ARNs.
    pub principals: Vec<String>,
    /// The audience (`QuickSightAudience::slug`) whose data sets it reads.
    pub audience: String,
    pub data_sets: Vec<(String, String)>,
    /// Column and days back.
    pub date_range: Option<(String, u32)>,
    pub sheets: Vec<SheetPlan>,
    pub origin: Origin,
}

#[derive(Debug, Clone, Serialize)]
pub struct SheetPlan {
    pub id: String,
    pub title: String,
    pub visuals: Vec<VisualPlan>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VisualPlan {
    pub id: String,
    pub kind: crate::spec::model::VisualKind,
    pub title: String,
    /// Data set identifier (the spec's dataset name).
    pub dataset: String,
    /// Fields grouped by, in order (category, then colour or columns).
    pub groups: Vec<FieldPlan>,
    pub measures: Vec<FieldPlan>,
    /// Field id, descending.
    pub sort: Option<(String, bool)>,
    /// Column, values, exclude.
    pub filters: Vec<(String, Vec<String>, bool)>,
}

/// How QuickSight treats a field's column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FieldKind {
    Numerical,
    Categorical,
    Date,
}

#[derive(Debug, Clone, Serialize)]
pub struct FieldPlan {
    pub id: String,
    pub column: String,
    pub kind: FieldKind,
    /// QuickSight's aggregation function, for measures.
    pub aggregation: Option<&'static str>,
    /// QuickSight's date granularity, for a time field.
    pub granularity: Option<&'static str>,
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
    pub quicksight_audiences: Vec<QuickSightAudience>,
    pub dashboards: Vec<DashboardPlan>,
    pub index_export: Option<String>,
    pub model_package_group: Option<String>,
    /// The training pipeline (`ml.training`).
    pub training: Option<TrainingPlan>,
    pub network: Option<NetworkPlan>,
    pub roles: BTreeMap<String, RolePlan>,
    pub flows: Vec<Flow>,
    pub stacks: BTreeMap<StackId, String>,
    /// Where the settings that grant access without a flow come from (key admins, the
    /// boundary, the TLS-only and service statements of the stacks' resource policies),
    /// by dotted spec path; `review::access` cites them.
    pub origins: BTreeMap<String, Origin>,
}

/// The settings whose spec lines [`Plan::origins`] records.
pub const GRANT_SETTINGS: &[&str] = &[
    "security.kms",
    "security.permissions_boundary",
    "storage",
    "ingest",
    "analytics.quicksight",
    "environments",
];

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

/// Lowers one environment. Errors are naming-rule or quota violations that only
/// show once names are derived.
///
/// Each step is one section of the spec, lowered by its own module over one
/// lowering context (`cx::LowerCx`). The steps run in the order names are derived,
/// which is the order naming errors are reported in; keep it.
pub fn lower(v: &Validated, env_name: &str) -> Result<Plan, Diagnostics> {
    let mut cx = cx::LowerCx::new(v, env_name)?;
    let settings = cx.settings();
    cx.stacks();
    cx.buckets();
    let key_alias = cx.key_alias();
    let index = cx.index();
    let alarm_topic = cx.alarm_topic();
    let ingest = cx.ingest();
    let database = cx.database();
    let transforms = cx.transforms();
    let on_ingest = transforms::on_ingest_jobs(&transforms);
    cx.start_jobs(&on_ingest);
    let catalog = cx.catalog(database, &transforms);
    let analytics = cx.analytics();
    let model_package_group = cx.ml(&transforms);
    let training = model_package_group.as_deref().and_then(|g| cx.training(g));
    cx.replication();
    cx.readers(&transforms);
    let ingest_config = cx.ingest_config(&index, &on_ingest);
    let route_groups = cx.route_stacks(ingest.routes.len());
    let transform_groups = cx.job_stacks(transforms.len());
    let network = cx.network();
    cx.finish(assemble::Parts {
        settings,
        key_alias,
        alarm_topic,
        index,
        ingest,
        ingest_config,
        route_groups,
        transforms,
        transform_groups,
        catalog,
        analytics,
        model_package_group,
        training,
        network,
    })
}

/// Replaces `{account}`, `{region}` and `{partition}`.
pub fn placeholders(s: &str, partition: &str, region: &str, account: &str) -> String {
    s.replace("{account}", account)
        .replace("{region}", region)
        .replace("{partition}", partition)
}

impl Plan {
    pub fn bucket(&self, id: BucketId) -> &BucketPlan {
        &self.buckets[&id]
    }

    /// The alias of the artifacts key (bootstrap stack), `alias/<pipeline>-<env>-artifacts`.
    pub fn artifacts_key_alias(&self) -> String {
        format!("alias/{}-{}-artifacts", self.pipeline, self.env)
    }

    /// The alias of the replica region's key (replica stack), the data key's plus `-replica`.
    pub fn replica_key_alias(&self) -> String {
        format!("{}-replica", self.key_alias)
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
mod tests;
