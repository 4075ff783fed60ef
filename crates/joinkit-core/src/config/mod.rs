//! kubeadm JoinConfiguration: render (`render-config`), validate (`validate-config`) and
//! migrate v1beta3 to v1beta4 (`migrate-config`). Spec section 5.
//!
//! One set of rules serves all three: render-config validates its own output with the same
//! checker as validate-config before writing anything, and migrate-config refuses input with
//! errors (a value it cannot carry over) and validates what it writes.

pub mod derive;
pub mod model;
mod schema;
pub mod validate;

use crate::error::{Code, Failure};
use crate::report::{Common, Report, Stage, Status};
use crate::yaml;
pub use model::{ApiVersion, JoinConfig, Secret, Taint};
use serde::Serialize;
pub use validate::{Problem, Severity};

crate::stages! {
    /// The stages of the config commands: `validate-config` records one `validate` per file,
    /// `render-config` validates what it would write, `migrate-config` converts and validates.
    /// Reading a file is [`Common::Read`], writing one [`Common::Write`].
    pub enum ConfigStage {
        /// A JoinConfiguration is checked against kubeadm's rules.
        Validate = "validate",
        /// A v1beta3 JoinConfiguration is converted to v1beta4.
        Migrate = "migrate",
    }
}

/// API versions kubeadm removed, with the last kubeadm release that reads them
/// (`validateSupportedVersion` in kubeadm's config utilities).
pub(crate) const REMOVED_VERSIONS: &[(&str, &str)] = &[
    ("kubeadm.k8s.io/v1alpha1", "v1.11"),
    ("kubeadm.k8s.io/v1alpha2", "v1.12"),
    ("kubeadm.k8s.io/v1alpha3", "v1.14"),
    ("kubeadm.k8s.io/v1beta1", "v1.15"),
    ("kubeadm.k8s.io/v1beta2", "v1.22"),
];

/// Kinds that may share a file with a JoinConfiguration; noted and skipped.
pub(crate) const OTHER_KINDS: &[&str] = &[
    "InitConfiguration",
    "ClusterConfiguration",
    "KubeletConfiguration",
    "KubeProxyConfiguration",
    "ResetConfiguration",
    "UpgradeConfiguration",
];

/// What validate found in one document.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentInfo {
    /// The file.
    pub file: String,
    /// 0-based document index.
    pub index: usize,
    /// Line where it starts.
    pub line: usize,
    /// `kind`.
    pub kind: String,
    /// `apiVersion`.
    pub api_version: String,
    /// `checked`, `skipped` or `empty`.
    pub action: String,
}

/// The outcome of checking one file.
#[derive(Debug, Clone, Default)]
pub struct FileResult {
    /// Problems, in file order.
    pub problems: Vec<Problem>,
    /// The documents seen.
    pub documents: Vec<DocumentInfo>,
    /// The failure code for the file's first error, if any.
    pub code: Option<Code>,
    /// The JoinConfiguration's model and version, if one was read.
    pub join: Option<(JoinConfig, ApiVersion, usize)>,
    /// The parsed documents (for migrate).
    pub docs: Vec<yaml::Document>,
}

fn problem(
    file: &str,
    pos: yaml::Pos,
    sev: Severity,
    path: &str,
    message: String,
    kubeadm_rule: bool,
    fix: &str,
) -> Problem {
    Problem {
        severity: sev,
        file: file.to_string(),
        line: pos.line,
        column: pos.col,
        path: crate::report::truncate_for_display(path, validate::MAX_PATH_CHARS),
        message: crate::report::truncate_for_display(&message, validate::MAX_MESSAGE_CHARS),
        kubeadm_rule,
        fix: crate::report::truncate_for_display(fix, validate::MAX_MESSAGE_CHARS),
    }
}

