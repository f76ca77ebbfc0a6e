//! Rules for one entry of `environments`: where it deploys (name, account, region),
//! its compliance posture, how it is operated, and what it overrides. Not the
//! resource names an environment derives: those are checked in `plan`.

use super::context::{Ctx, p, under};
use super::formats::{ArnKind, check_arn, parse_cidr, partition_of, valid_email, valid_region};
use super::limits::{glue_schedule, lifecycle, throttle, workers};
use super::pipeline::tags;
use crate::spec::model::{Auth, Compliance, Environment};
use crate::spec::yaml::Seg;

pub(super) fn environment(cx: &mut Ctx<'_>, name: &str, env: &Environment) {
    let base = p(&["environments", name]);
    placement(cx, &base, name, env);
    posture(cx, &base, name, env);
    operations(cx, &base, name, env);
    source_overrides(cx, &base, name, env);
    transform_overrides(cx, &base, env);
    if env.storage.raw_retention_days.is_some() || env.storage.raw_archive_after_days.is_some() {
        let spec = cx.spec;
        let (retention, archive) = spec.raw_lifecycle(env);
        lifecycle(
            cx,
            &under(&base, &["storage"]),
            retention,
            archive,
            spec.storage.raw.archive_class,
        );
    }
    tags(cx, &env.tags, &["environments", name, "tags"]);
}

/// The environment's name, account and region.
fn placement(cx: &mut Ctx<'_>, base: &[Seg], name: &str, env: &Environment) {
    let name_ok = name.len() <= 10
        && name.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
        && name
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !name_ok {
        cx.err("PW0207", base, format!("`{name}` is not a valid environment name"))
            .help("environment names are 1–10 lower-case letters and digits, starting with a letter (they become part of every resource name)");
        cx.at_key(base);
    }
    if env.account.len() != 12 || !env.account.bytes().all(|b| b.is_ascii_digit()) {
        cx.err(
            "PW0208",
            &under(base, &["account"]),
            format!("`{}` is not a 12-digit AWS account id", env.account),
        )
        .help("account ids are exactly 12 digits; quote them in YAML so leading zeros survive");
    }
    if !valid_region(&env.region) {
        cx.err(
            "PW0209",
            &under(base, &["region"]),
            format!("`{}` is not an AWS region name", env.region),
        )
        .help("for example `eu-west-2`, `us-east-1`, `us-gov-west-1` or `cn-north-1`");
    } else {
        known_region(cx, &under(base, &["region"]), &env.region);
    }
}

/// A region of the right shape that AWS does not list (`eu-wset-2`, `eu-west-9`) is an
/// error, with the nearest listed region. The list is botocore's endpoint data
/// (`data/aws/partitions.json`); regions of partitions it does not cover pass on shape.
fn known_region(cx: &mut Ctx<'_>, at: &[Seg], region: &str) {
    if crate::aws::known_region(region) || crate::aws::partition_by_shape(region).is_none() {
        return;
    }
    let d = cx.err(
        "PW0209",
        at,
        format!("`{region}` is not a region AWS lists"),
    );
    match crate::aws::suggest_region(region) {
        Some(k) => d.help(format!("did you mean `{k}`?")),
        None => d.help("the known regions are botocore's (data/aws/partitions.json)"),
    };
}

/// The compliance posture and what it demands: a replica region, authenticated routes.
fn posture(cx: &mut Ctx<'_>, base: &[Seg], name: &str, env: &Environment) {
    let compliance = cx.spec.compliance(env);
    if env.compliance.as_ref().is_some_and(Vec::is_empty) {
        cx.warn("PW0901", &under(base, &["compliance"]), format!("environment `{name}` opts out of the PCI-DSS posture"))
            .help("no VPC, endpoints or replication are generated; keep payment data out of this environment");
    }
    match &env.replica_region {
        Some(r) if !valid_region(r) => {
            cx.err(
                "PW0209",
                &under(base, &["replica_region"]),
                format!("`{r}` is not an AWS region name"),
            );
        }
        Some(r) if crate::aws::partition_by_shape(r).is_some() && !crate::aws::known_region(r) => {
            known_region(cx, &under(base, &["replica_region"]), r);
        }
        Some(r) if r == &env.region || partition_of(r) != partition_of(&env.region) => {
            cx.err(
                "PW0225",
                &under(base, &["replica_region"]),
                format!("cannot replicate `{}` to `{r}`", env.region),
            )
            .help("the replica region must be another region of the same partition");
        }
        None if compliance.contains(&Compliance::PciDss) => {
            cx.err(
                "PW0224",
                base,
                format!("environment `{name}` has the `pci-dss` posture but no `replica_region`"),
            )
            .help("add `replica_region: <another region>` or opt out with `compliance: []`");
            cx.at_key(base);
        }
        _ => {}
    }
    if compliance.contains(&Compliance::PciDss) {
        pci_source_auth(cx, base, name, env);
    }
}

