//! Lowering of analytics: the Athena workgroup and its limits, and QuickSight's data
//! sets (who sees which dataset), its role and flows, with the scheduled index
//! export that lets QuickSight read the index. The results bucket is the buckets
//! section's.

use std::collections::BTreeMap;

use crate::spec::model::QuickSight;
use crate::spec::validate::INDEX_DATASET;

use super::cx::LowerCx;
use super::names::Rule;
use super::{Access, BucketId, Origin, QuickSightDataset, StackId, prefix};

/// The analytics of a plan.
pub(super) struct AnalyticsPart {
    pub workgroup: String,
    pub bytes_scanned_cutoff: u64,
    pub quicksight: Vec<QuickSightDataset>,
    /// The index export's schedule, when a QuickSight data set reads the index.
    pub index_export: Option<String>,
}

impl LowerCx<'_> {
    pub(super) fn analytics(&mut self) -> AnalyticsPart {
        let analytics = self.spec.analytics.as_ref();
        let workgroup = analytics
            .and_then(|a| a.athena.workgroup.clone())
            .map(|w| format!("{w}-{}", self.env_name))
            .unwrap_or_else(|| self.base.clone());
        let workgroup = self.name(
            workgroup,
            Rule::AthenaWorkgroup,
            "Athena workgroup",
            "`analytics.athena.workgroup`",
            &["analytics"],
        );
        let (quicksight, index_export) = match analytics.and_then(|a| a.quicksight.as_ref()) {
            Some(qs) => self.quicksight(qs),
            None => (Vec::new(), None),
        };
        AnalyticsPart {
            workgroup,
            bytes_scanned_cutoff: analytics.map_or(10240, |a| a.athena.bytes_scanned_cutoff_mb)
                * 1024
                * 1024,
            quicksight,
            index_export,
        }
    }

    /// QuickSight's data sets, role and flows; and the index export's schedule when
    /// a data set reads the index.
    fn quicksight(&mut self, qs: &QuickSight) -> (Vec<QuickSightDataset>, Option<String>) {
        let at = &["analytics", "quicksight"];
        let purpose = "QuickSight's Athena data source";
        self.role("quicksight", "quicksight", purpose, StackId::Analytics, at);
        let mut by_dataset: BTreeMap<String, BTreeMap<String, Origin>> = BTreeMap::new();
        for (i, pr) in qs.principals.iter().enumerate() {
            let arn = self.quicksight_arn(&pr.principal);
            let origin = self.origin(&["analytics", "quicksight", "principals", &i.to_string()]);
            for d in &pr.datasets {
                by_dataset
                    .entry(d.clone())
                    .or_default()
                    .entry(arn.clone())
                    .or_insert_with(|| origin.clone());
            }
        }
        let qo = self.origin(at);
        self.flow(
            "quicksight:query".into(),
            "quicksight",
            Access::QueryAthena,
            qo.clone(),
            "run Athena queries for dashboards",
        );
        self.flow(
            "quicksight:results".into(),
            "quicksight",
            Access::ScratchObjects {
                bucket: BucketId::Results,
                prefix: prefix::athena_results("quicksight"),
            },
            qo.clone(),
            "store and read Athena query results",
        );
        let mut datasets = Vec::new();
        for (d, origins) in by_dataset {
            let (bucket_prefix, table) = if d == INDEX_DATASET {
                (prefix::INDEX_EXPORT.to_owned(), "index_export".to_owned())
            } else {
                (prefix::curated(&d), d.clone())
            };
            self.flow(
                format!("quicksight:read:{d}"),
                "quicksight",
                Access::ReadObjects {
                    bucket: BucketId::Curated,
                    prefix: bucket_prefix,
                },
                qo.clone(),
                format!("read the `{d}` dataset for dashboards"),
            );
            datasets.push(QuickSightDataset {
                id: format!("{}-{d}", self.base),
                dataset: table,
                principals: origins.keys().cloned().collect(),
                origins,
            });
        }
        let tables = datasets.iter().map(|q| q.dataset.clone()).collect();
        self.flow(
            "quicksight:catalog".into(),
            "quicksight",
            Access::ReadCatalog { tables },
            qo,
            "read the tables' definitions",
        );
        let export = datasets.iter().any(|q| q.dataset == "index_export");
        (datasets, export.then(|| self.index_export(qs)))
    }

    /// The scheduled export of the index for QuickSight: its role and flow; returns
    /// its schedule.
    fn index_export(&mut self, qs: &QuickSight) -> String {
        let at = &["analytics", "quicksight"];
        let purpose = "the scheduled index export";
        self.role("index-export", "scheduler", purpose, StackId::Analytics, at);
        self.flow(
            "index-export:export".into(),
            "index-export",
            Access::ExportTable {
                bucket: BucketId::Curated,
                prefix: prefix::INDEX_EXPORT.into(),
            },
            self.origin(at),
            "export the index to S3 so QuickSight can read it",
        );
        qs.index_export_schedule
            .clone()
            .unwrap_or_else(|| "rate(1 day)".into())
    }

    /// A QuickSight principal's ARN (`user/...` and `group/...` in the environment's
    /// account and region).
    fn quicksight_arn(&self, p: &str) -> String {
        if p.starts_with("arn:") {
            p.to_owned()
        } else {
            let (partition, region) = (self.partition, &self.env.region);
            format!("arn:{partition}:quicksight:{region}:{}:{p}", self.account())
        }
    }
}
