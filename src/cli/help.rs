//! What people read: each command's EXAMPLES (in `--help` and its man page), the notes every
//! command's long help ends with, the `joinkit help [COMMAND...|exit-codes]` command and the man
//! pages (`joinkit generate-man DIR`, which writes man/). The clap definitions in this module's
//! parent stay the one source; this module only decorates them.

use std::path::Path;

/// The notes at the end of every command's `--help` (and its man page's NOTES).
pub(crate) const NOTES: &str =
    "Exit codes: `joinkit help exit-codes`, joinkit(1) and README.md; `-o json` prints the full report. \
Secrets: prefer JOINKIT_TOKEN, --token-file, JOINKIT_CERTIFICATE_KEY and JOINKIT_TLS_BOOTSTRAP_TOKEN to flags \
(argv is visible to other users; joinkit warns). Input files must be regular files of at most 16 MiB; \
the trust model and every bound are in SECURITY.md.";

/// The help topics that are not commands: (name, what it prints).
pub const TOPICS: &[(&str, &str)] = &[("exit-codes", "every exit code, its failure code and whether it is retryable")];

/// The top-level `--help` epilogue: where the long tables went (kept short: the whole top-level
/// help stays under 40 lines).
const ROOT_AFTER_HELP: &str = "EXAMPLES:
  joinkit lab              # a control plane on loopback to try the other commands on
  joinkit verify-discovery 10.0.0.10:6443 --token-file t --discovery-token-ca-cert-hash sha256:...
  joinkit explain-log kubeadm-join.log

`joinkit help COMMAND` or `joinkit COMMAND --help` for a command, `joinkit help exit-codes` for the exit codes (also in joinkit(1) and README.md).";

/// The pin in the examples: `joinkit ca-hash` of the cluster CA prints the real one.
macro_rules! pin {
    () => {
        "sha256:..."
    };
}

/// Each command's examples, by command path (without `joinkit`): lines of `joinkit ...`, an
/// optional `# comment`; environment assignments may come first. A test parses every one with
/// the command's own clap definition.
pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "ca-hash",
        "joinkit ca-hash /etc/kubernetes/pki/ca.crt            # sha256:<64 hex>, one line per certificate
joinkit ca-hash --kubeconfig /etc/kubernetes/admin.conf
joinkit ca-hash -o json bundle.pem other.der",
    ),
    (
        "verify-discovery",
        concat!(
            "joinkit verify-discovery 10.0.0.10:6443 --token-file t --discovery-token-ca-cert-hash ",
            pin!(),
            "\njoinkit verify-discovery cp:6443 --discovery-token-ca-cert-hash ",
            pin!(),
            " --wait 2m -o json\nJOINKIT_TLS_BOOTSTRAP_TOKEN=\"$TOKEN\" joinkit verify-discovery --discovery-file discovery.conf"
        ),
    ),
    (
        "render-config",
        concat!(
            "joinkit render-config 10.0.0.10:6443 --token-file t --discovery-token-ca-cert-hash ",
            pin!(),
            "\njoinkit render-config cp:6443 --discovery-token-ca-cert-hash ",
            pin!(),
            " --format cloud-init"
        ),
    ),
    (
        "validate-config",
        "joinkit validate-config join.yaml
joinkit validate-config --kubeadm-version 1.35 --strict cluster/a.yaml cluster/b.yaml -o json",
    ),
    ("migrate-config", "joinkit migrate-config old-v1beta3.yaml            # the v1beta4 document on stdout"),
    (
        "bootstrap",
        concat!(
            "joinkit bootstrap 10.0.0.10:6443 --token-file t --discovery-token-ca-cert-hash ",
            pin!(),
            "\njoinkit bootstrap --config /etc/kubernetes/joinkit/join.yaml --timeout 2m -o json"
        ),
    ),
    (
        "diagnose",
        concat!(
            "joinkit diagnose 10.0.0.10:6443 --token-file t --discovery-token-ca-cert-hash ",
            pin!(),
            "\njoinkit diagnose --config /etc/kubernetes/joinkit/join.yaml --kubeconfig admin.conf -o yaml",
            "\njoinkit diagnose --config /etc/kubernetes/joinkit/join.yaml --no-csr -o json   # read-only, between retries"
        ),
    ),
    (
        "explain-log",
        "joinkit explain-log /var/log/cloud-init-output.log kubeadm-join.log
journalctl -u kubelet | joinkit explain-log -o json",
    ),
    (
        "token",
        "joinkit token create --print-join-command
joinkit token list",
    ),
    ("token generate", "joinkit token generate                      # a random token, no API call"),
    (
        "token create",
        "joinkit token create --print-join-command   # a whole `kubeadm join` command line
joinkit token create --ttl 2h --description 'ci runner' --groups system:bootstrappers:ci",
    ),
    (
        "token list",
        "joinkit token list
joinkit token list --kubeconfig admin.conf -o json",
    ),
    ("token describe", "joinkit token describe abcdef               # valid? signed? RBAC for a join in place?"),
    ("token delete", "joinkit token delete abcdef ghijkl"),
    (
        "csr",
        "joinkit csr list
joinkit csr approve csr-8x2lq --dry-run",
    ),
    ("csr list", "joinkit csr list -o json                    # signer, requestor, subject, SANs, age, condition, verdict"),
    ("csr explain", "joinkit csr explain csr-8x2lq               # every check, pass/fail and why"),
    (
        "csr approve",
        "joinkit csr approve csr-8x2lq csr-9k3fm --dry-run
joinkit csr approve csr-8x2lq --allowed-cidr 10.0.0.0/16 --max-expiration 720h",
    ),
    ("csr deny", "joinkit csr deny csr-bad1 --reason 'IP SAN of another node'"),
    (
        "csr approver",
        "joinkit csr approver --kubeconfig admin.conf -o json
joinkit csr approver --on-failure deny --allowed-cidr 10.0.0.0/16",
    ),
    (
        "lab",
        "joinkit lab                                 # a free port on 127.0.0.1, printed with a token and the CA pin
joinkit lab --listen 127.0.0.1:16443 --ca-key ecdsa --write-kubeconfig admin.conf
joinkit lab --scenario token-expired --exit-after 10m",
    ),
    ("lab demo", "joinkit lab demo --scenario mitm -o json"),
    ("lab scenarios", "joinkit lab scenarios"),
    (
        "completions",
        "joinkit completions bash > /etc/bash_completion.d/joinkit
joinkit completions zsh",
    ),
    (
        "help",
        "joinkit help exit-codes
joinkit help token create",
    ),
];

