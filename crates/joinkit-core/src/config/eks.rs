//! `validate-config` for the identity mapping of EKS worker nodes: the `aws-auth` ConfigMap
//! (`kube-system/aws-auth`, read by aws-iam-authenticator on the EKS control plane) and the JSON
//! that `aws eks describe-access-entry` and `aws eks list-access-entries` print. docs/eks-aws-auth.md
//! lists every rule; each rule below cites its source.
//!
//! How the authenticator reads the ConfigMap (kubernetes-sigs/aws-iam-authenticator,
//! `pkg/mapper/configmap/configmap.go`, `ParseMap` and `saveMap`; `pkg/config/mapper.go`;
//! `pkg/config/types.go`):
//! - `data.mapRoles` and `data.mapUsers` are YAML text inside the ConfigMap's string values,
//!   converted to JSON (`utilyaml.ToJSON`, go-yaml v2) and decoded with Go's `encoding/json` into
//!   `[]RoleMapping` / `[]UserMapping`: field names match case-insensitively (`rolearn`, `roleARN`),
//!   unknown fields are ignored, and a text that does not parse loses **every** mapping of that key
//!   (the error is only logged). `data.mapAccounts` is a YAML list of account IDs. The top-level
//!   keys are case-sensitive (`mapusers` is ignored). A value that is only blank, ` `` `, `""` or
//!   `''` is skipped (`isSkippable`).
//! - Each entry is validated (`RoleMapping.Validate`: `one of rolearn or SSO must be supplied`,
//!   `only one of rolearn or SSO can be supplied`; `UserMapping.Validate`: `value for userarn must
//!   be supplied`); an invalid entry is dropped.
//! - Roles are stored in a map keyed by the lowercased `rolearn` (`RoleMapping.Key`), users by the
//!   `userarn` as written (`UserMapping.Key`), in file order: for the same key **the last entry
//!   wins**. Lookup (`ConfigMapMapper.Map`) tries roles first, then users, comparing with
//!   `strings.EqualFold` against the caller's canonical ARN; two user entries that differ only in
//!   case are both kept and the one found depends on Go's map order.
//! - The caller's ARN comes from STS `GetCallerIdentity`: a node is
//!   `arn:aws:sts::ACCOUNT:assumed-role/ROLE/i-…`, which `arn.Canonicalize` (`pkg/arn/arn.go`)
//!   turns into `arn:aws:iam::ACCOUNT:role/ROLE`. An assumed-role ARN carries no IAM path, so a
//!   `rolearn` with a path (`role/team/ROLE`) never equals it: the ConfigMap mapper does not strip
//!   paths (`arn.StripPath` exists but only the DynamicFile mapper uses it). The EKS user guide
//!   says the same ("ARNs in aws-auth ConfigMap entries, can't include a path", Create access
//!   entries).
//! - `username` and `groups` are templates (`pkg/server/server.go`, `renderTemplate`):
//!   `{{EC2PrivateDNSName}}` (an EC2 `DescribeInstances` lookup, which fails with `SessionName did
//!   not contain an instance id` unless the session name is an instance ID), `{{AccountID}}`,
//!   `{{SessionName}}` (`@` replaced by `-`), `{{SessionNameRaw}}`, `{{AccessKeyID}}`.
//! - When no role or user entry matches and the account is in `mapAccounts`, the caller is
//!   authenticated as its canonical ARN with no groups (`doMapping`): no node identity.
//!
//! A node entry (EKS user guide, "Grant IAM users access to Kubernetes with a ConfigMap" and
//! "Amazon EKS node IAM role"; the entries EKS and eksctl write) maps the node's IAM **role**
//! (not its instance profile) to `system:node:{{EC2PrivateDNSName}}` with the groups
//! `system:bootstrappers` and `system:nodes` (Windows nodes add `eks:kube-proxy-windows`); a
//! Fargate pod execution role (and a hybrid nodes role) uses `system:node:{{SessionName}}`
//! (Fargate adds `system:node-proxier`). The username must be `system:node:<node name>` for the
//! Node authorizer and the kubelet's certificate, and `system:nodes` is the group it authorizes.
//!
//! Access entries (EKS API reference, `CreateAccessEntry` and `AccessEntry`; EKS user guide,
//! "Create access entries"): the type of a node role's entry is `EC2_LINUX` or `EC2_WINDOWS`
//! (`FARGATE_LINUX`, `HYBRID_LINUX`, `EC2` for Auto Mode, `HYPERPOD_LINUX` for the other node
//! kinds); for these types the principal must be an IAM role, and the type cannot be changed
//! after creation. Access entries match the principal's ID, so a role ARN may keep its path.

use super::validate::{shown, Origin, Problem, Severity, MAX_MESSAGE_CHARS, MAX_PATH_CHARS};
use super::{CheckOptions, DocumentInfo, FileResult};
use crate::error::Code;
use crate::report::truncate_for_display;
use crate::yaml::{self, Node, Pos, Value};
use serde::Serialize;

/// What kind of EKS identity-mapping file a text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EksFile {
    /// The `aws-auth` ConfigMap (YAML or JSON, as `kubectl get configmap aws-auth -o yaml|json`
    /// prints it or as it is applied).
    AwsAuth,
    /// `aws eks describe-access-entry` (or `create-access-entry`) output: `{"accessEntry": {...}}`.
    AccessEntry,
    /// `aws eks list-access-entries` output: `{"accessEntries": ["arn:…", …]}`.
    AccessEntryList,
}

/// The partitions the authenticator accepts (`pkg/endpoints/partitions.go`, `PARTITIONS`).
pub const PARTITIONS: &[&str] =
    &["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"];

/// The node username for EC2 nodes (Linux and Windows) in `aws-auth` and in the access entries
/// EKS creates for `EC2_LINUX`/`EC2_WINDOWS`.
pub const EC2_NODE_USERNAME: &str = "system:node:{{EC2PrivateDNSName}}";
/// The node username for Fargate pod execution roles and hybrid nodes roles.
pub const SESSION_NODE_USERNAME: &str = "system:node:{{SessionName}}";
/// The groups every node entry needs.
pub const NODE_GROUPS: &[&str] = &["system:bootstrappers", "system:nodes"];
/// Access entry types for nodes (EKS API reference, `CreateAccessEntry` `type`).
pub const NODE_ENTRY_TYPES: &[&str] =
    &["EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX", "HYBRID_LINUX", "EC2", "HYPERPOD_LINUX"];

/// Says whether `text` is one of the EKS identity-mapping files, by content: a single YAML or
/// JSON document whose root is a `kind: ConfigMap` named `aws-auth` (or holding `mapRoles`,
/// `mapUsers` or `mapAccounts` in `data`), or an object with `accessEntry` (an object) or
/// `accessEntries` (a list). Anything else (every kubeadm configuration) is None.
pub fn recognise(text: &str) -> Option<EksFile> {
    if !["aws-auth", "mapRoles", "mapUsers", "mapAccounts", "accessEntr"].iter().any(|k| text.contains(k)) {
        return None;
    }
    let docs = yaml::parse(text).ok()?;
    let mut roots = docs.iter().filter_map(|d| d.root.as_ref());
    let root = roots.next()?;
    if roots.next().is_some() {
        return None;
    }
    classify(root)
}

