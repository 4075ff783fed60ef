//! The command line: clap definitions (also the source of the man pages and completions) and
//! dispatch to the commands in [`crate::commands`].

use clap::{Args, CommandFactory, Parser, Subcommand};
use joinkit_core::report::Format;
#[cfg(feature = "lab")]
use joinkit_lab::{pki::KeyKind, Scenario};
#[cfg(feature = "lab")]
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

const AFTER_HELP: &str = "Exit codes are listed in joinkit(1) and README.md; `-o json` prints the full report. \
Secrets: prefer JOINKIT_TOKEN, --token-file, JOINKIT_CERTIFICATE_KEY and JOINKIT_TLS_BOOTSTRAP_TOKEN to flags \
(argv is visible to other users; joinkit warns). Input files must be regular files of at most 16 MiB; \
the trust model and every bound are in SECURITY.md.";

/// joinkit: verifiable, scriptable, debuggable kubeadm node joins.
#[derive(Debug, Parser)]
#[command(name = "joinkit", version, about, long_about = None, after_long_help = crate::commands::exit_codes_help())]
#[command(propagate_version = true)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// joinkit's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the CA public-key pin (sha256 of the DER SubjectPublicKeyInfo) of each certificate
    #[command(after_long_help = AFTER_HELP, long_about = "Print the kubeadm CA public-key pin of every certificate in the inputs, in input order, one \
`sha256:<hex>` per line: SHA-256 over the certificate's DER SubjectPublicKeyInfo, for RSA, ECDSA \
and Ed25519 keys alike (kubeadm's pubkeypin). Inputs are PEM files (one or many certificates; \
keys and other blocks are skipped) or DER files, `-` for standard input, or the CA of a kubeconfig \
cluster. Warns on stderr about expired, not-yet-valid and non-CA certificates.")]
    CaHash(CaHashArgs),
    /// Check the node-trusts-control-plane half of a join (discovery), stage by stage
    #[command(after_long_help = AFTER_HELP, long_about = "Check, stage by stage, that this node can trust the control plane the way `kubeadm join` \
would: resolve, connect, TLS handshake, anonymous GET of cluster-info, its kubeconfig, the token's \
JWS signature, the CA public-key pin, CA validity, the serving certificate against the discovered \
CA, and the clock. Fails fast and names the broken link, the kubeadm message it matches, the cause \
and the fix. One TCP connection and one TLS handshake.\n\nThe token may come from --token, \
--token-file or the JOINKIT_TOKEN environment variable (preferred: keeps it out of argv).")]
    VerifyDiscovery(VerifyDiscoveryArgs),
    /// Write a kubeadm JoinConfiguration (or cloud-init user-data) from kubeadm's join flags
    #[command(after_long_help = AFTER_HELP, long_about = "Write a kubeadm JoinConfiguration from kubeadm's `join` flag names, \
validated with the same rules as validate-config before anything is written (invalid input is an error, \
not a file). `--api-version v1beta4` (default) or `v1beta3`; unset fields are omitted. `--format cloud-init` \
wraps it in #cloud-config user-data that writes /etc/kubernetes/joinkit/join.yaml (0600) and runs \
`kubeadm join --config` on it. Every flag can come from an environment variable (JOINKIT_<FLAG>, e.g. \
JOINKIT_TOKEN, JOINKIT_CERTIFICATE_KEY) so secrets stay out of argv and cloud-init logs.")]
    RenderConfig(Box<RenderConfigArgs>),
    /// Check JoinConfiguration files with kubeadm's rules and stricter ones
    #[command(after_long_help = AFTER_HELP, long_about = "Check kubeadm JoinConfiguration files (v1beta4, v1beta3) with every kubeadm \
validation rule and kubeadm's messages, plus stricter checks kubeadm defers to join time (CA pins, token and \
certificate key format, endpoint syntax, unknown fields with the nearest known one, duplicate keys, types, \
durations). Each problem has a severity, file:line:column, the field path, the message and a fix. Other \
kinds in multi-document files are noted and skipped. Exit 0 when there are no errors.")]
    ValidateConfig(ValidateConfigArgs),
    /// Convert a v1beta3 JoinConfiguration to v1beta4, preserving every value
    #[command(after_long_help = AFTER_HELP)]
    MigrateConfig(MigrateConfigArgs),
    /// Dry-run the TLS bootstrap: submit a real kubelet CSR and verify what comes back
    #[command(after_long_help = AFTER_HELP, long_about = "Prove the control-plane-trusts-node half of a join before a kubelet runs: \
