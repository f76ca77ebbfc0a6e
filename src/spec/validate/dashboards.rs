//! Rules for `analytics.dashboards`: names and audiences, and every field of every
//! visual resolved against its data set's columns and types. A dashboard may use only
//! data sets each principal of its audience may read.
//!
//! Columns come from one function, [`dataset_columns`], so that a transform whose
//! output schema is inferred (not declared) only has to change it.

use std::collections::BTreeMap;

use super::INDEX_DATASET;
use super::context::{Ctx, code_list, p, pi, under};
use crate::spec::LoadedSchema;
use crate::spec::event_schema::ColumnType;
use crate::spec::model::{Dashboard, Measure, Spec, Visual, VisualKind};
use crate::spec::shape::did_you_mean;
use crate::spec::yaml::Seg;

/// A data set's columns by name; `None` when the type is unknown or is QuickSight's
/// JSON (the index export's `item`): such a column may only be counted.
pub type DatasetColumns = BTreeMap<String, Option<ColumnType>>;

/// The columns of a QuickSight data set as its `InputColumns` declare them: a SQL
/// transform's inferred output columns; a projection's output columns (type from the
/// column's override, else from its first input's event schema), then its partition
/// columns that are not output columns (strings); for `index`, the export's one `item`.
/// `None` if no transform writes it (or its query does not resolve).
pub fn dataset_columns(
    spec: &Spec,
    schemas: &BTreeMap<String, LoadedSchema>,
    dataset: &str,
) -> Option<DatasetColumns> {
    if dataset == INDEX_DATASET {
        return Some(BTreeMap::from([("item".to_owned(), None)]));
    }
    let (name, t) = spec
        .transforms
        .iter()
        .find(|(n, t)| t.dataset.as_deref().unwrap_or(n) == dataset)?;
    if t.sql.is_some() {
        // A SQL transform's columns are its query's, inferred (its partitions among them);
        // `None` while the query has errors, which check reports at the query.
        let out = crate::spec::sql::output_schema(spec, schemas, name)?;
        return Some(out.into_iter().map(|(c, ty)| (c, Some(ty))).collect());
    }
    let mut cols = DatasetColumns::new();
    for c in &t.columns {
        cols.insert(
            c.name.clone(),
            crate::spec::sql::projection_type(schemas, t, c),
        );
    }
    for part in &t.partition_by {
        cols.entry(part.clone()).or_insert(Some(ColumnType::String));
    }
    Some(cols)
}

fn numeric(t: &ColumnType) -> bool {
    matches!(
        t,
        ColumnType::Int | ColumnType::BigInt | ColumnType::Double | ColumnType::Decimal(..)
    )
}

fn temporal(t: &ColumnType) -> bool {
    matches!(t, ColumnType::Date | ColumnType::Timestamp)
}

fn complex(t: &ColumnType) -> bool {
    matches!(t, ColumnType::Array(_) | ColumnType::Struct(_))
}

pub(super) fn dashboards(cx: &mut Ctx<'_>) {
    let Some(a) = &cx.spec.analytics else { return };
    for (name, d) in &a.dashboards {
        dashboard(cx, name, d);
    }
}

fn dashboard(cx: &mut Ctx<'_>, name: &str, d: &Dashboard) {
    let base = p(&["analytics", "dashboards", name]);
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.as_bytes()[0].is_ascii_lowercase()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !valid {
        cx.err(
            "PW0265",
            &base,
            format!("`{name}` is not a valid dashboard name"),
        )
        .help("up to 64 lower-case letters, digits, `_` and `-`, starting with a letter");
        cx.at_key(&base);
    }
    let audience = audience(cx, &base, d);
    let mut used: Vec<(&str, Vec<Seg>)> = Vec::new();
    for (s, sheet) in d.sheets.iter().enumerate() {
        for (v, visual) in sheet.visuals.iter().enumerate() {
            let mut at = under(
                &pi(&["analytics", "dashboards", name, "sheets"], s),
                &["visuals"],
            );
            at.push(Seg::Index(v));
            if !used.iter().any(|(u, _)| *u == visual.dataset) {
                used.push((&visual.dataset, under(&at, &["dataset"])));
            }
            self::visual(cx, &at, visual, &audience);
        }
    }
    if let Some(r) = &d.date_range {
        date_range(
            cx,
            &under(&base, &["date_range", "column"]),
            &r.column,
            &used,
        );
    }
}

