//! `graph`, `cost` and `docs`: the commands that explain a pipeline to people.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{Cli, Format, validated};
use crate::plan::Plan;

#[derive(Args, Debug)]
pub struct GraphArgs {
    /// The spec file.
    #[arg(default_value = "pipeline.yaml")]
    pub spec: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
    pub format: GraphFormat,
}

/// How `graph` draws.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// A Mermaid flowchart.
    Mermaid,
    /// Graphviz DOT (`| dot -Tsvg`).
    Dot,
    /// The Mermaid flowchart in a fenced block, ready for a pull request or a README.
    Markdown,
}

/// Lowers the one environment a command works on; `--env` may be left out only
/// when the spec has a single environment.
pub(super) fn plan_of(cli: &Cli, spec: &std::path::Path) -> Result<Plan, u8> {
    let v = validated(spec, cli.env.as_deref())?;
    let env = match &cli.env {
        Some(e) => e.clone(),
        None if v.spec.environments.len() == 1 => v
            .spec
            .environments
            .keys()
            .next()
            .cloned()
            .unwrap_or_default(),
        None => {
            let known: Vec<&str> = v.spec.environments.keys().map(String::as_str).collect();
            eprintln!(
                "error: pass --env NAME (the spec defines {})",
                known.join(", ")
            );
            return Err(2);
        }
    };
    crate::plan::lower(&v, &env).map_err(|d| {
        eprint!(
            "{}",
            crate::diag::render_human(&d, &crate::diag::SourceMap::default(), super::ui::color())
        );
        1
    })
}

pub(super) fn graph(cli: &Cli, a: &GraphArgs) -> io::Result<u8> {
    let plan = match plan_of(cli, &a.spec) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let g = crate::graph::build(&plan);
    let text = match a.format {
        GraphFormat::Dot => g.dot(),
        GraphFormat::Mermaid => g.mermaid(),
        GraphFormat::Markdown => format!("```mermaid\n{}```\n", g.mermaid()),
    };
    io::stdout().lock().write_all(text.as_bytes())?;
    Ok(0)
}

#[derive(Args, Debug)]
pub struct CostArgs {
    /// The spec file.
    #[arg(default_value = "pipeline.yaml")]
    pub spec: PathBuf,
    /// Events received a day (all sources).
    #[arg(long, value_name = "N", default_value_t = 1_000_000.0)]
    pub events_per_day: f64,
    /// Bytes of one event as JSON.
    #[arg(long, value_name = "B", default_value_t = 1024.0)]
    pub event_bytes: f64,
    /// Events per API request (devices batching).
    #[arg(long, value_name = "K", default_value_t = 100)]
    pub batch: u32,
    /// A price book to use instead of the committed `data/prices.json`.
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

pub(super) fn cost(cli: &Cli, a: &CostArgs) -> io::Result<u8> {
    use crate::cost::{self, prices::PriceBook};
    let positive = |x: f64, min_ok: bool| x.is_finite() && (x > 0.0 || (min_ok && x == 0.0));
    if !positive(a.events_per_day, true) || !positive(a.event_bytes, false) || a.batch == 0 {
        eprintln!("error: --events-per-day must be >= 0, --event-bytes > 0 and --batch >= 1");
        return Ok(2);
    }
    let book = match &a.prices {
        None => PriceBook::builtin(),
        Some(p) => {
            let text = match std::fs::read_to_string(p) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("error: cannot read {}: {e}", p.display());
                    return Ok(2);
                }
            };
            match PriceBook::parse(&text, &p.display().to_string()) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(2);
                }
            }
        }
    };
    let plan = match plan_of(cli, &a.spec) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let source = a.prices.as_ref().map_or_else(
        || cost::prices::BUILTIN_PATH.to_owned(),
        |p| p.display().to_string(),
    );
    // A region the book lacks: its quantities are still estimated, with no money.
    let zero = cost::prices::RegionPrices::zero();
    let mut missing = Vec::new();
    let mut priced = |region: &str| {
        book.region(region).unwrap_or_else(|_| {
            missing.push(region.to_owned());
            &zero
        })
    };
    let home = priced(&plan.region);
    let replica = plan.replica_region.as_deref().map(&mut priced);
    let inputs = cost::Inputs {
        events_per_day: a.events_per_day,
        event_bytes: a.event_bytes,
        batch: a.batch,
    };
    let e = cost::estimate(
        &plan,
        &book,
        &cost::Regions { home, replica },
        &inputs,
        &cost::Assumptions::default(),
    );
    if !missing.is_empty() {
        return unpriced(a.format, &e, &missing, &source);
    }
    if e.prices_status != "read" {
        eprintln!(
            "warning: {source} marks the prices of {} as `{}`: check them against the pages in its `sources`",
            [Some(plan.region.as_str()), plan.replica_region.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" and "),
            e.prices_status
        );
    }
    let mut out = io::stdout().lock();
    match a.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&e)?)?,
        Format::Human => out.write_all(cost::human(&e).as_bytes())?,
    }
    Ok(0)
}

