//! The documentation agrees with the code: the exit-code table, the man pages, completions,
//! and every command, failure code and lab scenario is described in README.md.

use crate::common;
use common::run;
use common::tool;
use joinkit_core::error::{exit_code_table_markdown, Code};

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

#[test]
fn readme_has_the_exit_code_table() {
    assert!(
        readme().contains(&exit_code_table_markdown()),
        "README.md's exit-code table is stale; paste joinkit_core::error::exit_code_table_markdown()"
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
    let mut generated: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    generated.sort();
    let mut have: Vec<_> = std::fs::read_dir(&checked_in).unwrap().map(|e| e.unwrap().file_name()).collect();
    have.sort();
    assert_eq!(generated, have, "man/ has other pages than generated; run `cargo run -- generate-man man`");
    for f in generated {
        let a = std::fs::read(dir.path().join(&f)).unwrap();
        let b = std::fs::read(checked_in.join(&f)).unwrap();
        assert!(a == b, "man/{} is stale; run `cargo run -- generate-man man`", f.to_string_lossy());
    }
    let main = std::fs::read_to_string(checked_in.join("joinkit.1")).unwrap();
    assert!(main.contains("jws\\-missing") || main.contains("jws-missing"), "exit codes in joinkit(1)");
}

#[test]
fn completions_and_help() {
    for shell in ["bash", "zsh", "fish"] {
        let r = run(&["completions", shell]);
        assert_eq!(r.code, 0);
        assert!(r.stdout.contains("verify-discovery") && r.stdout.contains("ca-hash"), "{shell}");
    }
    let r = run(&["help", "exit-codes"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("EXIT CODES"));
    assert_eq!(run(&["--version"]).code, 0);
    assert_eq!(run(&["completions", "nosuchshell"]).code, 2);
}

#[test]
fn readme_covers_commands_codes_and_scenarios() {
    let text = readme();
    for cmd in ["joinkit ca-hash", "joinkit verify-discovery", "joinkit lab", "joinkit lab demo", "joinkit completions"]
    {
        assert!(text.contains(cmd), "{cmd}");
    }
    for c in Code::ALL {
        assert!(text.contains(&format!("`{}`", c.as_str())), "{}", c.as_str());
    }
    for (_, name, _) in joinkit_lab::Scenario::ALL {
        assert!(text.contains(&format!("`{name}`")), "scenario {name}");
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
    let out = std::process::Command::new("bash").arg("-n").arg(&script).output().unwrap();
    assert!(out.status.success(), "bash -n: {}", String::from_utf8_lossy(&out.stderr));
    // The example decides by the retry contract (the JSON's failure.retryable), not by a
    // hand-kept list of exit codes, and exits with joinkit's code.
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(text.contains("\"retryable\": true") && text.contains("exit \"$rc\""), "verify-before-join.sh");
    // testcerts/README.md's pins are right.
    let readme = std::fs::read_to_string(root.join("testcerts/README.md")).unwrap();
    for line in readme.lines().filter(|l| l.contains(".crt |") || l.contains(".pem |")) {
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        let r = run(&["ca-hash", root.join("testcerts").join(cols[1]).to_str().unwrap()]);
        let want: Vec<&str> = cols[3].split(", ").collect();
        assert_eq!(r.stdout.lines().collect::<Vec<_>>(), want, "{}", cols[1]);
    }
}

#[test]
fn cloud_init_examples_render_and_validate() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let pin = "sha256:3f73af16fa67a1c9d2dee1f7720918913f78360b0e4e3a27b660a85f5a1266e4";
    type Case<'a> = (&'a str, Vec<&'a str>, Vec<(&'a str, String)>);
    let cases: [Case; 2] = [
        (
            "examples/cloud-init-worker.yaml",
            vec![
                "10.0.0.10:6443",
                "--discovery-token-ca-cert-hash",
                pin,
                "--node-name",
                "worker-1",
                "--kubelet-arg",
                "node-ip=10.0.0.21",
                "--format",
                "cloud-init",
            ],
            vec![("JOINKIT_TOKEN", "abcdef.0123456789abcdef".to_string())],
        ),
        (
            "examples/cloud-init-control-plane.yaml",
            vec![
                "10.0.0.10:6443",
                "--discovery-token-ca-cert-hash",
                pin,
                "--control-plane",
                "--node-name",
                "cp-2",
                "--apiserver-advertise-address",
                "10.0.0.12",
                "--format",
                "cloud-init",
            ],
            vec![
                ("JOINKIT_TOKEN", "abcdef.0123456789abcdef".to_string()),
                ("JOINKIT_CERTIFICATE_KEY", "0f".repeat(32)),
            ],
        ),
    ];
    for (file, args, env) in cases {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        assert!(text.starts_with("#cloud-config\n"), "{file}");
        let body: String = text.lines().filter(|l| !l.starts_with("# ")).map(|l| format!("{l}\n")).collect();
        let mut a = vec!["render-config"];
        a.extend(args);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = common::run_with(&a, &env, None);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(body, r.stdout, "{file} is stale");
        let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("join.yaml");
        std::fs::write(&p, doc["write_files"][0]["content"].as_str().unwrap()).unwrap();
        assert_eq!(run(&["validate-config", p.to_str().unwrap()]).code, 0, "{file}");
        if let Some(ci) = tool("cloud-init") {
            let o = std::process::Command::new(ci).args(["schema", "-c"]).arg(root.join(file)).output().unwrap();
            assert!(o.status.success(), "{file}: {}", String::from_utf8_lossy(&o.stderr));
        }
    }
}

