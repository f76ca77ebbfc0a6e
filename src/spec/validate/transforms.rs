//! Rules for one entry of `transforms`: its name and dataset, its inputs, its output
//! columns (typed against every input's event schema) and partitions, how it starts
//! (schedule, `after`, `on_ingest`) and its Glue job settings; and cycles among
//! `after` links. Not the per-environment overrides (`environments`).

use std::collections::{BTreeMap, BTreeSet};

use super::context::{Ctx, code_list, p, pi, under};
use super::formats::is_ident;
use super::limits::{glue_schedule, workers};
use super::{DERIVED_PARTITIONS, INDEX_DATASET};
use crate::spec::LoadedSchema;
use crate::spec::event_schema::{self, ColumnType};
use crate::spec::model::{Column, Transform};
use crate::spec::shape::did_you_mean;
use crate::spec::yaml::Seg;

/// The sources a transform reads whose event schemas are usable, by name.
type Inputs<'a> = Vec<(&'a str, &'a LoadedSchema)>;

/// The output columns seen so far, and those that hold a list or an object.
#[derive(Default)]
struct Columns<'t> {
    names: BTreeSet<&'t str>,
    complex: BTreeSet<&'t str>,
}

/// `seen_datasets` collects the dataset names earlier transforms write.
pub(super) fn transform<'a>(
    cx: &mut Ctx<'a>,
    name: &str,
    t: &'a Transform,
    seen_datasets: &mut BTreeSet<String>,
) {
    let base = p(&["transforms", name]);
    naming(cx, &base, name, t, seen_datasets);
    let inputs = inputs(cx, name, t);
    if let Some(q) = &t.sql {
        if !t.columns.is_empty() {
            cx.err(
                "PW0250",
                &under(&base, &["columns"]),
                format!("transform `{name}` has both `columns` and `sql`"),
            )
            .help("a transform is either a projection (`columns`) or a query (`sql`)");
            cx.at_key(&under(&base, &["columns"]));
        }
        if let Some(out) = super::sql::query(cx, name, t, q) {
            super::sql::partitions(cx, name, t, &out);
        }
    } else {
        if t.columns.is_empty() {
            cx.err(
                "PW0250",
                &base,
                format!("transform `{name}` has neither `columns` nor `sql`"),
            )
            .help("list its output `columns`, or give a Spark SQL query in `sql`");
            cx.at_key(&base);
        }
        let mut columns = Columns::default();
        for (i, c) in t.columns.iter().enumerate() {
            column(
                cx,
                &pi(&["transforms", name, "columns"], i),
                c,
                &inputs,
                &mut columns,
            );
        }
        partitions(cx, name, t, &inputs, &columns);
    }
    start(cx, &base, name, t);
    job(cx, &base, t);
}

/// The transform's name and the dataset it writes (unique across transforms).
fn naming(
    cx: &mut Ctx<'_>,
    base: &[Seg],
    name: &str,
    t: &Transform,
    seen_datasets: &mut BTreeSet<String>,
) {
    if !is_ident(name, 40) {
        cx.err("PW0207", base, format!("`{name}` is not a valid transform name"))
            .help("transform names are up to 40 lower-case letters, digits and `_`, starting with a letter");
        cx.at_key(base);
    }
    let dataset = t.dataset.clone().unwrap_or_else(|| name.to_owned());
    let dpath = if t.dataset.is_some() {
        under(base, &["dataset"])
    } else {
        base.to_vec()
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
        seen_datasets.insert(dataset);
    }
}

