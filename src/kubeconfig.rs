//! The parts of a kubeconfig joinkit reads, following kubectl's rules
//! (`k8s.io/client-go/tools/clientcmd`): `clusters`, `users` and `contexts` are named lists;
//! the current context picks the cluster unless one is named; `certificate-authority-data`
//! (base64) wins over `certificate-authority` (a path, relative paths resolved against the
//! directory of the kubeconfig file that holds them).
//!
//! It parses the `kubeconfig` key of cluster-info too (one cluster, named `""`, no users).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A kubeconfig (the subset joinkit uses; unknown keys are ignored as kubectl does).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Kubeconfig {
    /// Named clusters.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub clusters: Vec<NamedCluster>,
    /// Named users (credentials).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub users: Vec<NamedUser>,
    /// Named contexts.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub contexts: Vec<NamedContext>,
    /// The current context's name.
    #[serde(default, rename = "current-context")]
    pub current_context: Option<String>,
    /// Where it was read from (for resolving relative paths); not serialised.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// `{name, cluster}`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct NamedCluster {
    /// Cluster name (cluster-info's is `""`).
    #[serde(default)]
    pub name: String,
    /// The cluster.
    #[serde(default)]
    pub cluster: Cluster,
}

/// A cluster entry.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Cluster {
    /// `https://host:port`.
    #[serde(default)]
    pub server: String,
    /// Base64 PEM CA bundle.
    #[serde(default, rename = "certificate-authority-data", skip_serializing_if = "Option::is_none")]
    pub certificate_authority_data: Option<String>,
    /// Path to a PEM CA bundle.
    #[serde(default, rename = "certificate-authority", skip_serializing_if = "Option::is_none")]
    pub certificate_authority: Option<String>,
    /// Skip server certificate verification.
    #[serde(default, rename = "insecure-skip-tls-verify", skip_serializing_if = "Option::is_none")]
    pub insecure_skip_tls_verify: Option<bool>,
    /// Server name to verify instead of the URL's host.
    #[serde(default, rename = "tls-server-name", skip_serializing_if = "Option::is_none")]
    pub tls_server_name: Option<String>,
}

/// `{name, user}`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct NamedUser {
    /// User name.
    #[serde(default)]
    pub name: String,
    /// Credentials.
    #[serde(default)]
    pub user: User,
}

/// Credentials of a user entry.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct User {
    /// Bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Path to a file holding the bearer token.
    #[serde(default, rename = "tokenFile", skip_serializing_if = "Option::is_none")]
    pub token_file: Option<String>,
    /// Base64 PEM client certificate.
    #[serde(default, rename = "client-certificate-data", skip_serializing_if = "Option::is_none")]
    pub client_certificate_data: Option<String>,
    /// Path to the PEM client certificate.
    #[serde(default, rename = "client-certificate", skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<String>,
    /// Base64 PEM client key.
    #[serde(default, rename = "client-key-data", skip_serializing_if = "Option::is_none")]
    pub client_key_data: Option<String>,
    /// Path to the PEM client key.
    #[serde(default, rename = "client-key", skip_serializing_if = "Option::is_none")]
    pub client_key: Option<String>,
}

/// `{name, context}`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct NamedContext {
    /// Context name.
    #[serde(default)]
    pub name: String,
    /// The context.
    #[serde(default)]
    pub context: Context,
}

/// A context: which cluster with which user.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Context {
    /// Cluster name.
    #[serde(default)]
    pub cluster: String,
    /// User name.
    #[serde(default)]
    pub user: String,
}

impl Kubeconfig {
    /// Parses kubeconfig YAML (or JSON, which is YAML). Errors say what is wrong.
    pub fn parse(text: &str) -> Result<Kubeconfig, String> {
        if text.trim().is_empty() {
            return Err("the kubeconfig is empty".into());
        }
        serde_saphyr::from_str::<Kubeconfig>(text).map_err(|e| format!("not a valid kubeconfig: {e}"))
    }

