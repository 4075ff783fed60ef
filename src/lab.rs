//! `joinkit lab` and `joinkit lab demo` (default feature `lab`): run the joinkit-lab model of an
//! API server on loopback, and verify discovery against it healthy and with a fault.

use crate::cli::{LabArgs, LabCommand};
use crate::runtime::{block_on, runtime};
use joinkit_core::discovery::{self, Options, Source, Trust};
use joinkit_core::endpoint::Endpoint;
use joinkit_core::error::Code;
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
