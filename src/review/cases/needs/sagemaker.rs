//! SageMaker requests: registering a model version in the plan's model package group.

use crate::review::cases::ctx::{Ctx, Need};

pub(super) fn register_models(cx: &Ctx, out: &mut Vec<Need>) {
    let g = cx.plan.model_package_group.as_deref().unwrap_or_default();
    let mut c = cx.plain(
        "sagemaker:CreateModelPackage",
        cx.arn("sagemaker", &format!("model-package/{g}/1")),
    );
    c.pattern = cx.arn("sagemaker", &format!("model-package/{g}/*"));
    out.push(c);
    out.push(cx.plain(
        "sagemaker:DescribeModelPackageGroup",
        cx.arn("sagemaker", &format!("model-package-group/{g}")),
    ));
}

/// A pipeline's Lambda step: SageMaker invokes the function as the pipeline's role.
pub(super) fn invoke_function(cx: &Ctx, out: &mut Vec<Need>, function: &str) {
    out.push(cx.plain(
        "lambda:InvokeFunction",
        cx.arn("lambda", &format!("function:{function}")),
    ));
}

/// A pipeline's training step: SageMaker Pipelines creates a job named
/// `pipelines-<execution id>-<step>-<suffix>`, tags, describes and may stop it, and
/// passes it the training role (a role CloudFormation names under the role's path).
pub(super) fn run_training_jobs(cx: &Ctx, out: &mut Vec<Need>, role: &str) {
    let job = cx.arn(
        "sagemaker",
        "training-job/pipelines-8x2kq0wz1m3n-train-a1b2c3d4e5",
    );
    for a in [
        "sagemaker:CreateTrainingJob",
        "sagemaker:AddTags",
        "sagemaker:DescribeTrainingJob",
        "sagemaker:StopTrainingJob",
    ] {
        let mut n = cx.plain(a, job.clone());
        n.pattern = cx.arn("sagemaker", "training-job/pipelines-*");
        out.push(n);
    }
    let Some(r) = cx.plan.roles.get(role) else {
        return;
    };
    let (partition, account) = (cx.plan.partition, cx.plan.account.as_str());
    let mut n = cx.plain(
        "iam:PassRole",
        format!(
            "arn:{partition}:iam::{account}:role/{}/Ml-SagemakerRole-1A2B3C4D5E6F",
            r.name
        ),
    );
    n.pattern = format!("arn:{partition}:iam::{account}:role/{}/*", r.name);
    let svc = "sagemaker.amazonaws.com".to_owned();
    n.context.insert("iam:PassedToService".into(), svc.clone());
    n.constraints
        .insert("iam:PassedToService".into(), vec![svc]);
    out.push(n);
}

/// The schedule starts executions of one pipeline.
pub(super) fn start_pipeline(cx: &Ctx, out: &mut Vec<Need>, pipeline: &str) {
    out.push(cx.plain(
        "sagemaker:StartPipelineExecution",
        cx.arn("sagemaker", &format!("pipeline/{pipeline}")),
    ));
}
