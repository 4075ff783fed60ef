//! The commands behind the CLI: each turns parsed arguments into a [`Report`], prints it and
//! returns the exit code. Logic lives in the concept modules; this is glue.

use crate::cli::{
    ApiArgs, BootstrapArgs, CaHashArgs, DiagnoseArgs, JoinFormat, MigrateConfigArgs, RenderConfigArgs, RenderFormat,
    SecretArg, TokenCommand, TokenCreateArgs, ValidateConfigArgs, VerifyDiscoveryArgs,
};
use joinkit_core::config::{self, JoinConfig, Taint};
use joinkit_core::discovery::{self, Options, Source, Trust};
use joinkit_core::endpoint::Endpoint;
use joinkit_core::error::{self, Code, Failure};
use joinkit_core::kubeconfig::Kubeconfig;
use joinkit_core::pin::{self, PinSet};
use joinkit_core::report::{Format, Report};
use joinkit_core::token::{self, BootstrapToken};
use std::path::Path;
use std::time::Duration;

/// The exit-code table for `--help` and the man pages.
pub fn exit_codes_help() -> String {
    error::exit_code_table_text()
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime can always be built")
}

/// Runs `fut` to completion on a fresh runtime and then drops the runtime without waiting for
/// its blocking threads: a resolver call (`getaddrinfo`) that never returns must not hold the
/// process past `--timeout` (the future itself is bounded; only the abandoned thread is left).
pub(crate) fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    let rt = runtime();
    let out = rt.block_on(fut);
    rt.shutdown_background();
    out
}

pub(crate) fn finish(report: &Report, format: Format) -> i32 {
    if format == Format::Text && !report.warnings().is_empty() {
        for w in report.warnings() {
            eprintln!("warning: {}", joinkit_core::report::escape_controls(w));
        }
    }
    report.print(format)
}

/// `joinkit ca-hash`: pins to stdout (text) or the report (json/yaml). In text mode a failure
/// goes to stderr and nothing is printed on stdout.
pub fn ca_hash(a: CaHashArgs) -> i32 {
    let mut report = Report::new("ca-hash");
    let result = collect_certs(&a, &mut report);
    match result {
        Err(f) => {
            report.fail(f);
            if a.output == Format::Text {
                eprint!("{}", report.to_text(false));
                report.exit_code()
            } else {
                report.print(a.output)
            }
        }
        Ok(certs) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            for (src, c) in &certs {
                if let Some(p) = c.validity_problem(now) {
                    report.push_warning(format!(
                        "{src}: certificate {} is {p} (valid {} to {}); its pin is printed anyway",
                        c.subject, c.not_before, c.not_after
                    ));
                }
                if !c.is_ca {
                    report.push_warning(format!(
                        "{src}: certificate {} is not a CA (basicConstraints CA:FALSE); kubeadm pins the cluster CA",
                        c.subject
                    ));
                }
            }
            let list: Vec<serde_json::Value> = certs
                .iter()
                .map(|(src, c)| {
                    let mut v = serde_json::to_value(c).unwrap_or_default();
                    v["source"] = serde_json::json!(src);
                    v
                })
                .collect();
            report.set("certificates", list);
            report.set("pins", certs.iter().map(|(_, c)| c.pin.clone()).collect::<Vec<_>>());
            match a.output {
                Format::Text => {
                    for w in report.warnings() {
                        eprintln!("warning: {}", joinkit_core::report::escape_controls(w));
                    }
                    let mut s = String::new();
                    for (_, c) in &certs {
                        s.push_str(&c.pin);
                        s.push('\n');
                    }
                    print!("{s}");
                    0
                }
                f => report.print(f),
            }
        }
    }
}

