//! QuickSight analyses and dashboards from the plan's dashboards: one typed
//! `Definition` (data set identifiers, sheets with a grid of visuals, filter groups and
//! the date-range control) used by both the `AWS::QuickSight::Analysis` and the
//! `AWS::QuickSight::Dashboard` published from it, with the audience's view
//! permissions. Ids are derived from the spec's names, so they are the same on every
//! run. Part of the analytics stack (`analytics.rs`).

use serde_json::{Value, json};

use super::Ctx;
use super::analytics::data_set_lid;
use crate::emit::cfn::{Expr, Resource, Template, logical_id, obj};
use crate::plan::{DashboardPlan, FieldKind, FieldPlan, Plan, VisualPlan};
use crate::spec::model::VisualKind;

/// What a dashboard's viewers may do with it.
pub const DASHBOARD_ACTIONS: &[&str] = &[
    "quicksight:DescribeDashboard",
    "quicksight:ListDashboardVersions",
    "quicksight:QueryDashboard",
];

/// What a dashboard's viewers may do with the analysis it is published from: see it,
/// not change it (the spec is where it changes).
pub const ANALYSIS_ACTIONS: &[&str] = &["quicksight:DescribeAnalysis", "quicksight:QueryAnalysis"];

/// A QuickSight data set's ARN.
pub fn data_set_arn(p: &Plan, id: &str) -> String {
    format!(
        "arn:{}:quicksight:{}:{}:dataset/{id}",
        p.partition, p.region, p.account
    )
}

fn column(ds: &str, c: &str) -> Value {
    json!({"DataSetIdentifier": ds, "ColumnName": c})
}

fn dimension(ds: &str, f: &FieldPlan) -> Value {
    let col = column(ds, &f.column);
    match f.kind {
        FieldKind::Date => {
            let mut v = json!({"FieldId": f.id, "Column": col});
            if let Some(g) = f.granularity {
                v["DateGranularity"] = json!(g);
            }
            json!({ "DateDimensionField": v })
        }
        FieldKind::Numerical => {
            json!({"NumericalDimensionField": {"FieldId": f.id, "Column": col}})
        }
        FieldKind::Categorical => {
            json!({"CategoricalDimensionField": {"FieldId": f.id, "Column": col}})
        }
    }
}

fn measure(ds: &str, f: &FieldPlan) -> Value {
    let col = column(ds, &f.column);
    let agg = f.aggregation.unwrap_or("COUNT");
    match f.kind {
        FieldKind::Numerical => json!({"NumericalMeasureField": {
            "FieldId": f.id, "Column": col,
            "AggregationFunction": {"SimpleNumericalAggregation": agg},
        }}),
        FieldKind::Date => json!({"DateMeasureField": {
            "FieldId": f.id, "Column": col, "AggregationFunction": agg,
        }}),
        FieldKind::Categorical => json!({"CategoricalMeasureField": {
            "FieldId": f.id, "Column": col, "AggregationFunction": agg,
        }}),
    }
}

/// The sort option, if the visual has one.
fn sort(v: &VisualPlan) -> Option<Value> {
    let (field, desc) = v.sort.as_ref()?;
    let dir = if *desc { "DESC" } else { "ASC" };
    Some(json!([{"FieldSort": {"FieldId": field, "Direction": dir}}]))
}

