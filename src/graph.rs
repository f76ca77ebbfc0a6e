//! The pipeline's topology, drawn from the plan: every component is a node, every
//! plan flow an edge labelled with the access it needs, pointing the way the data
//! moves (a writer points at the prefix it writes, a prefix at its reader).
//!
//! [`build`] turns a [`Plan`] into a [`Graph`]; [`Graph::dot`] and
//! [`Graph::mermaid`] render it. Nodes, clusters and edges are kept in ordered
//! maps, so the same plan always draws the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::plan::{Access, BucketId, Plan, Principal, Trigger};

/// What kind of thing a node is; decides its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Devices posting events, external readers.
    Outside,
    Api,
    Function,
    Job,
    Store,
    Table,
    Queue,
    Service,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub label: String,
    pub kind: Kind,
    /// Cluster id (a bucket), if it is drawn inside one.
    pub cluster: Option<String>,
}

/// An edge with the accesses it carries (several flows may share one edge).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub label: String,
}

#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub title: String,
    pub nodes: BTreeMap<String, Node>,
    /// Cluster id → label.
    pub clusters: BTreeMap<String, String>,
    pub edges: BTreeSet<Edge>,
}

impl Graph {
    fn node(&mut self, id: &str, label: impl Into<String>, kind: Kind) -> String {
        self.nodes.entry(id.to_owned()).or_insert_with(|| Node {
            label: label.into(),
            kind,
            cluster: None,
        });
        id.to_owned()
    }

    fn edge(&mut self, from: &str, to: &str, label: impl Into<String>) {
        self.edges.insert(Edge {
            from: from.to_owned(),
            to: to.to_owned(),
            label: label.into(),
        });
    }

    /// The node of a prefix inside a bucket (the bucket is a cluster).
    fn prefix(&mut self, plan: &Plan, bucket: BucketId, prefix: &str) -> String {
        let b = bucket.key();
        let cluster = format!("bucket_{b}");
        let name = plan
            .buckets
            .get(&bucket)
            .map_or_else(|| b.to_owned(), |p| p.name.clone());
        self.clusters
            .entry(cluster.clone())
            .or_insert_with(|| format!("S3 {b}: {name}"));
        let id = format!("{b}:{prefix}");
        self.nodes.entry(id.clone()).or_insert_with(|| Node {
            label: prefix.to_owned(),
            kind: Kind::Store,
            cluster: Some(cluster),
        });
        id
    }
}

/// The node a role's flows start from: the component that runs as the role.
fn principal_node(g: &mut Graph, plan: &Plan, p: &Principal) -> String {
    match p {
        Principal::External(arn) => g.node(&format!("reader:{arn}"), arn.clone(), Kind::Outside),
        Principal::Role(r) => {
            if r == "ingest" {
                return g.node(
                    "function:ingest",
                    format!("Lambda {}", plan.function_name),
                    Kind::Function,
                );
            }
            if r == "apigw-logs" {
                return api_node(g, plan);
            }
            if let Some(t) = plan.transforms.iter().find(|t| &t.role == r) {
                return g.node(
                    &format!("job:{}", t.name),
                    format!("Glue job {}", t.job_name),
                    Kind::Job,
                );
            }
            match r.as_str() {
                "crawler" => g.node(
                    "crawler",
                    format!("Glue crawler {}", plan.crawler_name),
                    Kind::Job,
                ),
                q if q.starts_with("quicksight-") => g.node(
                    q,
                    format!("QuickSight ({})", &q["quicksight-".len()..]),
                    Kind::Service,
                ),
                "sagemaker" => g.node("sagemaker", "SageMaker training", Kind::Service),
                "index-export" => g.node(
                    "index-export",
                    "scheduled index export (EventBridge Scheduler)",
                    Kind::Job,
                ),
                "replication" => g.node("replication", "S3 replication", Kind::Service),
                "training-pipeline" | "manifest" | "training-schedule" => training_node(g, plan, r),
                other => {
                    let label = plan
                        .roles
                        .get(other)
                        .map_or_else(|| other.to_owned(), |rp| rp.purpose.clone());
                    g.node(&format!("role:{other}"), label, Kind::Service)
                }
            }
        }
    }
}

