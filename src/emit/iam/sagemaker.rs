//! SageMaker: registering model versions in the pipeline's model package group. Not
//! training data access, which comes from S3 flows.

use super::{Grant, Statement};

/// `RegisterModels`: create model packages in the group.
pub(super) fn register_models(g: &Grant<'_>) -> Vec<Statement> {
    let group = g.plan.model_package_group.as_deref().unwrap_or_default();
    vec![g.allow(
        "",
        &[
            "sagemaker:CreateModelPackage",
            "sagemaker:DescribeModelPackageGroup",
        ],
        vec![
            g.arn("sagemaker", true, &format!("model-package-group/{group}")),
            g.arn("sagemaker", true, &format!("model-package/{group}/*")),
        ],
    )]
}

/// `InvokeFunction`: a pipeline's Lambda step invokes one function.
pub(super) fn invoke_function(g: &Grant<'_>, function: &str) -> Vec<Statement> {
    vec![g.allow(
        "",
        &["lambda:InvokeFunction"],
        vec![g.arn("lambda", true, &format!("function:{function}"))],
    )]
}

/// `RunTrainingJobs`: the jobs SageMaker Pipelines starts (it names them
/// `pipelines-...`), and passing them the training role, to SageMaker only.
pub(super) fn run_training_jobs(g: &Grant<'_>, role: &str) -> Vec<Statement> {
    let jobs = g.arn(
        "sagemaker",
        true,
        &format!("training-job/{}*", crate::plan::PIPELINE_JOB_PREFIX),
    );
    let mut out = vec![g.allow(
        "",
        &[
            "sagemaker:AddTags",
            "sagemaker:CreateTrainingJob",
            "sagemaker:DescribeTrainingJob",
            "sagemaker:StopTrainingJob",
        ],
        vec![jobs],
    )];
    if let Some(r) = g.plan.roles.get(role) {
        out.push(
            g.allow(
                "Pass",
                &["iam:PassRole"],
                vec![r.arn_pattern(g.plan.partition, &g.plan.account)],
            )
            .when(
                "StringEquals",
                "iam:PassedToService",
                serde_json::json!(crate::plan::service_principal("sagemaker")),
            ),
        );
    }
    out
}

/// `StartPipeline`: start executions of one pipeline.
pub(super) fn start_pipeline(g: &Grant<'_>, pipeline: &str) -> Vec<Statement> {
    vec![g.allow(
        "",
        &["sagemaker:StartPipelineExecution"],
        vec![g.arn("sagemaker", true, &format!("pipeline/{pipeline}"))],
    )]
}
