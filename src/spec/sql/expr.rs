//! Typing of SQL expressions: column references against the scope, operators,
//! literals, casts, `CASE`, and (through `funcs`) function calls; grouping rules
//! (a column outside an aggregate must be grouped) and window specifications.

use sqlparser::ast::{
    BinaryOperator as B, DataType, Expr, Function, Ident, Spanned, UnaryOperator, Value,
};

use super::funcs;
use super::relations::unknown;
use super::{Resolver, Scope, SqlError};
use crate::spec::event_schema::ColumnType;

/// A value's type: a column type, or the untyped `NULL` literal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ty {
    Col(ColumnType),
    Null,
}

impl Ty {
    /// The column type an output column gets (`NULL` alone is a string column).
    pub(crate) fn column(self) -> Option<ColumnType> {
        Some(match self {
            Ty::Col(c) => c,
            Ty::Null => ColumnType::String,
        })
    }
}

/// Where an expression is: a row-level clause, or an aggregate query whose
/// columns must be grouped or aggregated.
#[derive(Clone, Copy)]
pub(crate) enum Mode<'g> {
    Row,
    Grouped(&'g [Expr]),
}

pub(crate) struct Typer<'r, 's, 'g> {
    pub r: &'r mut Resolver,
    pub scope: &'s Scope,
    pub mode: Mode<'g>,
    pub in_agg: bool,
    /// Aggregates and windows are refused here (WHERE, ON, GROUP BY).
    pub no_aggregates: bool,
}

pub(crate) fn is_numeric(t: &ColumnType) -> bool {
    matches!(
        t,
        ColumnType::Int | ColumnType::BigInt | ColumnType::Double | ColumnType::Decimal(..)
    )
}

/// Spark's precision adjustment for a decimal result wider than 38 digits.
pub(crate) fn decimal(p: u32, s: u32) -> ColumnType {
    if p <= 38 {
        return ColumnType::Decimal(p as u8, s as u8);
    }
    let int_digits = p - s;
    let min_scale = s.min(6);
    let s = (38u32.saturating_sub(int_digits)).max(min_scale);
    ColumnType::Decimal(38, s as u8)
}

fn as_decimal(t: &ColumnType) -> Option<(u32, u32)> {
    match t {
        ColumnType::Int => Some((10, 0)),
        ColumnType::BigInt => Some((20, 0)),
        ColumnType::Decimal(p, s) => Some((u32::from(*p), u32::from(*s))),
        _ => None,
    }
}

/// The type both of two types fit (numeric widening; `NULL` fits anything).
pub(crate) fn common(a: &Ty, b: &Ty) -> Option<Ty> {
    let (Ty::Col(x), Ty::Col(y)) = (a, b) else {
        return Some(if *a == Ty::Null { b.clone() } else { a.clone() });
    };
    if x == y {
        return Some(a.clone());
    }
    use ColumnType as C;
    Some(Ty::Col(match (x, y) {
        (C::Double, n) | (n, C::Double) if is_numeric(n) => C::Double,
        (C::Int, C::BigInt) | (C::BigInt, C::Int) => C::BigInt,
        (C::Date, C::Timestamp) | (C::Timestamp, C::Date) => C::Timestamp,
        _ if is_numeric(x) && is_numeric(y) => {
            let ((p1, s1), (p2, s2)) = (as_decimal(x)?, as_decimal(y)?);
            let s = s1.max(s2);
            decimal((p1 - s1).max(p2 - s2) + s, s)
        }
        _ => return None,
    }))
}

/// The name Spark gives an unnamed select item that is a column reference.
pub(crate) fn natural_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Identifier(i) => Some(i.value.clone()),
        Expr::CompoundIdentifier(ids) => ids.last().map(|i| i.value.clone()),
        Expr::Nested(inner) => natural_name(inner),
        _ => None,
    }
}

/// Whether an expression calls an aggregate function outside any window.
pub(crate) fn has_aggregate(e: &Expr) -> bool {
    let mut found = false;
    walk(e, &mut |x| {
        if let Expr::Function(f) = x
            && f.over.is_none()
            && funcs::is_aggregate(&fname(f))
        {
            found = true;
        }
    });
    found
}

/// Visits `e` and the expressions directly under it that typing descends into.
fn walk(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    for c in children(e) {
        walk(c, f);
    }
}

