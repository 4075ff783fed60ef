//! The commands: parse argv ([`crate::cli`]), convert each command's arguments to the library's
//! options, run the library and hand the [`Outcome`] to [`crate::output::emit`], the one place
//! that prints and picks the exit code. Logic lives in joinkit-core; this is glue.

use crate::cli::{Cli, Command, CsrCommand, MigrateConfigArgs, OutputArg, TokenCommand};
use crate::output::{emit, Outcome};
use crate::runtime::block_on;
use joinkit_core::config::{self, derive};
use joinkit_core::discovery;
use joinkit_core::error::Failure;
use joinkit_core::report::{Format, Report};
use joinkit_core::token::admin as token_admin;
use joinkit_core::token::create as token_create;
use joinkit_core::token::{manage, BootstrapToken};

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
            if !e.use_stderr() {
                return 0;
            }
            // A usage error with `-o json|yaml` on the command line: a script reading stdout
            // gets joinkit's failure object too (clap's text stays on stderr).
            let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
            let command = crate::cli::command_path(&args);
            if let Some(format) = crate::cli::requested_format(&args) {
                let mut report = Report::new(&command);
                report.fail(crate::cli::usage_failure(&e, &command));
                report.print(format);
            }
            2
        }
    }
}

/// Runs one parsed command line.
pub(crate) fn run(cli: Cli) -> Outcome {
    match cli.command {
        Command::CaHash(a) => crate::ca_hash::run(&a),
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
            let (options, note) = match a.options() {
                Ok(o) => o,
                Err(f) => return Outcome::refused("render-config", f, a.out.output),
            };
            let r = derive::render(&options);
            let notes = note.into_iter().chain(r.notes).collect();
            match r.result {
                Ok(text) => Outcome::Document {
                    notes,
                    report: Report::new("render-config"),
                    text,
                    to: a.output_file.clone(),
                    format: a.out.output,
                },
                Err(f) => {
                    Outcome::Refused { notes, report: failed("render-config", f), hint: None, format: a.out.output }
                }
            }
        }
        Command::ValidateConfig(a) => {
            let mut options = match a.options() {
                Ok(o) => o,
                Err(f) => return Outcome::Report(failed("validate-config", f), a.out.output),
            };
            let mut from_imds = None;
            if a.node_role_from_imds {
                let role = joinkit_core::imds::endpoint_from(|k| std::env::var(k).ok())
                    .and_then(|ep| block_on(joinkit_core::imds::node_role(&ep)).map(|r| (ep, r)));
                match role {
                    Ok((ep, r)) => {
                        options.node_role_arn = Some(r.role_arn.clone());
                        from_imds = Some(format!(
                            "node role from the instance metadata service ({}, IMDSv2): {} (instance profile {})",
                            ep.url, r.role_arn, r.instance_profile_arn
                        ));
                    }
                    Err(f) => return Outcome::Report(failed("validate-config", f), a.out.output),
                }
            }
            let mut report = match config::check_files(&a.files, &options) {
                Ok(results) => config::report_for("validate-config", &results),
                Err(f) => failed("validate-config", f),
            };
            if let Some(line) = from_imds {
                report.line(line);
            }
            Outcome::Report(report, a.out.output)
        }
        Command::MigrateConfig(a) => migrate_config(&a),
        Command::Bootstrap(a) => {
            let report = match a.options() {
                Ok(o) => {
                    let mut r = block_on(joinkit_core::bootstrap::run(&o));
                    if r.ok() {
                        let after = match (o.write_dir.is_some(), r.get("csrCleanup").and_then(|v| v.as_str())) {
                            (true, _) => " and the join's files were written",
                            (false, Some("deleted")) => " (dry run: its CSR deleted)",
                            (false, Some("kept")) => " (dry run: --keep-csr kept its CSR on the cluster)",
                            _ => " (dry run: its CSR was left on the cluster, see the cleanup stage)",
                        };
                        r.line(format!(
                            "OK: the control plane trusts this node: a kubelet CSR for system:node:{} was approved and issued{after}.",
                            o.node_name
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
                Ok((o, note)) => {
                    if let Some(n) = note {
                        eprintln!("{n}");
                    }
                    block_on(joinkit_core::diagnose::node::run(&o))
                }
                Err(f) => failed("diagnose", f),
            };
            Outcome::Report(report, a.bootstrap.out.output)
        }
        Command::ExplainLog { files, out } => {
            Outcome::Report(joinkit_core::diagnose::explain::explain(&files), out.output)
        }
        Command::Token(t) => token(t),
        Command::Csr(c) => csr(c),
        #[cfg(feature = "lab")]
        Command::Lab(a) => Outcome::Done(crate::lab::lab(a)),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut crate::cli::command(), "joinkit", &mut script);
            Outcome::Product(Report::new("completions"), Format::Text, String::from_utf8_lossy(&script).into_owned())
        }
        Command::Help { topic } => Outcome::Done(crate::cli::help::help(&topic)),
        Command::GenerateMan { dir } => match crate::cli::help::generate_man(&dir) {
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

/// `joinkit migrate-config`: the v1beta4 document, its notes on stderr; refused with errors.
fn migrate_config(a: &MigrateConfigArgs) -> Outcome {
    let name = a.file.display().to_string();
    let text = match config::read_config(&a.file) {
        Ok(t) => t,
        Err(f) => return Outcome::refused("migrate-config", f, a.out.output),
    };
    match config::migrate_text(&name, &text) {
        Ok(config::Migrated { text, notes }) => Outcome::Document {
            notes: notes.into_iter().map(|n| format!("note: {n}")).collect(),
            report: Report::new("migrate-config"),
            text,
            to: a.output_file.clone(),
            format: a.out.output,
        },
        Err(config::MigrateError::Internal(f)) => Outcome::refused("migrate-config", f, a.out.output),
        Err(config::MigrateError::Invalid(result)) => Outcome::Refused {
            notes: Vec::new(),
            report: config::report_for("migrate-config", &[(name, *result)]),
            hint: Some("migrate-config: fix the errors first; nothing was written"),
            format: a.out.output,
        },
    }
}

/// `joinkit token ...`.
fn token(t: TokenCommand) -> Outcome {
    match t {
        TokenCommand::Generate => Outcome::Product(
            Report::new("token generate"),
            Format::Text,
            format!("{}\n", BootstrapToken::generate().expose()),
        ),
        TokenCommand::Create(a) => match a.options() {
            Ok((o, note)) => {
                if let Some(n) = note {
                    eprintln!("{n}");
                }
                let (report, printed) = block_on(token_create::create(&o));
                match &a.output_file {
                    Some(path) if report.ok() => Outcome::Document {
                        notes: Vec::new(),
                        report,
                        text: printed,
                        to: Some(path.clone()),
                        format: a.out.output,
                    },
                    _ => Outcome::Product(report, a.out.output, printed),
                }
            }
            // Refused before any API call: on stderr in text, as the report with -o json|yaml.
            Err(f) => Outcome::Product(failed("token create", f), a.out.output, String::new()),
        },
        TokenCommand::List { show_secrets, out: OutputArg { output }, api } => {
            let (report, table) = block_on(token_admin::list(&api.options(), show_secrets));
            Outcome::Product(report, output, table)
        }
        TokenCommand::Describe { id, show_secret, out, api } => match manage::parse_given(id.expose()) {
            Ok((id, given)) => Outcome::Report(
                block_on(token_admin::describe(&api.options(), &id, given.as_ref(), show_secret)),
                out.output,
            ),
            Err(f) => Outcome::refused("token describe", f, out.output),
        },
        TokenCommand::Delete { ids, out, api } => {
            match ids.iter().map(|i| manage::parse_id(i.expose())).collect::<Result<Vec<_>, _>>() {
                Ok(ids) => Outcome::Report(block_on(token_admin::delete(&api.options(), &ids)), out.output),
                Err(f) => Outcome::refused("token delete", f, out.output),
            }
        }
    }
}

/// `joinkit csr ...`: one future for every subcommand (one runtime instantiation, boxed, keeps
/// the binary small).
fn csr(c: CsrCommand) -> Outcome {
    use joinkit_core::csr;
    let (command, checks, output, api) = match &c {
        CsrCommand::List { checks, out, api } => ("csr list", checks, out.output, api),
        CsrCommand::Explain { checks, out, api, .. } => ("csr explain", checks, out.output, api),
        CsrCommand::Approve(a) => ("csr approve", &a.checks, a.out.output, &a.api),
        CsrCommand::Deny(a) => ("csr deny", &a.checks, a.out.output, &a.api),
        #[cfg(feature = "approver")]
        CsrCommand::Approver(a) => return approver(a),
    };
    let opts = match checks.options() {
        Ok(o) => o,
        Err(f) => return Outcome::refused(command, f, output),
    };
    let decision = match &c {
        CsrCommand::Approve(a) => Some(csr::Decision::Approve(a.reason.clone())),
        CsrCommand::Deny(a) => match a.reason.clone().filter(|r| !r.trim().is_empty()) {
            Some(r) => Some(csr::Decision::Deny(r)),
            None => {
                return Outcome::refused(
                    command,
                    Failure::new(
                        joinkit_core::error::Code::Usage,
                        joinkit_core::report::Common::Input,
                        "csr deny needs --reason TEXT",
                    )
                    .fix("say why, e.g. --reason 'IP SAN of another node'; it is recorded in the Denied condition"),
                    output,
                )
            }
        },
        _ => None,
    };
    let request = match (&c, decision) {
        (CsrCommand::Explain { name, .. }, _) => csr::Request::Explain(name.clone()),
        (CsrCommand::Approve(a) | CsrCommand::Deny(a), Some(decision)) => {
            csr::Request::Decide { names: a.names.clone(), decision, dry_run: a.dry_run }
        }
        _ => csr::Request::List,
    };
    // One boxed future for every subcommand (one runtime instantiation keeps the binary small).
    let api = api.options();
    let fut: std::pin::Pin<Box<dyn std::future::Future<Output = (Report, String)> + '_>> =
        Box::pin(csr::run(&api, command, &request, &opts));
    let (report, table) = block_on(fut);
    match c {
        CsrCommand::List { .. } => Outcome::Product(report, output, table),
        _ => Outcome::Report(report, output),
    }
}

#[cfg(feature = "approver")]
/// `joinkit csr approver`: connects (kubeconfig or in-cluster), then runs the controller until
/// SIGTERM or Ctrl-C, printing one line (text) or object (json/yaml) per event on stdout.
/// Exit 0 after a clean stop; a failure to start is reported like any command's.
fn approver(a: &crate::cli::csr::ApproverArgs) -> Outcome {
    let command = "csr approver";
    let format = a.out.output;
    let result = block_on(async {
        let (client, namespace) = joinkit_approver::connect(&a.api.options(), &a.serviceaccount_dir).await?;
        for w in &client.warnings {
            eprintln!("warning: {w}");
        }
        let opts = a.options(namespace)?;
        let sink: joinkit_approver::Sink = std::sync::Arc::new(move |e: joinkit_approver::LogEvent| {
            use std::io::Write;
            // Millisecond timestamps (RFC 3339, UTC), as controllers' logs have.
            let t = time::OffsetDateTime::now_utc();
            let now = t
                .replace_nanosecond(t.millisecond() as u32 * 1_000_000)
                .unwrap_or(t)
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            let mut v = serde_json::json!({"time": now});
            if let (Some(m), serde_json::Value::Object(e)) =
                (v.as_object_mut(), serde_json::to_value(&e).unwrap_or_default())
            {
                m.extend(e);
            }
            let line = match format {
                Format::Text => format!("{now} {}", e.text()),
                Format::Json => serde_json::to_string(&v).unwrap_or_default(),
                Format::Yaml => format!("---\n{}", serde_saphyr::to_string(&v).unwrap_or_default().trim_end()),
            };
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        });
        joinkit_approver::run(client, opts, sink, crate::runtime::terminated()).await
    });
    match result {
        Ok(()) => Outcome::Done(0),
        Err(f) => Outcome::Report(failed(command, f), format),
    }
}
