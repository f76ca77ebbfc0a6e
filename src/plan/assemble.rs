//! The last step of lowering: checks that flow ids are unique, and puts the
//! sections' parts and the context's shared collections together into the [`Plan`].
//! It derives nothing itself beyond sorting the flows.

use pipewright_ingest_config as contract;

use crate::diag::{Diagnostic, Diagnostics};

use super::analytics::AnalyticsPart;
use super::catalog::CatalogPart;
use super::cx::LowerCx;
use super::environment::Settings;
use super::index::IndexPart;
use super::ingest::IngestPart;
use super::{NetworkPlan, Plan, TransformPlan};

/// What the sections returned, for [`LowerCx::finish`].
pub(super) struct Parts {
    pub settings: Settings,
    pub key_alias: String,
    pub alarm_topic: String,
    pub index: IndexPart,
    pub ingest: IngestPart,
    pub ingest_config: contract::IngestConfig,
    pub route_groups: Vec<Vec<usize>>,
    pub transforms: Vec<TransformPlan>,
    pub transform_groups: Vec<Vec<usize>>,
    pub catalog: CatalogPart,
    pub analytics: AnalyticsPart,
    pub model_package_group: Option<String>,
    pub training: Option<super::TrainingPlan>,
    pub network: Option<NetworkPlan>,
}

impl LowerCx<'_> {
    /// The plan, or every error found while lowering (naming rules, repeated flow ids).
    pub(super) fn finish(mut self, parts: Parts) -> Result<Plan, Diagnostics> {
        let mut flows = std::mem::take(&mut self.flows);
        flows.sort_by(|a, b| a.id.cmp(&b.id));
        if let Some(w) = flows.windows(2).find(|w| w[0].id == w[1].id) {
            self.diags.push(Diagnostic::error(
                "PW0301",
                format!("internal: two flows with id `{}`", w[0].id),
            ));
        }
        if self.diags.has_errors() {
            return Err(self.diags);
        }
        let Parts {
            settings: s,
            key_alias,
            alarm_topic,
            index,
            ingest,
            ingest_config,
            route_groups,
            transforms,
            transform_groups,
            catalog,
            analytics,
            model_package_group,
            training,
            network,
        } = parts;
        let (spec, env) = (self.spec, self.env);
        let key_admins = self.key_admins();
        let origins = crate::plan::GRANT_SETTINGS
            .iter()
            .map(|path| {
                let keys: Vec<&str> = match *path {
                    "environments" => vec!["environments", self.env_name],
                    p => p.split('.').collect(),
                };
                (path.to_string(), self.origin(&keys))
            })
            .collect();
        Ok(Plan {
            pipeline: spec.name.clone(),
            env: self.env_name.to_owned(),
            description: spec.description.clone(),
            account: env.account.clone(),
            region: env.region.clone(),
            partition: self.partition,
            replica_region: s.replica_region,
            compliance: s.compliance,
            retain: s.retain,
            tags: s.tags,
            log_retention_days: s.log_retention_days,
            alarm_email: s.alarm_email,
            permissions_boundary: s.permissions_boundary,
            key_alias,
            key_rotation_days: spec.security.kms.rotation_days,
            key_deletion_window_days: spec.security.kms.deletion_window_days,
            key_admins,
            buckets: self.buckets,
            table: index.table,
            lookups: index.lookups,
            index_ttl_days: index.ttl_days,
            api_name: ingest.api_name,
            stage: self.env_name.to_owned(),
            api_log_group: ingest.api_log_group,
            routes: ingest.routes,
            route_groups,
            transform_groups,
            function_name: ingest.function_name,
            function_log_group: ingest.function_log_group,
            dlq_name: ingest.dlq_name,
            alarm_topic,
            memory_mb: ingest.memory_mb,
            timeout_seconds: ingest.timeout_seconds,
            architecture: ingest.architecture,
            reserved_concurrency: ingest.reserved_concurrency,
            ingest_config,
            transforms,
            compression: spec.storage.transformed.compression,
            database: catalog.database,
            crawler_name: catalog.crawler_name,
            crawler_schedule: catalog.crawler_schedule,
            crawler_log_group: catalog.crawler_log_group,
            glue_security_configuration: catalog.glue_security_configuration,
            on_change: catalog.on_change,
            on_delete: catalog.on_delete,
            workgroup: analytics.workgroup,
            bytes_scanned_cutoff: analytics.bytes_scanned_cutoff,
            quicksight: analytics.quicksight,
            quicksight_audiences: analytics.quicksight_audiences,
            dashboards: analytics.dashboards,
            index_export: analytics.index_export,
            model_package_group,
            training,
            network,
            roles: self.roles,
            flows,
            stacks: self.stacks,
            origins,
        })
    }
}
