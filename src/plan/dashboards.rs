//! Lowering of `analytics.dashboards`: each dashboard's data sets (those of its first
//! audience principal, which check proved may read every one, so the dashboard reads
//! through that audience's data source and role), its viewers, and its sheets and
//! visuals with every field typed as QuickSight wants it (numerical, categorical or
//! date), from the one function that gives a data set's columns.

use crate::spec::event_schema::ColumnType;
use crate::spec::model::{Dashboard, Order, Visual, VisualKind};
use crate::spec::validate::dataset_columns;

use super::cx::LowerCx;
use super::{DashboardPlan, FieldKind, FieldPlan, QuickSightAudience, SheetPlan, VisualPlan};

impl LowerCx<'_> {
    /// The dashboards; `audiences` are the plan's QuickSight audiences.
    pub(super) fn dashboards(&mut self, audiences: &[QuickSightAudience]) -> Vec<DashboardPlan> {
        let Some(a) = self.spec.analytics.as_ref() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (name, d) in &a.dashboards {
            let principals: Vec<String> =
                d.audience.iter().map(|p| self.quicksight_arn(p)).collect();
            let Some(owner) = audiences
                .iter()
                .find(|x| Some(&x.principal) == principals.first())
            else {
                continue;
            };
            let origin = self.origin(&["analytics", "dashboards", name]);
            out.push(self.dashboard(name, d, owner, principals, origin));
        }
        out
    }

    fn dashboard(
        &self,
        name: &str,
        d: &Dashboard,
        owner: &QuickSightAudience,
        principals: Vec<String>,
        origin: super::Origin,
    ) -> DashboardPlan {
        let mut data_sets: Vec<(String, String)> = Vec::new();
        let mut sheets = Vec::new();
        for (s, sheet) in d.sheets.iter().enumerate() {
            let mut visuals = Vec::new();
            for (v, visual) in sheet.visuals.iter().enumerate() {
                if !data_sets.iter().any(|(i, _)| *i == visual.dataset) {
                    data_sets.push((
                        visual.dataset.clone(),
                        format!("{}-{}-{}", self.base, owner.slug, visual.dataset),
                    ));
                }
                visuals.push(self.visual(&format!("s{}v{}", s + 1, v + 1), visual));
            }
            sheets.push(SheetPlan {
                id: format!("{name}-sheet{}", s + 1),
                title: sheet.title.clone(),
                visuals,
            });
        }
        DashboardPlan {
            name: name.to_owned(),
            id: format!("{}-{name}", self.base),
            title: d.title.clone().unwrap_or_else(|| name.to_owned()),
            principals,
            audience: owner.slug.clone(),
            data_sets,
            date_range: d
                .date_range
                .as_ref()
                .map(|r| (r.column.clone(), r.last_days)),
            sheets,
            origin,
        }
    }

    fn visual(&self, id: &str, v: &Visual) -> VisualPlan {
        let cols = dataset_columns(self.spec, &self.v.schemas, &v.dataset).unwrap_or_default();
        let kind_of = |c: &str| match cols.get(c).cloned().flatten() {
            Some(
                ColumnType::Int | ColumnType::BigInt | ColumnType::Double | ColumnType::Decimal(..),
            ) => FieldKind::Numerical,
            Some(ColumnType::Date | ColumnType::Timestamp) => FieldKind::Date,
            _ => FieldKind::Categorical,
        };
        let mut groups = Vec::new();
        if let Some(t) = &v.time {
            groups.push(FieldPlan {
                id: format!("{id}.time"),
                column: t.clone(),
                kind: FieldKind::Date,
                aggregation: None,
                granularity: Some(v.granularity.quicksight()),
            });
        }
        for (i, d) in v.dimensions.iter().enumerate() {
            groups.push(FieldPlan {
                id: format!("{id}.d{}", i + 1),
                column: d.clone(),
                kind: kind_of(d),
                aggregation: None,
                granularity: None,
            });
        }
        if v.kind == VisualKind::HeatMap || v.kind == VisualKind::Bar {
            // The time axis goes last for these: rows (or bars) by dimension first.
            groups.rotate_left(usize::from(v.time.is_some() && !v.dimensions.is_empty()));
        }
        let measures: Vec<FieldPlan> = v
            .measures
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let (agg, col) = m.parts();
                let kind = kind_of(col);
                FieldPlan {
                    id: format!("{id}.m{}", i + 1),
                    column: col.to_owned(),
                    kind,
                    aggregation: Some(qs_aggregation(agg)),
                    granularity: None,
                }
            })
            .collect();
        let sort = v.sort.as_ref().and_then(|s| {
            let field = groups.iter().chain(&measures).find(|f| f.column == s.by)?;
            Some((field.id.clone(), s.order == Order::Desc))
        });
        VisualPlan {
            id: id.to_owned(),
            kind: v.kind,
            title: v
                .title
                .clone()
                .unwrap_or_else(|| default_title(v).chars().take(512).collect()),
            dataset: v.dataset.clone(),
            groups,
            measures,
            sort,
            filters: v
                .filters
                .iter()
                .map(|f| (f.column.clone(), f.values.clone(), f.exclude))
                .collect(),
        }
    }
}

fn qs_aggregation(agg: &str) -> &'static str {
    match agg {
        "sum" => "SUM",
        "avg" => "AVERAGE",
        "min" => "MIN",
        "max" => "MAX",
        "count" => "COUNT",
        _ => "DISTINCT_COUNT",
    }
}

/// `sum of total_amount by store_id`, `count of scan_id by port and occurred_at (hour)`.
fn default_title(v: &Visual) -> String {
    let measures: Vec<String> = v
        .measures
        .iter()
        .map(|m| {
            let (a, c) = m.parts();
            format!("{} of {c}", a.replace('_', " "))
        })
        .collect();
    let mut by: Vec<String> = v.dimensions.clone();
    if let Some(t) = &v.time {
        by.push(format!(
            "{t} ({})",
            v.granularity.quicksight().to_ascii_lowercase()
        ));
    }
    let m = measures.join(", ");
    if by.is_empty() {
        m
    } else if m.is_empty() {
        by.join(", ")
    } else {
        format!("{m} by {}", by.join(" and "))
    }
}
