//! Rules for one entry of `sources`: its name and route, the requests it accepts
//! (auth, quota, throttle, body limits), and its event schema with the fields the
//! envelope reads from it. Not the per-environment overrides (`environments`).

use std::collections::BTreeMap;

use super::context::{Ctx, p, under};
use super::formats::is_ident;
use super::limits::throttle;
use crate::diag::Diagnostic;
use crate::spec::event_schema::{self, ColumnType, Version};
use crate::spec::model::{Auth, Source};
use crate::spec::yaml::{Doc, MarkedKind, Seg};
use crate::spec::{LoadedSchema, fmt_path};

/// `routes` maps each route seen so far to the source that declared it.
pub(super) fn source(
    cx: &mut Ctx<'_>,
    name: &str,
    src: &Source,
    routes: &mut BTreeMap<String, String>,
) {
    let base = p(&["sources", name]);
    if !is_ident(name, 32) {
        cx.err(
            "PW0207",
            &base,
            format!("`{name}` is not a valid source name"),
        )
        .help(
            "source names are up to 32 lower-case letters, digits and `_`, starting with a letter",
        );
        cx.at_key(&base);
    }
    route(cx, &base, name, &src.route, routes);
    requests(cx, &base, name, src);
    if Version::parse(&src.schema.version).is_none() {
        cx.err(
            "PW0215",
            &under(&base, &["schema", "version"]),
            format!(
                "`{}` is not a `MAJOR.MINOR.PATCH` version",
                src.schema.version
            ),
        )
        .help("for example `1.0.0`");
    }
    let Some(schema) = cx.schemas.get(name) else {
        return;
    };
    if schema_problems(cx, name, schema) {
        return;
    }
    envelope_fields(cx, &base, src, schema);
}

fn route(
    cx: &mut Ctx<'_>,
    base: &[Seg],
    name: &str,
    route: &str,
    routes: &mut BTreeMap<String, String>,
) {
    let route_ok = route.starts_with('/')
        && route.len() > 1
        && route.trim_end_matches('/').split('/').skip(1).all(|seg| {
            !seg.is_empty()
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        });
    let at = under(base, &["route"]);
    if !route_ok {
        cx.err("PW0206", &at, format!("`{route}` is not a valid route"))
            .help("routes look like `/v1/pos/sales`: segments of letters, digits, `-`, `_` and `.`, no `{parameters}`");
    } else {
        let norm = route.trim_end_matches('/').to_owned();
        if let Some(first) = routes.get(&norm) {
            let first = first.clone();
            cx.err(
                "PW0205",
                &at,
                format!("route `{route}` is already used by source `{first}`"),
            )
            .note(format!(
                "each source needs its own route; `{first}` declares it first"
            ));
        } else {
            routes.insert(norm, name.to_owned());
        }
    }
}

/// Who may call the route and how much: throttle, quota, auth, request limits.
fn requests(cx: &mut Ctx<'_>, base: &[Seg], name: &str, src: &Source) {
    throttle(cx, &under(base, &["throttle"]), &src.throttle);
    if src.quota.is_some() && !src.auth.keyed() {
        cx.err(
            "PW0222",
            &under(base, &["quota"]),
            format!("source `{name}` does not use API keys, so it has no usage plan for a quota"),
        )
        .help("remove `quota`, or use `auth: iam_and_api_key`");
    }
    if src.auth == Auth::None {
        cx.warn(
            "PW0900",
            &under(base, &["auth"]),
            format!("source `{name}` accepts unauthenticated requests"),
        )
        .help("use `auth: iam_and_api_key` (the default) or `auth: iam`");
    }
    if !(1024..=5 * 1024 * 1024).contains(&src.limits.max_body_bytes) {
        cx.err(
            "PW0211",
            &under(base, &["limits", "max_body_bytes"]),
            format!("{} bytes is outside 1 KiB–5 MiB", src.limits.max_body_bytes),
        )
        .help("Lambda accepts at most 6 MB per synchronous request, envelope included");
    }
    if !(1..=100_000).contains(&src.limits.max_events) {
        cx.err(
            "PW0211",
            &under(base, &["limits", "max_events"]),
            format!(
                "{} events per request is outside 1–100,000",
                src.limits.max_events
            ),
        );
    }
}

/// Reports what is wrong with the event schema itself, at its place in the schema
/// file; true if anything is.
fn schema_problems(cx: &mut Ctx<'_>, name: &str, schema: &LoadedSchema) -> bool {
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
    !problems.is_empty()
}

/// JSON pointers do not say whether `3` is a key or an index; ask the document.
fn fix_indices(doc: &Doc, path: Vec<Seg>) -> Vec<Seg> {
    let mut out: Vec<Seg> = Vec::new();
    for seg in path {
        let next = match &seg {
            Seg::Key(k) => match (k.parse::<usize>(), doc.lookup(&out).map(|(m, _)| &m.kind)) {
                (Ok(i), Some(MarkedKind::Seq(_))) => Seg::Index(i),
                _ => seg,
            },
            Seg::Index(_) => seg,
        };
        out.push(next);
    }
    out
}

/// `fields.id`, `fields.time` and `fields.device` name schema fields of a usable type.
fn envelope_fields(cx: &mut Ctx<'_>, base: &[Seg], src: &Source, schema: &LoadedSchema) {
    for (key, val, want) in [
        ("id", &src.fields.id, "string"),
        ("time", &src.fields.time, "date-time"),
        ("device", &src.fields.device, "string"),
    ] {
        let Some(dotted) = val else { continue };
        let fp = under(base, &["fields", key]);
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

/// Warns about sources no transform reads (unless a broken transform might).
pub(super) fn unread(cx: &mut Ctx<'_>) {
    let spec = cx.spec;
    for name in spec.sources.keys() {
        let used = spec.transforms.values().any(|t| t.inputs.contains(name));
        if !used && !spec.transforms.is_empty() && !cx.known.lenient {
            cx.warn("PW0903", &p(&["sources", name]), format!("no transform reads source `{name}`"))
                .help("its raw events are kept (for compliance and ML) but never curated; add it to a transform's `inputs` if it should be");
            cx.at_key(&p(&["sources", name]));
        }
    }
}