fn classify(root: &Node) -> Option<EksFile> {
    let Value::Map(_) = &root.value else { return None };
    if root.get("kind").and_then(Node::str) == Some("ConfigMap") {
        let named = root.get("metadata").and_then(|m| m.get("name")).and_then(Node::str) == Some("aws-auth");
        let data_keys = match root.get("data").map(|d| &d.value) {
            Some(Value::Map(m)) => m.iter().any(|(k, _)| k.name.to_ascii_lowercase().starts_with("map")),
            _ => false,
        };
        return (named || data_keys).then_some(EksFile::AwsAuth);
    }
    if matches!(root.get("accessEntry").map(|n| &n.value), Some(Value::Map(_))) {
        return Some(EksFile::AccessEntry);
    }
    if matches!(root.get("accessEntries").map(|n| &n.value), Some(Value::Seq(_))) {
        return Some(EksFile::AccessEntryList);
    }
    None
}

/// An ARN split as the AWS SDK's `arn.Parse` splits it (`arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`,
/// the resource keeping any further `:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    /// `aws`, `aws-cn`, …
    pub partition: String,
    /// `iam`, `sts`, `eks`, …
    pub service: String,
    /// Empty for IAM.
    pub region: String,
    /// The 12-digit account ID (not checked here).
    pub account: String,
    /// `role/NAME`, `role/PATH/NAME`, `instance-profile/NAME`, `assumed-role/NAME/SESSION`, …
    pub resource: String,
}

impl Arn {
    /// Parses as `github.com/aws/aws-sdk-go-v2/aws/arn.Parse` does: the `arn:` prefix and six
    /// `:`-separated sections (`arn: invalid prefix`, `arn: not enough sections`).
    pub fn parse(s: &str) -> Result<Arn, String> {
        if !s.starts_with("arn:") {
            return Err("arn: invalid prefix".into());
        }
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        if parts.len() != 6 {
            return Err("arn: not enough sections".into());
        }
        Ok(Arn {
            partition: parts[1].into(),
            service: parts[2].into(),
            region: parts[3].into(),
            account: parts[4].into(),
            resource: parts[5].into(),
        })
    }

    /// The resource type: the part of the resource before the first `/`.
    pub fn resource_type(&self) -> &str {
        self.resource.split('/').next().unwrap_or("")
    }

    /// For an IAM role (with or without path) or an STS assumed role, the IAM role ARN without
    /// path: `arn:P:iam::A:role/NAME` (the form `arn.Canonicalize` gives an assumed role, and
    /// `arn.StripPath` a role). None for anything else.
    pub fn role_without_path(&self) -> Option<String> {
        let parts: Vec<&str> = self.resource.split('/').collect();
        let name = match (self.service.as_str(), parts.first().copied()) {
            ("iam", Some("role")) if parts.len() >= 2 => parts[parts.len() - 1],
            // arn.Canonicalize: parts[1..len-1] is the role, the last part the session name.
            ("sts", Some("assumed-role")) if parts.len() >= 3 => parts[parts.len() - 2],
            _ => return None,
        };
        Some(format!("arn:{}:iam::{}:role/{name}", self.partition, self.account))
    }
}

/// Why a `rolearn` can never equal a node's canonical ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RoleArnIssue {
    /// Not an ARN (`arn.Parse`'s error).
    NotArn(String),
    /// A partition the authenticator does not know.
    Partition(String),
    /// `arn:…:iam::A:instance-profile/NAME`: the instance profile, not its role.
    InstanceProfile,
    /// `arn:…:sts::A:assumed-role/NAME/SESSION`: a session, not the role.
    AssumedRole(String),
    /// Another service or resource (an EKS Fargate profile ARN, a user in mapRoles is fine).
    NotRole(String),
    /// `role/PATH/NAME`: the caller's canonical ARN has no path.
    Path(String),
}

/// Judges a `rolearn` as the authenticator will compare it: `Ok` when a caller's canonical ARN
/// can equal it.
fn role_arn_issue(s: &str) -> Result<(), RoleArnIssue> {
    let arn = Arn::parse(s).map_err(RoleArnIssue::NotArn)?;
    if !PARTITIONS.contains(&arn.partition.as_str()) {
        return Err(RoleArnIssue::Partition(arn.partition));
    }
    match (arn.service.as_str(), arn.resource_type()) {
        ("iam", "role") => match arn.role_without_path() {
            Some(stripped) if arn.resource.matches('/').count() > 1 => Err(RoleArnIssue::Path(stripped)),
            Some(_) => Ok(()),
            None => Err(RoleArnIssue::NotRole(format!("{}:{}", arn.service, arn.resource_type()))),
        },
        // A user ARN in mapRoles still matches a user caller (RoleMapping.Matches is EqualFold).
        ("iam", "user") | ("iam", "root") => Ok(()),
        ("iam", "instance-profile") => Err(RoleArnIssue::InstanceProfile),
        ("sts", "assumed-role") => {
            Err(RoleArnIssue::AssumedRole(arn.role_without_path().unwrap_or_else(|| "the role ARN".into())))
        }
        (svc, ty) => Err(RoleArnIssue::NotRole(format!("{svc}:{ty}"))),
    }
}

/// The node's IAM role as the authenticator sees it: `--node-role-arn` (a role ARN with or
/// without path, or the assumed-role ARN `aws sts get-caller-identity` prints on the node)
/// reduced to `arn:P:iam::A:role/NAME`. An instance-profile ARN or anything else is refused
/// with the reason.
pub fn node_role(given: &str) -> Result<String, String> {
    let arn = Arn::parse(given.trim()).map_err(|e| format!("{:?} is not an ARN ({e})", shown(given)))?;
    if arn.service == "iam" && arn.resource_type() == "instance-profile" {
        return Err(format!(
            "{:?} is an instance profile ARN; give the ARN of the role inside it (aws iam get-instance-profile --instance-profile-name {} --query 'InstanceProfile.Roles[].Arn')",
            shown(given),
            shown(arn.resource.rsplit('/').next().unwrap_or(""))
        ));
    }
    arn.role_without_path().ok_or_else(|| {
        format!("{:?} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME) or an assumed-role ARN", shown(given))
    })
}

/// How a node role is mapped by one file, or why it is not.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeMapping {
    /// The file.
    pub file: String,
    /// The node role without path (`arn:P:iam::A:role/NAME`).
    pub role_arn: String,
    /// `aws-auth mapRoles`, `aws-auth mapUsers`, `aws-auth mapAccounts`, `access entry`,
    /// `access entry list`, or empty when not mapped.
    pub by: String,
    /// True when the file gives the node a node identity (right username and groups).
    pub mapped: bool,
    /// 0-based index of the entry in its list, when one matched.
    pub entry: Option<usize>,
    /// The entry's line in the file.
    pub line: Option<usize>,
    /// The username template the node gets.
    pub username: Option<String>,
    /// The groups the node gets.
    pub groups: Vec<String>,
    /// Why not mapped, or what to check (a list only says an entry exists).
    pub note: String,
    /// True for a describe-access-entry file whose principal is the node role: that entry
    /// decides, whatever aws-auth says (EKS user guide, "Migrating existing aws-auth ConfigMap
    /// entries to access entries": access entries take precedence over ConfigMap entries for the
    /// same IAM principal).
    pub access_entry: bool,
}

