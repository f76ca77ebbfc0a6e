//! Phase 3, emit: a [`Plan`] → the files of `stacks/<env>/` and `policies/<env>/`,
//! as bytes in memory. Writing them (atomically) and comparing them with what is
//! committed (`synth --check`) are separate steps, so emitting stays pure.

pub mod availability;
pub mod cfn;
pub mod contract;
pub mod iam;
pub mod resource_policy;
pub mod scripts;
pub mod stacks;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Diagnostics};
use crate::plan::{Plan, Principal, StackId};
use cfn::{Template, canonical_json};

/// CloudFormation's hard limit on a template body uploaded to S3.
pub const TEMPLATE_MAX_BYTES: usize = 1_000_000;
/// Templates larger than this must be deployed from S3 rather than inline.
pub const TEMPLATE_INLINE_BYTES: usize = 51_200;
pub const MAX_RESOURCES: usize = 500;
pub const MAX_OUTPUTS: usize = 200;
pub const MAX_PARAMETERS: usize = 60;

/// Everything synth produces for one environment: paths relative to the output
/// root, and their bytes.
#[derive(Debug, Default)]
pub struct Output {
    pub env: String,
    pub files: BTreeMap<PathBuf, Vec<u8>>,
    pub summary: Summary,
}

#[derive(Debug, Default)]
pub struct Summary {
    /// (stack name, resource count, template bytes)
    pub stacks: Vec<(String, usize, usize)>,
    /// (role name, distinct actions, statements)
    pub roles: Vec<(String, usize, usize)>,
}

/// Builds every template and policy file of a plan.
pub fn synth(plan: &Plan) -> Result<Output, Diagnostics> {
    let iam = iam::roles(plan);
    let scripts: BTreeMap<String, String> = plan
        .transforms
        .iter()
        .map(|t| (t.job_name.clone(), scripts::glue_script(plan, t)))
        .collect();
    let script_keys: BTreeMap<String, String> = plan
        .transforms
        .iter()
        .map(|t| {
            (
                t.job_name.clone(),
                format!(
                    "{}{}.py",
                    t.script_key,
                    sha256_hex(scripts[&t.job_name].as_bytes())
                ),
            )
        })
        .collect();
    let cx = stacks::Ctx {
        plan,
        iam: &iam,
        script_keys: &script_keys,
    };
    let templates = stacks::all(&cx);
    let mut out = Output {
        env: plan.env.clone(),
        ..Output::default()
    };
    let mut diags = Diagnostics::default();
    stack_files(plan, &templates, &mut out, &mut diags);
    let stack_dir = PathBuf::from("stacks").join(&plan.env);
    for (job, script) in scripts {
        out.files.insert(
            stack_dir.join("glue").join(format!("{job}.py")),
            script.into_bytes(),
        );
    }
    policy_files(plan, &iam, &mut out, &mut diags);
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(out)
}

/// Each template as `stacks/<env>/<stack>.json`, checked against CloudFormation's
/// quotas.
fn stack_files(
    plan: &Plan,
    templates: &[(StackId, Template)],
    out: &mut Output,
    diags: &mut Diagnostics,
) {
    let stack_dir = PathBuf::from("stacks").join(&plan.env);
    for (id, t) in templates {
        let text = t.to_json();
        let name = &plan.stacks[id];
        for (what, n, max) in [
            ("resources", t.resources.len(), MAX_RESOURCES),
            ("outputs", t.outputs.len(), MAX_OUTPUTS),
            ("parameters", t.parameters.len(), MAX_PARAMETERS),
            ("bytes", text.len(), TEMPLATE_MAX_BYTES),
        ] {
            if n > max {
                diags.push(
                    Diagnostic::error(
                        "PW0301",
                        format!("stack `{name}` has {n} {what}; CloudFormation allows {max}"),
                    )
                    .help("split the spec (fewer sources or transforms per pipeline)"),
                );
            }
        }
        out.summary
            .stacks
            .push((name.clone(), t.resources.len(), text.len()));
        out.files.insert(
            stack_dir.join(format!("{}.json", id.name())),
            text.into_bytes(),
        );
    }
}

