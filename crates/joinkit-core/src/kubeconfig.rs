//! The parts of a kubeconfig joinkit reads, following kubectl's rules
//! (`k8s.io/client-go/tools/clientcmd`): `clusters`, `users` and `contexts` are named lists;
//! the current context picks the cluster unless one is named; `certificate-authority-data`
//! (base64) wins over `certificate-authority` (a path, relative paths resolved against the
//! directory of the kubeconfig file that holds them).
//!
//! It parses the `kubeconfig` key of cluster-info too, with [`parse_cluster_info`]: only after
//! its JWS verified, and data only (kubeadm's rule: cluster-info carries
//! `certificate-authority-data`; a `certificate-authority` path in a document from the network
//! is never opened), with an `https` server.
//!
//! Files named by a kubeconfig are read with [`crate::fsutil::read_bounded`] (regular files of at
//! most 16 MiB). Parse errors never quote the document: a kubeconfig holds tokens and keys, so
//! messages give the position and the parser's reason only ([`yaml_error`]).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use secrecy::SecretString;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A kubeconfig (the subset joinkit uses; unknown keys are ignored as kubectl does).
#[derive(Debug, Clone, Default, Deserialize)]
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
    /// Where it was read from (for resolving relative paths); not part of the document.
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
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NamedCluster {
    /// Cluster name (cluster-info's is `""`).
    #[serde(default)]
    pub name: String,
    /// The cluster.
    #[serde(default)]
    pub cluster: Cluster,
}

/// A cluster entry.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Cluster {
    /// `https://host:port`.
    #[serde(default)]
    pub server: String,
    /// Base64 PEM CA bundle.
    #[serde(default, rename = "certificate-authority-data")]
    pub certificate_authority_data: Option<String>,
    /// Path to a PEM CA bundle.
    #[serde(default, rename = "certificate-authority")]
    pub certificate_authority: Option<String>,
    /// Skip server certificate verification.
    #[serde(default, rename = "insecure-skip-tls-verify")]
    pub insecure_skip_tls_verify: Option<bool>,
    /// Server name to verify instead of the URL's host.
    #[serde(default, rename = "tls-server-name")]
    pub tls_server_name: Option<String>,
}

/// `{name, user}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NamedUser {
    /// User name.
    #[serde(default)]
    pub name: String,
    /// Credentials.
    #[serde(default)]
    pub user: User,
}

/// Reads an optional secret string straight into a [`SecretString`].
fn secret_opt<'de, D>(d: D) -> Result<Option<SecretString>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(Option::<String>::deserialize(d)?.map(SecretString::from))
}

/// Credentials of a user entry. The token and the client key are [`SecretString`]s: `Debug`
/// shows them as redacted, and no type here implements `Serialize` (nothing writes a
/// kubeconfig back out).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct User {
    /// Bearer token (zeroized on drop, `<redacted>` in `Debug`).
    #[serde(default, deserialize_with = "secret_opt")]
    pub token: Option<SecretString>,
    /// Path to a file holding the bearer token.
    #[serde(default, rename = "tokenFile")]
    pub token_file: Option<String>,
    /// Base64 PEM client certificate.
    #[serde(default, rename = "client-certificate-data")]
    pub client_certificate_data: Option<String>,
    /// Path to the PEM client certificate.
    #[serde(default, rename = "client-certificate")]
    pub client_certificate: Option<String>,
    /// Base64 PEM client key (zeroized on drop, `<redacted>` in `Debug`).
    #[serde(default, rename = "client-key-data", deserialize_with = "secret_opt")]
    pub client_key_data: Option<SecretString>,
    /// Path to the PEM client key.
    #[serde(default, rename = "client-key")]
    pub client_key: Option<String>,
}

/// `{name, context}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NamedContext {
    /// Context name.
    #[serde(default)]
    pub name: String,
    /// The context.
    #[serde(default)]
    pub context: Context,
}

/// A context: which cluster with which user.
#[derive(Debug, Clone, Default, Deserialize)]
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
        serde_saphyr::from_str::<Kubeconfig>(text).map_err(|e| format!("not a valid kubeconfig: {}", yaml_error(&e)))
    }

    /// Reads (bounded, regular files only) and parses a kubeconfig file, remembering its path
    /// for relative references.
    pub fn load(path: &Path) -> Result<Kubeconfig, String> {
        let text =
            crate::fsutil::read_bounded_string(path, crate::fsutil::MAX_INPUT_FILE).map_err(|e| e.to_string())?;
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
            return crate::fsutil::read_bounded(&p, crate::fsutil::MAX_INPUT_FILE)
                .map(Some)
                .map_err(|e| format!("certificate-authority: {e}"));
        }
        Ok(None)
    }
}