impl NodeMapping {
    fn none(file: &str, role: &str, note: String) -> NodeMapping {
        NodeMapping {
            file: file.into(),
            role_arn: role.into(),
            by: String::new(),
            mapped: false,
            entry: None,
            line: None,
            username: None,
            groups: Vec::new(),
            note,
            access_entry: false,
        }
    }

    /// One line for the text report.
    pub fn describe(&self) -> String {
        let at = match self.line {
            Some(l) => format!("{}:{l}", self.file),
            None => self.file.clone(),
        };
        let note = if self.note.is_empty() { String::new() } else { format!("; {}", self.note) };
        match (&self.username, self.mapped) {
            (Some(u), true) => format!(
                "node role {}: mapped by {}{} ({at}) to username {u} with groups [{}]{note}",
                self.role_arn,
                self.by,
                self.entry.map_or(String::new(), |i| format!(" entry {i}")),
                self.groups.join(", "),
            ),
            (None, true) => format!("node role {}: {} ({at}){note}", self.role_arn, self.by),
            (_, false) => format!("node role {}: not mapped by {at}: {}", self.role_arn, self.note),
        }
    }
}

/// Problems of one file, with the position mapping for text nested in a ConfigMap value.
pub(super) struct Sink<'a> {
    pub(super) file: &'a str,
    pub(super) strict: bool,
    pub(super) problems: Vec<Problem>,
}

impl Sink<'_> {
    pub(super) fn push(&mut self, severity: Severity, pos: Pos, path: &str, message: String, code: Code, fix: &str) {
        let severity = if self.strict { Severity::Error } else { severity };
        self.problems.push(Problem {
            severity,
            origin: Origin::Eks,
            machine_dependent: false,
            file: self.file.to_string(),
            line: pos.line,
            column: pos.col,
            path: truncate_for_display(path, MAX_PATH_CHARS),
            message: truncate_for_display(&message, MAX_MESSAGE_CHARS),
            kubeadm_rule: false,
            fix: truncate_for_display(fix, MAX_MESSAGE_CHARS),
            code,
        });
    }
    pub(super) fn error(&mut self, pos: Pos, path: &str, message: String, code: Code, fix: &str) {
        self.push(Severity::Error, pos, path, message, code, fix);
    }
    pub(super) fn warn(&mut self, pos: Pos, path: &str, message: String, fix: &str) {
        self.push(Severity::Warning, pos, path, message, Code::ConfigInvalid, fix);
    }
}

/// Where the YAML text of a ConfigMap value lies in the file: a block scalar (`mapRoles: |`)
/// keeps its lines, shifted by the header line and the block's indentation; a quoted value
/// (`kubectl get -o json`) is reported at its start, with the position inside the value named.
#[derive(Debug, Clone, Copy)]
struct Inner {
    /// Line of the block scalar's header (`mapRoles: |`), for a block scalar.
    header_line: Option<usize>,
    /// The block's indentation in columns.
    indent: usize,
    /// Where the value starts.
    start: Pos,
}

impl Inner {
    /// Finds the value's text in the file: `key` is its key in `data`. A block scalar's node
    /// starts at its first content line; its header (`|`, `|-`, `>`, `|2`) follows the key.
    fn locate(file_text: &str, key: &yaml::Key, value: &Node) -> Inner {
        let lines: Vec<&str> = file_text.lines().collect();
        let key_line = lines.get(key.pos.line.saturating_sub(1)).copied().unwrap_or("");
        let after_key: String = key_line.chars().skip(key.pos.col.saturating_sub(1)).collect();
        let header = after_key.split_once(':').map_or("", |(_, r)| r.trim_start());
        let is_block = header.starts_with('|') || header.starts_with('>');
        if !is_block {
            return Inner { header_line: None, indent: 0, start: value.pos };
        }
        let indent = lines
            .iter()
            .skip(key.pos.line)
            .find(|l| !l.trim().is_empty())
            .map_or(0, |l| l.len() - l.trim_start_matches(' ').len());
        Inner { header_line: Some(key.pos.line), indent, start: value.pos }
    }

    /// The file position of an inner position.
    fn pos(&self, p: Pos) -> Pos {
        match self.header_line {
            Some(h) => Pos { line: h + p.line, col: p.col + self.indent },
            None => self.start,
        }
    }

    /// Words naming the inner position when the file position cannot show it.
    fn inside(&self, p: Pos) -> String {
        match self.header_line {
            Some(_) => String::new(),
            None => format!(" (line {}, column {} of the value's text)", p.line, p.col),
        }
    }
}

/// One entry of mapRoles or mapUsers as the authenticator decodes it.
#[derive(Debug, Clone, Default)]
struct Entry {
    index: usize,
    pos: Pos,
    arn: Option<(String, Pos)>,
    sso: bool,
    username: Option<(String, Pos)>,
    groups: Vec<String>,
    groups_pos: Option<Pos>,
    /// False when `Validate` drops it.
    valid: bool,
    /// Index of the later entry with the same key that replaces this one.
    shadowed_by: Option<usize>,
}

impl Entry {
    /// True when the entry is meant for nodes: its username or groups name the node identity.
    fn looks_like_node(&self) -> bool {
        let u = self.username.as_ref().map_or("", |(u, _)| u.as_str());
        // A person's or CI role that borrows a node username but is an administrator is not
        // a node entry (aws-iam-authenticator#190 maps admins to system:node:{{SessionName}}).
        let admin = self.groups.iter().any(|g| g == "system:masters");
        self.groups.iter().any(|g| g.contains("system:nodes") || g.contains("system:bootstrappers"))
            || (!admin && (u.contains("system:node:") || u.contains("{{EC2PrivateDNSName}}")))
    }

    fn line(&self) -> usize {
        self.pos.line
    }
}

/// The fields of a RoleMapping (`pkg/config/types.go`), matched case-insensitively as
/// `encoding/json` does.
const ROLE_FIELDS: &[&str] = &["rolearn", "sso", "username", "groups", "userid"];
/// The fields of a UserMapping.
const USER_FIELDS: &[&str] = &["userarn", "username", "groups", "userid"];

