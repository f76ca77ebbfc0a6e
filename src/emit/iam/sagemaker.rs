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