fn children(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::BinaryOp { left, right, .. } => vec![left, right],
        Expr::UnaryOp { expr, .. }
        | Expr::Nested(expr)
        | Expr::IsNull(expr)
        | Expr::IsNotNull(expr)
        | Expr::IsTrue(expr)
        | Expr::IsFalse(expr)
        | Expr::Cast { expr, .. }
        | Expr::Extract { expr, .. } => vec![expr],
        Expr::Between {
            expr, low, high, ..
        } => vec![expr, low, high],
        Expr::InList { expr, list, .. } => std::iter::once(expr.as_ref()).chain(list).collect(),
        Expr::Like { expr, pattern, .. } | Expr::ILike { expr, pattern, .. } => vec![expr, pattern],
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => operand
            .iter()
            .map(|b| b.as_ref())
            .chain(conditions.iter().flat_map(|c| [&c.condition, &c.result]))
            .chain(else_result.iter().map(|b| b.as_ref()))
            .collect(),
        Expr::Function(f) => funcs::args(f).into_iter().flatten().collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn fname(f: &Function) -> String {
    f.name.to_string().to_lowercase()
}

impl<'r, 's, 'g> Typer<'r, 's, 'g> {
    pub(crate) fn new(r: &'r mut Resolver, scope: &'s Scope, mode: Mode<'g>) -> Self {
        Typer {
            r,
            scope,
            mode,
            in_agg: false,
            no_aggregates: false,
        }
    }

    pub(crate) fn err(&mut self, e: SqlError) -> Option<Ty> {
        self.r.err(e);
        None
    }

    pub(crate) fn expect_bool(&mut self, e: &Expr, ty: Option<Ty>, what: &str) {
        if let Some(Ty::Col(t)) = ty
            && t != ColumnType::Boolean
        {
            self.r.err(SqlError::at(
                "PW0254",
                e.span(),
                format!("{what} must be a boolean, not {t}"),
            ));
        }
    }

    /// The type of `e`, or `None` after reporting why it has none.
    pub(crate) fn ty(&mut self, e: &Expr) -> Option<Ty> {
        if let Mode::Grouped(groups) = self.mode
            && !self.in_agg
            && groups.contains(e)
        {
            let saved = std::mem::replace(&mut self.mode, Mode::Row);
            let t = self.ty(e);
            self.mode = saved;
            return t;
        }
        match e {
            Expr::Identifier(id) => self.column(None, id, e),
            Expr::CompoundIdentifier(ids) => self.compound(ids, e),
            Expr::Value(v) => literal(&v.value).or_else(|| {
                self.err(SqlError::at("PW0256", e.span(), "this kind of literal is not supported")
                    .help("use 'single-quoted' strings, numbers, true/false and NULL"))
            }),
            Expr::Nested(inner) => self.ty(inner),
            Expr::TypedString(t) => match &t.data_type {
                DataType::Date => Some(Ty::Col(ColumnType::Date)),
                DataType::Timestamp(..) => Some(Ty::Col(ColumnType::Timestamp)),
                _ => self.err(SqlError::at("PW0256", e.span(), "only DATE '...' and TIMESTAMP '...' literals are supported")),
            },
            Expr::BinaryOp { left, op, right } => self.binary(e, left, op, right),
            Expr::UnaryOp { op, expr } => self.unary(e, op, expr),
            Expr::IsNull(x) | Expr::IsNotNull(x) => {
                self.ty(x)?;
                Some(Ty::Col(ColumnType::Boolean))
            }
            Expr::IsTrue(x) | Expr::IsFalse(x) => {
                let t = self.ty(x);
                self.expect_bool(x, t, "`IS TRUE`/`IS FALSE`");
                Some(Ty::Col(ColumnType::Boolean))
            }
            Expr::Between { expr, low, high, .. } => {
                let (a, b, c) = (self.ty(expr), self.ty(low), self.ty(high));
                self.comparable(e, a.clone(), b)?;
                self.comparable(e, a, c)?;
                Some(Ty::Col(ColumnType::Boolean))
            }
            Expr::InList { expr, list, .. } => {
                let a = self.ty(expr);
                for x in list {
                    let b = self.ty(x);
                    self.comparable(x, a.clone(), b);
                }
                Some(Ty::Col(ColumnType::Boolean))
            }
            Expr::Like { expr, pattern, .. } | Expr::ILike { expr, pattern, .. } => {
                for x in [expr, pattern] {
                    let t = self.ty(x);
                    self.expect(x, t, &ColumnType::String, "`LIKE`");
                }
                Some(Ty::Col(ColumnType::Boolean))
            }
            Expr::Cast { expr, data_type, format: None, .. } => {
                self.ty(expr)?;
                match cast_target(data_type) {
                    Ok(t) => Some(Ty::Col(t)),
                    Err(m) => self.err(SqlError::at("PW0254", e.span(), m)
                        .help("types: string, boolean, int, bigint, double, date, timestamp, decimal(P,S)")),
                }
            }
            Expr::Extract { expr, .. } => {
                let t = self.ty(expr);
                self.expect_time(expr, t, "`EXTRACT`");
                Some(Ty::Col(ColumnType::Int))
            }
            Expr::Case { operand, conditions, else_result, .. } => self.case(operand.as_deref(), conditions, else_result.as_deref()),
            Expr::Function(f) => self.function(e, f),
            other => self.err(SqlError::at("PW0256", other.span(), "this kind of expression is not supported in a transform")
                .help("supported: columns, literals, arithmetic, comparisons, AND/OR/NOT, IS [NOT] NULL, BETWEEN, IN (...), LIKE, CAST, CASE, EXTRACT and the listed functions")),
        }
    }

    /// A column reference, unqualified (`qual` None) or qualified by a relation.
    fn column(&mut self, qual: Option<&Ident>, id: &Ident, e: &Expr) -> Option<Ty> {
        if let Mode::Grouped(_) = self.mode
            && !self.in_agg
        {
            let shown = match qual {
                Some(q) => format!("{}.{}", q.value, id.value),
                None => id.value.clone(),
            };
            return self.err(SqlError::at("PW0255", e.span(), format!("`{shown}` is neither grouped nor aggregated"))
                .help(format!("add `{shown}` to `GROUP BY`, or aggregate it (`max({shown})`, `count(...)`, ...)")));
        }
        let name = id.value.to_lowercase();
        let rels: Vec<&(String, Vec<(String, ColumnType)>)> = match qual {
            Some(q) => {
                let qn = q.value.to_lowercase();
                let found: Vec<_> = self.scope.rels.iter().filter(|(r, _)| *r == qn).collect();
                if found.is_empty() {
                    let names: Vec<&str> =
                        self.scope.rels.iter().map(|(r, _)| r.as_str()).collect();
                    return self.err(unknown("relation", &qn, &names, q.span));
                }
                found
            }
            None => self.scope.rels.iter().collect(),
        };
        let hits: Vec<(&str, &ColumnType)> = rels
            .iter()
            .flat_map(|(r, cols)| {
                cols.iter()
                    .filter(|(c, _)| c.eq_ignore_ascii_case(&name))
                    .map(move |(_, t)| (r.as_str(), t))
            })
            .collect();
        match hits.as_slice() {
            [(_, t)] => Some(Ty::Col((*t).clone())),
            [] if self.scope.poisoned => None,
            [] => {
                let all: Vec<&str> = rels
                    .iter()
                    .flat_map(|(_, cols)| cols.iter().map(|(c, _)| c.as_str()))
                    .collect();
                self.err(unknown("column", &name, &all, id.span))
            }
            [(a, _), (b, _), ..] => {
                let (a, b) = (a.to_string(), b.to_string());
                self.err(
                    SqlError::at(
                        "PW0253",
                        id.span,
                        format!("column `{name}` is ambiguous: both `{a}` and `{b}` have it"),
                    )
                    .help(format!("qualify it: `{a}.{name}` or `{b}.{name}`")),
                )
            }
        }
    }

    /// `rel.col`, `col.field` or `rel.col.field...`.
    fn compound(&mut self, ids: &[Ident], e: &Expr) -> Option<Ty> {
        if let Mode::Grouped(_) = self.mode
            && !self.in_agg
        {
            let shown: Vec<&str> = ids.iter().map(|i| i.value.as_str()).collect();
            let shown = shown.join(".");
            return self.err(SqlError::at("PW0255", e.span(), format!("`{shown}` is neither grouped nor aggregated"))
                .help(format!("add `{shown}` to `GROUP BY`, or aggregate it (`max({shown})`, `count(...)`, ...)")));
        }
        let is_rel =
            |s: &Scope, i: &Ident| s.rels.iter().any(|(r, _)| r.eq_ignore_ascii_case(&i.value));
        let (mut ty, rest) = if ids.len() >= 2 && is_rel(self.scope, &ids[0]) {
            (self.column(Some(&ids[0]), &ids[1], e)?, &ids[2..])
        } else {
            (self.column(None, &ids[0], e)?, &ids[1..])
        };
        for f in rest {
            let Ty::Col(ColumnType::Struct(fields)) = &ty else {
                return self.err(SqlError::at(
                    "PW0253",
                    f.span,
                    format!(
                        "`{}` is not an object, so it has no field `{}`",
                        ids[0].value, f.value
                    ),
                ));
            };
            let Some((_, t)) = fields
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(&f.value))
            else {
                let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
                return self.err(unknown("field", &f.value, &names, f.span));
            };
            ty = Ty::Col(t.clone());
        }
        Some(ty)
    }

    pub(crate) fn expect(&mut self, e: &Expr, ty: Option<Ty>, want: &ColumnType, what: &str) {
        if let Some(Ty::Col(t)) = ty
            && t != *want
        {
            self.r.err(
                SqlError::at(
                    "PW0254",
                    e.span(),
                    format!("{what} takes a {want}, not {t}"),
                )
                .help(format!("convert it: `CAST(... AS {want})`")),
            );
        }
    }

    pub(crate) fn expect_numeric(&mut self, e: &Expr, ty: Option<Ty>, what: &str) {
        if let Some(Ty::Col(t)) = ty
            && !is_numeric(&t)
        {
            self.r.err(SqlError::at(
                "PW0254",
                e.span(),
                format!("{what} takes a number, not {t}"),
            ));
        }
    }

    pub(crate) fn expect_time(&mut self, e: &Expr, ty: Option<Ty>, what: &str) {
        if let Some(Ty::Col(t)) = ty
            && !matches!(
                t,
                ColumnType::Date | ColumnType::Timestamp | ColumnType::String
            )
        {
            self.r.err(SqlError::at(
                "PW0254",
                e.span(),
                format!("{what} takes a date or timestamp, not {t}"),
            ));
        }
    }

    /// Two operands a comparison accepts: the same kind, or a string against a date or
    /// timestamp (Spark casts the string).
    fn comparable(&mut self, e: &Expr, a: Option<Ty>, b: Option<Ty>) -> Option<()> {
        let (a, b) = (a?, b?);
        use ColumnType as C;
        let ok = common(&a, &b).is_some()
            || matches!(
                (&a, &b),
                (Ty::Col(C::String), Ty::Col(C::Date | C::Timestamp))
                    | (Ty::Col(C::Date | C::Timestamp), Ty::Col(C::String))
            );
        if ok {
            Some(())
        } else {
            let show = |t: &Ty| match t {
                Ty::Col(c) => c.to_string(),
                Ty::Null => "null".into(),
            };
            self.err(
                SqlError::at(
                    "PW0254",
                    e.span(),
                    format!("cannot compare {} with {}", show(&a), show(&b)),
                )
                .help("cast one side: `CAST(... AS type)`"),
            );
            None
        }
    }

    fn binary(&mut self, e: &Expr, left: &Expr, op: &B, right: &Expr) -> Option<Ty> {
        let (a, b) = (self.ty(left), self.ty(right));
        use ColumnType as C;
        match op {
            B::And | B::Or => {
                self.expect_bool(left, a, "`AND`/`OR`");
                self.expect_bool(right, b, "`AND`/`OR`");
                Some(Ty::Col(C::Boolean))
            }
            B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq | B::Spaceship => {
                self.comparable(e, a, b)?;
                Some(Ty::Col(C::Boolean))
            }
            B::StringConcat => Some(Ty::Col(C::String)),
            B::Plus | B::Minus | B::Multiply | B::Divide | B::Modulo => {
                let (a, b) = (a?, b?);
                arith(op, &a, &b).or_else(|| {
                    self.err(
                        SqlError::at(
                            "PW0254",
                            e.span(),
                            format!("`{op}` cannot combine {} and {}", show(&a), show(&b)),
                        )
                        .help("arithmetic takes numbers (and a date plus or minus days)"),
                    )
                })
            }
            _ => self.err(SqlError::at(
                "PW0256",
                e.span(),
                format!("the operator `{op}` is not supported"),
            )),
        }
    }

    fn unary(&mut self, e: &Expr, op: &UnaryOperator, x: &Expr) -> Option<Ty> {
        let t = self.ty(x);
        match op {
            UnaryOperator::Not => {
                self.expect_bool(x, t, "`NOT`");
                Some(Ty::Col(ColumnType::Boolean))
            }
            UnaryOperator::Minus | UnaryOperator::Plus => {
                self.expect_numeric(x, t.clone(), "a sign");
                t
            }
            _ => self.err(SqlError::at(
                "PW0256",
                e.span(),
                format!("the operator `{op}` is not supported"),
            )),
        }
    }

    fn case(
        &mut self,
        operand: Option<&Expr>,
        conditions: &[sqlparser::ast::CaseWhen],
        else_result: Option<&Expr>,
    ) -> Option<Ty> {
        let op_ty = operand.map(|o| self.ty(o));
        let mut out = Some(Ty::Null);
        for c in conditions {
            let ct = self.ty(&c.condition);
            match &op_ty {
                Some(o) => {
                    self.comparable(&c.condition, o.clone(), ct);
                }
                None => self.expect_bool(&c.condition, ct, "a `WHEN` condition"),
            }
            let rt = self.ty(&c.result);
            out = self.unify(&c.result, out, rt);
        }
        if let Some(e) = else_result {
            let rt = self.ty(e);
            out = self.unify(e, out, rt);
        }
        out
    }

    /// The common type of the branches so far and one more, reported at `e`.
    pub(crate) fn unify(&mut self, e: &Expr, so_far: Option<Ty>, next: Option<Ty>) -> Option<Ty> {
        let (a, b) = (so_far?, next?);
        match common(&a, &b) {
            Some(t) => Some(t),
            None => self.err(
                SqlError::at(
                    "PW0254",
                    e.span(),
                    format!("this is {}, but earlier values are {}", show(&b), show(&a)),
                )
                .help("cast the values to one type"),
            ),
        }
    }
}

