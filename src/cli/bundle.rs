//! `bundle`: builds the pipeline's Lambda functions into reproducible zips, with a
//! spinner for people and a JSON list of artifacts for machines.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;

use super::{Cli, Format, envs_of, validated};

#[derive(Args, Debug)]
pub struct BundleArgs {
    /// The spec file.
    #[arg(default_value = "pipeline.yaml")]
    pub spec: PathBuf,
    /// Where zips go (not committed).
    #[arg(long, value_name = "DIR", default_value = "build")]
    pub out: PathBuf,
    /// Output format of the list of zips.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

pub(super) fn bundle(cli: &Cli, a: &BundleArgs) -> io::Result<u8> {
    use crate::bundle::{self as b, BundleError};
    use crate::spec::model::Architecture;
    let v = match validated(&a.spec, cli.env.as_deref()) {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    if let Err(e) = b::check_cargo_lambda() {
        eprintln!("error: {e}");
        return Ok(2);
    }
    let cache = match b::source::cache_root() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(2);
        }
    };
    let mut artifacts = Vec::new();
    let mut notes = Vec::new();
    for env in envs_of(&v, cli.env.as_deref()) {
        let plan = match super::plan_env(&v, env) {
            Ok(p) => p,
            Err(code) => return Ok(code),
        };
        for arch in [Architecture::X86_64, Architecture::Arm64] {
            let bar = (a.format == Format::Human && !super::ui::quiet()).then(|| {
                let pb = indicatif::ProgressBar::new_spinner();
                pb.enable_steady_tick(std::time::Duration::from_millis(120));
                pb.set_message(format!(
                    "building {} ({}) with cargo-lambda",
                    plan.function_name,
                    arch.as_str()
                ));
                pb
            });
            let r = b::bundle_ingest(&plan, &cache, &a.out, arch);
            if let Some(pb) = bar {
                pb.finish_and_clear();
            }
            match r {
                Ok(art) => artifacts.push(art),
                Err(BundleError::TargetMissing(m)) if arch != plan.architecture => {
                    notes.push(format!("{env}: skipped {}: {m}", arch.as_str()));
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(match e {
                        BundleError::ToolMissing(_) => 2,
                        _ => 1,
                    });
                }
            }
        }
    }
    let mut out = io::stdout().lock();
    match a.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&artifacts)?)?,
        Format::Human => {
            for art in &artifacts {
                writeln!(
                    out,
                    "{} {:<7} {}  sha256 {}  {} bytes",
                    art.function,
                    art.architecture,
                    art.path.display(),
                    art.sha256,
                    art.bytes
                )?;
            }
            for n in &notes {
                writeln!(out, "note: {n}")?;
            }
        }
    }
    Ok(0)
}
