//! Rules for `security`: the permissions boundary, the KMS key's rotation, deletion
//! window and administrators, and the readers granted access to sources and datasets.
//! Not the per-environment boundary (`environments`).

use super::context::{Ctx, p, pi};
use super::formats::{ArnKind, check_arn};
use crate::spec::yaml::Seg;

pub(super) fn security(cx: &mut Ctx<'_>) {
    let s = &cx.spec.security;
    if let Some(b) = &s.permissions_boundary {
        check_arn(
            cx,
            &p(&["security", "permissions_boundary"]),
            b,
            ArnKind::Policy,
        );
    }
    if !(90..=2560).contains(&s.kms.rotation_days) {
        cx.err(
            "PW0211",
            &p(&["security", "kms", "rotation_days"]),
            format!(
                "KMS rotates keys every 90–2,560 days, not {}",
                s.kms.rotation_days
            ),
        );
    }
    if !(7..=30).contains(&s.kms.deletion_window_days) {
        cx.err(
            "PW0211",
            &p(&["security", "kms", "deletion_window_days"]),
            format!(
                "KMS deletion windows are 7–30 days, not {}",
                s.kms.deletion_window_days
            ),
        );
    }
    for (i, a) in s.kms.admins.iter().enumerate() {
        check_arn(
            cx,
            &pi(&["security", "kms", "admins"], i),
            a,
            ArnKind::Principal,
        );
    }
    for (i, r) in s.readers.iter().enumerate() {
        let base = pi(&["security", "readers"], i);
        let mut pp = base.clone();
        pp.push(Seg::Key("principal".into()));
        check_arn(cx, &pp, &r.principal, ArnKind::Principal);
        for (j, src) in r.sources.iter().enumerate() {
            let mut sp = base.clone();
            sp.extend([Seg::Key("sources".into()), Seg::Index(j)]);
            cx.source_ref(&sp, src);
        }
        for (j, d) in r.datasets.iter().enumerate() {
            let mut dp = base.clone();
            dp.extend([Seg::Key("datasets".into()), Seg::Index(j)]);
            cx.dataset_ref(&dp, d, false);
        }
    }
}