#[test]
fn shell_examples_parse_and_pass_shellcheck() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for f in [
        "examples/join-with-retry.sh",
        "examples/verify-before-join.sh",
        "examples/approve-kubelet-serving.sh",
        "examples/check-config-with-kubeadm.sh",
    ] {
        let o = std::process::Command::new("bash").arg("-n").arg(root.join(f)).output().unwrap();
        assert!(o.status.success(), "{f}: {}", String::from_utf8_lossy(&o.stderr));
        if let Some(sc) = tool("shellcheck") {
            let o = std::process::Command::new(sc).arg(root.join(f)).output().unwrap();
            assert!(o.status.success(), "{f}: {}", String::from_utf8_lossy(&o.stdout));
        }
    }
    // The retry script: the retry contract, a read-only diagnose, kubeadm gets a config file
    // (never the token in argv); tests/it/scripts.rs runs both scripts on real control planes.
    let s = std::fs::read_to_string(root.join("examples/join-with-retry.sh")).unwrap();
    assert!(
        s.contains("reset -f")
            && s.contains("joinkit diagnose --config \"$config\" --no-csr")
            && s.contains("joinkit explain-log")
            && s.contains("render-config")
            && s.contains("\"retryable\": true")
    );
    for f in ["examples/join-with-retry.sh", "examples/verify-before-join.sh"] {
        let t = std::fs::read_to_string(root.join(f)).unwrap();
        assert!(!t.lines().any(|l| !l.trim_start().starts_with('#') && l.contains("--token ")), "{f}: a token in argv");
    }
}

#[test]
fn every_environment_variable_is_documented() {
    // Every environment variable any argument of any command reads, from the clap definitions
    // themselves (shared groups, and the variables render-config adds to them, included).
    fn walk(cmd: &clap::Command, vars: &mut std::collections::BTreeSet<String>) {
        for a in cmd.get_arguments() {
            if let Some(v) = a.get_env() {
                vars.insert(v.to_string_lossy().into_owned());
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, vars);
        }
    }
    let mut vars = std::collections::BTreeSet::new();
    walk(&joinkit::cli::command(), &mut vars);
    let text = readme();
    for var in &vars {
        assert!(text.contains(var.as_str()), "{var} is not in README.md");
    }
    assert!(vars.len() >= 20, "found only {} environment variables: {vars:?}", vars.len());
    for var in ["JOINKIT_TOKEN", "JOINKIT_TOKEN_FILE", "JOINKIT_DISCOVERY_TOKEN_UNSAFE_SKIP_CA_VERIFICATION"] {
        assert!(vars.contains(var), "{var} is read by no argument");
    }
}