fn collect_certs(a: &CaHashArgs, report: &mut Report) -> Result<Vec<(String, pin::CertInfo)>, Failure> {
    report.start();
    if a.files.is_empty() && a.kubeconfig.is_none() {
        return Err(Failure::new(Code::Usage, "input", "expected at least one FILE, `-` or --kubeconfig; got none")
            .cause("nothing to hash")
            .fix("e.g. `joinkit ca-hash /etc/kubernetes/pki/ca.crt` or `joinkit ca-hash --kubeconfig /etc/kubernetes/admin.conf`"));
    }
    let mut out = Vec::new();
    let mut stdin_used = false;
    for f in &a.files {
        let (name, data) = if f.as_os_str() == "-" {
            if stdin_used {
                return Err(Failure::new(Code::Usage, "input", "`-` (standard input) given twice")
                    .cause("stdin can be read once")
                    .fix("pass `-` once"));
            }
            stdin_used = true;
            ("-".to_string(), read_input(f)?)
        } else {
            (f.display().to_string(), read_input(f)?)
        };
        for der in pin::read_certificates(&data, &name)? {
            out.push((name.clone(), pin::inspect(der.as_ref(), &name)?));
        }
    }
    if let Some(k) = &a.kubeconfig {
        let name = k.display().to_string();
        let kc = Kubeconfig::load(k).map_err(|e| {
            Failure::new(Code::BadInputFile, "read", format!("expected a kubeconfig; {e}"))
                .cause("the file is not a readable kubeconfig")
                .fix("pass an admin kubeconfig such as /etc/kubernetes/admin.conf")
        })?;
        let cluster = kc.cluster(a.cluster.as_deref()).map_err(|e| {
            Failure::new(Code::BadInputFile, "read", format!("{name}: {e}"))
                .cause("the kubeconfig has no such cluster")
                .fix("name one with --cluster")
        })?;
        let what = format!("{name} (cluster {:?})", cluster.name);
        let ca = kc
            .ca_bytes(&cluster.cluster)
            .map_err(|e| {
                Failure::new(Code::InputUnreadable, "read", format!("{what}: {e}"))
                    .cause("the CA data or file cannot be read")
                    .fix("check certificate-authority(-data)")
            })?
            .ok_or_else(|| {
                Failure::new(
                    Code::NoCertificate,
                    "read",
                    format!("{what}: the cluster has neither certificate-authority-data nor certificate-authority"),
                )
                .cause("the kubeconfig trusts the system roots or skips verification")
                .fix("pass the CA file itself")
            })?;
        for der in pin::read_certificates(&ca, &what)? {
            out.push((what.clone(), pin::inspect(der.as_ref(), &what)?));
        }
    }
    report.pass("read", format!("{} certificate(s)", out.len()));
    Ok(out)
}

/// Reads an input file (or stdin for `-`) with the bounds of [`joinkit_core::fsutil`]: a regular file of
/// at most 16 MiB; FIFOs, devices and directories are refused at once (`input-unreadable`).
fn read_input(path: &std::path::Path) -> Result<Vec<u8>, Failure> {
    joinkit_core::fsutil::read_path_or_stdin(path, joinkit_core::fsutil::MAX_INPUT_FILE).map_err(|e| {
        Failure::new(Code::InputUnreadable, "read", e.to_string())
            .cause("the path is wrong, not readable by this user, not a regular file, or too large")
            .fix("check the path and permissions (the CA is /etc/kubernetes/pki/ca.crt on a control-plane node)")
    })
}

/// [`read_input`] as UTF-8 text.
fn read_input_text(path: &std::path::Path) -> Result<String, Failure> {
    String::from_utf8(read_input(path)?).map_err(|_| unreadable(&path.display().to_string(), "not UTF-8 text"))
}

fn unreadable(name: &str, e: &str) -> Failure {
    Failure::new(Code::InputUnreadable, "read", format!("cannot read {name}: {e}"))
        .cause("the path is wrong or not readable by this user")
        .fix("check the path and permissions (the CA is /etc/kubernetes/pki/ca.crt on a control-plane node)")
}

