//! The report every command prints: a list of stages and at most one failure.
//!
//! Text output is for people (colour only on a terminal, never when `NO_COLOR` is set);
//! `-o json` prints the same report as one JSON object with at least `ok`, `stages` and
//! `failure`, plus command-specific fields (`apiServer`, `certificates`, ...) at the top level;
//! `-o yaml` prints the same object as YAML.

use crate::error::{Code, Failure};
use serde::Serialize;
use serde_json::{Map, Value};
use std::io::{IsTerminal, Write};
use std::time::Instant;

/// How a stage ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The check passed.
    Pass,
    /// The check failed; the report's `failure` says why.
    Fail,
    /// The check passed with a caveat the user should read.
    Warn,
    /// The check did not run (not applicable, or an earlier stage failed).
    Skip,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "FAIL",
            Status::Warn => "warn",
            Status::Skip => "skip",
        }
    }
    fn colour(self) -> &'static str {
        match self {
            Status::Pass => "\x1b[32m",
            Status::Fail => "\x1b[1;31m",
            Status::Warn => "\x1b[33m",
            Status::Skip => "\x1b[2m",
        }
    }
}

/// One stage of a command: a stable kebab-case name, how it ended, a one-line detail and how
/// long it took in milliseconds.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    /// Stable kebab-case stage name, e.g. `tls-handshake`.
    pub name: String,
    /// How it ended.
    pub status: Status,
    /// What was seen.
    pub detail: String,
    /// Wall time in milliseconds.
    pub duration_ms: f64,
}

/// Output format chosen with `-o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// Readable text (the default).
    #[default]
    Text,
    /// One JSON object.
    Json,
    /// The same object as YAML.
    Yaml,
}

/// A command's report. Build it with [`Report::pass`] / [`Report::fail`] etc., then
/// [`Report::print`]. `ok` is false exactly when `failure` is set.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The command, e.g. `verify-discovery`.
    pub command: String,
    /// True when no stage failed.
    pub ok: bool,
    /// Stages in the order they ran.
    pub stages: Vec<Stage>,
    /// The one failure, if any.
    pub failure: Option<Failure>,
    /// Warnings worth reading even on success.
    pub warnings: Vec<String>,
    /// Command-specific fields, flattened into the top-level JSON object.
    #[serde(flatten)]
    pub data: Map<String, Value>,
    #[serde(skip)]
    started: Option<Instant>,
    #[serde(skip)]
    lines: Vec<String>,
}

impl Report {
    /// An empty, passing report for `command`.
    pub fn new(command: &str) -> Self {
        Report {
            command: command.to_string(),
            ok: true,
            stages: Vec::new(),
            failure: None,
            warnings: Vec::new(),
            data: Map::new(),
            started: Some(Instant::now()),
            lines: Vec::new(),
        }
    }

    /// Starts timing the next stage.
    pub fn start(&mut self) {
        self.started = Some(Instant::now());
    }

