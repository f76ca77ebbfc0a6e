//! Start-up: reads the bundled config and the environment, checks them, and compiles
//! one JSON Schema validator per source. The function refuses to start on any error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jsonschema::Validator;

use crate::tape::Tape;
use pipewright_ingest_config::{CONFIG_FILE, IngestConfig, SourceConfig, env};

/// Resource names from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub raw_bucket: String,
    pub index_table: String,
    /// SSE-KMS key for raw objects; `None`: the bucket's default key.
    pub kms_key_arn: Option<String>,
}

impl Names {
    /// Reads [`env::RAW_BUCKET`], [`env::INDEX_TABLE`] and [`env::KMS_KEY_ARN`] through `var`.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Names, String> {
        let required = |name: &str| {
            var(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("environment variable {name} is not set"))
        };
        Ok(Names {
            raw_bucket: required(env::RAW_BUCKET)?,
            index_table: required(env::INDEX_TABLE)?,
            kms_key_arn: var(env::KMS_KEY_ARN)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty()),
        })
    }
}

/// A source with its compiled validators: one for `serde_json::Value` events (which
/// also gives the reasons of a rejected event), one for scanned events (the fast path,
/// [`crate::tape`]), built from the same schema with the same options.
pub struct Source {
    pub name: String,
    pub config: SourceConfig,
    pub validator: Validator,
    pub fast: Validator<Tape>,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("name", &self.name)
            .field("route", &self.config.route)
            .finish()
    }
}

/// Everything the handler needs besides the AWS clients; built once per process.
#[derive(Debug)]
pub struct Setup {
    pub config: IngestConfig,
    pub names: Names,
    sources: BTreeMap<String, Source>,
}

/// Most items in one DynamoDB transaction.
pub const MAX_TRANSACTION_ITEMS: usize = 100;

impl Setup {
    /// Checks the config and compiles the validators.
    pub fn new(config: IngestConfig, names: Names) -> Result<Setup, String> {
        if !(1..=9).contains(&config.gzip_level) {
            return Err(format!("gzip_level must be 1–9, not {}", config.gzip_level));
        }
        if config.idempotency_ttl_days == 0 {
            return Err("idempotency_ttl_days must be at least 1".into());
        }
        if config.sources.is_empty() {
            return Err("the config has no sources".into());
        }
        let mut sources = BTreeMap::new();
        let mut routes = BTreeMap::new();
        for (name, sc) in &config.sources {
            if !sc.route.starts_with('/') {
                return Err(format!(
                    "source `{name}`: route `{}` must start with `/`",
                    sc.route
                ));
            }
            if let Some(other) = routes.insert(sc.route.trim_end_matches('/').to_string(), name) {
                return Err(format!(
                    "sources `{other}` and `{name}` have the same route `{}`",
                    sc.route
                ));
            }
            if sc.max_events == 0 || sc.max_body_bytes == 0 {
                return Err(format!(
                    "source `{name}`: max_events and max_body_bytes must be at least 1"
                ));
            }
            if name.is_empty() || name.contains(['/', '#']) {
                return Err(format!(
                    "source name `{name}` must be non-empty, without `/` or `#`"
                ));
            }
            let validator = jsonschema::options()
                .should_validate_formats(true)
                .build(&sc.schema)
                .map_err(|e| format!("source `{name}`: its event schema does not compile: {e}"))?;
            let fast = jsonschema::options_for::<Tape>()
                .should_validate_formats(true)
                .build(&sc.schema)
                .map_err(|e| format!("source `{name}`: its event schema does not compile: {e}"))?;
            sources.insert(
                name.clone(),
                Source {
                    name: name.clone(),
                    config: sc.clone(),
                    validator,
                    fast,
                },
            );
        }
        Ok(Setup {
            config,
            names,
            sources,
        })
    }

    /// Reads the config file (at [`env::CONFIG_PATH`], else [`CONFIG_FILE`] next to
    /// the executable) and the names from the process environment.
    pub fn from_env() -> Result<Setup, String> {
        let path = match std::env::var_os(env::CONFIG_PATH) {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => default_config_path()?,
        };
        let config = read_config(&path)?;
        let names = Names::from_vars(|k| std::env::var(k).ok())?;
        Setup::new(config, names)
    }

    /// The source whose route is `path`.
    pub fn source_for_route(&self, path: &str) -> Option<&Source> {
        let (name, _) = self.config.source_for_route(path)?;
        self.sources.get(name)
    }