/// Builds discovery options from the arguments; input errors become a failed report.
pub fn discovery_options(a: &VerifyDiscoveryArgs) -> Result<Options, Failure> {
    let token = token::resolve_token(a.token.as_ref().map(SecretArg::expose), a.token_file.as_deref())?;
    let pins = PinSet::parse_all(&a.pins)?;
    let trust = if a.unsafe_skip { Some(Trust::UnsafeSkip) } else { pins.map(Trust::Pinned) };
    let source = if let Some(f) = &a.cluster_info_file {
        Source::ClusterInfoFile(f.clone())
    } else if let Some(d) = &a.discovery_file {
        Source::DiscoveryFile(d.clone())
    } else {
        Source::Endpoint(Endpoint::parse(a.endpoint.as_deref().unwrap_or(""))?)
    };
    let tls_bootstrap_token =
        a.tls_bootstrap_token.as_ref().map(SecretArg::expose).map(BootstrapToken::parse).transpose()?;
    Ok(Options {
        source,
        token,
        trust,
        connect_timeout: a.connect_timeout,
        timeout: a.timeout,
        wait: a.wait,
        max_clock_skew: a.max_clock_skew,
        tls_bootstrap_token,
        verbose_attempts: true,
    })
}

/// `joinkit verify-discovery`.
pub fn verify_discovery(a: VerifyDiscoveryArgs) -> i32 {
    let opts = match discovery_options(&a) {
        Ok(o) => o,
        Err(f) => {
            let mut r = Report::new("verify-discovery");
            r.fail(f);
            r.skip_rest(discovery::NETWORK_STAGES);
            return finish(&r, a.output);
        }
    };
    let report = block_on(discovery::run(&opts));
    finish(&report, a.output)
}

