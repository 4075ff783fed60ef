//! The report every command prints: a list of stages and at most one failure.
//!
//! Text output is for people (colour only on a terminal, never when `NO_COLOR` is set);
//! `-o json` prints the same report as one JSON object with at least `ok`, `stages` and
//! `failure`, plus command-specific fields (`apiServer`, `certificates`, ...) at the top level;
//! `-o yaml` prints the same object as YAML.

pub mod progress;

use crate::error::{Code, Failure};
use serde::Serialize;
use serde_json::{Map, Value};
use std::io::{IsTerminal, Write};
use std::time::Instant;

/// The most characters of one input value (a key, a pin, a PEM line, a server message) that a
/// message echoes; [`truncate_for_display`] cuts longer values and says how long they were.
pub const MAX_ECHO_CHARS: usize = 200;

/// `s` cut to at most `max_chars` characters; a longer value ends with
/// `… (N bytes in all)` so the reader knows it was cut. Never splits a character.
pub fn truncate_for_display(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        None => s.to_string(),
        Some((cut, _)) => format!("{}… ({} bytes in all)", &s[..cut], s.len()),
    }
}

/// Escapes terminal control characters for text output: C0 controls other than newline and
/// tab (ESC becomes `\x1b`), DEL (`\x7f`) and C1 controls (`\u{9b}`), so that text from a
/// server or a file cannot move the cursor, clear the screen or retitle the terminal.
/// Returns the input unchanged (borrowed) when there is nothing to escape.
pub fn escape_controls(s: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| (c.is_control() && c != '\n' && c != '\t') || ('\u{80}'..='\u{9f}').contains(&c);
    if !s.chars().any(bad) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if !bad(c) {
            out.push(c);
        } else if (c as u32) < 0x80 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A command's stages as an enum: [`StageId::ALL`] is the order they run in (it drives
/// [`Report::skip_rest`] and the tests' expectations), [`StageId::name`] the stable kebab-case
/// name printed in reports. Declare one with [`stages!`](crate::stages).
pub trait StageId: Copy + std::fmt::Debug + PartialEq + 'static {
    /// Every stage, in the order the command runs them.
    const ALL: &'static [Self];
    /// The stable kebab-case name, e.g. `tls-handshake`.
    fn name(self) -> &'static str;
    /// Every stage name, in order.
    fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|s| s.name()).collect()
    }
}

/// Declares a stage enum and its [`StageId`] table in one list:
///
/// ```
/// joinkit_core::stages! {
///     /// The stages of a small command.
///     pub enum Example {
///         /// Reads the input.
///         Read = "read",
///         /// Checks it.
///         Check = "check",
///     }
/// }
/// use joinkit_core::report::StageId;
/// assert_eq!(Example::names(), ["read", "check"]);
/// ```
#[macro_export]
macro_rules! stages {
    ($(#[$m:meta])* $vis:vis enum $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name { $($(#[$vm])* $v),+ }
        impl $crate::report::StageId for $name {
            const ALL: &'static [Self] = &[$($name::$v),+];
            fn name(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }
        }
    };
}

crate::stages! {
    /// Stages every command shares: checking its arguments, reading an input file, writing an
    /// output file. A command's own stage enum lists the rest.
    pub enum Common {
        /// The command line and the inputs it names are checked.
        Input = "input",
        /// An input file is read (the failure or record names the file).
        Read = "read",
        /// An output file is written (atomically, mode 0600 for secrets).
        Write = "write",
    }
}

/// The name of the stage a record or a failure belongs to: made from a [`StageId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StageName(&'static str);

impl StageName {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl<S: StageId> From<S> for StageName {
    fn from(s: S) -> Self {
        StageName(s.name())
    }
}

impl std::fmt::Display for StageName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl PartialEq<str> for StageName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for StageName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl Serialize for StageName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

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
    /// The file this stage is about, when a command runs a stage per file (validate-config).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// How it ended.
    pub status: Status,
    /// What was seen.
    pub detail: String,
    /// Wall time in milliseconds.
    pub duration_ms: f64,
}

impl Stage {
    /// A stage record made outside a running report (no timing).
    pub fn new(stage: impl Into<StageName>, status: Status, detail: impl Into<String>) -> Stage {
        Stage { name: stage.into().as_str().to_string(), file: None, status, detail: detail.into(), duration_ms: 0.0 }
    }

    /// A stage record about one file (a command that runs a stage per file).
    pub fn of_file(stage: impl Into<StageName>, file: &str, status: Status, detail: impl Into<String>) -> Stage {
        Stage { file: Some(file.to_string()), ..Stage::new(stage, status, detail) }
    }
}

/// Output format chosen with `-o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Readable text (the default).
    #[default]
    Text,
    /// One JSON object.
    Json,
    /// The same object as YAML.
    Yaml,
}

