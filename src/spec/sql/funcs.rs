//! The functions a SQL transform may call, with Spark's result types: aggregates,
//! window functions, and the scalar (date/time, string, numeric, null-handling)
//! functions of Glue's Spark. A function not listed is an error with a suggestion.

use sqlparser::ast::{
    Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, Spanned, WindowType,
};

use super::SqlError;
use super::expr::{Mode, Ty, Typer, decimal, fname};
use crate::spec::event_schema::ColumnType as C;
use crate::spec::shape::did_you_mean;

const AGGREGATES: &[&str] = &[
    "count",
    "sum",
    "avg",
    "mean",
    "min",
    "max",
    "count_if",
    "approx_count_distinct",
    "stddev",
    "stddev_samp",
    "stddev_pop",
    "variance",
    "var_samp",
    "var_pop",
    "first",
    "last",
    "any_value",
    "collect_list",
    "collect_set",
    "bool_and",
    "bool_or",
    "max_by",
    "min_by",
];
const WINDOW_ONLY: &[&str] = &[
    "row_number",
    "rank",
    "dense_rank",
    "percent_rank",
    "cume_dist",
    "ntile",
    "lag",
    "lead",
    "first_value",
    "last_value",
    "nth_value",
];
const SCALARS: &[&str] = &[
    "date_trunc",
    "trunc",
    "to_date",
    "to_timestamp",
    "hour",
    "minute",
    "second",
    "year",
    "month",
    "day",
    "dayofmonth",
    "dayofweek",
    "dayofyear",
    "weekofyear",
    "quarter",
    "date_format",
    "date_add",
    "date_sub",
    "datediff",
    "months_between",
    "add_months",
    "last_day",
    "current_date",
    "current_timestamp",
    "from_utc_timestamp",
    "to_utc_timestamp",
    "unix_timestamp",
    "from_unixtime",
    "make_date",
    "lower",
    "upper",
    "trim",
    "ltrim",
    "rtrim",
    "concat",
    "concat_ws",
    "substring",
    "substr",
    "length",
    "replace",
    "regexp_replace",
    "regexp_extract",
    "split_part",
    "lpad",
    "rpad",
    "initcap",
    "coalesce",
    "nullif",
    "ifnull",
    "nvl",
    "if",
    "greatest",
    "least",
    "round",
    "bround",
    "abs",
    "floor",
    "ceil",
    "ceiling",
    "sqrt",
    "ln",
    "log",
    "log10",
    "exp",
    "pow",
    "power",
    "sign",
    "signum",
    "mod",
    "pmod",
    "size",
    "array_contains",
];

pub(crate) fn is_aggregate(name: &str) -> bool {
    AGGREGATES.contains(&name)
}

