//! Lowering of ML: the SageMaker model package group, and the training role's access
//! to raw events, datasets, index lookups and model artifacts. It defines no training
//! job; the jobs people run use this role.

use pipewright_ingest_config as contract;

use crate::spec::model::Ml;

use super::cx::{LowerCx, dataset_prefixes, versioned_id};
use super::names::Rule;
use super::{Access, BucketId, StackId, TransformPlan, prefix};

impl LowerCx<'_> {
    /// The model package group, when the spec has `ml`.
    pub(super) fn ml(&mut self, transforms: &[TransformPlan]) -> Option<String> {
        let ml = self.spec.ml.as_ref()?;
        let group = self.name(
            format!("{}-{}", self.base, ml.model_package_group),
            Rule::ModelPackageGroup,
            "model package group",
            "`ml.model_package_group`",
            &["ml", "model_package_group"],
        );
        self.role(
            "sagemaker",
            "sagemaker",
            "SageMaker training",
            StackId::Ml,
            &["ml"],
        );
        self.training_data(ml, transforms);
        self.model_flows(&group);
        Some(group)
    }

    /// What training reads: raw events, datasets (every version) and index lookups.
    fn training_data(&mut self, ml: &Ml, transforms: &[TransformPlan]) {
        for s in &ml.sources {
            self.flow(
                format!("sagemaker:read-raw:{s}"),
                "sagemaker",
                Access::ReadObjects {
                    bucket: BucketId::Raw,
                    prefix: contract::layout::raw_prefix(s),
                },
                self.origin(&["ml", "sources"]),
                format!("train on raw `{s}` events"),
            );
        }
        for d in &ml.datasets {
            for (n, p) in dataset_prefixes(transforms, d).into_iter().enumerate() {
                self.flow(
                    versioned_id(format!("sagemaker:read-dataset:{d}"), n),
                    "sagemaker",
                    Access::ReadObjects {
                        bucket: BucketId::Curated,
                        prefix: p,
                    },
                    self.origin(&["ml", "datasets"]),
                    format!("train on the `{d}` dataset"),
                );
            }
        }
        for l in &ml.index_lookups {
            self.flow(
                format!("sagemaker:query:{}", l.as_str()),
                "sagemaker",
                Access::QueryIndex {
                    index: l.as_str().to_owned(),
                },
                self.origin(&["ml", "index_lookups"]),
                format!("pick datasets through the index's `{}` lookup", l.as_str()),
            );
        }
    }

    /// Model artifacts and versions, training logs, and under PCI-DSS the private
    /// subnets.
    fn model_flows(&mut self, group: &str) {
        let mo = self.origin(&["ml", "model_package_group"]);
        self.flow(
            "sagemaker:models".into(),
            "sagemaker",
            Access::PutObjects {
                bucket: BucketId::Curated,
                prefix: prefix::models(group),
            },
            mo.clone(),
            "write model artifacts",
        );
        self.flow(
            "sagemaker:read-models".into(),
            "sagemaker",
            Access::ReadObjects {
                bucket: BucketId::Curated,
                prefix: prefix::models(group),
            },
            mo.clone(),
            "read model artifacts back",
        );
        self.flow(
            "sagemaker:register".into(),
            "sagemaker",
            Access::RegisterModels,
            mo,
            "register model versions",
        );
        self.flow(
            "sagemaker:logs".into(),
            "sagemaker",
            Access::WriteLogs {
                group: "/aws/sagemaker/TrainingJobs".into(),
            },
            self.origin(&["ml"]),
            "write training job logs",
        );
        if self.pci {
            self.flow(
                "sagemaker:vpc".into(),
                "sagemaker",
                Access::AttachToVpc,
                self.origin(&["environments", self.env_name]),
                "train in the pipeline's private subnets",
            );
        }
    }
}
