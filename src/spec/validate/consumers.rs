//! Rules for the sections that read the pipeline's data: `analytics` (Athena and
//! QuickSight) and `ml` (SageMaker access to raw sources, datasets and the index).
//! Not `security.readers`, which grants the same kind of access to named principals.

use super::context::{Ctx, p, pi};
use super::formats::{partition_of, valid_quicksight_principal};
use crate::spec::model::{Analytics, Ml};
use crate::spec::schedule::Schedule;
use crate::spec::yaml::Seg;

pub(super) fn analytics(cx: &mut Ctx<'_>, a: &Analytics) {
    if let Some(w) = &a.athena.workgroup
        && (w.is_empty()
            || w.len() > 128
            || !w
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-'))
    {
        cx.err(
            "PW0207",
            &p(&["analytics", "athena", "workgroup"]),
            format!("`{w}` is not a valid Athena workgroup name"),
        );
    }
    if a.athena.bytes_scanned_cutoff_mb < 10 {
        cx.err(
            "PW0211",
            &p(&["analytics", "athena", "bytes_scanned_cutoff_mb"]),
            "Athena's smallest per-query scan limit is 10 MB",
        );
    }
    let Some(qs) = &a.quicksight else { return };
    if let Some(s) = &qs.index_export_schedule
        && let Err(e) = Schedule::parse(s)
    {
        cx.err(
            "PW0210",
            &p(&["analytics", "quicksight", "index_export_schedule"]),
            format!("invalid schedule `{s}`: {e}"),
        );
    }
    for (i, pr) in qs.principals.iter().enumerate() {
        let base = pi(&["analytics", "quicksight", "principals"], i);
        let mut pp = base.clone();
        pp.push(Seg::Key("principal".into()));
        if !valid_quicksight_principal(&pr.principal) {
            cx.err("PW0227", &pp, format!("`{}` is not a QuickSight user or group", pr.principal))
                .help("write `group/default/analysts`, `user/default/alice`, or a full `arn:aws:quicksight:...` ARN");
        } else {
            principal_arn_fits(cx, &pp, &pr.principal);
        }
        for (j, d) in pr.datasets.iter().enumerate() {
            let mut dp = base.clone();
            dp.push(Seg::Key("datasets".into()));
            dp.push(Seg::Index(j));
            cx.dataset_ref(&dp, d, true);
        }
    }
}

/// A full QuickSight ARN names one partition and one account: each environment must be in
/// that partition and be that account (QuickSight grants dataset permissions only to its
/// own account's users and groups). The short form is resolved per environment.
fn principal_arn_fits(cx: &mut Ctx<'_>, at: &[Seg], principal: &str) {
    let Some(rest) = principal.strip_prefix("arn:") else {
        return;
    };
    let parts: Vec<&str> = rest.splitn(5, ':').collect();
    let (partition, account) = (parts[0], parts[3]);
    let envs: Vec<(String, &'static str, String)> = cx
        .spec
        .environments
        .iter()
        .map(|(n, e)| (n.clone(), partition_of(&e.region), e.account.clone()))
        .collect();
    for (name, env_partition, env_account) in envs {
        let wrong = if partition != env_partition {
            format!("partition `{partition}`, but environment `{name}` is in `{env_partition}`")
        } else if account != env_account {
            format!("account {account}, but environment `{name}` is account {env_account}")
        } else {
            continue;
        };
        let short = parts[4];
        cx.err("PW0227", at, format!("`{principal}` names {wrong}"))
            .help(format!(
                "write `{short}`: pipewright makes it the ARN of each environment's own account and partition"
            ));
    }
}

pub(super) fn ml(cx: &mut Ctx<'_>, ml: &Ml) {
    for (i, s) in ml.sources.iter().enumerate() {
        cx.source_ref(&pi(&["ml", "sources"], i), s);
    }
    for (i, d) in ml.datasets.iter().enumerate() {
        cx.dataset_ref(&pi(&["ml", "datasets"], i), d, false);
    }
    let lookups = &cx.spec.index.lookups;
    for (i, l) in ml.index_lookups.iter().enumerate() {
        if !lookups.contains(l) {
            cx.err(
                "PW0223",
                &pi(&["ml", "index_lookups"], i),
                format!("the index has no `{}` lookup", l.as_str()),
            )
            .help(format!("add `{}` to `index.lookups`", l.as_str()));
        }
    }
    let g = &ml.model_package_group;
    let ok = !g.is_empty()
        && g.len() <= 63
        && g.as_bytes()[0].is_ascii_alphanumeric()
        && g.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !g.ends_with('-');
    if !ok {
        cx.err(
            "PW0207",
            &p(&["ml", "model_package_group"]),
            format!("`{g}` is not a valid model package group name"),
        )
        .help("up to 63 letters, digits and hyphens, starting and ending with a letter or digit");
    }
}