/// The training pipeline's parts (`ml.training`): the pipeline, its manifest function
/// and its schedule.
fn training_node(g: &mut Graph, plan: &Plan, role: &str) -> String {
    let t = plan.training.as_ref();
    let name = |f: fn(&crate::plan::TrainingPlan) -> &String| t.map(f).cloned().unwrap_or_default();
    match role {
        "manifest" => g.node(
            "function:manifest",
            format!("Lambda {} (training manifest)", name(|t| &t.function_name)),
            Kind::Function,
        ),
        "training-schedule" => g.node(
            "training-schedule",
            format!(
                "training schedule {} (EventBridge Scheduler)",
                name(|t| &t.schedule)
            ),
            Kind::Job,
        ),
        _ => g.node(
            "training-pipeline",
            format!("SageMaker pipeline {}", name(|t| &t.pipeline_name)),
            Kind::Job,
        ),
    }
}

fn api_node(g: &mut Graph, plan: &Plan) -> String {
    g.node(
        "api",
        format!("API Gateway {} (stage {})", plan.api_name, plan.stage),
        Kind::Api,
    )
}

fn table_node(g: &mut Graph, plan: &Plan) -> String {
    g.node(
        "index",
        format!("DynamoDB index {}", plan.table),
        Kind::Table,
    )
}

fn catalog_node(g: &mut Graph, plan: &Plan) -> String {
    g.node(
        "catalog",
        format!("Glue Data Catalog {}", plan.database),
        Kind::Table,
    )
}

fn logs_node(g: &mut Graph) -> String {
    g.node("logs", "CloudWatch Logs", Kind::Service)
}

/// The serialised kind of an access (`put-objects`).
pub fn access_kind(a: &Access) -> String {
    serde_json::to_value(a)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "access".to_owned())
}

/// Builds the graph of one environment's plan.
pub fn build(plan: &Plan) -> Graph {
    let mut g = Graph {
        title: format!("{} ({})", plan.pipeline, plan.env),
        ..Graph::default()
    };
    ingress(&mut g, plan);
    for f in &plan.flows {
        let who = principal_node(&mut g, plan, &f.principal);
        access_edges(&mut g, plan, &who, &f.access);
    }
    structure(&mut g, plan);
    g
}

/// Devices → API → function, one edge per route.
fn ingress(g: &mut Graph, plan: &Plan) {
    let api = api_node(g, plan);
    let func = principal_node(g, plan, &Principal::Role("ingest".into()));
    for r in &plan.routes {
        let src = g.node(
            &format!("source:{}", r.source),
            format!("{} devices", r.source),
            Kind::Outside,
        );
        let auth = serde_json::to_value(r.auth)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        g.edge(&src, &api, format!("POST {} ({auth})", r.route));
    }
    g.edge(&api, &func, "invoke (proxy)");
}

