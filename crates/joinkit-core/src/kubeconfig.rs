//! The one kubeconfig loader: kube-client's `kube_client::config::Kubeconfig` (kubectl's
//! `k8s.io/client-go/tools/clientcmd` rules) for admin kubeconfigs, discovery files and
//! cluster-info's kubeconfig alike, with joinkit's bounds and trust rules as thin typed checks
//! over its types.
//!
//! - Reading: every file is read with `crate::fsutil::read_bounded` (regular files of at most
//!   16 MiB), never by kube-client. Several files (`KUBECONFIG`) merge first-wins
//!   (`Kubeconfig::merge`).
//! - One relative-path rule ([`Kubeconfig::load`]): `certificate-authority`,
//!   `client-certificate`, `client-key`, `tokenFile` and an exec `command` that contains a `/`
//!   are resolved against the directory of the kubeconfig file that names them, as client-go's
//!   `ResolvePaths` and kube-client's `read_from` do.
//! - Selection ([`Kubeconfig::cluster`]): a named cluster, else the current context's, else the
//!   only one (kubeadm's `GetClusterFromKubeConfig`, cluster-info's case).
//! - `certificate-authority-data` (base64) wins over `certificate-authority` (a path).
//! - One credential loader (`load_credentials`): exec plugin, then `token`, then `tokenFile`,
//!   then `client-certificate(-data)` with `client-key(-data)`.
//! - Trust rules: cluster-info's kubeconfig (`parse_cluster_info`) is parsed only after its JWS
//!   verified, data only (a `certificate-authority` path is refused, never opened) and https only;
//!   a document from the network names no local path and no command (`Kubeconfig::refuse_local_references`).
//! - Parse errors never quote the document: a kubeconfig holds tokens and keys, so messages give
//!   the position and the parser's reason only (`crate::yaml::saphyr_error`).
//! - Line breaks as client-go reads them: a character go-yaml v2 takes as a line break and YAML
//!   1.2 does not (NEL, LS, PS, a lone CR) is refused before parsing
//!   (`crate::yaml::check_line_breaks`).

use crate::client::api::Identity;
use crate::error::Failure;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
pub use kube_client::config::{AuthInfo, Cluster};
use kube_client::config::{KubeconfigError, NamedAuthInfo};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A parsed kubeconfig (kube-client's document), relative paths already resolved when it was
/// read from a file.
#[derive(Debug, Clone, Default)]
pub struct Kubeconfig {
    doc: kube_client::config::Kubeconfig,
}

/// A cluster picked by [`Kubeconfig::cluster`]: its name and (a copy of) its entry.
#[derive(Debug, Clone)]
pub struct SelectedCluster<'a> {
    /// The cluster's name (cluster-info's is `""`).
    pub name: &'a str,
    /// The cluster entry.
    pub cluster: Cluster,
}

/// A user picked by [`Kubeconfig::current_user`]: its name and its credentials.
#[derive(Debug, Clone, Copy)]
pub struct SelectedUser<'a> {
    /// The user's name.
    pub name: &'a str,
    /// The credentials (kube-client's `AuthInfo`: token and client key are secrets).
    pub user: &'a AuthInfo,
}

impl Kubeconfig {
    /// Parses kubeconfig YAML (or JSON, which is YAML; several documents merge). Errors say what
    /// is wrong without quoting the document. Relative paths stay as written. A character that
    /// YAML 1.1 takes as a line break (client-go reads kubeconfigs with go-yaml v2) is refused
    /// with its position ([`crate::yaml::check_line_breaks`]): kubectl or kubeadm could read a
    /// key there, such as a `certificate-authority` path or an `exec` plugin, that joinkit never saw.
    pub fn parse(text: &str) -> Result<Kubeconfig, String> {
        if text.trim().is_empty() {
            return Err("the kubeconfig is empty".into());
        }
        crate::yaml::check_line_breaks(text).map_err(|e| format!("not a valid kubeconfig: {e}"))?;
        let doc = kube_client::config::Kubeconfig::from_yaml(text)
            .map_err(|e| format!("not a valid kubeconfig: {}", kubeconfig_error(&e)))?;
        Ok(Kubeconfig { doc })
    }

