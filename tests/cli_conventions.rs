//! Command-line conventions: per-command `--format` (others are clap's usage error, exit
//! 2), SARIF judged by the official SARIF 2.1.0 schema, shell completions checked by the
//! shells' own parsers, the man page rendered by groff, `--color`, `-q` and `-v`.

use std::path::Path;
use std::process::{Command, Output};

fn pipewright_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pipewright"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

fn pipewright(args: &[&str]) -> Output {
    pipewright_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited normally")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The visible subcommands, read from the top-level `--help` (not from our own tables).
fn subcommands() -> Vec<String> {
    let help = text(&pipewright(&["--help"]).stdout);
    let start = help.find("Commands:").expect("a Commands section");
    help[start..]
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // A command's line; wrapped descriptions are indented further.
        .filter(|l| !l[2..].starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_format_a_command_does_not_have_is_a_usage_error() {
    for args in [
        &["check", "--format", "markdown"][..],
        &["check", "--format", "dot"],
        &["synth", "--format", "markdown"],
        &["cost", "--env", "dev", "--format", "mermaid"],
        &["graph", "--env", "dev", "--format", "json"],
        &["graph", "--env", "dev", "--format", "human"],
        &["iam", "explain", "--role", "ingest", "--format", "markdown"],
    ] {
        let o = pipewright(args);
        assert_eq!(code(&o), 2, "{args:?}");
        let err = text(&o.stderr);
        assert!(
            err.contains("invalid value") && err.contains("possible values"),
            "{args:?}: {err}"
        );
        assert!(o.stdout.is_empty(), "{args:?}: nothing on stdout");
    }
    // `--format` belongs to the command: docs, schema and explain have none.
    assert_eq!(code(&pipewright(&["docs", "--format", "json"])), 2);
    assert_eq!(code(&pipewright(&["schema", "--format", "json"])), 2);
}

/// Flags a command would ignore are not accepted: deploy alone bundles, diff runs no
/// stacks side by side.
#[cfg(feature = "aws")]
#[test]
fn aws_commands_take_only_flags_they_honour() {
    for args in [
        &["destroy", "--env", "dev", "--lambda-zip", "x.zip"][..],
        &["destroy", "--env", "dev", "--build-dir", "b"],
        &["destroy", "--env", "dev", "--method", "direct"],
        &["diff", "--env", "dev", "--lambda-zip", "x.zip"],
        &["diff", "--env", "dev", "--concurrency", "3"],
        &["outputs", "--env", "dev", "--timeout-minutes", "3"],
    ] {
        let o = pipewright(args);
        assert_eq!(code(&o), 2, "{args:?}");
        assert!(text(&o.stderr).contains("unexpected argument"), "{args:?}");
    }
}

#[test]
fn help_shows_each_commands_formats_and_default() {
    let help = |args: &[&str]| {
        let mut a = args.to_vec();
        a.push("--help");
        text(&pipewright(&a).stdout)
    };
    let g = help(&["graph"]);
    assert!(g.contains("[default: mermaid]"), "{g}");
    assert!(
        g.contains("dot") && g.contains("markdown") && !g.contains("json"),
        "{g}"
    );
    let c = help(&["check"]);
    assert!(c.contains("[default: human]") && c.contains("sarif"), "{c}");
    let d = help(&["iam", "diff"]);
    assert!(d.contains("markdown"), "{d}");
    // The spec is the positional argument of every command that reads one.
    for sub in [
        &["check"][..],
        &["synth"],
        &["bundle"],
        &["graph"],
        &["cost"],
        &["docs"],
        &["iam", "diff"],
        &["iam", "explain"],
    ] {
        let h = help(sub);
        assert!(
            h.contains("[SPEC]") && h.contains("[default: pipeline.yaml]"),
            "{sub:?}: {h}"
        );
    }
}

/// The SARIF schema committed from the OASIS TC's repository (see tests/sarif/README.md).
fn sarif_validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/sarif/sarif-schema-2.1.0.json"
        ))
        .unwrap(),
    )
    .unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles")
}