/// Each role's IAM as `policies/<env>/<role>.json`, checked against IAM's quota of
/// managed policies, and the review report beside them.
fn policy_files(
    plan: &Plan,
    iam: &BTreeMap<String, iam::RoleIam>,
    out: &mut Output,
    diags: &mut Diagnostics,
) {
    let policy_dir = PathBuf::from("policies").join(&plan.env);
    for r in iam.values() {
        if r.policies.len() > 20 {
            diags.push(
                Diagnostic::error(
                    "PW0301",
                    format!(
                        "role `{}` needs {} managed policies; IAM allows at most 20",
                        r.name,
                        r.policies.len()
                    ),
                )
                .help("split the pipeline: fewer sources or transforms per spec"),
            );
        }
        let statements: usize = r.policies.values().map(|d| d.statements.len()).sum();
        out.summary
            .roles
            .push((r.name.clone(), iam::actions_of(r).len(), statements));
        out.files.insert(
            policy_dir.join(format!("{}.json", r.name)),
            canonical_json(r).into_bytes(),
        );
    }
    out.files.insert(
        policy_dir.join("README.md"),
        review_report(plan, iam).into_bytes(),
    );
}

/// Lower-case hex SHA-256, the content hash used in artifact keys.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `policies/<env>/README.md`: role → what it may do on what, and why.
fn review_report(plan: &Plan, iam: &BTreeMap<String, iam::RoleIam>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# IAM of `{}` / `{}`\n", plan.pipeline, plan.env);
    let _ = writeln!(
        s,
        "Generated by `pipewright synth` from the spec; do not edit. Each statement's `Sid` names the flow it comes from, and each flow names the spec path that caused it.\n"
    );
    if let Some(b) = &plan.permissions_boundary {
        let _ = writeln!(s, "Every role has the permissions boundary `{b}`.\n");
    }
    let _ = writeln!(
        s,
        "| role | assumed by | actions | statements | purpose |\n|---|---|---|---|---|"
    );
    for r in iam.values() {
        let n: usize = r.policies.values().map(|d| d.statements.len()).sum();
        let _ = writeln!(
            s,
            "| `{}` | `{}` | {} | {} | {} |",
            r.name,
            r.service,
            iam::actions_of(r).len(),
            n,
            r.purpose
        );
    }
    for (id, r) in iam {
        let _ = writeln!(
            s,
            "\n## `{}`\n\n{}; assumed by `{}`.\n",
            r.name, r.purpose, r.service
        );
        let _ = writeln!(
            s,
            "| flow | spec | why | actions | resources |\n|---|---|---|---|---|"
        );
        for f in plan.flows_of(id) {
            let sts = iam::statements(plan, f);
            let actions: Vec<String> = sts.iter().flat_map(|st| st.actions.clone()).collect();
            let resources: Vec<String> = sts.iter().flat_map(|st| st.resources.clone()).collect();
            let _ = writeln!(
                s,
                "| `{}` | `{}` | {} | {} | {} |",
                f.id,
                f.origin.path,
                f.why,
                actions
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(" "),
                resources
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join("<br>")
            );
        }
    }
    let external: Vec<_> = plan
        .flows
        .iter()
        .filter(|f| matches!(f.principal, Principal::External(_)))
        .collect();
    if !external.is_empty() {
        let _ = writeln!(
            s,
            "\n## Principals outside the pipeline (bucket and key policies)\n"
        );
        let _ = writeln!(s, "| flow | principal | spec | why |\n|---|---|---|---|");
        for f in external {
            if let Principal::External(p) = &f.principal {
                let _ = writeln!(
                    s,
                    "| `{}` | `{p}` | `{}` | {} |",
                    f.id, f.origin.path, f.why
                );
            }
        }
    }
    let _ = writeln!(
        s,
        "\n## Actions granted on `*`\n\nOnly actions that support no resource-level permission, each for a reason:\n"
    );
    for (a, why) in iam::STAR_ONLY {
        let _ = writeln!(s, "- `{a}`: {why}");
    }
    s
}

/// A difference between generated and committed files.
#[derive(Debug, PartialEq, Eq)]
pub enum Drift {
    Missing(PathBuf),
    Changed(PathBuf),
    Extra(PathBuf),
}

