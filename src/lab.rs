//! `joinkit lab` and `joinkit lab demo` (default feature `lab`): run the joinkit-lab model of an
//! API server on loopback, and verify discovery against it healthy and with a fault.

use crate::cli::{LabArgs, LabCommand};
use crate::runtime::{block_on, runtime};
use joinkit_core::discovery::{self, Options, Source, Trust};
use joinkit_core::endpoint::Endpoint;
use joinkit_core::error::{Code, Failure};
use joinkit_core::pin::PinSet;
use joinkit_core::report::Format;
use joinkit_core::token;
use joinkit_lab::{Lab, LabOptions, Scenario};
use std::time::Duration;

/// `joinkit lab`.
pub fn lab(a: LabArgs) -> i32 {
    match a.command {
        Some(LabCommand::Demo { scenario, out }) => return lab_demo(scenario, out.output),
        Some(LabCommand::Scenarios) => {
            for (_, name, help) in Scenario::ALL {
                println!("{name:<22} {help}");
            }
            return 0;
        }
        None => {}
    }
    let token = match a.token_file.as_deref().map(|p| token::resolve_token(None, Some(p))).transpose() {
        Ok(t) => t.flatten(),
        Err(f) => {
            eprintln!("joinkit lab: {}: {}", f.code, f.message);
            return f.exit_code();
        }
    };
    if let Err(f) = check_listen(a.listen) {
        let mut r = joinkit_core::report::Report::new("lab");
        r.fail(f);
        eprint!("{}", r.to_text(false));
        return r.exit_code().max(1);
    }
    let opts = LabOptions {
        listen: a.listen,
        ca_key: a.ca_key,
        scenario: a.scenario,
        token,
        control_plane_endpoint: a.control_plane_endpoint,
        on_issue: Some(|name, ns| println!("joinkit lab: issued the certificate of CSR {name} at {ns} (Unix ns)")),
    };
    let lab = match Lab::start(opts) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("joinkit lab: {e}");
            return 1;
        }
    };
    let info = &lab.info;
    if let Some(p) = &a.write_json {
        let json = serde_json::to_string_pretty(info).unwrap_or_default();
        if let Err(e) = joinkit_core::fsutil::write_private(p, json.as_bytes()) {
            eprintln!("joinkit lab: {e}");
            return Code::OutputUnwritable.exit_code();
        }
    }
    if let Some(p) = &a.write_kubeconfig {
        if let Err(e) = joinkit_core::fsutil::write_private(p, info.admin_kubeconfig.as_bytes()) {
            eprintln!("joinkit lab: {e}");
            return Code::OutputUnwritable.exit_code();
        }
    }
    if let Some(p) = &a.write_ca {
        if let Err(e) = joinkit_core::fsutil::write_private(p, info.ca_cert_pem.as_bytes()) {
            eprintln!("joinkit lab: {e}");
            return Code::OutputUnwritable.exit_code();
        }
    }
    println!("joinkit lab: simulated kube-apiserver on https://{} (scenario {})", info.endpoint, info.scenario.name());
    println!("  endpoint:   {}", info.endpoint);
    println!("  API server: {}", info.api_server);
    println!("  token:      {}", info.token);
    println!("  CA pin:     {}", info.ca_pin);
    println!(
        "try:\n  JOINKIT_TOKEN={} joinkit verify-discovery {} --discovery-token-ca-cert-hash {}",
        info.token, info.endpoint, info.ca_pin
    );
    println!("stop with Ctrl-C");
    use std::io::Write;
    let _ = std::io::stdout().flush();
    block_on(async {
        let stop = async {
            match a.exit_after {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = crate::runtime::terminated() => {},
            _ = stop => {},
        }
    });
    lab.stop();
    0
}

