//! explain-log's catalog: the signatures of `log-signatures.yaml` (compiled in), each with the
//! upstream sources of its wordings (kubeadm and the kubelet in kubernetes/kubernetes, client-go,
//! Go's crypto/x509 and net, containerd, podman, amazon-eks-ami), compiled once into one
//! `regex::bytes::RegexSet`.

use crate::error::Domain;
use regex::bytes::{Regex, RegexSet};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The catalog source.
pub(crate) const CATALOG_YAML: &str = include_str!("../log-signatures.yaml");

/// Where one wording of a signature comes from.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The upstream file that prints it (repository and path).
    pub file: String,
    /// The releases that print this wording (`~` marks an inferred range).
    pub releases: String,
    /// The text as printed, with Go verbs (`%q`, `%s`, `%v`, `%d`) for the variable parts.
    pub wording: String,
    /// Where it was read: repo@commit:path, an issue or PR URL, or an index id.
    pub evidence: String,
}

/// One signature of the catalog.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// Stable id.
    pub id: String,
    /// Failure domain (required for failures; none for `progress` and `success`).
    #[serde(default)]
    pub domain: Option<Domain>,
    /// `cause` or `symptom` (failures), `progress` or `success` (context).
    pub role: String,
    /// The regex.
    pub pattern: String,
    /// Ids of more generic signatures this one overrides on the same line (e.g. the kubelet
    /// health check's "connection refused" to localhost:10248 is not a network cause).
    #[serde(default)]
    pub masks: Vec<String>,
    /// What it means.
    pub meaning: String,
    /// How to fix it.
    pub fix: String,
    /// The upstream sources of its wordings, across releases (empty, with a comment in the
    /// file saying why, when none was found).
    pub sources: Vec<Source>,
    /// Real example lines.
    pub examples: Vec<String>,
}

impl Signature {
    /// A failure signature (`cause` or `symptom`): a finding that can decide the root cause.
    pub fn is_failure(&self) -> bool {
        is_failure_role(&self.role)
    }
}

/// `cause` and `symptom` are failures; `progress` and `success` are context.
pub(crate) fn is_failure_role(role: &str) -> bool {
    role == ROLE_CAUSE || role == ROLE_SYMPTOM
}

/// A root cause.
pub(crate) const ROLE_CAUSE: &str = "cause";
/// A consequence pointing at a cause found elsewhere.
pub(crate) const ROLE_SYMPTOM: &str = "symptom";
/// A progress line every join prints: context, never a finding.
pub(crate) const ROLE_PROGRESS: &str = "progress";
/// kubeadm join's final message: the join succeeded.
pub(crate) const ROLE_SUCCESS: &str = "success";
/// Every role the catalog may use.
pub const ROLES: &[&str] = &[ROLE_CAUSE, ROLE_SYMPTOM, ROLE_PROGRESS, ROLE_SUCCESS];

/// The compiled catalog.
pub struct Catalog {
    /// The signatures, in file order.
    pub signatures: Vec<Signature>,
    pub(crate) set: RegexSet,
    regexes: Vec<Regex>,
    /// For each signature, the indexes of the signatures it masks on the same line.
    masks: Vec<Vec<usize>>,
}

/// The catalog, parsed and compiled once. Panics only if the compiled-in file is broken,
/// which a test rules out.
pub fn catalog() -> &'static Catalog {
    static C: OnceLock<Catalog> = OnceLock::new();
    C.get_or_init(|| {
        let signatures: Vec<Signature> =
            crate::yaml::from_str(CATALOG_YAML).expect("log-signatures.yaml parses (tested)");
        let set =
            RegexSet::new(signatures.iter().map(|s| s.pattern.as_str())).expect("catalog patterns compile (tested)");
        let regexes = signatures.iter().map(|s| Regex::new(&s.pattern).expect("pattern compiles")).collect();
        // An unknown id in `masks` masks nothing (a test rules it out).
        let masks = signatures
            .iter()
            .map(|s| s.masks.iter().filter_map(|m| signatures.iter().position(|o| &o.id == m)).collect())
            .collect();
        Catalog { signatures, set, regexes, masks }
    })
}

impl Catalog {
    /// Indexes of the signatures matching `line`, in catalog order, without those masked by a
    /// more specific signature that matches the same line.
    pub fn matches(&self, line: &[u8]) -> Vec<usize> {
        let mut m: Vec<usize> = self.set.matches(line).into_iter().collect();
        if m.len() > 1 {
            let masked: Vec<usize> = m.iter().flat_map(|&i| self.masks[i].iter().copied()).collect();
            m.retain(|i| !masked.contains(i));
        }
        m
    }

    /// The matched text of signature `i` in `line`.
    pub fn find<'a>(&self, i: usize, line: &'a [u8]) -> Option<&'a [u8]> {
        self.regexes[i].find(line).map(|m| m.as_bytes())
    }

    /// Ids named in `masks` that are not in the catalog (a test requires none).
    pub fn unknown_masks(&self) -> Vec<String> {
        self.signatures
            .iter()
            .flat_map(|s| s.masks.iter())
            .filter(|m| !self.signatures.iter().any(|o| &&o.id == m))
            .cloned()
            .collect()
    }
}
