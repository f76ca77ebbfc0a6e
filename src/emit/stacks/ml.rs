//! The ml stack: SageMaker's execution role for training jobs and the model package
//! group, with where models go. Not training data access (IAM, from flows).

use super::Ctx;
use crate::emit::cfn::{Expr, Resource, Template};
use crate::plan::{BucketId, StackId};

/// The SageMaker role and the model registry.
pub(super) fn template(cx: &Ctx<'_>) -> Template {
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
    super::training::add(cx, &mut t, &role);
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