/// Checks the text of one file (`name` is used in positions).
pub fn check_text(name: &str, text: &str) -> FileResult {
    let mut r = FileResult::default();
    let docs = match yaml::parse(text) {
        Ok(d) => d,
        Err(e) => {
            r.problems.push(problem(
                name,
                e.pos,
                Severity::Error,
                "",
                format!("YAML syntax error: {}", e.message),
                false,
                e.fix.unwrap_or("fix the YAML syntax at this position"),
            ));
            r.code = Some(Code::ConfigYamlSyntax);
            return r;
        }
    };
    let mut join_count = 0;
    for (i, d) in docs.iter().enumerate() {
        let Some(root) = &d.root else {
            r.documents.push(DocumentInfo {
                file: name.into(),
                index: i,
                line: d.pos.line,
                kind: String::new(),
                api_version: String::new(),
                action: "empty".into(),
            });
            continue;
        };
        let kind = root.get("kind").and_then(|n| n.str()).unwrap_or("").to_string();
        let api = root.get("apiVersion").and_then(|n| n.str()).unwrap_or("").to_string();
        let mut info = DocumentInfo {
            file: name.into(),
            index: i,
            line: d.pos.line,
            kind: kind.clone(),
            api_version: api.clone(),
            action: "skipped".into(),
        };
        if kind != "JoinConfiguration" {
            if !OTHER_KINDS.contains(&kind.as_str()) {
                let pos = root.get("kind").map(|n| n.pos).unwrap_or(root.pos);
                r.problems.push(problem(
                    name,
                    pos,
                    Severity::Warning,
                    "kind",
                    format!("document {i} has kind {:?}, which is not a kubeadm or component configuration; kubeadm rejects unknown kinds", crate::report::truncate_for_display(&kind, crate::report::MAX_ECHO_CHARS)),
                    false,
                    "remove the document or fix its kind",
                ));
            }
            r.documents.push(info);
            continue;
        }
        join_count += 1;
        let apos = root.get("apiVersion").map(|n| n.pos).unwrap_or(root.pos);
        if join_count > 1 {
            r.problems.push(problem(
                name,
                root.pos,
                Severity::Error,
                "",
                "more than one JoinConfiguration in the file; kubeadm uses one".into(),
                false,
                "keep one JoinConfiguration",
            ));
            r.documents.push(info);
            continue;
        }
        let version = match ApiVersion::from_api_version(&api) {
            Some(v) => v,
            None => {
                let (msg, fix) = match REMOVED_VERSIONS.iter().find(|(v, _)| *v == api) {
                    Some((_, last)) => (
                        format!("your configuration file uses an old API spec: {api:?} (kind: \"JoinConfiguration\"). Please use kubeadm {last} instead and run 'kubeadm config migrate --old-config old.yaml --new-config new.yaml', which will write the new, similar spec using a newer API version."),
                        format!("{api} was removed after kubeadm {last}; rewrite the file for kubeadm.k8s.io/v1beta4 (joinkit render-config), or migrate it with kubeadm {last} first"),
                    ),
                    None => (format!("unknown apiVersion {api:?} for JoinConfiguration"), "use apiVersion: kubeadm.k8s.io/v1beta4".to_string()),
                };
                r.problems.push(problem(
                    name,
                    apos,
                    Severity::Error,
                    "apiVersion",
                    msg,
                    REMOVED_VERSIONS.iter().any(|(v, _)| *v == api),
                    &fix,
                ));
                r.code.get_or_insert(Code::ConfigVersionUnsupported);
                r.documents.push(info);
                continue;
            }
        };
        if version == ApiVersion::V1beta3 {
            r.problems.push(problem(
                name,
                apos,
                Severity::Warning,
                "apiVersion",
                "your configuration file uses a deprecated API spec: \"kubeadm.k8s.io/v1beta3\" (kind: \"JoinConfiguration\"). Please use 'kubeadm config migrate --old-config old.yaml --new-config new.yaml', which will write the new, similar spec using a newer API version. (v1beta3 is deprecated since kubeadm 1.31 and removed in the newest releases.)".into(),
                true,
                "run `joinkit migrate-config FILE` to convert it to v1beta4",
            ));
        }
        info.action = "checked".into();
        r.documents.push(info);
        let (problems, model) = validate::check_document(name, root, version);
        r.problems.extend(problems);
        r.join = Some((model, version, i));
    }
    if join_count == 0 {
        r.problems.push(problem(
            name,
            yaml::Pos { line: 1, col: 1 },
            Severity::Error,
            "",
            "no JoinConfiguration in this file (kubeadm join --config needs one)".into(),
            false,
            "add a document with apiVersion: kubeadm.k8s.io/v1beta4 and kind: JoinConfiguration (joinkit render-config writes one)",
        ));
        r.code.get_or_insert(Code::ConfigNoJoinConfiguration);
    }
    r.problems.sort_by_key(|p| (p.line, p.column));
    if r.code.is_none() && r.problems.iter().any(|p| p.severity == Severity::Error) {
        r.code = Some(Code::ConfigInvalid);
    }
    r.docs = docs;
    r
}

