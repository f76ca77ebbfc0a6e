//! `schema`, `explain CODE`, `completions` and `man`: the spec language's JSON Schema,
//! the catalogue of diagnostic codes, and the command line's own reference (shell
//! completions with clap_complete, man pages with clap_mangen). None reads a spec.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::{Args, CommandFactory};

use crate::spec;

#[derive(Args, Debug)]
pub struct SchemaArgs {
    /// Write the schema to this file (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// A code (`PW0201`) or rule name (`undefined-source`).
    pub code: Option<String>,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write `pipewright.1` and one page per command (`pipewright-check.1`, ...) into
    /// this folder instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

pub(super) fn completions(a: &CompletionsArgs) -> io::Result<u8> {
    let mut cmd = super::Cli::command();
    let mut text = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "pipewright", &mut text);
    io::stdout().lock().write_all(&text)?;
    Ok(0)
}

/// The man page of `cmd` (roff).
fn man_page(cmd: clap::Command) -> io::Result<Vec<u8>> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut page)?;
    Ok(page)
}

/// `cmd`'s page and those of its visible subcommands, each written atomically.
fn write_man_pages(cmd: &clap::Command, dir: &std::path::Path) -> io::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_man_pages(sub, dir)?;
    }
    let man = clap_mangen::Man::new(cmd.clone());
    let path = dir.join(man.get_filename());
    crate::fsio::write_atomic(&path, &man_page(cmd.clone())?)?;
    super::ui::detail(format_args!("wrote {}", path.display()));
    Ok(())
}

pub(super) fn man(a: &ManArgs) -> io::Result<u8> {
    let mut cmd = super::Cli::command().disable_help_subcommand(true);
    cmd.build();
    match &a.out_dir {
        None => io::stdout().lock().write_all(&man_page(cmd)?)?,
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            write_man_pages(&cmd, dir)?;
            super::ui::info(format_args!("wrote the man pages into {}", dir.display()));
        }
    }
    Ok(0)
}

pub(super) fn schema(a: &SchemaArgs) -> io::Result<u8> {
    let text = schema_text();
    match &a.out {
        Some(p) => {
            crate::fsio::write_atomic(p, text.as_bytes())?;
            super::ui::info(format_args!("wrote {}", p.display()));
        }
        None => io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(0)
}

/// The schema as committed in `pipeline.schema.json`.
pub fn schema_text() -> String {
    let mut s =
        serde_json::to_string_pretty(spec::shape::json_schema()).expect("schema serialises");
    s.push('\n');
    s
}

pub(super) fn explain(a: &ExplainArgs) -> io::Result<u8> {
    let mut out = io::stdout().lock();
    match &a.code {
        None => {
            for r in crate::rules::RULES {
                writeln!(
                    out,
                    "{}  {:<8} {:<24} {}",
                    r.code, r.severity, r.name, r.summary
                )?;
            }
            Ok(0)
        }
        Some(code) => match crate::rules::find(code) {
            Some(r) => {
                writeln!(
                    out,
                    "{} {} ({})\n\n{}.\n\n{}",
                    r.code,
                    r.name,
                    r.severity,
                    capitalise(r.summary),
                    r.explanation
                )?;
                Ok(0)
            }
            None => {
                eprintln!(
                    "error: no diagnostic code or rule named `{code}`; `pipewright explain` lists them"
                );
                Ok(2)
            }
        },
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
