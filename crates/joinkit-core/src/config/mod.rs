//! kubeadm JoinConfiguration: render (`render-config`), validate (`validate-config`) and
//! migrate v1beta3 to v1beta4 (`migrate-config`). Spec section 5.
//!
//! One set of rules serves all three: render-config validates its own output with the same
//! checker as validate-config before writing anything, and migrate-config refuses input with
//! errors (a value it cannot carry over) and validates what it writes.

mod cluster;
pub mod derive;
mod documents;
pub mod eks;
mod golang;
pub mod intent;
pub mod kubeadm;
pub mod model;
pub mod nodeadm;
mod schema;
pub mod validate;

use crate::error::{Code, Failure};
use crate::report::{Common, Report, Stage, Status};
use crate::yaml;
use documents::{Component, FindingKind, Known};
pub use kubeadm::KubeadmVersion;
pub use model::{ApiVersion, JoinConfig, Secret, Taint};
use schema::{Checker, Decoding};
use serde::Serialize;
pub use validate::{Origin, Problem, Severity};

crate::stages! {
    /// The stages of the config commands: `validate-config` records one `validate` per file,
    /// `render-config` validates what it would write, `migrate-config` converts and validates.
    /// Reading a file is [`Common::Read`], writing one [`Common::Write`].
    pub enum ConfigStage {
        /// A configuration file is checked as `kubeadm config validate` checks it.
        Validate = "validate",
        /// A v1beta3 JoinConfiguration is converted to v1beta4.
        Migrate = "migrate",
    }
}

/// What validate found in one document (one part of the file between `---` lines, as
/// kubeadm splits it).
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
    /// `checked` (kubeadm decodes and validates it), `ignored` (`kubeadm config validate`
    /// does not read it in this file) or `invalid` (its apiVersion or kind is refused).
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
    /// The documents as kubeadm splits the file (for migrate).
    pub docs: Vec<yaml::Document>,
    /// For an EKS identity-mapping file checked with `--node-role-arn`: how it maps the node
    /// role ([`eks::NodeMapping`]).
    pub node_mapping: Option<eks::NodeMapping>,
}

/// What a check follows: the kubeadm release and whether findings beyond kubeadm are errors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckOptions {
    /// The kubeadm release whose `kubeadm config validate` the verdict reproduces
    /// (`--kubeadm-version`; default the newest joinkit knows).
    pub kubeadm: KubeadmVersion,
    /// `--strict`: findings of origin [`Origin::BeyondKubeadm`] (and EKS warnings) are errors.
    pub strict: bool,
    /// `--node-role-arn`, reduced by [`eks::node_role`] to `arn:P:iam::A:role/NAME`: for aws-auth
    /// and access-entry files, say how this role is mapped.
    pub node_role_arn: Option<String>,
}

/// The other kinds a component group's scheme registers, with their top-level fields
/// (`k8s.io/kubelet/config/v1beta1`: `CredentialProviderConfig`, `SerializedNodeConfigSource`).
/// kubeadm decodes such a document strictly as its own kind before it tries to convert it to
/// the group's component configuration, so unknown fields are its error, not the conversion.
const REGISTERED_KINDS: &[(&str, &str, &[&str])] = &[
    ("kubelet.config.k8s.io", "CredentialProviderConfig", &["providers"]),
    ("kubelet.config.k8s.io", "SerializedNodeConfigSource", &["source"]),
];