discovery (as verify-discovery), authentication with the bootstrap token (SelfSubjectReview, or a \
SelfSubjectAccessReview on servers older than 1.28), the RBAC the join needs, the node name, a CSR exactly \
like the kubelet's, its approval and issue (watched), the certificate, authentication with it, and clean-up. \
A dry run by default: the CSR is deleted and nothing is written unless --keep-csr or --write-dir.")]
    Bootstrap(Box<BootstrapArgs>),
    /// Find the root cause of a failed join from the node (and, with --kubeconfig, the cluster)
    #[command(after_long_help = AFTER_HELP, long_about = "Walk the whole join path from this node: local preflight state (files left by an \
earlier attempt, port 10250, the container runtime socket, ip_forward, swap) read under --root, name \
resolution, a route to the endpoint (/proc/net/route, /proc/net/ipv6_route), discovery and a dry-run TLS \
bootstrap; with --kubeconfig (admin) the token's Secret, cluster-info and its RBAC, the bootstrapsigner, \
kubeadm's bindings, Pending CSRs and an existing Node; with --control-plane --certificate-key the uploaded \
kubeadm-certs. The first broken link is the root cause, with its failure domain, evidence and mitigation \
(-o json|yaml: root_cause, failure_domain, evidence[], mitigation). The exit code is the domain's.")]
    Diagnose(Box<DiagnoseArgs>),
    /// Explain a failed join from kubeadm, kubelet, cloud-init or journalctl logs
    #[command(after_long_help = AFTER_HELP, long_about = "Match logs (files, or `-`/none for stdin) against joinkit's catalog of known \
join-failure signatures (every kubeadm message of the protocol spec, kubelet registration and certificate \
errors, preflight errors that mean reset first, the TLS-bootstrap timeout, EKS signatures) and print each \
match with its line numbers, failure domain, meaning and fix, the earliest root cause first (decidedBy names \
its line). Progress lines every join prints (the TLS-bootstrap wait) are context, never a root cause. A log that \
reaches kubeadm join's \"This node has joined the cluster\" is a success: exit 0, failures before that line \
listed as resolved, failures after it still count. A clean log says so and exits 0; otherwise the exit code is \
the root cause's domain. Streams in bounded memory.")]
    ExplainLog {
        /// Log files; `-` or none reads standard input
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Output format
        #[arg(short = 'o', long = "output", value_parser = choice(Format::ALL), default_value = "text")]
        output: Format,
    },
    /// Mint, list, describe and delete bootstrap tokens through the API (like kubeadm token)
    #[command(subcommand)]
    Token(TokenCommand),
    /// Run a loopback simulated control plane for trying joinkit (and for its tests)
    #[command(after_long_help = AFTER_HELP, long_about = "Serve a simulated kube-apiserver and controller-manager on loopback: its own CA and serving \
certificate, cluster-info signed by the bootstrapsigner, a bootstrap token, kubeadm's RBAC, and the \
API server's exact 401/403/404 answers. Prints the endpoint, a token and the CA pin; --scenario \
injects one fault. Runs until interrupted (or --exit-after).")]
    #[cfg(feature = "lab")]
    Lab(LabArgs),
    /// Print a shell completion script
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Write the man pages into DIR (used to regenerate man/)
    #[command(hide = true)]
    GenerateMan {
        /// Target directory.
        dir: PathBuf,
    },
}

