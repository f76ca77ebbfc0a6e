//! The global output settings of one run: `--color`, `-q/--quiet` and `-v/--verbose`.
//! Set once by `cli::main` before a command runs; the commands ask here whether to
//! colour diagnostics and whether to print progress, information and detail lines.

use std::io::IsTerminal;
use std::sync::OnceLock;

use clap::ValueEnum;

/// When to colour what goes to the terminal (`--color`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stderr is a terminal and NO_COLOR is not set (or empty).
    #[default]
    Auto,
    /// Always colour, even into a pipe or a file.
    Always,
    /// Never colour.
    Never,
}

/// How much the run says besides its result.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Ui {
    pub color: bool,
    pub quiet: bool,
    pub verbose: bool,
}

static UI: OnceLock<Ui> = OnceLock::new();

impl Ui {
    /// The settings from the flags; `auto` looks at stderr and NO_COLOR.
    pub fn new(color: ColorChoice, quiet: bool, verbose: bool) -> Ui {
        Ui {
            color: colored(
                color,
                std::io::stderr().is_terminal(),
                std::env::var_os("NO_COLOR").as_deref(),
            ),
            quiet,
            verbose,
        }
    }
}

/// Whether to colour: `auto` on a terminal unless NO_COLOR is set to a non-empty value
/// (<https://no-color.org>); `always` and `never` regardless.
fn colored(choice: ColorChoice, terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && no_color.is_none_or(|v| v.is_empty()),
    }
}

/// Fixes the settings for this process (the first call wins).
pub fn init(ui: Ui) {
    let _ = UI.set(ui);
}

fn get() -> Ui {
    *UI.get_or_init(|| Ui::new(ColorChoice::Auto, false, false))
}

/// Whether diagnostics on stderr are coloured.
pub fn color() -> bool {
    get().color
}

/// Whether progress (spinners, bars) and information lines are suppressed.
pub fn quiet() -> bool {
    get().quiet
}

/// An information line on stderr (`note: ...`, `wrote ...`, the next step), unless `-q`.
pub fn info(msg: impl std::fmt::Display) {
    if !get().quiet {
        eprintln!("{msg}");
    }
}

/// A detail line on stderr (each file written, ...), only under `-v`.
pub fn detail(msg: impl std::fmt::Display) {
    if get().verbose {
        eprintln!("{msg}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn auto_colours_a_terminal_unless_no_color_is_set() {
        assert!(colored(ColorChoice::Auto, true, None));
        assert!(colored(ColorChoice::Auto, true, Some(OsStr::new(""))));
        assert!(!colored(ColorChoice::Auto, true, Some(OsStr::new("1"))));
        assert!(!colored(ColorChoice::Auto, false, None));
        assert!(colored(ColorChoice::Always, false, Some(OsStr::new("1"))));
        assert!(!colored(ColorChoice::Never, true, None));
    }
}
