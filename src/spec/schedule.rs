//! Schedule expressions: `cron(...)` (six fields, the EventBridge/Glue dialect) and
//! `rate(N unit)`. Parses them, converts rates to Glue-compatible crons, and counts
//! runs per month for the cost model.

use std::fmt;

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    Cron(Cron),
    Rate { value: u32, unit: RateUnit },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateUnit {
    Minute,
    Hour,
    Day,
}

/// The six cron fields, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    pub fields: [String; 6],
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Cron(c) => write!(f, "cron({})", c.fields.join(" ")),
            Schedule::Rate { value, unit } => {
                let u = match unit {
                    RateUnit::Minute => "minute",
                    RateUnit::Hour => "hour",
                    RateUnit::Day => "day",
                };
                write!(f, "rate({value} {u}{})", if *value == 1 { "" } else { "s" })
            }
        }
    }
}

const FIELD_NAMES: [&str; 6] = [
    "minutes",
    "hours",
    "day-of-month",
    "month",
    "day-of-week",
    "year",
];
const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Schedule {
    /// Parses `cron(...)` or `rate(...)`; the error says what is wrong and how to fix it.
    pub fn parse(s: &str) -> Result<Schedule, String> {
        let s = s.trim();
        if let Some(inner) = s.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
            return parse_rate(inner);
        }
        if let Some(inner) = s.strip_prefix("cron(").and_then(|r| r.strip_suffix(')')) {
            return parse_cron(inner).map(Schedule::Cron);
        }
        Err(format!(
            "`{s}` is neither `cron(...)` nor `rate(...)`; for example `cron(15 * * * ? *)` or `rate(1 hour)`"
        ))
    }

    /// The schedule as a cron Glue accepts (Glue triggers and crawlers take only
    /// `cron(...)`, at most every 5 minutes).
    pub fn to_glue_cron(&self) -> Result<String, String> {
        match self {
            Schedule::Cron(c) => {
                let m = &c.fields[0];
                let every_minute = m == "*" || m.split(',').count() > 12;
                let step_lt5 = m
                    .split_once('/')
                    .and_then(|(_, st)| st.parse::<u32>().ok())
                    .is_some_and(|st| st < 5);
                if every_minute || step_lt5 {
                    return Err("Glue runs schedules at most every 5 minutes".into());
                }
                Ok(self.to_string())
            }
            Schedule::Rate { value, unit } => {
                let v = *value;
                let f = match unit {
                    RateUnit::Minute if v >= 5 && 60 % v == 0 => format!("0/{v} * * * ? *"),
                    RateUnit::Minute if v % 60 == 0 && 24 % (v / 60) == 0 => {
                        format!("0 0/{} * * ? *", v / 60)
                    }
                    RateUnit::Hour if v == 1 => "0 * * * ? *".into(),
                    RateUnit::Hour if 24 % v == 0 => format!("0 0/{v} * * ? *"),
                    RateUnit::Day if v == 1 => "0 0 * * ? *".into(),
                    _ => {
                        return Err(format!(
                            "Glue takes only cron schedules and `{self}` has no exact cron equivalent; write it as `cron(...)`"
                        ));
                    }
                };
                Ok(format!("cron({f})"))
            }
        }
    }

    /// Approximate runs in a 30-day month (for costs).
    pub fn runs_per_month(&self) -> f64 {
        match self {
            Schedule::Rate { value, unit } => {
                let per_day = match unit {
                    RateUnit::Minute => 1440.0 / f64::from(*value),
                    RateUnit::Hour => 24.0 / f64::from(*value),
                    RateUnit::Day => 1.0 / f64::from(*value),
                };
                per_day * 30.0
            }
            Schedule::Cron(c) => {
                let count = |field: &str, lo: u32, hi: u32| -> f64 {
                    f64::from(expand(field, lo, hi).max(1))
                };
                let minutes = count(&c.fields[0], 0, 59);
                let hours = count(&c.fields[1], 0, 23);
                let days = if c.fields[2] == "?" {
                    // day-of-week driven: N weekdays of 7
                    count(&c.fields[4], 1, 7) / 7.0 * 30.0
                } else if c.fields[2] == "*" {
                    30.0
                } else {
                    count(&c.fields[2], 1, 31).min(30.0)
                };
                let months = if c.fields[3] == "*" {
                    1.0
                } else {
                    count(&c.fields[3], 1, 12) / 12.0
                };
                minutes * hours * days * months
            }
        }
    }
}