/// Reports inputs that name no source (nor, for a SQL transform, a dataset another
/// transform writes); returns the inputs whose schemas are usable.
fn inputs<'a>(cx: &mut Ctx<'a>, name: &str, t: &'a Transform) -> Inputs<'a> {
    let (spec, schemas, known) = (cx.spec, cx.schemas, cx.known.sources);
    let mut usable = Vec::new();
    for (i, input) in t.inputs.iter().enumerate() {
        let ip = pi(&["transforms", name, "inputs"], i);
        let writer = crate::spec::sql::writer_of(spec, input).map(|(w, _)| w);
        if t.sql.is_some() && !spec.sources.contains_key(input) && writer.is_some() {
            if writer == Some(name) || writer.is_some_and(|w| reads_from(spec, w, name)) {
                cx.err(
                    "PW0252",
                    &ip,
                    format!(
                        "transform `{name}` reads dataset `{input}`, which is computed from its own"
                    ),
                )
                .help("a query reads sources and the datasets of other transforms, without cycles");
            }
        } else if !spec.sources.contains_key(input) {
            if t.sql.is_some() {
                let mut names: Vec<&str> = known.to_vec();
                names.extend(cx.known.datasets);
                if !names.contains(&input.as_str()) && !cx.known.lenient {
                    cx.undefined("PW0201", &ip, "source or dataset", input, &names);
                }
            } else if !known.contains(&input.as_str()) {
                cx.undefined("PW0201", &ip, "source", input, known);
            }
        } else if let Some(s) = schemas.get(input)
            && event_schema::problems(&s.value).is_empty()
        {
            usable.push((input.as_str(), s));
        }
    }
    usable
}

/// Whether transform `from` reads, directly or through other datasets, the dataset
/// of transform `target`.
fn reads_from(spec: &crate::spec::Spec, from: &str, target: &str) -> bool {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut todo = vec![from];
    while let Some(t) = todo.pop() {
        if !seen.insert(t) {
            continue;
        }
        let Some(tr) = spec.transforms.get(t) else {
            continue;
        };
        for input in &tr.inputs {
            if let Some((w, _)) = crate::spec::sql::writer_of(spec, input) {
                if w == target {
                    return true;
                }
                todo.push(w);
            }
        }
    }
    false
}

/// One output column: its name, its declared type, and the field it reads in each input.
fn column<'t>(
    cx: &mut Ctx<'_>,
    at: &[Seg],
    c: &'t Column,
    inputs: &Inputs<'_>,
    seen: &mut Columns<'t>,
) {
    let cp = |k: &str| under(at, &[k]);
    if !is_ident(&c.name, 128) {
        cx.err(
            "PW0207",
            &cp("name"),
            format!("`{}` is not a valid column name", c.name),
        )
        .help("column names are lower-case letters, digits and `_`, starting with a letter");
    }
    if !seen.names.insert(c.name.as_str())
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
                cx.err("PW0217", &cp("type"), e).help(
                    "types: string, boolean, int, bigint, double, date, timestamp, decimal(P,S)",
                );
                return;
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
    if field_types(cx, &from_path, &from, override_ty.is_some(), inputs) {
        seen.complex.insert(c.name.as_str());
    }
}

/// Types field `from` in every input: it must exist in each, and, unless the column
/// declares its type, have the same type in each. True if it is a list or object.
fn field_types(
    cx: &mut Ctx<'_>,
    from_path: &[Seg],
    from: &str,
    declared: bool,
    inputs: &Inputs<'_>,
) -> bool {
    let mut complex = false;
    let mut first_ty: Option<(ColumnType, &str)> = None;
    for (src, schema) in inputs {
        let f = match event_schema::field(&schema.value, from) {
            Err(e) => {
                cx.err(
                    "PW0216",
                    from_path,
                    format!("`{from}` is not a field of source `{src}`: {e}"),
                );
                continue;
            }
            Ok(f) => f,
        };
        let ty = match event_schema::column_type(&schema.value, f.schema) {
            Err(e) if !declared => {
                cx.err(
                    "PW0217",
                    from_path,
                    format!("`{from}` of source `{src}`: {e}"),
                );
                continue;
            }
            Err(_) => continue,
            Ok(ty) => ty,
        };
        if matches!(ty, ColumnType::Array(_) | ColumnType::Struct(_)) {
            complex = true;
        }
        if declared {
            continue;
        }
        if let Some((t0, s0)) = &first_ty {
            if *t0 != ty {
                cx.err(
                    "PW0217",
                    from_path,
                    format!("`{from}` is {t0} in source `{s0}` but {ty} in `{src}`"),
                )
                .help("set the column's `type` to one both fit");
            }
        } else {
            first_ty = Some((ty, src));
        }
    }
    complex
}