/// Under `pci-dss`, every source (as this environment overrides it) must sign and meter.
fn pci_source_auth(cx: &mut Ctx<'_>, base: &[Seg], name: &str, env: &Environment) {
    for (s, src) in &cx.spec.sources {
        let over = env.sources.get(s).and_then(|o| o.auth);
        let auth = over.unwrap_or(src.auth);
        let why = match auth {
            Auth::IamAndApiKey => continue,
            Auth::ApiKey => "an API key identifies a caller but does not authenticate it",
            Auth::None => "the route accepts unauthenticated requests",
            Auth::Iam => {
                "without an API key the route has no usage plan, and throttling it per route \
                 would need a stage setting that turns the stage's encrypted cache off"
            }
        };
        let path = if over.is_some() {
            under(base, &["sources", s, "auth"])
        } else {
            p(&["sources", s, "auth"])
        };
        cx.err(
            "PW0232",
            &path,
            format!(
                "environment `{name}` has the `pci-dss` posture, but source `{s}` uses `auth: {}`: {why}",
                auth.as_str()
            ),
        )
        .help("use `auth: iam_and_api_key` (the default): a SigV4 signature authenticates each device, the API key meters it; or opt the environment out with `compliance: []`");
    }
}

/// Data retention, alarms, network and permissions boundary.
fn operations(cx: &mut Ctx<'_>, base: &[Seg], name: &str, env: &Environment) {
    if env.retain_data == Some(false) {
        cx.warn(
            "PW0904",
            &under(base, &["retain_data"]),
            format!("environment `{name}` deletes its data with its stacks"),
        );
    }
    match &env.alarm_email {
        Some(e) if !valid_email(e) => {
            cx.err(
                "PW0229",
                &under(base, &["alarm_email"]),
                format!("`{e}` is not an e-mail address"),
            );
        }
        None => {
            cx.warn(
                "PW0905",
                base,
                format!("environment `{name}` has no `alarm_email`"),
            );
            cx.at_key(base);
        }
        _ => {}
    }
    if let Some(c) = &env.network.cidr
        && let Err(e) = parse_cidr(c)
    {
        cx.err(
            "PW0226",
            &under(base, &["network", "cidr"]),
            format!("`{c}`: {e}"),
        )
        .help("for example `10.40.0.0/16`");
    }
    if let Some(b) = &env.permissions_boundary {
        check_arn(
            cx,
            &under(base, &["permissions_boundary"]),
            b,
            ArnKind::Policy,
        );
    }
}

/// `environments.<env>.sources`: auth, quota and throttle of sources that exist.
fn source_overrides(cx: &mut Ctx<'_>, base: &[Seg], name: &str, env: &Environment) {
    let known = cx.known.sources;
    for (s, o) in &env.sources {
        let path = under(base, &["sources", s]);
        match cx.spec.sources.get(s) {
            None if !known.contains(&s.as_str()) => {
                cx.undefined("PW0201", &path, "source", s, known);
                cx.at_key(&path);
            }
            None => {}
            Some(src) => {
                let auth = o.auth.unwrap_or(src.auth);
                if o.quota.is_some() && !auth.keyed() {
                    cx.err("PW0222", &under(&path, &["quota"]), format!("source `{s}` does not use API keys, so it has no usage plan for a quota"));
                }
                if o.auth == Some(Auth::None) {
                    cx.warn(
                        "PW0900",
                        &under(&path, &["auth"]),
                        format!(
                            "source `{s}` accepts unauthenticated requests in environment `{name}`"
                        ),
                    );
                }
                if let Some(t) = &o.throttle {
                    throttle(cx, &under(&path, &["throttle"]), t);
                }
            }
        }
    }
}

/// `environments.<env>.transforms`: schedule and workers of transforms that exist.
fn transform_overrides(cx: &mut Ctx<'_>, base: &[Seg], env: &Environment) {
    let known = cx.known.transforms;
    for (t, o) in &env.transforms {
        let path = under(base, &["transforms", t]);
        match cx.spec.transforms.get(t) {
            None if !known.contains(&t.as_str()) => {
                cx.undefined("PW0204", &path, "transform", t, known);
                cx.at_key(&path);
            }
            None => {}
            Some(tr) => {
                if let Some(s) = &o.schedule {
                    let sp = under(&path, &["schedule"]);
                    if tr.schedule.is_none() {
                        cx.err("PW0219", &sp, format!("transform `{t}` does not run on a schedule, so its schedule cannot be overridden"));
                    } else {
                        glue_schedule(cx, &sp, s);
                    }
                }
                if let Some(w) = &o.workers {
                    workers(cx, &under(&path, &["workers"]), w);
                }
            }
        }
    }
}
