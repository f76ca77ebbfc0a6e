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