/// The shared argument groups are declared once: every command that takes a bootstrap token
/// reads `--token`/JOINKIT_TOKEN and `--token-file`/JOINKIT_TOKEN_FILE, takes both trust flags,
/// and every `-o` offers the same formats with the same default.
#[test]
fn shared_argument_groups_agree_everywhere() {
    fn walk<'a>(path: String, cmd: &'a clap::Command, out: &mut Vec<(String, &'a clap::Command)>) {
        out.push((path.clone(), cmd));
        for sub in cmd.get_subcommands() {
            walk(format!("{path} {}", sub.get_name()), sub, out);
        }
    }
    let root = joinkit::cli::command();
    let mut all = Vec::new();
    walk("joinkit".into(), &root, &mut all);
    let env = |c: &clap::Command, id: &str| {
        c.get_arguments().find(|a| a.get_id() == id).and_then(|a| a.get_env()).map(|e| e.to_string_lossy().into_owned())
    };
    let mut token_commands = Vec::new();
    let mut outputs = Vec::new();
    for (path, c) in &all {
        if env(c, "token").as_deref() == Some("JOINKIT_TOKEN") {
            assert_eq!(env(c, "token_file").as_deref(), Some("JOINKIT_TOKEN_FILE"), "{path}");
            for long in ["discovery-token-ca-cert-hash", "discovery-token-unsafe-skip-ca-verification"] {
                assert!(c.get_arguments().any(|a| a.get_long() == Some(long)), "{path} lacks --{long}");
            }
            token_commands.push(path.clone());
        }
        if let Some(o) = c.get_arguments().find(|a| a.get_short() == Some('o')) {
            let values: Vec<String> = o.get_possible_values().iter().map(|v| v.get_name().to_string()).collect();
            assert_eq!(values, ["text", "json", "yaml"], "{path}");
            assert_eq!(o.get_default_values(), ["text"], "{path}");
            outputs.push(path.clone());
        }
    }
    for cmd in ["verify-discovery", "render-config", "bootstrap", "diagnose"] {
        assert!(token_commands.contains(&format!("joinkit {cmd}")), "{cmd}: {token_commands:?}");
    }
    assert!(outputs.len() >= 10, "{outputs:?}");
}

/// A document holding a secret (render-config, migrate-config, `token create`, user data) is
/// written with `--output-file` (atomic, 0600), never through a shell redirection (0644 under
/// the usual umask): no command in README, docs/ or examples/ sends those commands' output to
/// `> file` or `| tee`.
#[test]
fn secrets_are_written_with_the_file_flag_not_a_redirection() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    for dir in ["docs", "examples"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            files.push(e.unwrap().path());
        }
    }
    let writers = ["joinkit render-config", "joinkit migrate-config", "joinkit token create"];
    let mut bad = Vec::new();
    let mut seen = 0;
    for f in files.iter().filter(|f| f.extension().is_some_and(|x| x == "md" || x == "sh")) {
        let text = std::fs::read_to_string(f).unwrap();
        // Join continuation lines so a command is one line.
        let joined = text.replace("\\\n", " ");
        for line in joined.lines() {
            if writers.iter().any(|w| line.contains(w)) {
                seen += 1;
                let redirected =
                    line.contains(" > ") || line.contains(" >> ") || line.contains("| tee") || line.contains(">/");
                if redirected && !line.contains("2>") {
                    bad.push(format!("{}: {}", f.display(), line.trim()));
                }
            }
        }
    }
    assert!(seen > 5, "the scan found only {seen} commands: it no longer reads the documents");
    assert!(bad.is_empty(), "secret-bearing output written through a redirection:\n{}", bad.join("\n"));
}
