//! The resolver against hand-checked queries: each expectation follows from Spark's
//! documented typing rules, not from running the resolver.

use super::*;
use ColumnType as C;

fn rels() -> Vec<Relation> {
    vec![
        Relation {
            name: "boardings".into(),
            columns: vec![
                ("sailing_id".into(), C::String),
                ("boarded_at".into(), C::Timestamp),
                ("passengers".into(), C::Int),
                ("event_date".into(), C::Date),
            ],
        },
        Relation {
            name: "sales".into(),
            columns: vec![
                ("sailing_id".into(), C::String),
                ("amount".into(), C::Decimal(10, 2)),
                ("event_date".into(), C::Date),
            ],
        },
    ]
}

fn ok(sql: &str) -> Vec<(String, ColumnType)> {
    resolve(sql, &rels()).unwrap_or_else(|e| panic!("{sql}: {e:?}"))
}

fn errs(sql: &str) -> Vec<(&'static str, usize, usize)> {
    resolve(sql, &rels())
        .expect_err(sql)
        .into_iter()
        .map(|e| (e.code, e.line, e.col))
        .collect()
}

#[test]
fn join_and_aggregate_infer_spark_types() {
    let out = ok(
        "SELECT b.event_date, b.sailing_id, date_trunc('hour', b.boarded_at) AS hour,\n  sum(b.passengers) AS passengers, sum(s.amount) AS revenue, count(*) AS n, avg(s.amount) AS avg_amount\nFROM boardings b LEFT JOIN sales s ON s.sailing_id = b.sailing_id AND s.event_date = b.event_date\nGROUP BY b.event_date, b.sailing_id, date_trunc('hour', b.boarded_at)",
    );
    assert_eq!(
        out,
        vec![
            ("event_date".into(), C::Date),
            ("sailing_id".into(), C::String),
            ("hour".into(), C::Timestamp),
            ("passengers".into(), C::BigInt), // sum(int) is bigint
            ("revenue".into(), C::Decimal(20, 2)), // sum(decimal(p,s)) is decimal(p+10,s)
            ("n".into(), C::BigInt),
            ("avg_amount".into(), C::Decimal(14, 6)), // avg: decimal(p+4,s+4)
        ]
    );
}

#[test]
fn window_functions() {
    let out = ok(
        "SELECT sailing_id, event_date, row_number() OVER (PARTITION BY event_date ORDER BY boarded_at) AS seq,\n lag(passengers) OVER (PARTITION BY sailing_id ORDER BY boarded_at) AS prev FROM boardings",
    );
    assert_eq!(out[2], ("seq".into(), C::Int));
    assert_eq!(out[3], ("prev".into(), C::Int));
}

#[test]
fn cte_and_subquery_and_group_by_alias() {
    let out = ok(
        "WITH h AS (SELECT event_date, hour(boarded_at) AS hr, passengers FROM boardings)\nSELECT event_date, hr, sum(passengers) AS p FROM (SELECT * FROM h) x GROUP BY event_date, hr",
    );
    assert_eq!(out[1], ("hr".into(), C::Int));
}