/// `joinkit ca-hash`.
#[derive(Debug, Args)]
pub struct CaHashArgs {
    /// PEM or DER certificate files; `-` reads standard input
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Take the CA from this kubeconfig (certificate-authority-data or certificate-authority)
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig cluster to use (default: the current context's)
    #[arg(long, value_name = "NAME", requires = "kubeconfig")]
    pub cluster: Option<String>,
    /// Output format
    #[arg(short = 'o', long = "output", value_parser = choice(Format::ALL), default_value = "text")]
    pub output: Format,
}

/// `joinkit verify-discovery`.
#[derive(Debug, Args)]
pub struct VerifyDiscoveryArgs {
    /// API server endpoint host:port ([addr]:port for IPv6)
    #[arg(value_name = "ENDPOINT", required_unless_present_any = ["cluster_info_file", "discovery_file"])]
    pub endpoint: Option<String>,
    /// Bootstrap token ID.SECRET (prefer --token-file or JOINKIT_TOKEN)
    #[arg(long, env = "JOINKIT_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub token: Option<SecretArg>,
    /// Read the bootstrap token from this file (takes precedence over --token and JOINKIT_TOKEN)
    #[arg(long, value_name = "FILE", env = "JOINKIT_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// CA public-key pin sha256:<hex>; repeatable or comma-separated; any one may match
    #[arg(long = "discovery-token-ca-cert-hash", value_name = "PIN", value_delimiter = ',')]
    pub pins: Vec<String>,
    /// Do not pin the CA (unsafe: anyone with the token can impersonate the control plane)
    #[arg(long = "discovery-token-unsafe-skip-ca-verification")]
    pub unsafe_skip: bool,
    /// Check a saved cluster-info ConfigMap (JSON or YAML, `-` for stdin) offline
    #[arg(long, value_name = "FILE", conflicts_with_all = ["endpoint", "discovery_file"])]
    pub cluster_info_file: Option<PathBuf>,
    /// File discovery: a kubeconfig path or an https:// URL (no token, no JWS)
    #[arg(long, value_name = "PATH|URL", conflicts_with = "endpoint")]
    pub discovery_file: Option<String>,
    /// Token for the TLS bootstrap with file discovery (or JOINKIT_TLS_BOOTSTRAP_TOKEN)
    #[arg(long, env = "JOINKIT_TLS_BOOTSTRAP_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub tls_bootstrap_token: Option<SecretArg>,
    /// Bound for the TCP connect and, separately, for the TLS handshake
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = joinkit_core::duration::clap_parse)]
    pub connect_timeout: Duration,
    /// Bound for one whole attempt
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = joinkit_core::duration::clap_parse)]
    pub timeout: Duration,
    /// Retry what kubeadm retries (transport errors, jws-missing) for up to DURATION, with backoff
    #[arg(long, value_name = "DURATION", value_parser = joinkit_core::duration::clap_parse)]
    pub wait: Option<Duration>,
    /// Fail when the local clock and the server's Date differ by more than this
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = joinkit_core::duration::clap_parse)]
    pub max_clock_skew: Duration,
    /// Output format
    #[arg(short = 'o', long = "output", value_parser = choice(Format::ALL), default_value = "text")]
    pub output: Format,
}

/// Output of render-config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum RenderFormat {
    /// The JoinConfiguration YAML.
    #[default]
    Yaml,
    /// #cloud-config user-data writing the config and running kubeadm join.
    CloudInit,
}