/// One visual's `Visual` entry.
fn visual(v: &VisualPlan) -> Value {
    let ds = v.dataset.as_str();
    let dims: Vec<Value> = v.groups.iter().map(|f| dimension(ds, f)).collect();
    let values: Vec<Value> = v.measures.iter().map(|f| measure(ds, f)).collect();
    let first = |n: usize| dims.get(n).cloned().into_iter().collect::<Vec<_>>();
    let (key, mut config) = match v.kind {
        VisualKind::Kpi => ("KPIVisual", json!({"FieldWells": {"Values": values}})),
        VisualKind::Line => (
            "LineChartVisual",
            json!({"Type": "LINE", "FieldWells": {"LineChartAggregatedFieldWells": {
                "Category": first(0), "Colors": first(1), "Values": values}}}),
        ),
        VisualKind::Bar => (
            "BarChartVisual",
            json!({"Orientation": "VERTICAL", "FieldWells": {"BarChartAggregatedFieldWells": {
                "Category": first(0), "Colors": first(1), "Values": values}}}),
        ),
        VisualKind::Pie => (
            "PieChartVisual",
            json!({"FieldWells": {"PieChartAggregatedFieldWells": {
                "Category": first(0), "Values": values}}}),
        ),
        VisualKind::HeatMap => (
            "HeatMapVisual",
            json!({"FieldWells": {"HeatMapAggregatedFieldWells": {
                "Rows": first(0), "Columns": first(1), "Values": values}}}),
        ),
        VisualKind::Table => (
            "TableVisual",
            json!({"FieldWells": {"TableAggregatedFieldWells": {
                "GroupBy": dims, "Values": values}}}),
        ),
    };
    if let Some(s) = sort(v) {
        config["SortConfiguration"] = match v.kind {
            VisualKind::Table => json!({"RowSort": s}),
            VisualKind::HeatMap => json!({"HeatMapRowSort": s}),
            VisualKind::Kpi => Value::Null,
            _ => json!({"CategorySort": s}),
        };
        if config["SortConfiguration"].is_null() {
            config
                .as_object_mut()
                .expect("object")
                .remove("SortConfiguration");
        }
    }
    json!({ key: {
        "VisualId": v.id,
        "Title": {"Visibility": "VISIBLE", "FormatText": {"PlainText": v.title}},
        "ChartConfiguration": config,
    }})
}

/// The filter groups: one per filtered visual (its own filters, that visual only), and
/// the date range over every sheet and data set.
fn filter_groups(d: &DashboardPlan) -> Vec<Value> {
    let mut out = Vec::new();
    for sheet in &d.sheets {
        for v in sheet.visuals.iter().filter(|v| !v.filters.is_empty()) {
            let filters: Vec<Value> = v
                .filters
                .iter()
                .enumerate()
                .map(|(i, (c, values, exclude))| {
                    let op = if *exclude { "DOES_NOT_EQUAL" } else { "EQUALS" };
                    json!({"CategoryFilter": {
                        "FilterId": format!("{}-f{}", v.id, i + 1),
                        "Column": column(&v.dataset, c),
                        "Configuration": {"FilterListConfiguration": {
                            "MatchOperator": op, "CategoryValues": values}},
                    }})
                })
                .collect();
            out.push(json!({
                "FilterGroupId": format!("{}-filters", v.id),
                "CrossDataset": "SINGLE_DATASET",
                "Status": "ENABLED",
                "Filters": filters,
                "ScopeConfiguration": {"SelectedSheets": {"SheetVisualScopingConfigurations": [{
                    "SheetId": sheet.id, "Scope": "SELECTED_VISUALS", "VisualIds": [v.id]}]}},
            }));
        }
    }
    if let Some((col, days)) = &d.date_range {
        let ds = &d.data_sets[0].0;
        out.push(json!({
            "FilterGroupId": "date-range",
            "CrossDataset": "ALL_DATASETS",
            "Status": "ENABLED",
            "Filters": [{"TimeRangeFilter": {
                "FilterId": "date-range",
                "Column": column(ds, col),
                "NullOption": "NON_NULLS_ONLY",
                "IncludeMinimum": true,
                "IncludeMaximum": true,
                "TimeGranularity": "DAY",
                "RangeMinimumValue": {"RollingDate": {
                    "Expression": format!("addDateTime(-{days}, 'DD', truncDate('DD', now()))")}},
                "RangeMaximumValue": {"RollingDate": {"Expression": "now()"}},
            }}],
            "ScopeConfiguration": {"AllSheets": {}},
        }));
    }
    out
}

