//! The training pipeline in the ml stack: the SageMaker pipeline whose definition is
//! typed data (`Definition`, serialised once, keys in declaration order), the schedule
//! that starts it, and the pipeline's, manifest function's and schedule's roles. The
//! manifest function (`functions/manifest`) is not in the stack yet (nothing bundles it):
//! the pipeline's Lambda step names it by its derived name.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use super::Ctx;
use crate::emit::cfn::{Expr, Resource, Template, obj};
use crate::plan::{BucketId, Plan, StackId, TrainingPlan, prefix};

/// The placeholder the definition names the training role's ARN with.
pub const TRAINING_ROLE_ARN: &str = "${TrainingRoleArn}";

/// A SageMaker pipeline definition (schema version 2020-12-01).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Definition {
    pub version: &'static str,
    pub metadata: BTreeMap<String, String>,
    pub parameters: Vec<Value>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Step {
    pub name: &'static str,
    #[serde(rename = "Type")]
    pub kind: &'static str,
    pub description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_arn: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub output_parameters: Vec<Value>,
    pub arguments: Value,
}

/// `{"Get": path}`: a value SageMaker Pipelines resolves at run time.
fn get(path: &str) -> Value {
    json!({ "Get": path })
}

fn manifest_output(name: &str) -> Value {
    get(&format!("Steps.Manifest.OutputParameters['{name}']"))
}

/// The pipeline definition of a plan's training (placeholders `${DataKeyArn}`,
/// `${TrainingRoleArn}` and, in a VPC, the network stack's ids, unresolved).
pub fn definition(p: &Plan, t: &TrainingPlan) -> Definition {
    let spec_line = t.origin.line.map_or_else(
        || t.origin.path.clone(),
        |l| format!("pipeline.yaml:{l} ({})", t.origin.path),
    );
    let metadata = BTreeMap::from([
        ("pipewright-pipeline".to_owned(), p.pipeline.clone()),
        ("pipewright-environment".to_owned(), p.env.clone()),
        ("pipewright-spec".to_owned(), spec_line.clone()),
    ]);
    Definition {
        version: "2020-12-01",
        metadata,
        parameters: Vec::new(),
        steps: vec![
            manifest_step(p, t, &spec_line),
            training_step(p, t),
            register_step(p, t),
        ],
    }
}

fn manifest_step(p: &Plan, t: &TrainingPlan, spec_line: &str) -> Step {
    let outputs = ["manifest_uri", "dataset_record_uri", "lineage"]
        .map(|n| json!({ "OutputName": n, "OutputType": "String" }));
    Step {
        name: "Manifest",
        kind: "Lambda",
        description: "List the window's raw objects from the index; write the manifest and the dataset record".into(),
        depends_on: Vec::new(),
        function_arn: Some(format!(
            "arn:{}:lambda:{}:{}:function:{}",
            p.partition, p.region, p.account, t.function_name
        )),
        output_parameters: outputs.to_vec(),
        arguments: json!({
            "execution_id": get("Execution.PipelineExecutionId"),
            "run_start": get("Execution.StartDateTime"),
            "sources": t.sources,
            "window_days": t.window_days,
            "schema_versions": t.schema_versions,
            "lookups": t.lookups.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
            "manifest_bucket": p.bucket(BucketId::Curated).name,
            "manifest_prefix": t.manifest_prefix,
            "spec": spec_line,
        }),
    }
}

fn training_step(p: &Plan, t: &TrainingPlan) -> Step {
    let group = p.model_package_group.as_deref().unwrap_or_default();
    let mut args = json!({
        "AlgorithmSpecification": { "TrainingImage": t.image, "TrainingInputMode": "File" },
        "RoleArn": TRAINING_ROLE_ARN,
        "HyperParameters": t.hyperparameters,
        "InputDataConfig": [{
            "ChannelName": "train",
            "CompressionType": "Gzip",
            "DataSource": { "S3DataSource": {
                "S3DataType": "ManifestFile",
                "S3Uri": manifest_output("manifest_uri"),
                "S3DataDistributionType": "ShardedByS3Key",
            }},
        }],
        "OutputDataConfig": {
            "S3OutputPath": format!("s3://{}/{}", p.bucket(BucketId::Curated).name, prefix::models(group)),
            "KmsKeyId": "${DataKeyArn}",
        },
        "ResourceConfig": {
            "InstanceCount": t.instance_count,
            "InstanceType": t.instance_type,
            "VolumeSizeInGB": t.volume_gb,
            "VolumeKmsKeyId": "${DataKeyArn}",
        },
        "StoppingCondition": { "MaxRuntimeInSeconds": t.max_runtime_seconds },
        "EnableInterContainerTrafficEncryption": true,
        "Tags": [
            { "Key": "pipewright:manifest", "Value": manifest_output("manifest_uri") },
            { "Key": "pipewright:dataset-record", "Value": manifest_output("dataset_record_uri") },
        ],
    });
    if let Some(n) = &p.network {
        let subnets: Vec<String> = (1..=n.subnets.len())
            .map(|i| format!("${{PrivateSubnet{i}}}"))
            .collect();
        args["VpcConfig"] =
            json!({ "SecurityGroupIds": ["${WorkloadSecurityGroup}"], "Subnets": subnets });
    }
    Step {
        name: "Train",
        kind: "Training",
        description: format!("Train {} on the manifest's objects", t.algorithm),
        depends_on: Vec::new(),
        function_arn: None,
        output_parameters: Vec::new(),
        arguments: args,
    }
}