    fn push(&mut self, name: &str, status: Status, detail: String) {
        let duration_ms =
            self.started.map(|t| (t.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0).unwrap_or(0.0);
        self.stages.push(Stage { name: name.to_string(), status, detail, duration_ms });
        self.started = Some(Instant::now());
    }

    /// Records a passing stage.
    pub fn pass(&mut self, name: &str, detail: impl Into<String>) {
        self.push(name, Status::Pass, detail.into());
    }

    /// Records a stage that passed with a warning; the warning is also listed in `warnings`.
    pub fn warn(&mut self, name: &str, detail: impl Into<String>) {
        let d = detail.into();
        self.warnings.push(format!("{name}: {d}"));
        self.push(name, Status::Warn, d);
    }

    /// Records a skipped stage.
    pub fn skip(&mut self, name: &str, detail: impl Into<String>) {
        self.push(name, Status::Skip, detail.into());
    }

    /// Records the failing stage and the failure. Later calls keep the first failure.
    pub fn fail(&mut self, failure: Failure) {
        let stage = failure.stage.clone();
        self.push(&stage, Status::Fail, failure.message.clone());
        if self.failure.is_none() {
            self.failure = Some(failure);
        }
        self.ok = false;
    }

    /// Marks the remaining stage names as skipped because an earlier stage failed.
    pub fn skip_rest(&mut self, names: &[&str]) {
        let done: Vec<String> = self.stages.iter().map(|s| s.name.clone()).collect();
        for n in names {
            if !done.iter().any(|d| d == n) {
                self.stages.push(Stage {
                    name: n.to_string(),
                    status: Status::Skip,
                    detail: "not run: an earlier stage failed".into(),
                    duration_ms: 0.0,
                });
            }
        }
    }

    /// Sets a command-specific top-level field.
    pub fn set(&mut self, key: &str, value: impl Serialize) {
        let v = serde_json::to_value(value).unwrap_or(Value::Null);
        self.data.insert(key.to_string(), v);
    }

    /// Adds a free text line printed after the stages in text output (e.g. the summary).
    pub fn line(&mut self, s: impl Into<String>) {
        self.lines.push(s.into());
    }

    /// Drops the free text lines (when a report is extended by a later command).
    pub fn clear_lines(&mut self) {
        self.lines.clear();
    }

    /// The exit code: 0 when ok, else the failure's.
    pub fn exit_code(&self) -> i32 {
        self.failure.as_ref().map(|f| f.exit_code).unwrap_or(0)
    }

    /// The failure code, if any.
    pub fn code(&self) -> Option<Code> {
        self.failure.as_ref().map(|f| f.code)
    }

    /// Renders as text. `colour` adds ANSI colours.
    pub fn to_text(&self, colour: bool) -> String {
        let paint = |s: &str, c: &str| {
            if colour {
                format!("{c}{s}\x1b[0m")
            } else {
                s.to_string()
            }
        };
        let width = self.stages.iter().map(|s| s.name.len()).max().unwrap_or(0);
        let mut out = String::new();
        for st in &self.stages {
            out.push_str(&format!(
                "  {} {:<width$}  {}\n",
                paint(&format!("[{}]", st.status.label()), st.status.colour()),
                st.name,
                st.detail,
            ));
        }
        for l in &self.lines {
            out.push_str(l);
            out.push('\n');
        }
        if let Some(f) = &self.failure {
            out.push_str(&format!(
                "{} {} at stage {} (exit {})\n",
                paint("FAILED:", "\x1b[1;31m"),
                f.code,
                f.stage,
                f.exit_code
            ));
            out.push_str(&format!("  what:    {}\n", f.message));
            if let Some(k) = &f.kubeadm_message {
                out.push_str(&format!("  kubeadm: {k}\n"));
            }
            if !f.cause.is_empty() {
                out.push_str(&format!("  cause:   {}\n", f.cause));
            }
            if !f.fix.is_empty() {
                out.push_str(&format!("  fix:     {}\n", f.fix));
            }
        }
        out
    }

    /// Renders as one JSON object (no trailing newline).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"ok\":false,\"error\":\"{e}\"}}"))
    }

    /// Renders as YAML.
    pub fn to_yaml(&self) -> String {
        let v = serde_json::to_value(self).unwrap_or(Value::Null);
        serde_saphyr::to_string(&v).unwrap_or_else(|e| format!("ok: false\nerror: {e}\n"))
    }

    /// Prints to stdout in `format` and returns the exit code. Text goes to stdout, with
    /// colour only when stdout is a terminal and `NO_COLOR` is unset.
    pub fn print(&self, format: Format) -> i32 {
        let mut out = std::io::stdout().lock();
        let _ = match format {
            Format::Text => {
                let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
                write!(out, "{}", self.to_text(colour))
            }
            Format::Json => writeln!(out, "{}", self.to_json()),
            Format::Yaml => write!(out, "{}", self.to_yaml()),
        };
        let _ = out.flush();
        self.exit_code()
    }
}