impl Format {
    /// Every format as (value, `-o` name, help), kubectl's names.
    pub const ALL: &'static [(Format, &'static str, &'static str)] = &[
        (Format::Text, "text", "Readable text (the default)"),
        (Format::Json, "json", "One JSON object"),
        (Format::Yaml, "yaml", "The same object as YAML"),
    ];
}

/// A command's report. Build it with [`Report::pass`] / [`Report::fail`] etc., then
/// [`Report::print`]. Its invariant, kept by this module alone (the fields are private): `ok` is
/// false exactly when `failure` is set, and the failure's stage is among the stages.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    command: String,
    ok: bool,
    stages: Vec<Stage>,
    failure: Option<Failure>,
    warnings: Vec<String>,
    #[serde(flatten)]
    data: Map<String, Value>,
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

    /// The command, e.g. `verify-discovery`.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Renames the command (a report extended by a later command: bootstrap after discovery).
    pub fn set_command(&mut self, command: &str) {
        self.command = command.to_string();
    }

    /// True when no stage failed.
    pub fn ok(&self) -> bool {
        self.ok
    }

    /// The stages in the order they ran.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The one failure, if any.
    pub fn failure(&self) -> Option<&Failure> {
        self.failure.as_ref()
    }

    /// Warnings worth reading even on success.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// A command-specific top-level field.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.data.get(key)
    }

    /// Starts timing the next stage.
    pub fn start(&mut self) {
        self.started = Some(Instant::now());
    }

    fn push(&mut self, name: &str, status: Status, detail: String) {
        let duration_ms =
            self.started.map(|t| (t.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0).unwrap_or(0.0);
        self.stages.push(Stage { name: name.to_string(), file: None, status, detail, duration_ms });
        self.started = Some(Instant::now());
    }

    /// Records a passing stage.
    pub fn pass(&mut self, stage: impl Into<StageName>, detail: impl Into<String>) {
        self.push(stage.into().as_str(), Status::Pass, detail.into());
    }

    /// Records a stage that passed with a warning; the warning is also listed in `warnings`.
    pub fn warn(&mut self, stage: impl Into<StageName>, detail: impl Into<String>) {
        let (name, d) = (stage.into(), detail.into());
        self.warnings.push(format!("{name}: {d}"));
        self.push(name.as_str(), Status::Warn, d);
    }

    /// Adds a warning that belongs to no stage of its own (`stage: what`).
    pub fn note(&mut self, stage: impl Into<StageName>, warning: impl std::fmt::Display) {
        self.warnings.push(format!("{}: {warning}", stage.into()));
    }

    /// Records a stage about one file (a command that runs a stage per file).
    pub fn record_file(&mut self, stage: impl Into<StageName>, file: &str, status: Status, detail: impl Into<String>) {
        let (name, d) = (stage.into(), detail.into());
        if status == Status::Warn {
            self.warnings.push(format!("{name} {file}: {d}"));
        }
        self.push(name.as_str(), status, d);
        if let Some(last) = self.stages.last_mut() {
            last.file = Some(file.to_string());
        }
    }

    /// Records a skipped stage.
    pub fn skip(&mut self, stage: impl Into<StageName>, detail: impl Into<String>) {
        self.push(stage.into().as_str(), Status::Skip, detail.into());
    }

    /// Appends a stage record made elsewhere (another report's, or a check's with its own
    /// timing). A `Fail` record does not set the failure: the caller concludes with
    /// [`Report::fail`] or [`Report::conclude`] (diagnose finds its root cause last).
    pub fn push_stage(&mut self, stage: Stage) {
        self.stages.push(stage);
    }

    /// Adds a warning as written (`stage: what`).
    pub fn push_warning(&mut self, warning: impl Into<String>) {
        self.warnings.push(warning.into());
    }

    /// Records a stage with a status decided elsewhere (a check's result). A failing stage
    /// belongs in [`Report::fail`] with its [`Failure`]; `Fail` here (no failure known) records
    /// an `internal` failure so that the report's invariant holds.
    pub fn record(&mut self, stage: impl Into<StageName>, status: Status, detail: impl Into<String>) {
        let (name, d) = (stage.into(), detail.into());
        match status {
            Status::Warn => self.warn(name, d),
            Status::Fail => self.fail(Failure::new(Code::Internal, name, d)),
            _ => self.push(name.as_str(), status, d),
        }
    }

    /// Records the failing stage and the failure. Later calls keep the first failure.
    pub fn fail(&mut self, failure: Failure) {
        self.push(failure.stage.as_str(), Status::Fail, failure.message.clone());
        if let Some(last) = self.stages.last_mut() {
            last.file = failure.file.clone();
        }
        if self.failure.is_none() {
            self.failure = Some(failure);
        }
        self.ok = false;
    }

    /// Sets the report's verdict to `failure` without recording a stage for it (a summary
    /// failure over stages already recorded, e.g. diagnose's root cause).
    pub fn conclude(&mut self, failure: Failure) {
        self.failure = Some(failure);
        self.ok = false;
    }

    /// Marks every stage of `flow` not yet recorded as skipped because an earlier stage
    /// failed. `flow` is a command's stage table (e.g. `discovery::NETWORK_STAGES`).
    pub fn skip_rest<S: Into<StageName> + Copy>(&mut self, flow: &[S]) {
        for &stage in flow {
            let name = stage.into();
            if !self.stages.iter().any(|s| s.name == name.as_str()) {
                self.stages.push(Stage {
                    name: name.as_str().to_string(),
                    file: None,
                    status: Status::Skip,
                    detail: "not run: an earlier stage failed".into(),
                    duration_ms: 0.0,
                });
            }
        }
    }

    /// Appends another report's stages (each name prefixed with `prefix`, if any) and warnings;
    /// its failure, if any, is not taken (the caller decides).
    pub fn absorb(&mut self, other: &Report, prefix: &str) {
        self.stages.extend(other.stages.iter().cloned().map(|mut s| {
            s.name = format!("{prefix}{}", s.name);
            s
        }));
        self.warnings.extend(other.warnings.iter().cloned());
    }

    /// Puts another report's stages before this one's (a command that continues another:
    /// token create after its own checks).
    pub fn prepend_stages(&mut self, earlier: &Report) {
        let mut stages = earlier.stages.clone();
        stages.append(&mut self.stages);
        self.stages = stages;
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
        self.failure.as_ref().map(Failure::exit_code).unwrap_or(0)
    }

    /// The failure code, if any.
    pub fn code(&self) -> Option<Code> {
        self.failure.as_ref().map(|f| f.code)
    }

    /// Renders as text. `colour` adds ANSI colours. Every piece of content is passed through
    /// [`escape_controls`] before colouring, so only the report's own escapes reach a terminal.
    pub fn to_text(&self, colour: bool) -> String {
        let paint = |s: &str, c: &str| {
            if colour {
                format!("{c}{s}\x1b[0m")
            } else {
                s.to_string()
            }
        };
        let esc = escape_controls;
        let width = self.stages.iter().map(|s| esc(&s.name).chars().count()).max().unwrap_or(0);
        let mut out = String::new();
        for st in &self.stages {
            out.push_str(&format!(
                "  {} {:<width$}  {}\n",
                paint(&format!("[{}]", st.status.label()), st.status.colour()),
                esc(&st.name),
                esc(&st.detail),
            ));
        }
        for l in &self.lines {
            out.push_str(&esc(l));
            out.push('\n');
        }
        if let Some(f) = &self.failure {
            out.push_str(&format!(
                "{} {} at stage {} (exit {})\n",
                paint("FAILED:", "\x1b[1;31m"),
                f.code,
                esc(f.stage.as_str()),
                f.exit_code()
            ));
            out.push_str(&format!("  what:    {}\n", esc(&f.message)));
            if let Some(k) = &f.kubeadm_message {
                out.push_str(&format!("  kubeadm: {}\n", esc(k)));
            }
            if !f.cause.is_empty() {
                out.push_str(&format!("  cause:   {}\n", esc(&f.cause)));
            }
            if !f.fix.is_empty() {
                out.push_str(&format!("  fix:     {}\n", esc(&f.fix)));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_for_display_cuts_long_values_and_says_so() {
        assert_eq!(truncate_for_display("short", 10), "short");
        assert_eq!(truncate_for_display("abcdef", 6), "abcdef");
        assert_eq!(truncate_for_display("abcdefgh", 3), "abc… (8 bytes in all)");
        // Never splits a character: 3 characters of 2 bytes each.
        assert_eq!(truncate_for_display("ééééé", 3), "ééé… (10 bytes in all)");
        let big = "k".repeat(5 << 20);
        assert!(truncate_for_display(&big, MAX_ECHO_CHARS).len() < 300);
    }

    #[test]
    fn escape_controls_escapes_c0_del_and_c1_but_not_newline_or_tab() {
        assert!(matches!(escape_controls("plain text\n\tok é"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(escape_controls("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(escape_controls("bell\x07 cr\r nul\0 del\x7f"), "bell\\x07 cr\\x0d nul\\x00 del\\x7f");
        assert_eq!(escape_controls("csi\u{9b}31m nel\u{85}"), "csi\\u{9b}31m nel\\u{85}");
        assert_eq!(escape_controls("line1\nline2\tx"), "line1\nline2\tx");
    }

    #[test]
    fn text_output_has_no_control_bytes_from_content_but_keeps_its_own_colour() {
        let hostile = "secrets is forbidden: \x1b[2J\x1b[31mFAKE\x1b]0;title\x07 \u{9b}2J";
        crate::stages! {
            enum T { Connect = "connect", Api = "api", List = "list" }
        }
        // Stage names are typed constants, so only details, lines and failures carry content.
        let mut r = Report::new("token-list");
        r.pass(T::Connect, "ok \x1b[1A");
        r.warn(T::Api, format!("server said {hostile}"));
        r.line(format!("line with {hostile}\nsecond line"));
        r.fail(
            Failure::new(Code::ApiForbidden, T::List, hostile)
                .kubeadm(hostile)
                .cause(format!("cause {hostile}"))
                .fix(format!("fix {hostile}")),
        );
        for colour in [false, true] {
            let t = r.to_text(colour);
            let content: String = if colour {
                // Remove the report's own colour sequences; nothing else may remain.
                let mut c = t.clone();
                for seq in ["\x1b[32m", "\x1b[1;31m", "\x1b[33m", "\x1b[2m", "\x1b[0m"] {
                    c = c.replace(seq, "");
                }
                c
            } else {
                t.clone()
            };
            assert!(!content.contains('\x1b'), "raw ESC in text output:\n{t:?}");
            assert!(!content.contains('\x07') && !content.contains('\u{9b}'), "{t:?}");
            assert!(t.contains("\\x1b[2J") && t.contains("\\u{9b}2J"), "escaped, still readable: {t}");
            assert!(t.contains("\nsecond line\n"), "newlines kept: {t}");
            assert_eq!(t.contains("\x1b[1;31mFAILED:\x1b[0m"), colour, "own colour only when asked: {t:?}");
        }
        // JSON is escaped by serde: no raw ESC either.
        assert!(!r.to_json().contains('\x1b'));
    }
}
