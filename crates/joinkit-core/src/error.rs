//! Failure codes, exit codes and the [`Failure`] type every command reports.
//!
//! A failure code is a stable kebab-case name (`jws-missing`, `pin-mismatch`, ...). Each maps to
//! exactly one process exit code; the table in README.md and in every man page is generated from
//! [`Code::ALL`], and a test keeps README.md in step with it. Each code also says whether it
//! is retryable ([`Code::is_retryable`], the retry contract), in the same table. Codes and exit codes are stable: new
//! ones may be added, existing ones never change meaning.
//!
//! Exit code ranges: 0 success, 1 internal error, 2 usage, 3 unreadable or invalid input files,
//! 4 unwritable output,
//! 10-19 network and transport, 20-29 the cluster-info ConfigMap, 30-39 the token's JWS,
//! 40-49 trust in the CA and the serving certificate, 50-59 configuration files, 60-69 the
//! Kubernetes API as an admin, 70-79 the TLS bootstrap, 80-90 the root-cause domains of
//! diagnose and explain-log.

use crate::report::StageName;
use serde::Serialize;
use std::fmt;

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = ($name:literal, $exit:literal, $retryable:literal, $summary:literal), )*) => {
        /// A stable failure code. `as_str()` gives the kebab-case name used in `-o json` output,
        /// `exit_code()` the process exit code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }

        impl Code {
            /// Every code, in exit-code order (the documented table).
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            /// The kebab-case name, e.g. `"jws-missing"`.
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $name, )* }
            }

            /// The process exit code this failure maps to (documented, stable).
            pub fn exit_code(self) -> i32 {
                match self { $( Code::$variant => $exit, )* }
            }

            /// The retry contract: true when the failure may fix itself, so running the same
            /// command again unchanged is worth it (a timeout, a refused connection, a signer
            /// or approver not done yet); false when a person or a change is needed (a wrong
            /// pin or secret, a deleted token, a config or usage error). `--wait` retries
            /// exactly these; `-o json` reports it as `failure.retryable`; README's exit-code
            /// table has the column. Defined once, per code, in this table.
            pub fn is_retryable(self) -> bool {
                match self { $( Code::$variant => $retryable, )* }
            }

            /// One line saying what the code means, for the documentation table.
            pub fn summary(self) -> &'static str {
                match self { $( Code::$variant => $summary, )* }
            }

            /// Looks a code up by its kebab-case name.
            pub fn from_name(name: &str) -> Option<Code> {
                match name { $( $name => Some(Code::$variant), )* _ => None }
            }
        }
    };
}

