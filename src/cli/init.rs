//! `init`: the starter files of a pipeline repository — a `pipeline.yaml` with the
//! schema line for editors, its event schema, `pipeline.schema.json`, a `.gitignore`
//! and the CI workflow — rendered from `templates/init/`, checked in memory by the
//! same validation as `check`, and written only when none of them exists yet.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::Args;

use crate::diag;
use crate::spec::{self, Files};

const SPEC: &str = include_str!("../../templates/init/pipeline.yaml.hbs");
const EVENT_SCHEMA: &str = include_str!("../../templates/init/reading.v1.json");
const GITIGNORE: &str = include_str!("../../templates/init/gitignore");
const WORKFLOW: &str = include_str!("../../templates/init/workflow.yml.hbs");

/// Where the workflow goes (GitHub Actions reads workflows from this folder).
pub const WORKFLOW_PATH: &str = ".github/workflows/pipewright.yml";

#[derive(Args, Debug)]
pub struct InitArgs {
    /// The folder to set up (created when missing).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Pipeline name: lowercase letters, digits and hyphens (default: the folder's
    /// name, made to fit).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// The team that owns the pipeline (a tag on every resource).
    #[arg(long, value_name = "TEAM", default_value = "data-platform")]
    pub owner: String,
    /// AWS account id of the `dev` environment.
    #[arg(long, value_name = "ID", default_value = "123456789012")]
    pub account: String,
    /// AWS Region of the `dev` environment.
    #[arg(long, value_name = "REGION", default_value = "us-east-1")]
    pub region: String,
    /// Region raw data is replicated to (default: the nearest-named other Region of the
    /// same partition, e.g. us-east-2 for us-east-1).
    #[arg(long, value_name = "REGION")]
    pub replica_region: Option<String>,
}

/// The values the templates are rendered with.
#[derive(serde::Serialize)]
pub struct Starter {
    pub name: String,
    pub owner: String,
    pub account: String,
    pub region: String,
    pub replica_region: String,
    /// pipewright's version, pinned in the workflow.
    pub version: &'static str,
}

/// A pipeline name from a folder name: lowercase ASCII letters and digits, other
/// characters as single hyphens, starting with a letter.
pub fn name_from_dir(dir: &Path) -> String {
    let base = std::path::absolute(dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let mut out = String::new();
    for c in base.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out
        .trim_matches('-')
        .trim_start_matches(|c: char| c.is_ascii_digit());
    let out: String = out.trim_start_matches('-').chars().take(40).collect();
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "my-pipeline".into()
    } else {
        out.into()
    }
}

/// A replica Region for `region`: the other Region of its partition sharing the longest
/// name prefix (`eu-west-2` → `eu-west-1`, `cn-north-1` → `cn-northwest-1`); the
/// region itself when it is unknown (then `check` names the problem).
pub fn replica_for(region: &str) -> String {
    let Some(p) = crate::aws::partition_of(region) else {
        return region.to_string();
    };
    let common = |r: &str| {
        r.bytes()
            .zip(region.bytes())
            .take_while(|(a, b)| a == b)
            .count()
    };
    p.regions
        .keys()
        .filter(|r| r.as_str() != region)
        .max_by(|a, b| common(a).cmp(&common(b)).then_with(|| b.cmp(a)))
        .cloned()
        .unwrap_or_else(|| region.to_string())
}

/// The starter files, by path relative to the folder (sorted).
pub fn files(s: &Starter) -> Result<BTreeMap<&'static str, String>, String> {
    let mut h = handlebars::Handlebars::new();
    h.set_strict_mode(true);
    h.register_escape_fn(handlebars::no_escape);
    let render = |name: &str, text: &str| {
        h.render_template(text, s)
            .map_err(|e| format!("templates/init/{name}: {e}"))
    };
    let mut out = BTreeMap::new();
    out.insert("pipeline.yaml", render("pipeline.yaml.hbs", SPEC)?);
    out.insert("schemas/reading.v1.json", EVENT_SCHEMA.to_string());
    out.insert("pipeline.schema.json", super::schema_text());
    out.insert(".gitignore", GITIGNORE.to_string());
    out.insert(WORKFLOW_PATH, render("workflow.yml.hbs", WORKFLOW)?);
    Ok(out)
}

/// The starter files as a file system, for checking the spec before anything is written.
struct Memory<'a>(&'a BTreeMap<&'static str, String>, &'a Path);

impl Files for Memory<'_> {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let rel = path.strip_prefix(self.1).unwrap_or(path);
        self.0
            .iter()
            .find(|(k, _)| Path::new(k) == rel)
            .map(|(_, v)| v.clone().into_bytes())
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "not a starter file"))
    }
}

pub(super) fn init(a: &InitArgs) -> io::Result<u8> {
    let starter = Starter {
        name: a.name.clone().unwrap_or_else(|| name_from_dir(&a.dir)),
        owner: a.owner.clone(),
        account: a.account.clone(),
        region: a.region.clone(),
        replica_region: a
            .replica_region
            .clone()
            .unwrap_or_else(|| replica_for(&a.region)),
        version: env!("CARGO_PKG_VERSION"),
    };
    let files = match files(&starter) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(2);
        }
    };
    // The starter must pass `check`: a bad --name, --account or --region is reported
    // by the spec's own rules, located in the spec that would have been written.
    let spec_path = a.dir.join("pipeline.yaml");
    let checked = spec::check_bytes(
        &spec_path,
        files["pipeline.yaml"].clone().into_bytes(),
        &Memory(&files, &a.dir),
    );
    if checked.validated().is_none() || checked.diagnostics.warning_count() > 0 {
        eprint!(
            "{}",
            diag::render_human(&checked.diagnostics, &checked.sources, super::ui::color())
        );
        eprintln!(
            "error: these options make a spec that does not pass `pipewright check`; nothing was written"
        );
        return Ok(2);
    }
    let existing: Vec<&str> = files
        .keys()
        .copied()
        .filter(|p| a.dir.join(p).exists())
        .collect();
    if !existing.is_empty() {
        eprintln!(
            "error: {} already has {}; nothing was written (init only starts a new pipeline)",
            a.dir.display(),
            existing.join(", ")
        );
        return Ok(1);
    }
    for (path, text) in &files {
        crate::fsio::write_atomic(&a.dir.join(path), text.as_bytes())?;
    }
    let mut out = io::stdout().lock();
    for path in files.keys() {
        writeln!(out, "created {}", a.dir.join(path).display())?;
    }
    writeln!(
        out,
        "\nnext: edit pipeline.yaml (account, region, sources), then `pipewright check` and `pipewright synth`"
    )?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_folders_fit_the_spec_rule() {
        for (dir, want) in [
            ("/x/Fleet Telemetry", "fleet-telemetry"),
            ("/x/2024_pos__events!", "pos-events"),
            ("/x/---", "my-pipeline"),
            ("/x/ABC", "abc"),
        ] {
            assert_eq!(name_from_dir(Path::new(dir)), want, "{dir}");
        }
    }

    #[test]
    fn replicas_stay_in_the_partition_and_the_geography() {
        for (region, want) in [
            ("us-east-1", "us-east-2"),
            ("eu-west-2", "eu-west-1"),
            ("cn-north-1", "cn-northwest-1"),
            ("us-gov-west-1", "us-gov-east-1"),
        ] {
            assert_eq!(replica_for(region), want, "{region}");
        }
    }
}
