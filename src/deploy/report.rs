//! Progress and results: one indicatif line per stack on a terminal, plain lines
//! otherwise (one per stack event, [`event_line`]), or one JSON object per event
//! (`--format json`) on stdout.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use super::Outcome;
use super::logic::{Change, Event};

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Style {
    Human,
    Json,
}

/// One stack event as one log line: its time (UTC, RFC 3339), the stack, the resource's
/// logical id and type, the status and, when CloudFormation gives one, the reason.
pub fn event_line(stack: &str, e: &Event) -> String {
    use aws_sdk_cloudformation::primitives::{DateTime, DateTimeFormat};
    let time = DateTime::from_millis(e.time_ms)
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_else(|_| e.time_ms.to_string());
    let mut line = format!(
        "{time} {stack} {} {} {}",
        e.logical_id, e.resource_type, e.status
    );
    if let Some(r) = e.reason.as_deref().filter(|r| !r.trim().is_empty()) {
        line.push_str(": ");
        line.extend(r.chars().map(|c| if c.is_control() { ' ' } else { c }));
    }
    line
}

pub struct Reporter {
    style: Style,
    /// `-q`: human mode says only results, errors and what an approval needs.
    quiet: bool,
    multi: Option<MultiProgress>,
    bars: Mutex<BTreeMap<String, (ProgressBar, Instant)>>,
    /// Every JSON line reported, for unit tests to read what a run said.
    #[cfg(test)]
    pub(super) lines: Mutex<Vec<serde_json::Value>>,
}

impl Reporter {
    pub fn new(style: Style, quiet: bool) -> Reporter {
        let multi = (style == Style::Human && !quiet && std::io::stderr().is_terminal())
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Reporter {
            style,
            quiet,
            multi,
            bars: Mutex::new(BTreeMap::new()),
            #[cfg(test)]
            lines: Mutex::new(Vec::new()),
        }
    }

    fn line(&self, v: serde_json::Value) {
        #[cfg(test)]
        {
            // println! goes through the test harness's capture; a raw stdout lock does not.
            println!("{v}");
            self.lines.lock().expect("lock").push(v);
        }
        #[cfg(not(test))]
        {
            let mut o = std::io::stdout().lock();
            let _ = writeln!(o, "{v}");
        }
    }

    /// Progress and information (human mode), which `-q` leaves out.
    fn say(&self, msg: &str) {
        if self.quiet {
            return;
        }
        self.tell(msg);
    }

    /// What is said even under `-q`: errors and failures.
    fn tell(&self, msg: &str) {
        match &self.multi {
            Some(m) => {
                let _ = m.println(msg);
            }
            None => eprintln!("{msg}"),
        }
    }

    pub fn info(&self, msg: &str) {
        match self.style {
            Style::Json => self.line(json!({"event": "info", "message": msg})),
            Style::Human => self.say(msg),
        }
    }

    pub fn error(&self, msg: &str) {
        match self.style {
            Style::Json => self.line(json!({"event": "error", "message": msg})),
            Style::Human => self.tell(&format!("error: {msg}")),
        }
    }

    /// A stack's operation begins: `deploying` or `deleting` its `total` resources.
    pub fn start(&self, stack: &str, total: u64, verb: &str) {
        match (&self.style, &self.multi) {
            (Style::Json, _) => {
                let operation = if verb == "deleting" {
                    "delete"
                } else {
                    "deploy"
                };
                self.line(json!({
                    "event": "stack-start", "stack": stack, "resources": total, "operation": operation,
                }))
            }
            (Style::Human, Some(m)) => {
                let pb = m.add(ProgressBar::new(total));
                pb.set_style(
                    ProgressStyle::with_template(
                        "{prefix:>40} [{bar:20}] {pos:>3}/{len:3} {elapsed:>4} {wide_msg}",
                    )
                    .expect("template")
                    .progress_chars("=> "),
                );
                pb.set_prefix(stack.to_string());
                pb.enable_steady_tick(Duration::from_millis(250));
                self.bars
                    .lock()
                    .expect("lock")
                    .insert(stack.to_string(), (pb, Instant::now()));
            }
            (Style::Human, None) => {
                self.bars
                    .lock()
                    .expect("lock")
                    .insert(stack.to_string(), (ProgressBar::hidden(), Instant::now()));
                self.say(&format!("{stack}: {verb} ({total} resources)"));
            }
        }
    }

    pub fn event(&self, stack: &str, e: &Event, done: u64) {
        match self.style {
            Style::Json => self.line(json!({
                "event": "resource", "stack": stack, "logical_id": e.logical_id,
                "type": e.resource_type, "status": e.status, "reason": e.reason,
            })),
            // Without a terminal (a CI log), one line per event, as `cdk deploy` prints.
            Style::Human if self.multi.is_none() => self.say(&event_line(stack, e)),
            Style::Human => {
                if let Some((pb, _)) = self.bars.lock().expect("lock").get(stack) {
                    pb.set_position(done);
                    pb.set_message(format!("{} {}", e.logical_id, e.status));
                }
            }
        }
    }