/// `joinkit render-config`.
#[derive(Debug, Args)]
pub struct RenderConfigArgs {
    /// API server endpoint host:port for token discovery
    #[arg(value_name = "ENDPOINT", env = "JOINKIT_API_SERVER_ENDPOINT")]
    pub endpoint: Option<String>,
    /// Bootstrap token for discovery (prefer JOINKIT_TOKEN or --token-file)
    #[arg(long, env = "JOINKIT_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub token: Option<SecretArg>,
    /// Read the bootstrap token from this file (takes precedence over --token and JOINKIT_TOKEN)
    #[arg(long, value_name = "FILE", env = "JOINKIT_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// CA public-key pin sha256:<hex>; repeatable or comma-separated
    #[arg(
        long = "discovery-token-ca-cert-hash",
        value_name = "PIN",
        value_delimiter = ',',
        env = "JOINKIT_DISCOVERY_TOKEN_CA_CERT_HASH"
    )]
    pub pins: Vec<String>,
    /// Compute the pins from this CA certificate file (PEM or DER)
    #[arg(long, value_name = "FILE", env = "JOINKIT_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// Do not pin the CA (unsafe)
    #[arg(
        long = "discovery-token-unsafe-skip-ca-verification",
        env = "JOINKIT_DISCOVERY_TOKEN_UNSAFE_SKIP_CA_VERIFICATION"
    )]
    pub unsafe_skip: bool,
    /// File discovery: a kubeconfig path or https:// URL on the node
    #[arg(long, value_name = "PATH|URL", env = "JOINKIT_DISCOVERY_FILE")]
    pub discovery_file: Option<String>,
    /// Token for the TLS bootstrap (file discovery)
    #[arg(long, value_name = "TOKEN", env = "JOINKIT_TLS_BOOTSTRAP_TOKEN", hide_env_values = true)]
    pub tls_bootstrap_token: Option<SecretArg>,
    /// Discovery timeout (Go duration, e.g. 5m0s)
    #[arg(long, value_name = "DURATION", env = "JOINKIT_DISCOVERY_TIMEOUT")]
    pub discovery_timeout: Option<String>,
    /// Node name (nodeRegistration.name)
    #[arg(long, value_name = "NAME", env = "JOINKIT_NODE_NAME")]
    pub node_name: Option<String>,
    /// CRI socket, e.g. unix:///run/containerd/containerd.sock
    #[arg(long, value_name = "SOCKET", env = "JOINKIT_CRI_SOCKET")]
    pub cri_socket: Option<String>,
    /// Kubelet flag NAME=VALUE (repeatable; JOINKIT_KUBELET_ARG holds one)
    #[arg(long = "kubelet-arg", value_name = "NAME=VALUE", env = "JOINKIT_KUBELET_ARG")]
    pub kubelet_args: Vec<String>,
    /// Node taint key[=value]:Effect (repeatable or comma-separated)
    #[arg(long = "taint", value_name = "TAINT", value_delimiter = ',', env = "JOINKIT_TAINT")]
    pub taints: Vec<String>,
    /// Preflight errors to ignore (comma-separated check names, or all)
    #[arg(long, value_name = "CHECKS", value_delimiter = ',', env = "JOINKIT_IGNORE_PREFLIGHT_ERRORS")]
    pub ignore_preflight_errors: Vec<String>,
    /// Join phases to skip (comma-separated)
    #[arg(long, value_name = "PHASES", value_delimiter = ',', env = "JOINKIT_SKIP_PHASES")]
    pub skip_phases: Vec<String>,
    /// Directory of kubeadm patches
    #[arg(long, value_name = "DIR", env = "JOINKIT_PATCHES")]
    pub patches: Option<String>,
    /// Join as a control-plane node
    #[arg(long, env = "JOINKIT_CONTROL_PLANE")]
    pub control_plane: bool,
    /// Key that decrypts the uploaded control-plane certificates (64 hex)
    #[arg(long, value_name = "KEY", env = "JOINKIT_CERTIFICATE_KEY", hide_env_values = true)]
    pub certificate_key: Option<SecretArg>,
    /// Advertise address of this control-plane node's API server
    #[arg(long, value_name = "IP", env = "JOINKIT_APISERVER_ADVERTISE_ADDRESS")]
    pub apiserver_advertise_address: Option<String>,
    /// Bind port of this control-plane node's API server
    #[arg(long, value_name = "PORT", env = "JOINKIT_APISERVER_BIND_PORT")]
    pub apiserver_bind_port: Option<i64>,
    /// JoinConfiguration API version
    #[arg(long, value_parser = choice(joinkit_core::config::ApiVersion::ALL), default_value = "v1beta4", env = "JOINKIT_API_VERSION")]
    pub api_version: joinkit_core::config::ApiVersion,
    /// What to print
    #[arg(long, value_enum, default_value_t = RenderFormat::Yaml, env = "JOINKIT_FORMAT")]
    pub format: RenderFormat,
    /// Write to FILE atomically with mode 0600 instead of stdout
    #[arg(long = "output", value_name = "FILE", env = "JOINKIT_OUTPUT")]
    pub output: Option<PathBuf>,
}