/// How many values a simple cron field selects (`*`, lists, ranges, steps).
fn expand(field: &str, lo: u32, hi: u32) -> u32 {
    if field == "*" || field == "?" {
        return hi - lo + 1;
    }
    let mut n = 0;
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().unwrap_or(1).max(1)),
            None => (part, 1),
        };
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (a.parse().unwrap_or(lo), b.parse().unwrap_or(hi))
        } else {
            let a = range.parse().unwrap_or(lo);
            (a, if step > 1 { hi } else { a })
        };
        if b >= a {
            n += (b - a) / step + 1;
        }
    }
    n
}

fn parse_rate(inner: &str) -> Result<Schedule, String> {
    let mut parts = inner.split_whitespace();
    let (Some(v), Some(u), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!(
            "`rate({inner})` must be `rate(N unit)`, for example `rate(1 hour)`"
        ));
    };
    let value: u32 = v
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("`{v}` is not a positive whole number"))?;
    let unit = match u {
        "minute" | "minutes" => RateUnit::Minute,
        "hour" | "hours" => RateUnit::Hour,
        "day" | "days" => RateUnit::Day,
        _ => {
            return Err(format!(
                "`{u}` is not a rate unit (minute(s), hour(s), day(s))"
            ));
        }
    };
    let singular = !u.ends_with('s');
    if singular != (value == 1) {
        return Err(format!(
            "write `rate({value} {}{})`: AWS wants the singular unit exactly when the value is 1",
            u.trim_end_matches('s'),
            if value == 1 { "" } else { "s" }
        ));
    }
    Ok(Schedule::Rate { value, unit })
}

fn parse_cron(inner: &str) -> Result<Cron, String> {
    let parts: Vec<&str> = inner.split_whitespace().collect();
    if parts.len() != 6 {
        return Err(format!(
            "a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), found {}",
            parts.len()
        ));
    }
    let (dom, dow) = (parts[2], parts[4]);
    if (dom == "?") == (dow == "?") {
        return Err(
            "exactly one of day-of-month (3rd field) and day-of-week (5th field) must be `?`"
                .into(),
        );
    }
    let limits: [(u32, u32); 6] = [(0, 59), (0, 23), (1, 31), (1, 12), (1, 7), (1970, 2199)];
    for (i, p) in parts.iter().enumerate() {
        check_field(p, i, limits[i]).map_err(|e| format!("{} field `{p}`: {e}", FIELD_NAMES[i]))?;
    }
    Ok(Cron {
        fields: std::array::from_fn(|i| parts[i].to_owned()),
    })
}

