//! The price book: AWS's published on-demand prices per region, read from
//! `data/prices.json` (compiled in) or a file given with `--prices`.
//!
//! Every price is a named field, so a price book that lacks one fails to load with
//! the field's name rather than pricing it at zero; `sources` names the page each
//! price was read from.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The committed price book.
pub const BUILTIN: &str = include_str!("../../data/prices.json");
/// Where the committed price book lives, for messages.
pub const BUILTIN_PATH: &str = "data/prices.json";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PriceBook {
    /// ISO date the prices were read.
    pub read: String,
    pub currency: String,
    /// A note on what the book holds and what it leaves out.
    #[serde(default)]
    pub note: String,
    /// Price field → the page it was read from.
    pub sources: BTreeMap<String, String>,
    pub regions: BTreeMap<String, RegionPrices>,
}

/// One region's prices. Units are in the field names.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RegionPrices {
    /// `read`: checked against the cited pages on the book's date; anything else
    /// (e.g. `unverified`) is shown to the user as a warning.
    pub status: String,
    pub apigw_rest_per_million: f64,
    pub apigw_cache_0_5_gb_hour: f64,
    pub lambda_requests_per_million: f64,
    pub lambda_gb_second_x86_64: f64,
    pub lambda_gb_second_arm64: f64,
    pub s3_standard_gb_month: f64,
    pub s3_standard_ia_gb_month: f64,
    pub s3_glacier_ir_gb_month: f64,
    pub s3_glacier_gb_month: f64,
    pub s3_deep_archive_gb_month: f64,
    pub s3_put_per_1000: f64,
    pub s3_get_per_1000: f64,
    pub s3_transition_standard_ia_per_1000: f64,
    pub s3_transition_glacier_ir_per_1000: f64,
    pub s3_transition_glacier_per_1000: f64,
    pub s3_transition_deep_archive_per_1000: f64,
    pub dynamodb_write_per_million: f64,
    pub dynamodb_read_per_million: f64,
    pub dynamodb_storage_gb_month: f64,
    pub dynamodb_export_gb: f64,
    pub dynamodb_pitr_gb_month: f64,
    pub glue_dpu_hour: f64,
    pub glue_crawler_dpu_hour: f64,
    pub athena_per_tb: f64,
    pub kms_key_month: f64,
    pub kms_per_10000: f64,
    pub vpc_endpoint_hour: f64,
    pub vpc_endpoint_gb: f64,
    pub inter_region_gb: f64,
    pub logs_ingest_gb: f64,
    pub logs_storage_gb_month: f64,
    pub cloudwatch_alarm_month: f64,
}

/// The field names of [`RegionPrices`] that are prices (every one needs a source).
pub fn price_fields() -> Vec<String> {
    let example = serde_json::to_value(RegionPrices::zero()).expect("serialises");
    example
        .as_object()
        .map(|o| o.keys().filter(|k| *k != "status").cloned().collect())
        .unwrap_or_default()
}

impl RegionPrices {
    /// Every price 0: for an estimate of quantities only, in a region the book lacks.
    pub fn zero() -> RegionPrices {
        serde_json::from_value(serde_json::json!({
            "status": "",
            "apigw_rest_per_million": 0.0, "apigw_cache_0_5_gb_hour": 0.0, "lambda_requests_per_million": 0.0,
            "lambda_gb_second_x86_64": 0.0, "lambda_gb_second_arm64": 0.0,
            "s3_standard_gb_month": 0.0, "s3_standard_ia_gb_month": 0.0,
            "s3_glacier_ir_gb_month": 0.0, "s3_glacier_gb_month": 0.0,
            "s3_deep_archive_gb_month": 0.0, "s3_put_per_1000": 0.0, "s3_get_per_1000": 0.0,
            "s3_transition_standard_ia_per_1000": 0.0, "s3_transition_glacier_ir_per_1000": 0.0,
            "s3_transition_glacier_per_1000": 0.0, "s3_transition_deep_archive_per_1000": 0.0,
            "dynamodb_write_per_million": 0.0, "dynamodb_read_per_million": 0.0,
            "dynamodb_storage_gb_month": 0.0, "dynamodb_export_gb": 0.0, "dynamodb_pitr_gb_month": 0.0,
            "glue_dpu_hour": 0.0, "glue_crawler_dpu_hour": 0.0, "athena_per_tb": 0.0,
            "kms_key_month": 0.0, "kms_per_10000": 0.0, "vpc_endpoint_hour": 0.0,
            "vpc_endpoint_gb": 0.0, "inter_region_gb": 0.0, "logs_ingest_gb": 0.0,
            "logs_storage_gb_month": 0.0, "cloudwatch_alarm_month": 0.0
        }))
        .expect("all fields")
    }
}