/// `partition_by`: output columns of a scalar type, or derived partitions whose
/// inputs say where the event time is.
fn partitions(
    cx: &mut Ctx<'_>,
    name: &str,
    t: &Transform,
    inputs: &Inputs<'_>,
    cols: &Columns<'_>,
) {
    let spec = cx.spec;
    for (i, part) in t.partition_by.iter().enumerate() {
        let pp = pi(&["transforms", name, "partition_by"], i);
        if DERIVED_PARTITIONS.contains(&part.as_str()) {
            if part != "ingest_date" {
                for (src, _) in inputs {
                    if spec
                        .sources
                        .get(*src)
                        .is_some_and(|s| s.fields.time.is_none())
                    {
                        cx.err("PW0218", &pp, format!("`{part}` comes from the event time, but source `{src}` declares no `fields.time`"));
                    }
                }
            }
        } else if !cols.names.contains(part.as_str()) {
            let mut known: Vec<&str> = cols.names.iter().copied().collect();
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
        } else if cols.complex.contains(part.as_str()) {
            cx.err(
                "PW0218",
                &pp,
                format!("`{part}` is a list or object and cannot partition a dataset"),
            );
        }
    }
}

/// How the transform starts: exactly one of `schedule`, `after` and `on_ingest`.
fn start(cx: &mut Ctx<'_>, base: &[Seg], name: &str, t: &Transform) {
    let ways = usize::from(t.schedule.is_some())
        + usize::from(!t.after.is_empty())
        + usize::from(t.on_ingest);
    if ways > 1 {
        cx.err(
            "PW0219",
            base,
            format!("transform `{name}` has more than one of `schedule`, `after` and `on_ingest`"),
        )
        .help("give exactly one way to start it");
        cx.at_key(base);
    } else if ways == 0 {
        cx.warn(
            "PW0902",
            base,
            format!("transform `{name}` never starts by itself"),
        )
        .help("add `schedule: cron(...)`, `after: [other]` or `on_ingest: true`");
        cx.at_key(base);
    }
    if let Some(s) = &t.schedule {
        glue_schedule(cx, &under(base, &["schedule"]), s);
    }
    let (spec, known) = (cx.spec, cx.known.transforms);
    for (i, a) in t.after.iter().enumerate() {
        if !spec.transforms.contains_key(a) && !known.contains(&a.as_str()) {
            cx.undefined(
                "PW0204",
                &pi(&["transforms", name, "after"], i),
                "transform",
                a,
                known,
            );
        }
    }
}

/// The Glue job: workers, timeout, retries.
fn job(cx: &mut Ctx<'_>, base: &[Seg], t: &Transform) {
    workers(cx, &under(base, &["workers"]), &t.workers);
    if !(1..=2880).contains(&t.timeout_minutes) {
        cx.err(
            "PW0211",
            &under(base, &["timeout_minutes"]),
            format!(
                "Glue job timeouts are 1–2,880 minutes, not {}",
                t.timeout_minutes
            ),
        );
    }
    if t.max_retries > 10 {
        cx.err(
            "PW0211",
            &under(base, &["max_retries"]),
            format!("Glue retries at most 10 times, not {}", t.max_retries),
        );
    }
}

/// Cycles among `after` links, each reported once, at its first member.
pub(super) fn cycles(cx: &mut Ctx<'_>) {
    let spec = cx.spec;
    // Depth-first search over `after` edges.
    let mut state: BTreeMap<&str, u8> = BTreeMap::new(); // 1 = on stack, 2 = done
    let mut reported: BTreeSet<String> = BTreeSet::new();
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

fn visit<'a>(
    n: &'a str,
    spec: &'a crate::spec::Spec,
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