/// `joinkit validate-config`.
#[derive(Debug, Args)]
pub struct ValidateConfigArgs {
    /// Config files (multi-document YAML; `-` for stdin)
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Output format
    #[arg(short = 'o', long = "output", value_parser = choice(Format::ALL), default_value = "text")]
    pub output: Format,
}

/// `joinkit migrate-config`.
#[derive(Debug, Args)]
pub struct MigrateConfigArgs {
    /// The config file (`-` for stdin)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Write to FILE atomically with mode 0600 instead of stdout
    #[arg(long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `joinkit bootstrap`.
#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// API server endpoint host:port
    #[arg(value_name = "ENDPOINT", required_unless_present = "config")]
    pub endpoint: Option<String>,
    /// Bootstrap token ID.SECRET (prefer --token-file or JOINKIT_TOKEN)
    #[arg(long, env = "JOINKIT_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub token: Option<SecretArg>,
    /// Read the bootstrap token from this file (takes precedence over --token and JOINKIT_TOKEN)
    #[arg(long, value_name = "FILE", env = "JOINKIT_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// CA public-key pin sha256:<hex>; repeatable or comma-separated
    #[arg(long = "discovery-token-ca-cert-hash", value_name = "PIN", value_delimiter = ',')]
    pub pins: Vec<String>,
    /// Do not pin the CA (unsafe)
    #[arg(long = "discovery-token-unsafe-skip-ca-verification")]
    pub unsafe_skip: bool,
    /// Take discovery settings and the node name from this JoinConfiguration (its token is used, not JOINKIT_TOKEN)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["endpoint", "token_file", "pins", "unsafe_skip"])]
    pub config: Option<PathBuf>,
    /// Node name (default: this host's name, lowercased)
    #[arg(long, value_name = "NAME", env = "JOINKIT_NODE_NAME")]
    pub node_name: Option<String>,
    /// How long to wait for the CSR's approval and certificate [default: 60s; for diagnose, half of
    /// --diagnose-timeout and at most 15s]
    #[arg(long, value_name = "DURATION", value_parser = joinkit_core::duration::clap_parse)]
    pub timeout: Option<Duration>,
    /// Bound for discovery and for each API request
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = joinkit_core::duration::clap_parse)]
    pub request_timeout: Duration,
    /// Bound for the TCP connect and the TLS handshake
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = joinkit_core::duration::clap_parse)]
    pub connect_timeout: Duration,
    /// Keep the CSR on the cluster instead of deleting it
    #[arg(long)]
    pub keep_csr: bool,
    /// Not a dry run: write bootstrap-kubelet.conf, kubelet.conf and pki/ca.crt under DIR
    #[arg(long, value_name = "DIR")]
    pub write_dir: Option<PathBuf>,
    /// Admin kubeconfig used only to delete the CSR afterwards (tokens may not delete CSRs)
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The admin kubeconfig's context
    #[arg(long, value_name = "NAME", requires = "kubeconfig")]
    pub context: Option<String>,
    /// Output format
    #[arg(short = 'o', long = "output", value_parser = choice(Format::ALL), default_value = "text")]
    pub output: Format,
}

/// `joinkit diagnose`.
#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// The bootstrap inputs (endpoint, token, pins or --config, node name).
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
    /// Control-plane join: check the uploaded certificates
    #[arg(long)]
    pub control_plane: bool,
    /// The certificate key for --control-plane (or JOINKIT_CERTIFICATE_KEY)
    #[arg(long, value_name = "KEY", env = "JOINKIT_CERTIFICATE_KEY", hide_env_values = true)]
    pub certificate_key: Option<SecretArg>,
    /// Root of the node's filesystem for the local checks
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// CRI socket to look for (default: the config's, else the usual ones)
    #[arg(long, value_name = "SOCKET")]
    pub cri_socket: Option<String>,
    /// Bound for the whole run
    #[arg(long = "diagnose-timeout", value_name = "DURATION", default_value = "30s", value_parser = joinkit_core::duration::clap_parse)]
    pub diagnose_timeout: Duration,
}

