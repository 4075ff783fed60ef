//! Line breaks that only kubeadm's YAML reader honours, against the real kubeadm v1.36.2.
//!
//! kubeadm reads configurations with go-yaml v2 (YAML 1.1), which breaks lines at NEL U+0085,
//! LS U+2028 and PS U+2029 as well as at LF and CR; YAML 1.2 (joinkit's reader) reads the first
//! three as text. A key written after one of them inside a comment is therefore a key for
//! kubeadm and a comment for a YAML 1.2 reader. A lone CR breaks the line for both readers, but
//! kubeadm splits files into documents at LF only. joinkit refuses all four with their
//! position, wherever it reads YAML (`crates/joinkit-core/src/yaml.rs`, `check_line_breaks`).

use crate::common::{run, run_with};
use crate::kubeadm::{kubeadm, NEWEST};

/// Each character, a file-name tag, and the name joinkit's error gives it.
const BREAKS: [(char, &str, &str); 4] = [
    ('\u{85}', "nel", "U+0085 NEXT LINE (NEL)"),
    ('\u{2028}', "ls", "U+2028 LINE SEPARATOR (LS)"),
    ('\u{2029}', "ps", "U+2029 PARAGRAPH SEPARATOR (PS)"),
    ('\r', "cr", "a carriage return (CR, U+000D) not followed by a line feed"),
];

const PIN: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

fn head() -> String {
    format!(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    apiServerEndpoint: 10.0.0.1:6443\n    token: abcdef.0123456789abcdef\n    caCertHashes:\n    - {PIN}"
    )
}

/// A valid, pinned JoinConfiguration whose last comment hides `bogusField: 1` behind `br`
/// (line 10), and where `br` stands: (line, column).
fn hidden_unknown_field(br: char) -> (String, (usize, usize)) {
    let last = "  name: node-1 # the node";
    (format!("{}\nnodeRegistration:\n{last}{br}bogusField: 1\n", head()), (10, last.chars().count() + 1))
}

/// The review's file: a comment after the pin hides `unsafeSkipCAVerification: true` (line 8).
fn hidden_unsafe_skip(br: char) -> (String, (usize, usize)) {
    let h = head();
    let col = h.lines().last().unwrap().chars().count() + " # pinned".len() + 1;
    (format!("{h} # pinned{br}    unsafeSkipCAVerification: true\nnodeRegistration:\n  name: node-1\n"), (8, col))
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

/// The real kubeadm reads what the character hides: `config validate` reports the hidden
/// unknown field (strict decoding), and `config migrate` prints the hidden
/// `unsafeSkipCAVerification: true`. The same files with a space instead are clean for it.
#[test]
fn the_real_kubeadm_reads_keys_behind_yaml11_breaks() {
    let Some(k) = kubeadm(NEWEST) else { return };
    let dir = tempfile::tempdir().unwrap();
    for (br, tag, _) in BREAKS {
        let hidden = write(&dir, &format!("field-{tag}.yaml"), &hidden_unknown_field(br).0);
        let o = k.run(&["config", "validate", "--config", &hidden]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            !o.status.success() && err.contains("strict decoding error: unknown field \"bogusField\""),
            "{tag}: {err}"
        );
        let control = write(&dir, &format!("field-{tag}-control.yaml"), &hidden_unknown_field(' ').0);
        let o = k.run(&["config", "validate", "--config", &control]);
        assert!(o.status.success(), "{tag} control: {}", String::from_utf8_lossy(&o.stderr));

        let skip = write(&dir, &format!("skip-{tag}.yaml"), &hidden_unsafe_skip(br).0);
        let o = k.run(&["config", "migrate", "--old-config", &skip]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success() && out.contains("    unsafeSkipCAVerification: true\n"), "{tag}: {out}");
        let control = write(&dir, &format!("skip-{tag}-control.yaml"), &hidden_unsafe_skip(' ').0);
        let o = k.run(&["config", "migrate", "--old-config", &control]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success() && !out.contains("unsafeSkipCAVerification"), "{tag} control: {out}");
    }
}

/// A KubeletConfiguration, `---`, then a JoinConfiguration with an unknown field: with LF line
/// ends kubeadm reads both documents and rejects the field; with lone CRs it splits no document
/// and never reads the JoinConfiguration, while a YAML reader sees two documents.
#[test]
fn the_real_kubeadm_splits_documents_at_line_feeds_only() {
    let Some(k) = kubeadm(NEWEST) else { return };
    let dir = tempfile::tempdir().unwrap();
    let lf = format!(
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n---\n{}\nbogusField: 1\n",
        head()
    );
    let o = k.run(&["config", "validate", "--config", &write(&dir, "lf.yaml", &lf)]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown field \"bogusField\"") && !o.status.success());
    let cr = write(&dir, "cr.yaml", &lf.replace('\n', "\r"));
    let o = k.run(&["config", "validate", "--config", &cr]);
    assert!(o.status.success(), "kubeadm never reads the second document: {}", String::from_utf8_lossy(&o.stderr));
    // validate-config reads the file as kubeadm does (one document) and refuses it at the
    // first lone CR, the end of line 1: a knowing difference (origin `joinkit`), with or
    // without --strict.
    let r = run(&["validate-config", "-o", "json", &cr]);
    assert_eq!(r.code, 51, "{}", r.stdout);
    let v = r.json();
    let p = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["message"].as_str().unwrap().contains("carriage return"))
        .cloned();
    let p = p.unwrap_or_else(|| panic!("no error for the lone CR: {}", r.stdout));
    assert_eq!(
        (p["line"].as_u64(), p["column"].as_u64(), p["severity"].as_str(), p["origin"].as_str()),
        (Some(1), Some(42), Some("error"), Some("joinkit"))
    );
    let r = run(&["validate-config", "--strict", "-o", "json", &cr]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    let v = r.json();
    let p = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["message"].as_str().unwrap().contains("carriage return"))
        .cloned()
        .unwrap();
    assert_eq!((p["line"].as_u64(), p["column"].as_u64(), p["severity"].as_str()), (Some(1), Some(42), Some("error")));
}