/// The examples of the command at `path` (`"token create"`), if any.
pub fn examples(path: &str) -> Option<&'static str> {
    EXAMPLES.iter().find(|(p, _)| *p == path).map(|(_, e)| *e)
}

fn indented(text: &str) -> String {
    text.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
}

/// `cmd` with each subcommand's EXAMPLES as its `-h` epilogue and EXAMPLES plus [`NOTES`] as its
/// `--help` epilogue, and the short top-level epilogue.
pub(crate) fn decorate(cmd: clap::Command) -> clap::Command {
    fn walk(cmd: clap::Command, path: &str) -> clap::Command {
        let names: Vec<String> =
            cmd.get_subcommands().map(|s| s.get_name().to_string()).filter(|n| !n.is_empty()).collect();
        let mut cmd = cmd;
        for name in names {
            let p = if path.is_empty() { name.clone() } else { format!("{path} {name}") };
            cmd = cmd.mut_subcommand(&name, |s| {
                let s = match examples(&p) {
                    Some(e) => {
                        let e = indented(e);
                        s.after_help(format!("EXAMPLES:\n{e}")).after_long_help(format!("EXAMPLES:\n{e}\n\n{NOTES}"))
                    }
                    None => s,
                };
                walk(s, &p)
            });
        }
        cmd
    }
    walk(cmd, "").after_help(ROOT_AFTER_HELP).after_long_help(ROOT_AFTER_HELP)
}

