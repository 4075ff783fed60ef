//! The typed argument layer: clap definitions (also the source of the man pages and
//! completions), the shared groups declared once ([`groups`]) and each command's conversion of
//! its arguments to the library's options. Nothing here runs a command ([`crate::commands`]
//! does); flag names follow kubeadm and kubectl.

pub mod config;
pub mod csr;
pub mod groups;
pub mod help;
pub mod join;
#[cfg(feature = "lab")]
pub mod lab;
pub mod token;

pub use config::{MigrateConfigArgs, RenderConfigArgs, RenderFormat, ValidateConfigArgs};
pub use csr::{CheckArgs, CsrCommand, DecideArgs};
pub use groups::{ApiArgs, OutputArg};
pub use join::{BootstrapArgs, DiagnoseArgs, VerifyDiscoveryArgs};
#[cfg(feature = "lab")]
pub use lab::{LabArgs, LabCommand};
pub use token::{JoinFormat, TokenCommand, TokenCreateArgs};

use clap::{Args, CommandFactory, Parser, Subcommand};
use joinkit_core::config::intent::{Given, Origin};
use joinkit_core::report::Format;
use std::path::PathBuf;

/// joinkit: verifiable, scriptable, debuggable kubeadm node joins.
#[derive(Debug, Parser)]
#[command(name = "joinkit", version, about, long_about = None)]
#[command(propagate_version = true, disable_help_subcommand = true)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// joinkit's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the CA public-key pin (sha256 of the DER SubjectPublicKeyInfo) of each certificate
    #[command(
        long_about = "Print the kubeadm CA public-key pin of every certificate in the inputs, in input order, one \
`sha256:<hex>` per line: SHA-256 over the certificate's DER SubjectPublicKeyInfo, for RSA, ECDSA \
and Ed25519 keys alike (kubeadm's pubkeypin). Inputs are PEM files (one or many certificates; \
keys and other blocks are skipped) or DER files, `-` for standard input, or the CA of a kubeconfig \
cluster. Warns on stderr about expired, not-yet-valid and non-CA certificates."
    )]
    CaHash(CaHashArgs),
    /// Check the node-trusts-control-plane half of a join (discovery), stage by stage
    #[command(
        long_about = "Check, stage by stage, that this node can trust the control plane the way `kubeadm join` \
would: resolve, connect, TLS handshake, anonymous GET of cluster-info, its kubeconfig, the token's \
JWS signature, the CA public-key pin, CA validity, the serving certificate against the discovered \
CA, and the clock. Fails fast and names the broken link, the kubeadm message it matches, the cause \
and the fix. One TCP connection and one TLS handshake.\n\nThe token may come from --token, \
--token-file or the JOINKIT_TOKEN environment variable (preferred: keeps it out of argv)."
    )]
    VerifyDiscovery(VerifyDiscoveryArgs),
    /// Write a kubeadm JoinConfiguration (or cloud-init user-data) from kubeadm's join flags
    #[command(long_about = "Write a kubeadm JoinConfiguration from kubeadm's `join` flag names, \
validated with the same rules as validate-config before anything is written (invalid input is an error, \
not a file). `--api-version v1beta4` (default) or `v1beta3`; unset fields are omitted. `--format cloud-init` \
wraps it in #cloud-config user-data that writes /etc/kubernetes/joinkit/join.yaml (0600) and runs \
`kubeadm join --config` on it. Every flag can come from an environment variable (JOINKIT_<FLAG>, e.g. \
JOINKIT_TOKEN, JOINKIT_CERTIFICATE_KEY) so secrets stay out of argv and cloud-init logs. Only --control-plane \
makes a control-plane join: --certificate-key, --apiserver-advertise-address or --apiserver-bind-port without it \
is a usage error, and their environment variables without it are ignored (one note on stderr). `--format nodeadm` \
writes EKS AL2023 user data instead: a nodeadm NodeConfig in MIME multi-part form from ENDPOINT, --ca-cert, \
--eks-cluster-name, --eks-service-cidr, --kubelet-arg and --taint, checked with validate-config's NodeConfig rules \
(docs/eks-nodeadm.md); a bootstrap token has no place there and is ignored with a note.")]
    RenderConfig(Box<RenderConfigArgs>),
    /// Check JoinConfiguration files with kubeadm's rules and stricter ones
    #[command(long_about = "Check kubeadm JoinConfiguration files (v1beta4, v1beta3) with every kubeadm \