/// For a document of another registered kind of a component group: records kubeadm's strict
/// decoding error when it has fields its kind does not (kubeadm v1.36.2: `error unmarshaling
/// configuration schema.GroupVersionKind{...}: strict decoding error: unknown field "x", ...`)
/// and returns true; false when it has none (or the kind is not registered).
fn registered_kind_fields_unknown(
    r: &mut FileResult,
    name: &str,
    gvk: &documents::Gvk,
    kind: &str,
    root: &yaml::Node,
) -> bool {
    let Some((_, _, fields)) = REGISTERED_KINDS.iter().find(|(g, k, _)| *g == gvk.group && *k == kind) else {
        return false;
    };
    let yaml::Value::Map(m) = &root.value else { return false };
    let unknown: Vec<&yaml::Key> = m
        .iter()
        .map(|(k, _)| k)
        .filter(|k| !matches!(k.name.as_str(), "apiVersion" | "kind") && !fields.contains(&k.name.as_str()))
        .collect();
    let Some(first) = unknown.first() else { return false };
    // sigs.k8s.io/json's strict errors list the fields sorted (as kubeadm v1.36.2 prints them).
    let mut names: Vec<&str> = unknown.iter().map(|k| k.name.as_str()).collect();
    names.sort_unstable();
    let list: Vec<String> = names.iter().map(|n| format!("unknown field {:?}", validate::shown(n))).collect();
    r.problems.push(problem(
        name,
        first.pos,
        Origin::Kubeadm,
        &first.name,
        format!(
            "error unmarshaling configuration schema.GroupVersionKind{{Group:{:?}, Version:{:?}, Kind:{kind:?}}}: strict decoding error: {}",
            gvk.group,
            gvk.version,
            list.join(", ")
        ),
        Code::ConfigInvalid,
        "remove the document (its fields belong to another kind: a KubeletConfiguration?), or keep only its own fields",
    ));
    true
}

fn problem(file: &str, pos: yaml::Pos, origin: Origin, path: &str, message: String, code: Code, fix: &str) -> Problem {
    Problem {
        severity: if matches!(origin, Origin::Kubeadm | Origin::Joinkit) { Severity::Error } else { Severity::Warning },
        origin,
        machine_dependent: false,
        file: file.to_string(),
        line: pos.line,
        column: pos.col,
        path: crate::report::truncate_for_display(path, validate::MAX_PATH_CHARS),
        message: crate::report::truncate_for_display(&message, validate::MAX_MESSAGE_CHARS),
        kubeadm_rule: origin == Origin::Kubeadm && code != Code::ConfigYamlSyntax,
        fix: crate::report::truncate_for_display(fix, validate::MAX_MESSAGE_CHARS),
        code,
    }
}

/// Checks the text of one file (`name` is used in positions) as the newest kubeadm's
/// `kubeadm config validate` does ([`check_text_with`] with the default options).
pub fn check_text(name: &str, text: &str) -> FileResult {
    check_text_with(name, text, &CheckOptions::default())
}