fn check_field(f: &str, i: usize, (lo, hi): (u32, u32)) -> Result<(), String> {
    if f == "*" {
        return Ok(());
    }
    if f == "?" {
        return if i == 2 || i == 4 {
            Ok(())
        } else {
            Err("`?` is only for day-of-month or day-of-week".into())
        };
    }
    if i == 2 && (f == "L" || f == "LW") {
        return Ok(());
    }
    for part in f.split(',') {
        if part.is_empty() {
            return Err("empty list item".into());
        }
        if i == 2 && part.ends_with('W') {
            num(&part[..part.len() - 1], i, lo, hi)?;
            continue;
        }
        if i == 4 {
            if let Some((d, n)) = part.split_once('#') {
                num(d, i, lo, hi)?;
                let n: u32 = n.parse().map_err(|_| format!("`{n}` is not a number"))?;
                if !(1..=5).contains(&n) {
                    return Err("`#` takes 1 to 5".into());
                }
                continue;
            }
            if part.len() > 1 && part.ends_with('L') {
                num(&part[..part.len() - 1], i, lo, hi)?;
                continue;
            }
        }
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (part, None),
        };
        if let Some(s) = step {
            let s: u32 = s
                .parse()
                .map_err(|_| format!("step `{s}` is not a number"))?;
            if s == 0 || s > hi {
                return Err(format!("step {s} is out of range"));
            }
        }
        if range == "*" {
            continue;
        }
        match range.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(a, i, lo, hi)?, num(b, i, lo, hi)?);
                if a > b && i != 4 {
                    return Err(format!("range {a}-{b} runs backwards"));
                }
            }
            None => {
                num(range, i, lo, hi)?;
            }
        }
    }
    Ok(())
}

fn num(s: &str, i: usize, lo: u32, hi: u32) -> Result<u32, String> {
    let named = match i {
        3 => MONTHS
            .iter()
            .position(|m| m.eq_ignore_ascii_case(s))
            .map(|p| p as u32 + 1),
        4 => DAYS
            .iter()
            .position(|d| d.eq_ignore_ascii_case(s))
            .map(|p| p as u32 + 1),
        _ => None,
    };
    let v = match named {
        Some(v) => v,
        None => s
            .parse::<u32>()
            .map_err(|_| format!("`{s}` is not a number"))?,
    };
    if v < lo || v > hi {
        return Err(format!("{v} is outside {lo}–{hi}"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_expressions() {
        for ok in [
            "cron(15 * * * ? *)",
            "cron(0 2 ? * MON-FRI *)",
            "cron(0/15 8-18 ? * 2-6 *)",
            "cron(0 0 L * ? *)",
            "cron(0 12 ? * 6#3 *)",
            "rate(1 hour)",
            "rate(15 minutes)",
            "rate(2 days)",
        ] {
            assert!(
                Schedule::parse(ok).is_ok(),
                "{ok}: {:?}",
                Schedule::parse(ok)
            );
        }
    }

    #[test]
    fn rejects_invalid_expressions() {
        for bad in [
            "cron(* * * * *)",
            "cron(0 0 * * * *)",
            "cron(60 * * * ? *)",
            "cron(0 24 * * ? *)",
            "cron(0 0 ? FOO * *)",
            "rate(1 hours)",
            "rate(5 minute)",
            "rate(0 minutes)",
            "rate(1 week)",
            "every hour",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn glue_conversion() {
        let g = |s: &str| Schedule::parse(s).unwrap().to_glue_cron();
        assert_eq!(g("rate(1 hour)").unwrap(), "cron(0 * * * ? *)");
        assert_eq!(g("rate(15 minutes)").unwrap(), "cron(0/15 * * * ? *)");
        assert_eq!(g("rate(6 hours)").unwrap(), "cron(0 0/6 * * ? *)");
        assert_eq!(g("rate(1 day)").unwrap(), "cron(0 0 * * ? *)");
        assert!(g("rate(7 minutes)").is_err());
        assert!(g("rate(1 minute)").is_err());
        assert!(g("cron(* * * * ? *)").is_err());
        assert!(g("cron(0/2 * * * ? *)").is_err());
    }

    #[test]
    fn run_counts() {
        let r = |s: &str| Schedule::parse(s).unwrap().runs_per_month();
        assert_eq!(r("rate(1 hour)"), 720.0);
        assert_eq!(r("cron(15 * * * ? *)"), 720.0);
        assert_eq!(r("cron(0 2 * * ? *)"), 30.0);
        assert_eq!(r("cron(0/15 * * * ? *)"), 4.0 * 24.0 * 30.0);
    }
}