validation rule and kubeadm's messages, plus stricter checks kubeadm defers to join time (CA pins, token and \
certificate key format, endpoint syntax, unknown fields with the nearest known one, duplicate keys, types, \
durations). Each problem has a severity, file:line:column, the field path, the message and a fix. Other \
kinds in multi-document files are noted and skipped. A character kubeadm's YAML reader takes as a line break \
and joinkit's does not (NEL U+0085, LS U+2028, PS U+2029, a CR without LF) is an error at its line:column, \
here and wherever joinkit reads YAML. EKS files are recognised by content and checked with their own rules: \
the aws-auth ConfigMap and access-entry JSON (docs/eks-aws-auth.md), nodeadm NodeConfigs and EKS user data \
(MIME multi-part, bootstrap.sh scripts; docs/eks-nodeadm.md). Exit 0 when there are no errors.")]
    ValidateConfig(ValidateConfigArgs),
    /// Convert a v1beta3 JoinConfiguration to v1beta4, preserving every value
    MigrateConfig(MigrateConfigArgs),
    /// Dry-run the TLS bootstrap: submit a real kubelet CSR and verify what comes back
    #[command(long_about = "Prove the control-plane-trusts-node half of a join before a kubelet runs: \
discovery (as verify-discovery), authentication with the bootstrap token (SelfSubjectReview, or a \
SelfSubjectAccessReview on servers older than 1.28), the RBAC the join needs, the node name, a CSR exactly \
like the kubelet's, its approval and issue (watched), the certificate, authentication with it, and clean-up. \
A dry run by default: the CSR is deleted and nothing is written unless --keep-csr or --write-dir.")]
    Bootstrap(Box<BootstrapArgs>),
    /// Find the root cause of a failed join from the node (and, with --kubeconfig, the cluster)
    #[command(long_about = "Walk the whole join path from this node: the container runtime and the kubelet (the \
CRI socket and its CRI v1 Version answer, the kubelet's and the runtime's cgroup drivers, swap versus \
failSwapOn, the kubelet's health on 127.0.0.1:10248 and, with --root /, its journal), local preflight \
state (files left by an earlier attempt, port 10250, ip_forward) read under --root, name \
resolution, a route to the endpoint (/proc/net/route, /proc/net/ipv6_route), on EKS nodes bootstrap.sh or \
nodeadm's NodeConfig and its CA and endpoint, discovery and a dry-run TLS bootstrap; with --kubeconfig (admin) the token's Secret, cluster-info and its RBAC, the bootstrapsigner, \
kubeadm's bindings, Pending CSRs and an existing Node; with --control-plane --certificate-key the uploaded \
kubeadm-certs. The first broken link is the root cause, with its failure domain, evidence and mitigation \
(-o json|yaml: rootCause, failureDomain, evidence[], mitigation). The exit code is the domain's.")]
    Diagnose(Box<DiagnoseArgs>),
    /// Explain a failed join from kubeadm, kubelet, cloud-init or journalctl logs
    #[command(long_about = "Match logs (files, or `-`/none for stdin) against joinkit's catalog of known \