/// How to reach the API as an admin (kubectl's rules).
#[derive(Debug, Args, Clone)]
pub struct ApiArgs {
    /// Admin kubeconfig (default: KUBECONFIG, then ~/.kube/config)
    #[arg(long, value_name = "FILE", global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: current-context)
    #[arg(long, value_name = "NAME", global = true)]
    pub context: Option<String>,
    /// Bound for each API request
    #[arg(long = "request-timeout", value_name = "DURATION", default_value = "15s", value_parser = joinkit_core::duration::clap_parse, global = true)]
    pub request_timeout: Duration,
}

/// What `token create` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum JoinFormat {
    /// The `kubeadm join ...` command line.
    #[default]
    JoinCommand,
    /// A v1beta4 JoinConfiguration (render-config's output).
    JoinConfig,
}

/// `joinkit token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a random bootstrap token in kubeadm's format (no API call)
    Generate,
    /// Create a bootstrap token Secret exactly as kubeadm does and print the token
    #[command(after_long_help = AFTER_HELP)]
    Create(TokenCreateArgs),
    /// List bootstrap tokens (kubeadm's columns plus SIGNED)
    #[command(after_long_help = AFTER_HELP)]
    List {
        /// Show the token secrets (redacted by default)
        #[arg(long)]
        show_secrets: bool,
        /// Output format
        #[arg(short = 'o', long = "output", value_parser = choice(Format::ALL), default_value = "text")]
        output: Format,
        /// API access.
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Show a token's validity, expiry, usages, groups, signature and the RBAC a join needs
    #[command(after_long_help = AFTER_HELP)]
    Describe {
        /// Token ID or token (a whole token's secret is checked too, but is then in argv)
        #[arg(value_name = "ID|TOKEN")]
        id: SecretArg,
        /// Show the token secret (redacted by default)
        #[arg(long)]
        show_secret: bool,
        /// Output format
        #[arg(short = 'o', long = "output", value_parser = choice(Format::ALL), default_value = "text")]
        output: Format,
        /// API access.
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Delete bootstrap tokens
    #[command(after_long_help = AFTER_HELP)]
    Delete {
        /// Token IDs or tokens (the ID is enough)
        #[arg(value_name = "ID|TOKEN", required = true)]
        ids: Vec<SecretArg>,
        /// Output format
        #[arg(short = 'o', long = "output", value_parser = choice(Format::ALL), default_value = "text")]
        output: Format,
        /// API access.
        #[command(flatten)]
        api: ApiArgs,
    },
}

/// `joinkit token create`.
#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// The token to create (default: a random one; prefer --token-file to keep it out of argv)
    #[arg(value_name = "TOKEN")]
    pub token: Option<SecretArg>,
    /// Read the token to create from FILE
    #[arg(long, value_name = "FILE", conflicts_with = "token")]
    pub token_file: Option<PathBuf>,
    /// Lifetime (Go duration); 0 means it never expires
    #[arg(long, value_name = "DURATION", default_value = "24h0m0s", value_parser = joinkit_core::duration::clap_parse)]
    pub ttl: Duration,
    /// Usages (comma-separated): signing, authentication
    #[arg(long, value_name = "USAGES", value_delimiter = ',', default_value = "signing,authentication")]
    pub usages: Vec<String>,
    /// Extra groups (comma-separated); '' for none
    #[arg(
        long,
        value_name = "GROUPS",
        value_delimiter = ',',
        default_value = "system:bootstrappers:kubeadm:default-node-token"
    )]
    pub groups: Vec<String>,
    /// A human-readable description
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub description: String,
    /// Print the full `kubeadm join` command instead of the token
    #[arg(long)]
    pub print_join_command: bool,
    /// With --print-join-command: a control-plane join with this certificate key (or JOINKIT_CERTIFICATE_KEY)
    #[arg(long, value_name = "KEY", env = "JOINKIT_CERTIFICATE_KEY", hide_env_values = true)]
    pub certificate_key: Option<SecretArg>,
    /// With --print-join-command: print a command line or a JoinConfiguration
    #[arg(long, value_enum, default_value_t = JoinFormat::JoinCommand)]
    pub format: JoinFormat,
    /// Do not wait for cluster-info to carry the token's signature
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait for the signature
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = joinkit_core::duration::clap_parse)]
    pub wait_timeout: Duration,
    /// Output format
    #[arg(short = 'o', long = "output", value_parser = choice(Format::ALL), default_value = "text")]
    pub output: Format,
    /// API access.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// `joinkit lab`.