    /// Reads (bounded, regular files only) and parses a kubeconfig file, resolving relative paths
    /// against its directory.
    pub fn load(path: &Path) -> Result<Kubeconfig, String> {
        let text =
            crate::fsutil::read_bounded_string(path, crate::fsutil::MAX_INPUT_FILE).map_err(|e| e.to_string())?;
        let mut k = Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some(dir) = path.parent() {
            k.resolve_paths(dir);
        }
        Ok(k)
    }

    /// Loads every file of `paths` and merges them as kubectl does (`KUBECONFIG`): the first file
    /// to set a value or a named entry wins. Errors name the file.
    pub(crate) fn load_merged(paths: &[PathBuf]) -> Result<Kubeconfig, String> {
        let mut merged = kube_client::config::Kubeconfig::default();
        for p in paths {
            merged =
                merged.merge(Self::load(p)?.doc).map_err(|e| format!("{}: {}", p.display(), kubeconfig_error(&e)))?;
        }
        Ok(Kubeconfig { doc: merged })
    }

    /// kube-client's document.
    pub fn doc(&self) -> &kube_client::config::Kubeconfig {
        &self.doc
    }

    /// kube-client's document, for kube-client's own context resolution.
    pub(crate) fn into_doc(self) -> kube_client::config::Kubeconfig {
        self.doc
    }

    /// The one relative-path rule: every path the document names, resolved against `dir`.
    fn resolve_paths(&mut self, dir: &Path) {
        let abs = |f: &mut Option<String>| {
            if let Some(v) = f.as_ref().filter(|v| !v.is_empty() && !Path::new(v).is_absolute()) {
                *f = Some(dir.join(v).to_string_lossy().into_owned());
            }
        };
        for c in self.doc.clusters.iter_mut().filter_map(|n| n.cluster.as_mut()) {
            abs(&mut c.certificate_authority);
        }
        for a in self.doc.auth_infos.iter_mut().filter_map(|n| n.auth_info.as_mut()) {
            abs(&mut a.client_certificate);
            abs(&mut a.client_key);
            abs(&mut a.token_file);
            if let Some(exec) = a.exec.as_mut() {
                if exec.command.as_deref().is_some_and(|c| c.contains('/')) {
                    abs(&mut exec.command);
                }
            }
        }
    }

    fn current_context(&self) -> Option<(&str, &kube_client::config::Context)> {
        let cur = self.doc.current_context.as_deref().filter(|c| !c.is_empty())?;
        self.doc.contexts.iter().find(|c| c.name == cur).and_then(|c| Some((c.name.as_str(), c.context.as_ref()?)))
    }

