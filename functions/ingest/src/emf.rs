//! CloudWatch embedded metric format (EMF): one JSON line per request on stdout, which
//! CloudWatch Logs turns into metrics in namespace `pipewright`.

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

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