/// Checks the text of one file as `kubeadm config validate` of `o.kubeadm` does
/// (`ValidateConfig` in kubeadm's `cmd/kubeadm/app/util/config/common.go`): the documents are
/// split, typed and sorted as [`documents`] describes; a file with an Init- or
/// ClusterConfiguration has every document decoded strictly and the cluster rules applied
/// ([`cluster`]); a JoinConfiguration, ResetConfiguration and (from kubeadm v1.36)
/// UpgradeConfiguration are decoded strictly and validated on their own. Errors are what
/// kubeadm rejects; what joinkit finds beyond that is a warning (an error with `o.strict`).
/// A file without a JoinConfiguration is such a finding: `kubeadm join --config` needs one.
pub fn check_text_with(name: &str, text: &str, o: &CheckOptions) -> FileResult {
    // The aws-auth ConfigMap and access-entry JSON are not kubeadm's: their own rules (eks.rs).
    if let Some(kind) = eks::recognise(text) {
        return eks::check(name, text, kind, o);
    }
    // EKS node user data: a nodeadm NodeConfig (alone or in MIME parts) or a bootstrap.sh call
    // (nodeadm.rs).
    if let Some(kind) = nodeadm::recognise(text) {
        return nodeadm::check(name, text, kind, o);
    }
    let kv = o.kubeadm;
    let mut r = FileResult::default();
    let (parts, findings) = documents::read(text);
    for f in findings {
        let (origin, code, path, fix) = match f.what {
            FindingKind::Syntax => (Origin::Kubeadm, Code::ConfigYamlSyntax, "", "fix the YAML syntax at this position"),
            FindingKind::TypeMeta => (
                Origin::Kubeadm,
                Code::ConfigInvalid,
                "apiVersion",
                "give every document apiVersion (group/version) and kind; kubeadm refuses a document holding only comments or blank lines, also before the first ---",
            ),
            FindingKind::DuplicateKind => (Origin::Kubeadm, Code::ConfigInvalid, "kind", "keep one document of each kind"),
            FindingKind::Separator => (
                Origin::Kubeadm,
                Code::ConfigYamlSyntax,
                "",
                "a line starting with --- separates documents: nothing but a # comment may follow it",
            ),
            FindingKind::Yaml11Break => (Origin::Joinkit, Code::ConfigYamlSyntax, "", yaml::LINE_BREAK_FIX),
            FindingKind::IgnoredDocument => (
                Origin::BeyondKubeadm,
                Code::ConfigInvalid,
                "",
                "separate documents with a line that is exactly ---",
            ),
        };
        let message = match f.what {
            FindingKind::Syntax => format!("YAML syntax error: {}", f.message),
            FindingKind::Yaml11Break => format!(
                "{}; kubeadm config validate accepts the file and reads it with this line break; joinkit refuses it (a knowing difference)",
                f.message
            ),
            FindingKind::IgnoredDocument => format!("{}; kubeadm config validate accepts the file", f.message),
            _ => f.message,
        };
        r.problems.push(problem(name, f.pos, origin, path, message, code, fix));
    }
    let kinds: Vec<&str> = parts.iter().filter_map(|p| p.gvk.as_ref()).map(|g| g.kind.as_str()).collect();
    // kubeadm loads every document strictly when the file has an Init- or ClusterConfiguration.
    let init_path = kinds.contains(&"InitConfiguration") || kinds.contains(&"ClusterConfiguration");
    let mut init_seen = false;
    let mut cluster_pos = None;
    for part in &parts {
        let mut info = DocumentInfo {
            file: name.into(),
            index: part.index,
            line: part.pos.line,
            kind: part.kind.clone(),
            api_version: part.api_version.clone(),
            action: "invalid".into(),
        };
        let (Some(gvk), Some(root)) = (&part.gvk, &part.root) else {
            r.documents.push(info);
            continue;
        };
        let key_pos = |k: &str| {
            let Some(yaml::Value::Map(m)) = Some(&root.value) else { return root.pos };
            m.iter().rev().find(|(key, _)| key.name.eq_ignore_ascii_case(k)).map_or(root.pos, |(key, _)| key.pos)
        };
        let kind = gvk.kind.as_str();
        match gvk.known(kv) {
            Known::Unknown => {
                let code = if gvk.group == documents::KUBEADM_GROUP {
                    Code::ConfigVersionUnsupported
                } else {
                    Code::ConfigInvalid
                };
                r.problems.push(problem(
                    name,
                    key_pos("apiVersion"),
                    Origin::Kubeadm,
                    "apiVersion",
                    format!("unknown configuration APIs: []schema.GroupVersionKind{{{}}}", gvk.go_syntax()),
                    code,
                    "use a kind kubeadm knows: kubeadm.k8s.io/v1beta4 Init-, Cluster-, Join-, Reset- or UpgradeConfiguration, kubelet.config.k8s.io/v1beta1 KubeletConfiguration, kubeproxy.config.k8s.io/v1alpha1 KubeProxyConfiguration",
                ));
            }
            Known::Removed(last) => {
                let read = init_path
                    || matches!(kind, "JoinConfiguration" | "ResetConfiguration")
                    || (kind == "UpgradeConfiguration" && kv.validates_upgrade_configuration());
                if read {
                    let api = &part.api_version;
                    r.problems.push(problem(
                        name,
                        key_pos("apiVersion"),
                        Origin::Kubeadm,
                        "apiVersion",
                        format!("your configuration file uses an old API spec: {api:?} (kind: {kind:?}). Please use kubeadm {last} instead and run 'kubeadm config migrate --old-config old-config-file --new-config new-config-file', which will write the new, similar spec using a newer API version."),
                        Code::ConfigVersionUnsupported,
                        &format!("{api} was removed after kubeadm {last}; rewrite the file for kubeadm.k8s.io/v1beta4 (joinkit render-config), or migrate it with kubeadm {last} first"),
                    ));
                } else {
                    info.action = "ignored".into();
                }
            }
            Known::Kubeadm(api) => {
                let decoding = match kind {
                    "UpgradeConfiguration" if !kv.validates_upgrade_configuration() => {
                        init_path.then_some(Decoding::FieldsOnly)
                    }
                    _ => Some(Decoding::Full),
                };
                let Some(decoding) = decoding else {
                    info.action = "ignored".into();
                    r.documents.push(info);
                    continue;
                };
                info.action = "checked".into();
                if api == ApiVersion::V1beta3 {
                    r.problems.push(problem(
                        name,
                        key_pos("apiVersion"),
                        Origin::Advice,
                        "apiVersion",
                        format!("your configuration file uses a deprecated API spec: \"kubeadm.k8s.io/v1beta3\" (kind: {kind:?}). Please use 'kubeadm config migrate --old-config old.yaml --new-config new.yaml', which will write the new, similar spec using a newer API version. (v1beta3 is deprecated since kubeadm 1.31{}.)", if kv.deprecates_v1beta3() { "; kubeadm 1.36 warns about it" } else { "" }),
                        Code::ConfigInvalid,
                        "run `joinkit migrate-config FILE` to convert a JoinConfiguration to v1beta4",
                    ));
                }
                let ty = schema::schema(kind, api, kv).expect("every kubeadm kind has a schema");
                let mut c = Checker::check_shape(name, root, api, &ty, decoding);
                match kind {
                    "JoinConfiguration" => {
                        let model = validate::join_rules(&mut c, root, api);
                        r.join = Some((model, api, part.index));
                    }
                    "InitConfiguration" => {
                        init_seen = true;
                        cluster::init_rules(&mut c, Some(root));
                    }
                    "ClusterConfiguration" => {
                        cluster_pos = Some(root.pos);
                        cluster::cluster_rules(&mut c, root, kv);
                    }
                    "ResetConfiguration" => cluster::reset_rules(&mut c, root),
                    "UpgradeConfiguration" if decoding == Decoding::Full => cluster::upgrade_rules(&mut c, root),
                    _ => {}
                }
                r.problems.extend(c.problems);
            }
            Known::Component(comp) => {
                if !init_path {
                    info.action = "ignored".into();
                } else if comp == Component::OtherOfGroup {
                    if registered_kind_fields_unknown(&mut r, name, gvk, kind, root) {
                        // kubeadm's strict decoding error comes first.
                    } else {
                        r.problems.push(problem(
                        name,
                        key_pos("kind"),
                        Origin::Kubeadm,
                        "kind",
                        format!(
                            "converting ({kind}) to the {} component configuration: unknown conversion: beside an Init- or ClusterConfiguration kubeadm loads a document of this group as its component configuration{}",
                            gvk.group,
                            if kinds.iter().any(|k| matches!(*k, "KubeletConfiguration" | "KubeProxyConfiguration")) {
                                " (it takes one of the group's documents in Go's random map order, so kubeadm fails on some runs and passes on others)"
                            } else {
                                ""
                            }
                        ),
                        Code::ConfigInvalid,
                        "remove the document, or keep only KubeletConfiguration / KubeProxyConfiguration of this group",
                    ));
                    }
                } else {
                    info.action = "checked".into();
                    let ty = schema::schema(kind, ApiVersion::V1beta4, kv).expect("component schema");
                    let c = Checker::check_shape(name, root, ApiVersion::V1beta4, &ty, Decoding::Full);
                    r.problems.extend(c.problems);
                }
            }
            Known::Meta { without_type_meta } => {
                if !init_path {
                    info.action = "ignored".into();
                } else {
                    info.action = "checked".into();
                    if let yaml::Value::Map(m) = &root.value {
                        for (k, _) in m {
                            if without_type_meta || !matches!(k.name.as_str(), "apiVersion" | "kind") {
                                r.problems.push(problem(
                                    name,
                                    k.pos,
                                    Origin::Kubeadm,
                                    &k.name,
                                    format!("unknown field {:?}: beside an Init- or ClusterConfiguration kubeadm decodes every document strictly, and a {kind} has no such field", validate::shown(&k.name)),
                                    Code::ConfigInvalid,
                                    "remove the document",
                                ));
                            }
                        }
                    }
                }
            }
        }
        r.documents.push(info);
    }
    if init_path && !init_seen {
        // kubeadm defaults the InitConfiguration: its node registration is this machine's.
        let mut c = Checker::new(
            name,
            ApiVersion::V1beta4,
            cluster_pos.unwrap_or(yaml::Pos { line: 1, col: 1 }),
            Decoding::Full,
        );
        cluster::init_rules(&mut c, None);
        r.problems.extend(c.problems);
    }
    // Whether a file without a readable JoinConfiguration has one cannot be said when a
    // document did not parse.
    let unreadable = r.problems.iter().any(|p| p.code == Code::ConfigYamlSyntax && p.origin == Origin::Kubeadm);
    if r.join.is_none() && !unreadable && parts.iter().all(|p| p.gvk.is_some()) {
        r.problems.push(problem(
            name,
            yaml::Pos { line: 1, col: 1 },
            Origin::BeyondKubeadm,
            "",
            "no JoinConfiguration in this file: kubeadm config validate accepts that, but `kubeadm join --config` fails (no JoinConfiguration found in the supplied config)".into(),
            Code::ConfigNoJoinConfiguration,
            "add a document with apiVersion: kubeadm.k8s.io/v1beta4 and kind: JoinConfiguration (joinkit render-config writes one)",
        ));
    }
    if o.strict {
        for p in r.problems.iter_mut().filter(|p| p.origin == Origin::BeyondKubeadm) {
            p.severity = Severity::Error;
        }
    }
    r.problems.sort_by_key(|p| (p.line, p.column));
    r.code = r.problems.iter().find(|p| p.severity == Severity::Error).map(|p| p.code);
    r.docs = parts.into_iter().map(|p| yaml::Document { root: p.root, pos: p.pos, text: p.text }).collect();
    r
}