/// Checks `kind: ConfigMap` `aws-auth` text.
fn check_aws_auth(name: &str, text: &str, o: &CheckOptions, r: &mut FileResult) {
    let mut sink = Sink { file: name, strict: o.strict, problems: Vec::new() };
    let docs = match yaml::parse(text) {
        Ok(d) => d,
        Err(e) => {
            sink.error(
                e.pos,
                "",
                format!("YAML syntax error: {}", e.message),
                Code::ConfigYamlSyntax,
                e.fix.unwrap_or("fix the YAML syntax at this position"),
            );
            r.problems = sink.problems;
            return;
        }
    };
    let Some(doc) = docs.iter().find(|d| d.root.is_some()) else { return };
    let root = doc.root.as_ref().expect("found with a root");
    r.documents.push(DocumentInfo {
        file: name.into(),
        index: 0,
        line: doc.pos.line.max(1),
        kind: "ConfigMap".into(),
        api_version: root.get("apiVersion").and_then(Node::str).unwrap_or("").into(),
        action: "checked".into(),
    });
    // The authenticator watches one object: ConfigMaps("kube-system"), metadata.name=aws-auth
    // (configmap.go, New and startLoadConfigMap).
    let meta = root.get("metadata");
    let cm_name = meta.and_then(|m| m.get("name"));
    if cm_name.and_then(Node::str) != Some("aws-auth") {
        sink.error(
            cm_name.map_or(root.pos, |n| n.pos),
            "metadata.name",
            format!(
                "the ConfigMap is named {:?}: aws-iam-authenticator reads only kube-system/aws-auth",
                shown(cm_name.and_then(Node::str).unwrap_or(""))
            ),
            Code::ConfigInvalid,
            "name it aws-auth (metadata.name: aws-auth, metadata.namespace: kube-system)",
        );
    }
    match meta.and_then(|m| m.get("namespace")) {
        Some(ns) if ns.str() != Some("kube-system") => sink.error(
            ns.pos,
            "metadata.namespace",
            format!("namespace {:?}: aws-iam-authenticator reads only the aws-auth ConfigMap in kube-system", shown(ns.str().unwrap_or(""))),
            Code::ConfigInvalid,
            "set metadata.namespace: kube-system",
        ),
        Some(_) => {}
        None => sink.warn(
            meta.map_or(root.pos, |m| m.pos),
            "metadata.namespace",
            "no namespace: kubectl apply puts the ConfigMap in the context's namespace (often default), and aws-iam-authenticator reads only kube-system".into(),
            "set metadata.namespace: kube-system",
        ),
    }
    let data = match root.get("data") {
        Some(d) => d,
        None => {
            sink.error(
                root.pos,
                "data",
                "the ConfigMap has no data: no IAM role or user is mapped, so no node can authenticate".into(),
                Code::ConfigInvalid,
                "add data.mapRoles with the node role's entry (docs/eks-aws-auth.md)",
            );
            r.problems = sink.problems;
            return;
        }
    };
    let Value::Map(entries) = &data.value else {
        sink.error(
            data.pos,
            "data",
            "data is not a map of strings".into(),
            Code::ConfigInvalid,
            "write data as keys with string values (mapRoles: |)",
        );
        r.problems = sink.problems;
        return;
    };
    let mut roles: Vec<Entry> = Vec::new();
    let mut users: Vec<Entry> = Vec::new();
    let mut accounts: Vec<(String, Pos)> = Vec::new();
    for (key, value) in entries {
        let canonical = ["mapRoles", "mapUsers", "mapAccounts"].into_iter().find(|k| k.eq_ignore_ascii_case(&key.name));
        let Some(canonical) = canonical else { continue };
        if canonical != key.name {
            // ParseMap looks up m["mapRoles"] etc.: the keys are case-sensitive
            // (configmap_test: aws-auth-lower-case-top-keys.yaml maps nothing).
            sink.error(
                key.pos,
                &format!("data.{}", key.name),
                format!("data key {:?} is ignored: aws-iam-authenticator reads only {canonical:?} (the keys are case-sensitive)", shown(&key.name)),
                Code::ConfigInvalid,
                &format!("rename the key to {canonical}"),
            );
            continue;
        }
        let path = format!("data.{canonical}");
        let text_value = match &value.value {
            Value::Scalar(s) => s.value.clone(),
            _ => {
                // ConfigMap data values are strings (core/v1 ConfigMap.data map[string]string):
                // kubectl and the API server refuse the object, so it is never applied
                // (configmap_test: aws-auth-missing-bar.yaml).
                sink.error(
                    value.pos,
                    &path,
                    format!("{canonical} is a YAML {} here, not a string: a ConfigMap's data values are strings, so kubectl apply and the API server refuse this ConfigMap (the | after `{canonical}:` is missing?)", if matches!(value.value, Value::Seq(_)) { "list" } else { "map" }),
                    Code::ConfigInvalid,
                    &format!("write `{canonical}: |` and indent the list under it"),
                );
                continue;
            }
        };
        let trimmed = text_value.trim();
        if trimmed.is_empty() || matches!(trimmed, "``" | "\"\"" | "''") {
            continue; // isSkippable
        }
        let inner = Inner::locate(text, key, value);
        let parsed = match yaml::parse(&text_value) {
            Ok(d) => d,
            Err(e) => {
                let lost = match canonical {
                    "mapRoles" => "every role mapping is lost, so no node role is mapped and no node can join",
                    "mapUsers" => "every user mapping is lost",
                    _ => "every account is lost",
                };
                sink.error(
                    inner.pos(e.pos),
                    &path,
                    format!("{canonical} is not valid YAML: {}{}; aws-iam-authenticator only logs this and {lost}", e.message, inner.inside(e.pos)),
                    Code::ConfigYamlSyntax,
                    "fix the indentation: every entry starts with `- ` at the same column, its keys line up two columns further in, and list items under groups: line up with each other",
                );
                continue;
            }
        };
        let Some(list) = parsed.into_iter().find_map(|d| d.root) else { continue };
        match canonical {
            "mapAccounts" => accounts = read_accounts(&mut sink, &inner, &list, &path),
            "mapRoles" => roles = read_entries(&mut sink, &inner, &list, &path, true),
            _ => users = read_entries(&mut sink, &inner, &list, &path, false),
        }
    }
    shadow(&mut sink, &mut roles, "mapRoles", true);
    shadow(&mut sink, &mut users, "mapUsers", false);
    for e in roles.iter().filter(|e| e.valid && e.shadowed_by.is_none()) {
        check_role_entry(&mut sink, e);
    }
    if let Some(role) = &o.node_role_arn {
        r.node_mapping = Some(map_node(name, role, &roles, &users, &accounts));
    }
    r.problems = sink.problems;
}

/// Reads mapAccounts: a list of account IDs (decoded into `[]string`).
fn read_accounts(sink: &mut Sink, inner: &Inner, list: &Node, path: &str) -> Vec<(String, Pos)> {
    let Value::Seq(items) = &list.value else {
        sink.error(
            inner.pos(list.pos),
            path,
            "mapAccounts is not a YAML list: aws-iam-authenticator cannot decode it and maps no account".into(),
            Code::ConfigInvalid,
            "write mapAccounts as a list: `- \"111122223333\"`",
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let Some(v) = it.str() else {
            sink.error(
                inner.pos(it.pos),
                &format!("{path}[{i}]"),
                "an account must be a string".into(),
                Code::ConfigInvalid,
                "write the 12-digit account ID",
            );
            continue;
        };
        if !(v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit())) {
            sink.warn(
                inner.pos(it.pos),
                &format!("{path}[{i}]"),
                format!("{:?} is not a 12-digit AWS account ID: no caller's account will equal it", shown(v)),
                "write the 12-digit account ID, quoted",
            );
        }
        out.push((v.to_string(), inner.pos(it.pos)));
    }
    out
}