codes! {
    /// An unexpected internal error (a bug: please report it).
    Internal = ("internal", 1, false, "unexpected internal error (a bug)"),
    /// Command-line usage error: unknown flag, missing argument, bad value.
    Usage = ("usage", 2, false, "invalid command line: unknown flag, missing or malformed value"),
    /// The bootstrap token does not match `\A([a-z0-9]{6})\.([a-z0-9]{16})\z`.
    BadTokenFormat = ("bad-token-format", 2, false, "the bootstrap token is not of the form [a-z0-9]{6}.[a-z0-9]{16}"),
    /// A CA public-key pin is not `sha256:<64 hex>`.
    BadPinFormat = ("bad-pin-format", 2, false, "a CA public-key pin is not sha256:<64 hex digits>"),
    /// Token discovery without pins and without the unsafe flag.
    NoPins = ("no-pins", 2, false, "token discovery without --discovery-token-ca-cert-hash or the unsafe skip flag"),
    /// The API server endpoint is not `host:port` / `[ipv6]:port`.
    BadEndpoint = ("bad-endpoint", 2, false, "the API server endpoint is not host:port ([addr]:port for IPv6)"),
    /// The node name is not a DNS-1123 subdomain.
    BadNodeName = ("bad-node-name", 2, false, "the node name is not a lowercase DNS-1123 subdomain"),
    /// Bootstrap token options rejected by kubeadm's rules (usages, groups, TTL).
    BadTokenOptions = ("bad-token-options", 2, false, "bootstrap token usages, groups or TTL break kubeadm's rules"),
    /// An input file could not be read.
    InputUnreadable = ("input-unreadable", 3, false, "an input file could not be read"),
    /// An input held no certificate.
    NoCertificate = ("no-certificate", 3, false, "the input holds no certificate"),
    /// A certificate could not be parsed (truncated PEM, bad base64, not X.509).
    BadCertificate = ("bad-certificate", 3, false, "a certificate could not be parsed (truncated PEM, bad DER)"),
    /// An input file is not what it should be (a ConfigMap, a kubeconfig).
    BadInputFile = ("bad-input-file", 3, false, "an input file is not a valid ConfigMap or kubeconfig"),
    /// An output file or directory could not be written (nothing half-written is left).
    OutputUnwritable = ("output-unwritable", 4, false, "an output file or directory could not be written"),
    /// The endpoint's host name does not resolve.
    DnsFailure = ("dns-failure", 10, true, "the endpoint's host name does not resolve"),
    /// Nothing listens on the port (TCP RST).
    ConnectionRefused = ("connection-refused", 11, true, "TCP connection refused: nothing listens on that port"),
    /// The TCP connect did not complete in time.
    ConnectTimeout = ("connect-timeout", 12, true, "TCP connect timed out: a firewall drops packets or the host is down"),
    /// The kernel has no route to the address.
    NoRoute = ("no-route", 13, true, "no route to the address (network or host unreachable)"),
    /// The TLS handshake failed (including: the port does not speak TLS).
    TlsHandshakeFailed = ("tls-handshake-failed", 14, true, "TLS handshake failed, or the port does not speak TLS"),
    /// The server accepted the connection but did not answer in time.
    RequestTimeout = ("request-timeout", 15, true, "the server did not answer in time (or the command's --timeout ran out)"),
    /// Anonymous access to cluster-info is not granted (403, or 401 with anonymous auth off).
    ClusterInfoForbidden = ("cluster-info-forbidden", 20, false, "anonymous GET of cluster-info was refused (RBAC or anonymous auth)"),
    /// The cluster-info ConfigMap does not exist.
    ClusterInfoNotFound = ("cluster-info-not-found", 21, false, "the cluster-info ConfigMap does not exist in kube-public"),
    /// Any other unexpected HTTP answer to the cluster-info request.
    ClusterInfoHttpError = ("cluster-info-http-error", 22, true, "unexpected HTTP answer to the cluster-info request"),
    /// cluster-info has no `kubeconfig` key.
    KubeconfigMissing = ("kubeconfig-missing", 23, false, "cluster-info has no kubeconfig key"),
    /// cluster-info's `kubeconfig` is not a usable kubeconfig (or the answer is not a ConfigMap).
    KubeconfigInvalid = ("kubeconfig-invalid", 24, false, "cluster-info's kubeconfig is unparseable, has no server or no CA"),
    /// File discovery: neither the discovery file nor `--tls-bootstrap-token` gives credentials.
    NoBootstrapCredentials = ("no-bootstrap-credentials", 25, false, "file discovery without credentials in the file and without --tls-bootstrap-token"),
    /// No `jws-kubeconfig-<id>` key for this token while other tokens are signed: the signer
    /// works and this token is deleted, expired or lacks the signing usage (permanent).
    JwsMissing = ("jws-missing", 30, false, "no JWS signature for this token ID in cluster-info while other tokens are signed: the token is deleted, expired or not for signing"),
    /// The `jws-kubeconfig-<id>` key is empty.
    JwsEmpty = ("jws-empty", 31, false, "the JWS signature for this token ID is empty"),
    /// The JWS does not verify with the token secret.
    JwsInvalid = ("jws-invalid", 32, false, "the JWS signature does not verify: wrong token secret or tampered cluster-info"),
    /// No `jws-kubeconfig-*` key at all: nothing is signed yet, or the bootstrap signer
    /// (kube-controller-manager) is down (may fix itself).
    JwsNoneSigned = ("jws-none-signed", 33, true, "cluster-info carries no token signature at all: not signed yet, or the bootstrapsigner (kube-controller-manager) is down"),
    /// No CA certificate in cluster-info matches any pin.
    PinMismatch = ("pin-mismatch", 40, false, "no CA in cluster-info matches any --discovery-token-ca-cert-hash"),
    /// The serving certificate does not verify against the discovered CA.
    TlsVerifyFailed = ("tls-verify-failed", 41, false, "the serving certificate does not chain to the discovered CA or name"),
    /// The CA certificate has expired.
    CaExpired = ("ca-expired", 42, false, "the cluster CA certificate has expired"),
    /// The CA certificate is not valid yet.
    CaNotYetValid = ("ca-not-yet-valid", 43, false, "the cluster CA certificate is not valid yet (check the clock)"),
    /// The local clock differs from the server's `Date` by more than `--max-clock-skew`.
    ClockSkew = ("clock-skew", 44, false, "the local clock and the API server's clock differ too much"),
    /// A JoinConfiguration (or render-config's input) breaks a validation rule.
    ConfigInvalid = ("config-invalid", 50, false, "the JoinConfiguration (or render-config's input) has errors"),
    /// A config file is not valid YAML.
    ConfigYamlSyntax = ("config-yaml-syntax", 51, false, "a config file is not valid YAML"),
    /// A config file holds no JoinConfiguration.
    ConfigNoJoinConfiguration = ("config-no-join-configuration", 52, false, "a config file holds no JoinConfiguration document"),
    /// The apiVersion is one kubeadm no longer reads, or unknown.
    ConfigVersionUnsupported = ("config-version-unsupported", 53, false, "the apiVersion is removed (v1beta2 and older) or unknown"),
    /// No usable kubeconfig, context, credentials or exec plugin.
    KubeconfigUnusable = ("kubeconfig-unusable", 60, false, "no usable admin kubeconfig: file, context, credentials or exec plugin"),
    /// The API server rejected the credentials (401).
    ApiUnauthorized = ("api-unauthorized", 61, false, "the API server rejected the credentials (HTTP 401)"),
    /// RBAC denied the request (403).
    ApiForbidden = ("api-forbidden", 62, false, "RBAC denied the request (HTTP 403)"),
    /// The object does not exist (404).
    ApiNotFound = ("api-not-found", 63, false, "the object does not exist (HTTP 404), e.g. an unknown token ID"),
    /// The object already exists or changed (409).
    ApiConflict = ("api-conflict", 64, false, "the object already exists (HTTP 409), e.g. a token with that ID"),
    /// The API server refused the object as invalid (422).
    ApiInvalid = ("api-invalid", 65, false, "the API server refused the object as invalid (HTTP 422)"),
    /// Any other API error, including 429 and 5xx after bounded retries.
    ApiError = ("api-error", 66, true, "another API error, including 429/5xx after bounded retries"),
    /// The API server rejected the bootstrap token (401).
    BootstrapTokenRejected = ("bootstrap-token-rejected", 70, false, "the API server rejected the bootstrap token (401)"),
    /// The token may not create CSRs.
    CsrCreateForbidden = ("csr-create-forbidden", 71, false, "the token may not create CSRs (kubeadm:kubelet-bootstrap binding missing)"),
    /// A Ready Node with this name exists.
    NodeNameTaken = ("node-name-taken", 72, false, "a Ready Node with this name already exists"),
    /// Pending: the token's group may not have its CSR auto-approved.
    CsrPendingNoAutoapprove = ("csr-pending-no-autoapprove", 73, true, "CSR stays Pending: no auto-approval permission (kubeadm:node-autoapprove-bootstrap missing)"),
    /// Pending although auto-approval is permitted: no approver runs.
    CsrPendingNoApprover = ("csr-pending-no-approver", 74, true, "CSR stays Pending although auto-approval is permitted: the approver (controller-manager) is down"),
    /// Approved but never issued: no signer.
    CsrApprovedNotIssued = ("csr-approved-not-issued", 75, true, "CSR approved but no certificate issued: no signer (--cluster-signing-*)"),
    /// The CSR was denied.
    CsrDenied = ("csr-denied", 76, false, "the CSR was denied"),
    /// The CSR failed.
    CsrFailed = ("csr-failed", 77, false, "the CSR failed (the signer refused it)"),
    /// The issued certificate does not verify.
    CertificateInvalid = ("certificate-invalid", 78, false, "the issued certificate does not verify (CA, subject, usage, validity, key)"),
    /// The issued certificate does not authenticate as the node.
    NodeCredentialRejected = ("node-credential-rejected", 79, false, "the issued certificate does not authenticate as system:node:<name>"),
    /// diagnose / explain-log: the root cause is in the network.
    RootCauseNetwork = ("root-cause-network", 80, true, "diagnose/explain-log root cause: network (route, firewall, port)"),
    /// Root cause: name resolution.
    RootCauseDns = ("root-cause-dns", 81, true, "diagnose/explain-log root cause: DNS"),
    /// Root cause: TLS trust.
    RootCauseTls = ("root-cause-tls", 82, false, "diagnose/explain-log root cause: TLS trust (CA, pin, serving certificate)"),
    /// Root cause: the bootstrap token or node credentials.
    RootCauseToken = ("root-cause-token", 83, false, "diagnose/explain-log root cause: bootstrap token or credentials"),
    /// Root cause: RBAC.
    RootCauseRbac = ("root-cause-rbac", 84, false, "diagnose/explain-log root cause: RBAC bindings"),
    /// Root cause: the CSR's approval or signing.
    RootCauseCsr = ("root-cause-csr", 85, true, "diagnose/explain-log root cause: CSR approval or signing"),
    /// Root cause: the node's own state.
    RootCauseNodeState = ("root-cause-node-state", 86, false, "diagnose/explain-log root cause: node state (leftovers of an earlier join, ports, node name)"),
    /// Root cause: the clock.
    RootCauseClock = ("root-cause-clock", 87, false, "diagnose/explain-log root cause: clock"),
    /// Root cause: configuration.
    RootCauseConfig = ("root-cause-config", 88, false, "diagnose/explain-log root cause: configuration (flags, config file, kernel settings)"),
    /// Root cause: the control plane.
    RootCauseControlPlane = ("root-cause-control-plane", 89, true, "diagnose/explain-log root cause: control plane (cluster-info, kubeadm-certs, controllers)"),
    /// Root cause: the container runtime or the kubelet's health on this node.
    RootCauseRuntime = ("root-cause-runtime", 90, false, "diagnose/explain-log root cause: container runtime or kubelet health (CRI, cgroup driver, swap, sandbox image)"),
    /// `csr approve`: a check of the CSR fails, so joinkit refuses to approve it.
    CsrCheckFailed = ("csr-check-failed", 91, false, "csr approve/explain: a check of the CSR fails (requestor, subject, usages, SANs, Node, key), so joinkit does not approve it"),
    /// `csr approve|deny`: the CSR was already decided the other way.
    CsrAlreadyDecided = ("csr-already-decided", 92, false, "csr approve/deny: the CSR is already denied, approved or failed the other way"),
    /// explain-log: the log has failure lines but cannot tell which domain caused them (the
    /// report lists the candidates and what would tell them apart).
    RootCauseUndecidable = ("root-cause-undecidable", 93, false, "explain-log: the log shows failures but cannot tell their cause; the candidates and what tells them apart are listed"),
}