/// Writes one man page per command (joinkit.1, joinkit-ca-hash.1, ...) into `dir`.
pub fn generate_man(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let cmd = crate::cli::command();
    let mut pages = vec![("joinkit".to_string(), cmd.clone())];
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        let name = format!("joinkit-{}", sub.get_name());
        let c = sub.clone().name(name.clone()).after_long_help(exit_codes_help());
        pages.push((name.clone(), c.clone()));
        for subsub in sub.get_subcommands() {
            if subsub.get_name() == "help" {
                continue;
            }
            let n2 = format!("{name}-{}", subsub.get_name());
            pages.push((n2.clone(), subsub.clone().name(n2)));
        }
    }
    for (name, c) in pages {
        let mut buf = Vec::new();
        clap_mangen::Man::new(c).render(&mut buf).map_err(|e| e.to_string())?;
        std::fs::write(dir.join(format!("{name}.1")), buf).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Writes `text` to `output` (atomically, 0600: it may hold a token) or prints it.
fn emit(report: &mut Report, output: Option<&Path>, text: &str) -> i32 {
    match output {
        Some(p) => match joinkit_core::fsutil::write_private(p, text.as_bytes()) {
            Ok(()) => 0,
            Err(e) => config_failure(
                report,
                Failure::new(Code::OutputUnwritable, "write", e)
                    .cause("the directory is missing or not writable")
                    .fix("check --output"),
            ),
        },
        None => {
            print!("{text}");
            0
        }
    }
}

fn config_failure(report: &mut Report, f: Failure) -> i32 {
    report.fail(f);
    eprint!("{}", report.to_text(false));
    report.exit_code()
}

/// Builds the JoinConfiguration model from render-config's flags (no validation here).
pub fn join_config_from_args(a: &RenderConfigArgs) -> Result<JoinConfig, Failure> {
    let bad = |msg: String, fix: &str| {
        Failure::new(Code::ConfigInvalid, "input", msg).cause("a flag value is malformed").fix(fix.to_string())
    };
    let token = match &a.token_file {
        Some(p) => Some(config::Secret::from(read_input_text(p).map_err(|f| f.at("input"))?.trim())),
        None => a.token.as_ref().map(|t| config::Secret::from(t.expose())),
    };
    let mut pins = a.pins.clone();
    if let Some(ca) = &a.ca_cert {
        let data = read_input(ca)?;
        for p in pin::pins_of_pem(&data, &ca.display().to_string())? {
            if !pins.contains(&p.to_string()) {
                pins.push(p.to_string());
            }
        }
    }
    let mut kubelet_extra_args = Vec::new();
    for kv in &a.kubelet_args {
        let (k, v) = kv.split_once('=').ok_or_else(|| {
            bad(format!("--kubelet-arg {kv:?} is not NAME=VALUE"), "write e.g. --kubelet-arg node-ip=10.0.0.5")
        })?;
        let k = k.trim_start_matches("--");
        if k.is_empty() {
            return Err(bad(
                format!("--kubelet-arg {kv:?} has an empty name"),
                "write e.g. --kubelet-arg node-ip=10.0.0.5",
            ));
        }
        kubelet_extra_args.push((k.to_string(), v.to_string()));
    }
    let taints = if a.taints.is_empty() {
        None
    } else {
        Some(
            a.taints
                .iter()
                .map(|t| Taint::parse(t).map_err(|e| bad(e, "write key[=value]:Effect, e.g. dedicated=gpu:NoSchedule")))
                .collect::<Result<Vec<_>, _>>()?,
        )
    };
    let token_discovery = a.endpoint.is_some() || token.is_some() || !pins.is_empty() || a.unsafe_skip;
    Ok(JoinConfig {
        token: if a.discovery_file.is_some() && a.endpoint.is_none() { None } else { token },
        api_server_endpoint: a.endpoint.clone(),
        ca_cert_hashes: pins,
        unsafe_skip_ca_verification: a.unsafe_skip.then_some(true),
        has_bootstrap_token: token_discovery && !(a.discovery_file.is_some() && a.endpoint.is_none()),
        discovery_file: a.discovery_file.clone(),
        has_file: a.discovery_file.is_some(),
        tls_bootstrap_token: a.tls_bootstrap_token.as_ref().map(|t| config::Secret::from(t.expose())),
        discovery_timeout: a.discovery_timeout.clone(),
        node_name: a.node_name.clone(),
        cri_socket: a.cri_socket.clone(),
        taints,
        kubelet_extra_args,
        ignore_preflight_errors: a.ignore_preflight_errors.clone(),
        skip_phases: a.skip_phases.clone(),
        patches_directory: a.patches.clone(),
        control_plane: a.control_plane
            || a.certificate_key.is_some()
            || a.apiserver_advertise_address.is_some()
            || a.apiserver_bind_port.is_some(),
        advertise_address: a.apiserver_advertise_address.clone(),
        bind_port: a.apiserver_bind_port,
        certificate_key: a.certificate_key.as_ref().map(|k| config::Secret::from(k.expose())),
        ..JoinConfig::default()
    })
}

/// `joinkit render-config`: validate, then print or write the YAML (or cloud-init).
pub fn render_config(a: RenderConfigArgs) -> i32 {
    let mut report = Report::new("render-config");
    let model = match join_config_from_args(&a) {
        Ok(m) => m,
        Err(f) => return config_failure(&mut report, f),
    };
    let yaml_text = model.to_yaml(a.api_version);
    // Validate exactly what will be written, with validate-config's rules.
    let checked = config::check_text("render-config", &yaml_text);
    for p in checked.problems.iter().filter(|p| p.severity == config::Severity::Warning) {
        if p.path != "apiVersion" {
            eprintln!("warning: {}: {} ({})", p.path, p.message, p.fix);
        }
    }
    for p in checked.problems.iter().filter(|p| p.severity == config::Severity::Error) {
        eprintln!("error: {}: {}", p.path, p.message);
    }
    if let Some(p) = checked.problems.iter().find(|p| p.severity == config::Severity::Error) {
        let flag_hint = format!("fix the flag or environment variable that sets {} and run again", p.path);
        let mut f = Failure::new(Code::ConfigInvalid, "validate", format!("{}: {}", p.path, p.message))
            .cause(format!("the inputs would produce an invalid JoinConfiguration; nothing was written. {}", p.fix))
            .fix(flag_hint);
        if p.kubeadm_rule {
            f = f.kubeadm(p.message.clone());
        }
        return config_failure(&mut report, f);
    }
    let out = match a.format {
        RenderFormat::Yaml => yaml_text,
        RenderFormat::CloudInit => config::model::cloud_init(&yaml_text),
    };
    emit(&mut report, a.output.as_deref(), &out)
}

/// `joinkit validate-config`.
pub fn validate_config(a: ValidateConfigArgs) -> i32 {
    match config::check_files(&a.files) {
        Ok(results) => {
            let report = config::report_for("validate-config", &results);
            finish(&report, a.output)
        }
        Err(f) => {
            let mut r = Report::new("validate-config");
            r.fail(f);
            finish(&r, a.output)
        }
    }
}

/// `joinkit migrate-config`.
pub fn migrate_config(a: MigrateConfigArgs) -> i32 {
    let name = a.file.display().to_string();
    let mut report = Report::new("migrate-config");
    let text = match config::read_config(&a.file) {
        Ok(t) => t,
        Err(f) => return config_failure(&mut report, f),
    };
    match config::migrate_text(&name, &text) {
        Ok(config::Migrated { text: out, notes }) => {
            for n in notes {
                eprintln!("note: {n}");
            }
            emit(&mut report, a.output.as_deref(), &out)
        }
        Err(config::MigrateError::Internal(f)) => config_failure(&mut report, f),
        Err(config::MigrateError::Invalid(result)) => {
            let r = config::report_for("migrate-config", &[(name, *result)]);
            eprint!("{}", r.to_text(false));
            eprintln!("migrate-config: fix the errors first; nothing was written");
            r.exit_code().max(1)
        }
    }
}

fn api_options(a: &ApiArgs) -> joinkit_core::client::api::ApiOptions {
    joinkit_core::client::api::ApiOptions {
        kubeconfig: a.kubeconfig.clone(),
        context: a.context.clone(),
        timeout: Some(a.request_timeout),
    }
}

async fn connect(a: &ApiArgs, report: &mut Report) -> Option<joinkit_core::client::api::ApiClient> {
    report.start();
    match joinkit_core::client::api::ApiClient::connect(&api_options(a)).await {
        Ok(c) => {
            for w in &c.warnings {
                report.warn("kubeconfig", w.clone());
            }
            report.pass("kubeconfig", format!("API server {}", c.server));
            Some(c)
        }
        Err(f) => {
            report.fail(f);
            None
        }
    }
}

/// `joinkit token ...`.
pub fn token(t: TokenCommand) -> i32 {
    use joinkit_core::token::manage;
    match t {
        TokenCommand::Generate => {
            println!("{}", BootstrapToken::generate().expose());
            0
        }
        TokenCommand::Create(a) => token_create(a),
        TokenCommand::List { show_secrets, output, api } => {
            let mut report = Report::new("token list");
            block_on(async {
                let Some(client) = connect(&api, &mut report).await else { return };
                report.start();
                match manage::list(&client, show_secrets).await {
                    Ok((tokens, warnings)) => {
                        for w in warnings {
                            report.warn("list", w);
                        }
                        report.pass("list", format!("{} bootstrap token(s)", tokens.len()));
                        if output == Format::Text {
                            print!("{}", manage::list_table(&tokens));
                        }
                        report.set("tokens", &tokens);
                    }
                    Err(f) => report.fail(f),
                }
            });
            if output == Format::Text {
                if let Some(_f) = report.failure() {
                    eprint!("{}", report.to_text(false));
                }
                for w in report.warnings() {
                    eprintln!("warning: {}", joinkit_core::report::escape_controls(w));
                }
                return report.exit_code();
            }
            report.print(output)
        }
        TokenCommand::Describe { id, show_secret, output, api } => {
            let (id, given) = match manage::parse_given(id.expose()) {
                Ok(g) => g,
                Err(f) => return config_failure(&mut Report::new("token describe"), f),
            };
            let mut report = Report::new("token describe");
            block_on(async {
                let Some(client) = connect(&api, &mut report).await else { return };
                match manage::describe(&client, &id, given.as_ref(), show_secret).await {
                    Ok(mut r) => {
                        r.prepend_stages(&report);
                        report = r;
                    }
                    Err(f) => report.fail(f),
                }
            });
            finish(&report, output)
        }
        TokenCommand::Delete { ids, output, api } => {
            let mut parsed = Vec::new();
            for i in &ids {
                match manage::parse_id(i.expose()) {
                    Ok(id) => parsed.push(id),
                    Err(f) => return config_failure(&mut Report::new("token delete"), f),
                }
            }
            let mut report = Report::new("token delete");
            block_on(async {
                let Some(client) = connect(&api, &mut report).await else { return };
                let mut r = manage::delete(&client, &parsed).await;
                r.prepend_stages(&report);
                report = r;
            });
            finish(&report, output)
        }
    }
}

fn token_create(a: TokenCreateArgs) -> i32 {
    use joinkit_core::token::manage;
    let mut report = Report::new("token create");
    let token = match &a.token_file {
        Some(p) => token::resolve_token(None, Some(p)),
        None => a.token.as_ref().map(SecretArg::expose).map(BootstrapToken::parse).transpose(),
    };
    let token = match token {
        Ok(t) => t.unwrap_or_else(BootstrapToken::generate),
        Err(f) => return config_failure(&mut report, f),
    };
    let spec = manage::TokenSpec {
        token: token.clone(),
        ttl: Some(a.ttl),
        usages: a.usages.iter().map(|u| u.trim().to_string()).filter(|u| !u.is_empty()).collect(),
        groups: a.groups.iter().map(|g| g.trim().to_string()).filter(|g| !g.is_empty()).collect(),
        description: a.description.clone(),
    };
    if let Err(f) = spec.validate() {
        return config_failure(&mut report, f);
    }
    if let Some(k) = a.certificate_key.as_ref().map(SecretArg::expose) {
        if let Some(e) = joinkit_core::config::validate::certificate_key_error(k) {
            let f = Failure::new(Code::BadTokenOptions, "input", e.clone())
                .kubeadm(e)
                .cause("the certificate key is not 64 hex digits")
                .fix("use the key printed by `kubeadm init phase upload-certs --upload-certs`");
            return config_failure(&mut report, f);
        }
    }
    let mut printed = String::new();
    block_on(async {
        let Some(client) = connect(&a.api, &mut report).await else { return };
        report.start();
        match manage::create(&client, &spec).await {
            Ok(_) => report.pass("create", format!("Secret kube-system/bootstrap-token-{} created", token.id())),
            Err(f) => return report.fail(f),
        }
        report.set("token", token.expose());
        report.set("tokenId", token.id());
        let mut cluster_pins = Vec::new();
        if a.no_wait {
            report.skip("signature", "--no-wait");
        } else if !spec.usages.iter().any(|u| u == "signing") {
            report.warn(
                "signature",
                "the token has no signing usage: it is never signed and cannot be used for token discovery",
            );
        } else {
            report.start();
            match manage::wait_signed(&client, &token, a.wait_timeout).await {
                Ok((true, pins)) => {
                    cluster_pins = pins;
                    report.pass("signature", "cluster-info carries the token's signature: the join works now")
                }
                Ok((false, pins)) => {
                    cluster_pins = pins;
                    report.warn("signature", format!("cluster-info carried no signature for {} after {}: the bootstrapsigner (kube-controller-manager) is probably not running; the join will fail with jws-missing until it is", token.id(), joinkit_core::duration::format(a.wait_timeout)))
                }
                Err(f) => report.warn("signature", format!("could not read cluster-info: {}", f.message)),
            }
        }
        if a.print_join_command {
            let pins = manage::kubeconfig_pins(&client, &cluster_pins);
            let endpoint = client.server.trim_start_matches("https://").to_string();
            printed = match a.format {
                JoinFormat::JoinCommand => {
                    format!(
                        "{}\n",
                        manage::join_command(
                            &client.server,
                            &token,
                            &pins,
                            a.certificate_key.as_ref().map(SecretArg::expose)
                        )
                    )
                }
                JoinFormat::JoinConfig => {
                    let j = JoinConfig {
                        token: Some(config::Secret::from(token.expose())),
                        api_server_endpoint: Some(endpoint),
                        ca_cert_hashes: pins.clone(),
                        has_bootstrap_token: true,
                        control_plane: a.certificate_key.is_some(),
                        certificate_key: a.certificate_key.as_ref().map(|k| config::Secret::from(k.expose())),
                        ..JoinConfig::default()
                    };
                    j.to_yaml(config::ApiVersion::V1beta4)
                }
            };
            report.set(
                "joinCommand",
                manage::join_command(&client.server, &token, &pins, a.certificate_key.as_ref().map(SecretArg::expose)),
            );
        } else {
            printed = format!("{}\n", token.expose());
        }
    });
    if a.output == Format::Text {
        for w in report.warnings() {
            eprintln!("warning: {}", joinkit_core::report::escape_controls(w));
        }
        if report.failure().is_some() {
            eprint!("{}", report.to_text(false));
        } else {
            print!("{printed}");
        }
        return report.exit_code();
    }
    report.print(a.output)
}

/// This host's name, lowercased (the kubelet's default node name).
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_lowercase())
        .unwrap_or_else(|_| "localhost".into())
}