    /// Reads and parses a kubeconfig file, remembering its path for relative references.
    pub fn load(path: &Path) -> Result<Kubeconfig, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut k = Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        k.source = Some(path.to_path_buf());
        Ok(k)
    }

    /// The context named by `current-context`, if any.
    pub fn current(&self) -> Option<&NamedContext> {
        let cur = self.current_context.as_deref().filter(|c| !c.is_empty())?;
        self.contexts.iter().find(|c| c.name == cur)
    }

    /// The cluster to use: the one named `name`, else the current context's, else the only one
    /// (cluster-info's case, like kubeadm's `GetClusterFromKubeConfig`).
    pub fn cluster(&self, name: Option<&str>) -> Result<&NamedCluster, String> {
        if let Some(n) = name {
            let known: Vec<&str> = self.clusters.iter().map(|c| c.name.as_str()).collect();
            return self
                .clusters
                .iter()
                .find(|c| c.name == n)
                .ok_or_else(|| format!("no cluster named {n:?} (clusters: {known:?})"));
        }
        if let Some(ctx) = self.current() {
            return self.clusters.iter().find(|c| c.name == ctx.context.cluster).ok_or_else(|| {
                format!("current context {:?} names cluster {:?}, which is not defined", ctx.name, ctx.context.cluster)
            });
        }
        match self.clusters.as_slice() {
            [one] => Ok(one),
            [] => Err("the kubeconfig defines no cluster".into()),
            _ => Err("the kubeconfig has several clusters and no current context: name one with --cluster".into()),
        }
    }

    /// The user of the current context, if any.
    pub fn current_user(&self) -> Option<&NamedUser> {
        let ctx = self.current()?;
        self.users.iter().find(|u| u.name == ctx.context.user)
    }

    /// Resolves a path from the kubeconfig against the file's directory (kubectl's rule).
    pub fn resolve_path(&self, p: &str) -> PathBuf {
        let path = PathBuf::from(p);
        if path.is_absolute() {
            return path;
        }
        match self.source.as_ref().and_then(|s| s.parent()) {
            Some(dir) => dir.join(path),
            None => path,
        }
    }

    /// The CA bundle bytes of `cluster`: decoded `certificate-authority-data`, else the file
    /// `certificate-authority`. `Ok(None)` when the cluster has neither.
    pub fn ca_bytes(&self, cluster: &Cluster) -> Result<Option<Vec<u8>>, String> {
        if let Some(data) = cluster.certificate_authority_data.as_deref().filter(|d| !d.trim().is_empty()) {
            return decode_b64(data).map(Some).map_err(|e| format!("certificate-authority-data: {e}"));
        }
        if let Some(file) = cluster.certificate_authority.as_deref().filter(|d| !d.is_empty()) {
            let p = self.resolve_path(file);
            return std::fs::read(&p).map(Some).map_err(|e| format!("certificate-authority {}: {e}", p.display()));
        }
        Ok(None)
    }
}

/// Decodes standard base64 as Go's `[]byte` JSON fields are written; whitespace is ignored.
pub fn decode_b64(s: &str) -> Result<Vec<u8>, String> {
    let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(clean).map_err(|e| format!("invalid base64: {e}"))
}

/// Serialises a kubeconfig with the cluster-info layout kubeadm writes (key order and the
/// `name: ""`, `contexts: null`, `users: null` lines), for the lab's cluster-info.
pub fn cluster_info_kubeconfig(server: &str, ca_pem: &[u8]) -> String {
    format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {}\n    server: {}\n  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\npreferences: {{}}\nusers: null\n",
        STANDARD.encode(ca_pem),
        server
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_info_layout_parses() {
        let k = Kubeconfig::parse(&cluster_info_kubeconfig("https://127.0.0.1:6443", b"pem")).unwrap();
        let c = k.cluster(None).unwrap();
        assert_eq!(c.cluster.server, "https://127.0.0.1:6443");
        assert_eq!(k.ca_bytes(&c.cluster).unwrap().unwrap(), b"pem");
    }

    #[test]
    fn current_context_and_relative_paths() {
        let text = "clusters:\n- name: a\n  cluster: {server: https://a:6443, certificate-authority: ca.crt}\n- name: b\n  cluster: {server: https://b:6443}\ncontexts:\n- name: ctx\n  context: {cluster: a, user: u}\ncurrent-context: ctx\n";
        let mut k = Kubeconfig::parse(text).unwrap();
        k.source = Some(PathBuf::from("/etc/k/admin.conf"));
        let c = k.cluster(None).unwrap();
        assert_eq!(c.name, "a");
        assert_eq!(k.resolve_path("ca.crt"), PathBuf::from("/etc/k/ca.crt"));
        assert_eq!(k.cluster(Some("b")).unwrap().cluster.server, "https://b:6443");
        assert!(k.cluster(Some("zz")).is_err());
        assert!(Kubeconfig::parse("").is_err());
        assert!(Kubeconfig::parse("clusters: 5").is_err());
    }
}
