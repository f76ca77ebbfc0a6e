//! IAM review for security reviewers: `iam diff` (a semantic comparison of the
//! policies two versions of a spec produce), `iam explain` (why a role has each
//! permission), and the request cases that the independent evaluators check
//! (`cases`, the expectations, kept apart from `subject`, the emitted policies they
//! are evaluated against). Pure: the only I/O is reading a base (a directory of role
//! files, or files at a git ref through [`GitFiles`]). Not the command line
//! (`crate::cli::iam`), which depends on this module, never the reverse.

pub mod access;
pub mod bindings;
pub mod cases;
pub mod diff;
pub mod explain;
pub mod norm;
mod render;
pub mod subject;
#[cfg(feature = "aws")]
pub mod verify;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

use crate::plan::Plan;
use diff::{Change, Class, Side};
use norm::NormRole;
pub use render::{render_human, render_markdown};

/// Why a statement exists: the flow, and the spec line that declared it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cause {
    /// Flow id (`ingest:put-raw:pos`), or `Sid X` when only the statement is known.
    pub flow: String,
    pub why: String,
    /// `pipeline.yaml:45`, or the spec file alone when the line is unknown.
    pub at: String,
    /// Dotted spec path (`sources.pos`).
    pub path: String,
}

/// One side of a comparison: roles in normal form (by role name) and, when the side
/// was synthesised from a spec, the cause of each statement.
#[derive(Debug, Clone, Default)]
pub struct Roles {
    /// What this side is (`pipeline.yaml`, `policies/dev`, `main:pipeline.yaml`).
    pub label: String,
    pub roles: BTreeMap<String, NormRole>,
    /// Role name → Sid → causes.
    causes: BTreeMap<String, BTreeMap<String, Vec<Cause>>>,
    /// Role name → the spec line that made the role.
    role_origin: BTreeMap<String, Cause>,
    /// Every grant of the side (`policies/<env>/access.json`, or built from the plan);
    /// none when a base folder predates it.
    pub model: Option<access::Model>,
}

fn at(spec_file: &str, line: Option<usize>) -> String {
    match line {
        Some(l) => format!("{spec_file}:{l}"),
        None => spec_file.to_owned(),
    }
}

impl Roles {
    /// A side without roles (an environment one side does not have).
    pub fn none(label: String) -> Roles {
        Roles {
            label,
            model: Some(access::Model::default()),
            ..Roles::default()
        }
    }

    /// The roles a plan generates, with their causes. `spec_file` is how the spec is
    /// named in reports.
    pub fn from_plan(plan: &Plan, spec_file: &str, label: &str) -> Roles {
        let mut out = Roles {
            label: label.to_owned(),
            model: Some(access::model(plan)),
            ..Roles::default()
        };
        for (id, r) in crate::emit::iam::roles(plan) {
            let v = serde_json::to_value(&r).expect("role IAM serialises");
            let norm = norm::role(&v, &r.name).expect("generated role files are well-formed");
            let mut by_sid = BTreeMap::new();
            for (sid, flows) in &r.sources {
                let causes = flows
                    .split(',')
                    .filter_map(|f| plan.flows.iter().find(|x| x.id == f))
                    .map(|f| Cause {
                        flow: f.id.clone(),
                        why: f.why.clone(),
                        at: at(spec_file, f.origin.line),
                        path: f.origin.path.clone(),
                    })
                    .collect();
                by_sid.insert(sid.clone(), causes);
            }
            if let Some(rp) = plan.roles.get(&id) {
                out.role_origin.insert(
                    r.name.clone(),
                    Cause {
                        flow: format!("role {id}"),
                        why: rp.purpose.clone(),
                        at: at(spec_file, rp.origin.line),
                        path: rp.origin.path.clone(),
                    },
                );
            }
            out.causes.insert(r.name.clone(), by_sid);
            out.roles.insert(r.name.clone(), norm);
        }
        out
    }