/// Discovery options and node name from bootstrap's flags or its `--config`.
pub fn bootstrap_options(a: &BootstrapArgs) -> Result<joinkit_core::bootstrap::BootstrapOptions, Failure> {
    let (endpoint, token, tls_bootstrap_token, trust, node) = match &a.config {
        Some(path) => {
            let text = config::read_config(path)?;
            let r = config::check_text(&path.display().to_string(), &text);
            if let Some(p) = r.problems.iter().find(|p| p.severity == config::Severity::Error) {
                return Err(Failure::new(r.code.unwrap_or(Code::ConfigInvalid), "input", config::format_problem(p))
                    .cause("the JoinConfiguration is invalid")
                    .fix("run `joinkit validate-config` on it and fix what it reports"));
            }
            let (j, _, _) = r.join.ok_or_else(|| {
                Failure::new(Code::ConfigNoJoinConfiguration, "input", "no JoinConfiguration")
                    .cause("wrong file")
                    .fix("pass a JoinConfiguration")
            })?;
            if !j.has_bootstrap_token {
                return Err(Failure::new(
                    Code::Usage,
                    "input",
                    "the JoinConfiguration uses file discovery; joinkit bootstrap needs token discovery",
                )
                .cause("discovery.file is set")
                .fix("use a token-discovery config"));
            }
            // kubeadm discovers with discovery.bootstrapToken.token and authenticates the TLS
            // bootstrap with discovery.tlsBootstrapToken (which defaults to it).
            let token = j.token.as_ref().map(config::Secret::expose).unwrap_or_default();
            let tls_bootstrap_token = match j.tls_bootstrap_token.as_ref().map(config::Secret::expose) {
                Some(t) if !t.is_empty() && t != token => Some(BootstrapToken::parse(t)?),
                _ => None,
            };
            let trust = if j.unsafe_skip_ca_verification == Some(true) {
                Some(Trust::UnsafeSkip)
            } else {
                PinSet::parse_all(&j.ca_cert_hashes)?.map(Trust::Pinned)
            };
            (
                j.api_server_endpoint.clone().unwrap_or_default(),
                Some(BootstrapToken::parse(token)?),
                tls_bootstrap_token,
                trust,
                a.node_name.clone().or(j.node_name.clone()),
            )
        }
        None => {
            let token = token::resolve_token(a.token.as_ref().map(SecretArg::expose), a.token_file.as_deref())?;
            let pins = PinSet::parse_all(&a.pins)?;
            let trust = if a.unsafe_skip { Some(Trust::UnsafeSkip) } else { pins.map(Trust::Pinned) };
            (a.endpoint.clone().unwrap_or_default(), token, None, trust, a.node_name.clone())
        }
    };
    Ok(joinkit_core::bootstrap::BootstrapOptions {
        discovery: Options {
            source: Source::Endpoint(Endpoint::parse(&endpoint)?),
            token,
            trust,
            connect_timeout: a.connect_timeout,
            timeout: a.request_timeout,
            wait: None,
            max_clock_skew: Duration::from_secs(300),
            tls_bootstrap_token,
            verbose_attempts: false,
        },
        node_name: node.unwrap_or_else(hostname),
        csr_timeout: a.timeout.unwrap_or(Duration::from_secs(60)),
        keep_csr: a.keep_csr,
        write_dir: a.write_dir.clone(),
        admin: a.kubeconfig.as_ref().map(|k| joinkit_core::client::api::ApiOptions {
            kubeconfig: Some(k.clone()),
            context: a.context.clone(),
            timeout: Some(a.request_timeout),
        }),
    })
}