/// Formats a problem like a compiler diagnostic.
pub fn format_problem(p: &Problem) -> String {
    let sev = match p.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let path = if p.path.is_empty() { String::new() } else { format!("{}: ", p.path) };
    let mut origin = match p.origin {
        Origin::Kubeadm if p.kubeadm_rule => " [kubeadm]",
        Origin::BeyondKubeadm => " [beyond kubeadm config validate]",
        Origin::Joinkit => " [joinkit refuses what kubeadm config validate accepts]",
        Origin::Eks => " [EKS]",
        _ => "",
    }
    .to_string();
    if p.machine_dependent {
        origin.push_str(" [machine-dependent: checked on this machine]");
    }
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
    let mut node_mappings = Vec::new();
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
        if let Some(m) = &r.node_mapping {
            report.line(m.describe());
            node_mappings.push(m.clone());
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
    if !node_mappings.is_empty() {
        report.set("nodeMapping", &node_mappings);
    }
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

/// Reads and checks files (`-` is stdin), each with [`read_config`] and [`check_text_with`].
pub fn check_files(paths: &[std::path::PathBuf], o: &CheckOptions) -> Result<Vec<(String, FileResult)>, Failure> {
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        let name = p.display().to_string();
        let text = read_config(p)?;
        let r = check_text_with(&name, &text, o);
        out.push((name, r));
    }
    eks::node_verdict(&mut out);
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
    // A character go-yaml breaks lines at (and YAML 1.2 readers do not) is refused here, not
    // only warned about: the file written would mean different things to different readers.
    let strict = yaml::check_line_breaks(text).is_err();
    let r = check_text_with(name, text, &CheckOptions { strict, ..CheckOptions::default() });
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