    pub fn source(&self, name: &str) -> Option<&Source> {
        self.sources.get(name)
    }

    pub fn sources(&self) -> impl Iterator<Item = &Source> {
        self.sources.values()
    }
}

fn default_config_path() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot locate the executable: {e}"))?;
    let dir = exe
        .parent()
        .ok_or("the executable has no parent directory")?;
    Ok(dir.join(CONFIG_FILE))
}

/// Reads and parses a config file.
pub fn read_config(path: &Path) -> Result<IngestConfig, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("cannot read the ingest config {}: {e}", path.display()))?;
    IngestConfig::from_json(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipewright_ingest_config::{CONFIG_VERSION, Lookups, Partitioning};
    use serde_json::json;

    pub(crate) fn config(schema: serde_json::Value) -> IngestConfig {
        let mut sources = BTreeMap::new();
        sources.insert(
            "pos".to_string(),
            SourceConfig {
                route: "/v1/pos/sales".into(),
                schema_version: "1.0.0".into(),
                schema,
                max_body_bytes: 1 << 20,
                max_events: 100,
                id_field: Some("event_id".into()),
                time_field: None,
                device_field: None,
                start_jobs: vec![],
            },
        );
        IngestConfig {
            version: CONFIG_VERSION,
            pipeline: "p".into(),
            environment: "dev".into(),
            partitioning: Partitioning::Hour,
            gzip_level: 6,
            max_device_ids: 10,
            index_ttl_days: None,
            idempotency_ttl_days: 7,
            lookups: Lookups::default(),
            sources,
        }
    }

    fn names() -> Names {
        Names {
            raw_bucket: "b".into(),
            index_table: "t".into(),
            kms_key_arn: None,
        }
    }

    #[test]
    fn names_come_from_the_environment() {
        let vars = |k: &str| match k {
            env::RAW_BUCKET => Some("raw".to_string()),
            env::INDEX_TABLE => Some("idx".to_string()),
            env::KMS_KEY_ARN => Some(" ".to_string()),
            _ => None,
        };
        let n = Names::from_vars(vars).unwrap();
        assert_eq!(
            (n.raw_bucket.as_str(), n.index_table.as_str(), n.kms_key_arn),
            ("raw", "idx", None)
        );
        let err =
            Names::from_vars(|k| (k == env::RAW_BUCKET).then(|| "raw".to_string())).unwrap_err();
        assert!(err.contains(env::INDEX_TABLE), "{err}");
    }

    #[test]
    fn a_schema_that_does_not_compile_is_refused() {
        let err = Setup::new(config(json!({"type": "nonsense"})), names()).unwrap_err();
        assert!(
            err.contains("source `pos`") && err.contains("does not compile"),
            "{err}"
        );
    }

    #[test]
    fn bad_limits_are_refused() {
        let mut c = config(json!({"type": "object"}));
        c.gzip_level = 0;
        assert!(Setup::new(c, names()).unwrap_err().contains("gzip_level"));
        let mut c = config(json!({"type": "object"}));
        c.sources.get_mut("pos").unwrap().max_events = 0;
        assert!(Setup::new(c, names()).unwrap_err().contains("max_events"));
    }

    #[test]
    fn routes_match_with_or_without_trailing_slash() {
        let s = Setup::new(config(json!({"type": "object"})), names()).unwrap();
        assert_eq!(s.source_for_route("/v1/pos/sales/").unwrap().name, "pos");
        assert!(s.source_for_route("/v1/pos").is_none());
    }

    #[test]
    fn a_missing_or_bad_config_file_is_reported() {
        let dir = std::env::temp_dir().join(format!("pw-ingest-setup-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.json");
        assert!(read_config(&missing).unwrap_err().contains("cannot read"));
        let bad = dir.join("bad.json");
        std::fs::write(&bad, b"{\"version\": 99}").unwrap();
        assert!(
            read_config(&bad)
                .unwrap_err()
                .contains("invalid ingest config")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn formats_are_validated() {
        let s = Setup::new(
            config(json!({"type": "object", "properties": {"at": {"type": "string", "format": "date-time"}}})),
            names(),
        )
        .unwrap();
        let v = &s.source("pos").unwrap().validator;
        assert!(v.is_valid(&json!({"at": "2026-11-27T09:00:00Z"})));
        assert!(!v.is_valid(&json!({"at": "yesterday"})));
    }
}
