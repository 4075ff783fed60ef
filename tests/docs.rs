//! The documentation agrees with the code: the exit-code table, the man pages, completions,
//! and every command, failure code and lab scenario is described in README.md.

mod common;
use common::run;
use joinkit::error::{exit_code_table_markdown, Code};

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

#[test]
fn readme_has_the_exit_code_table() {
    assert!(
        readme().contains(&exit_code_table_markdown()),
        "README.md's exit-code table is stale; paste joinkit::error::exit_code_table_markdown()"
    );
    // Codes and exit codes are unique per name; ranges are as documented.
    let mut names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), Code::ALL.len());
    for c in Code::ALL {
        assert_eq!(Code::from_name(c.as_str()), Some(*c));
        assert!((1..=99).contains(&c.exit_code()));
    }
}

#[test]
fn man_pages_are_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(&["generate-man", dir.path().to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let checked_in = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let mut generated: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    generated.sort();
    let mut have: Vec<_> = std::fs::read_dir(&checked_in)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    have.sort();
    assert_eq!(
        generated, have,
        "man/ has other pages than generated; run `cargo run -- generate-man man`"
    );
    for f in generated {
        let a = std::fs::read(dir.path().join(&f)).unwrap();
        let b = std::fs::read(checked_in.join(&f)).unwrap();
        assert!(
            a == b,
            "man/{} is stale; run `cargo run -- generate-man man`",
            f.to_string_lossy()
        );
    }
    let main = std::fs::read_to_string(checked_in.join("joinkit.1")).unwrap();
    assert!(
        main.contains("jws\\-missing") || main.contains("jws-missing"),
        "exit codes in joinkit(1)"
    );
}

#[test]
fn completions_and_help() {
    for shell in ["bash", "zsh", "fish"] {
        let r = run(&["completions", shell]);
        assert_eq!(r.code, 0);
        assert!(
            r.stdout.contains("verify-discovery") && r.stdout.contains("ca-hash"),
            "{shell}"
        );
    }
    let r = run(&["--help"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("EXIT CODES"));
    assert_eq!(run(&["--version"]).code, 0);
    assert_eq!(run(&["completions", "nosuchshell"]).code, 2);
}

#[test]
fn readme_covers_commands_codes_and_scenarios() {
    let text = readme();
    for cmd in [
        "joinkit ca-hash",
        "joinkit verify-discovery",
        "joinkit lab",
        "joinkit lab demo",
        "joinkit completions",
    ] {
        assert!(text.contains(cmd), "{cmd}");
    }
    for c in Code::ALL {
        assert!(
            text.contains(&format!("`{}`", c.as_str())),
            "{}",
            c.as_str()
        );
    }
    use clap::ValueEnum;
    for s in joinkit::lab::Scenario::value_variants() {
        assert!(
            text.contains(&format!("`{}`", s.name())),
            "scenario {}",
            s.name()
        );
    }
    for flag in [
        "--discovery-token-ca-cert-hash",
        "--discovery-token-unsafe-skip-ca-verification",
        "--token-file",
        "JOINKIT_TOKEN",
        "--cluster-info-file",
        "--discovery-file",
        "--wait",
        "--connect-timeout",
        "--timeout",
        "--max-clock-skew",
        "--kubeconfig",
        "--cluster",
    ] {
        assert!(text.contains(flag), "{flag}");
    }
}

#[test]
fn examples_and_testcerts() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("examples/verify-before-join.sh");
    let out = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The exit codes the example branches on are the documented ones.
    let text = std::fs::read_to_string(&script).unwrap();
    for c in [
        Code::JwsMissing,
        Code::JwsEmpty,
        Code::PinMismatch,
        Code::TlsVerifyFailed,
        Code::DnsFailure,
        Code::RequestTimeout,
    ] {
        assert!(text.contains(&c.exit_code().to_string()), "{c}");
    }
    // testcerts/README.md's pins are right.
    let readme = std::fs::read_to_string(root.join("testcerts/README.md")).unwrap();
    for line in readme
        .lines()
        .filter(|l| l.contains(".crt |") || l.contains(".pem |"))
    {
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        let r = run(&[
            "ca-hash",
            root.join("testcerts").join(cols[1]).to_str().unwrap(),
        ]);
        let want: Vec<&str> = cols[3].split(", ").collect();
        assert_eq!(r.stdout.lines().collect::<Vec<_>>(), want, "{}", cols[1]);
    }
}