/// The edge(s) one flow draws from the node `who` runs as: towards what it writes,
/// from what it reads.
fn access_edges(g: &mut Graph, plan: &Plan, who: &str, access: &Access) {
    match access {
        Access::PutObjects { bucket, prefix } => {
            let p = g.prefix(plan, *bucket, prefix);
            g.edge(who, &p, "put objects");
        }
        Access::ReadObjects { bucket, prefix } => {
            let p = g.prefix(plan, *bucket, prefix);
            g.edge(&p, who, "read objects");
        }
        Access::ScratchObjects { bucket, prefix } => {
            let p = g.prefix(plan, *bucket, prefix);
            g.edge(who, &p, "read/write/delete objects");
        }
        Access::WriteItems => {
            let t = table_node(g, plan);
            g.edge(who, &t, "write items");
        }
        Access::ReadItems => {
            let t = table_node(g, plan);
            g.edge(&t, who, "read items");
        }
        Access::QueryIndex { index } => {
            let t = table_node(g, plan);
            g.edge(&t, who, format!("query {index}"));
        }
        Access::ExportTable { bucket, prefix } => {
            let t = table_node(g, plan);
            let p = g.prefix(plan, *bucket, prefix);
            g.edge(who, &t, "export table");
            g.edge(&t, &p, "point-in-time export");
        }
        Access::StartJob { job } => {
            let target = plan
                .transforms
                .iter()
                .find(|t| &t.job_name == job)
                .map_or_else(|| format!("job:{job}"), |t| format!("job:{}", t.name));
            let target = g.node(&target, format!("Glue job {job}"), Kind::Job);
            g.edge(who, &target, "start job run");
        }
        Access::WriteLogs { .. } | Access::PushApiLogs { .. } => {
            let l = logs_node(g);
            g.edge(who, &l, "write logs");
        }
        Access::SendMessages { queue } => {
            let q = g.node("dlq", format!("SQS dead-letter queue {queue}"), Kind::Queue);
            g.edge(who, &q, "send messages");
        }
        Access::ReadCatalog { .. } => {
            let c = catalog_node(g, plan);
            g.edge(&c, who, "read table definitions");
        }
        Access::UpdateCatalog { .. } => {
            let c = catalog_node(g, plan);
            g.edge(who, &c, "create/update tables");
        }
        Access::QueryAthena { workgroup } => {
            let a = g.node(
                &format!("athena:{workgroup}"),
                format!("Athena workgroup {workgroup}"),
                Kind::Service,
            );
            g.edge(&a, who, "query results");
        }
        Access::AttachToVpc => {
            let label = plan.network.as_ref().map_or_else(
                || "VPC".to_owned(),
                |n| format!("VPC {} (private subnets)", n.cidr),
            );
            let v = g.node("vpc", label, Kind::Service);
            g.edge(who, &v, "attach network interfaces");
        }
        Access::RegisterModels => {
            let label = plan.model_package_group.as_deref().map_or_else(
                || "model registry".to_owned(),
                |m| format!("model package group {m}"),
            );
            let m = g.node("models", label, Kind::Table);
            g.edge(who, &m, "register model versions");
        }
        Access::Replicate { from, to } => replication_edges(g, plan, who, *from, *to),
        Access::EncryptBookmarks => {
            let k = g.node("kms", format!("KMS key {}", plan.key_alias), Kind::Service);
            g.edge(who, &k, "encrypt bookmarks");
        }
        Access::InvokeFunction { .. } => {
            let f = training_node(g, plan, "manifest");
            g.edge(who, &f, "invoke (manifest step)");
        }
        Access::RunTrainingJobs { .. } => {
            let s = g.node("sagemaker", "SageMaker training", Kind::Service);
            g.edge(who, &s, "start training jobs");
        }
        Access::StartPipeline { .. } => {
            let p = training_node(g, plan, "training-pipeline");
            g.edge(who, &p, "start pipeline execution");
        }
        // An access added to the plan after this was written is still drawn,
        // as an edge to a node named after its kind.
        #[allow(unreachable_patterns)]
        other => {
            let kind = access_kind(other);
            let n = g.node(&format!("access:{kind}"), kind.clone(), Kind::Service);
            g.edge(who, &n, kind);
        }
    }
}