/// Formats a problem like a compiler diagnostic.
pub fn format_problem(p: &Problem) -> String {
    let sev = match p.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let path = if p.path.is_empty() { String::new() } else { format!("{}: ", p.path) };
    let origin = if p.kubeadm_rule { " [kubeadm]" } else { "" };
    format!("{}:{}:{}: {sev}: {path}{}{origin}\n    fix: {}", p.file, p.line, p.column, p.message, p.fix)
}

/// The most problems listed per file, in text and in `-o json` `problems`; the rest are counted
/// (`problemsOmitted`, per file) and the totals still count every problem.
pub(crate) const MAX_PROBLEMS_PER_FILE: usize = 100;

/// Builds the report for a set of checked files. At most [`MAX_PROBLEMS_PER_FILE`] problems are
/// listed per file (errors first, then warnings, each in file order, so no error is hidden
/// behind warnings); `problemsOmitted` maps each file to how many were left out (0 for most).
pub fn report_for(command: &str, results: &[(String, FileResult)]) -> Report {
    let mut report = Report::new(command);
    let mut all = Vec::new();
    let mut docs = Vec::new();
    let mut omitted = serde_json::Map::new();
    let (mut total_errors, mut total) = (0usize, 0usize);
    for (file, r) in results {
        let errors = r.problems.iter().filter(|p| p.severity == Severity::Error).count();
        let warnings = r.problems.len() - errors;
        let detail = format!("{errors} error(s), {warnings} warning(s)");
        if let Some(code) = r.code.filter(|_| errors > 0) {
            let first = r.problems.iter().find(|p| p.severity == Severity::Error).expect("an error exists");
            let mut f = Failure::new(
                code,
                ConfigStage::Validate,
                format!(
                    "{}:{}:{}: {}{}",
                    first.file,
                    first.line,
                    first.column,
                    if first.path.is_empty() { String::new() } else { format!("{}: ", first.path) },
                    first.message
                ),
            )
            .cause(format!("{detail} in {file}; the first is shown"))
            .fix(first.fix.clone())
            .in_file(file);
            if first.kubeadm_rule {
                f = f.kubeadm(first.message.clone());
            }
            if report.failure().is_none() {
                report.fail(f);
            } else {
                report.push_stage(Stage::of_file(ConfigStage::Validate, file, Status::Fail, detail));
            }
        } else if warnings > 0 {
            report.push_stage(Stage::of_file(ConfigStage::Validate, file, Status::Warn, detail));
        } else {
            report.push_stage(Stage::of_file(ConfigStage::Validate, file, Status::Pass, detail));
        }
        let shown = listed_problems(&r.problems);
        for p in &shown {
            report.line(format_problem(p));
        }
        let left_out = r.problems.len() - shown.len();
        if left_out > 0 {
            let left_errors = errors - shown.iter().filter(|p| p.severity == Severity::Error).count();
            report.line(format!(
                "{file}: {left_out} more problem(s) not shown ({left_errors} error(s), {} warning(s)); at most {MAX_PROBLEMS_PER_FILE} are listed per file",
                left_out - left_errors
            ));
        }
        omitted.insert(file.clone(), left_out.into());
        total_errors += errors;
        total += r.problems.len();
        all.extend(shown);
        docs.extend(r.documents.iter().cloned());
    }
    report.line(format!("{} file(s): {total_errors} error(s), {} warning(s)", results.len(), total - total_errors));
    report.set("problems", &all);
    report.set("problemsOmitted", &omitted);
    report.set("documents", &docs);
    report
}

/// The problems of one file that the report lists: all of them up to [`MAX_PROBLEMS_PER_FILE`],
/// else the first errors then the first warnings, in file order.
fn listed_problems(problems: &[Problem]) -> Vec<Problem> {
    if problems.len() <= MAX_PROBLEMS_PER_FILE {
        return problems.to_vec();
    }
    let mut keep: Vec<&Problem> =
        problems.iter().filter(|p| p.severity == Severity::Error).take(MAX_PROBLEMS_PER_FILE).collect();
    let room = MAX_PROBLEMS_PER_FILE - keep.len();
    keep.extend(problems.iter().filter(|p| p.severity == Severity::Warning).take(room));
    keep.sort_by_key(|p| (p.line, p.column));
    keep.into_iter().cloned().collect()
}

