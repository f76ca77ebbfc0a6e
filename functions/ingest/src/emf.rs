//! CloudWatch embedded metric format (EMF): one JSON line per request on stdout, which
//! CloudWatch Logs turns into metrics in namespace `pipewright`. A stored request gets
//! [`line`]; a request refused as a whole gets [`refused_line`] (`RequestsRefused`, also
//! per HTTP status); a request answered from its idempotency record gets
//! [`replayed_line`] (`RequestsReplayed`).

use serde_json::json;

pub const NAMESPACE: &str = "pipewright";

/// The per-request figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Metrics {
    pub events_accepted: u64,
    pub events_rejected: u64,
    /// Bodies that were not JSON at all.
    pub malformed_bodies: u64,
    /// Body bytes after decompression.
    pub bytes_received: u64,
    /// Gzip bytes written to S3 (raw and rejected objects).
    pub bytes_stored: u64,
}

/// The EMF line (without newline).
pub fn line(
    pipeline: &str,
    source: &str,
    request_id: &str,
    timestamp_millis: i64,
    m: &Metrics,
) -> String {
    json!({
        "_aws": {
            "Timestamp": timestamp_millis,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["pipeline", "source"]],
                "Metrics": [
                    {"Name": "EventsAccepted", "Unit": "Count"},
                    {"Name": "EventsRejected", "Unit": "Count"},
                    {"Name": "MalformedBodies", "Unit": "Count"},
                    {"Name": "BytesReceived", "Unit": "Bytes"},
                    {"Name": "BytesStored", "Unit": "Bytes"}
                ]
            }]
        },
        "pipeline": pipeline,
        "source": source,
        "request_id": request_id,
        "EventsAccepted": m.events_accepted,
        "EventsRejected": m.events_rejected,
        "MalformedBodies": m.malformed_bodies,
        "BytesReceived": m.bytes_received,
        "BytesStored": m.bytes_stored,
    })
    .to_string()
}

/// Source dimension value of a request whose route matched no source (404).
pub const UNROUTED: &str = "(unrouted)";

/// The EMF line of a request refused as a whole (4xx without storing anything: 404,
/// 405, 409, 413, 415, 400 for a bad header or an empty body). `RequestsRefused` = 1,
/// by pipeline + source and by pipeline + source + status.
pub fn refused_line(
    pipeline: &str,
    source: &str,
    request_id: &str,
    timestamp_millis: i64,
    status: u16,
) -> String {
    json!({
        "_aws": {
            "Timestamp": timestamp_millis,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["pipeline", "source"], ["pipeline", "source", "status"]],
                "Metrics": [{"Name": "RequestsRefused", "Unit": "Count"}]
            }]
        },
        "pipeline": pipeline,
        "source": source,
        "status": status.to_string(),
        "request_id": request_id,
        "RequestsRefused": 1,
    })
    .to_string()
}

/// The EMF line of a request answered with the stored first response of its
/// idempotency key (nothing written). `RequestsReplayed` = 1, by pipeline + source.
pub fn replayed_line(
    pipeline: &str,
    source: &str,
    request_id: &str,
    timestamp_millis: i64,
    status: u16,
) -> String {
    json!({
        "_aws": {
            "Timestamp": timestamp_millis,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["pipeline", "source"]],
                "Metrics": [{"Name": "RequestsReplayed", "Unit": "Count"}]
            }]
        },
        "pipeline": pipeline,
        "source": source,
        "status": status.to_string(),
        "request_id": request_id,
        "RequestsReplayed": 1,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Every dimension named has a string value, and every metric declared has a
    /// numeric value: what CloudWatch needs to extract the metrics.
    fn assert_extractable(l: &str) -> Value {
        assert!(!l.contains('\n'));
        let v: Value = serde_json::from_str(l).unwrap();
        let d = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(d["Namespace"], "pipewright");
        for dims in d["Dimensions"].as_array().unwrap() {
            for dim in dims.as_array().unwrap() {
                assert!(v[dim.as_str().unwrap()].is_string(), "{dim} has no value");
            }
        }
        for m in d["Metrics"].as_array().unwrap() {
            let n = m["Name"].as_str().unwrap();
            assert!(v[n].is_u64(), "metric {n} has no value");
        }
        v
    }

    #[test]
    fn refusals_count_by_source_and_status() {
        let v = assert_extractable(&refused_line("shop", "pos", "r", 5, 413));
        assert_eq!(v["RequestsRefused"], 1);
        assert_eq!(v["status"], "413");
        assert_eq!(v["_aws"]["Timestamp"], 5);
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["pipeline", "source"], ["pipeline", "source", "status"]])
        );
        let v = assert_extractable(&replayed_line("shop", "pos", "r", 5, 207));
        assert_eq!(v["RequestsReplayed"], 1);
        assert_eq!(v["status"], "207");
        assert_eq!(v["source"], "pos");
    }

    #[test]
    fn every_declared_metric_has_a_value_and_dimensions_exist() {
        let m = Metrics {
            events_accepted: 3,
            events_rejected: 1,
            malformed_bodies: 0,
            bytes_received: 1000,
            bytes_stored: 200,
        };
        let l = line("shop", "pos", "req-1", 1_795_773_248_123, &m);
        assert!(!l.contains('\n'));
        let v: Value = serde_json::from_str(&l).unwrap();
        let d = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(d["Namespace"], "pipewright");
        assert_eq!(v["_aws"]["Timestamp"], 1_795_773_248_123i64);
        for dims in d["Dimensions"].as_array().unwrap() {
            for dim in dims.as_array().unwrap() {
                assert!(
                    v[dim.as_str().unwrap()].is_string(),
                    "dimension {dim} has no value"
                );
            }
        }
        let names: Vec<&str> = d["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), 5);
        for n in names {
            assert!(v[n].is_u64(), "metric {n} has no value");
        }
        assert_eq!(
            (v["EventsAccepted"].as_u64(), v["BytesStored"].as_u64()),
            (Some(3), Some(200))
        );
        assert_eq!(
            (v["pipeline"].as_str(), v["source"].as_str()),
            (Some("shop"), Some("pos"))
        );
    }
}
