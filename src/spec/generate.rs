//! Synthetic specs of any size, for quota tests and benchmarks. Not used by the
//! compiler itself.

/// A valid spec with `n` sources and `t` transforms, each transform reading two
/// sources, in one PCI-DSS environment.
pub fn spec(n: usize, t: usize) -> String {
    let mut s = String::from(
        "version: 1\nname: big-fleet\nowner: load-test\nenvironments:\n  prod:\n    account: \"123456789012\"\n    region: eu-central-1\n    replica_region: eu-west-1\n    alarm_email: ops@example.com\nsources:\n",
    );
    for i in 0..n {
        s.push_str(&format!(
            "  s{i}:\n    route: /v1/group{}/s{i}\n    fields: {{ id: id, time: at, device: dev }}\n    schema:\n      version: 1.0.0\n      inline:\n        type: object\n        required: [id, at]\n        properties:\n          id: {{ type: string }}\n          at: {{ type: string, format: date-time }}\n          dev: {{ type: string }}\n          value: {{ type: number }}\n",
            i % 7
        ));
    }
    if t > 0 {
        s.push_str("transforms:\n");
    }
    for j in 0..t {
        s.push_str(&format!(
            "  t{j}:\n    inputs: [s{}, s{}]\n    columns: [{{ name: id }}, {{ name: value }}, {{ name: dev }}]\n    partition_by: [event_date]\n    schedule: cron({} * * * ? *)\n",
            (2 * j) % n,
            (2 * j + 1) % n,
            j % 60
        ));
    }
    s
}