/// `joinkit help [COMMAND...|TOPIC]`: a topic's text, or the command's `--help` (clap's own
/// rendering, so the same text); an unknown name is clap's usage error (exit 2).
pub(crate) fn help(topic: &[String]) -> i32 {
    if let [t] = topic {
        if t == "exit-codes" {
            print!("{}", joinkit_core::error::exit_code_table_text());
            return 0;
        }
    }
    let args = std::iter::once("joinkit").chain(topic.iter().map(String::as_str)).chain(std::iter::once("--help"));
    match super::command().try_get_matches_from(args) {
        Ok(_) => 0,
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

/// Plain text as roff: backslashes and hyphens escaped, a leading `.` or `'` made literal.
fn roff_escape(line: &str) -> String {
    let s = line.replace('\\', "\\\\").replace('-', "\\-");
    if s.starts_with('.') || s.starts_with('\'') {
        format!("\\&{s}")
    } else {
        s
    }
}

/// A roff section of preformatted lines.
fn roff_block(title: &str, text: &str) -> String {
    let mut s = format!(".SH \"{title}\"\n.nf\n");
    for l in text.lines() {
        s.push_str(&roff_escape(l));
        s.push('\n');
    }
    s.push_str(".fi\n");
    s
}

/// A roff section of filled paragraphs.
fn roff_paragraph(title: &str, text: &str) -> String {
    let mut s = format!(".SH \"{title}\"\n");
    for l in text.lines() {
        if l.trim().is_empty() {
            s.push_str(".PP\n");
        } else {
            s.push_str(&roff_escape(l));
            s.push('\n');
        }
    }
    s
}

/// One man page: `path` is the command path (`["joinkit", "token", "create"]`). The page is
/// named `joinkit-token-create(1)`, its SYNOPSIS names the command as typed (`joinkit token
/// create`), its SUBCOMMANDS list only pages that exist (no `help`), then EXAMPLES, EXIT STATUS
/// (the whole table in joinkit(1), a pointer to it elsewhere), NOTES and SEE ALSO.
fn man_page(cmd: &clap::Command, path: &[&str]) -> Result<Vec<u8>, String> {
    let page = path.join("-");
    let mut c = cmd.clone().display_name(page.clone()).bin_name(path.join(" "));
    if c.find_subcommand("help").is_some() {
        c = c.mut_subcommand("help", |h| h.hide(true));
    }
    let man = clap_mangen::Man::new(c.clone()).source(format!("joinkit {}", env!("CARGO_PKG_VERSION")));
    let mut out = Vec::new();
    let e = |e: std::io::Error| e.to_string();
    man.render_title(&mut out).map_err(e)?;
    man.render_name_section(&mut out).map_err(e)?;
    man.render_synopsis_section(&mut out).map_err(e)?;
    man.render_description_section(&mut out).map_err(e)?;
    if c.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out).map_err(e)?;
    }
    if c.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut out).map_err(e)?;
    }
    let mut tail = String::new();
    let examples = if path.len() == 1 {
        Some(ROOT_AFTER_HELP.split("\n\n").next().unwrap_or("").trim_start_matches("EXAMPLES:\n").to_string())
    } else {
        self::examples(&path[1..].join(" ")).map(indented)
    };
    if let Some(ex) = examples {
        tail.push_str(&roff_block("EXAMPLES", &ex));
    }
    if path.len() == 1 {
        let table = joinkit_core::error::exit_code_table_text();
        let table = table.split_once('\n').map(|(_, rest)| rest).unwrap_or(&table);
        tail.push_str(&roff_paragraph(
            "EXIT STATUS",
            "0 on success; otherwise the exit code of the failure's code, below (also `joinkit help exit-codes` and README.md). \
Retryable codes may fix themselves: running the same command again is worth it; the others need a person or a change.",
        ));
        tail.push_str(".PP\n.nf\n");
        for l in table.lines() {
            tail.push_str(&roff_escape(l));
            tail.push('\n');
        }
        tail.push_str(".fi\n");
    } else {
        tail.push_str(&roff_paragraph(
            "EXIT STATUS",
            "0 on success; otherwise the exit code of the failure's code, listed in joinkit(1) and by `joinkit help exit-codes`.",
        ));
    }
    tail.push_str(&roff_paragraph("NOTES", NOTES));
    let mut see_also: Vec<String> = (1..path.len()).map(|n| format!("{}(1)", path[..n].join("-"))).collect();
    if path.len() == 1 {
        see_also.push("kubeadm(1)".into());
    }
    if !see_also.is_empty() {
        tail.push_str(&roff_paragraph("SEE ALSO", &see_also.join(", ")));
    }
    out.extend_from_slice(tail.as_bytes());
    man.render_version_section(&mut out).map_err(e)?;
    // Each section clap_mangen renders alone starts with the same two-line string definition
    // (`.ie \n(.g .ds Aq ...`): keep the first of each.
    let text = String::from_utf8_lossy(&out).into_owned();
    let mut seen = Vec::new();
    let mut page = String::new();
    for line in text.lines() {
        if line.starts_with(".ie ") || line.starts_with(".el ") {
            if seen.contains(&line) {
                continue;
            }
            seen.push(line);
        }
        page.push_str(line);
        page.push('\n');
    }
    Ok(page.into_bytes())
}

/// Writes one man page per command (joinkit.1, joinkit-ca-hash.1, joinkit-token-create.1, ...)
/// into `dir`: every command but the hidden ones and `help`.
pub(crate) fn generate_man(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut root = super::command();
    root.build();
    let mut pages = vec![(vec!["joinkit".to_string()], root.clone())];
    for sub in root.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        pages.push((vec!["joinkit".into(), sub.get_name().into()], sub.clone()));
        for subsub in sub.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
            pages.push((vec!["joinkit".into(), sub.get_name().into(), subsub.get_name().into()], subsub.clone()));
        }
    }
    for (path, c) in pages {
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        let buf = man_page(&c, &path)?;
        std::fs::write(dir.join(format!("{}.1", path.join("-"))), buf).map_err(|e| e.to_string())?;
    }
    Ok(())
}