/// Source bucket → replication → destination bucket.
fn replication_edges(g: &mut Graph, plan: &Plan, who: &str, from: BucketId, to: BucketId) {
    // A bucket outside the environment's region says where it is.
    let label = |id: BucketId| {
        plan.buckets.get(&id).map_or_else(
            || id.key().to_owned(),
            |b| {
                if b.region == plan.region {
                    format!("S3 {}", b.name)
                } else {
                    format!("S3 {} ({})", b.name, b.region)
                }
            },
        )
    };
    let a = g.node(&format!("bucket:{}", from.key()), label(from), Kind::Store);
    let b = g.node(&format!("bucket:{}", to.key()), label(to), Kind::Store);
    g.edge(&a, who, "replicate");
    g.edge(who, &b, "replicate");
}

/// Structure that is not an IAM flow: triggers, and Athena reading the catalog.
fn structure(g: &mut Graph, plan: &Plan) {
    for t in &plan.transforms {
        let job = format!("job:{}", t.name);
        match &t.trigger {
            Trigger::Schedule { cron } => {
                let s = g.node(&format!("schedule:{}", t.name), cron.clone(), Kind::Outside);
                g.edge(&s, &job, "schedule");
            }
            Trigger::After { jobs } => {
                for j in jobs {
                    if let Some(up) = plan.transforms.iter().find(|x| &x.job_name == j) {
                        let up = format!("job:{}", up.name);
                        g.edge(&up, &job, "then");
                    }
                }
            }
            Trigger::OnIngest | Trigger::Manual => {}
        }
    }
    if g.nodes.contains_key("crawler") {
        for t in &plan.transforms {
            g.edge(&format!("job:{}", t.name), "crawler", "then crawl");
        }
    }
    if g.nodes.contains_key("athena") {
        let c = catalog_node(g, plan);
        g.edge(&c, "athena", "table definitions");
    }
}

/// Node ids safe in both DOT and Mermaid: letters, digits and `_`, readable, and
/// made unique by a counter (in node order) where two ids would collide.
fn idents(g: &Graph) -> BTreeMap<String, String> {
    let mut used = BTreeSet::new();
    let mut out = BTreeMap::new();
    let keys = g
        .nodes
        .keys()
        .chain(g.clusters.keys())
        .collect::<BTreeSet<_>>();
    for k in keys {
        let base = ident(k);
        let mut id = base.clone();
        let mut n = 2;
        while !used.insert(id.clone()) {
            id = format!("{base}_{n}");
            n += 1;
        }
        out.insert(k.clone(), id);
    }
    out
}

fn ident(id: &str) -> String {
    let mut s = String::from("n_");
    for c in id.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('_') {
            s.push('_');
        }
    }
    while s.len() > 2 && s.ends_with('_') {
        s.pop();
    }
    s
}

fn dot_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' | '\r' => o.push(' '),
            c if c.is_control() => {}
            c => o.push(c),
        }
    }
    o
}

fn mermaid_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => o.push_str("#quot;"),
            '#' => o.push_str("#35;"),
            '<' => o.push_str("#lt;"),
            '>' => o.push_str("#gt;"),
            '|' => o.push_str("#124;"),
            '\n' | '\r' => o.push(' '),
            c if c.is_control() => {}
            c => o.push(c),
        }
    }
    o
}