/// The audience's principals that are declared in `quicksight.principals`, each with
/// the data sets it may read.
fn audience(cx: &mut Ctx<'_>, base: &[Seg], d: &Dashboard) -> Vec<(String, Vec<String>)> {
    let declared: Vec<(String, Vec<String>)> = cx
        .spec
        .analytics
        .as_ref()
        .and_then(|a| a.quicksight.as_ref())
        .map(|qs| {
            qs.principals
                .iter()
                .map(|p| (p.principal.clone(), p.datasets.clone()))
                .collect()
        })
        .unwrap_or_default();
    let names: Vec<&str> = declared.iter().map(|(n, _)| n.as_str()).collect();
    let mut out = Vec::new();
    for (i, pr) in d.audience.iter().enumerate() {
        match declared.iter().find(|(n, _)| n == pr) {
            Some(found) => out.push(found.clone()),
            None => {
                let help = match did_you_mean(pr, names.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None if names.is_empty() => {
                        "declare it in `analytics.quicksight.principals` with the data sets it may read".into()
                    }
                    None => format!("declared principals: {}", code_list(&names)),
                };
                let mut at = under(base, &["audience"]);
                at.push(Seg::Index(i));
                cx.err(
                    "PW0265",
                    &at,
                    format!(
                        "audience `{pr}` is not a principal of `analytics.quicksight.principals`"
                    ),
                )
                .help(help);
            }
        }
    }
    out
}

/// One visual: its data set (defined, and readable by every principal of the
/// audience), its fields (columns of that data set, of a type that suits their use)
/// and its shape.
fn visual(cx: &mut Ctx<'_>, at: &[Seg], v: &Visual, audience: &[(String, Vec<String>)]) {
    let dp = under(at, &["dataset"]);
    cx.dataset_ref(&dp, &v.dataset, true);
    shape(cx, at, v);
    let Some(cols) = dataset_columns(cx.spec, cx.schemas, &v.dataset) else {
        return;
    };
    for (pr, readable) in audience {
        if !readable.contains(&v.dataset) {
            cx.err(
                "PW0266",
                &dp,
                format!(
                    "audience `{pr}` may not read data set `{}`",
                    v.dataset
                ),
            )
            .label("not readable by the audience")
            .help(format!(
                "add `{}` to the datasets of `{pr}` in `analytics.quicksight.principals`, or use a data set it reads: {}",
                v.dataset,
                code_list(readable)
            ));
        }
    }
    for (i, m) in v.measures.iter().enumerate() {
        let (agg, col) = m.parts();
        let mut mp = under(at, &["measures"]);
        mp.push(Seg::Index(i));
        mp.push(Seg::Key(agg.into()));
        let Some(ty) = column(cx, &mp, col, &v.dataset, &cols) else {
            continue;
        };
        let ok = match m {
            Measure::Sum(_) | Measure::Avg(_) => ty.as_ref().is_some_and(numeric),
            Measure::Min(_) | Measure::Max(_) => {
                ty.as_ref().is_some_and(|t| numeric(t) || temporal(t))
            }
            Measure::Count(_) | Measure::DistinctCount(_) => true,
        };
        if !ok {
            cx.err("PW0268", &mp, format!("`{agg}` does not suit `{col}`, which is {}", type_name(ty.as_ref())))
                .help(match agg {
                    "sum" | "avg" => "`sum` and `avg` need a numeric column; `count` and `distinct_count` take any",
                    _ => "`min` and `max` need a numeric, date or timestamp column; `count` and `distinct_count` take any",
                });
        }
    }
    for (i, d) in v.dimensions.iter().enumerate() {
        let mut dp = under(at, &["dimensions"]);
        dp.push(Seg::Index(i));
        if let Some(ty) = column(cx, &dp, d, &v.dataset, &cols)
            && ty.as_ref().is_none_or(complex)
        {
            cx.err(
                "PW0268",
                &dp,
                format!(
                    "`{d}` is {} and cannot be grouped by",
                    type_name(ty.as_ref())
                ),
            );
        }
    }
    if let Some(t) = &v.time {
        time_column(cx, &under(at, &["time"]), t, &v.dataset, &cols);
    }
    for (i, f) in v.filters.iter().enumerate() {
        let mut fp = under(at, &["filters"]);
        fp.push(Seg::Index(i));
        fp.push(Seg::Key("column".into()));
        if let Some(ty) = column(cx, &fp, &f.column, &v.dataset, &cols)
            && !matches!(ty, Some(ColumnType::String | ColumnType::Boolean))
        {
            cx.err(
                "PW0268",
                &fp,
                format!(
                    "`{}` is {}; filters keep rows by text values",
                    f.column,
                    type_name(ty.as_ref())
                ),
            )
            .help("filter on a string or boolean column; the date-range control filters by time");
        }
    }
    if let Some(s) = &v.sort {
        let fields: Vec<&str> = v
            .dimensions
            .iter()
            .map(String::as_str)
            .chain(v.time.as_deref())
            .chain(v.measures.iter().map(|m| m.parts().1))
            .collect();
        if !fields.contains(&s.by.as_str()) {
            let sp = under(at, &["sort", "by"]);
            let help = match did_you_mean(&s.by, fields.iter().copied()) {
                Some(x) => format!("did you mean `{x}`?"),
                None => format!("the visual's fields: {}", code_list(&fields)),
            };
            cx.err(
                "PW0269",
                &sp,
                format!(
                    "the visual does not show `{}`, so it cannot sort by it",
                    s.by
                ),
            )
            .help(help);
        }
    }
}

