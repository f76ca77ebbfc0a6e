//! Dashboards as code (`analytics.dashboards`): per dashboard its audience, sheets and
//! visuals over the QuickSight data sets. These types only describe shape;
//! `validate::dashboards` resolves every field against the data set's columns.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Dashboards by name (lower-case letters, digits, `_` and `-`).
pub type Dashboards = BTreeMap<String, Dashboard>;

/// One QuickSight dashboard (and the analysis it is published from).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    /// Title shown in QuickSight. Default: the dashboard's name.
    #[serde(default)]
    #[schemars(length(min = 1, max = 2048))]
    pub title: Option<String>,
    /// Who may view it: QuickSight principals as in `analytics.quicksight.principals`
    /// (each must be listed there, and may read every data set the dashboard uses).
    #[schemars(length(min = 1, max = 64))]
    pub audience: Vec<String>,
    /// A date-range control filtering every visual of the dashboard on one date or
    /// timestamp column (each data set the dashboard uses must have it).
    #[serde(default)]
    pub date_range: Option<DateRange>,
    /// Sheets (tabs), in order (at most 20, QuickSight's limit).
    #[schemars(length(min = 1, max = 20))]
    pub sheets: Vec<Sheet>,
}

/// A date-range control.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DateRange {
    /// The date or timestamp column it filters on.
    pub column: String,
    /// Days before today the range starts at when the dashboard opens. Default: 30.
    #[serde(default = "default_last_days")]
    #[schemars(range(min = 1, max = 3660))]
    pub last_days: u32,
}

fn default_last_days() -> u32 {
    30
}

/// A sheet: a titled page of visuals.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sheet {
    #[schemars(length(min = 1, max = 1024))]
    pub title: String,
    /// At most 50 (QuickSight's limit per sheet).
    #[schemars(length(min = 1, max = 50))]
    pub visuals: Vec<Visual>,
}

/// One visual over one data set.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Visual {
    /// `kpi` (one measure), `line` (measures over `time`), `bar` and `pie` (measures by
    /// one dimension, or by `time`), `table` (dimensions and measures), `heat_map` (one
    /// measure by two dimensions, or a dimension and `time`).
    #[serde(rename = "type")]
    pub kind: VisualKind,
    /// Title shown above the visual. Default: derived from its fields.
    #[serde(default)]
    #[schemars(length(min = 1, max = 512))]
    pub title: Option<String>,
    /// The data set: a transform's dataset, or `index`.
    pub dataset: String,
    /// Aggregated values, such as `{ sum: total_amount }` or `{ count: sale_id }`.
    #[serde(default)]
    pub measures: Vec<Measure>,
    /// Columns to group by.
    #[serde(default)]
    pub dimensions: Vec<String>,
    /// A date or timestamp column to group by, at `granularity`.
    #[serde(default)]
    pub time: Option<String>,
    /// The period `time` is grouped by. Default: `day`.
    #[serde(default)]
    pub granularity: Granularity,
    /// Order of the rows or bars. Default: QuickSight's (by the first field).
    #[serde(default)]
    pub sort: Option<Sort>,
    /// Rows the visual keeps.
    #[serde(default)]
    pub filters: Vec<Filter>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VisualKind {
    Kpi,
    Line,
    Bar,
    Table,
    Pie,
    HeatMap,
}

impl VisualKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VisualKind::Kpi => "kpi",
            VisualKind::Line => "line",
            VisualKind::Bar => "bar",
            VisualKind::Table => "table",
            VisualKind::Pie => "pie",
            VisualKind::HeatMap => "heat_map",
        }
    }
}

/// An aggregation of one column: `{ sum: total_amount }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Measure {
    /// Sum of a numeric column.
    Sum(String),
    /// Average of a numeric column.
    Avg(String),
    /// Smallest value of a numeric, date or timestamp column.
    Min(String),
    /// Largest value of a numeric, date or timestamp column.
    Max(String),
    /// Number of rows with a value in the column (any type).
    Count(String),
    /// Number of distinct values in the column (any type).
    DistinctCount(String),
}

impl Measure {
    /// The aggregation's name and its column.
    pub fn parts(&self) -> (&'static str, &str) {
        match self {
            Measure::Sum(c) => ("sum", c),
            Measure::Avg(c) => ("avg", c),
            Measure::Min(c) => ("min", c),
            Measure::Max(c) => ("max", c),
            Measure::Count(c) => ("count", c),
            Measure::DistinctCount(c) => ("distinct_count", c),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Minute,
    Hour,
    #[default]
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Granularity {
    /// QuickSight's `DateGranularity` value.
    pub fn quicksight(self) -> &'static str {
        match self {
            Granularity::Minute => "MINUTE",
            Granularity::Hour => "HOUR",
            Granularity::Day => "DAY",
            Granularity::Week => "WEEK",
            Granularity::Month => "MONTH",
            Granularity::Quarter => "QUARTER",
            Granularity::Year => "YEAR",
        }
    }
}

/// Sort by a dimension, `time`, or a measure's column.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sort {
    /// A column the visual groups by or measures.
    pub by: String,
    /// Default: `desc`.
    #[serde(default)]
    pub order: Order,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    Asc,
    #[default]
    Desc,
}

/// Keep the rows whose column has one of `values` (or, with `exclude`, none of them).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    pub column: String,
    #[schemars(length(min = 1))]
    pub values: Vec<String>,
    /// Drop the rows with these values instead. Default: false.
    #[serde(default)]
    pub exclude: bool,
}