/// Reads mapRoles (`roles`) or mapUsers into entries, reporting what `encoding/json` and
/// `Validate` refuse or ignore.
fn read_entries(sink: &mut Sink, inner: &Inner, list: &Node, path: &str, roles: bool) -> Vec<Entry> {
    let what = if roles { "mapRoles" } else { "mapUsers" };
    let Value::Seq(items) = &list.value else {
        sink.error(
            inner.pos(list.pos),
            path,
            format!("{what} is not a YAML list: json.Unmarshal into a list fails and aws-iam-authenticator maps nothing from it"),
            Code::ConfigInvalid,
            "start every entry with `- ` (a list of maps)",
        );
        return Vec::new();
    };
    let fields = if roles { ROLE_FIELDS } else { USER_FIELDS };
    let arn_key = if roles { "rolearn" } else { "userarn" };
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let mut e = Entry { index: i, pos: inner.pos(it.pos), ..Entry::default() };
        let Value::Map(m) = &it.value else {
            sink.error(
                inner.pos(it.pos),
                &at,
                format!("entry {i} of {what} is not a map{}", inner.inside(it.pos)),
                Code::ConfigInvalid,
                "write each entry as a map with rolearn/userarn, username and groups",
            );
            continue;
        };
        // Which key a field is read from: utilyaml.ToJSON keeps the later of two equal keys
        // (go-yaml v2, not strict) and writes the object with its keys sorted (json.Marshal of a
        // map); json.Unmarshal then assigns every key that matches a field case-insensitively,
        // in that order, so of differently-cased keys the greatest in byte order wins.
        let mut winners: Vec<(&str, &yaml::Key, &Node)> = Vec::new();
        for (k, v) in m {
            let Some(field) = fields.iter().copied().find(|f| f.eq_ignore_ascii_case(&k.name)) else {
                let hint = match k.name.to_ascii_lowercase().as_str() {
                    "group" => " (did you mean groups?)",
                    "role_arn" | "rolearn:" | "role" | "arn" => " (did you mean rolearn?)",
                    "user_arn" | "user" => " (did you mean userarn?)",
                    "user_name" | "name" => " (did you mean username?)",
                    _ => "",
                };
                sink.warn(
                    inner.pos(k.pos),
                    &format!("{at}.{}", k.name),
                    format!("unknown field {:?}: aws-iam-authenticator ignores it{hint}", shown(&k.name)),
                    "remove it, or spell the field as rolearn/userarn, username, groups",
                );
                continue;
            };
            match winners.iter_mut().find(|(f, _, _)| *f == field) {
                None => winners.push((field, k, v)),
                Some(w) => {
                    let replaces = w.1.name == k.name || k.name.as_bytes() > w.1.name.as_bytes();
                    let (read, other) = if replaces { (k, w.1) } else { (w.1, k) };
                    sink.warn(
                        inner.pos(k.pos),
                        &format!("{at}.{}", k.name),
                        format!(
                            "{field} is given twice in this entry ({:?} on line {} and {:?} on line {}): aws-iam-authenticator reads {:?} on line {}{}",
                            shown(&w.1.name),
                            inner.pos(w.1.pos).line,
                            shown(&k.name),
                            inner.pos(k.pos).line,
                            shown(&read.name),
                            inner.pos(read.pos).line,
                            if other.name == read.name { " (the later one)" } else { " (of keys differing in case, the greatest in byte order)" }
                        ),
                        "keep one",
                    );
                    if replaces {
                        *w = (field, k, v);
                    }
                }
            }
        }
        for (field, _, v) in winners {
            match field {
                "rolearn" | "userarn" => match v.str() {
                    Some(s) if !matches!(v.value, Value::Map(_) | Value::Seq(_)) && !v.is_null() => {
                        e.arn = Some((s.to_string(), inner.pos(v.pos)))
                    }
                    _ => {}
                },
                "sso" => e.sso = !v.is_null(),
                "username" => {
                    if let Some(s) = v.str().filter(|_| !v.is_null()) {
                        e.username = Some((s.to_string(), inner.pos(v.pos)));
                    }
                }
                "groups" => {
                    e.groups_pos = Some(inner.pos(v.pos));
                    match &v.value {
                        Value::Seq(gs) => e.groups = gs.iter().filter_map(|g| g.str().map(str::to_string)).collect(),
                        Value::Scalar(_) if v.is_null() => {}
                        _ => sink.error(
                            inner.pos(v.pos),
                            &format!("{at}.groups"),
                            "groups is not a list: encoding/json fails on this entry (cannot unmarshal into []string) and it maps no group".into(),
                            Code::ConfigInvalid,
                            "write groups as a list, one `- group` per line",
                        ),
                    }
                }
                _ => {}
            }
        }
        // RoleMapping.Validate / UserMapping.Validate (pkg/config/mapper.go).
        let msg = if roles {
            match (e.arn.is_some(), e.sso) {
                (false, false) => Some("one of rolearn or SSO must be supplied"),
                (true, true) => Some("only one of rolearn or SSO can be supplied"),
                _ => None,
            }
        } else {
            e.arn.is_none().then_some("value for userarn must be supplied")
        };
        if let Some(msg) = msg {
            sink.error(
                e.pos,
                &at,
                format!(
                    "entry {i} of {what} is dropped: {msg} (aws-iam-authenticator's validation){}",
                    inner.inside(it.pos)
                ),
                Code::ConfigInvalid,
                &format!("give the entry a {arn_key} (the full ARN)"),
            );
        } else {
            e.valid = true;
        }
        out.push(e);
    }
    out
}