fn type_name(t: Option<&ColumnType>) -> String {
    match t {
        Some(t) => format!("`{t}`"),
        None => "JSON or of unknown type".into(),
    }
}

/// A column of the data set: its type (`Some(None)` when unknown), or `None` after
/// reporting that it does not exist.
fn column(
    cx: &mut Ctx<'_>,
    at: &[Seg],
    name: &str,
    dataset: &str,
    cols: &DatasetColumns,
) -> Option<Option<ColumnType>> {
    if let Some(ty) = cols.get(name) {
        return Some(ty.clone());
    }
    let names: Vec<&str> = cols.keys().map(String::as_str).collect();
    let help = match did_you_mean(name, names.iter().copied()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("its columns: {}", code_list(&names)),
    };
    cx.err(
        "PW0267",
        at,
        format!("data set `{dataset}` has no column `{name}`"),
    )
    .label("unknown column")
    .help(help);
    None
}

/// A column used as time: it exists and is a date or timestamp.
fn time_column(cx: &mut Ctx<'_>, at: &[Seg], name: &str, dataset: &str, cols: &DatasetColumns) {
    if let Some(ty) = column(cx, at, name, dataset, cols)
        && !ty.as_ref().is_some_and(temporal)
    {
        cx.err(
            "PW0268",
            at,
            format!("`{name}` of `{dataset}` is {}, not a date or timestamp", type_name(ty.as_ref())),
        )
        .help("time needs a `date` or `timestamp` column (a `date-time` or `date` string in the event schema)");
    }
}

/// The date-range control's column: a date or timestamp of every data set used.
fn date_range(cx: &mut Ctx<'_>, at: &[Seg], name: &str, used: &[(&str, Vec<Seg>)]) {
    for (dataset, _) in used {
        if let Some(cols) = dataset_columns(cx.spec, cx.schemas, dataset) {
            time_column(cx, at, name, dataset, &cols);
        }
    }
}

/// The visual's fields fit its type.
fn shape(cx: &mut Ctx<'_>, at: &[Seg], v: &Visual) {
    let groups = v.dimensions.len() + usize::from(v.time.is_some());
    let measures = v.measures.len();
    let wrong = match v.kind {
        VisualKind::Kpi if measures != 1 || groups != 0 => {
            Some("a kpi shows exactly one measure and groups by nothing")
        }
        VisualKind::Line if v.time.is_none() || measures == 0 || v.dimensions.len() > 1 => Some(
            "a line needs `time`, at least one measure, and at most one dimension (one line each)",
        ),
        VisualKind::Bar if measures == 0 || !(1..=2).contains(&groups) => {
            Some("a bar chart needs at least one measure by one or two of `dimensions` and `time`")
        }
        VisualKind::Pie if measures != 1 || groups != 1 => {
            Some("a pie shows one measure by one dimension (or `time`)")
        }
        VisualKind::HeatMap if measures != 1 || groups != 2 => {
            Some("a heat map shows one measure by two of `dimensions` and `time`")
        }
        VisualKind::Table if measures + groups == 0 => Some("a table needs at least one field"),
        _ => None,
    };
    if let Some(w) = wrong {
        cx.err(
            "PW0269",
            &under(at, &["type"]),
            format!(
                "this {} visual has {measures} measure(s) and {groups} field(s) to group by",
                v.kind.as_str()
            ),
        )
        .help(w);
    }
}