/// The arguments of a call; `None` stands for `*`.
pub(crate) fn args(f: &Function) -> Vec<Option<&Expr>> {
    match &f.args {
        FunctionArguments::List(l) => l
            .args
            .iter()
            .map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

impl Typer<'_, '_, '_> {
    /// A function call: aggregates, window functions and scalars.
    pub(crate) fn function(&mut self, e: &Expr, f: &Function) -> Option<Ty> {
        let name = fname(f);
        let agg = is_aggregate(&name);
        let window = WINDOW_ONLY.contains(&name.as_str());
        if !agg && !window && !SCALARS.contains(&name.as_str()) {
            let all = AGGREGATES.iter().chain(WINDOW_ONLY).chain(SCALARS).copied();
            let help = match did_you_mean(&name, all) {
                Some(s) => format!("did you mean `{s}`?"),
                None => "see the list of supported functions in the README (SQL transforms)".into(),
            };
            return self.err(
                SqlError::at(
                    "PW0257",
                    f.name.span(),
                    format!("`{name}` is not a function a transform can use"),
                )
                .help(help),
            );
        }
        if f.filter.is_some()
            || !matches!(f.args, FunctionArguments::List(_) | FunctionArguments::None)
        {
            return self.err(SqlError::at(
                "PW0256",
                e.span(),
                "FILTER and sub-query arguments are not supported",
            ));
        }
        if let FunctionArguments::List(l) = &f.args
            && l.args.iter().any(|a| !matches!(a, FunctionArg::Unnamed(_)))
        {
            return self.err(SqlError::at(
                "PW0256",
                e.span(),
                "named arguments are not supported",
            ));
        }
        if (agg || window) && self.no_aggregates {
            return self.err(SqlError::at("PW0255", e.span(), format!("`{name}` cannot be used here"))
                .help("aggregates and window functions belong in the select list or `HAVING`, not in `WHERE`, `ON` or `GROUP BY`"));
        }
        match (&f.over, window) {
            (None, true) => {
                return self.err(SqlError::at("PW0259", e.span(), format!("`{name}` needs a window: `{name}(...) OVER (PARTITION BY ... ORDER BY ...)`")));
            }
            (Some(w), _) => return self.windowed(e, f, &name, w),
            (None, false) => {}
        }
        if agg {
            if self.in_agg {
                return self.err(SqlError::at(
                    "PW0255",
                    e.span(),
                    "an aggregate cannot contain another aggregate",
                ));
            }
            let saved = std::mem::replace(&mut self.mode, Mode::Row);
            self.in_agg = true;
            let t = self.call(e, &name, f);
            self.in_agg = false;
            self.mode = saved;
            return t;
        }
        self.call(e, &name, f)
    }

    /// `f(...) OVER (PARTITION BY ... ORDER BY ...)`: the window's expressions are
    /// typed where the call is (grouped in an aggregate query), the arguments too.
    fn windowed(&mut self, e: &Expr, f: &Function, name: &str, w: &WindowType) -> Option<Ty> {
        let WindowType::WindowSpec(spec) = w else {
            return self.err(SqlError::at(
                "PW0256",
                e.span(),
                "named windows are not supported; write the window inline",
            ));
        };
        if self.in_agg {
            return self.err(SqlError::at(
                "PW0255",
                e.span(),
                "a window function cannot be inside an aggregate",
            ));
        }
        for p in &spec.partition_by {
            self.ty(p);
        }
        for o in &spec.order_by {
            self.ty(&o.expr);
        }
        if spec.window_frame.is_some() && !is_aggregate(name) && !name.ends_with("_value") {
            return self.err(SqlError::at(
                "PW0259",
                e.span(),
                format!("`{name}` takes no window frame (ROWS/RANGE)"),
            ));
        }
        if spec.order_by.is_empty()
            && matches!(
                name,
                "row_number"
                    | "rank"
                    | "dense_rank"
                    | "percent_rank"
                    | "cume_dist"
                    | "ntile"
                    | "lag"
                    | "lead"
            )
        {
            return self.err(
                SqlError::at(
                    "PW0259",
                    e.span(),
                    format!("`{name}` needs `ORDER BY` in its window"),
                )
                .help("without an order its result changes from run to run"),
            );
        }
        self.call(e, name, f)
    }

    /// The argument types of a call, checked against the function, and its result.
    fn call(&mut self, e: &Expr, name: &str, f: &Function) -> Option<Ty> {
        let raw = args(f);
        let star = raw.iter().any(Option::is_none);
        if star && name != "count" {
            return self.err(SqlError::at(
                "PW0254",
                e.span(),
                format!("`{name}(*)` is not valid; only `count(*)` takes `*`"),
            ));
        }
        let exprs: Vec<&Expr> = raw.into_iter().flatten().collect();
        let tys: Vec<Option<Ty>> = exprs.iter().map(|a| self.ty(a)).collect();
        let (min, max) = arity(name);
        let n = exprs.len() + usize::from(star);
        if n < min || n > max {
            let want = if min == max {
                format!("{min}")
            } else if max == usize::MAX {
                format!("at least {min}")
            } else {
                format!("{min} to {max}")
            };
            return self.err(SqlError::at(
                "PW0254",
                e.span(),
                format!("`{name}` takes {want} argument(s), not {n}"),
            ));
        }
        if tys.iter().any(Option::is_none) {
            return None;
        }
        let tys: Vec<Ty> = tys.into_iter().flatten().collect();
        self.result(name, &exprs, &tys)
    }

    fn result(&mut self, name: &str, a: &[&Expr], t: &[Ty]) -> Option<Ty> {
        let first = t.first().cloned().unwrap_or(Ty::Null);
        let col = |c: C| Some(Ty::Col(c));
        match name {
            "count" | "count_if" | "approx_count_distinct" => col(C::BigInt),
            "row_number" | "rank" | "dense_rank" | "ntile" => col(C::Int),
            "percent_rank" | "cume_dist" | "stddev" | "stddev_samp" | "stddev_pop" | "variance"
            | "var_samp" | "var_pop" | "sqrt" | "ln" | "log" | "log10" | "exp" | "pow"
            | "power" | "months_between" => {
                for (x, ty) in a.iter().zip(t) {
                    self.expect_numeric_or_time(name, x, ty);
                }
                col(C::Double)
            }
            "sum" => {
                self.expect_numeric(a[0], Some(first.clone()), "`sum`");
                match first {
                    Ty::Col(C::Int | C::BigInt) => col(C::BigInt),
                    Ty::Col(C::Decimal(p, s)) => {
                        Some(Ty::Col(decimal(u32::from(p) + 10, u32::from(s))))
                    }
                    _ => col(C::Double),
                }
            }
            "avg" | "mean" => {
                self.expect_numeric(a[0], Some(first.clone()), "`avg`");
                match first {
                    Ty::Col(C::Decimal(p, s)) => {
                        Some(Ty::Col(decimal(u32::from(p) + 4, u32::from(s) + 4)))
                    }
                    _ => col(C::Double),
                }
            }
            "min" | "max" | "first" | "last" | "any_value" | "lag" | "lead" | "first_value"
            | "last_value" | "nth_value" | "abs" | "max_by" | "min_by" => Some(first),
            "bool_and" | "bool_or" => {
                self.expect_bool(a[0], Some(first), &format!("`{name}`"));
                col(C::Boolean)
            }
            "collect_list" | "collect_set" => Some(Ty::Col(C::Array(Box::new(first.column()?)))),
            "coalesce" | "ifnull" | "nvl" | "greatest" | "least" | "nullif" => {
                let mut out = Some(Ty::Null);
                for (x, ty) in a.iter().zip(t) {
                    out = self.unify(x, out, Some(ty.clone()));
                }
                out
            }
            "if" => {
                self.expect_bool(a[0], Some(first), "`if`");
                self.unify(a[1], Some(t[1].clone()), Some(t[2].clone()))
            }
            _ => self.time_or_text(name, a, t),
        }
    }

    fn expect_numeric_or_time(&mut self, name: &str, x: &Expr, ty: &Ty) {
        if name == "months_between" {
            self.expect_time(x, Some(ty.clone()), "`months_between`");
        } else {
            self.expect_numeric(x, Some(ty.clone()), &format!("`{name}`"));
        }
    }

    fn time_or_text(&mut self, name: &str, a: &[&Expr], t: &[Ty]) -> Option<Ty> {
        let first = t.first().cloned().unwrap_or(Ty::Null);
        let what = format!("`{name}`");
        let col = |c: C| Some(Ty::Col(c));
        match name {
            "date_trunc" => {
                self.expect(a[0], Some(first), &C::String, &what);
                self.expect_time(a[1], Some(t[1].clone()), &what);
                col(C::Timestamp)
            }
            "trunc" | "to_date" | "last_day" | "date_add" | "date_sub" | "add_months" => {
                self.expect_time(a[0], Some(first), &what);
                if matches!(name, "date_add" | "date_sub" | "add_months") {
                    self.expect(a[1], Some(t[1].clone()), &C::Int, &what);
                }
                col(C::Date)
            }
            "to_timestamp" | "from_utc_timestamp" | "to_utc_timestamp" => {
                self.expect_time(a[0], Some(first), &what);
                col(C::Timestamp)
            }
            "hour" | "minute" | "second" | "year" | "month" | "day" | "dayofmonth"
            | "dayofweek" | "dayofyear" | "weekofyear" | "quarter" => {
                self.expect_time(a[0], Some(first), &what);
                col(C::Int)
            }
            "datediff" => {
                for (x, ty) in a.iter().zip(t) {
                    self.expect_time(x, Some(ty.clone()), &what);
                }
                col(C::Int)
            }
            "date_format" => {
                self.expect_time(a[0], Some(first), &what);
                self.expect(a[1], Some(t[1].clone()), &C::String, &what);
                col(C::String)
            }
            "current_date" | "make_date" => col(C::Date),
            "current_timestamp" => col(C::Timestamp),
            "unix_timestamp" => col(C::BigInt),
            "from_unixtime" => col(C::String),
            "length" | "size" => col(C::Int),
            "array_contains" => col(C::Boolean),
            "sign" | "signum" => col(C::Double),
            "floor" | "ceil" | "ceiling" => match first {
                Ty::Col(C::Decimal(p, _)) => Some(Ty::Col(decimal(u32::from(p) + 1, 0))),
                _ => {
                    self.expect_numeric(a[0], Some(first), &what);
                    col(C::BigInt)
                }
            },
            "round" | "bround" | "mod" | "pmod" => {
                self.expect_numeric(a[0], Some(first.clone()), &what);
                Some(first)
            }
            // The string functions: lower, upper, trim, concat, substring, replace, ...
            _ => col(C::String),
        }
    }
}

/// How many arguments a function takes.
fn arity(name: &str) -> (usize, usize) {
    match name {
        "current_date" | "current_timestamp" | "row_number" | "rank" | "dense_rank"
        | "percent_rank" | "cume_dist" => (0, 0),
        "count" | "coalesce" | "concat" | "greatest" | "least" => (1, usize::MAX),
        "concat_ws" => (2, usize::MAX),
        "lag" | "lead" => (1, 3),
        "to_date" | "to_timestamp" | "round" | "bround" | "from_unixtime" | "unix_timestamp"
        | "log" | "trim" => (1, 2),
        "substring" | "substr" | "regexp_extract" | "lpad" | "rpad" | "replace" => (2, 3),
        "date_trunc" | "trunc" | "date_format" | "date_add" | "date_sub" | "datediff"
        | "months_between" | "add_months" | "from_utc_timestamp" | "to_utc_timestamp"
        | "nullif" | "ifnull" | "nvl" | "pow" | "power" | "mod" | "pmod" | "nth_value"
        | "max_by" | "min_by" | "array_contains" => (2, 2),
        "if" | "make_date" | "regexp_replace" | "split_part" => (3, 3),
        _ => (1, 1),
    }
}