#[cfg(feature = "lab")]
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LabArgs {
    /// Optional subcommand.
    #[command(subcommand)]
    pub command: Option<LabCommand>,
    /// Loopback address to listen on (port 0 picks a free port)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:6443")]
    pub listen: SocketAddr,
    /// CA key type
    #[arg(long, value_parser = choice(KeyKind::ALL), default_value = "rsa")]
    pub ca_key: KeyKind,
    /// Fault to inject
    #[arg(long, value_parser = choice(Scenario::ALL), default_value = "healthy")]
    pub scenario: Scenario,
    /// Use the bootstrap token in this file instead of a random one
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// host:port to advertise in cluster-info instead of the listen address
    #[arg(long, value_name = "HOST:PORT")]
    pub control_plane_endpoint: Option<String>,
    /// Write endpoint, token, CA pin and CA certificate as JSON to FILE (mode 0600)
    #[arg(long, value_name = "FILE")]
    pub write_json: Option<PathBuf>,
    /// Write the CA certificate (PEM) to FILE
    #[arg(long, value_name = "FILE")]
    pub write_ca: Option<PathBuf>,
    /// Write an admin kubeconfig (like kubeadm's admin.conf) to FILE (mode 0600)
    #[arg(long, value_name = "FILE")]
    pub write_kubeconfig: Option<PathBuf>,
    /// Stop after DURATION
    #[arg(long, value_name = "DURATION", value_parser = joinkit_core::duration::clap_parse)]
    pub exit_after: Option<Duration>,
}

/// `joinkit lab` subcommands.
#[cfg(feature = "lab")]
#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Start a lab, verify discovery against it healthy and with a fault, print both reports
    Demo {
        /// The fault for the second run
        #[arg(long, value_parser = choice(Scenario::ALL), default_value = "token-expired")]
        scenario: Scenario,
        /// Output format
        #[arg(short = 'o', long = "output", value_parser = choice(Format::ALL), default_value = "text")]
        output: Format,
    },
    /// List the fault scenarios
    Scenarios,
}

/// A secret given as a flag value or through its environment variable (a bootstrap token, a
/// TLS bootstrap token, a certificate key): held as a [`secrecy::SecretString`] (zeroized on
/// drop), shown as `<redacted>` by `Debug`, so the parsed arguments can be logged safely.
#[derive(Clone)]
pub struct SecretArg(secrecy::SecretString);

impl SecretArg {
    /// The value, for the code that must use it (parse a token, write a config the user asked for).
    pub fn expose(&self) -> &str {
        secrecy::ExposeSecret::expose_secret(&self.0)
    }
}

impl std::str::FromStr for SecretArg {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(SecretArg(secrecy::SecretString::from(s.to_string())))
    }
}

impl std::fmt::Debug for SecretArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The clap command (for man pages and completions).
pub fn command() -> clap::Command {
    Cli::command()
}

/// Secrets that have an environment variable or file alternative: (argument id, what to use
/// instead). Given on the command line they are visible to every user (`ps`,
/// `/proc/PID/cmdline`) and kept in shell history.
const ARGV_SECRETS: &[(&str, &str)] = &[
    ("token", "JOINKIT_TOKEN or --token-file"),
    ("certificate_key", "JOINKIT_CERTIFICATE_KEY"),
    ("tls_bootstrap_token", "JOINKIT_TLS_BOOTSTRAP_TOKEN"),
];

/// Positional arguments that may hold a whole bootstrap token: (command path, argument id,
/// what to use instead). They have no environment variable, so the alternatives differ:
/// `token create` reads `--token-file`; `describe` and `delete` need only the ID.
const ARGV_POSITIONAL_SECRETS: &[(&str, &str, &str)] = &[
    ("token create", "token", "--token-file (or no TOKEN: a random one is generated)"),
    ("token describe", "id", "the token ID alone (the secret is then not checked)"),
    ("token delete", "ids", "the token ID alone (delete needs no secret)"),
];