/// Marks entries replaced by a later one with the same key (roles: the lowercased rolearn;
/// users: the userarn as written), as `saveMap` stores them, and warns about each; user
/// entries that differ only in case are both kept and found in Go's map order.
fn shadow(sink: &mut Sink, entries: &mut [Entry], what: &str, roles: bool) {
    let key = |e: &Entry| e.arn.as_ref().map(|(a, _)| if roles { a.to_lowercase() } else { a.clone() });
    for i in 0..entries.len() {
        if !entries[i].valid {
            continue;
        }
        let Some(k) = key(&entries[i]) else { continue };
        if let Some(j) =
            (i + 1..entries.len()).rev().find(|&j| entries[j].valid && key(&entries[j]).as_ref() == Some(&k))
        {
            entries[i].shadowed_by = Some(j);
            let (line, jline) = (entries[i].line(), entries[j].line());
            let same = entries[i].username.as_ref().map(|u| &u.0) == entries[j].username.as_ref().map(|u| &u.0)
                && entries[i].groups == entries[j].groups;
            sink.warn(
                entries[i].pos,
                &format!("data.{what}[{i}]"),
                format!(
                    "entry {i} is shadowed by entry {j} (line {jline}) for the same ARN: aws-iam-authenticator keeps the last entry for an ARN{}",
                    if same { " (both map to the same username and groups)" } else { ", so entry {i}'s username and groups are never used" }
                ),
                &format!("keep one entry per ARN (line {line} or {jline})"),
            );
        } else if !roles {
            if let Some(j) = (0..entries.len()).find(|&j| {
                j != i && entries[j].valid && key(&entries[j]).is_some_and(|o| o != k && o.eq_ignore_ascii_case(&k))
            }) {
                if j > i {
                    sink.warn(
                        entries[i].pos,
                        &format!("data.{what}[{i}]"),
                        format!("entries {i} and {j} (line {}) name the same user in different case: aws-iam-authenticator keeps both and uses whichever Go's map order finds first", entries[j].line()),
                        "keep one entry per user ARN",
                    );
                }
            }
        }
    }
}

/// The node checks of one live (valid, not shadowed) mapRoles entry.
fn check_role_entry(sink: &mut Sink, e: &Entry) {
    let at = format!("data.mapRoles[{}]", e.index);
    let node = e.looks_like_node();
    if let Some((arn, pos)) = &e.arn {
        if let Err(issue) = role_arn_issue(arn) {
            let (msg, fix): (String, String) = match &issue {
                RoleArnIssue::NotArn(err) => (format!("rolearn {:?} is not an ARN ({err}): no caller ever matches it", shown(arn)), "write the role's ARN: arn:aws:iam::ACCOUNT:role/NAME".into()),
                RoleArnIssue::Partition(p) => (format!("rolearn partition {:?} is not one aws-iam-authenticator knows ({})", shown(p), PARTITIONS.join(", ")), "write arn:aws:… (or aws-cn, aws-us-gov, …)".into()),
                RoleArnIssue::InstanceProfile => (
                    format!("rolearn {:?} is an instance profile ARN: the node authenticates as the role inside the instance profile (STS returns assumed-role/ROLE/i-…), so this entry never matches", shown(arn)),
                    "put the role's ARN here (arn:aws:iam::ACCOUNT:role/NAME): aws iam get-instance-profile --instance-profile-name NAME --query 'InstanceProfile.Roles[].Arn'".into(),
                ),
                RoleArnIssue::AssumedRole(role) => (
                    format!("rolearn {:?} is an STS session ARN: aws-iam-authenticator compares the caller's canonical IAM role ARN, so this never matches", shown(arn)),
                    format!("write the role ARN: {role}"),
                ),
                RoleArnIssue::NotRole(kind) => (format!("rolearn {:?} is a {kind} ARN, not an IAM role: no caller ever matches it", shown(arn)), "write the IAM role's ARN: arn:aws:iam::ACCOUNT:role/NAME (for Fargate: the pod execution role, not the Fargate profile)".into()),
                RoleArnIssue::Path(stripped) => (
                    format!("rolearn {:?} has a path: the caller's ARN (STS assumed-role, canonicalized by arn.Canonicalize) has none, and the aws-auth mapper compares the whole ARN, so this entry never matches (EKS: ARNs in aws-auth can't include a path)", shown(arn)),
                    format!("write it without the path: {stripped}"),
                ),
            };
            if node {
                sink.error(*pos, &format!("{at}.rolearn"), msg, Code::ConfigInvalid, &fix);
            } else {
                sink.warn(*pos, &format!("{at}.rolearn"), msg, &fix);
            }
        }
    }
    let username = e.username.as_ref().map(|(u, _)| u.as_str());
    let uses_dns_template = username.is_some_and(|u| u.contains("{{EC2PrivateDNSName}}"))
        || e.groups.iter().any(|g| g.contains("{{EC2PrivateDNSName}}"));
    if !node {
        if uses_dns_template {
            sink.warn(
                e.username.as_ref().map_or(e.pos, |u| u.1),
                &format!("{at}.username"),
                "{{EC2PrivateDNSName}} in an entry that is not a node's: aws-iam-authenticator renders it only when the session name is an EC2 instance ID, and otherwise refuses the caller (SessionName did not contain an instance id)".into(),
                "use {{SessionName}} or a fixed name for people and CI roles; keep {{EC2PrivateDNSName}} for node roles",
            );
        }
        return;
    }
    match username {
        Some(EC2_NODE_USERNAME) | Some(SESSION_NODE_USERNAME) => {}
        other => {
            let u = other.unwrap_or("");
            let why = if other.is_none() {
                "no username: the node is authenticated with an empty name".to_string()
            } else if u.starts_with('<') || u.ends_with('>') {
                format!("username {:?} keeps the <…> of a documentation placeholder", shown(u))
            } else if !u.starts_with("system:node:") {
                format!("username {:?} does not start with system:node:, so the Node authorizer does not treat the kubelet as a node", shown(u))
            } else if !u.contains("{{") {
                format!("username {:?} is one fixed name: every instance of the role gets it, and a kubelet may only act as the node it is named after", shown(u))
            } else {
                format!("username {:?} is not a node username template EKS documents", shown(u))
            };
            sink.error(
                e.username.as_ref().map_or(e.pos, |u| u.1),
                &format!("{at}.username"),
                format!("{why} (the kubelet registers as system:node:<its node name>, the instance's private DNS name)"),
                Code::ConfigInvalid,
                "username: system:node:{{EC2PrivateDNSName}} for EC2 nodes (Linux and Windows); system:node:{{SessionName}} for a Fargate pod execution role or a hybrid nodes role",
            );
        }
    }
    let missing: Vec<&str> = NODE_GROUPS.iter().copied().filter(|g| !e.groups.iter().any(|x| x == g)).collect();
    if !missing.is_empty() {
        let folded = e.groups.iter().find(|g| g.contains(" - "));
        let bracketed = e.groups.iter().find(|g| g.starts_with('<'));
        let hint = if let Some(f) = folded {
            format!("; group {:?} is two list items read as one text: the second `- ` is indented further than the first, which YAML reads as a continuation line", shown(f))
        } else if let Some(b) = bracketed {
            format!("; group {:?} keeps the <…> of a documentation placeholder", shown(b))
        } else {
            String::new()
        };
        sink.error(
            e.groups_pos.unwrap_or(e.pos),
            &format!("{at}.groups"),
            format!(
                "the node entry lacks the group(s) {}{hint}: without system:bootstrappers and system:nodes the kubelet cannot create its CSR or register its Node",
                missing.join(" and ")
            ),
            Code::ConfigInvalid,
            "groups: [system:bootstrappers, system:nodes], each `- ` at the same column (Windows nodes also eks:kube-proxy-windows; Fargate also system:node-proxier)",
        );
    }
}