/// A sheet: its visuals on a grid (KPIs a third wide, the rest half), with the
/// date-range control on top when the dashboard has one.
fn sheet(d: &DashboardPlan, s: &crate::plan::SheetPlan) -> Value {
    let mut elements = Vec::new();
    let mut sheet = json!({"SheetId": s.id, "Name": s.title, "Title": s.title});
    if d.date_range.is_some() {
        let id = format!("{}-date-range", s.id);
        sheet["FilterControls"] = json!([{"DateTimePicker": {
            "FilterControlId": id, "SourceFilterId": "date-range",
            "Title": "Date range", "Type": "DATE_RANGE"}}]);
        elements.push(json!({"ElementId": id, "ElementType": "FILTER_CONTROL",
            "ColumnSpan": 12, "RowSpan": 2}));
    }
    for v in &s.visuals {
        let (w, h) = if v.kind == VisualKind::Kpi {
            (12, 6)
        } else {
            (18, 12)
        };
        elements.push(json!({"ElementId": v.id, "ElementType": "VISUAL",
            "ColumnSpan": w, "RowSpan": h}));
    }
    sheet["Visuals"] = Value::Array(s.visuals.iter().map(visual).collect());
    sheet["Layouts"] = json!([{"Configuration": {"GridLayout": {"Elements": elements}}}]);
    sheet
}

/// The definition an analysis and its dashboard share.
pub fn definition(p: &Plan, d: &DashboardPlan) -> Value {
    let declarations: Vec<Value> = d
        .data_sets
        .iter()
        .map(|(ident, id)| json!({"Identifier": ident, "DataSetArn": data_set_arn(p, id)}))
        .collect();
    let mut def = json!({
        "DataSetIdentifierDeclarations": declarations,
        "Sheets": d.sheets.iter().map(|s| sheet(d, s)).collect::<Vec<_>>(),
    });
    let groups = filter_groups(d);
    if !groups.is_empty() {
        def["FilterGroups"] = Value::Array(groups);
    }
    def
}

fn permissions(principals: &[String], actions: &[&str]) -> Expr {
    Expr::list(principals.iter().map(|pr| {
        obj([
            ("Principal", Expr::s(pr)),
            ("Actions", Expr::strs(actions.iter().copied())),
        ])
    }))
}

/// The analysis and the dashboard of `d`, after the data sets they read.
pub(super) fn dashboard(cx: &Ctx<'_>, t: &mut Template, d: &DashboardPlan) {
    let p = cx.plan;
    let def = definition(p, d);
    let depends: Vec<String> = d
        .data_sets
        .iter()
        .filter_map(|(_, id)| p.quicksight.iter().find(|q| &q.id == id))
        .map(data_set_lid)
        .collect();
    let mut analysis = Resource::new("AWS::QuickSight::Analysis")
        .p("AwsAccountId", Expr::s(&p.account))
        .p("AnalysisId", Expr::s(&d.id))
        .p("Name", Expr::s(&d.title))
        .p("Definition", Expr::Json(def.clone()))
        .p("Permissions", permissions(&d.principals, ANALYSIS_ACTIONS))
        .p("Tags", cx.tags());
    let mut dashboard = Resource::new("AWS::QuickSight::Dashboard")
        .p("AwsAccountId", Expr::s(&p.account))
        .p("DashboardId", Expr::s(&d.id))
        .p("Name", Expr::s(&d.title))
        .p("Definition", Expr::Json(def))
        .p("Permissions", permissions(&d.principals, DASHBOARD_ACTIONS))
        .p(
            "DashboardPublishOptions",
            Expr::Json(json!({"AdHocFilteringOption": {"AvailabilityStatus": "DISABLED"}})),
        )
        .p("Tags", cx.tags());
    for dep in &depends {
        analysis = analysis.depends(dep);
        dashboard = dashboard.depends(dep);
    }
    t.add(&logical_id(&[&d.name, "analysis"]), analysis);
    t.add(&logical_id(&[&d.name, "dashboard"]), dashboard);
}
