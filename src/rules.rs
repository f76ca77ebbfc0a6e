//! The catalogue of diagnostic codes: one entry per rule, with its name and a short
//! explanation. `pipewright explain CODE`, the docs and the tests all read this table,
//! so a code never exists without its documentation.

use crate::diag::Severity;

/// A rule: a stable code, a kebab-case name, its default severity and what it means.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    pub explanation: &'static str,
}

const E: Severity = Severity::Error;
const W: Severity = Severity::Warning;

macro_rules! rules {
    ($( $code:literal $name:literal $sev:ident $summary:literal $expl:literal ;)*) => {
        /// Every rule, in code order.
        pub const RULES: &[Rule] = &[
            $( Rule { code: $code, name: $name, severity: $sev, summary: $summary, explanation: $expl }, )*
        ];
    };
}

rules! {
    "PW0001" "yaml-syntax" E "the file is not valid YAML"
        "The YAML parser stopped at the position shown. Common causes: tabs used for indentation, an unclosed quote or bracket, a key without a colon.";
    "PW0002" "not-utf8" E "the file is not UTF-8 text"
        "Specs and schema files must be UTF-8. The position of the first byte that is not valid UTF-8 is shown; re-save the file as UTF-8.";
    "PW0003" "empty-file" E "the file holds no YAML document"
        "The file is empty or holds only comments. A spec needs at least `version`, `name`, `owner`, `environments` and `sources`.";
    "PW0004" "duplicate-key" E "a key appears twice in one mapping"
        "YAML parsers disagree on which of two equal keys wins, so pipewright refuses them. Remove or rename one.";
    "PW0005" "unsupported-tag" E "a YAML tag other than `!!str` is used"
        "Specs are plain data. Custom tags (`!Ref`, `!include`, ...) are not interpreted; `!!str` may be used to force a string.";
    "PW0006" "multiple-documents" E "the file holds more than one YAML document"
        "A spec is one document. Remove the `---` separator and what follows it.";
    "PW0007" "too-deep" E "nesting is deeper than pipewright accepts"
        "Mappings and lists may nest at most 64 levels. No valid spec comes close; this guards against hostile input.";
    "PW0008" "too-large" E "the document has too many values"
        "At most 250,000 values are accepted, counting each alias expansion. This stops alias bombs (\"billion laughs\").";
    "PW0009" "bad-structure" E "the document does not have the shape of a spec"
        "The top level must be a mapping, keys must be scalars, and `<<` merges must merge mappings.";
    "PW0010" "file-too-big" E "the file is larger than 16 MiB"
        "Specs and event schemas are small text files; larger files are refused before they are parsed.";

    "PW0100" "unknown-key" E "a key that the spec language does not define"
        "Every mapping in a spec has a fixed set of keys. A typo is the usual cause; the closest known key is suggested.";
    "PW0101" "wrong-type" E "a value has the wrong type"
        "For example a list where a mapping is expected. `pipewright schema` prints the expected type of every key.";
    "PW0102" "missing-key" E "a required key is missing"
        "The mapping shown lacks a key that has no default.";
    "PW0103" "not-allowed" E "a value is not one of the allowed choices"
        "The key accepts a fixed set of values, which the message lists.";
    "PW0104" "out-of-range" E "a number is outside its allowed range"
        "The message gives the bound. Many bounds are AWS service limits.";
    "PW0105" "bad-format" E "a string does not have the required format"
        "For example an account id must be exactly 12 digits.";
    "PW0106" "bad-count" E "a list or mapping has too few or too many entries"
        "For example `sources` needs at least one source.";
    "PW0107" "bad-length" E "a string is too short or too long"
        "The message gives the allowed length.";
    "PW0108" "bad-value" E "a value does not fit the spec language"
        "The value fails a check of the spec's JSON Schema that has no more specific rule.";

    "PW0200" "unsupported-version" E "the spec's `version` is not supported"
        "This pipewright reads spec version 1.";
    "PW0201" "undefined-source" E "a reference to a source that is not defined"
        "Transforms, ML access, readers and environment overrides name sources; each must exist under `sources`.";
    "PW0202" "undefined-dataset" E "a reference to a dataset that no transform produces"
        "QuickSight principals, ML access and readers name datasets; each must be the `dataset` of a transform (or `index`).";
    "PW0203" "undefined-environment" E "an environment that is not defined"
        "`--env` must name a key of `environments`.";
    "PW0204" "undefined-transform" E "a reference to a transform that is not defined"
        "`after` and environment overrides name transforms; each must exist under `transforms`.";
    "PW0205" "duplicate-route" E "two sources use the same route"
        "Each source has its own API resource; routes must differ (compared without a trailing slash, case-sensitively).";
    "PW0206" "bad-route" E "a route is not a valid API Gateway path"
        "A route starts with `/`, has segments of letters, digits, `-`, `_` and `.`, and takes no path parameters.";
    "PW0207" "bad-name" E "a name does not follow pipewright's naming rules"
        "Pipeline names use lower-case letters, digits and `-`; environment names lower-case letters and digits; source, transform, dataset and column names lower-case letters, digits and `_`. They become parts of AWS resource names.";
    "PW0208" "bad-account" E "an AWS account id is not 12 digits"
        "Quote account ids in YAML: an unquoted `012345678901` is read as a number.";
    "PW0209" "bad-region" E "a string is not an AWS region name"
        "Region names look like `eu-west-2`, `us-gov-west-1` or `cn-north-1`.";
    "PW0210" "bad-schedule" E "a schedule is not a valid `cron(...)` or `rate(...)` expression"
        "cron takes six fields (minutes hours day-of-month month day-of-week year) and one of day-of-month/day-of-week must be `?`; rate takes `N unit` with unit minute(s), hour(s) or day(s).";
    "PW0211" "limit" E "a number breaks an AWS service limit"
        "The message names the limit (Lambda memory, API Gateway throttling, Glue workers, ...).";
    "PW0212" "invalid-event-schema" E "an event schema is not a valid JSON Schema"
        "Event schemas are checked against the JSON Schema meta-schema they declare (2020-12 when they declare none). Remote `$ref`s are not followed.";
    "PW0213" "event-schema-file" E "an event schema file cannot be used"
        "The file must exist, be relative to the spec's folder, stay inside it, and hold JSON or YAML.";
    "PW0214" "event-schema-source" E "an event schema gives both or neither of `file` and `inline`"
        "Give exactly one.";
    "PW0215" "bad-schema-version" E "a schema version is not `MAJOR.MINOR.PATCH`"
        "Versions are semantic versions; breaking changes need a new major version.";
    "PW0216" "unknown-field" E "a field path does not exist in the source's event schema"
        "Column `from` paths and `fields` entries must name properties that the event schema declares.";
    "PW0217" "bad-column-type" E "a column type is not one pipewright knows"
        "Types: string, boolean, int, bigint, double, date, timestamp, decimal(P,S).";
    "PW0218" "unknown-partition" E "a partition column is neither an output column nor a derived one"
        "Partition by output columns or by `event_date`, `event_hour`, `ingest_date`.";
    "PW0219" "trigger-conflict" E "a transform has more than one way to start"
        "Give one of `schedule`, `after` and `on_ingest`.";
    "PW0220" "cycle" E "transforms trigger each other in a cycle"
        "`after` must form a chain or tree, never a loop.";
    "PW0221" "duplicate-dataset" E "two transforms write the same dataset"
        "Each dataset is written by one transform.";
    "PW0222" "quota-needs-api-key" E "a quota is set on a source without API keys"
        "Quotas belong to usage plans, which need `auth: api_key`.";
    "PW0223" "lookup-not-indexed" E "a lookup is used but not declared in `index.lookups`"
        "ML access may only query the index through lookups the index has.";
    "PW0224" "needs-replica-region" E "`pci-dss` needs a replica region"
        "PCI-DSS evidence asks for cross-region replication of cardholder data stores; set `replica_region`.";
    "PW0225" "bad-replica-region" E "the replica region equals the environment's region or another partition"
        "Replication must go to another region of the same partition.";
    "PW0226" "bad-cidr" E "a CIDR block is not a valid private IPv4 range"
        "Use a /16 to /24 block inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16.";
    "PW0227" "bad-arn" E "a string is not a valid ARN of the expected kind"
        "ARNs look like `arn:aws:iam::123456789012:role/name`; `{account}`, `{region}` and `{partition}` are replaced per environment.";
    "PW0228" "bad-lifecycle" E "a lifecycle setting contradicts another"
        "Objects must move to the archive class before they expire, and archive classes have minimum storage durations.";
    "PW0229" "bad-email" E "an alarm e-mail address is not valid"
        "Give one address such as `oncall@example.com`.";
    "PW0230" "duplicate-column" E "two columns of a transform have the same name"
        "Column names must be unique within a dataset (partition columns included).";
    "PW0231" "service-unavailable" E "a feature is not available in the environment's partition or region"
        "For example QuickSight is not offered in the aws-cn partition.";

    "PW0232" "pci-auth" E "a source of a `pci-dss` environment does not both authenticate and meter its callers"
        "PCI-DSS asks that every caller be authenticated (requirement 8). An API key identifies a device but proves nothing: anyone holding it can post. In a `pci-dss` environment every source uses `auth: iam_and_api_key`: the device signs each request with SigV4 (for example with credentials from the AWS IoT credentials provider), and its API key puts it under the source's usage plan, whose throttle and quota API Gateway enforces. `iam` alone has no usage plan, and its per-route throttle would need a stage setting without the encrypted cache the posture asks for. An environment override (`environments.<env>.sources.<source>.auth`) may choose another mode where the posture is opted out.";

    "PW0240" "schema-version-down" E "a source's event schema version is lower than in the base spec"
        "`check --against` compares each source's event schema with the base spec (a git revision or a file). Versions only go up: data written under the newer version already exists, and the dataset and table of its major version stay.";
    "PW0241" "breaking-schema-change" E "an event schema changed incompatibly without a new major version"
        "Breaking: a field removed or renamed, a field's type changed (other than widened), a field made required, a required field added. Old events and curated files no longer fit. Either keep the change compatible (add optional fields, widen int to bigint or a decimal to more digits, make a field optional), or give the schema a new major version: the transform then writes `<dataset>_v<major>` (a new prefix, and a new table when the crawler runs) and the earlier dataset and table stay readable.";
    "PW0242" "schema-changed-same-version" W "an event schema changed compatibly but kept its version"
        "A compatible change adds columns to the dataset; give it a new minor version so that the index (`by_schema_version`) and readers can tell events written under it apart.";

    "PW0250" "sql-or-columns" E "a transform has both or neither of `columns` and `sql`"
        "A transform is either a projection of event fields (`columns`) or a Spark SQL query over its inputs (`sql`).";
    "PW0251" "sql-syntax" E "a transform's SQL does not parse"
        "The query is parsed as Spark SQL (sqlparser-rs, Databricks dialect); the error points at the first token that does not fit.";
    "PW0252" "sql-unknown-relation" E "a query reads a relation that is not one of the transform's inputs"
        "Each input is a relation named as in `inputs`: a source (its event fields plus `event_date`, `event_hour`, `ingest_date`) or a dataset another transform writes; `WITH` names and aliased sub-queries add more.";
    "PW0253" "sql-unknown-column" E "a query names a column that no relation in scope has, or one that several have"
        "Qualify a column that two joined relations share (`b.sailing_id`); the help suggests the nearest name.";
    "PW0254" "sql-type" E "a query combines values of types that do not fit"
        "Types follow Spark: arithmetic takes numbers, conditions are booleans, comparisons need comparable types, and functions take the types listed in the README. Cast with `CAST(x AS type)`.";
    "PW0255" "sql-not-grouped" E "a query uses a column outside `GROUP BY` and outside an aggregate, or an aggregate where none may be"
        "In a query with `GROUP BY` or aggregates every selected column is grouped or aggregated. Aggregates and window functions are not allowed in `WHERE`, `ON` or `GROUP BY`, nor inside another aggregate.";
    "PW0256" "sql-unsupported" E "a query uses SQL that transforms do not support"
        "Supported: one `SELECT` (with `WITH` and aliased sub-queries in `FROM`), inner and left joins with `ON`/`USING`, `WHERE`, `GROUP BY`, `HAVING`, inline windows. Not: UNION, ORDER BY, LIMIT, DISTINCT, right/full/cross joins, sub-queries in expressions. Nothing unsupported passes silently.";
    "PW0257" "sql-unknown-function" E "a query calls a function transforms do not know"
        "The known functions are Spark's aggregates, window functions and date/time, string, numeric and null functions listed in the README; each has its result type.";
    "PW0258" "sql-output-column" E "a query's output column has no name, an invalid name, or a name twice"
        "Output columns become the dataset's columns: name expressions with `AS name` (lower-case letters, digits and `_`), each once.";
    "PW0259" "sql-window" E "a window function is used without a window, or with one it cannot take"
        "Ranking and offset functions (`row_number`, `rank`, `lag`, `lead`, ...) need `OVER (... ORDER BY ...)`; only aggregates and `first_value`/`last_value` take a frame.";
    "PW0260" "sql-partition" E "a SQL transform does not output `event_date` or is not partitioned by it"
        "Each run reads the raw events of the dates new objects touch, recomputes the query for those dates and overwrites those partitions (dynamic partition overwrite), so a run after late data equals a full recompute. That needs the output's `event_date` (a date) as a partition column.";
    "PW0261" "sql-mixes-dates" E "a SQL transform would compute a row from events of several dates"
        "A run recomputes only the `event_date`s its new raw objects touch and overwrites those partitions, so a row may depend only on its own date's events: an aggregate groups by `event_date`, a join equates the two sides' `event_date`, a window is partitioned by it, and the output's `event_date` is an input's, unchanged. A query over several dates (a 7-day window, yesterday's total) would be recomputed from part of its events after late data; pipewright refuses it rather than write a wrong table.";
    "PW0265" "bad-dashboard" E "a dashboard's name or audience is not valid"
        "Dashboard names are lower-case letters, digits, `_` and `-`. Its audience lists QuickSight principals declared in `analytics.quicksight.principals`.";
    "PW0266" "dashboard-audience-access" E "a dashboard uses a data set its audience may not read"
        "Every principal of a dashboard's audience must list each data set the dashboard uses in `analytics.quicksight.principals`; a dashboard never shows an audience data it could not query itself.";
    "PW0267" "unknown-dashboard-column" E "a dashboard field names a column its data set does not have"
        "Measures, dimensions, `time`, `sort.by`, filters and the date-range control name output columns of the visual's data set (a transform's columns and partitions; `item` for `index`).";
    "PW0268" "bad-aggregation" E "a measure's aggregation or a field's use does not suit the column's type"
        "`sum` and `avg` need a numeric column; `min` and `max` a numeric, date or timestamp one; `count` and `distinct_count` take any. `time` and the date-range control need a date or timestamp column; filters a string or boolean one; lists and objects cannot be grouped by.";
    "PW0269" "bad-visual" E "a visual's fields do not fit its type"
        "kpi: one measure and nothing to group by. line: `time` and measures. bar: measures by one or two of `dimensions`/`time`. pie: one measure by one of them. heat_map: one measure by two. table: any dimensions and measures. `sort.by` names a field the visual uses.";
    "PW0280" "training-input-not-granted" E "a training input source is not in `ml.sources`, or is listed twice"
        "The training pipeline reads raw objects only under the prefixes `ml.sources` grants; its roles are built from that grant. List each input source once, and grant it in `ml.sources`.";
    "PW0281" "training-lookup-not-granted" E "the training manifest step needs an index lookup `ml.index_lookups` does not grant"
        "The manifest step finds a run's raw objects through the index: by source and date (`by_source_date`) always, and by schema version (`by_schema_version`) when `inputs.schema_versions` names versions. Its role may query only the lookups `ml.index_lookups` grants.";
    "PW0282" "bad-training-schema-version" E "a training input schema version is not `MAJOR.MINOR.PATCH`"
        "The index records each object's schema version as the source's `event_schema.version` (`1.2.0`); a version written otherwise matches nothing.";
    "PW0283" "bad-instance-type" E "a training instance type is not `ml.<family>.<size>`"
        "SageMaker training instance types look like `ml.m5.xlarge`. Whether the type is offered in a region is known only to SageMaker; `deploy` reports it.";
    "PW0284" "bad-hyperparameter" E "a hyperparameter the algorithm does not take, or longer than SageMaker accepts"
        "Built-in algorithms refuse unknown hyperparameters when the job starts. pipewright knows the documented hyperparameters of each algorithm it supports and suggests the closest. SageMaker accepts at most 100 hyperparameters, names of up to 256 and values of up to 2,500 characters.";
    "PW0285" "missing-hyperparameter" E "a hyperparameter the algorithm requires is missing"
        "Random Cut Forest needs `feature_dim`; XGBoost needs `num_round`. A training job without them fails when it starts.";
    "PW0286" "bad-training-schedule" E "the training schedule is not a valid `cron(...)` or `rate(...)`"
        "EventBridge Scheduler starts the training pipeline on this schedule.";
    "PW0287" "algorithm-not-in-region" E "pipewright has no image of the training algorithm for an environment's region"
        "Built-in algorithm images live in a SageMaker registry account per region (`data/sagemaker-algorithms.json`, from AWS's published table). A region missing from the table cannot run the algorithm, or pipewright does not know its registry yet.";

    "PW0300" "resource-name" E "a generated AWS resource name breaks the service's naming rules"
        "Names are built from the pipeline name, the environment and the component; the message gives the name, the rule and which part to shorten.";
    "PW0301" "quota" E "a generated stack or policy exceeds a CloudFormation or IAM quota"
        "Stacks hold at most 500 resources, 200 outputs and 60 parameters; template bodies at most 1 MB.";

    "PW0900" "no-auth" W "a source accepts requests without authentication"
        "Anyone who finds the URL can post events. Use `api_key` or `iam` unless the route is protected elsewhere.";
    "PW0901" "compliance-opt-out" W "an environment opts out of the default compliance posture"
        "`compliance: []` drops the VPC, endpoints and replication that PCI-DSS asks for. Fine for dev; never for data in scope.";
    "PW0902" "transform-never-runs" W "a transform has no schedule, no `after` and no `on_ingest`"
        "It will only run when started by hand.";
    "PW0903" "source-unused" W "no transform reads a source"
        "Its raw events are kept but never curated.";
    "PW0904" "data-not-retained" W "an environment deletes data with its stacks"
        "`retain_data: false` lets a stack deletion or replacement delete buckets, the table and the key.";
    "PW0905" "no-alarm-email" W "an environment has no alarm e-mail"
        "Alarms fire to an SNS topic with no subscriber; set `alarm_email` or subscribe to the topic yourself.";
}

/// Looks a rule up by code (`PW0201`) or name (`undefined-source`).
pub fn find(key: &str) -> Option<&'static Rule> {
    let k = key.trim();
    RULES
        .iter()
        .find(|r| r.code.eq_ignore_ascii_case(k) || r.name.eq_ignore_ascii_case(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_ordered() {
        for w in RULES.windows(2) {
            assert!(w[0].code < w[1].code, "{} before {}", w[0].code, w[1].code);
        }
        let mut names: Vec<_> = RULES.iter().map(|r| r.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), RULES.len());
    }

    #[test]
    fn every_code_used_in_the_source_is_catalogued() {
        // Scan the crate's own source for diagnostic codes.
        let mut missing = Vec::new();
        for entry in walk(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))) {
            let text = std::fs::read_to_string(&entry).unwrap();
            for (i, _) in text.match_indices("\"PW") {
                let code = &text[i + 1..i + 7];
                if code[2..].chars().all(|c| c.is_ascii_digit()) && find(code).is_none() {
                    missing.push(format!("{code} in {}", entry.display()));
                }
            }
        }
        assert!(missing.is_empty(), "uncatalogued codes: {missing:?}");
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
        out
    }
}
