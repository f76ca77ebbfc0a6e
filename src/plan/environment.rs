//! Lowering of the environment itself: what applies to every resource of it (tags,
//! the compliance posture, retention of data and logs, the alarm address, the
//! permissions boundary, the replica region). It names no resource and adds no flow;
//! the sections that build resources read the environment through the context.

use std::collections::BTreeMap;

use crate::spec::model::Compliance;

use super::cx::LowerCx;
use super::placeholders;

/// The environment-wide settings of a plan.
pub(super) struct Settings {
    pub compliance: Vec<Compliance>,
    pub retain: bool,
    pub tags: BTreeMap<String, String>,
    pub replica_region: Option<String>,
    pub log_retention_days: u32,
    pub alarm_email: Option<String>,
    pub permissions_boundary: Option<String>,
}

impl LowerCx<'_> {
    pub(super) fn settings(&self) -> Settings {
        let (spec, env) = (self.spec, self.env);
        Settings {
            compliance: spec.compliance(env),
            retain: env.retain_data.unwrap_or(true),
            tags: self.tags(),
            replica_region: if self.pci {
                env.replica_region.clone()
            } else {
                None
            },
            log_retention_days: self.log_days(),
            alarm_email: env.alarm_email.clone(),
            permissions_boundary: env
                .permissions_boundary
                .as_ref()
                .or(spec.security.permissions_boundary.as_ref())
                .map(|b| self.placeholders(b)),
        }
    }

    /// Tags: owner, cost centre, spec tags, environment tags (later wins).
    fn tags(&self) -> BTreeMap<String, String> {
        let spec = self.spec;
        let mut tags = BTreeMap::new();
        tags.insert("Owner".to_owned(), spec.owner.clone());
        if let Some(c) = &spec.cost_centre {
            tags.insert("CostCentre".to_owned(), c.clone());
        }
        tags.insert("pipewright:pipeline".to_owned(), spec.name.clone());
        tags.insert(
            "pipewright:environment".to_owned(),
            self.env_name.to_owned(),
        );
        tags.extend(spec.tags.clone());
        tags.extend(self.env.tags.clone());
        tags
    }

    /// Days log groups keep logs.
    pub(super) fn log_days(&self) -> u32 {
        self.env.log_retention_days.unwrap_or(365)
    }

    /// `s` with the environment's `{account}`, `{region}` and `{partition}`.
    pub(super) fn placeholders(&self, s: &str) -> String {
        placeholders(s, self.partition, &self.env.region, self.account())
    }
}
