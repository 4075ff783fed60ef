//! Shared test helpers: run the binary, read vectors, talk HTTPS to the lab.
#![allow(dead_code)]

use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_joinkit")
}

/// The golden vectors (a copy of shared/vectors with its README's provenance note).
pub fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }
}

fn finish(o: Output) -> Run {
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Runs joinkit with `args`, extra environment and optional stdin. JOINKIT_TOKEN is cleared
/// unless given in `env`.
pub fn run_with(args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Run {
    let mut c = Command::new(bin());
    c.args(args).env_remove("JOINKIT_TOKEN").env_remove("JOINKIT_TLS_BOOTSTRAP_TOKEN").env("NO_COLOR", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    c.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() }).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn joinkit");
    if let Some(data) = stdin {
        child.stdin.take().unwrap().write_all(data).unwrap();
    }
    finish(child.wait_with_output().unwrap())
}

pub fn run(args: &[&str]) -> Run {
    run_with(args, &[], None)
}

/// Runs joinkit inside a fresh network namespace (`unshare -n`: only a loopback interface, and
/// it is down), so nothing it does can reach any network.
pub fn run_isolated(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut c = Command::new("unshare");
    c.arg("-n").arg(bin()).args(args).env_remove("JOINKIT_TOKEN").env("NO_COLOR", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    finish(
        c.stdin(Stdio::null())
            .output()
            .expect("unshare is available (util-linux) and we may create a network namespace"),
    )
}

/// Asserts a failed JSON report: ok=false, the code, the stage, the exit code, and that
/// message/cause/fix are filled in.
pub fn assert_failure(r: &Run, code: &str, stage: &str, exit: i32) -> Value {
    let v = r.json();
    assert_eq!(v["ok"], false, "{}", r.stdout);
    let f = &v["failure"];
    assert_eq!(f["code"], code, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(f["stage"], stage, "{}", r.stdout);
    assert_eq!(f["exitCode"], exit, "{}", r.stdout);
    assert_eq!(r.code, exit, "process exit code; stdout {}", r.stdout);
    for k in ["message", "cause", "fix"] {
        assert!(f[k].as_str().is_some_and(|s| !s.is_empty()), "failure.{k} empty: {}", r.stdout);
    }
    // The failing stage is in the stage list with status fail.
    let stages = v["stages"].as_array().unwrap();
    assert!(stages.iter().any(|s| s["name"] == stage && s["status"] == "fail"), "{}", r.stdout);
    v
}

/// A minimal HTTPS client that verifies the lab's certificate against its CA.
pub struct Http {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Http {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

pub fn https(
    endpoint: &str,
    ca_pem: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Http {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;
    use rustls::pki_types::ServerName;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let cfg = client_tls_config(ca_pem);
        let tcp = tokio::net::TcpStream::connect(endpoint).await.unwrap();
        let host = endpoint.rsplit_once(':').unwrap().0.trim_matches(|c| c == '[' || c == ']').to_string();
        let name = ServerName::try_from(host).unwrap();
        let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(cfg)).connect(name, tcp).await.unwrap();
        let (mut send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls)).await.unwrap();
        tokio::spawn(conn);
        let mut req = hyper::Request::builder().method(method).uri(path).header("host", endpoint);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp =
            send.send_request(req.body(Full::new(Bytes::from(body.unwrap_or("").to_string()))).unwrap()).await.unwrap();
        let status = resp.status().as_u16();
        let headers =
            resp.headers().iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string())).collect();
        let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
        Http { status, headers, body }
    })
}

/// Starts a lab with a scenario and an ECDSA CA (fast).
pub fn lab(scenario: joinkit_lab::Scenario) -> joinkit_lab::Lab {
    joinkit_lab::Lab::start(joinkit_lab::LabOptions { scenario, ..Default::default() }).expect("lab starts")
}