/// validate-config reads each character as kubeadm does (a line break) and refuses it at its
/// line:column, naming it: `config-yaml-syntax` (exit 51), with or without `--strict` (a
/// knowing difference from kubeadm, origin `joinkit`).
/// migrate-config and the `--config` of bootstrap and diagnose refuse it (exit 51), and
/// migrate-config writes nothing.
#[test]
fn every_config_reader_refuses_them_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    for (br, tag, name) in BREAKS {
        for (kind, (text, (line, col))) in [("field", hidden_unknown_field(br)), ("skip", hidden_unsafe_skip(br))] {
            let f = write(&dir, &format!("{kind}-{tag}.yaml"), &text);
            let at = format!("{f}:{line}:{col}: ");
            // As kubeadm: the hidden unknown field is an error, the hidden unsafeSkipCAVerification valid.
            let r = run(&["validate-config", &f]);
            assert_eq!(r.code, 51, "{tag}: {}", r.stdout);
            assert!(r.stdout.contains(&format!("{at}error: {name}: ")), "{tag}: {}", r.stdout);
            if kind == "field" {
                assert!(r.stdout.contains("unknown field \"bogusField\""), "{tag}: {}", r.stdout);
            }
            let r = run(&["validate-config", "--strict", &f]);
            assert_eq!(r.code, 51, "{tag}: {}", r.stdout);
            assert!(r.stdout.contains(&format!("{at}error: {name}: ")), "{tag}: {}", r.stdout);
            let v = run(&["validate-config", "--strict", "-o", "json", &f]).json();
            assert_eq!(v["failure"]["code"], "config-yaml-syntax");
            let p = v["problems"].as_array().unwrap().iter().find(|p| p["severity"] == "error").unwrap().clone();
            assert_eq!((p["line"].as_u64(), p["column"].as_u64()), (Some(line as u64), Some(col as u64)), "{tag}");
            assert!(p["fix"].as_str().unwrap().contains("line feed"), "{p}");

            let out = dir.path().join(format!("{kind}-{tag}.migrated.yaml"));
            let r = run(&["migrate-config", &f, "--output-file", out.to_str().unwrap()]);
            assert_eq!(r.code, 51, "{tag}: {}{}", r.stdout, r.stderr);
            assert!(r.stderr.contains(&at) && r.stderr.contains(name), "{tag}: {}", r.stderr);
            assert!(!out.exists(), "migrate-config wrote {}", out.display());

            for cmd in ["bootstrap", "diagnose"] {
                let r = run(&[cmd, "--config", &f, "-o", "json"]);
                let v = r.json();
                assert_eq!(
                    (v["failure"]["code"].as_str(), v["failure"]["stage"].as_str()),
                    (Some("config-yaml-syntax"), Some("input")),
                    "{cmd} {tag}: {}",
                    r.stdout
                );
                let m = v["failure"]["message"].as_str().unwrap();
                assert!(m.starts_with(&at) && m.contains(name), "{cmd} {tag}: {m}");
                assert!(!m.contains("0123456789abcdef"), "the token is never quoted: {m}");
            }
        }
    }
}

/// Kubeconfigs (client-go reads them with go-yaml v2 too): a discovery file whose comment hides
/// a local `certificate-authority` path is refused with the position, not read without it.
#[test]
fn a_discovery_kubeconfig_with_a_hidden_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (br, tag, name) in BREAKS {
        let f = write(
            &dir,
            &format!("discovery-{tag}.conf"),
            &format!("apiVersion: v1\nkind: Config\nclusters:\n- name: \"\"\n  cluster:\n    server: https://127.0.0.1:6443 # ok{br}    certificate-authority: /etc/shadow\n"),
        );
        let r = run(&["verify-discovery", "--discovery-file", &f, "-o", "json"]);
        let v = r.json();
        assert_eq!(v["failure"]["stage"], "discovery-file", "{tag}: {}", r.stdout);
        let m = v["failure"]["message"].as_str().unwrap();
        assert!(m.contains(name) && m.contains("at line 6, column 40"), "{tag}: {m}");
    }
}

/// render-config writes a value holding one of the characters as a double-quoted escape (`\L`),
/// never raw: its output passes joinkit's rule and the real kubeadm accepts it.
#[test]
fn render_config_writes_them_as_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let args = |br: char| {
        vec![
            "render-config".to_string(),
            "10.0.0.1:6443".into(),
            "--discovery-token-ca-cert-hash".into(),
            PIN.into(),
            "--kubelet-arg".into(),
            format!("node-labels=a{br}b"),
        ]
    };
    for (br, tag, _) in BREAKS {
        let a = args(br);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let r = run_with(&a, &[("JOINKIT_TOKEN", "abcdef.0123456789abcdef")], None);
        assert_eq!(r.code, 0, "{tag}: {}", r.stderr);
        assert!(!r.stdout.contains(br), "{tag}: raw character in\n{}", r.stdout);
        let f = write(&dir, &format!("render-{tag}.yaml"), &r.stdout);
        assert_eq!(run(&["validate-config", &f]).code, 0);
        if let Some(k) = kubeadm(NEWEST) {
            let o = k.run(&["config", "validate", "--config", &f]);
            assert!(o.status.success(), "{tag}: {}", String::from_utf8_lossy(&o.stderr));
        }
    }
}
