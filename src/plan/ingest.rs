//! Lowering of ingest: the API and its routes (one per source, with the environment's
//! throttling and quota), the ingest function, its dead-letter queue and log groups,
//! their roles and flows, and the configuration the function is deployed with
//! (`pipewright_ingest_config`). Which jobs a stored event starts comes from the
//! transforms section; this section only grants the start.

use std::collections::BTreeMap;

use pipewright_ingest_config as contract;

use crate::spec::model::{Architecture, Lookup, Partitioning, Source};

use super::cx::{FIX_BASE, LowerCx};
use super::index::IndexPart;
use super::names::Rule;
use super::{API_EXECUTION_LOG_PREFIX, Access, BucketId, RoutePlan, StackId};

/// The API, the ingest function and their settings.
pub(super) struct IngestPart {
    pub api_name: String,
    pub api_log_group: String,
    pub routes: Vec<RoutePlan>,
    pub function_name: String,
    pub function_log_group: String,
    pub dlq_name: String,
    pub memory_mb: u32,
    pub timeout_seconds: u32,
    pub architecture: Architecture,
    pub reserved_concurrency: Option<u32>,
}

impl LowerCx<'_> {
    /// Names the queue, function, API and access log group, adds the ingest and API
    /// logging roles, the routes and their flows.
    pub(super) fn ingest(&mut self) -> IngestPart {
        let base = self.base.clone();
        let at = &["name"];
        let dlq_name = self.name(
            format!("{base}-ingest-dlq"),
            Rule::SqsQueue,
            "queue",
            FIX_BASE,
            at,
        );
        let function_name = self.name(
            format!("{base}-ingest"),
            Rule::LambdaFunction,
            "function",
            FIX_BASE,
            at,
        );
        let api_name = self.name(format!("{base}-api"), Rule::ApiName, "API", FIX_BASE, at);
        let access_log = format!("/aws/apigateway/{base}-access");
        let api_log_group = self.name(access_log, Rule::LogGroup, "log group", FIX_BASE, at);
        let at = &["sources"];
        self.role(
            "ingest",
            "lambda",
            "the ingest function",
            StackId::Ingest,
            at,
        );
        let purpose = "API Gateway access logging";
        self.role("apigw-logs", "apigateway", purpose, StackId::Ingest, at);
        let spec = self.spec;
        let routes = spec.sources.iter().map(|(n, s)| self.route(n, s)).collect();
        let function_log_group = format!("/aws/lambda/{function_name}");
        self.ingest_flows(&function_log_group, &dlq_name, &api_log_group);
        let (ingest, over) = (&spec.ingest, &self.env.ingest);
        IngestPart {
            api_name,
            api_log_group,
            routes,
            function_name,
            function_log_group,
            dlq_name,
            memory_mb: over.memory_mb.unwrap_or(ingest.memory_mb),
            timeout_seconds: ingest.timeout_seconds,
            architecture: ingest.architecture,
            reserved_concurrency: over.reserved_concurrency.or(ingest.reserved_concurrency),
        }
    }

    /// The route of one source, and the function's writes under its raw prefixes.
    fn route(&mut self, name: &str, src: &Source) -> RoutePlan {
        let ov = self.env.sources.get(name);
        let throttle = ov
            .and_then(|o| o.throttle.clone())
            .unwrap_or_else(|| src.throttle.clone());
        let quota = ov
            .and_then(|o| o.quota.clone())
            .or_else(|| src.quota.clone());
        let route = RoutePlan {
            source: name.to_owned(),
            route: src.route.trim_end_matches('/').to_owned(),
            auth: ov.and_then(|o| o.auth).unwrap_or(src.auth),
            rate_limit: throttle.rate_limit,
            burst_limit: throttle.burst_limit,
            quota: quota.map(|q| (q.limit, q.period)),
            max_body_bytes: src.limits.max_body_bytes,
            max_events: src.limits.max_events,
            origin: self.origin(&["sources", name, "route"]),
        };
        let o = self.origin(&["sources", name]);
        self.flow(
            format!("ingest:put-raw:{name}"),
            "ingest",
            Access::PutObjects {
                bucket: BucketId::Raw,
                prefix: contract::layout::raw_prefix(name),
            },
            o.clone(),
            format!("store accepted `{name}` events as received"),
        );
        self.flow(
            format!("ingest:put-rejected:{name}"),
            "ingest",
            Access::PutObjects {
                bucket: BucketId::Raw,
                prefix: contract::layout::rejected_prefix(name),
            },
            o,
            format!("keep rejected `{name}` events with their reasons"),
        );
        route
    }

    /// The function's and the API's flows that no single source causes.
    fn ingest_flows(&mut self, function_log_group: &str, dlq_name: &str, api_log_group: &str) {
        let io = self.origin(&["index"]);
        self.flow(
            "ingest:write-index".into(),
            "ingest",
            Access::WriteItems,
            io.clone(),
            "record each stored object (and idempotency keys) in the index",
        );
        self.flow(
            "ingest:read-idempotency".into(),
            "ingest",
            Access::ReadItems,
            io,
            "answer retried requests from their idempotency record",
        );
        let ingo = self.origin(&["ingest"]);
        self.flow(
            "ingest:logs".into(),
            "ingest",
            Access::WriteLogs {
                group: function_log_group.to_owned(),
            },
            ingo.clone(),
            "write the function's logs and metrics",
        );
        self.flow(
            "ingest:dead-letters".into(),
            "ingest",
            Access::SendMessages {
                queue: dlq_name.to_owned(),
            },
            ingo,
            "park events of failed asynchronous invocations",
        );
        self.flow(
            "apigw-logs:access-logs".into(),
            "apigw-logs",
            Access::PushApiLogs {
                group: api_log_group.to_owned(),
            },
            self.origin(&["sources"]),
            "write API access logs",
        );
        self.flow(
            "apigw-logs:execution-logs".into(),
            "apigw-logs",
            Access::PushApiLogs {
                group: format!("{API_EXECUTION_LOG_PREFIX}*/{}", self.env_name),
            },
            self.origin(&["sources"]),
            "write API execution logs (errors only) of the stage; the API id is known only after deployment",
        );
        if self.pci {
            self.flow(
                "ingest:vpc".into(),
                "ingest",
                Access::AttachToVpc,
                self.origin(&["environments", self.env_name]),
                "run the function in the pipeline's private subnets",
            );
        }
    }

    /// The function's right to start the jobs that run when a source's events are
    /// stored (`on_ingest` transforms, by source): one flow per job, however many of
    /// its inputs start it, traced to the first of them.
    pub(super) fn start_jobs(&mut self, on_ingest: &BTreeMap<String, Vec<String>>) {
        let mut by_job: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (src, jobs) in on_ingest {
            for job in jobs {
                by_job.entry(job).or_default().push(src);
            }
        }
        for (job, srcs) in by_job {
            let names: Vec<String> = srcs.iter().map(|s| format!("`{s}`")).collect();
            self.flow(
                format!("ingest:start-job:{job}"),
                "ingest",
                Access::StartJob {
                    job: job.to_owned(),
                },
                self.origin(&["sources", srcs[0]]),
                format!("start `{job}` after storing {} events", names.join(" or ")),
            );
        }
    }

    /// The configuration the ingest function is deployed with.
    pub(super) fn ingest_config(
        &self,
        index: &IndexPart,
        on_ingest: &BTreeMap<String, Vec<String>>,
    ) -> contract::IngestConfig {
        let spec = self.spec;
        let has = |l| index.lookups.contains(&l);
        contract::IngestConfig {
            version: contract::CONFIG_VERSION,
            pipeline: spec.name.clone(),
            environment: self.env_name.to_owned(),
            partitioning: match spec.storage.raw.partitioning {
                Partitioning::Hour => contract::Partitioning::Hour,
                Partitioning::Day => contract::Partitioning::Day,
            },
            gzip_level: spec.ingest.gzip_level,
            max_device_ids: spec.index.max_device_ids,
            index_ttl_days: index.ttl_days,
            idempotency_ttl_days: 7,
            lookups: contract::Lookups {
                by_source_date: has(Lookup::BySourceDate),
                by_device: has(Lookup::ByDevice),
                by_schema_version: has(Lookup::BySchemaVersion),
            },
            sources: spec
                .sources
                .iter()
                .map(|(n, s)| (n.clone(), self.source_config(n, s, on_ingest)))
                .collect(),
        }
    }

    fn source_config(
        &self,
        name: &str,
        s: &Source,
        on_ingest: &BTreeMap<String, Vec<String>>,
    ) -> contract::SourceConfig {
        contract::SourceConfig {
            route: s.route.trim_end_matches('/').to_owned(),
            schema_version: s.schema.version.clone(),
            schema: self
                .v
                .schemas
                .get(name)
                .map(|l| l.value.clone())
                .unwrap_or_default(),
            max_body_bytes: s.limits.max_body_bytes,
            max_events: s.limits.max_events,
            id_field: s.fields.id.clone(),
            time_field: s.fields.time.clone(),
            device_field: s.fields.device.clone(),
            start_jobs: on_ingest.get(name).cloned().unwrap_or_default(),
        }
    }
}