join-failure signatures (every kubeadm message of the protocol spec, kubelet registration and certificate \
errors, preflight errors that mean reset first, the TLS-bootstrap timeout, EKS signatures; every kubeadm preflight \
check by its name in [ERROR <name>] / [WARNING <name>] lines, looked up in the table of kubeadm 1.10-1.36's check \
names read from kubeadm's source (cmd/kubeadm/app/preflight/checks.go), an unknown name still a preflight failure) and print each \
match with its line numbers, failure domain, meaning and fix, the earliest root cause first (decidedBy names \
its line). Progress lines every join prints (the TLS-bootstrap wait) are context, never a root cause. A log that \
reaches kubeadm join's \"This node has joined the cluster\" is a success: exit 0, failures before that line \
listed as resolved, failures after it still count. A clean log says so and exits 0; otherwise the exit code is \
the root cause's domain. A line ends at \\n, \\r\\n or a lone \\r. Streams in bounded memory, at the same \
speed on any bytes (non-ASCII text, invalid UTF-8, binary).")]
    ExplainLog {
        /// Log files; `-` or none reads standard input
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
        /// The output format.
        #[command(flatten)]
        out: OutputArg,
    },
    /// Mint, list, describe and delete bootstrap tokens through the API (like kubeadm token)
    #[command(subcommand)]
    Token(TokenCommand),
    /// List, explain, approve and deny CSRs, approving only those that pass joinkit's checks
    #[command(
        subcommand,
        long_about = "Judge CertificateSigningRequests before anyone approves them. For \
kubernetes.io/kubelet-serving: the requestor is system:node:<n> in system:nodes, CN is the requestor, O is exactly \
system:nodes, usages are exactly digital signature and server auth (optionally key encipherment; required when /version says the API server is older than v1.27, whose signer fails a CSR without it), no URI or \
email SANs, every DNS and IP SAN is one of the Node's .status.addresses, none is a name or address of the cluster \
itself (the API server's, Service names and CIDR, wildcards, loopback, link-local) or another Node's address, DNS \
SANs are the node's name or hostname (or match --dns-regex), IPs are within --allowed-cidr when given, the Node \
exists, expirationSeconds is within --max-expiration, the key is RSA >= 2048, ECDSA P-256/P-384 or Ed25519, and no \
other pending CSR of the node asks for different SANs. spec.request must read the same way in Go and in joinkit \
(one strict PEM block, canonical DER, one extensionRequest, at most 64 SANs). For \
kubernetes.io/kube-apiserver-client-kubelet: kube-controller-manager's auto-approval rules and the \
ClusterRoleBinding that allows or blocks it. `approve` writes Approved only for CSRs that pass every check \
(reason JoinkitApproved, the checks in the message); `deny` needs --reason; --dry-run writes nothing."
    )]
    Csr(CsrCommand),
    /// Run a loopback simulated control plane for trying joinkit (and for its tests)
    #[command(
        long_about = "Serve a simulated kube-apiserver and controller-manager on loopback: its own CA and serving \
certificate, cluster-info signed by the bootstrapsigner, a bootstrap token, kubeadm's RBAC, and the \
API server's exact 401/403/404 answers. Prints the endpoint, a token and the CA pin; --scenario \
injects one fault. Runs until interrupted (or --exit-after)."
    )]
    #[cfg(feature = "lab")]
    Lab(LabArgs),
    /// Print a command's help, or the exit codes: `joinkit help exit-codes`
    Help {
        /// A command path (`token create`) or a topic (`exit-codes`); none: this help
        #[arg(value_name = "COMMAND|TOPIC")]
        topic: Vec<String>,
    },
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
    /// The output format.
    #[command(flatten)]
    pub out: OutputArg,
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