/// Which entry maps the node role, as `ConfigMapMapper.Map` then `doMapping` decide: the live
/// role entry whose rolearn equals it (case-insensitively), else a user entry, else the account
/// in mapAccounts (the ARN as username, no groups).
fn map_node(file: &str, role: &str, roles: &[Entry], users: &[Entry], accounts: &[(String, Pos)]) -> NodeMapping {
    let hit = |list: &[Entry]| {
        list.iter()
            .filter(|e| e.valid && e.shadowed_by.is_none())
            .find(|e| e.arn.as_ref().is_some_and(|(a, _)| a.eq_ignore_ascii_case(role)))
            .cloned()
    };
    let found = hit(roles).map(|e| ("aws-auth mapRoles", e)).or_else(|| hit(users).map(|e| ("aws-auth mapUsers", e)));
    if let Some((by, e)) = found {
        let username = e.username.as_ref().map(|u| u.0.clone());
        let ok_user = matches!(username.as_deref(), Some(EC2_NODE_USERNAME) | Some(SESSION_NODE_USERNAME));
        let ok_groups = NODE_GROUPS.iter().all(|g| e.groups.iter().any(|x| x == g));
        return NodeMapping {
            file: file.into(),
            role_arn: role.into(),
            by: by.into(),
            mapped: ok_user && ok_groups,
            entry: Some(e.index),
            line: Some(e.line()),
            username,
            groups: e.groups.clone(),
            note: if ok_user && ok_groups {
                String::new()
            } else {
                "the entry does not give a node identity (see its problems)".into()
            },
            access_entry: false,
        };
    }
    // Why nothing matched: an entry naming the role with a path or its instance profile, or a
    // shadowed entry.
    let name = role.rsplit('/').next().unwrap_or("");
    let account = Arn::parse(role).map(|a| a.account).unwrap_or_default();
    let mut note = String::new();
    let mut near = None;
    for e in roles {
        let Some((a, _)) = &e.arn else { continue };
        let Ok(arn) = Arn::parse(a) else { continue };
        if arn.account != account || arn.resource.rsplit('/').next() != Some(name) {
            continue;
        }
        note = match arn.resource_type() {
            "role" => {
                format!("entry {} (line {}) names the role with a path ({a}), which never matches", e.index, e.line())
            }
            "instance-profile" => format!(
                "entry {} (line {}) names an instance profile of that name ({a}), not the role",
                e.index,
                e.line()
            ),
            _ => format!("entry {} (line {}) names {a}, which is not the role", e.index, e.line()),
        };
        near = Some(e.line());
        break;
    }
    if note.is_empty() {
        if let Some((_, p)) = accounts.iter().find(|(a, _)| *a == account) {
            return NodeMapping {
                by: "aws-auth mapAccounts".into(),
                line: Some(p.line),
                username: Some(role.to_string()),
                note: format!("only its account is in mapAccounts (line {}): the node is authenticated as {role} with no groups, not as a node", p.line),
                ..NodeMapping::none(file, role, String::new())
            };
        }
        note = "no mapRoles entry has this rolearn: the node gets Unauthorized".into();
    }
    NodeMapping { line: near, ..NodeMapping::none(file, role, note) }
}

/// Checks `aws eks describe-access-entry` or `list-access-entries` JSON.
fn check_access_entries(name: &str, text: &str, kind: EksFile, o: &CheckOptions, r: &mut FileResult) {
    let mut sink = Sink { file: name, strict: o.strict, problems: Vec::new() };
    let docs = match yaml::parse(text) {
        Ok(d) => d,
        Err(e) => {
            sink.error(
                e.pos,
                "",
                format!("syntax error: {}", e.message),
                Code::ConfigYamlSyntax,
                "pass the JSON as the aws CLI prints it",
            );
            r.problems = sink.problems;
            return;
        }
    };
    let Some(root) = docs.into_iter().find_map(|d| d.root) else { return };
    r.documents.push(DocumentInfo {
        file: name.into(),
        index: 0,
        line: 1,
        kind: if kind == EksFile::AccessEntry { "AccessEntry" } else { "AccessEntryList" }.into(),
        api_version: "eks.amazonaws.com".into(),
        action: "checked".into(),
    });
    if kind == EksFile::AccessEntryList {
        let list = root.get("accessEntries").map(Node::items).unwrap_or(&[]);
        let mut found = None;
        for (i, it) in list.iter().enumerate() {
            let Some(a) = it.str() else { continue };
            if let Ok(arn) = Arn::parse(a) {
                if arn.service == "iam" && arn.resource_type() == "instance-profile" {
                    sink.error(
                        it.pos,
                        &format!("accessEntries[{i}]"),
                        format!(
                            "{:?} is an instance profile ARN: an access entry's principal is an IAM role or user",
                            shown(a)
                        ),
                        Code::ConfigInvalid,
                        "create the access entry for the role inside the instance profile",
                    );
                }
                if let Some(role) = &o.node_role_arn {
                    if arn.role_without_path().is_some_and(|x| x.eq_ignore_ascii_case(role)) && found.is_none() {
                        found = Some((i, it.pos.line));
                    }
                }
            }
        }
        if let Some(role) = &o.node_role_arn {
            r.node_mapping = Some(match found {
                Some((i, line)) => NodeMapping {
                    by: "access entry list".into(),
                    mapped: true,
                    entry: Some(i),
                    line: Some(line),
                    note: "an access entry exists for the role; its type is not in this list: check that it is EC2_LINUX or EC2_WINDOWS (aws eks describe-access-entry)".into(),
                    ..NodeMapping::none(name, role, String::new())
                },
                None => NodeMapping::none(name, role, "no access entry for the role in this list".into()),
            });
        }
        r.problems = sink.problems;
        return;
    }
    let entry = root.get("accessEntry").unwrap_or(&root);
    let field = |k: &str| entry.get(k);
    let principal = field("principalArn").and_then(Node::str).unwrap_or("");
    let ppos = field("principalArn").map_or(entry.pos, |n| n.pos);
    let ty = field("type").and_then(Node::str).unwrap_or("STANDARD");
    let tpos = field("type").map_or(entry.pos, |n| n.pos);
    let username = field("username").and_then(Node::str).map(str::to_string);
    let groups: Vec<String> = field("kubernetesGroups")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .filter_map(|g| g.str().map(str::to_string))
        .collect();
    let arn = Arn::parse(principal);
    let is_node_type = NODE_ENTRY_TYPES.contains(&ty);
    if !is_node_type && ty != "STANDARD" {
        sink.warn(
            tpos,
            "accessEntry.type",
            format!("type {:?} is not one EKS documents (STANDARD, {})", shown(ty), NODE_ENTRY_TYPES.join(", ")),
            "check the type",
        );
    }
    match &arn {
        Err(e) => sink.error(
            ppos,
            "accessEntry.principalArn",
            format!("principalArn {:?} is not an ARN ({e})", shown(principal)),
            Code::ConfigInvalid,
            "the principal is an IAM role or user ARN",
        ),
        Ok(a) if a.service == "iam" && a.resource_type() == "instance-profile" => sink.error(
            ppos,
            "accessEntry.principalArn",
            format!(
                "principalArn {:?} is an instance profile ARN: the node authenticates as the role inside it",
                shown(principal)
            ),
            Code::ConfigInvalid,
            "create the access entry for the role (aws iam get-instance-profile --query 'InstanceProfile.Roles[].Arn')",
        ),
        Ok(a) if is_node_type && !(a.service == "iam" && a.resource_type() == "role") => sink.error(
            ppos,
            "accessEntry.principalArn",
            format!(
                "a {ty} access entry's principal must be an IAM role (EKS CreateAccessEntry), and {:?} is not one",
                shown(principal)
            ),
            Code::ConfigInvalid,
            "create the entry for the node's IAM role",
        ),
        Ok(_) => {}
    }
    let node_like = username.as_deref().is_some_and(|u| u.starts_with("system:node:"))
        || groups.iter().any(|g| NODE_GROUPS.contains(&g.as_str()));
    let is_node_role = o.node_role_arn.as_ref().is_some_and(|role| {
        arn.as_ref().ok().and_then(Arn::role_without_path).is_some_and(|x| x.eq_ignore_ascii_case(role))
    });
    if ty == "STANDARD" && (node_like || is_node_role) {
        sink.error(
            tpos,
            "accessEntry.type",
            format!(
                "a STANDARD access entry for {}: EKS gives a node identity (system:node:{{{{EC2PrivateDNSName}}}}, system:nodes) only to EC2_LINUX and EC2_WINDOWS entries (CreateAccessEntry: for the role of self-managed EC2 nodes, specify EC2_LINUX or EC2_WINDOWS)",
                if is_node_role { "the node role" } else { "a node-like username or groups" }
            ),
            Code::ConfigInvalid,
            "the type cannot be changed: aws eks delete-access-entry, then aws eks create-access-entry --type EC2_LINUX (or EC2_WINDOWS) for the role",
        );
    }
    if let Some(role) = &o.node_role_arn {
        let line = Some(entry.pos.line);
        let decided = if !is_node_role {
            NodeMapping::none(name, role, format!("this access entry is for {}, not the node role", shown(principal)))
        } else if matches!(
            ty,
            "EC2_LINUX" | "EC2_WINDOWS" | "FARGATE_LINUX" | "HYBRID_LINUX" | "EC2" | "HYPERPOD_LINUX"
        ) {
            let default_user =
                if ty == "FARGATE_LINUX" || ty == "HYBRID_LINUX" { SESSION_NODE_USERNAME } else { EC2_NODE_USERNAME };
            NodeMapping {
                by: format!("access entry of type {ty}"),
                mapped: true,
                line,
                username: Some(username.unwrap_or_else(|| default_user.to_string())),
                groups,
                ..NodeMapping::none(name, role, String::new())
            }
        } else {
            NodeMapping {
                line,
                ..NodeMapping::none(
                    name,
                    role,
                    format!("its access entry is of type {ty}, which gives no node identity"),
                )
            }
        };
        r.node_mapping = Some(NodeMapping { access_entry: is_node_role, ..decided });
    }
    r.problems = sink.problems;
}