#[test]
fn located_errors() {
    // unknown relation, with a suggestion; line 2, column 6
    assert_eq!(errs("SELECT 1 AS x\nFROM boarding"), vec![("PW0252", 2, 6)]);
    // unknown column, at the column's position
    assert_eq!(
        errs("SELECT sailing, event_date FROM boardings"),
        vec![("PW0253", 1, 8)]
    );
    // ambiguous column in a join
    assert_eq!(
        errs("SELECT sailing_id FROM boardings b JOIN sales s ON b.sailing_id = s.sailing_id")[0].0,
        "PW0253"
    );
    // not grouped
    assert_eq!(
        errs("SELECT sailing_id, passengers, count(*) AS n FROM boardings GROUP BY sailing_id"),
        vec![("PW0255", 1, 20)]
    );
    // type error: comparing a timestamp with an int
    assert_eq!(
        errs("SELECT sailing_id FROM boardings WHERE boarded_at > 3")[0].0,
        "PW0254"
    );
    // sum of a string
    assert_eq!(
        errs("SELECT sum(sailing_id) AS s FROM boardings")[0].0,
        "PW0254"
    );
    // unknown function with a suggestion
    let e = resolve(
        "SELECT date_trunk('hour', boarded_at) AS h FROM boardings",
        &rels(),
    )
    .unwrap_err();
    assert_eq!(
        (e[0].code, e[0].help.as_deref()),
        ("PW0257", Some("did you mean `date_trunc`?"))
    );
    // syntax error, located
    assert_eq!(
        errs("SELECT sailing_id\nFROM boardings WHERE"),
        vec![("PW0251", 2, 21)]
    );
    // unsupported: right join, union, ORDER BY
    assert_eq!(
        errs(
            "SELECT b.sailing_id FROM boardings b RIGHT JOIN sales s ON b.sailing_id = s.sailing_id"
        )[0]
        .0,
        "PW0256"
    );
    assert_eq!(
        errs("SELECT sailing_id FROM boardings UNION ALL SELECT sailing_id FROM sales")[0].0,
        "PW0256"
    );
    // unnamed expression
    assert_eq!(
        errs("SELECT count(*) FROM boardings"),
        vec![("PW0258", 1, 8)]
    );
    // window function without OVER, and without ORDER BY
    assert_eq!(
        errs("SELECT row_number() AS n FROM boardings")[0].0,
        "PW0259"
    );
    assert_eq!(
        errs("SELECT rank() OVER (PARTITION BY sailing_id) AS n FROM boardings")[0].0,
        "PW0259"
    );
    // aggregate in WHERE
    assert_eq!(
        errs("SELECT sailing_id FROM boardings WHERE sum(passengers) > 1")[0].0,
        "PW0255"
    );
}

#[test]
fn one_mistake_one_error() {
    // an unknown relation does not make every column unknown too
    assert_eq!(
        errs("SELECT event_date, count(*) AS n FROM boarding GROUP BY event_date"),
        vec![("PW0252", 1, 39)]
    );
    // nor does a broken WITH relation
    assert_eq!(
        errs("WITH x AS (SELECT nope FROM boardings) SELECT nope, event_date FROM x"),
        vec![("PW0253", 1, 19)]
    );
    // a dotted column outside GROUP BY is named whole
    let e = resolve(
        "SELECT event_date, b.passengers AS p FROM boardings b GROUP BY event_date",
        &rels(),
    )
    .unwrap_err();
    assert_eq!(e[0].msg, "`b.passengers` is neither grouped nor aggregated");
}

/// (line, column) of each problem `per_date` finds.
fn mixed(sql: &str) -> Vec<(usize, usize)> {
    ok(sql);
    per_date(sql).iter().map(|e| (e.line, e.col)).collect()
}

#[test]
fn each_row_from_one_date() {
    // Per date: grouped by it, joined on it, windows partitioned by it, `GROUP BY 1`.
    let per_day = "WITH b AS (SELECT event_date, sailing_id, sum(passengers) AS p \
                   FROM boardings GROUP BY event_date, sailing_id) \
                   SELECT b.event_date, b.sailing_id, b.p, \
                   rank() OVER (PARTITION BY b.event_date ORDER BY b.p DESC) AS r \
                   FROM b LEFT JOIN sales s ON s.sailing_id = b.sailing_id AND s.event_date = b.event_date";
    assert_eq!(mixed(per_day), vec![]);
    assert_eq!(
        mixed("SELECT event_date, count(*) AS n FROM sales GROUP BY 1"),
        vec![]
    );
    assert_eq!(
        mixed("SELECT * FROM sales JOIN boardings USING (sailing_id, event_date)"),
        vec![]
    );
    // Several dates: an aggregate over all of them, a join across dates, a rolling
    // window, a date computed rather than taken.
    assert_eq!(
        mixed("SELECT sailing_id, count(*) AS n FROM sales GROUP BY sailing_id"),
        vec![(1, 1)]
    );
    assert_eq!(
        mixed(
            "SELECT s.event_date, b.passengers FROM sales s\nJOIN boardings b ON b.sailing_id = s.sailing_id"
        ),
        vec![(2, 6)]
    );
    assert_eq!(
        mixed(
            "SELECT event_date, sum(amount) OVER (PARTITION BY sailing_id ORDER BY event_date) AS w FROM sales"
        ),
        vec![(1, 20)]
    );
    assert_eq!(
        mixed("SELECT date_add(event_date, 1) AS event_date, amount FROM sales"),
        vec![(1, 8)]
    );
}
