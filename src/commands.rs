//! The commands: parse argv ([`crate::cli`]), convert each command's arguments to the library's
//! options, run the library and hand the [`Outcome`] to [`crate::output::emit`], the one place
//! that prints and picks the exit code. Logic lives in joinkit-core; this is glue.

use crate::cli::{CaHashArgs, Cli, Command, MigrateConfigArgs, OutputArg, TokenCommand};
use crate::output::{emit, Outcome};
use joinkit_core::config::{self, derive};
use joinkit_core::discovery;
use joinkit_core::error::{Code, Failure};
use joinkit_core::kubeconfig::Kubeconfig;
use joinkit_core::pin;
use joinkit_core::report::{Common, Report};
use joinkit_core::token::create::{self as token_create, TokenStage};
use joinkit_core::token::{manage, BootstrapToken};
use std::path::Path;

/// A current-thread tokio runtime (the CLI runs one future at a time).
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

/// Parses argv, runs the command, prints its outcome; returns the process exit code.
pub fn main() -> i32 {
    match crate::cli::parse() {
        Ok((cli, warnings)) => {
            for w in warnings {
                eprintln!("{w}");
            }
            emit(run(cli))
        }
        Err(e) => {
            let _ = e.print();
            if e.use_stderr() {
                2
            } else {
                0
            }
        }
    }
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Outcome {
    match cli.command {
        Command::CaHash(a) => ca_hash(&a),
        Command::VerifyDiscovery(a) => match a.options() {
            Ok(o) => Outcome::Report(block_on(discovery::run(&o)), a.out.output),
            Err(f) => {
                let mut r = Report::new("verify-discovery");
                r.fail(f);
                r.skip_rest(discovery::NETWORK_STAGES);
                Outcome::Report(r, a.out.output)
            }
        },
        Command::RenderConfig(a) => {
            let r = derive::render(&a.options());
            match r.result {
                Ok(text) => {
                    Outcome::Document { notes: r.notes, report: Report::new("render-config"), text, to: a.output }
                }
                Err(f) => Outcome::Refused { notes: r.notes, report: failed("render-config", f), hint: None },
            }
        }
        Command::ValidateConfig(a) => {
            let report = match config::check_files(&a.files) {
                Ok(results) => config::report_for("validate-config", &results),
                Err(f) => failed("validate-config", f),
            };
            Outcome::Report(report, a.out.output)
        }
        Command::MigrateConfig(a) => migrate_config(&a),
        Command::Bootstrap(a) => {
            let report = match a.options() {
                Ok(o) => {
                    let mut r = block_on(joinkit_core::bootstrap::run(&o));
                    if r.ok() {
                        r.line(format!(
                            "OK: the control plane trusts this node: a kubelet CSR for system:node:{} was approved and issued{}.",
                            o.node_name,
                            if o.write_dir.is_some() { " and the join's files were written" } else { " (dry run: cleaned up)" }
                        ));
                    }
                    r
                }
                Err(f) => failed("bootstrap", f),
            };
            Outcome::Report(report, a.out.output)
        }
        Command::Diagnose(a) => {
            let report = match a.options() {
                Ok(o) => block_on(joinkit_core::diagnose::node::run(&o)),
                Err(f) => failed("diagnose", f),
            };
            Outcome::Report(report, a.bootstrap.out.output)
        }
        Command::ExplainLog { files, out } => {
            Outcome::Report(joinkit_core::diagnose::explain::explain(&files), out.output)
        }
        Command::Token(t) => token(t),
        #[cfg(feature = "lab")]
        Command::Lab(a) => Outcome::Done(crate::lab::lab(a)),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut crate::cli::command(), "joinkit", &mut std::io::stdout());
            Outcome::Done(0)
        }
        Command::GenerateMan { dir } => match generate_man(&dir) {
            Ok(()) => Outcome::Done(0),
            Err(e) => {
                eprintln!("joinkit: {e}");
                Outcome::Done(3)
            }
        },
    }
}

/// A report for `command` that failed with `f` before running.
fn failed(command: &str, f: Failure) -> Report {
    let mut r = Report::new(command);
    r.fail(f);
    r
}

/// `joinkit ca-hash`: the pins in text (stdout, one a line), the report in json/yaml.
fn ca_hash(a: &CaHashArgs) -> Outcome {
    let mut report = Report::new("ca-hash");
    let certs = match collect_certs(a, &mut report) {
        Ok(c) => c,
        Err(f) => {
            report.fail(f);
            return Outcome::Product(report, a.out.output, String::new());
        }
    };
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
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
    let pins: String = certs.iter().map(|(_, c)| format!("{}\n", c.pin)).collect();
    Outcome::Product(report, a.out.output, pins)
}