/// Registration carries the lineage in the model package's description (the manifest
/// function's `lineage` output: manifest and dataset-record URIs, spec line); the
/// training job's tags carry the two URIs too. `ModelApprovalStatus` is written only
/// when it is not CreateModelPackage's default for a group's versions
/// (`PendingManualApproval`): AWS's published definition schema does not list it.
fn register_step(p: &Plan, t: &TrainingPlan) -> Step {
    let group = p.model_package_group.as_deref().unwrap_or_default();
    let mut args = json!({
        "ModelPackageGroupName": group,
        "ModelPackageDescription": manifest_output("lineage"),
        "InferenceSpecification": {
            "Containers": [{
                "Image": t.image,
                "ModelDataUrl": get("Steps.Train.ModelArtifacts.S3ModelArtifacts"),
            }],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    });
    if t.approval_status != "PendingManualApproval" {
        args["ModelApprovalStatus"] = json!(t.approval_status);
    }
    Step {
        name: "Register",
        kind: "RegisterModel",
        description: format!("Register the model in {group} with its lineage"),
        depends_on: vec!["Train"],
        function_arn: None,
        output_parameters: Vec::new(),
        arguments: args,
    }
}

/// The pipeline, its schedule and the roles `ml.training` adds.
pub(super) fn add(cx: &Ctx<'_>, t: &mut Template, training_role: &str) {
    let p = cx.plan;
    let Some(tp) = &p.training else { return };
    let pipeline_role = cx.role(t, "training-pipeline", StackId::Ml);
    cx.role(t, "manifest", StackId::Ml);
    let schedule_role = cx.role(t, "training-schedule", StackId::Ml);
    let body = serde_json::to_string(&definition(p, tp)).expect("definition serialises");
    let body = match cx.resolve(&body, StackId::Ml) {
        Expr::Sub(s, mut vars) => {
            vars.insert("TrainingRoleArn".into(), Expr::att(training_role, "Arn"));
            Expr::Sub(s, vars)
        }
        other => other,
    };
    t.add(
        "TrainingPipeline",
        Resource::new("AWS::SageMaker::Pipeline")
            .p("PipelineName", Expr::s(&tp.pipeline_name))
            .p(
                "PipelineDescription",
                Expr::s(format!(
                    "{} {}: index manifest → {} training → model registry",
                    p.pipeline, p.env, tp.algorithm
                )),
            )
            .p(
                "PipelineDefinition",
                obj([("PipelineDefinitionBody", body)]),
            )
            .p("RoleArn", Expr::att(&pipeline_role, "Arn"))
            .p("Tags", cx.tags()),
    );
    t.add(
        "TrainingSchedule",
        Resource::new("AWS::Scheduler::Schedule")
            .p("Name", Expr::s(&tp.schedule_name))
            .p(
                "Description",
                Expr::s("pipewright: starts the training pipeline"),
            )
            .p("ScheduleExpression", Expr::s(&tp.schedule))
            .p("FlexibleTimeWindow", obj([("Mode", "OFF".into())]))
            .p("State", "ENABLED")
            .p(
                "Target",
                obj([
                    (
                        "Arn",
                        Expr::s(cx.arn("sagemaker", &format!("pipeline/{}", tp.pipeline_name))),
                    ),
                    ("RoleArn", Expr::att(&schedule_role, "Arn")),
                ]),
            )
            .depends("TrainingPipeline"),
    );
    t.output(
        "TrainingPipelineName",
        "The SageMaker training pipeline",
        Expr::s(&tp.pipeline_name),
        None,
    );
}