pub(crate) fn show(t: &Ty) -> String {
    match t {
        Ty::Col(c) => c.to_string(),
        Ty::Null => "null".into(),
    }
}

/// Arithmetic result types, after Spark.
fn arith(op: &B, a: &Ty, b: &Ty) -> Option<Ty> {
    use ColumnType as C;
    let (Ty::Col(x), Ty::Col(y)) = (a, b) else {
        return Some(if *a == Ty::Null { b.clone() } else { a.clone() });
    };
    if matches!(op, B::Plus | B::Minus) && *x == C::Date && matches!(y, C::Int) {
        return Some(Ty::Col(C::Date));
    }
    if !is_numeric(x) || !is_numeric(y) {
        return None;
    }
    if matches!(op, B::Divide) {
        return Some(Ty::Col(match (as_decimal(x), as_decimal(y)) {
            (Some((p1, s1)), Some((p2, s2)))
                if matches!((x, y), (C::Decimal(..), _) | (_, C::Decimal(..))) =>
            {
                let s = 6.max(s1 + p2 + 1);
                decimal(p1 - s1 + s2 + s, s)
            }
            _ => C::Double,
        }));
    }
    if let (C::Decimal(..), _) | (_, C::Decimal(..)) = (x, y)
        && let (Some((p1, s1)), Some((p2, s2))) = (as_decimal(x), as_decimal(y))
    {
        return Some(Ty::Col(match op {
            B::Multiply => decimal(p1 + p2 + 1, s1 + s2),
            _ => {
                let s = s1.max(s2);
                decimal((p1 - s1).max(p2 - s2) + s + 1, s)
            }
        }));
    }
    common(a, b)
}