/// True when `s` contains a bootstrap token secret (`[a-z0-9]{6}.[a-z0-9]{16}`).
fn holds_token_secret(s: &str) -> bool {
    joinkit_core::redact::contains_token(s)
}

/// One warning line per secret flag (`--token`, `--certificate-key`, `--tls-bootstrap-token`)
/// whose value came from argv, and one per positional argument of `token create|describe|delete`
/// that holds a bootstrap token secret. clap merges the environment variable into the flag; its
/// `ValueSource` tells them apart, so a value from the environment gets no warning.
pub fn argv_secret_warnings(cmd: &clap::Command, m: &clap::ArgMatches) -> Vec<String> {
    let mut out = Vec::new();
    let (mut cmd, mut m) = (cmd, m);
    let mut path: Vec<&str> = Vec::new();
    loop {
        let here = path.join(" ");
        for (at, id, instead) in ARGV_POSITIONAL_SECRETS {
            if *at != here || m.value_source(id) != Some(clap::parser::ValueSource::CommandLine) {
                continue;
            }
            let secret = m.get_raw(id).into_iter().flatten().any(|v| v.to_str().is_some_and(holds_token_secret));
            if secret {
                out.push(format!(
                    "warning: `{here}` was given a bootstrap token secret in argv (visible to other users in ps, kept in shell history); prefer {instead}"
                ));
            }
        }
        for (id, instead) in ARGV_SECRETS {
            let Some(long) = cmd.get_arguments().find(|a| a.get_id() == *id).and_then(|a| a.get_long()) else {
                continue;
            };
            if m.value_source(id) == Some(clap::parser::ValueSource::CommandLine) {
                out.push(format!(
                    "warning: --{long} puts a secret in argv (visible to other users in ps, kept in shell history); prefer {instead}"
                ));
            }
        }
        let Some((name, sub)) = m.subcommand() else { break };
        let Some(sub_cmd) = cmd.find_subcommand(name) else { break };
        path.push(sub_cmd.get_name());
        (cmd, m) = (sub_cmd, sub);
    }
    out
}

/// Parses argv and runs; returns the process exit code.
pub fn main() -> i32 {
    use clap::FromArgMatches;
    let cmd = Cli::command();
    let parsed = cmd.clone().try_get_matches().and_then(|m| Cli::from_arg_matches(&m).map(|c| (c, m)));
    let cli = match parsed {
        Ok((c, m)) => {
            for w in argv_secret_warnings(&cmd, &m) {
                eprintln!("{w}");
            }
            c
        }
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match cli.command {
        Command::CaHash(a) => crate::commands::ca_hash(a),
        Command::VerifyDiscovery(a) => crate::commands::verify_discovery(a),
        #[cfg(feature = "lab")]
        Command::Lab(a) => crate::lab::lab(a),
        Command::RenderConfig(a) => crate::commands::render_config(*a),
        Command::Token(t) => crate::commands::token(t),
        Command::ExplainLog { files, output } => {
            let r = joinkit_core::diagnose::explain::explain(&files);
            r.print(output)
        }
        Command::Bootstrap(a) => crate::commands::bootstrap(*a),
        Command::Diagnose(a) => crate::commands::diagnose(*a),
        Command::ValidateConfig(a) => crate::commands::validate_config(a),
        Command::MigrateConfig(a) => crate::commands::migrate_config(a),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut command(), "joinkit", &mut std::io::stdout());
            0
        }
        Command::GenerateMan { dir } => match crate::commands::generate_man(&dir) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("joinkit: {e}");
                3
            }
        },
    }
}

/// A value parser over a domain enum's table of (value, name, help): the possible values, their
/// help and completion come from the library's one list, so the domain types need no clap.
pub fn choice<T: Copy + Send + Sync + 'static>(
    all: &'static [(T, &'static str, &'static str)],
) -> impl clap::builder::TypedValueParser<Value = T> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new(all.iter().map(|(_, name, help)| PossibleValue::new(*name).help(*help)))
        .map(move |s| all.iter().find(|(_, name, _)| *name == s).map(|(v, _, _)| *v).unwrap_or(all[0].0))
}