    /// The cluster to use: the one named `name`, else the current context's, else the only one
    /// (cluster-info's case, like kubeadm's `GetClusterFromKubeConfig`).
    pub fn cluster(&self, name: Option<&str>) -> Result<SelectedCluster<'_>, String> {
        fn pick(n: &kube_client::config::NamedCluster) -> SelectedCluster<'_> {
            SelectedCluster { name: n.name.as_str(), cluster: n.cluster.clone().unwrap_or_default() }
        }
        if let Some(n) = name {
            let known: Vec<&str> = self.doc.clusters.iter().map(|c| c.name.as_str()).collect();
            return self
                .doc
                .clusters
                .iter()
                .find(|c| c.name == n)
                .map(pick)
                .ok_or_else(|| format!("no cluster named {n:?} (clusters: {known:?})"));
        }
        if let Some((ctx, c)) = self.current_context() {
            return self
                .doc
                .clusters
                .iter()
                .find(|n| n.name == c.cluster)
                .map(pick)
                .ok_or_else(|| format!("current context {ctx:?} names cluster {:?}, which is not defined", c.cluster));
        }
        match self.doc.clusters.as_slice() {
            [one] => Ok(pick(one)),
            [] => Err("the kubeconfig defines no cluster".into()),
            _ => Err("the kubeconfig has several clusters and no current context: name one with --cluster".into()),
        }
    }

    /// The user of the current context, if any.
    pub fn current_user(&self) -> Option<SelectedUser<'_>> {
        let (_, ctx) = self.current_context()?;
        let name = ctx.user.as_deref()?;
        self.doc
            .auth_infos
            .iter()
            .find(|u| u.name == name)
            .and_then(|u: &NamedAuthInfo| Some(SelectedUser { name: u.name.as_str(), user: u.auth_info.as_ref()? }))
    }

    /// The CA bundle bytes of `cluster`: decoded `certificate-authority-data`, else the file
    /// `certificate-authority` (read bounded). `Ok(None)` when the cluster has neither.
    pub fn ca_bytes(&self, cluster: &Cluster) -> Result<Option<Vec<u8>>, String> {
        ca_bytes(cluster)
    }

    /// The rule for a document from the network (a discovery file downloaded from a URL): it may
    /// not name a local file joinkit would open (and then send: a tokenFile's contents would
    /// become the bearer token) nor a command to run. Errors list what it names.
    pub(crate) fn refuse_local_references(&self) -> Result<(), String> {
        let set = |v: &Option<String>| v.as_deref().is_some_and(|p| !p.is_empty());
        let mut named: Vec<&str> = Vec::new();
        if self.doc.clusters.iter().filter_map(|c| c.cluster.as_ref()).any(|c| set(&c.certificate_authority)) {
            named.push("certificate-authority");
        }
        for u in self.doc.auth_infos.iter().filter_map(|u| u.auth_info.as_ref()) {
            for (k, v) in [
                ("tokenFile", &u.token_file),
                ("client-certificate", &u.client_certificate),
                ("client-key", &u.client_key),
            ] {
                if set(v) {
                    named.push(k);
                }
            }
            if u.exec.is_some() {
                named.push("exec");
            }
        }
        if named.is_empty() {
            Ok(())
        } else {
            Err(named.join(", "))
        }
    }
}

/// The CA bundle bytes of `cluster`: decoded `certificate-authority-data`, else the file
/// `certificate-authority` (read bounded). `Ok(None)` when the cluster has neither.
pub fn ca_bytes(cluster: &Cluster) -> Result<Option<Vec<u8>>, String> {
    if let Some(data) = cluster.certificate_authority_data.as_deref().filter(|d| !d.trim().is_empty()) {
        return decode_b64(data).map(Some).map_err(|e| format!("certificate-authority-data: {e}"));
    }
    if let Some(file) = cluster.certificate_authority.as_deref().filter(|d| !d.is_empty()) {
        return read_referenced("certificate-authority", file).map(Some);
    }
    Ok(None)
}

/// Reads a file a kubeconfig names (`tokenFile`, `client-certificate`, `client-key`,
/// `certificate-authority`; already resolved by [`Kubeconfig::load`]), bounded.
fn read_referenced(field: &str, p: &str) -> Result<Vec<u8>, String> {
    crate::fsutil::read_bounded(Path::new(p), crate::fsutil::MAX_INPUT_FILE).map_err(|e| format!("{field}: {e}"))
}

/// True when `user` names any credential (a token, a token file, a client certificate or key, a
/// user name, an exec plugin): what must never go to a server whose certificate is not verified.
pub(crate) fn has_credentials(user: &AuthInfo) -> bool {
    let set = |v: &Option<String>| v.as_deref().is_some_and(|p| !p.is_empty());
    user.exec.is_some()
        || user.token.as_ref().is_some_and(|t| !t.expose_secret().is_empty())
        || set(&user.token_file)
        || set(&user.client_certificate)
        || set(&user.client_certificate_data)
        || set(&user.client_key)
        || user.client_key_data.is_some()
        || set(&user.username)
}

/// Why [`load_credentials`] failed.
#[derive(Debug)]
pub(crate) enum CredentialError {
    /// A field is unusable (bad base64, a file that cannot be read, not UTF-8): the reason,
    /// naming the field, never its value.
    Invalid(String),
    /// The exec plugin failed (its own failure, stage `credentials`).
    Plugin(Failure),
    /// The user has an exec plugin and the caller allows none.
    ExecNotAllowed,
}