/// Checks one EKS file ([`recognise`] said which) as `validate-config` does: the problems, the
/// document, and with `o.node_role_arn` how this file maps the node role.
pub fn check(name: &str, text: &str, kind: EksFile, o: &CheckOptions) -> FileResult {
    let mut r = FileResult::default();
    match kind {
        EksFile::AwsAuth => check_aws_auth(name, text, o, &mut r),
        _ => check_access_entries(name, text, kind, o, &mut r),
    }
    r.problems.sort_by_key(|p| (p.line, p.column));
    r.code = r.problems.iter().find(|p| p.severity == Severity::Error).map(|p| p.code);
    r
}

/// The verdict over all files for `--node-role-arn`. A describe-access-entry file for the node
/// role decides, as access entries take precedence over aws-auth entries for the same principal
/// (EKS user guide, "Migrating existing aws-auth ConfigMap entries to access entries"): the other
/// files' mappings get a note saying so. Otherwise the role is mapped when one file maps it. When
/// it is not mapped, each EKS file that was asked (or the deciding access entry's) gets an error
/// saying why (the node gets `Unauthorized`, or an identity that is not a node's).
pub fn node_verdict(results: &mut [(String, FileResult)]) {
    let asked: Vec<usize> = (0..results.len()).filter(|&i| results[i].1.node_mapping.is_some()).collect();
    let get = |results: &[(String, FileResult)], i: usize| results[i].1.node_mapping.clone().expect("asked");
    let note_others = |results: &mut [(String, FileResult)], except: usize, note: &str| {
        for &i in asked.iter().filter(|&&i| i != except) {
            let m = results[i].1.node_mapping.as_mut().expect("asked");
            if m.mapped {
                m.note = if m.note.is_empty() { note.to_string() } else { format!("{}; {note}", m.note) };
            }
        }
    };
    let (mapped, errors_on) = match asked.iter().copied().find(|&i| get(results, i).access_entry) {
        Some(d) => {
            let dm = get(results, d);
            let note = format!(
                "the access entry in {} takes precedence over this for the same role (EKS: access entries take precedence over ConfigMap entries)",
                dm.file
            );
            note_others(results, d, &note);
            (dm.mapped, vec![d])
        }
        None => {
            let any = asked.iter().any(|&i| get(results, i).mapped);
            let listed =
                asked.iter().copied().find(|&i| get(results, i).by == "access entry list" && get(results, i).mapped);
            if let (true, Some(l)) = (any, listed) {
                let note = format!(
                    "{} lists an access entry for the role, which takes precedence: its type must be EC2_LINUX or EC2_WINDOWS",
                    get(results, l).file
                );
                note_others(results, l, &note);
            }
            (any, asked.clone())
        }
    };
    if mapped {
        return;
    }
    for i in errors_on {
        let r = &mut results[i].1;
        let m = r.node_mapping.clone().expect("asked");
        let precedence = if m.access_entry {
            "; the access entry takes precedence over any aws-auth entry for the role"
        } else {
            ""
        };
        r.problems.push(Problem {
            severity: Severity::Error,
            origin: Origin::Eks,
            machine_dependent: false,
            file: m.file.clone(),
            line: m.line.unwrap_or(1),
            column: 1,
            path: String::new(),
            message: truncate_for_display(
                &format!(
                    "the node role {} is not mapped to a node identity: {}{precedence} (the kubelet's requests are refused)",
                    m.role_arn, m.note
                ),
                MAX_MESSAGE_CHARS,
            ),
            kubeadm_rule: false,
            fix: "add a mapRoles entry `- rolearn: ROLE_ARN_WITHOUT_PATH` with username system:node:{{EC2PrivateDNSName}} and groups system:bootstrappers, system:nodes, or an EC2_LINUX/EC2_WINDOWS access entry for the role".into(),
            code: Code::ConfigInvalid,
        });
        r.problems.sort_by_key(|p| (p.line, p.column));
        r.code = r.problems.iter().find(|p| p.severity == Severity::Error).map(|p| p.code);
    }
}

#[cfg(test)]
mod tests;
