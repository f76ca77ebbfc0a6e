//! Lowering of `ml.training`: the SageMaker pipeline (manifest step → training job →
//! model registration), its schedule, the manifest function, the algorithm's image in
//! the environment's region, and the flows of the pipeline's roles. The training job
//! itself runs as the `sagemaker` role `ml.rs` defines.

use std::collections::BTreeMap;

use pipewright_ingest_config as contract;
use serde::Serialize;

use crate::diag::Diagnostic;
use crate::spec::fmt_path;
use crate::spec::model::{Lookup, Training};
use crate::spec::yaml::Seg;

use super::cx::{FIX_BASE, LowerCx};
use super::names::Rule;
use super::{Access, BucketId, Origin, StackId};

/// One environment's training pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct TrainingPlan {
    /// The SageMaker pipeline's name (`<base>-training`).
    pub pipeline_name: String,
    /// The EventBridge Scheduler schedule that starts it.
    pub schedule_name: String,
    /// `cron(...)` or `rate(...)`, as the spec wrote it.
    pub schedule: String,
    /// The manifest function (`<base>-manifest`) and its log group.
    pub function_name: String,
    pub function_log_group: String,
    /// `random_cut_forest` or `xgboost`, and its training image in this region.
    pub algorithm: String,
    pub image: String,
    pub instance_type: String,
    pub instance_count: u32,
    pub volume_gb: u32,
    pub max_runtime_seconds: u32,
    pub hyperparameters: BTreeMap<String, String>,
    /// `PendingManualApproval`, `Approved` or `Rejected`.
    pub approval_status: &'static str,
    /// The run's inputs: sources, days back from the run, schema versions (empty: all).
    pub sources: Vec<String>,
    pub window_days: u32,
    pub schema_versions: Vec<String>,
    /// The index lookups the manifest function queries.
    pub lookups: Vec<Lookup>,
    /// Curated-bucket prefix of manifests and dataset records (one folder per run).
    pub manifest_prefix: String,
    /// Where `ml.training` is in the spec (the lineage's spec line).
    pub origin: Origin,
}

/// Curated-bucket prefix of a model package group's manifests and dataset records.
pub fn manifest_prefix(group: &str) -> String {
    format!("manifests/{group}/")
}

/// SageMaker Pipelines names the training jobs it starts `pipelines-<execution>-<step>-...`.
pub const PIPELINE_JOB_PREFIX: &str = "pipelines-";