    pub fn note(&self, stack: &str, msg: &str) {
        match self.style {
            Style::Json => self.line(json!({"event": "note", "stack": stack, "message": msg})),
            Style::Human => self.say(&format!("{stack}: {msg}")),
        }
    }

    /// Ends a stack's line with `msg`; a failure (`always`) is said even under `-q`.
    fn finish_bar(&self, stack: &str, msg: String, always: bool) -> Duration {
        let (text, took) = match self.bars.lock().expect("lock").remove(stack) {
            Some((pb, t)) => {
                pb.finish_and_clear();
                if let Some(m) = &self.multi {
                    m.remove(&pb);
                }
                let took = t.elapsed();
                (
                    format!("{stack}: {msg} ({:.1} s)", took.as_secs_f64()),
                    took,
                )
            }
            None => (format!("{stack}: {msg}"), Duration::ZERO),
        };
        if always {
            self.tell(&text)
        } else {
            self.say(&text)
        }
        took
    }

    pub fn failed(&self, stack: &str, msg: &str) {
        match self.style {
            Style::Json => {
                self.line(json!({"event": "stack-failed", "stack": stack, "message": msg}))
            }
            Style::Human => {
                self.finish_bar(stack, format!("FAILED\n  {msg}"), true);
            }
        }
    }

    pub fn done(&self, stack: &str, outcome: &Outcome, outputs: &BTreeMap<String, String>) {
        let word = match outcome {
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::NoChange => "no changes",
            Outcome::Deleted => "deleted",
            Outcome::Absent => "not deployed",
            _ => "done",
        };
        match self.style {
            Style::Json => self.line(json!({
                "event": "stack-done", "stack": stack, "result": outcome, "outputs": outputs,
            })),
            Style::Human => {
                self.finish_bar(stack, word.to_string(), false);
            }
        }
    }

    pub fn upload(&self, key: &str, what: &str, bytes: usize, skipped: bool) {
        match self.style {
            Style::Json => self.line(json!({
                "event": "upload", "key": key, "what": what, "bytes": bytes, "skipped": skipped,
            })),
            Style::Human => self.say(&format!(
                "{} {what} → {key}{}",
                if skipped { "present" } else { "uploaded" },
                if skipped {
                    String::new()
                } else {
                    format!(" ({bytes} bytes)")
                }
            )),
        }
    }

    pub fn changes(&self, stack: &str, changes: &[Change]) {
        match self.style {
            Style::Json => {
                self.line(json!({"event": "changes", "stack": stack, "changes": changes}))
            }
            Style::Human => {
                let mut s = format!("{stack}: {} change(s)", changes.len());
                for c in changes {
                    s.push_str(&format!(
                        "\n  {:<8} {} ({})",
                        c.kind().as_str(),
                        c.logical_id,
                        c.resource_type
                    ));
                    if !c.forced_by.is_empty() {
                        s.push_str(&format!(" forced by {}", c.forced_by.join(", ")));
                    }
                }
                self.say(&s);
            }
        }
    }

    /// Asks a yes/no question on the terminal.
    pub fn ask(&self, q: &str) -> bool {
        let read = || {
            eprint!("{q}");
            let _ = std::io::stderr().flush();
            let mut a = String::new();
            let _ = std::io::stdin().read_line(&mut a);
            matches!(a.trim(), "y" | "Y" | "yes")
        };
        match &self.multi {
            Some(m) => m.suspend(read),
            None => read(),
        }
    }

    pub fn interrupted(&self, running: &[String]) {
        let msg = if running.is_empty() {
            "interrupted; no CloudFormation operation was running".to_string()
        } else {
            format!(
                "interrupted. CloudFormation keeps running the operations already started on: {}. \
                 Follow them in the console; a new `pipewright deploy` waits for them to finish",
                running.join(", ")
            )
        };
        if let Some(m) = &self.multi {
            let _ = m.clear();
        }
        match self.style {
            Style::Json => {
                self.line(json!({"event": "interrupted", "running": running, "message": msg}))
            }
            Style::Human => eprintln!("{msg}"),
        }
    }

