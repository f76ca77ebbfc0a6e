//! Lowering of transforms: each Glue job's name, role, trigger, workers, output
//! columns and dataset prefixes (one per event-schema major version), and the job's
//! flows. The job's script is rendered by `emit::scripts`, and the catalog crawler
//! that reads the datasets is the catalog section's.

use std::collections::BTreeMap;

use pipewright_ingest_config as contract;

use crate::spec::Validated;
use crate::spec::event_schema::{self, ColumnType, Version};
use crate::spec::model::{Transform, TransformOverride};
use crate::spec::schedule::Schedule;

use super::cx::LowerCx;
use super::names::Rule;
use super::{Access, BucketId, ColumnPlan, StackId, TransformPlan, Trigger, prefix};

impl LowerCx<'_> {
    /// Every transform, in spec order.
    pub(super) fn transforms(&mut self) -> Vec<TransformPlan> {
        let spec = self.spec;
        spec.transforms
            .iter()
            .map(|(name, t)| {
                let plan = self.transform(name, t);
                self.transform_flows(&plan);
                self.job_flows(&plan);
                plan
            })
            .collect()
    }

    /// Names the job and its role, and resolves the transform's settings.
    fn transform(&mut self, tname: &str, t: &Transform) -> TransformPlan {
        let at = &["transforms", tname];
        let job_name = self.name(
            format!("{}-{tname}", self.base),
            Rule::GlueName,
            "Glue job",
            "the transform name",
            at,
        );
        let role = format!("transform-{tname}");
        let purpose = format!("Glue job `{tname}`");
        self.role(&role, "glue", &purpose, StackId::Processing, at);
        let dataset = t.dataset.clone().unwrap_or_else(|| tname.to_owned());
        let schema_major = self.schema_major(t);
        let prefixes: Vec<String> = (1..=schema_major.max(1))
            .map(|m| prefix::curated_version(&dataset, m))
            .collect();
        let ov = self.env.transforms.get(tname);
        let workers = ov
            .and_then(|o| o.workers.clone())
            .unwrap_or_else(|| t.workers.clone());
        TransformPlan {
            name: tname.to_owned(),
            role,
            dataset,
            inputs: t.inputs.clone(),
            dataset_inputs: self.dataset_inputs(t),
            sql: t.sql.clone(),
            source_columns: source_columns(self.v, t),
            columns: columns_of(self.v, tname, t),
            partition_by: t.partition_by.clone(),
            schema_major,
            prefix: prefixes.last().cloned().unwrap_or_default(),
            prefixes,
            trigger: self.trigger(t, ov),
            worker_type: workers.ty,
            workers: workers.count,
            timeout_minutes: t.timeout_minutes,
            max_retries: t.max_retries,
            script_key: prefix::glue_script(&job_name),
            // Glue 5 writes to `<prefix>/error` and `<prefix>/output` with
            // `--custom-logGroup-prefix`; the groups are created (encrypted, with
            // retention) by the processing stack.
            log_group: format!("/aws-glue/jobs/{job_name}"),
            job_name,
        }
    }

    /// The inputs of a SQL transform that are datasets, with the prefix each is read
    /// from (its writer's current major version).
    fn dataset_inputs(&self, t: &Transform) -> BTreeMap<String, String> {
        t.inputs
            .iter()
            .filter(|i| !self.spec.sources.contains_key(*i))
            .filter_map(|i| {
                let (_, w) = crate::spec::sql::writer_of(self.spec, i)?;
                Some((i.clone(), prefix::curated_version(i, self.schema_major(w))))
            })
            .collect()
    }

    /// Highest major version of the inputs' event schemas (1 when none has one).
    fn schema_major(&self, t: &Transform) -> u64 {
        t.inputs
            .iter()
            .filter_map(|i| self.spec.sources.get(i))
            .filter_map(|s| Version::parse(&s.schema.version))
            .map(|v| v.major)
            .max()
            .unwrap_or(1)
    }

    /// What starts the job: the schedule (the environment's first), the jobs it runs
    /// after, stored events, or nothing but a person.
    fn trigger(&self, t: &Transform, ov: Option<&TransformOverride>) -> Trigger {
        let schedule = ov
            .and_then(|o| o.schedule.clone())
            .or_else(|| t.schedule.clone());
        if let Some(s) = schedule {
            match Schedule::parse(&s).and_then(|sc| sc.to_glue_cron()) {
                Ok(cron) => Trigger::Schedule { cron },
                Err(_) => Trigger::Manual, // validated earlier
            }
        } else if !t.after.is_empty() {
            Trigger::After {
                jobs: t
                    .after
                    .iter()
                    .map(|a| format!("{}-{a}", self.base))
                    .collect(),
            }
        } else if t.on_ingest {
            Trigger::OnIngest
        } else {
            Trigger::Manual
        }
    }

    /// The job's data access: its inputs, its dataset (written, and read back to drop
    /// repeats) and its rejects.
    fn transform_flows(&mut self, tp: &TransformPlan) {
        let (tname, role) = (tp.name.as_str(), tp.role.as_str());
        for (input, from) in &tp.dataset_inputs {
            self.flow(
                format!("{role}:read-dataset:{input}"),
                role,
                Access::ReadObjects {
                    bucket: BucketId::Curated,
                    prefix: from.clone(),
                },
                self.origin(&["transforms", tname, "inputs"]),
                format!("read the `{input}` dataset"),
            );
        }
        for input in tp
            .inputs
            .iter()
            .filter(|i| !tp.dataset_inputs.contains_key(*i))
        {
            self.flow(
                format!("{role}:read-raw:{input}"),
                role,
                Access::ReadObjects {
                    bucket: BucketId::Raw,
                    prefix: contract::layout::raw_prefix(input),
                },
                self.origin(&["transforms", tname, "inputs"]),
                format!("read raw `{input}` events"),
            );
        }
        let to = self.origin(&["transforms", tname]);
        if tp.sql.is_some() {
            // Dynamic partition overwrite deletes the old files of each date it replaces.
            self.flow(
                format!("{role}:replace-dataset"),
                role,
                Access::ScratchObjects {
                    bucket: BucketId::Curated,
                    prefix: tp.prefix.clone(),
                },
                self.origin(&["transforms", tname, "sql"]),
                format!(
                    "write the `{}` dataset, replacing the partitions a run recomputes",
                    tp.dataset
                ),
            );
        } else {
            self.flow(
                format!("{role}:write-dataset"),
                role,
                Access::PutObjects {
                    bucket: BucketId::Curated,
                    prefix: tp.prefix.clone(),
                },
                to.clone(),
                format!("write the `{}` dataset", tp.dataset),
            );
        }
        if tp.sql.is_none() {
            self.flow(
                format!("{role}:read-dataset"),
                role,
                Access::ReadObjects {
                    bucket: BucketId::Curated,
                    prefix: tp.prefix.clone(),
                },
                to.clone(),
                "recognise events the dataset already holds (de-duplication across runs)",
            );
        }
        self.flow(
            format!("{role}:write-rejects"),
            role,
            Access::PutObjects {
                bucket: BucketId::Curated,
                prefix: prefix::transform_rejects(tname),
            },
            to,
            "keep rows that fail parsing or casting, with the reason",
        );
    }

    /// What the job needs to run: its script, temporary directory, logs and bookmarks,
    /// and under PCI-DSS the private subnets. Jobs it runs after need nothing: Glue
    /// starts triggered jobs itself.
    fn job_flows(&mut self, tp: &TransformPlan) {
        let role = tp.role.as_str();
        let to = self.origin(&["transforms", &tp.name]);
        self.flow(
            format!("{role}:read-script"),
            role,
            Access::ReadObjects {
                bucket: BucketId::Artifacts,
                prefix: tp.script_key.clone(),
            },
            to.clone(),
            "load the job's script",
        );
        self.flow(
            format!("{role}:temp"),
            role,
            Access::ScratchObjects {
                bucket: BucketId::Artifacts,
                prefix: prefix::glue_temp(&tp.job_name),
            },
            to.clone(),
            "use the job's temporary directory",
        );
        for stream in ["error", "output"] {
            self.flow(
                format!("{role}:logs-{stream}"),
                role,
                Access::WriteLogs {
                    group: format!("{}/{stream}", tp.log_group),
                },
                to.clone(),
                format!("write the job's {stream} log"),
            );
        }
        self.flow(
            format!("{role}:bookmarks"),
            role,
            Access::EncryptBookmarks,
            to,
            "encrypt job bookmarks (which raw objects were processed)",
        );
        if self.pci {
            self.flow(
                format!("{role}:vpc"),
                role,
                Access::AttachToVpc,
                self.origin(&["environments", self.env_name]),
                "run in the pipeline's private subnets",
            );
        }
    }
}