impl LowerCx<'_> {
    /// The training pipeline, when `ml.training` is set.
    pub(super) fn training(&mut self, group: &str) -> Option<TrainingPlan> {
        let t = self.spec.ml.as_ref()?.training.as_ref()?;
        let at = ["ml", "training"];
        let image = self.image(t)?;
        let pipeline_name = self.name(
            format!("{}-training", self.base),
            Rule::ModelPackageGroup,
            "SageMaker pipeline",
            FIX_BASE,
            &at,
        );
        let schedule_name = self.name(
            format!("{}-training", self.base),
            Rule::SchedulerName,
            "schedule",
            FIX_BASE,
            &at,
        );
        let function_name = self.name(
            format!("{}-manifest", self.base),
            Rule::LambdaFunction,
            "manifest function",
            FIX_BASE,
            &at,
        );
        let mut lookups = vec![Lookup::BySourceDate];
        if !t.inputs.schema_versions.is_empty() {
            lookups.push(Lookup::BySchemaVersion);
        }
        let plan = TrainingPlan {
            pipeline_name,
            schedule_name,
            schedule: t.schedule.clone(),
            function_log_group: format!("/aws/lambda/{function_name}"),
            function_name,
            algorithm: t.algorithm.as_str().to_owned(),
            image,
            instance_type: t.instance_type.clone(),
            instance_count: t.instance_count,
            volume_gb: t.volume_gb,
            max_runtime_seconds: t.max_runtime_seconds,
            hyperparameters: t.hyperparameters.clone(),
            approval_status: t.approval_status.as_str(),
            sources: t.inputs.sources.clone(),
            window_days: t.inputs.window_days,
            schema_versions: t.inputs.schema_versions.clone(),
            lookups,
            manifest_prefix: manifest_prefix(group),
            origin: self.origin(&at),
        };
        self.training_roles();
        self.training_flows(&plan);
        Some(plan)
    }

    /// The algorithm's image in this environment's region, or PW0287 at
    /// `ml.training.algorithm`.
    fn image(&mut self, t: &Training) -> Option<String> {
        let region = &self.env.region;
        if let Some(i) = crate::aws::algorithm_image(t.algorithm.as_str(), region) {
            return Some(i);
        }
        let path: Vec<Seg> = ["ml", "training", "algorithm"]
            .iter()
            .map(|k| Seg::Key((*k).to_owned()))
            .collect();
        self.diags.push(
            Diagnostic::error(
                "PW0287",
                format!(
                    "environment `{}`: AWS's table of built-in algorithm registries has no `{}` image in {region}",
                    self.env_name,
                    t.algorithm.as_str()
                ),
            )
            .note("from data/aws/sagemaker-algorithms.json (AWS's Docker registry paths per region)")
            .help("deploy this environment to a region the table lists, or choose another algorithm")
            .at_opt(self.v.doc.span_of(&path))
            .with_path(fmt_path(&path)),
        );
        None
    }

    fn training_roles(&mut self) {
        let at = &["ml", "training"];
        self.role(
            "training-pipeline",
            "sagemaker",
            "SageMaker training pipeline execution",
            StackId::Ml,
            at,
        );
        self.role(
            "manifest",
            "lambda",
            "training manifest function",
            StackId::Ml,
            at,
        );
        self.role(
            "training-schedule",
            "scheduler",
            "starts the training pipeline",
            StackId::Ml,
            at,
        );
    }

    /// The pipeline runs the manifest function and the training job (as the `sagemaker`
    /// role) and registers the model; the manifest function queries the index, reads its
    /// inputs' raw prefixes and writes manifests; the schedule starts the pipeline.
    fn training_flows(&mut self, t: &TrainingPlan) {
        let o = self.origin(&["ml", "training"]);
        let pipeline = [
            (
                "invoke-manifest",
                Access::InvokeFunction {
                    function: t.function_name.clone(),
                },
                "run the manifest step",
            ),
            (
                "train",
                Access::RunTrainingJobs {
                    role: "sagemaker".into(),
                },
                "start the training step's job as the training role",
            ),
            (
                "register",
                Access::RegisterModels,
                "register the trained model",
            ),
        ];
        for (id, access, why) in pipeline {
            self.flow(
                format!("training-pipeline:{id}"),
                "training-pipeline",
                access,
                o.clone(),
                why,
            );
        }
        self.flow(
            "training-schedule:start".into(),
            "training-schedule",
            Access::StartPipeline {
                pipeline: t.pipeline_name.clone(),
            },
            self.origin(&["ml", "training", "schedule"]),
            "start the training pipeline on its schedule",
        );
        self.flow(
            "sagemaker:read-manifests".into(),
            "sagemaker",
            Access::ReadObjects {
                bucket: BucketId::Curated,
                prefix: t.manifest_prefix.clone(),
            },
            o.clone(),
            "read the run's manifest",
        );
        self.manifest_flows(t, &o);
    }

    fn manifest_flows(&mut self, t: &TrainingPlan, o: &Origin) {
        let inputs = self.origin(&["ml", "training", "inputs"]);
        for l in &t.lookups {
            self.flow(
                format!("manifest:query:{}", l.as_str()),
                "manifest",
                Access::QueryIndex {
                    index: l.as_str().to_owned(),
                },
                inputs.clone(),
                format!(
                    "find the window's objects through the `{}` lookup",
                    l.as_str()
                ),
            );
        }
        for s in &t.sources {
            self.flow(
                format!("manifest:read-raw:{s}"),
                "manifest",
                Access::ReadObjects {
                    bucket: BucketId::Raw,
                    prefix: contract::layout::raw_prefix(s),
                },
                inputs.clone(),
                format!("check the listed raw `{s}` objects exist"),
            );
        }
        self.flow(
            "manifest:write".into(),
            "manifest",
            Access::PutObjects {
                bucket: BucketId::Curated,
                prefix: t.manifest_prefix.clone(),
            },
            o.clone(),
            "write the manifest and the dataset record",
        );
        self.flow(
            "manifest:logs".into(),
            "manifest",
            Access::WriteLogs {
                group: t.function_log_group.clone(),
            },
            o.clone(),
            "write the manifest function's logs",
        );
    }
}
