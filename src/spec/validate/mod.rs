//! Semantic validation of a spec whose shape is right: references between sections,
//! names, formats, AWS limits, event schemas, and warnings. Every rule reports and
//! goes on; nothing here stops at the first problem.
//!
//! Rules that depend on an environment's derived resource names live in `plan`,
//! which is the only place names are derived.

use std::collections::{BTreeMap, BTreeSet};

use super::event_schema::{self, ColumnType, Version};
use super::schedule::Schedule;
use super::shape::did_you_mean;
use super::yaml::{Doc, Seg};
use super::{LoadedSchema, Spec, fmt_path};
use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::spec::model::*;

/// Derived partition columns a transform may use without declaring them.
pub const DERIVED_PARTITIONS: &[&str] = &["event_date", "event_hour", "ingest_date"];
/// The dataset name that means "the metadata index" in analytics and readers.
pub const INDEX_DATASET: &str = "index";

struct Ctx<'a> {
    doc: &'a Doc,
    out: Diagnostics,
}

/// A path under construction: `p(&["sources", name])`.
fn p(keys: &[&str]) -> Vec<Seg> {
    keys.iter().map(|k| Seg::Key((*k).to_owned())).collect()
}

fn pi(keys: &[&str], i: usize) -> Vec<Seg> {
    let mut v = p(keys);
    v.push(Seg::Index(i));
    v
}

impl Ctx<'_> {
    fn report(&mut self, sev: Severity, code: &'static str, at: &[Seg], msg: String) -> Edit<'_> {
        let d = match sev {
            Severity::Error => Diagnostic::error(code, msg),
            Severity::Warning => Diagnostic::warning(code, msg),
        }
        .at_opt(self.doc.span_of(at))
        .with_path(fmt_path(at));
        self.out.push(d);
        Edit(self.out.last_mut().expect("just pushed"))
    }

    fn err(&mut self, code: &'static str, at: &[Seg], msg: impl Into<String>) -> Edit<'_> {
        self.report(Severity::Error, code, at, msg.into())
    }

    fn warn(&mut self, code: &'static str, at: &[Seg], msg: impl Into<String>) -> Edit<'_> {
        self.report(Severity::Warning, code, at, msg.into())
    }

    /// Points the last diagnostic at the key instead of the value.
    fn at_key(&mut self, at: &[Seg]) {
        let span = self.doc.key_span_of(at);
        if let Some(d) = self.last_mut() {
            d.location = match span {
                Some(s) => crate::diag::Location::Span(s),
                None => d.location.clone(),
            };
        }
    }

    fn last_mut(&mut self) -> Option<&mut Diagnostic> {
        self.out.last_mut()
    }

    fn undefined(
        &mut self,
        code: &'static str,
        at: &[Seg],
        what: &str,
        name: &str,
        known: &[&str],
    ) {
        let msg = format!("{what} `{name}` is not defined");
        let help = match did_you_mean(name, known.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None if known.is_empty() => format!("no {what}s are defined"),
            None => format!("defined {what}s: {}", code_list(known)),
        };
        self.err(code, at, msg)
            .label(format!("unknown {what}"))
            .help(help);
    }
}

/// Adds detail to a diagnostic that was just reported.
struct Edit<'a>(&'a mut Diagnostic);

impl Edit<'_> {
    fn label(self, l: impl Into<String>) -> Self {
        self.0.label = Some(l.into());
        self
    }
    fn help(self, h: impl Into<String>) -> Self {
        self.0.help = Some(h.into());
        self
    }
    fn note(self, n: impl Into<String>) -> Self {
        self.0.notes.push(n.into());
        self
    }
}