fn assert_valid_sarif(v: &serde_json::Value) {
    let errors: Vec<String> = sarif_validator()
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "not SARIF 2.1.0: {errors:#?}\n{v:#}");
}

#[test]
fn check_writes_sarif_the_official_schema_accepts() {
    let spec = "tests/specs/err/pw0103-bad-auth.yaml";
    let o = pipewright(&["check", spec, "--format", "sarif"]);
    assert_eq!(code(&o), 1, "an invalid spec still fails");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("stdout is JSON");
    assert_valid_sarif(&v);
    // The judge is live: a level SARIF does not have is refused.
    let mut broken = v.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!sarif_validator().is_valid(&broken));
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    let r = results
        .iter()
        .find(|r| r["ruleId"] == "PW0103")
        .expect("PW0103 reported");
    assert_eq!(r["level"], "error");
    // The rule's metadata is the catalogue's, as `pipewright explain` prints it.
    let rule = &rules[r["ruleIndex"].as_u64().unwrap() as usize];
    assert_eq!(rule["id"], "PW0103");
    let explained = text(&pipewright(&["explain", "PW0103"]).stdout);
    let name = explained.split_whitespace().nth(1).unwrap();
    assert_eq!(rule["name"], name);
    assert!(explained.contains(rule["fullDescription"]["text"].as_str().unwrap()));
    assert_eq!(rule["defaultConfiguration"]["level"], "error");
    // The region is where the bad value is in the file, found here by searching the text.
    let loc = &r["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], spec);
    let src = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(spec)).unwrap();
    let (i, line) = src
        .lines()
        .enumerate()
        .find(|(_, l)| l.trim_start().starts_with("auth: apikey"))
        .unwrap();
    let col = line.find("apikey").unwrap() + 1;
    let region = &loc["region"];
    assert_eq!(region["startLine"], i + 1);
    assert_eq!(region["startColumn"], col);
    assert_eq!(region["endLine"], i + 1);
    assert_eq!(region["endColumn"], col + "apikey".len(), "exclusive end");
    assert!(
        r["message"]["text"]
            .as_str()
            .unwrap()
            .contains("did you mean `api_key`?")
    );

    // A valid spec with a warning: a warning result, exit 0; every result's rule listed.
    let o = pipewright(&["check", "--format", "sarif"]);
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_valid_sarif(&v);
    let run = &v["runs"][0];
    let w = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "PW0901")
        .expect("the opt-out warning");
    assert_eq!(w["level"], "warning");
    for r in run["results"].as_array().unwrap() {
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(run["tool"]["driver"]["rules"][i]["id"], r["ruleId"]);
    }
}