/// `verify-discovery` against a lab with its token (from the environment) and pin, JSON out.
pub fn verify(lab: &joinkit_lab::Lab, extra: &[&str]) -> Run {
    let mut args =
        vec!["verify-discovery", lab.endpoint(), "--discovery-token-ca-cert-hash", &lab.info.ca_pin, "-o", "json"];
    args.extend_from_slice(extra);
    run_with(&args, &[("JOINKIT_TOKEN", &lab.info.token)], None)
}

/// Optional external tools: required when CI is set (.ci/run installs them), else skipped.
pub fn tool(name: &str) -> Option<PathBuf> {
    let found =
        std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|p| p.exists()));
    if found.is_none() {
        assert!(std::env::var_os("CI").is_none(), "{name} is required in CI (.ci/run installs it)");
        eprintln!("skipping the {name} check: {name} is not installed");
    }
    found
}

/// A run of joinkit bounded in time (killed after `secs`) and address space (1 GiB, so that a
/// regression cannot take the machine down), with its peak RSS from `wait4`.
pub struct Bounded {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub wall: std::time::Duration,
    pub max_rss_kib: i64,
}

// The child is reaped with wait4 (for its rusage), which clippy cannot see.
#[allow(clippy::zombie_processes)]
pub fn run_bounded(args: &[&str], secs: u64) -> Bounded {
    use std::io::Read;
    // Peak RSS comes from GNU time (`%M`) about a process *it* forked: wait4's ru_maxrss of a
    // child of this test process would include this process's own high-water mark, recorded at
    // the child's exec (and this one binary runs every test). prlimit caps the address space.
    let rss_dir = tempfile::tempdir().unwrap();
    let rss_file = rss_dir.path().join("rss");
    let mut c = std::process::Command::new("/usr/bin/time");
    use std::os::unix::process::CommandExt;
    c.arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss_file)
        .arg("/usr/bin/prlimit")
        .arg("--as=1073741824")
        .arg("--")
        .arg(bin())
        .args(args)
        .process_group(0)
        .env("NO_COLOR", "1")
        .env_remove("JOINKIT_TOKEN")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let start = std::time::Instant::now();
    let mut child = c.spawn().expect("spawn joinkit");
    let pid = child.id() as libc::pid_t;
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let mut status = 0;
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let deadline = start + std::time::Duration::from_secs(secs);
    loop {
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut ru) };
        if r == pid {
            break;
        }
        if std::time::Instant::now() > deadline {
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
            let wall = start.elapsed();
            panic!("joinkit {args:?} did not finish within {secs} s ({wall:?}): a hang");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let wall = start.elapsed();
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    let max_rss_kib = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|t| t.lines().last().and_then(|l| l.trim().parse().ok()))
        .unwrap_or(ru.ru_maxrss);
    Bounded { code, stdout: t_out.join().unwrap(), stderr: t_err.join().unwrap(), wall, max_rss_kib }
}

/// A PEM PKCS#10 request as the kubelet makes its serving one: a new ECDSA P-256 key
/// (client-go's certificate manager generates one per request), subject O values then CN, and
/// `DNS:name` / `IP:addr` SANs.
pub fn kubelet_csr_pem(cn: &str, orgs: &[&str], sans: &[&str]) -> String {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    for o in orgs {
        dn.push(rcgen::DnType::OrganizationName, *o);
    }
    dn.push(rcgen::DnType::CommonName, cn);
    params.distinguished_name = dn;
    for s in sans {
        params.subject_alt_names.push(match s.split_once(':').unwrap() {
            ("DNS", v) => rcgen::SanType::DnsName(v.try_into().unwrap()),
            (_, v) => rcgen::SanType::IpAddress(v.parse().unwrap()),
        });
    }
    params.serialize_request(&key).unwrap().pem().unwrap()
}

/// A client TLS configuration trusting only the CA in `ca_pem` (its first certificate), with
/// joinkit's crypto provider and no client certificate.
pub fn client_tls_config(ca_pem: &str) -> rustls::ClientConfig {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap()).unwrap();
    rustls::ClientConfig::builder_with_provider(joinkit_core::client::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}