/// Checks that the lab can listen on `addr` before it builds its PKI: a loopback address whose
/// port is free (or 0, a free port the kernel picks). A taken port, a port the user may not bind
/// or a non-loopback address is the user's input, so a usage failure (exit 2, stage `input`)
/// naming `--listen`, not an internal error. The probe listener is closed at once (std sets
/// SO_REUSEADDR, so the lab binds the same port right after).
fn check_listen(addr: std::net::SocketAddr) -> Result<(), Failure> {
    use joinkit_core::report::Common;
    let usage = |message: String| Failure::new(Code::Usage, Common::Input, message);
    if !addr.ip().is_loopback() {
        return Err(usage(format!("--listen {addr}: the lab listens on loopback only"))
            .cause("the address is not in 127.0.0.0/8 or ::1")
            .fix("use --listen 127.0.0.1:PORT, or omit --listen for a free port on 127.0.0.1"));
    }
    if addr.port() == 0 {
        return Ok(());
    }
    match std::net::TcpListener::bind(addr) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            Err(usage(format!("--listen {addr}: the port is already in use ({e})"))
                .cause("another process (a local kube-apiserver, another lab) listens on that port")
                .fix(
                    "omit --listen (a free port is picked and printed) or give a free port, e.g. --listen 127.0.0.1:0",
                ))
        }
        Err(e) => Err(usage(format!("--listen {addr}: cannot listen there ({e})"))
            .cause("ports below 1024 need privileges; the address may not exist on this host")
            .fix("omit --listen (a free port is picked and printed) or give another port")),
    }
}

/// Runs discovery against a lab: the options the demo, tests and benchmarks use.
pub fn discovery_against(lab: &Lab) -> Options {
    Options {
        source: Source::Endpoint(Endpoint::parse(lab.endpoint()).expect("the lab's endpoint parses")),
        token: Some(lab.token()),
        trust: Some(Trust::Pinned(
            PinSet::parse_all(std::slice::from_ref(&lab.info.ca_pin)).ok().flatten().expect("the lab's pin parses"),
        )),
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(15),
        wait: None,
        max_clock_skew: Duration::from_secs(300),
        tls_bootstrap_token: None,
        verbose_attempts: false,
    }
}

fn lab_demo(scenario: Scenario, output: Format) -> i32 {
    let rt = runtime();
    let mut reports = Vec::new();
    for (title, sc) in [("healthy lab", Scenario::Healthy), ("lab with a fault", scenario)] {
        let opts = LabOptions { scenario: sc, ..LabOptions::default() };
        let lab = match Lab::start(opts) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("joinkit lab demo: {e}");
                return 1;
            }
        };
        let report = rt.block_on(discovery::run(&discovery_against(&lab)));
        if output == Format::Text {
            println!(
                "=== joinkit verify-discovery {} --discovery-token-ca-cert-hash {} ({title}: scenario {})",
                lab.info.endpoint,
                lab.info.ca_pin,
                sc.name()
            );
            print!("{}", report.to_text(false));
            println!();
        }
        reports.push((sc, report));
        lab.stop();
    }
    let as_expected = reports[0].1.ok() && (scenario == Scenario::Healthy || !reports[1].1.ok());
    match output {
        Format::Text => println!(
            "demo {}: the healthy run {} and the {} run {}",
            if as_expected { "passed" } else { "FAILED" },
            if reports[0].1.ok() { "passed" } else { "failed" },
            scenario.name(),
            reports[1].1.code().map(|c| format!("failed with {c}")).unwrap_or_else(|| "passed".into())
        ),
        f => {
            let v: Vec<serde_json::Value> = reports
                .iter()
                .map(|(sc, r)| {
                    let mut v = serde_json::to_value(r).unwrap_or_default();
                    v["scenario"] = serde_json::json!(sc.name());
                    v
                })
                .collect();
            let all = serde_json::json!({"ok": as_expected, "runs": v});
            if f == Format::Json {
                println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default());
            } else {
                print!("{}", serde_saphyr::to_string(&all).unwrap_or_default());
            }
        }
    }
    if as_expected {
        0
    } else {
        1
    }
}