/// Why a price book cannot be used.
#[derive(Debug)]
pub enum PriceError {
    Parse(String),
    MissingRegion {
        region: String,
        covered: Vec<String>,
    },
}

impl std::fmt::Display for PriceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PriceError::Parse(m) => write!(f, "{m}"),
            PriceError::MissingRegion { region, covered } => write!(
                f,
                "no price data for region `{region}` (the price book covers {}); pass --prices FILE with a `{region}` entry",
                covered.join(", ")
            ),
        }
    }
}

impl PriceBook {
    /// Parses and checks a price book: every price non-negative and finite, every
    /// price field cited.
    pub fn parse(text: &str, what: &str) -> Result<PriceBook, PriceError> {
        let book: PriceBook =
            serde_json::from_str(text).map_err(|e| PriceError::Parse(format!("{what}: {e}")))?;
        for (region, p) in &book.regions {
            let v = serde_json::to_value(p).expect("serialises");
            for (k, x) in v.as_object().into_iter().flatten() {
                if let Some(n) = x.as_f64()
                    && (!n.is_finite() || n < 0.0)
                {
                    return Err(PriceError::Parse(format!(
                        "{what}: regions.{region}.{k} is {n}; prices are non-negative numbers"
                    )));
                }
            }
        }
        for f in price_fields() {
            if !book.sources.contains_key(&f) {
                return Err(PriceError::Parse(format!(
                    "{what}: sources.{f} is missing; every price cites the page it was read from"
                )));
            }
        }
        Ok(book)
    }

    pub fn builtin() -> PriceBook {
        PriceBook::parse(BUILTIN, BUILTIN_PATH).expect("the committed price book parses")
    }

    pub fn region(&self, region: &str) -> Result<&RegionPrices, PriceError> {
        self.regions
            .get(region)
            .ok_or_else(|| PriceError::MissingRegion {
                region: region.to_owned(),
                covered: self.regions.keys().cloned().collect(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_book_cites_every_price_and_covers_the_test_specs_regions() {
        let b = PriceBook::builtin();
        for r in [
            "us-east-1",
            "eu-west-2",
            "eu-west-1",
            "ap-southeast-2",
            "us-gov-west-1",
            "us-gov-east-1",
        ] {
            assert!(b.region(r).is_ok(), "{r}");
        }
        for (f, url) in &b.sources {
            assert!(url.starts_with("https://"), "{f}: {url}");
        }
    }

    #[test]
    fn missing_region_is_a_clear_error() {
        let e = PriceBook::builtin().region("mars-north-1").unwrap_err();
        let m = e.to_string();
        assert!(m.contains("mars-north-1") && m.contains("--prices"), "{m}");
    }

    #[test]
    fn negative_or_uncited_prices_are_refused() {
        let mut v: serde_json::Value = serde_json::from_str(BUILTIN).unwrap();
        v["regions"]["us-east-1"]["s3_put_per_1000"] = serde_json::json!(-1.0);
        let e = PriceBook::parse(&v.to_string(), "x.json").unwrap_err();
        assert!(e.to_string().contains("s3_put_per_1000"), "{e}");
        let mut v: serde_json::Value = serde_json::from_str(BUILTIN).unwrap();
        v["sources"]
            .as_object_mut()
            .unwrap()
            .remove("athena_per_tb");
        let e = PriceBook::parse(&v.to_string(), "x.json").unwrap_err();
        assert!(e.to_string().contains("sources.athena_per_tb"), "{e}");
        let mut v: serde_json::Value = serde_json::from_str(BUILTIN).unwrap();
        v["regions"]["us-east-1"]
            .as_object_mut()
            .unwrap()
            .remove("glue_dpu_hour");
        let e = PriceBook::parse(&v.to_string(), "x.json").unwrap_err();
        assert!(e.to_string().contains("glue_dpu_hour"), "{e}");
    }
}