fn code_list<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| format!("`{}`", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn is_ident(s: &str, max: usize) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && s.len() <= max
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

/// Validates everything that can be checked without choosing an environment.
pub fn validate(
    spec: &Spec,
    doc: &Doc,
    schemas: &BTreeMap<String, LoadedSchema>,
    broken: &BTreeSet<String>,
) -> Diagnostics {
    let mut cx = Ctx {
        doc,
        out: Diagnostics::default(),
    };
    let source_names: Vec<&str> = spec
        .sources
        .keys()
        .map(String::as_str)
        .chain(broken.iter().filter_map(|b| b.strip_prefix("sources.")))
        .collect();
    let transform_names: Vec<&str> = spec
        .transforms
        .keys()
        .map(String::as_str)
        .chain(broken.iter().filter_map(|b| b.strip_prefix("transforms.")))
        .collect();
    let any_broken_transform = broken.iter().any(|b| b.starts_with("transforms."));
    let datasets: BTreeMap<String, &str> = spec
        .transforms
        .iter()
        .map(|(n, t)| (t.dataset.clone().unwrap_or_else(|| n.clone()), n.as_str()))
        .collect();
    let dataset_names: Vec<&str> = datasets.keys().map(String::as_str).collect();

    top_level(&mut cx, spec);
    for (name, env) in &spec.environments {
        environment(&mut cx, spec, name, env, &source_names, &transform_names);
    }
    let mut routes: BTreeMap<String, String> = BTreeMap::new();
    for (name, src) in &spec.sources {
        source(&mut cx, name, src, schemas.get(name), &mut routes);
    }
    storage(&mut cx, &spec.storage);
    ingest(&mut cx, &spec.ingest);
    let mut seen_datasets: BTreeSet<String> = BTreeSet::new();
    for (name, t) in &spec.transforms {
        transform(
            &mut cx,
            spec,
            name,
            t,
            schemas,
            &source_names,
            &transform_names,
            &mut seen_datasets,
        );
    }
    cycles(&mut cx, spec);
    for name in spec.sources.keys() {
        let used = spec.transforms.values().any(|t| t.inputs.contains(name));
        if !used && !spec.transforms.is_empty() && !any_broken_transform {
            cx.warn("PW0903", &p(&["sources", name]), format!("no transform reads source `{name}`"))
                .help("its raw events are kept (for compliance and ML) but never curated; add it to a transform's `inputs` if it should be");
            cx.at_key(&p(&["sources", name]));
        }
    }
    catalog(&mut cx, &spec.catalog);
    if let Some(a) = &spec.analytics {
        analytics(&mut cx, a, &dataset_names, any_broken_transform);
    }
    if let Some(ml) = &spec.ml {
        ml_access(
            &mut cx,
            spec,
            ml,
            &source_names,
            &dataset_names,
            any_broken_transform,
        );
    }
    security(
        &mut cx,
        spec,
        &source_names,
        &dataset_names,
        any_broken_transform,
    );
    cx.out
}

fn top_level(cx: &mut Ctx<'_>, spec: &Spec) {
    if spec.version != super::SPEC_VERSION {
        cx.err(
            "PW0200",
            &p(&["version"]),
            format!("spec version {} is not supported", spec.version),
        )
        .help(format!(
            "this pipewright reads `version: {}`",
            super::SPEC_VERSION
        ));
    }
    let n = &spec.name;
    let ok = n.len() >= 3
        && n.as_bytes()[0].is_ascii_lowercase()
        && n.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && !n.ends_with('-')
        && !n.contains("--");
    if !ok {
        cx.err("PW0207", &p(&["name"]), format!("`{n}` is not a valid pipeline name"))
            .label("lower-case letters, digits and single hyphens")
            .help("the name starts every resource name (buckets included), so it must start with a letter and use only a-z, 0-9 and `-`");
    }
    tags(cx, &spec.tags, &["tags"]);
}

fn tags(cx: &mut Ctx<'_>, tags: &BTreeMap<String, String>, at: &[&str]) {
    for (k, v) in tags {
        let mut path = p(at);
        path.push(Seg::Key(k.clone()));
        if k.is_empty() || k.chars().count() > 128 || k.to_ascii_lowercase().starts_with("aws:") {
            cx.err("PW0207", &path, format!("tag key `{k}` is not allowed"))
                .help("tag keys are 1–128 characters and may not start with `aws:`");
            cx.at_key(&path);
        }
        if v.chars().count() > 256 {
            cx.err("PW0207", &path, "tag values are at most 256 characters");
        }
    }
}

pub fn valid_region(r: &str) -> bool {
    // eu-west-2, us-gov-west-1, cn-north-1, us-iso-east-1, ap-southeast-5
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|d| d.len() <= 2 && d.bytes().all(|b| b.is_ascii_digit()))
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_lowercase()))
}

/// The partition of a region.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("eu-isoe-") {
        "aws-iso-e"
    } else if region.starts_with("us-isof-") {
        "aws-iso-f"
    } else {
        "aws"
    }
}