/// The clap command, with each command's EXAMPLES and notes ([`help::decorate`]): what argv is
/// parsed with, and the source of the man pages and completions.
pub fn command() -> clap::Command {
    help::decorate(Cli::command())
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
pub(crate) fn argv_secret_warnings(cmd: &clap::Command, m: &clap::ArgMatches) -> Vec<String> {
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

/// Parses argv: the command line, and one warning line per secret given in argv
/// ([`argv_secret_warnings`]); clap's error (or help/version text) otherwise.
pub(crate) fn parse() -> Result<(Cli, Vec<String>), clap::Error> {
    use clap::FromArgMatches;
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cmd = command();
    let m = cmd.clone().try_get_matches_from(&args)?;
    // Values from the environment that a command-line argument excludes are dropped: parse
    // again without those variables.
    let (cmd, m) = match exclusive_sources(&cmd, &m)? {
        Some(trimmed) => {
            let m = trimmed.clone().try_get_matches_from(&args)?;
            (trimmed, m)
        }
        None => (cmd, m),
    };
    let mut cli = Cli::from_arg_matches(&m)?;
    record_control_plane_values(&mut cli, &cmd, &m);
    Ok((cli, argv_secret_warnings(&cmd, &m)))
}

/// Arguments that exclude each other: (command path, argument id, the ids it excludes).
/// Checked by [`exclusive_sources`], not by clap's `conflicts_with`, because clap counts a value
/// from an environment variable as given: with JOINKIT_API_SERVER_ENDPOINT exported,
/// `verify-discovery --discovery-file F` would be a conflict although the command line has one
/// source. kubectl's and kubeadm's rule instead: the command line wins over the environment.
const EXCLUSIVE: &[(&str, &str, &[&str])] = &[
    ("verify-discovery", "cluster_info_file", &["endpoint", "discovery_file", "config"]),
    ("verify-discovery", "discovery_file", &["endpoint", "config"]),
    ("verify-discovery", "config", &["endpoint", "token", "token_file", "pins", "unsafe_skip", "tls_bootstrap_token"]),
    ("bootstrap", "config", &["endpoint", "token", "token_file", "pins", "unsafe_skip"]),
    ("diagnose", "config", &["endpoint", "token", "token_file", "pins", "unsafe_skip"]),
    ("token create", "token_file", &["token"]),
];

/// How an argument is named in messages: `--long`, else its value name (`ENDPOINT`).
fn arg_display(cmd: &clap::Command, id: &str) -> String {
    let Some(a) = cmd.get_arguments().find(|a| a.get_id() == id) else { return id.to_string() };
    match (a.get_long(), a.get_value_names().and_then(|v| v.first())) {
        (Some(l), _) => format!("--{l}"),
        (None, Some(v)) => v.to_string(),
        (None, None) => id.to_uppercase(),
    }
}

/// Applies [`EXCLUSIVE`] to the command `m` names. Two excluding arguments both on the command
/// line, or both from the environment, are a usage error naming both; one on the command line
/// and the other from its environment variable: the command line wins, and the returned
/// command (to parse again with) no longer reads that variable. None when nothing is dropped.
fn exclusive_sources(cmd: &clap::Command, m: &clap::ArgMatches) -> Result<Option<clap::Command>, clap::Error> {
    use clap::error::ErrorKind;
    use clap::parser::ValueSource;
    let (mut leaf, mut lm) = (cmd, m);
    let mut path: Vec<String> = Vec::new();
    while let Some((name, sub_m)) = lm.subcommand() {
        let Some(sub) = leaf.find_subcommand(name) else { break };
        path.push(sub.get_name().to_string());
        (leaf, lm) = (sub, sub_m);
    }
    let here = path.join(" ");
    let ids: Vec<&str> = leaf.get_arguments().map(|a| a.get_id().as_str()).collect();
    let source = |id: &str| {
        if !ids.contains(&id) {
            return None;
        }
        match lm.value_source(id) {
            Some(s @ (ValueSource::CommandLine | ValueSource::EnvVariable)) => Some(s),
            _ => None,
        }
    };
    let env_of = |id: &str| {
        leaf.get_arguments()
            .find(|a| a.get_id() == id)
            .and_then(|a| a.get_env())
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let pairs: Vec<(&str, &str)> = EXCLUSIVE
        .iter()
        .filter(|(at, _, _)| *at == here)
        .flat_map(|(_, a, excluded)| excluded.iter().map(move |b| (*a, *b)))
        .collect();
    // First what the command line excludes (dropped), then what is left.
    let mut drop: Vec<&str> = Vec::new();
    for (a, b) in &pairs {
        match (source(a), source(b)) {
            (Some(ValueSource::CommandLine), Some(ValueSource::EnvVariable)) => drop.push(b),
            (Some(ValueSource::EnvVariable), Some(ValueSource::CommandLine)) => drop.push(a),
            _ => {}
        }
    }
    for (a, b) in pairs {
        if drop.contains(&a) || drop.contains(&b) {
            continue;
        }
        {
            match (source(a), source(b)) {
                (Some(ValueSource::CommandLine), Some(ValueSource::CommandLine)) => {
                    let msg = format!(
                        "the argument '{}' cannot be used with '{}'\n",
                        arg_display(leaf, a),
                        arg_display(leaf, b)
                    );
                    return Err(clap::Error::raw(ErrorKind::ArgumentConflict, msg).with_cmd(leaf));
                }
                (Some(ValueSource::EnvVariable), Some(ValueSource::EnvVariable)) => {
                    let msg = format!(
                        "{} and {} are both set, and {} and {} exclude each other: unset one, or give the one you mean on the command line\n",
                        env_of(a),
                        env_of(b),
                        arg_display(leaf, a),
                        arg_display(leaf, b)
                    );
                    return Err(clap::Error::raw(ErrorKind::ArgumentConflict, msg).with_cmd(leaf));
                }
                _ => {}
            }
        }
    }
    if drop.is_empty() {
        return Ok(None);
    }
    fn without_env(c: clap::Command, path: &[String], ids: &[&str]) -> clap::Command {
        match path.split_first() {
            None => ids.iter().fold(c, |c, id| c.mut_arg(*id, |a| a.env(None))),
            Some((first, rest)) => c.mut_subcommand(first, |s| without_env(s, rest, ids)),
        }
    }
    Ok(Some(without_env(cmd.clone(), &path, &drop)))
}

/// The arguments (clap ids) that only mean something for a control-plane join
/// ([`joinkit_core::config::intent`]); each command has those it takes.
const CONTROL_PLANE_ONLY: &[&str] = &["certificate_key", "apiserver_advertise_address", "apiserver_bind_port"];

/// The control-plane-only values `m` holds, each with its flag, its environment variable and
/// where it came from (clap's `ValueSource`: the command line or the environment).
fn control_plane_values(cmd: &clap::Command, m: &clap::ArgMatches) -> Vec<Given> {
    use clap::parser::ValueSource;
    CONTROL_PLANE_ONLY
        .iter()
        .filter_map(|id| {
            let arg = cmd.get_arguments().find(|a| a.get_id() == *id)?;
            let origin = match m.value_source(id)? {
                ValueSource::CommandLine => Origin::CommandLine,
                ValueSource::EnvVariable => Origin::Environment,
                _ => return None,
            };
            Some(Given {
                flag: format!("--{}", arg.get_long()?),
                env: arg.get_env().map(|e| e.to_string_lossy().into_owned()),
                origin,
            })
        })
        .collect()
}

/// Records, in the arguments of `render-config`, `token create` and `diagnose`, where their
/// control-plane-only values came from (the typed arguments cannot tell a flag from its
/// environment variable; the matches can).
fn record_control_plane_values(cli: &mut Cli, cmd: &clap::Command, m: &clap::ArgMatches) {
    let Some((name, sub_m)) = m.subcommand() else { return };
    let Some(sub) = cmd.find_subcommand(name) else { return };
    match &mut cli.command {
        Command::RenderConfig(a) => a.control_plane_values = control_plane_values(sub, sub_m),
        Command::Diagnose(a) => a.control_plane_values = control_plane_values(sub, sub_m),
        Command::Token(TokenCommand::Create(a)) => {
            if let Some((n, m2)) = sub_m.subcommand() {
                if let Some(c2) = sub.find_subcommand(n) {
                    a.control_plane_values = control_plane_values(c2, m2);
                }
            }
        }
        _ => {}
    }
}

/// The report format a command line asks for with `-o`/`--output` (`-o json`, `-ojson`,
/// `-o=json`, `--output json`, `--output=json`), read from the raw arguments for clap's own
/// errors, when nothing is parsed: json or yaml, else None (text).
pub(crate) fn requested_format(args: &[std::ffi::OsString]) -> Option<Format> {
    let args: Vec<&str> = args.iter().skip(1).filter_map(|a| a.to_str()).collect();
    let mut found = None;
    for (i, a) in args.iter().enumerate() {
        if *a == "--" {
            break;
        }
        let value = match *a {
            "-o" | "--output" => args.get(i + 1).copied(),
            _ => a
                .strip_prefix("--output=")
                .or_else(|| a.strip_prefix("-o=").or_else(|| a.strip_prefix("-o").filter(|v| !v.is_empty()))),
        };
        match value {
            Some("json") => found = Some(Format::Json),
            Some("yaml") => found = Some(Format::Yaml),
            _ => {}
        }
    }
    found
}

/// The command path a raw command line names (`token create`, `verify-discovery`), or
/// `joinkit` when it names none: the words that are subcommand names, in order.
pub(crate) fn command_path(args: &[std::ffi::OsString]) -> String {
    let mut cmd = command();
    let mut path = Vec::new();
    for a in args.iter().skip(1).filter_map(|a| a.to_str()) {
        if a == "--" {
            break;
        }
        let Some(sub) = cmd.find_subcommand(a).cloned() else { continue };
        path.push(sub.get_name().to_string());
        cmd = sub;
    }
    if path.is_empty() {
        "joinkit".into()
    } else {
        path.join(" ")
    }
}

/// clap's usage error as joinkit's failure (`usage`, exit 2, stage `input`), for a JSON or
/// YAML report: clap's message (its first paragraph, secrets redacted), the cause and the fix.
pub(crate) fn usage_failure(e: &clap::Error, command: &str) -> joinkit_core::error::Failure {
    let text = e.render().to_string();
    let first = text.split("\n\n").next().unwrap_or("").trim();
    let message = joinkit_core::redact::redact(first.strip_prefix("error: ").unwrap_or(first));
    joinkit_core::error::Failure::new(joinkit_core::error::Code::Usage, joinkit_core::report::Common::Input, message)
        .cause("the command line does not parse: an unknown flag, a missing or malformed value, or a missing argument")
        .fix(format!(
            "see `{} --help`",
            if command == "joinkit" { "joinkit".to_string() } else { format!("joinkit {command}") }
        ))
}

/// A value parser over a domain enum's table of (value, name, help): the possible values, their
/// help and completion come from the library's one list, so the domain types need no clap.
pub(crate) fn choice<T: Copy + Send + Sync + 'static>(
    all: &'static [(T, &'static str, &'static str)],
) -> impl clap::builder::TypedValueParser<Value = T> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new(all.iter().map(|(_, name, help)| PossibleValue::new(*name).help(*help)))
        .map(move |s| all.iter().find(|(_, name, _)| *name == s).map(|(v, _, _)| *v).unwrap_or(all[0].0))
}