/// A failure domain: where a root cause lives. One list for explain-log's catalog
/// (`domain:` in `log-signatures.yaml`), diagnose's findings and the root-cause exit codes
/// ([`Code::for_domain`], 80-90). Serialised kebab-case (`node-state`, `control-plane`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Domain {
    /// Routes, firewalls, ports.
    Network,
    /// Name resolution.
    Dns,
    /// TLS trust: the CA, the pin, the serving certificate.
    Tls,
    /// The bootstrap token or other credentials.
    Token,
    /// RBAC bindings.
    Rbac,
    /// CSR approval or signing.
    Csr,
    /// The node's own state: leftovers of an earlier join, ports in use, the node name.
    NodeState,
    /// The clock.
    Clock,
    /// Configuration: flags, config files, kernel settings.
    Config,
    /// The control plane: cluster-info, kubeadm-certs, controllers.
    ControlPlane,
    /// The container runtime and the kubelet's health on the node: CRI socket and API version,
    /// cgroup drivers, swap, the sandbox (pause) image, cgroup v1/v2.
    Runtime,
}

impl Domain {
    /// Every domain, in exit-code order.
    pub const ALL: &'static [Domain] = &[
        Domain::Network,
        Domain::Dns,
        Domain::Tls,
        Domain::Token,
        Domain::Rbac,
        Domain::Csr,
        Domain::NodeState,
        Domain::Clock,
        Domain::Config,
        Domain::ControlPlane,
        Domain::Runtime,
    ];

    /// Looks a domain up by its kebab-case name.
    pub fn from_name(name: &str) -> Option<Domain> {
        Domain::ALL.iter().copied().find(|d| d.as_str() == name)
    }

    /// The kebab-case name, e.g. `"node-state"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Domain::Network => "network",
            Domain::Dns => "dns",
            Domain::Tls => "tls",
            Domain::Token => "token",
            Domain::Rbac => "rbac",
            Domain::Csr => "csr",
            Domain::NodeState => "node-state",
            Domain::Clock => "clock",
            Domain::Config => "config",
            Domain::ControlPlane => "control-plane",
            Domain::Runtime => "runtime",
        }
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Code {
    /// The root-cause code (exit 80-90) of a failure domain.
    pub fn for_domain(domain: Domain) -> Code {
        match domain {
            Domain::Network => Code::RootCauseNetwork,
            Domain::Dns => Code::RootCauseDns,
            Domain::Tls => Code::RootCauseTls,
            Domain::Token => Code::RootCauseToken,
            Domain::Rbac => Code::RootCauseRbac,
            Domain::Csr => Code::RootCauseCsr,
            Domain::NodeState => Code::RootCauseNodeState,
            Domain::Clock => Code::RootCauseClock,
            Domain::Config => Code::RootCauseConfig,
            Domain::ControlPlane => Code::RootCauseControlPlane,
            Domain::Runtime => Code::RootCauseRuntime,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Why a command failed: what was expected and seen, the kubeadm message a user would see for
/// the same fault (when kubeadm has one), the likely cause and the fix.
///
/// Serialised in `-o json` as `{code, stage, message, kubeadmMessage, cause, fix, exitCode,
/// retryable}`; `exitCode` and `retryable` are derived from `code` ([`Failure::exit_code`],
/// [`Code::is_retryable`]), never stored apart from it.
/// Never holds a token secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The stable failure code.
    pub code: Code,
    /// The stage that failed (a stage of the report).
    pub stage: StageName,
    /// The file the failure is about, when there is one (an input, a kubeconfig, an output).
    pub file: Option<String>,
    /// What was expected and what was seen.
    pub message: String,
    /// The kubeadm error a user would see for this fault, from the protocol spec.
    pub kubeadm_message: Option<String>,
    /// The likely cause.
    pub cause: String,
    /// How to fix it.
    pub fix: String,
}

impl Serialize for Failure {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Failure", 9)?;
        st.serialize_field("code", &self.code)?;
        st.serialize_field("stage", &self.stage)?;
        if let Some(file) = &self.file {
            st.serialize_field("file", file)?;
        }
        st.serialize_field("message", &self.message)?;
        st.serialize_field("kubeadmMessage", &self.kubeadm_message)?;
        st.serialize_field("cause", &self.cause)?;
        st.serialize_field("fix", &self.fix)?;
        st.serialize_field("exitCode", &self.exit_code())?;
        st.serialize_field("retryable", &self.code.is_retryable())?;
        st.end()
    }
}

impl Failure {
    /// A failure with message; add the rest with the builder methods.
    pub fn new(code: Code, stage: impl Into<StageName>, message: impl Into<String>) -> Self {
        Failure {
            code,
            stage: stage.into(),
            file: None,
            message: message.into(),
            kubeadm_message: None,
            cause: String::new(),
            fix: String::new(),
        }
    }

    /// The process exit code: `code`'s (documented, stable).
    pub fn exit_code(&self) -> i32 {
        self.code.exit_code()
    }

    /// Sets the matching kubeadm message.
    pub fn kubeadm(mut self, msg: impl Into<String>) -> Self {
        self.kubeadm_message = Some(msg.into());
        self
    }

    /// Sets the likely cause.
    pub fn cause(mut self, cause: impl Into<String>) -> Self {
        self.cause = cause.into();
        self
    }

    /// Sets the fix.
    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = fix.into();
        self
    }

    /// Moves the failure to another stage name (used when a shared check runs inside a
    /// command-specific stage).
    pub fn at(mut self, stage: impl Into<StageName>) -> Self {
        self.stage = stage.into();
        self
    }

    /// Names the file the failure is about.
    pub fn in_file(mut self, file: impl std::fmt::Display) -> Self {
        self.file = Some(file.to_string());
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.stage, self.message)
    }
}

impl std::error::Error for Failure {}

/// The exit-code table as Markdown rows (`| exit | code | meaning |`), generated from
/// [`Code::ALL`]; README.md embeds it and a test checks they agree.
pub fn exit_code_table_markdown() -> String {
    let mut s =
        String::from("| exit | code | retryable | meaning |\n| --- | --- | --- | --- |\n| 0 | (none) | | success |\n");
    for c in Code::ALL {
        let retry = if c.is_retryable() { "yes" } else { "no" };
        s.push_str(&format!("| {} | `{}` | {retry} | {} |\n", c.exit_code(), c.as_str(), c.summary()));
    }
    s
}

/// The exit-code table as plain text, for `--help` and the man pages.
pub fn exit_code_table_text() -> String {
    let mut s = String::from("EXIT CODES (retryable: may fix itself, worth running again as is)\n  0   success\n");
    for c in Code::ALL {
        let retry = if c.is_retryable() { " (retryable)" } else { "" };
        s.push_str(&format!("  {:<3} {}{retry}\n        {}\n", c.exit_code(), c.as_str(), c.summary()));
    }
    s
}