impl Graph {
    /// Graphviz DOT.
    pub fn dot(&self) -> String {
        let ids = idents(self);
        let ident = |k: &str| ids[k].clone();
        let mut o = String::new();
        let _ = writeln!(o, "digraph pipeline {{");
        let _ = writeln!(o, "  label=\"{}\";", dot_escape(&self.title));
        o.push_str("  labelloc=t;\n  rankdir=LR;\n  fontname=\"Helvetica\";\n");
        o.push_str("  node [fontname=\"Helvetica\", fontsize=10];\n");
        o.push_str("  edge [fontname=\"Helvetica\", fontsize=9];\n");
        let shape = |k: Kind| match k {
            Kind::Outside => "shape=plaintext",
            Kind::Api => "shape=box, style=rounded",
            Kind::Function | Kind::Job => "shape=box, style=\"rounded,bold\"",
            Kind::Store => "shape=folder",
            Kind::Table => "shape=cylinder",
            Kind::Queue => "shape=box, style=dashed",
            Kind::Service => "shape=box",
        };
        let node = |o: &mut String, indent: &str, id: &str, n: &Node| {
            let _ = writeln!(
                o,
                "{indent}{} [label=\"{}\", {}];",
                ident(id),
                dot_escape(&n.label),
                shape(n.kind)
            );
        };
        for (cid, clabel) in &self.clusters {
            let _ = writeln!(o, "  subgraph cluster{} {{", &ident(cid)[1..]);
            let _ = writeln!(o, "    label=\"{}\";", dot_escape(clabel));
            for (id, n) in self
                .nodes
                .iter()
                .filter(|(_, n)| n.cluster.as_ref() == Some(cid))
            {
                node(&mut o, "    ", id, n);
            }
            o.push_str("  }\n");
        }
        for (id, n) in self.nodes.iter().filter(|(_, n)| n.cluster.is_none()) {
            node(&mut o, "  ", id, n);
        }
        for e in &self.edges {
            let _ = writeln!(
                o,
                "  {} -> {} [label=\"{}\"];",
                ident(&e.from),
                ident(&e.to),
                dot_escape(&e.label)
            );
        }
        o.push_str("}\n");
        o
    }

    /// A Mermaid flowchart (renders in GitHub and GitLab Markdown).
    pub fn mermaid(&self) -> String {
        let ids = idents(self);
        let ident = |k: &str| ids[k].clone();
        let mut o = String::from("flowchart LR\n");
        let shape = |k: Kind, l: &str| match k {
            Kind::Outside => format!("[/\"{l}\"/]"),
            Kind::Api => format!("(\"{l}\")"),
            Kind::Function | Kind::Job => format!("[[\"{l}\"]]"),
            Kind::Store => format!("[\"{l}\"]"),
            Kind::Table => format!("[(\"{l}\")]"),
            Kind::Queue => format!(">\"{l}\"]"),
            Kind::Service => format!("[\"{l}\"]"),
        };
        for (cid, clabel) in &self.clusters {
            let _ = writeln!(
                o,
                "  subgraph {}[\"{}\"]",
                ident(cid),
                mermaid_escape(clabel)
            );
            for (id, n) in self
                .nodes
                .iter()
                .filter(|(_, n)| n.cluster.as_ref() == Some(cid))
            {
                let _ = writeln!(
                    o,
                    "    {}{}",
                    ident(id),
                    shape(n.kind, &mermaid_escape(&n.label))
                );
            }
            o.push_str("  end\n");
        }
        for (id, n) in self.nodes.iter().filter(|(_, n)| n.cluster.is_none()) {
            let _ = writeln!(
                o,
                "  {}{}",
                ident(id),
                shape(n.kind, &mermaid_escape(&n.label))
            );
        }
        for e in &self.edges {
            let _ = writeln!(
                o,
                "  {} -->|\"{}\"| {}",
                ident(&e.from),
                mermaid_escape(&e.label),
                ident(&e.to)
            );
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idents_are_safe_and_distinct() {
        assert_eq!(ident("raw:raw/pos/"), "n_raw_raw_pos");
        assert!(
            ident("x\"];evil")
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        );
        let mut g = Graph::default();
        g.node("a-b", "one", Kind::Service);
        g.node("a_b", "two", Kind::Service);
        g.node("A:b", "three", Kind::Service);
        let ids = idents(&g);
        let distinct: BTreeSet<_> = ids.values().collect();
        assert_eq!(distinct.len(), 3, "{ids:?}");
    }

    #[test]
    fn labels_cannot_break_out() {
        assert_eq!(dot_escape("a\"b\\c\nd"), "a\\\"b\\\\c d");
        assert_eq!(mermaid_escape("a\"|b<c>#"), "a#quot;#124;b#lt;c#gt;#35;");
    }
}