    pub fn summary(&self, doc: &serde_json::Value, elapsed: Duration, failed: bool) {
        match self.style {
            Style::Json => self.line(json!({
                "event": "summary", "ok": !failed, "seconds": elapsed.as_secs_f64(), "result": doc,
            })),
            Style::Human => {
                let mut o = std::io::stdout().lock();
                if let Some(stacks) = doc["stacks"].as_object() {
                    for (name, s) in stacks {
                        let _ = writeln!(o, "{name}: {}", s["result"].as_str().unwrap_or("?"));
                        if let Some(outs) = s["outputs"].as_object() {
                            for (k, v) in outs {
                                let _ = writeln!(o, "  {k} = {}", v.as_str().unwrap_or(""));
                            }
                        }
                    }
                }
                let _ = writeln!(
                    o,
                    "{} in {:.1} s",
                    if failed { "failed" } else { "done" },
                    elapsed.as_secs_f64()
                );
            }
        }
    }

    /// Prints `diff`'s document: per stack, then the access (IAM) changes apart.
    pub fn diff(&self, doc: &serde_json::Value) {
        if self.style == Style::Json {
            let mut line = json!({"event": "diff"});
            if let (Some(l), Some(d)) = (line.as_object_mut(), doc.as_object()) {
                l.extend(d.clone());
            }
            self.line(line);
            return;
        }
        let mut o = std::io::stdout().lock();
        let mut iam = Vec::new();
        let mut refused = Vec::new();
        for s in doc["stacks"].as_array().into_iter().flatten() {
            let name = s["stack"].as_str().unwrap_or("");
            let changes = s["changes"].as_array().cloned().unwrap_or_default();
            let state = if s["deployed"].as_bool() == Some(true) {
                ""
            } else {
                " (not deployed yet)"
            };
            if changes.is_empty() {
                let _ = writeln!(o, "{name}: no changes");
                continue;
            }
            let _ = writeln!(o, "{name}{state}: {} change(s)", changes.len());
            for c in &changes {
                let text = format!(
                    "{:<8} {} ({}){}",
                    c["kind"].as_str().unwrap_or(""),
                    c["logical_id"].as_str().unwrap_or(""),
                    c["type"].as_str().unwrap_or(""),
                    match c["forced_by"].as_array() {
                        Some(f) if !f.is_empty() => format!(
                            " forced by {}",
                            f.iter()
                                .filter_map(|x| x.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        _ => String::new(),
                    }
                );
                let _ = writeln!(o, "  {text}");
                if c["iam"].as_bool() == Some(true) {
                    iam.push(format!("{name}: {text}"));
                }
            }
            refused.extend(
                s["refused"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x.as_str().map(str::to_string)),
            );
        }
        if !iam.is_empty() {
            let _ = writeln!(o, "\nAccess (IAM and resource policy) changes:");
            for l in iam {
                let _ = writeln!(o, "  {l}");
            }
        }
        if !refused.is_empty() {
            let _ = writeln!(
                o,
                "\nA deploy would refuse these (data loss; see --allow-replace):"
            );
            for l in refused {
                let _ = writeln!(o, "  {l}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::primitives::DateTime;
    use aws_sdk_cloudformation::types::{ResourceStatus, StackEvent};

    /// DescribeStackEvents' values, as the SDK gives them, through `cfn::event_of` into
    /// the line a CI log shows. 1796321415 is 2026-12-03T18:10:15Z (`date -u -d @1796321415`).
    #[test]
    fn a_resource_event_is_one_line_with_time_stack_resource_status_and_reason() {
        let ev = StackEvent::builder()
            .stack_id("arn:aws:cloudformation:eu-west-2:111111111111:stack/tp-dev-storage/1")
            .event_id("e1")
            .stack_name("tp-dev-storage")
            .timestamp(DateTime::from_secs(1_796_321_415))
            .logical_resource_id("RawBucket")
            .resource_type("AWS::S3::Bucket")
            .resource_status(ResourceStatus::CreateFailed)
            .resource_status_reason("Resource handler returned message:\n\"bucket exists\"")
            .build();
        let line = event_line("tp-dev-storage", &super::super::cfn::event_of(&ev));
        assert_eq!(
            line,
            "2026-12-03T18:10:15Z tp-dev-storage RawBucket AWS::S3::Bucket CREATE_FAILED: \
             Resource handler returned message: \"bucket exists\""
        );
        assert_eq!(line.lines().count(), 1);
    }

    #[test]
    fn a_stack_event_without_a_reason_ends_at_its_status() {
        let ev = StackEvent::builder()
            .event_id("e2")
            .timestamp(DateTime::from_millis(1_796_321_415_250))
            .logical_resource_id("tp-dev-storage")
            .resource_type("AWS::CloudFormation::Stack")
            .resource_status(ResourceStatus::UpdateComplete)
            .build();
        assert_eq!(
            event_line("tp-dev-storage", &super::super::cfn::event_of(&ev)),
            "2026-12-03T18:10:15.25Z tp-dev-storage tp-dev-storage AWS::CloudFormation::Stack \
             UPDATE_COMPLETE"
        );
    }
}