/// Where an exec plugin may run: the server it is for (`KUBERNETES_EXEC_INFO`) and its bound.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExecContext<'a> {
    /// The API server URL the credentials are for.
    pub server: &'a str,
    /// How long the plugin may take.
    pub timeout: Duration,
}

/// The one credential loader, for admin kubeconfigs and discovery files alike: the user's exec
/// plugin (only when `exec` allows one; it runs on a blocking thread), else `token`, else
/// `tokenFile` (trimmed), else `client-certificate(-data)` with `client-key(-data)` (data wins
/// over the file; both needed), else [`Identity::Anonymous`]. Files are read bounded; the result
/// holds the secrets as secrets.
pub(crate) async fn load_credentials(
    user: &AuthInfo,
    exec: Option<ExecContext<'_>>,
) -> Result<Identity, CredentialError> {
    if let Some(plugin) = &user.exec {
        let Some(ctx) = exec else { return Err(CredentialError::ExecNotAllowed) };
        return match crate::client::exec::run_async(plugin, ctx.server, ctx.timeout).await {
            Ok(crate::client::exec::ExecCredential::Token(t)) => Ok(Identity::Bearer(t)),
            Ok(crate::client::exec::ExecCredential::ClientCert { cert_pem, key_pem }) => {
                Ok(Identity::ClientCert(cert_pem.into_bytes(), SecretSlice::from(key_pem.into_bytes())))
            }
            Err(f) => Err(CredentialError::Plugin(f)),
        };
    }
    if let Some(t) = user.token.as_ref().filter(|t| !t.expose_secret().is_empty()) {
        return Ok(Identity::Bearer(t.clone()));
    }
    if let Some(f) = user.token_file.as_deref().filter(|f| !f.is_empty()) {
        let t = read_referenced("tokenFile", f).map_err(CredentialError::Invalid)?;
        let t = String::from_utf8(t).map_err(|_| CredentialError::Invalid("tokenFile: not UTF-8 text".into()))?;
        return Ok(Identity::Bearer(SecretString::from(t.trim().to_string())));
    }
    let read = |data: Option<&str>, file: Option<&str>, field: &str| -> Result<Option<Vec<u8>>, CredentialError> {
        if let Some(d) = data.filter(|d| !d.is_empty()) {
            return decode_b64(d).map(Some).map_err(|e| CredentialError::Invalid(format!("{field}-data: {e}")));
        }
        match file.filter(|f| !f.is_empty()) {
            Some(f) => read_referenced(field, f).map(Some).map_err(CredentialError::Invalid),
            None => Ok(None),
        }
    };
    let cert = read(user.client_certificate_data.as_deref(), user.client_certificate.as_deref(), "client-certificate")?;
    let key = read(user.client_key_data.as_ref().map(|k| k.expose_secret()), user.client_key.as_deref(), "client-key")?;
    Ok(match (cert, key) {
        (Some(c), Some(k)) => Identity::ClientCert(c, SecretSlice::from(k)),
        _ => Identity::Anonymous,
    })
}

/// A kube-client kubeconfig error as text: a YAML error without its snippet
/// ([`crate::yaml::saphyr_error`]),
/// anything else redacted.
pub(crate) fn kubeconfig_error(e: &KubeconfigError) -> String {
    match e {
        KubeconfigError::Parse(pe) => crate::yaml::saphyr_error(pe),
        other => crate::redact::redact(&other.to_string()),
    }
}

/// cluster-info's kubeconfig after its JWS verified: the server and the CA bundle bytes.
#[derive(Debug, Clone)]
pub(crate) struct ClusterInfoKubeconfig {
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
pub(crate) fn parse_cluster_info(text: &str) -> Result<ClusterInfoKubeconfig, String> {
    let kc = Kubeconfig::parse(text).map_err(|e| format!("it does not parse: {e}"))?;
    let cluster = kc.cluster(None)?.cluster;
    let server = cluster.server.as_deref().unwrap_or("").trim().to_string();
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
        assert_eq!(c.cluster.server.as_deref(), Some("https://127.0.0.1:6443"));
        assert_eq!(k.ca_bytes(&c.cluster).unwrap().unwrap(), b"pem");
    }

