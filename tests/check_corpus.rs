//! The invalid-spec corpus: every file under `tests/specs/err/` must fail `check`
//! with the code its name starts with, and its rendered diagnostics are snapshotted
//! (in `snapshots/check/`). The reference spec and `tests/specs/ok/` must be clean.

use std::path::Path;

use pipewright::diag::{self, Diagnostics};
use pipewright::spec::{self, RealFiles};

fn render(diags: &Diagnostics, sources: &pipewright::diag::SourceMap) -> String {
    diag::render_human(diags, sources, false)
}

#[test]
fn invalid_specs_fail_with_their_code() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots/check");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::glob!("specs/err/*.yaml", |path| {
            let rel = path
                .strip_prefix(env!("CARGO_MANIFEST_DIR"))
                .unwrap_or(path)
                .to_path_buf();
            let checked = spec::check(&rel, &RealFiles).expect("corpus files are readable");
            assert!(
                checked.diagnostics.has_errors(),
                "{} produced no error",
                rel.display()
            );
            let stem = path.file_stem().unwrap().to_string_lossy().to_string();
            if let Some(code) = stem.split('-').next().filter(|c| c.starts_with("pw")) {
                let code = code.to_ascii_uppercase();
                assert!(
                    checked
                        .diagnostics
                        .iter()
                        .any(|d| d.code == code && d.is_error()),
                    "{} should report {code}, got {:?}",
                    rel.display(),
                    checked
                        .diagnostics
                        .iter()
                        .map(|d| d.code)
                        .collect::<Vec<_>>()
                );
            }
            insta::assert_snapshot!(render(&checked.diagnostics, &checked.sources));
        });
    });
}

#[test]
fn corpus_is_big_enough() {
    let n = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/specs/err"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "yaml")
        })
        .count();
    assert!(n >= 40, "only {n} invalid specs");
}

#[test]
fn several_errors_are_reported_in_one_run() {
    let c = spec::check(
        Path::new("tests/specs/err/multiple-errors-in-one-run.yaml"),
        &RealFiles,
    )
    .unwrap();
    let codes: Vec<&str> = c
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code)
        .collect();
    for want in ["PW0201", "PW0206", "PW0208", "PW0210", "PW0228"] {
        assert!(codes.contains(&want), "missing {want} in {codes:?}");
    }
    // Shape errors do not hide semantic ones elsewhere.
    let c = spec::check(
        Path::new("tests/specs/err/shape-and-semantic-errors-together.yaml"),
        &RealFiles,
    )
    .unwrap();
    let codes: Vec<&str> = c.diagnostics.iter().map(|d| d.code).collect();
    assert!(
        codes.contains(&"PW0103") && codes.contains(&"PW0201"),
        "{codes:?}"
    );
}

#[test]
fn valid_specs_are_clean() {
    let mut paths = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("pipeline.yaml")];
    for e in
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/specs/ok")).unwrap()
    {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "yaml") {
            paths.push(p);
        }
    }
    for p in paths {
        let c = spec::check(&p, &RealFiles).unwrap();
        assert!(
            !c.diagnostics.has_errors(),
            "{}:\n{}",
            p.display(),
            render(&c.diagnostics, &c.sources)
        );
        assert!(c.validated().is_some());
    }
}