/// `joinkit bootstrap`.
pub fn bootstrap(a: BootstrapArgs) -> i32 {
    let opts = match bootstrap_options(&a) {
        Ok(o) => o,
        Err(f) => {
            let mut r = Report::new("bootstrap");
            r.fail(f);
            return finish(&r, a.output);
        }
    };
    let mut report = block_on(joinkit_core::bootstrap::run(&opts));
    if report.ok() {
        report.line(format!(
            "OK: the control plane trusts this node: a kubelet CSR for system:node:{} was approved and issued{}.",
            opts.node_name,
            if opts.write_dir.is_some() { " and the join's files were written" } else { " (dry run: cleaned up)" }
        ));
    }
    finish(&report, a.output)
}

/// `joinkit diagnose`.
pub fn diagnose(a: DiagnoseArgs) -> i32 {
    let b = &a.bootstrap;
    let mut opts = match bootstrap_options(b) {
        Ok(o) => o,
        Err(f) => {
            let mut r = Report::new("diagnose");
            r.fail(f);
            return finish(&r, b.output);
        }
    };
    if b.timeout.is_none() {
        // diagnose waits less for the CSR than a bootstrap run: its own --diagnose-timeout bounds
        // all. An explicit --timeout (even 60s) is kept as given.
        opts.csr_timeout = (a.diagnose_timeout / 2).min(Duration::from_secs(15));
    }
    // Nothing admin-side may outlast the whole run: an exec credential plugin's timeout is the
    // request timeout, capped at --diagnose-timeout.
    if let Some(admin) = opts.admin.as_mut() {
        admin.timeout = Some(admin.timeout.unwrap_or(b.request_timeout).min(a.diagnose_timeout));
    }
    let cri = a.cri_socket.clone().or_else(|| {
        b.config
            .as_ref()
            .and_then(|p| config::read_config(p).ok())
            .and_then(|t| config::check_text("c", &t).join.and_then(|j| j.0.cri_socket))
    });
    let d = joinkit_core::diagnose::node::DiagnoseOptions {
        admin: opts.admin.clone(),
        bootstrap: opts,
        certificate_key: if a.control_plane || a.certificate_key.is_some() {
            a.certificate_key.as_ref().map(|k| secrecy::SecretString::from(k.expose().to_string()))
        } else {
            None
        },
        root: a.root.clone(),
        cri_socket: cri,
        timeout: a.diagnose_timeout,
    };
    let report = block_on(joinkit_core::diagnose::node::run(&d));
    finish(&report, b.output)
}