/// The jobs that stored events of each source start (`on_ingest` transforms), by
/// source, in transform order.
pub(super) fn on_ingest_jobs(transforms: &[TransformPlan]) -> BTreeMap<String, Vec<String>> {
    let mut jobs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in transforms {
        if let Trigger::OnIngest = t.trigger {
            for input in t
                .inputs
                .iter()
                .filter(|i| !t.dataset_inputs.contains_key(*i))
            {
                jobs.entry(input.clone())
                    .or_default()
                    .push(t.job_name.clone());
            }
        }
    }
    jobs
}

/// A column a query sees or outputs: named as it is read, its type inferred, nullable.
fn inferred((name, ty): (String, ColumnType)) -> ColumnPlan {
    ColumnPlan {
        from: name.clone(),
        name,
        ty: ty.to_string(),
        nullable: true,
    }
}

/// The typed event fields of each source input of a SQL transform.
fn source_columns(v: &Validated, t: &Transform) -> BTreeMap<String, Vec<ColumnPlan>> {
    if t.sql.is_none() {
        return BTreeMap::new();
    }
    t.inputs
        .iter()
        .filter_map(|i| Some((i, v.schemas.get(i)?)))
        .filter(|(i, _)| v.spec.sources.contains_key(*i))
        .map(|(i, s)| {
            let cols = crate::spec::sql::event_columns(&s.value)
                .into_iter()
                .map(inferred)
                .collect();
            (i.clone(), cols)
        })
        .collect()
}

/// The output columns of a transform with their types: a query's inferred schema,
/// or each column's from the first input's schema, or its override.
fn columns_of(v: &Validated, tname: &str, t: &Transform) -> Vec<ColumnPlan> {
    if t.sql.is_some() {
        let out = crate::spec::sql::output_schema(&v.spec, &v.schemas, tname).unwrap_or_default();
        return out.into_iter().map(inferred).collect();
    }
    t.columns
        .iter()
        .map(|c| {
            let from = c.from.clone().unwrap_or_else(|| c.name.clone());
            let ty = crate::spec::sql::projection_type(&v.schemas, t, c);
            let nullable = t
                .inputs
                .first()
                .and_then(|i| v.schemas.get(i))
                .and_then(|s| event_schema::field(&s.value, &from).ok())
                .is_none_or(|f| !f.required);
            ColumnPlan {
                name: c.name.clone(),
                from,
                ty: ty.map_or_else(|| "string".to_owned(), |t| t.to_string()),
                nullable,
            }
        })
        .collect()
}