fn environment(
    cx: &mut Ctx<'_>,
    spec: &Spec,
    name: &str,
    env: &Environment,
    sources: &[&str],
    transforms: &[&str],
) {
    let at = |k: &[&str]| {
        let mut v = p(&["environments", name]);
        v.extend(p(k));
        v
    };
    let name_ok = name.len() <= 10
        && name.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
        && name
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !name_ok {
        cx.err("PW0207", &p(&["environments", name]), format!("`{name}` is not a valid environment name"))
            .help("environment names are 1–10 lower-case letters and digits, starting with a letter (they become part of every resource name)");
        cx.at_key(&p(&["environments", name]));
    }
    if env.account.len() != 12 || !env.account.bytes().all(|b| b.is_ascii_digit()) {
        cx.err(
            "PW0208",
            &at(&["account"]),
            format!("`{}` is not a 12-digit AWS account id", env.account),
        )
        .help("account ids are exactly 12 digits; quote them in YAML so leading zeros survive");
    }
    if !valid_region(&env.region) {
        cx.err(
            "PW0209",
            &at(&["region"]),
            format!("`{}` is not an AWS region name", env.region),
        )
        .help("for example `eu-west-2`, `us-east-1`, `us-gov-west-1` or `cn-north-1`");
    }
    let compliance = spec.compliance(env);
    if env.compliance.as_ref().is_some_and(Vec::is_empty) {
        cx.warn("PW0901", &at(&["compliance"]), format!("environment `{name}` opts out of the PCI-DSS posture"))
            .help("no VPC, endpoints or replication are generated; keep payment data out of this environment");
    }
    match &env.replica_region {
        Some(r) if !valid_region(r) => {
            cx.err(
                "PW0209",
                &at(&["replica_region"]),
                format!("`{r}` is not an AWS region name"),
            );
        }
        Some(r) if r == &env.region || partition_of(r) != partition_of(&env.region) => {
            cx.err(
                "PW0225",
                &at(&["replica_region"]),
                format!("cannot replicate `{}` to `{r}`", env.region),
            )
            .help("the replica region must be another region of the same partition");
        }
        None if compliance.contains(&Compliance::PciDss) => {
            cx.err(
                "PW0224",
                &p(&["environments", name]),
                format!("environment `{name}` has the `pci-dss` posture but no `replica_region`"),
            )
            .help("add `replica_region: <another region>` or opt out with `compliance: []`");
            cx.at_key(&p(&["environments", name]));
        }
        _ => {}
    }
    if compliance.contains(&Compliance::PciDss) {
        for (s, src) in &spec.sources {
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
                at(&["sources", s, "auth"])
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
    if env.retain_data == Some(false) {
        cx.warn(
            "PW0904",
            &at(&["retain_data"]),
            format!("environment `{name}` deletes its data with its stacks"),
        );
    }
    match &env.alarm_email {
        Some(e) if !valid_email(e) => {
            cx.err(
                "PW0229",
                &at(&["alarm_email"]),
                format!("`{e}` is not an e-mail address"),
            );
        }
        None => {
            cx.warn(
                "PW0905",
                &p(&["environments", name]),
                format!("environment `{name}` has no `alarm_email`"),
            );
            cx.at_key(&p(&["environments", name]));
        }
        _ => {}
    }
    if let Some(c) = &env.network.cidr
        && let Err(e) = parse_cidr(c)
    {
        cx.err("PW0226", &at(&["network", "cidr"]), format!("`{c}`: {e}"))
            .help("for example `10.40.0.0/16`");
    }
    if let Some(b) = &env.permissions_boundary {
        check_arn(cx, &at(&["permissions_boundary"]), b, ArnKind::Policy);
    }
    for (s, o) in &env.sources {
        let path = at(&["sources", s]);
        match spec.sources.get(s) {
            None if !sources.contains(&s.as_str()) => {
                cx.undefined("PW0201", &path, "source", s, sources);
                cx.at_key(&path);
            }
            None => {}
            Some(src) => {
                let auth = o.auth.unwrap_or(src.auth);
                if o.quota.is_some() && !auth.keyed() {
                    let mut qp = path.clone();
                    qp.push(Seg::Key("quota".into()));
                    cx.err("PW0222", &qp, format!("source `{s}` does not use API keys, so it has no usage plan for a quota"));
                }
                if o.auth == Some(Auth::None) {
                    let mut ap = path.clone();
                    ap.push(Seg::Key("auth".into()));
                    cx.warn(
                        "PW0900",
                        &ap,
                        format!(
                            "source `{s}` accepts unauthenticated requests in environment `{name}`"
                        ),
                    );
                }
                if let Some(t) = &o.throttle {
                    let mut tp = path.clone();
                    tp.push(Seg::Key("throttle".into()));
                    throttle(cx, &tp, t);
                }
            }
        }
    }
    for (t, o) in &env.transforms {
        let path = at(&["transforms", t]);
        match spec.transforms.get(t) {
            None if !transforms.contains(&t.as_str()) => {
                cx.undefined("PW0204", &path, "transform", t, transforms);
                cx.at_key(&path);
            }
            None => {}
            Some(tr) => {
                if let Some(s) = &o.schedule {
                    let mut sp = path.clone();
                    sp.push(Seg::Key("schedule".into()));
                    if tr.schedule.is_none() {
                        cx.err("PW0219", &sp, format!("transform `{t}` does not run on a schedule, so its schedule cannot be overridden"));
                    } else {
                        glue_schedule(cx, &sp, s);
                    }
                }
                if let Some(w) = &o.workers {
                    let mut wp = path.clone();
                    wp.push(Seg::Key("workers".into()));
                    workers(cx, &wp, w);
                }
            }
        }
    }
    if env.storage.raw_retention_days.is_some() || env.storage.raw_archive_after_days.is_some() {
        let (retention, archive) = spec.raw_lifecycle(env);
        lifecycle(
            cx,
            &at(&["storage"]),
            retention,
            archive,
            spec.storage.raw.archive_class,
        );
    }
    tags(cx, &env.tags, &["environments", name, "tags"]);
}

fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.chars().any(|c| c.is_whitespace() || c == ',' || c == ';')
        && e.len() <= 254
}

/// Parses an IPv4 CIDR in a private range, /16 to /24.
pub fn parse_cidr(c: &str) -> Result<([u8; 4], u8), String> {
    let (ip, len) = c.split_once('/').ok_or("a CIDR block needs a `/prefix`")?;
    let len: u8 = len
        .parse()
        .map_err(|_| "the prefix length is not a number")?;
    let octets: Vec<u8> = ip
        .split('.')
        .map(|o| o.parse::<u8>())
        .collect::<Result<_, _>>()
        .map_err(|_| "not an IPv4 address")?;
    let [a, b, c2, d] = <[u8; 4]>::try_from(octets).map_err(|_| "not an IPv4 address")?;
    if !(16..=24).contains(&len) {
        return Err(format!("a /{len} block; use /16 to /24"));
    }
    let private = a == 10 || (a == 172 && (16..=31).contains(&b)) || (a == 192 && b == 168);
    if !private {
        return Err("not a private (RFC 1918) range".into());
    }
    let v = u32::from_be_bytes([a, b, c2, d]);
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    if v & !mask != 0 {
        return Err(format!(
            "host bits are set; the block starts at {}",
            std::net::Ipv4Addr::from(v & mask)
        ));
    }
    Ok(([a, b, c2, d], len))
}

#[derive(Clone, Copy, PartialEq)]
enum ArnKind {
    Policy,
    Principal,
}

/// Checks an ARN with optional `{account}`, `{region}`, `{partition}` placeholders.
fn check_arn(cx: &mut Ctx<'_>, at: &[Seg], arn: &str, kind: ArnKind) {
    let concrete = arn
        .replace("{account}", "123456789012")
        .replace("{region}", "eu-west-2")
        .replace("{partition}", "aws");
    if concrete.contains('{') || concrete.contains('}') {
        cx.err("PW0227", at, format!("`{arn}` uses an unknown placeholder"))
            .help("the placeholders are `{account}`, `{region}` and `{partition}`");
        return;
    }
    let parts: Vec<&str> = concrete.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && match kind {
            ArnKind::Policy => parts[5].starts_with("policy/") && parts[5].len() > 7,
            ArnKind::Principal => {
                parts[5] == "root"
                    || (parts[5].starts_with("role/") && parts[5].len() > 5)
                    || (parts[5].starts_with("user/") && parts[5].len() > 5)
            }
        };
    if !ok {
        let example = match kind {
            ArnKind::Policy => "arn:{partition}:iam::{account}:policy/pipeline-boundary",
            ArnKind::Principal => "arn:aws:iam::123456789012:role/data-science",
        };
        cx.err(
            "PW0227",
            at,
            format!(
                "`{arn}` is not an IAM {} ARN",
                if kind == ArnKind::Policy {
                    "policy"
                } else {
                    "role, user or root"
                }
            ),
        )
        .help(format!("for example `{example}`"));
    }
}

fn throttle(cx: &mut Ctx<'_>, at: &[Seg], t: &Throttle) {
    let mut rp = at.to_vec();
    rp.push(Seg::Key("rate_limit".into()));
    if !(t.rate_limit > 0.0 && t.rate_limit <= 10_000.0) {
        cx.err(
            "PW0211",
            &rp,
            format!(
                "rate limit {} is outside API Gateway's 0–10,000 requests per second",
                t.rate_limit
            ),
        );
    }
    let mut bp = at.to_vec();
    bp.push(Seg::Key("burst_limit".into()));
    if !(1..=5000).contains(&t.burst_limit) {
        cx.err(
            "PW0211",
            &bp,
            format!(
                "burst limit {} is outside API Gateway's 1–5,000",
                t.burst_limit
            ),
        );
    }
}

fn source(
    cx: &mut Ctx<'_>,
    name: &str,
    src: &Source,
    schema: Option<&LoadedSchema>,
    routes: &mut BTreeMap<String, String>,
) {
    let at = |k: &[&str]| {
        let mut v = p(&["sources", name]);
        v.extend(p(k));
        v
    };
    if !is_ident(name, 32) {
        cx.err(
            "PW0207",
            &p(&["sources", name]),
            format!("`{name}` is not a valid source name"),
        )
        .help(
            "source names are up to 32 lower-case letters, digits and `_`, starting with a letter",
        );
        cx.at_key(&p(&["sources", name]));
    }
    let route_ok = src.route.starts_with('/')
        && src.route.len() > 1
        && src
            .route
            .trim_end_matches('/')
            .split('/')
            .skip(1)
            .all(|seg| {
                !seg.is_empty()
                    && seg
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
            });
    if !route_ok {
        cx.err("PW0206", &at(&["route"]), format!("`{}` is not a valid route", src.route))
            .help("routes look like `/v1/pos/sales`: segments of letters, digits, `-`, `_` and `.`, no `{parameters}`");
    } else {
        let norm = src.route.trim_end_matches('/').to_owned();
        if let Some(first) = routes.get(&norm) {
            let first = first.clone();
            cx.err(
                "PW0205",
                &at(&["route"]),
                format!("route `{}` is already used by source `{first}`", src.route),
            )
            .note(format!(
                "each source needs its own route; `{first}` declares it first"
            ));
        } else {
            routes.insert(norm, name.to_owned());
        }
    }
    throttle(cx, &at(&["throttle"]), &src.throttle);
    if src.quota.is_some() && !src.auth.keyed() {
        cx.err(
            "PW0222",
            &at(&["quota"]),
            format!("source `{name}` does not use API keys, so it has no usage plan for a quota"),
        )
        .help("remove `quota`, or use `auth: iam_and_api_key`");
    }
    if src.auth == Auth::None {
        cx.warn(
            "PW0900",
            &at(&["auth"]),
            format!("source `{name}` accepts unauthenticated requests"),
        )
        .help("use `auth: iam_and_api_key` (the default) or `auth: iam`");
    }
    if !(1024..=5 * 1024 * 1024).contains(&src.limits.max_body_bytes) {
        cx.err(
            "PW0211",
            &at(&["limits", "max_body_bytes"]),
            format!("{} bytes is outside 1 KiB–5 MiB", src.limits.max_body_bytes),
        )
        .help("Lambda accepts at most 6 MB per synchronous request, envelope included");
    }
    if !(1..=100_000).contains(&src.limits.max_events) {
        cx.err(
            "PW0211",
            &at(&["limits", "max_events"]),
            format!(
                "{} events per request is outside 1–100,000",
                src.limits.max_events
            ),
        );
    }
    if Version::parse(&src.schema.version).is_none() {
        cx.err(
            "PW0215",
            &at(&["schema", "version"]),
            format!(
                "`{}` is not a `MAJOR.MINOR.PATCH` version",
                src.schema.version
            ),
        )
        .help("for example `1.0.0`");
    }
    let Some(schema) = schema else { return };
    let problems = event_schema::problems(&schema.value);
    for (ptr, msg) in &problems {
        let mut path = schema.root.clone();
        path.extend(
            ptr.split('/')
                .skip(1)
                .map(|s| Seg::Key(s.replace("~1", "/").replace("~0", "~"))),
        );
        let path = fix_indices(&schema.doc, path);
        let span = schema.doc.span_of(&path);
        cx.out.push(
            Diagnostic::error(
                "PW0212",
                format!("invalid event schema for source `{name}`: {msg}"),
            )
            .at_opt(span)
            .with_path(fmt_path(&path)),
        );
    }
    if !problems.is_empty() {
        return;
    }
    for (key, val, want) in [
        ("id", &src.fields.id, "string"),
        ("time", &src.fields.time, "date-time"),
        ("device", &src.fields.device, "string"),
    ] {
        let Some(dotted) = val else { continue };
        let fp = at(&["fields", key]);
        match event_schema::field(&schema.value, dotted) {
            Err(e) => {
                cx.err(
                    "PW0216",
                    &fp,
                    format!("field `{dotted}` is not in the event schema: {e}"),
                );
            }
            Ok(f) => {
                let ty = event_schema::column_type(&schema.value, f.schema);
                let fits = matches!(
                    (want, &ty),
                    ("date-time", Ok(ColumnType::Timestamp))
                        | (
                            "string",
                            Ok(ColumnType::String | ColumnType::Int | ColumnType::BigInt)
                        )
                );
                if !fits {
                    let need = if want == "date-time" {
                        "a string with `\"format\": \"date-time\"`"
                    } else {
                        "a string or integer"
                    };
                    cx.err(
                        "PW0216",
                        &fp,
                        format!("field `{dotted}` must be {need} in the event schema"),
                    );
                }
            }
        }
    }
}

/// JSON pointers do not say whether `3` is a key or an index; ask the document.
fn fix_indices(doc: &Doc, path: Vec<Seg>) -> Vec<Seg> {
    let mut out: Vec<Seg> = Vec::new();
    for seg in path {
        let next = match &seg {
            Seg::Key(k) => match (k.parse::<usize>(), doc.lookup(&out).map(|(m, _)| &m.kind)) {
                (Ok(i), Some(super::yaml::MarkedKind::Seq(_))) => Seg::Index(i),
                _ => seg,
            },
            Seg::Index(_) => seg,
        };
        out.push(next);
    }
    out
}

fn lifecycle(
    cx: &mut Ctx<'_>,
    at: &[Seg],
    retention: u32,
    archive: Option<u32>,
    class: ArchiveClass,
) {
    let Some(a) = archive else { return };
    if a >= retention {
        cx.err("PW0228", at, format!("raw objects would expire after {retention} days, before they move to {} after {a} days", class.as_str()))
            .help("make `archive_after_days` smaller than `retention_days`, or set it to null");
    }
    if class == ArchiveClass::StandardIa && a < 30 {
        cx.err(
            "PW0228",
            at,
            format!("S3 moves objects to STANDARD_IA after 30 days at the earliest, not {a}"),
        );
    }
}

fn storage(cx: &mut Ctx<'_>, s: &Storage) {
    lifecycle(
        cx,
        &p(&["storage", "raw"]),
        s.raw.retention_days,
        s.raw.archive_after_days,
        s.raw.archive_class,
    );
}

fn ingest(cx: &mut Ctx<'_>, i: &Ingest) {
    if !(128..=10240).contains(&i.memory_mb) {
        cx.err(
            "PW0211",
            &p(&["ingest", "memory_mb"]),
            format!("Lambda memory must be 128–10,240 MB, not {}", i.memory_mb),
        );
    }
    if !(1..=29).contains(&i.timeout_seconds) {
        cx.err(
            "PW0211",
            &p(&["ingest", "timeout_seconds"]),
            format!(
                "the timeout must be 1–29 s (API Gateway waits 29 s), not {}",
                i.timeout_seconds
            ),
        );
    }
    if let Some(r) = i.reserved_concurrency
        && !(1..=1000).contains(&r)
    {
        cx.err(
            "PW0211",
            &p(&["ingest", "reserved_concurrency"]),
            format!("reserved concurrency must be 1–1,000, not {r}"),
        );
    }
    if !(1..=9).contains(&i.gzip_level) {
        cx.err(
            "PW0211",
            &p(&["ingest", "gzip_level"]),
            format!("gzip levels are 1–9, not {}", i.gzip_level),
        );
    }
}

fn glue_schedule(cx: &mut Ctx<'_>, at: &[Seg], s: &str) {
    match Schedule::parse(s).and_then(|sc| sc.to_glue_cron()) {
        Ok(_) => {}
        Err(e) => {
            cx.err("PW0210", at, format!("invalid schedule `{s}`: {e}"));
        }
    }
}

fn workers(cx: &mut Ctx<'_>, at: &[Seg], w: &Workers) {
    let mut cp = at.to_vec();
    cp.push(Seg::Key("count".into()));
    if !(2..=299).contains(&w.count) {
        cx.err(
            "PW0211",
            &cp,
            format!("Glue jobs take 2–299 workers, not {}", w.count),
        );
    }
    if w.ty == WorkerType::G025X {
        let mut tp = at.to_vec();
        tp.push(Seg::Key("type".into()));
        cx.err(
            "PW0211",
            &tp,
            "G.025X workers are for Glue streaming jobs only",
        )
        .help("use `G.1X` or larger");
    }
}

#[allow(clippy::too_many_arguments)]
fn transform(
    cx: &mut Ctx<'_>,
    spec: &Spec,
    name: &str,
    t: &Transform,
    schemas: &BTreeMap<String, LoadedSchema>,
    sources: &[&str],
    transforms: &[&str],
    seen_datasets: &mut BTreeSet<String>,
) {
    let at = |k: &[&str]| {
        let mut v = p(&["transforms", name]);
        v.extend(p(k));
        v
    };
    if !is_ident(name, 40) {
        cx.err("PW0207", &p(&["transforms", name]), format!("`{name}` is not a valid transform name"))
            .help("transform names are up to 40 lower-case letters, digits and `_`, starting with a letter");
        cx.at_key(&p(&["transforms", name]));
    }
    let dataset = t.dataset.clone().unwrap_or_else(|| name.to_owned());
    let dpath = if t.dataset.is_some() {
        at(&["dataset"])
    } else {
        p(&["transforms", name])
    };
    if !is_ident(&dataset, 64) || dataset == INDEX_DATASET {
        cx.err("PW0207", &dpath, format!("`{dataset}` is not a valid dataset name"))
            .help("dataset names are up to 64 lower-case letters, digits and `_`; `index` is reserved for the metadata index");
    } else if seen_datasets.contains(&dataset) {
        cx.err(
            "PW0221",
            &dpath,
            format!("dataset `{dataset}` is written by another transform too"),
        );
    } else {
        seen_datasets.insert(dataset.clone());
    }
    let mut input_schemas: Vec<(&str, &LoadedSchema)> = Vec::new();
    for (i, input) in t.inputs.iter().enumerate() {
        let ip = pi(&["transforms", name, "inputs"], i);
        if !spec.sources.contains_key(input) {
            if !sources.contains(&input.as_str()) {
                cx.undefined("PW0201", &ip, "source", input, sources);
            }
        } else if let Some(s) = schemas.get(input)
            && event_schema::problems(&s.value).is_empty()
        {
            input_schemas.push((input.as_str(), s));
        }
    }
    // Columns
    let mut names: BTreeSet<&str> = BTreeSet::new();
    let mut complex: BTreeSet<&str> = BTreeSet::new();
    for (i, c) in t.columns.iter().enumerate() {
        let cp = |k: &str| {
            let mut v = pi(&["transforms", name, "columns"], i);
            v.push(Seg::Key(k.into()));
            v
        };
        if !is_ident(&c.name, 128) {
            cx.err(
                "PW0207",
                &cp("name"),
                format!("`{}` is not a valid column name", c.name),
            )
            .help("column names are lower-case letters, digits and `_`, starting with a letter");
        }
        if !names.insert(c.name.as_str())
            || DERIVED_PARTITIONS.contains(&c.name.as_str())
            || c.name == "source"
        {
            cx.err(
                "PW0230",
                &cp("name"),
                format!(
                    "column `{}` is defined twice (or clashes with a derived column)",
                    c.name
                ),
            )
            .help("`source`, `event_date`, `event_hour` and `ingest_date` are added by pipewright");
        }
        let override_ty = match &c.ty {
            Some(s) => match ColumnType::parse(s) {
                Ok(t) => Some(t),
                Err(e) => {
                    cx.err("PW0217", &cp("type"), e)
                        .help("types: string, boolean, int, bigint, double, date, timestamp, decimal(P,S)");
                    continue;
                }
            },
            None => None,
        };
        let from = c.from.clone().unwrap_or_else(|| c.name.clone());
        let from_path = if c.from.is_some() {
            cp("from")
        } else {
            cp("name")
        };
        let mut first_ty: Option<(ColumnType, &str)> = None;
        for (src, schema) in &input_schemas {
            match event_schema::field(&schema.value, &from) {
                Err(e) => {
                    cx.err(
                        "PW0216",
                        &from_path,
                        format!("`{from}` is not a field of source `{src}`: {e}"),
                    );
                }
                Ok(f) => {
                    match event_schema::column_type(&schema.value, f.schema) {
                        Err(e) if override_ty.is_none() => {
                            cx.err(
                                "PW0217",
                                &from_path,
                                format!("`{from}` of source `{src}`: {e}"),
                            );
                        }
                        Err(_) => {}
                        Ok(ty) => {
                            if matches!(ty, ColumnType::Array(_) | ColumnType::Struct(_)) {
                                complex.insert(c.name.as_str());
                            }
                            if override_ty.is_none() {
                                if let Some((t0, s0)) = &first_ty {
                                    if *t0 != ty {
                                        cx.err("PW0217", &from_path, format!("`{from}` is {t0} in source `{s0}` but {ty} in `{src}`"))
                                        .help("set the column's `type` to one both fit");
                                    }
                                } else {
                                    first_ty = Some((ty, src));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    for (i, part) in t.partition_by.iter().enumerate() {
        let pp = pi(&["transforms", name, "partition_by"], i);
        if DERIVED_PARTITIONS.contains(&part.as_str()) {
            if part != "ingest_date" {
                for (src, _) in &input_schemas {
                    if spec
                        .sources
                        .get(*src)
                        .is_some_and(|s| s.fields.time.is_none())
                    {
                        cx.err("PW0218", &pp, format!("`{part}` comes from the event time, but source `{src}` declares no `fields.time`"));
                    }
                }
            }
        } else if !names.contains(part.as_str()) {
            let mut known: Vec<&str> = names.iter().copied().collect();
            known.extend(DERIVED_PARTITIONS);
            cx.err(
                "PW0218",
                &pp,
                format!("`{part}` is neither an output column nor a derived partition"),
            )
            .help(match did_you_mean(part, known.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("choose from {}", code_list(&known)),
            });
        } else if complex.contains(part.as_str()) {
            cx.err(
                "PW0218",
                &pp,
                format!("`{part}` is a list or object and cannot partition a dataset"),
            );
        }
    }
    // How it starts
    let ways = usize::from(t.schedule.is_some())
        + usize::from(!t.after.is_empty())
        + usize::from(t.on_ingest);
    if ways > 1 {
        cx.err(
            "PW0219",
            &p(&["transforms", name]),
            format!("transform `{name}` has more than one of `schedule`, `after` and `on_ingest`"),
        )
        .help("give exactly one way to start it");
        cx.at_key(&p(&["transforms", name]));
    } else if ways == 0 {
        cx.warn(
            "PW0902",
            &p(&["transforms", name]),
            format!("transform `{name}` never starts by itself"),
        )
        .help("add `schedule: cron(...)`, `after: [other]` or `on_ingest: true`");
        cx.at_key(&p(&["transforms", name]));
    }
    if let Some(s) = &t.schedule {
        glue_schedule(cx, &at(&["schedule"]), s);
    }
    for (i, a) in t.after.iter().enumerate() {
        if !spec.transforms.contains_key(a) && !transforms.contains(&a.as_str()) {
            cx.undefined(
                "PW0204",
                &pi(&["transforms", name, "after"], i),
                "transform",
                a,
                transforms,
            );
        }
    }
    workers(cx, &at(&["workers"]), &t.workers);
    if !(1..=2880).contains(&t.timeout_minutes) {
        cx.err(
            "PW0211",
            &at(&["timeout_minutes"]),
            format!(
                "Glue job timeouts are 1–2,880 minutes, not {}",
                t.timeout_minutes
            ),
        );
    }
    if t.max_retries > 10 {
        cx.err(
            "PW0211",
            &at(&["max_retries"]),
            format!("Glue retries at most 10 times, not {}", t.max_retries),
        );
    }
}

fn cycles(cx: &mut Ctx<'_>, spec: &Spec) {
    // Depth-first search over `after` edges; report each cycle once, at its first member.
    let mut state: BTreeMap<&str, u8> = BTreeMap::new(); // 1 = on stack, 2 = done
    let mut reported: BTreeSet<String> = BTreeSet::new();
    fn visit<'a>(
        n: &'a str,
        spec: &'a Spec,
        state: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
        found: &mut Vec<Vec<&'a str>>,
    ) {
        state.insert(n, 1);
        stack.push(n);
        if let Some(t) = spec.transforms.get(n) {
            for a in &t.after {
                match state.get(a.as_str()) {
                    Some(1) => {
                        let start = stack.iter().position(|x| *x == a).unwrap_or(0);
                        found.push(stack[start..].to_vec());
                    }
                    Some(_) => {}
                    None if spec.transforms.contains_key(a) => visit(a, spec, state, stack, found),
                    None => {}
                }
            }
        }
        stack.pop();
        state.insert(n, 2);
    }
    let mut found = Vec::new();
    for n in spec.transforms.keys() {
        if !state.contains_key(n.as_str()) {
            visit(n, spec, &mut state, &mut Vec::new(), &mut found);
        }
    }
    for cycle in found {
        let mut key: Vec<&str> = cycle.clone();
        key.sort();
        if reported.insert(key.join(",")) {
            let first = cycle[0];
            let mut shown = cycle.clone();
            shown.push(first);
            cx.err(
                "PW0220",
                &p(&["transforms", first, "after"]),
                format!(
                    "transforms start each other in a cycle: {}",
                    shown.join(" → ")
                ),
            )
            .help("remove one `after` link");
        }
    }
}

fn catalog(cx: &mut Ctx<'_>, c: &Catalog) {
    if let Some(db) = &c.database
        && (db.is_empty()
            || db.len() > 255
            || !db
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
    {
        cx.err(
            "PW0207",
            &p(&["catalog", "database"]),
            format!("`{db}` is not a valid Glue database name"),
        )
        .help("Glue database names are lower-case letters, digits and `_` (Athena needs this)");
    }
    if let Some(s) = &c.crawler.schedule {
        glue_schedule(cx, &p(&["catalog", "crawler", "schedule"]), s);
    }
}

fn analytics(cx: &mut Ctx<'_>, a: &Analytics, datasets: &[&str], lenient: bool) {
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
        }
        for (j, d) in pr.datasets.iter().enumerate() {
            let mut dp = base.clone();
            dp.push(Seg::Key("datasets".into()));
            dp.push(Seg::Index(j));
            dataset_ref(cx, &dp, d, datasets, lenient, true);
        }
    }
}

fn dataset_ref(
    cx: &mut Ctx<'_>,
    at: &[Seg],
    d: &str,
    datasets: &[&str],
    lenient: bool,
    index_ok: bool,
) {
    if (index_ok && d == INDEX_DATASET) || datasets.contains(&d) || lenient {
        return;
    }
    let mut known: Vec<&str> = datasets.to_vec();
    if index_ok {
        known.push(INDEX_DATASET);
    }
    cx.undefined("PW0202", at, "dataset", d, &known);
}

pub fn valid_quicksight_principal(s: &str) -> bool {
    let short = |r: &str| {
        let parts: Vec<&str> = r.split('/').collect();
        parts.len() == 3
            && (parts[0] == "user" || parts[0] == "group")
            && parts[1..].iter().all(|x| !x.is_empty())
    };
    if let Some(rest) = s.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        parts.len() == 5 && parts[1] == "quicksight" && parts[3].len() == 12 && short(parts[4])
    } else {
        short(s)
    }
}

fn ml_access(
    cx: &mut Ctx<'_>,
    spec: &Spec,
    ml: &Ml,
    sources: &[&str],
    datasets: &[&str],
    lenient: bool,
) {
    for (i, s) in ml.sources.iter().enumerate() {
        if !sources.contains(&s.as_str()) {
            cx.undefined("PW0201", &pi(&["ml", "sources"], i), "source", s, sources);
        }
    }
    for (i, d) in ml.datasets.iter().enumerate() {
        dataset_ref(cx, &pi(&["ml", "datasets"], i), d, datasets, lenient, false);
    }
    for (i, l) in ml.index_lookups.iter().enumerate() {
        if !spec.index.lookups.contains(l) {
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

fn security(cx: &mut Ctx<'_>, spec: &Spec, sources: &[&str], datasets: &[&str], lenient: bool) {
    let s = &spec.security;
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
            if !sources.contains(&src.as_str()) {
                cx.undefined("PW0201", &sp, "source", src, sources);
            }
        }
        for (j, d) in r.datasets.iter().enumerate() {
            let mut dp = base.clone();
            dp.extend([Seg::Key("datasets".into()), Seg::Index(j)]);
            dataset_ref(cx, &dp, d, datasets, lenient, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_and_partitions() {
        for ok in [
            "eu-west-2",
            "us-gov-west-1",
            "cn-north-1",
            "ap-southeast-5",
            "us-iso-east-1",
        ] {
            assert!(valid_region(ok), "{ok}");
        }
        for bad in ["eu-west", "EU-WEST-2", "euwest2", "eu-west-2a", "x-y-1"] {
            assert!(!valid_region(bad), "{bad}");
        }
        assert_eq!(partition_of("cn-northwest-1"), "aws-cn");
        assert_eq!(partition_of("us-gov-east-1"), "aws-us-gov");
        assert_eq!(partition_of("eu-west-1"), "aws");
    }

    #[test]
    fn cidrs() {
        assert!(parse_cidr("10.40.0.0/16").is_ok());
        assert!(parse_cidr("172.20.0.0/20").is_ok());
        assert!(parse_cidr("8.8.0.0/16").is_err());
        assert!(parse_cidr("10.0.0.1/16").is_err());
        assert!(parse_cidr("10.0.0.0/8").is_err());
        assert!(parse_cidr("10.0.0/16").is_err());
    }

    #[test]
    fn emails_and_principals() {
        assert!(valid_email("oncall@example.com"));
        assert!(!valid_email("oncall"));
        assert!(!valid_email("a@b"));
        assert!(valid_quicksight_principal("group/default/analysts"));
        assert!(valid_quicksight_principal(
            "arn:aws:quicksight:eu-west-2:123456789012:user/default/alice"
        ));
        assert!(!valid_quicksight_principal("analysts"));
    }
}