/// The type of a literal; `None` for kinds of literal Spark SQL does not have.
fn literal(v: &Value) -> Option<Ty> {
    use ColumnType as C;
    Some(match v {
        Value::Number(n, _) => {
            if n.contains(['e', 'E']) {
                Ty::Col(C::Double)
            } else if let Some((i, f)) = n.split_once('.') {
                let digits = (i.trim_start_matches('-').len() + f.len()).max(1) as u32;
                Ty::Col(decimal(digits.max(f.len() as u32), f.len() as u32))
            } else if n.parse::<i32>().is_ok() {
                Ty::Col(C::Int)
            } else if n.parse::<i64>().is_ok() {
                Ty::Col(C::BigInt)
            } else {
                Ty::Col(decimal(n.len() as u32, 0))
            }
        }
        Value::SingleQuotedString(_) | Value::DoubleQuotedString(_) => Ty::Col(C::String),
        Value::Boolean(_) => Ty::Col(C::Boolean),
        Value::Null => Ty::Null,
        _ => return None,
    })
}

/// The column type a `CAST` target names.
pub(crate) fn cast_target(d: &DataType) -> Result<ColumnType, String> {
    let s = d.to_string().to_lowercase();
    let s = match s.as_str() {
        "integer" => "int".to_owned(),
        "long" => "bigint".to_owned(),
        "bool" => "boolean".to_owned(),
        _ => s.replace(' ', ""),
    };
    ColumnType::parse(&s).map_err(|_| format!("`{d}` is not a type a dataset column can have"))
}