/// The directories an output owns (each replaced as a whole).
pub fn owned_dirs(out: &Output) -> Vec<PathBuf> {
    vec![
        PathBuf::from("stacks").join(&out.env),
        PathBuf::from("policies").join(&out.env),
    ]
}

/// Compares an output with the files under `root`.
pub fn drift(out: &Output, root: &Path) -> io::Result<Vec<Drift>> {
    drift_of(&out.files, &owned_dirs(out), root, &|_, a, b| a == b, &[])
}

/// Whether a file on disk (`path`, its bytes, the generated bytes) is current.
pub type SameContent = dyn Fn(&Path, &[u8], &[u8]) -> bool;

/// Files generated (`files`, by path under `root`) against those on disk: missing,
/// changed (unless `same` says the two contents are the same), and extra ones in the
/// `owned` directories (except those in `skip`).
pub fn drift_of(
    files: &BTreeMap<PathBuf, Vec<u8>>,
    owned: &[PathBuf],
    root: &Path,
    same: &SameContent,
    skip: &[PathBuf],
) -> io::Result<Vec<Drift>> {
    let mut d = Vec::new();
    for (rel, bytes) in files {
        match std::fs::read(root.join(rel)) {
            Ok(b) if same(rel, &b, bytes) => {}
            Ok(_) => d.push(Drift::Changed(rel.clone())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => d.push(Drift::Missing(rel.clone())),
            Err(e) => return Err(e),
        }
    }
    for dir in owned {
        for f in list_files(&root.join(dir))? {
            let rel = f.strip_prefix(root).unwrap_or(&f).to_path_buf();
            if !files.contains_key(&rel) && !skip.contains(&rel) {
                d.push(Drift::Extra(rel));
            }
        }
    }
    Ok(d)
}

fn list_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for e in rd {
        let p = e?.path();
        if p.is_dir() {
            out.extend(list_files(&p)?);
        } else {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

/// Writes an output under `root`, replacing its directories as a whole: everything
/// is staged in a temporary directory first, and a failure leaves the previous
/// files in place.
pub fn write(out: &Output, root: &Path) -> io::Result<()> {
    std::fs::create_dir_all(root)?;
    let staging = tempfile::Builder::new()
        .prefix(".pipewright-staging-")
        .tempdir_in(root)?;
    for (rel, bytes) in &out.files {
        let p = staging.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("files are in directories"))?;
        std::fs::write(&p, bytes)?;
    }
    for dir in owned_dirs(out) {
        let target = root.join(&dir);
        let staged = staging.path().join(&dir);
        std::fs::create_dir_all(target.parent().expect("owned dirs have parents"))?;
        let old = staging
            .path()
            .join(format!("old-{}", dir.to_string_lossy().replace('/', "-")));
        crate::fsio::swap_dir(&staged, &target, &old)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_replaces_directories_and_drift_sees_changes() {
        let root = tempfile::tempdir().unwrap();
        let mut out = Output {
            env: "dev".into(),
            ..Output::default()
        };
        out.files
            .insert(PathBuf::from("stacks/dev/a.json"), b"{}\n".to_vec());
        out.files
            .insert(PathBuf::from("policies/dev/r.json"), b"{}\n".to_vec());
        std::fs::create_dir_all(root.path().join("stacks/dev")).unwrap();
        std::fs::write(root.path().join("stacks/dev/stale.json"), b"old").unwrap();
        assert_eq!(
            drift(&out, root.path()).unwrap(),
            vec![
                Drift::Missing("policies/dev/r.json".into()),
                Drift::Missing("stacks/dev/a.json".into()),
                Drift::Extra("stacks/dev/stale.json".into())
            ]
        );
        write(&out, root.path()).unwrap();
        assert!(drift(&out, root.path()).unwrap().is_empty());
        assert!(!root.path().join("stacks/dev/stale.json").exists());
        std::fs::write(root.path().join("stacks/dev/a.json"), b"x").unwrap();
        assert_eq!(
            drift(&out, root.path()).unwrap(),
            vec![Drift::Changed("stacks/dev/a.json".into())]
        );
        // No staging directory is left behind.
        let leftovers: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".pipewright")
            })
            .collect();
        assert!(leftovers.is_empty());
    }
}