    #[test]
    fn current_context_and_relative_paths_resolve_against_the_files_directory() {
        let text = "clusters:\n- name: a\n  cluster: {server: https://a:6443, certificate-authority: ca.crt}\n- name: b\n  cluster: {server: https://b:6443}\ncontexts:\n- name: ctx\n  context: {cluster: a, user: u}\ncurrent-context: ctx\nusers:\n- name: u\n  user: {tokenFile: t/token, exec: {command: ./bin/plugin, apiVersion: client.authentication.k8s.io/v1}}\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin.conf");
        std::fs::write(&path, text).unwrap();
        let k = Kubeconfig::load(&path).unwrap();
        let c = k.cluster(None).unwrap();
        assert_eq!(c.name, "a");
        let want = |p: &str| Some(dir.path().join(p).to_string_lossy().into_owned());
        assert_eq!(c.cluster.certificate_authority, want("ca.crt"));
        let u = k.current_user().unwrap().user;
        assert_eq!(u.token_file, want("t/token"));
        assert_eq!(u.exec.as_ref().unwrap().command, want("./bin/plugin"));
        assert_eq!(k.cluster(Some("b")).unwrap().cluster.server.as_deref(), Some("https://b:6443"));
        assert!(k.cluster(Some("zz")).is_err());
        assert!(Kubeconfig::parse("").is_err());
        assert!(Kubeconfig::parse("clusters: 5").is_err());
        assert_eq!(k.refuse_local_references().unwrap_err(), "certificate-authority, tokenFile, exec");
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
    fn a_yaml11_line_break_is_refused_where_client_go_would_read_a_key() {
        // client-go (go-yaml v2) ends the comment at U+2028 and reads a certificate-authority path
        // that joinkit's data-only rule for documents from the network would never see.
        let text = "clusters:\n- name: \"\"\n  cluster:\n    server: https://a:6443 # ok\u{2028}    certificate-authority: /etc/shadow\n";
        let e = Kubeconfig::parse(text).unwrap_err();
        assert!(e.contains("U+2028 LINE SEPARATOR") && e.ends_with("at line 4, column 32"), "{e}");
        assert!(parse_cluster_info(text).unwrap_err().contains("U+2028"));
    }

    #[test]
    fn parse_errors_do_not_quote_secrets() {
        let text = "users:\n- name: u\n  user:\n    token: abcdef.0123456789abcdef\n    client-key-data: c2VjcmV0c2VjcmV0c2VjcmV0\n  : : :\n";
        let e = Kubeconfig::parse(text).unwrap_err();
        assert!(!e.contains("0123456789abcdef") && !e.contains("c2VjcmV0c2VjcmV0c2VjcmV0"), "{e}");
    }

    #[tokio::test]
    async fn one_credential_loader_token_file_then_certificate_and_no_exec_unless_allowed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tok"), "s3cret\n").unwrap();
        let text = format!(
            "users:\n- name: f\n  user: {{tokenFile: tok}}\n- name: c\n  user: {{client-certificate-data: {}, client-key-data: {}}}\n- name: e\n  user: {{exec: {{command: nope, apiVersion: client.authentication.k8s.io/v1}}}}\n",
            STANDARD.encode("CERT"),
            STANDARD.encode("KEY")
        );
        let path = dir.path().join("kc");
        std::fs::write(&path, text).unwrap();
        let k = Kubeconfig::load(&path).unwrap();
        let user = |n: &str| k.doc().auth_infos.iter().find(|u| u.name == n).unwrap().auth_info.clone().unwrap();
        match load_credentials(&user("f"), None).await.unwrap() {
            Identity::Bearer(t) => assert_eq!(t.expose_secret(), "s3cret"),
            other => panic!("{other:?}"),
        }
        match load_credentials(&user("c"), None).await.unwrap() {
            Identity::ClientCert(c, key) => {
                assert_eq!((c.as_slice(), key.expose_secret()), (&b"CERT"[..], &b"KEY"[..]))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(load_credentials(&user("e"), None).await, Err(CredentialError::ExecNotAllowed)));
        assert!(has_credentials(&user("e")) && has_credentials(&user("f")) && !has_credentials(&AuthInfo::default()));
    }
}