/// Reads a config file (`-` is stdin) as UTF-8 text, bounded by [`crate::fsutil::MAX_INPUT_FILE`]:
/// FIFOs, devices (`/dev/zero`), sockets and directories are refused before a byte is read, so
/// bad paths are an `input-unreadable` error at once, never a hang or unbounded memory.
pub fn read_config(path: &std::path::Path) -> Result<String, Failure> {
    let name = path.display().to_string();
    let bytes = crate::fsutil::read_path_or_stdin(path, crate::fsutil::MAX_INPUT_FILE).map_err(|e| {
        let cause = match e {
            crate::fsutil::ReadError::Io { .. } => "the path is wrong or not readable by this user",
            crate::fsutil::ReadError::NotRegular { .. } => {
                "the path is not a regular file: a device, FIFO, socket or directory holds no config"
            }
            crate::fsutil::ReadError::TooLarge { .. } => {
                "the file is far larger than any kubeadm configuration (a few KiB): probably the wrong file"
            }
            // Only reads under an `fsutil::Root` (diagnose --root) give these; --config is a host path.
            crate::fsutil::ReadError::LeavesRoot { .. } | crate::fsutil::ReadError::TooManyLinks { .. } => {
                "a symbolic link on the way was not followed"
            }
        };
        Failure::new(Code::InputUnreadable, Common::Read, crate::report::truncate_for_display(&e.to_string(), 512))
            .in_file(&name)
            .cause(cause)
            .fix("pass the JoinConfiguration file (`-` reads standard input)")
    })?;
    String::from_utf8(bytes).map_err(|_| {
        Failure::new(Code::InputUnreadable, Common::Read, format!("cannot read {name}: not UTF-8 text"))
            .in_file(&name)
            .cause("the file is binary or in another encoding; kubeadm configurations are UTF-8 YAML")
            .fix("pass the JoinConfiguration file (`-` reads standard input)")
    })
}

/// Reads and checks files (`-` is stdin), each with [`read_config`].
pub fn check_files(paths: &[std::path::PathBuf]) -> Result<Vec<(String, FileResult)>, Failure> {
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        let name = p.display().to_string();
        let text = read_config(p)?;
        let r = check_text(&name, &text);
        out.push((name, r));
    }
    Ok(out)
}

/// What migrate produced.
#[derive(Debug, Clone)]
pub struct Migrated {
    /// The new file text.
    pub text: String,
    /// Notes for stderr.
    pub notes: Vec<String>,
}

/// Why migrate refused.
#[derive(Debug)]
pub enum MigrateError {
    /// The input has errors (listed in the result).
    Invalid(Box<FileResult>),
    /// The output would not validate (a bug).
    Internal(Failure),
}

/// Migrates the text of a file: the JoinConfiguration goes to v1beta4, other documents are
/// kept as they are. Errors when the input has errors.
pub fn migrate_text(name: &str, text: &str) -> Result<Migrated, MigrateError> {
    let r = check_text(name, text);
    if r.problems.iter().any(|p| p.severity == Severity::Error) {
        return Err(MigrateError::Invalid(Box::new(r)));
    }
    let Some((model, version, idx)) = r.join.clone() else {
        return Err(MigrateError::Invalid(Box::new(r)));
    };
    if version == ApiVersion::V1beta4 {
        return Ok(Migrated {
            text: text.to_string(),
            notes: vec!["already kubeadm.k8s.io/v1beta4: unchanged".into()],
        });
    }
    let mut notes = Vec::new();
    let mut model = model;
    // kubeadm's conversion turns the map into a list sorted by flag name.
    model.kubelet_extra_args.sort_by(|a, b| a.0.cmp(&b.0));
    let mut parts = Vec::new();
    for (i, d) in r.docs.iter().enumerate() {
        if i == idx {
            parts.push(model.to_yaml(ApiVersion::V1beta4));
        } else if d.root.is_some() {
            let body = d.text.strip_prefix("---\n").unwrap_or(&d.text).to_string();
            let api = d.root.as_ref().and_then(|n| n.get("apiVersion")).and_then(|n| n.str()).unwrap_or("");
            if api == "kubeadm.k8s.io/v1beta3" {
                notes.push(format!("document {i} ({api}) is not a JoinConfiguration and was kept as it is; `kubeadm config migrate` converts it"));
            }
            parts.push(if body.ends_with('\n') { body } else { format!("{body}\n") });
        }
    }
    let out = parts.join("---\n");
    // What we write must validate.
    let check = check_text(name, &out);
    if let Some(p) = check.problems.iter().find(|p| p.severity == Severity::Error) {
        return Err(MigrateError::Internal(Failure::new(
            Code::Internal,
            ConfigStage::Migrate,
            format!("the migrated file does not validate: {}", format_problem(p)),
        )));
    }
    notes.push(
        "discovery.timeout moved to timeouts.discovery; kubeletExtraArgs map converted to a {name, value} list".into(),
    );
    Ok(Migrated { text: out, notes })
}