/// Reads a file a kubeconfig names (`tokenFile`, `client-certificate`, `client-key`,
/// `certificate-authority`), resolved against the kubeconfig's directory, bounded.
pub fn read_referenced(kc: &Kubeconfig, field: &str, p: &str) -> Result<Vec<u8>, String> {
    crate::fsutil::read_bounded(&kc.resolve_path(p), crate::fsutil::MAX_INPUT_FILE).map_err(|e| format!("{field}: {e}"))
}

/// A YAML parse error as text without the source snippet serde-saphyr adds (the snippet would
/// quote the document, and a kubeconfig holds secrets): the position and reason, with
/// anything shaped like a secret redacted and the length capped.
pub fn yaml_error(e: &serde_saphyr::Error) -> String {
    let inner = e.without_snippet();
    let mut text = crate::redact::redact(&inner.to_string());
    if text.chars().count() > 300 {
        text = text.chars().take(300).collect::<String>() + "…";
    }
    text
}

/// cluster-info's kubeconfig after its JWS verified: the server and the CA bundle bytes.
#[derive(Debug, Clone)]
pub struct ClusterInfoKubeconfig {
    /// The API server URL (`https://...`).
    pub server: String,
    /// The decoded `certificate-authority-data` (PEM or DER).
    pub ca_data: Vec<u8>,
}

/// Parses cluster-info's `kubeconfig` the way kubeadm reads it after the JWS check
/// (`clientcmd.Load`, then the current context's cluster or the only one), but data only:
/// `certificate-authority` paths are refused, never opened (the document came from the
/// network), and the server must be `https://` (no credential may ever go over plain HTTP).
/// Errors are readable reasons.
pub fn parse_cluster_info(text: &str) -> Result<ClusterInfoKubeconfig, String> {
    let kc = Kubeconfig::parse(text).map_err(|e| format!("it does not parse: {e}"))?;
    let cluster = &kc.cluster(None)?.cluster;
    let server = cluster.server.trim().to_string();
    if server.is_empty() {
        return Err("the cluster has no server".into());
    }
    if !server.starts_with("https://") {
        return Err(format!(
            "the server {:?} is not an https:// URL, and joinkit sends no credential over plain HTTP",
            crate::redact::truncate(&server, 200)
        ));
    }
    let data = match cluster.certificate_authority_data.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(d) => decode_b64(d).map_err(|e| format!("certificate-authority-data: {e}"))?,
        None if cluster.certificate_authority.as_deref().is_some_and(|p| !p.is_empty()) => {
            return Err("the cluster names a certificate-authority path instead of certificate-authority-data; a path from the network is never opened".into())
        }
        None => return Err("the cluster has no certificate-authority-data".into()),
    };
    Ok(ClusterInfoKubeconfig { server, ca_data: data })
}

/// Decodes standard base64 as Go's `[]byte` JSON fields are written; whitespace is ignored.
pub fn decode_b64(s: &str) -> Result<Vec<u8>, String> {
    let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(clean).map_err(|e| format!("invalid base64: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cluster-info kubeconfig in kubeadm's layout (the lab writes the same).
    fn cluster_info_kubeconfig(server: &str, ca_pem: &[u8]) -> String {
        format!("apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {}\n    server: {server}\n  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\npreferences: {{}}\nusers: null\n", STANDARD.encode(ca_pem))
    }

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

    #[test]
    fn cluster_info_is_data_only_and_https() {
        let ok = parse_cluster_info(&cluster_info_kubeconfig("https://127.0.0.1:6443", b"pem")).unwrap();
        assert_eq!((ok.server.as_str(), ok.ca_data.as_slice()), ("https://127.0.0.1:6443", &b"pem"[..]));
        let http = parse_cluster_info(&cluster_info_kubeconfig("http://127.0.0.1:6443", b"pem")).unwrap_err();
        assert!(http.contains("not an https:// URL"), "{http}");
        // A path is refused without being opened: /dev/zero would never return.
        let path = "clusters:\n- name: \"\"\n  cluster: {server: https://a:6443, certificate-authority: /dev/zero}\n";
        let e = parse_cluster_info(path).unwrap_err();
        assert!(e.contains("never opened"), "{e}");
    }

    #[test]
    fn parse_errors_do_not_quote_secrets() {
        let text = "users:\n- name: u\n  user:\n    token: abcdef.0123456789abcdef\n    client-key-data: c2VjcmV0c2VjcmV0c2VjcmV0\n  : : :\n";
        let e = Kubeconfig::parse(text).unwrap_err();
        assert!(!e.contains("0123456789abcdef") && !e.contains("c2VjcmV0c2VjcmV0c2VjcmV0"), "{e}");
    }
}