#[test]
fn completions_parse_in_their_shells_and_name_every_command() {
    let commands = subcommands();
    assert!(commands.len() > 10, "{commands:?}");
    for shell in ["bash", "zsh", "fish"] {
        let o = pipewright(&["completions", shell]);
        assert_eq!(code(&o), 0, "{shell}");
        let script = text(&o.stdout);
        for c in &commands {
            assert!(
                script.contains(c.as_str()),
                "{shell} completion lacks `{c}`"
            );
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let bash = dir.path().join("pipewright.bash");
    std::fs::write(&bash, pipewright(&["completions", "bash"]).stdout).unwrap();
    let o = Command::new("bash").arg("-n").arg(&bash).output().unwrap();
    assert!(o.status.success(), "bash -n: {}", text(&o.stderr));
    for shell in ["zsh", "fish"] {
        // Where the shell is installed, its own parser checks the script too.
        let f = dir.path().join(format!("pipewright.{shell}"));
        std::fs::write(&f, pipewright(&["completions", shell]).stdout).unwrap();
        if let Ok(o) = Command::new(shell).arg("-n").arg(&f).output() {
            assert!(o.status.success(), "{shell} -n: {}", text(&o.stderr));
        }
    }
    assert_eq!(code(&pipewright(&["completions", "tcsh"])), 2);
}

#[test]
fn the_man_page_renders_and_lists_every_command() {
    let o = pipewright(&["man"]);
    assert_eq!(code(&o), 0);
    let roff = text(&o.stdout);
    assert!(roff.contains(".TH pipewright 1"), "{roff}");
    for c in subcommands() {
        assert!(roff.contains(&c), "the man page lacks `{c}`");
    }
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("pipewright.1");
    std::fs::write(&page, &o.stdout).unwrap();
    // groff, where installed, renders it without a warning.
    if let Ok(g) = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww"])
        .arg(&page)
        .output()
    {
        assert!(g.status.success(), "{}", text(&g.stderr));
        assert!(g.stderr.is_empty(), "groff warns: {}", text(&g.stderr));
        let shown = text(&g.stdout);
        assert!(
            shown.contains("SUBCOMMANDS") || shown.contains("pipewright-check"),
            "{shown}"
        );
    }
    // --out-dir: one page per visible command, `iam` ones included.
    let out = dir.path().join("man1");
    let o = pipewright(&["man", "--out-dir", out.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    for c in subcommands() {
        let p = out.join(format!("pipewright-{c}.1"));
        let t = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(t.contains(&format!(".TH pipewright-{c} 1")), "{t}");
    }
    assert!(out.join("pipewright-iam-diff.1").is_file());
    assert!(out.join("pipewright.1").is_file());
}

#[test]
fn color_follows_the_flag() {
    let bad = "tests/specs/err/pw0103-bad-auth.yaml";
    let esc = |o: &Output| o.stderr.contains(&0x1b);
    // NO_COLOR is set and stderr is a pipe: auto and never are plain, always colours.
    assert!(!esc(&pipewright(&["check", bad])));
    assert!(!esc(&pipewright(&["check", bad, "--color", "never"])));
    assert!(esc(&pipewright(&["check", bad, "--color", "always"])));
    assert!(
        esc(&pipewright(&["--color", "always", "check", bad])),
        "global"
    );
    assert_eq!(code(&pipewright(&["check", "--color", "sometimes"])), 2);
    // clap's own usage errors follow it too.
    assert!(esc(&pipewright(&["check", "--nope", "--color", "always"])));
    assert!(esc(&pipewright(&["--color=always", "check", "--nope"])));
    assert!(!esc(&pipewright(&["check", "--nope", "--color", "never"])));
}

#[test]
fn quiet_and_verbose() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let spec = root.join("pipeline.yaml");
    let spec = spec.to_str().unwrap();
    let out = dir.path().join("out");
    let out_s = out.to_str().unwrap();

    // -v names each file written: exactly the files synth left in the folder.
    let o = pipewright_in(dir.path(), &["synth", spec, "--out", out_s, "-v"]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let mut said: Vec<String> = text(&o.stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("wrote "))
        .map(str::to_owned)
        .collect();
    said.sort();
    let mut on_disk = Vec::new();
    let mut stack = vec![out.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                on_disk.push(p.display().to_string());
            }
        }
    }
    on_disk.sort();
    assert!(!on_disk.is_empty());
    assert_eq!(said, on_disk);
    assert!(text(&o.stdout).contains("next: "));

    // -q: the summary stays, the next step and notes go; nothing on stderr.
    let o = pipewright_in(dir.path(), &["synth", spec, "--out", out_s, "-q"]);
    assert_eq!(code(&o), 0);
    assert!(!text(&o.stdout).contains("next: "), "{}", text(&o.stdout));
    assert!(text(&o.stdout).contains("stack "));
    assert!(o.stderr.is_empty(), "{}", text(&o.stderr));
    let f = dir.path().join("schema.json");
    let o = pipewright_in(dir.path(), &["schema", "--out", f.to_str().unwrap()]);
    assert!(text(&o.stderr).starts_with("wrote "));
    let o = pipewright_in(dir.path(), &["-q", "schema", "--out", f.to_str().unwrap()]);
    assert_eq!(code(&o), 0);
    assert!(o.stderr.is_empty(), "{}", text(&o.stderr));
    // Errors are never quiet.
    let o = pipewright(&["check", "-q", "no/such.yaml"]);
    assert_eq!(code(&o), 2);
    assert!(text(&o.stderr).contains("no/such.yaml"));
    assert_eq!(
        code(&pipewright(&["check", "-q", "-v"])),
        2,
        "one or the other"
    );
}