    /// The role files (`*.json`) of a directory such as `policies/dev`, and its access
    /// model (`access.json`) when it has one.
    pub fn from_dir(dir: &Path) -> Result<Roles, String> {
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        let mut model = None;
        if let Some(i) = files
            .iter()
            .position(|f| f.file_name().is_some_and(|n| n == access::FILE))
        {
            let f = files.remove(i);
            let text = std::fs::read_to_string(&f)
                .map_err(|e| format!("cannot read {}: {e}", f.display()))?;
            model = Some(access::Model::from_json(&text, &f.display().to_string())?);
        }
        if files.is_empty() {
            return Err(format!("{} has no role files (*.json)", dir.display()));
        }
        let mut out = Roles {
            label: dir.display().to_string(),
            model,
            ..Roles::default()
        };
        for f in files {
            let text = std::fs::read_to_string(&f)
                .map_err(|e| format!("cannot read {}: {e}", f.display()))?;
            let what = f.display().to_string();
            let v: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| format!("{what}: not valid JSON: {e}"))?;
            let r = norm::role(&v, &what).map_err(|e| e.0)?;
            if out.roles.contains_key(&r.name) {
                return Err(format!("{what}: role {} is defined twice", r.name));
            }
            out.roles.insert(r.name.clone(), r);
        }
        Ok(out)
    }

    /// The causes of a change, from the side that holds its evidence.
    fn causes_of(&self, c: &Change) -> Vec<Cause> {
        let mut out: Vec<Cause> = Vec::new();
        match self.causes.get(&c.role) {
            Some(by_sid) if !c.sids.is_empty() => {
                for sid in &c.sids {
                    for cause in by_sid.get(sid).into_iter().flatten() {
                        if !out.contains(cause) {
                            out.push(cause.clone());
                        }
                    }
                }
            }
            _ if !c.sids.is_empty() => {
                for sid in &c.sids {
                    out.push(Cause {
                        flow: format!("Sid {sid}"),
                        why: String::new(),
                        at: self.label.clone(),
                        path: String::new(),
                    });
                }
            }
            _ => {}
        }
        if out.is_empty()
            && let Some(o) = self.role_origin.get(&c.role)
        {
            out.push(o.clone());
        }
        out
    }
}

/// A change with its causes, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct Reported {
    #[serde(flatten)]
    pub change: Change,
    pub causes: Vec<Cause>,
}

/// The comparison of one environment.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub environment: String,
    pub base: String,
    pub new: String,
    /// Changes inside the roles (identity and trust policies, boundaries).
    pub changes: Vec<Reported>,
    /// Changes of every other grant: resource and key policies, Lambda permissions, API
    /// authorization, QuickSight permissions.
    pub access: Vec<access::diff::Change>,
    /// Why the other grants could not be compared (a base without `access.json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_compared: Option<String>,
}

impl Report {
    pub fn count(&self, class: Class) -> usize {
        self.changes
            .iter()
            .filter(|c| c.change.class == class)
            .count()
            + self.access.iter().filter(|c| c.class == class).count()
    }

    /// Every change, of either kind.
    pub fn total(&self) -> usize {
        self.changes.len() + self.access.len()
    }
}

/// Compares two sides and attaches causes.
pub fn compare(env: &str, base: &Roles, new: &Roles) -> Report {
    let changes = diff::diff(&base.roles, &new.roles)
        .into_iter()
        .map(|change| {
            let causes = match change.side {
                Side::New => new.causes_of(&change),
                Side::Base => base.causes_of(&change),
            };
            Reported { change, causes }
        })
        .collect();
    let (access, not_compared) = match (&base.model, &new.model) {
        (Some(b), Some(n)) => {
            let account = if n.account.is_empty() {
                &b.account
            } else {
                &n.account
            };
            (
                access::diff::diff(b, n, account, &access::diff::role_kinds),
                None,
            )
        }
        (None, _) => (
            Vec::new(),
            Some(format!("{} has no {}", base.label, access::FILE)),
        ),
        (_, None) => (
            Vec::new(),
            Some(format!("{} has no {}", new.label, access::FILE)),
        ),
    };
    Report {
        environment: env.to_owned(),
        base: base.label.clone(),
        new: new.label.clone(),
        changes,
        access,
        not_compared,
    }
}

/// Reads files as they were at a git revision (`git show REV:path`), for
/// `iam diff --base REV`. Relative paths are taken from the current directory.
pub struct GitFiles {
    pub rev: String,
}

impl crate::spec::Files for GitFiles {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let rel = if path.is_absolute() {
            let top = git(&["rev-parse", "--show-toplevel"])?;
            let top = PathBuf::from(String::from_utf8_lossy(&top).trim());
            path.strip_prefix(&top)
                .map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("{} is outside the git repository", path.display()),
                    )
                })?
                .to_path_buf()
        } else {
            Path::new(".").join(path)
        };
        let spec = format!("{}:{}", self.rev, rel.display());
        let bytes = git(&["show", &spec])?;
        if bytes.len() as u64 > crate::spec::MAX_FILE_BYTES {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "file too big"));
        }
        Ok(bytes)
    }
}

fn git(args: &[&str]) -> io::Result<Vec<u8>> {
    let out = Command::new("git")
        .args(args)
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run git: {e}")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("git {}: {}", args.join(" "), err.trim()),
        ));
    }
    Ok(out.stdout)
}

/// Checks that a revision names a commit (so a typo is a clear error, not "file
/// not found").
pub fn check_rev(rev: &str) -> Result<(), String> {
    if rev.starts_with('-') {
        return Err(format!("`{rev}` is not a git revision"));
    }
    git(&[
        "rev-parse",
        "--verify",
        "--quiet",
        &format!("{rev}^{{commit}}"),
    ])
    .map(|_| ())
    .map_err(|_| format!("`{rev}` is not a commit in this git repository"))
}
