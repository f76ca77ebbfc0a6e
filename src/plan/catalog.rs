//! Lowering of the catalog: the Glue database, the crawler that keeps the datasets'
//! tables (its name, schedule, role, log group and flows) and the Glue security
//! configuration. The datasets themselves are the transforms section's.

use crate::spec::model::{DeleteBehavior, UpdateBehavior};
use crate::spec::schedule::Schedule;

use super::cx::{FIX_BASE, LowerCx, dataset_prefixes, versioned_id};
use super::names::Rule;
use super::{Access, BucketId, StackId, TransformPlan};

/// The catalog of a plan.
pub(super) struct CatalogPart {
    pub database: String,
    pub crawler_name: String,
    pub crawler_schedule: Option<String>,
    pub crawler_log_group: Option<String>,
    pub glue_security_configuration: String,
    pub on_change: UpdateBehavior,
    pub on_delete: DeleteBehavior,
}

impl LowerCx<'_> {
    /// The Glue database's name: `catalog.database` (or the pipeline name) and the
    /// environment, joined by `_`.
    pub(super) fn database(&mut self) -> String {
        self.name(
            self.spec.glue_database(self.env_name),
            Rule::GlueDatabase,
            "Glue database",
            "`catalog.database`",
            &["catalog"],
        )
    }

    /// The crawler of the transforms' datasets (a role and flows only when there are
    /// transforms), in `database`.
    pub(super) fn catalog(
        &mut self,
        database: String,
        transforms: &[TransformPlan],
    ) -> CatalogPart {
        let crawler_name = self.name(
            format!("{}-curated", self.base),
            Rule::GlueName,
            "crawler",
            FIX_BASE,
            &["catalog"],
        );
        let glue_security_configuration = format!("{}-glue", self.base);
        let crawler_log_group = if transforms.is_empty() {
            None
        } else {
            Some(self.crawler(&glue_security_configuration, transforms))
        };
        let crawler = &self.spec.catalog.crawler;
        CatalogPart {
            database,
            crawler_name,
            crawler_schedule: (crawler.schedule.as_deref())
                .and_then(|s| Schedule::parse(s).ok()?.to_glue_cron().ok()),
            crawler_log_group,
            glue_security_configuration,
            on_change: crawler.on_change,
            on_delete: crawler.on_delete,
        }
    }

    /// Adds the crawler's role and flows; returns its log group.
    fn crawler(&mut self, security_configuration: &str, transforms: &[TransformPlan]) -> String {
        let at = &["catalog"];
        let purpose = "the catalog crawler";
        self.role("crawler", "glue", purpose, StackId::Processing, at);
        // With a security configuration, Glue writes a crawler's logs to
        // `/aws-glue/crawlers-role/<role path without its first slash><role name>-<configuration>`;
        // the generated role name is the only part not known here.
        let group = format!(
            "/aws-glue/crawlers-role{}*-{security_configuration}",
            self.roles["crawler"].path()
        );
        let co = self.origin(at);
        let datasets: Vec<String> = transforms.iter().map(|t| t.dataset.clone()).collect();
        for d in &datasets {
            for (n, p) in dataset_prefixes(transforms, d).into_iter().enumerate() {
                self.flow(
                    versioned_id(format!("crawler:read-dataset:{d}"), n),
                    "crawler",
                    Access::ReadObjects {
                        bucket: BucketId::Curated,
                        prefix: p,
                    },
                    co.clone(),
                    format!("infer the `{d}` table's schema and partitions"),
                );
            }
        }
        self.flow(
            "crawler:update-catalog".into(),
            "crawler",
            Access::UpdateCatalog { tables: datasets },
            co.clone(),
            "create and update the datasets' tables",
        );
        self.flow(
            "crawler:logs".into(),
            "crawler",
            Access::WriteLogs {
                group: group.clone(),
            },
            co,
            "write the crawler's logs",
        );
        group
    }
}