/// `cost` for an environment whose region(s) the price book lacks: a note on stderr and
/// the quantities on stdout; exit 0 (the estimate is what can be known).
fn unpriced(
    format: Format,
    e: &crate::cost::Estimate,
    missing: &[String],
    source: &str,
) -> io::Result<u8> {
    eprintln!(
        "note: no price data for {} in {source}: printing quantities only; pass --prices FILE with {} to price them",
        missing.join(" and "),
        if missing.len() == 1 {
            "that region"
        } else {
            "those regions"
        }
    );
    let mut out = io::stdout().lock();
    match format {
        Format::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&crate::cost::quantities_json(e, missing))?
        )?,
        Format::Human => out.write_all(crate::cost::quantities_human(e, missing).as_bytes())?,
    }
    Ok(0)
}

#[derive(Args, Debug)]
pub struct DocsArgs {
    /// The spec file.
    #[arg(default_value = "pipeline.yaml")]
    pub spec: PathBuf,
    /// Root folder of the output (`DIR/docs/<env>/`).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// Write nothing; exit 1 and list the files that differ from what the spec produces.
    #[arg(long)]
    pub check: bool,
    /// The summary `scripts/judges/all ENV...` printed, to show each environment's
    /// judge results in its compliance section.
    #[arg(long, value_name = "FILE")]
    pub judges: Option<PathBuf>,
}

pub(super) fn docs(cli: &Cli, a: &DocsArgs) -> io::Result<u8> {
    let v = match validated(&a.spec, cli.env.as_deref()) {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let judges = match &a.judges {
        None => None,
        Some(p) => match std::fs::read_to_string(p) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", p.display());
                return Ok(2);
            }
        },
    };
    let mut out = io::stdout().lock();
    let mut stale = 0;
    for env in super::envs_of(&v, cli.env.as_deref()) {
        let plan = match crate::plan::lower(&v, env) {
            Ok(p) => p,
            Err(d) => {
                eprint!(
                    "{}",
                    crate::diag::render_human(
                        &d,
                        &crate::diag::SourceMap::default(),
                        super::ui::color()
                    )
                );
                return Ok(1);
            }
        };
        let svg = crate::docs::svg_of(&crate::graph::build(&plan).dot())?;
        let svg_path = PathBuf::from("docs").join(env).join("pipeline.svg");
        let no_svg = svg.is_none();
        let files = match crate::docs::render(&plan, svg, judges.as_deref()) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(2);
            }
        };
        if a.check {
            let skip = if no_svg {
                super::ui::info(format_args!(
                    "note: Graphviz `dot` is not installed: {} not compared",
                    svg_path.display()
                ));
                vec![svg_path]
            } else {
                Vec::new()
            };
            for d in crate::docs::drift(&files, env, &a.out, &skip)? {
                stale += 1;
                let (what, p) = match &d {
                    crate::emit::Drift::Missing(p) => ("missing", p),
                    crate::emit::Drift::Changed(p) => ("differs", p),
                    crate::emit::Drift::Extra(p) => ("not generated", p),
                };
                writeln!(out, "{what:>13}  {}", a.out.join(p).display())?;
            }
        } else {
            if no_svg {
                super::ui::info(
                    "note: Graphviz `dot` is not installed: no pipeline.svg (the Mermaid and DOT are written)",
                );
            }
            crate::docs::write(&files, env, &a.out)?;
            for p in files.keys() {
                super::ui::detail(format_args!("wrote {}", a.out.join(p).display()));
            }
            writeln!(out, "{env} → {}", a.out.join("docs").join(env).display())?;
        }
    }
    if a.check {
        if stale > 0 {
            writeln!(
                out,
                "{stale} file(s) are stale; run `pipewright docs {}` and commit the result",
                a.spec.display()
            )?;
            return Ok(1);
        }
        writeln!(out, "docs/ is up to date with {}", a.spec.display())?;
    }
    Ok(0)
}
