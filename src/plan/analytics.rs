//! Lowering of analytics: the Athena workgroup and its limits, and QuickSight per
//! audience (its role, workgroup, data source and data sets, and their flows), with the scheduled index
//! export that lets QuickSight read the index. The results bucket is the buckets
//! section's.

use std::collections::BTreeMap;

use crate::spec::model::QuickSight;
use crate::spec::validate::INDEX_DATASET;

use super::cx::LowerCx;
use super::names::Rule;
use super::{Access, BucketId, QuickSightAudience, QuickSightDataset, StackId, prefix};

#[derive(Default)]
struct QuickSightPart {
    audiences: Vec<QuickSightAudience>,
    datasets: Vec<QuickSightDataset>,
    index_export: Option<String>,
}

/// An audience's short name: its principal's last segment in lower-case letters,
/// digits and `-` (at most 24), made unique with `-2`, `-3`, ... in spec order.
fn audience_slug(principal: &str, earlier: &[QuickSightAudience]) -> String {
    let last = principal.rsplit('/').next().unwrap_or(principal);
    let mut slug: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(24)
        .collect();
    slug = slug.trim_matches('-').to_owned();
    if slug.is_empty() {
        slug = "audience".into();
    }
    let mut unique = slug.clone();
    let mut n = 2;
    while earlier.iter().any(|a| a.slug == unique) {
        unique = format!("{slug}-{n}");
        n += 1;
    }
    unique
}

/// The analytics of a plan.
pub(super) struct AnalyticsPart {
    pub workgroup: String,
    pub bytes_scanned_cutoff: u64,
    pub quicksight: Vec<QuickSightDataset>,
    pub quicksight_audiences: Vec<QuickSightAudience>,
    pub dashboards: Vec<super::DashboardPlan>,
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
        let qs = match analytics.and_then(|a| a.quicksight.as_ref()) {
            Some(qs) => self.quicksight(qs),
            None => QuickSightPart::default(),
        };
        let dashboards = self.dashboards(&qs.audiences);
        AnalyticsPart {
            workgroup,
            bytes_scanned_cutoff: analytics.map_or(10240, |a| a.athena.bytes_scanned_cutoff_mb)
                * 1024
                * 1024,
            quicksight: qs.datasets,
            quicksight_audiences: qs.audiences,
            dashboards,
            index_export: qs.index_export,
        }
    }

    /// QuickSight, one audience (entry of `quicksight.principals`) at a time: each has
    /// its own role, Athena workgroup (with its own results prefix) and data source, and
    /// its own data sets, reading only its datasets' prefixes and tables. Also the index
    /// export's schedule when an audience reads the index.
    fn quicksight(&mut self, qs: &QuickSight) -> QuickSightPart {
        let mut audiences: Vec<QuickSightAudience> = Vec::new();
        let mut datasets = Vec::new();
        for (i, pr) in qs.principals.iter().enumerate() {
            let arn = self.quicksight_arn(&pr.principal);
            if let Some(a) = audiences.iter_mut().find(|a| a.principal == arn) {
                // The same principal listed twice is one audience reading both lists.
                for d in &pr.datasets {
                    if !a.datasets.contains(d) {
                        a.datasets.push(d.clone());
                    }
                }
                continue;
            }
            let slug = audience_slug(&pr.principal, &audiences);
            let at = ["analytics", "quicksight", "principals", &i.to_string()];
            let workgroup = self.name(
                format!("{}-qs-{slug}", self.base),
                Rule::AthenaWorkgroup,
                "Athena workgroup",
                "the QuickSight principal's name",
                &at,
            );
            audiences.push(QuickSightAudience {
                role: format!("quicksight-{slug}"),
                data_source_id: format!("{}-athena-{slug}", self.base),
                results_prefix: prefix::athena_results(&format!("quicksight-{slug}")),
                workgroup,
                slug,
                principal: arn,
                datasets: pr.datasets.clone(),
                origin: self.origin(&at),
                at: at.iter().map(|s| (*s).to_owned()).collect(),
            });
        }
        for a in &mut audiences {
            a.datasets.sort();
            a.datasets.dedup();
        }
        for a in &audiences {
            datasets.extend(self.audience(a));
        }
        let export = datasets.iter().any(|q| q.dataset == "index_export");
        QuickSightPart {
            audiences,
            datasets,
            index_export: export.then(|| self.index_export(qs)),
        }
    }

    /// One audience's role and flows; returns its data sets.
    fn audience(&mut self, a: &QuickSightAudience) -> Vec<QuickSightDataset> {
        let at: Vec<&str> = a.at.iter().map(String::as_str).collect();
        let purpose = format!("QuickSight's Athena data source for {}", a.principal);
        let role = a.role.clone();
        self.role(&role, "quicksight", &purpose, StackId::Analytics, &at);
        let o = a.origin.clone();
        self.flow(
            format!("{role}:query"),
            &role,
            Access::QueryAthena {
                workgroup: a.workgroup.clone(),
            },
            o.clone(),
            format!("run Athena queries for the dashboards of {}", a.principal),
        );
        self.flow(
            format!("{role}:results"),
            &role,
            Access::ScratchObjects {
                bucket: BucketId::Results,
                prefix: a.results_prefix.clone(),
            },
            o.clone(),
            "store and read its own Athena query results",
        );
        let mut datasets = Vec::new();
        for d in &a.datasets {
            let (bucket_prefix, table) = if d == INDEX_DATASET {
                (prefix::INDEX_EXPORT.to_owned(), "index_export".to_owned())
            } else {
                (prefix::curated(d), d.clone())
            };
            self.flow(
                format!("{role}:read:{d}"),
                &role,
                Access::ReadObjects {
                    bucket: BucketId::Curated,
                    prefix: bucket_prefix,
                },
                o.clone(),
                format!(
                    "read the `{d}` dataset for the dashboards of {}",
                    a.principal
                ),
            );
            datasets.push(QuickSightDataset {
                id: format!("{}-{}-{d}", self.base, a.slug),
                dataset: table,
                audience: a.slug.clone(),
                principals: vec![a.principal.clone()],
                origins: BTreeMap::from([(a.principal.clone(), o.clone())]),
            });
        }
        let tables = datasets.iter().map(|q| q.dataset.clone()).collect();
        self.flow(
            format!("{role}:catalog"),
            &role,
            Access::ReadCatalog { tables },
            o,
            "read its tables' definitions",
        );
        datasets
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
    pub(super) fn quicksight_arn(&self, p: &str) -> String {
        if p.starts_with("arn:") {
            p.to_owned()
        } else {
            let (partition, region) = (self.partition, &self.env.region);
            format!("arn:{partition}:quicksight:{region}:{}:{p}", self.account())
        }
    }
}