/// The certificates of ca-hash's inputs, in order, each with its source's name.
fn collect_certs(a: &CaHashArgs, report: &mut Report) -> Result<Vec<(String, pin::CertInfo)>, Failure> {
    report.start();
    if a.files.is_empty() && a.kubeconfig.is_none() {
        return Err(Failure::new(Code::Usage, Common::Input, "expected at least one FILE, `-` or --kubeconfig; got none")
            .cause("nothing to hash")
            .fix("e.g. `joinkit ca-hash /etc/kubernetes/pki/ca.crt` or `joinkit ca-hash --kubeconfig /etc/kubernetes/admin.conf`"));
    }
    let mut out = Vec::new();
    let mut stdin_used = false;
    for f in &a.files {
        if f.as_os_str() == "-" && std::mem::replace(&mut stdin_used, true) {
            return Err(Failure::new(Code::Usage, Common::Input, "`-` (standard input) given twice")
                .cause("stdin can be read once")
                .fix("pass `-` once"));
        }
        let name = f.display().to_string();
        let data = joinkit_core::fsutil::read_path_or_stdin(f, joinkit_core::fsutil::MAX_INPUT_FILE).map_err(|e| {
            Failure::new(Code::InputUnreadable, Common::Read, e.to_string())
                .cause("the path is wrong, not readable by this user, not a regular file, or too large")
                .fix("check the path and permissions (the CA is /etc/kubernetes/pki/ca.crt on a control-plane node)")
        })?;
        for der in pin::read_certificates(&data, &name)? {
            out.push((name.clone(), pin::inspect(der.as_ref(), &name)?));
        }
    }
    if let Some(k) = &a.kubeconfig {
        let name = k.display().to_string();
        let read = |code, e: String, cause: &str, fix: &str| Failure::new(code, Common::Read, e).cause(cause).fix(fix);
        let kc = Kubeconfig::load(k).map_err(|e| {
            let fix = "pass an admin kubeconfig such as /etc/kubernetes/admin.conf";
            read(
                Code::BadInputFile,
                format!("expected a kubeconfig; {e}"),
                "the file is not a readable kubeconfig",
                fix,
            )
        })?;
        let cluster = kc.cluster(a.cluster.as_deref()).map_err(|e| {
            read(
                Code::BadInputFile,
                format!("{name}: {e}"),
                "the kubeconfig has no such cluster",
                "name one with --cluster",
            )
        })?;
        let what = format!("{name} (cluster {:?})", cluster.name);
        let ca = kc
            .ca_bytes(&cluster.cluster)
            .map_err(|e| {
                let cause = "the CA data or file cannot be read";
                read(Code::InputUnreadable, format!("{what}: {e}"), cause, "check certificate-authority(-data)")
            })?
            .ok_or_else(|| {
                let e = format!("{what}: the cluster has neither certificate-authority-data nor certificate-authority");
                let cause = "the kubeconfig trusts the system roots or skips verification";
                read(Code::NoCertificate, e, cause, "pass the CA file itself")
            })?;
        for der in pin::read_certificates(&ca, &what)? {
            out.push((what.clone(), pin::inspect(der.as_ref(), &what)?));
        }
    }
    report.pass(Common::Read, format!("{} certificate(s)", out.len()));
    Ok(out)
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
        let c = sub.clone().name(name.clone()).after_long_help(joinkit_core::error::exit_code_table_text());
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

/// `joinkit migrate-config`: the v1beta4 document, its notes on stderr; refused with errors.
fn migrate_config(a: &MigrateConfigArgs) -> Outcome {
    let name = a.file.display().to_string();
    let text = match config::read_config(&a.file) {
        Ok(t) => t,
        Err(f) => return Outcome::refused("migrate-config", f),
    };
    match config::migrate_text(&name, &text) {
        Ok(config::Migrated { text, notes }) => Outcome::Document {
            notes: notes.into_iter().map(|n| format!("note: {n}")).collect(),
            report: Report::new("migrate-config"),
            text,
            to: a.output.clone(),
        },
        Err(config::MigrateError::Internal(f)) => Outcome::refused("migrate-config", f),
        Err(config::MigrateError::Invalid(result)) => Outcome::Refused {
            notes: Vec::new(),
            report: config::report_for("migrate-config", &[(name, *result)]),
            hint: Some("migrate-config: fix the errors first; nothing was written"),
        },
    }
}

/// `joinkit token ...`.
fn token(t: TokenCommand) -> Outcome {
    match t {
        TokenCommand::Generate => Outcome::Product(
            Report::new("token generate"),
            Default::default(),
            format!("{}\n", BootstrapToken::generate().expose()),
        ),
        TokenCommand::Create(a) => match a.options() {
            Ok(o) => {
                let (report, printed) = block_on(token_create::create(&o));
                Outcome::Product(report, a.out.output, printed)
            }
            Err(f) => Outcome::refused("token create", f),
        },
        TokenCommand::List { show_secrets, out: OutputArg { output }, api } => {
            let mut report = Report::new("token list");
            let mut table = String::new();
            block_on(async {
                let Some(client) = token_create::connect(&api.options(), &mut report).await else { return };
                report.start();
                match manage::list(&client, show_secrets).await {
                    Ok((tokens, warnings)) => {
                        for w in warnings {
                            report.warn(TokenStage::List, w);
                        }
                        report.pass(TokenStage::List, format!("{} bootstrap token(s)", tokens.len()));
                        table = manage::list_table(&tokens);
                        report.set("tokens", &tokens);
                    }
                    Err(f) => report.fail(f),
                }
            });
            Outcome::Product(report, output, table)
        }
        TokenCommand::Describe { id, show_secret, out, api } => {
            let (id, given) = match manage::parse_given(id.expose()) {
                Ok(g) => g,
                Err(f) => return Outcome::refused("token describe", f),
            };
            let mut report = Report::new("token describe");
            block_on(async {
                let Some(client) = token_create::connect(&api.options(), &mut report).await else { return };
                match manage::describe(&client, &id, given.as_ref(), show_secret).await {
                    Ok(mut r) => {
                        r.prepend_stages(&report);
                        report = r;
                    }
                    Err(f) => report.fail(f),
                }
            });
            Outcome::Report(report, out.output)
        }
        TokenCommand::Delete { ids, out, api } => {
            let parsed = match ids.iter().map(|i| manage::parse_id(i.expose())).collect::<Result<Vec<_>, _>>() {
                Ok(p) => p,
                Err(f) => return Outcome::refused("token delete", f),
            };
            let mut report = Report::new("token delete");
            block_on(async {
                let Some(client) = token_create::connect(&api.options(), &mut report).await else { return };
                let mut r = manage::delete(&client, &parsed).await;
                r.prepend_stages(&report);
                report = r;
            });
            Outcome::Report(report, out.output)
        }
    }
}
