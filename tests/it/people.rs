//! For people at a terminal and newcomers: `joinkit lab` picks a free port and a taken one is
//! a usage error; help and man pages are short, have examples and point only at what exists;
//! progress on stderr never reaches a pipe.

use crate::common::{bin, run};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Kills the child when dropped (a failed assertion must not leave a lab running).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn lab_without_listen_picks_a_free_port_and_prints_it() {
    let child = Command::new(bin())
        .arg("lab")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Killed(child);
    let out = BufReader::new(child.0.stdout.take().unwrap());
    let mut endpoint = None;
    for line in out.lines() {
        let line = line.unwrap();
        if let Some(e) = line.trim().strip_prefix("endpoint:") {
            endpoint = Some(e.trim().to_string());
            break;
        }
    }
    let endpoint = endpoint.expect("the lab prints its endpoint");
    let port: u16 = endpoint.rsplit(':').next().unwrap().parse().unwrap();
    assert_ne!(port, 0, "{endpoint}");
    // It listens there.
    std::net::TcpStream::connect(("127.0.0.1", port)).expect("the printed port accepts connections");
}

#[test]
fn lab_on_a_taken_port_is_a_usage_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let r = run(&["lab", "--listen", &addr, "--exit-after", "1s"]);
    assert_eq!(r.code, 2, "usage exit code; stderr:\n{}", r.stderr);
    assert!(r.stderr.contains("usage"), "{}", r.stderr);
    assert!(r.stderr.contains(&addr) && r.stderr.contains("already in use"), "{}", r.stderr);
    assert!(r.stderr.contains("--listen"), "the fix names the flag: {}", r.stderr);
    assert!(!r.stderr.contains("internal"), "{}", r.stderr);
    let r = run(&["lab", "--listen", "10.0.0.1:6443", "--exit-after", "1s"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("loopback only"), "{}", r.stderr);
}
