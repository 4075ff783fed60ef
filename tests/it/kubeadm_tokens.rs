//! joinkit's token commands and its control-plane join check against the real kubeadm v1.36.2
//! (tests/common/kubeadm.rs) on the shared real v1.36 control plane (tests/common/k8s.rs). The
//! parity table these tests prove is docs/kubeadm-token-parity.md.
//!
//! - [`kubeadm_and_joinkit_list_each_others_tokens`]: `kubeadm token list` (text and `-o json`)
//!   shows a token made by `joinkit token create` exactly as the same token made by `kubeadm
//!   token create`, and `joinkit token list` / `describe` show kubeadm's tokens with kubeadm's
//!   TTL, EXPIRES, USAGES, DESCRIPTION and EXTRA GROUPS.
//! - [`print_join_command_is_kubeadms`]: `--print-join-command` prints kubeadm's bytes apart
//!   from the token, for a worker and a control-plane join (`--certificate-key`).
//! - [`control_plane_join_reads_kubeadms_upload`]: the real `kubeadm init phase upload-certs`
//!   writes kubeadm-certs; `joinkit diagnose --control-plane` passes with its key, and fails
//!   with another key and after the Secret's owner token expired, with the message the real
//!   `kubeadm join` download-certs phase prints in each case (run for real in a chroot).

use crate::common::run_with;
use crate::k8s::{self, CaAlgo, Cluster, Version};
use crate::kubeadm::{kubeadm, Kubeadm};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// The shared v1.36 cluster and kubeadm v1.36.2, or None (skipped with a notice). Each test
/// holds the cluster's lock throughout: real_control_plane.rs's rows stop the signer, delete
/// cluster-info or kubeadm-certs while they hold it, and these tests need a healthy cluster
/// (signatures for `--print-join-command`, the default token for the join's download-certs).
fn setup() -> Option<(&'static k8s::Shared, Kubeadm)> {
    let k = kubeadm("1.36")?;
    let s = k8s::shared(Version::V136, CaAlgo::Ecdsa)?;
    Some((s, k))
}

/// `kubeadm ARGS --kubeconfig ADMIN`; panics unless it succeeds; stdout.
fn kubeadm_ok(k: &Kubeadm, c: &Cluster, args: &[&str]) -> String {
    let mut a = args.to_vec();
    a.extend(["--kubeconfig", c.admin()]);
    let o = k.run(&a);
    assert!(
        o.status.success(),
        "kubeadm {a:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `joinkit token ARGS --kubeconfig ADMIN` with a private HOME and extra environment.
fn joinkit_token(c: &Cluster, home: &Path, args: &[&str], env: &[(&str, &str)]) -> crate::common::Run {
    let mut a = vec!["token"];
    a.extend_from_slice(args);
    a.extend(["--kubeconfig", c.admin()]);
    let mut e = vec![("HOME", home.to_str().unwrap())];
    e.extend_from_slice(env);
    run_with(&a, &e, None)
}

/// The cells of one table row: kubeadm (tabwriter, padding 3) and joinkit both put at least
/// three spaces between cells, and the values here have no run of three spaces.
fn cells(line: &str) -> Vec<String> {
    line.split("   ").map(str::trim).filter(|c| !c.is_empty()).map(String::from).collect()
}

/// The rows of a token table by token ID (the first 6 characters of the TOKEN cell).
fn rows_by_id(table: &str) -> BTreeMap<String, (String, Vec<String>)> {
    let mut lines = table.lines();
    let header = lines.next().unwrap_or_default();
    assert!(header.starts_with("TOKEN"), "not a token table:\n{table}");
    lines.filter(|l| !l.trim().is_empty()).map(|l| (l[..6].to_string(), (l.to_string(), cells(l)))).collect()
}

/// kubeadm's `-o json`: one BootstrapToken object after another (not a list), by token ID.
fn json_objects_by_id(out: &str) -> BTreeMap<String, Value> {
    serde_json::Deserializer::from_str(out)
        .into_iter::<Value>()
        .map(|v| {
            let v = v.unwrap_or_else(|e| panic!("kubeadm token list -o json: {e}\n{out}"));
            (v["token"].as_str().unwrap()[..6].to_string(), v)
        })
        .collect()
}

/// The options of one pair of tokens, made once by kubeadm and once by joinkit.
struct Case {
    name: &'static str,
    ttl: &'static str,
    usages: &'static str,
    groups: &'static str,
    description: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "defaults, ttl 2h",
        ttl: "2h",
        usages: "signing,authentication",
        groups: "system:bootstrappers:kubeadm:default-node-token",
        description: "joinkit parity: defaults",
    },
    Case {
        name: "ttl 0 (never expires)",
        ttl: "0",
        usages: "signing,authentication",
        groups: "system:bootstrappers:kubeadm:default-node-token",
        description: "joinkit parity: forever",
    },
    Case {
        name: "authentication only, two custom groups",
        ttl: "90m",
        usages: "authentication",
        groups: "system:bootstrappers:jk-a,system:bootstrappers:jk-b",
        description: "joinkit parity: custom groups",
    },
    Case {
        name: "no description",
        ttl: "5h",
        usages: "authentication,signing",
        groups: "system:bootstrappers:jk-c",
        description: "",
    },
];

#[test]
fn kubeadm_and_joinkit_list_each_others_tokens() {
    let Some((s, k)) = setup() else { return };
    let c = &s.cluster;
    let _g = s.lock();
    let t = Instant::now();
    let home = tempfile::tempdir().unwrap();
    // (case, kubeadm's token, joinkit's token)
    let mut made: Vec<(&Case, String, String)> = Vec::new();
    for case in CASES {
        let flags =
            ["--ttl", case.ttl, "--usages", case.usages, "--groups", case.groups, "--description", case.description];
        let mut a = vec!["token", "create"];
        a.extend(flags);
        let by_kubeadm = kubeadm_ok(&k, c, &a).trim().to_string();
        let mut a = vec!["create", "--no-wait"];
        a.extend(flags);
        let r = joinkit_token(c, home.path(), &a, &[]);
        assert_eq!(r.code, 0, "{}: joinkit token create: {}{}", case.name, r.stdout, r.stderr);
        made.push((case, by_kubeadm, r.stdout.trim().to_string()));
    }
    // A signing-only token with no groups: kubeadm's flags cannot make one (`--groups ''` keeps
    // the default group, then "token groups cannot be specified unless --usages includes
    // \"authentication\""); joinkit's `--groups ''` does. kubeadm lists it with `<none>`.
    let o = k.run(&["token", "create", "--usages", "signing", "--groups", "", "--kubeconfig", c.admin()]);
    assert!(!o.status.success(), "kubeadm made a signing-only token from flags");
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("token groups cannot be specified unless --usages includes \"authentication\""),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = joinkit_token(
        c,
        home.path(),
        &["create", "--no-wait", "--usages", "signing", "--groups", "", "--ttl", "1h"],
        &[],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let signing_only = r.stdout.trim().to_string();

    let kubeadm_table = kubeadm_ok(&k, c, &["token", "list"]);
    let kubeadm_json = json_objects_by_id(&kubeadm_ok(&k, c, &["token", "list", "-o", "json"]));
    let r = joinkit_token(c, home.path(), &["list", "--show-secrets"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let joinkit_table = r.stdout.clone();
    let r = joinkit_token(c, home.path(), &["list", "-o", "json"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let joinkit_json: BTreeMap<String, Value> = r.json()["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_str().unwrap().to_string(), t.clone()))
        .collect();
    let kubeadm_rows = rows_by_id(&kubeadm_table);
    let joinkit_rows = rows_by_id(&joinkit_table);
    let mut table = String::new();
    for (case, kt, jt) in &made {
        let (kid, jid) = (&kt[..6], &jt[..6]);
        let (k_line, k_cells) = &kubeadm_rows[kid];
        let (j_line, j_cells) = &kubeadm_rows[jid];
        // 1. kubeadm shows joinkit's token exactly as its own: the same line once the token and
        // the expiry (a second apart at most) are masked, so also the same padding.
        assert_eq!(k_cells.len(), 6, "{}: kubeadm row {k_line:?}", case.name);
        let mask = |line: &str, tok: &str, cells: &[String]| {
            line.replacen(tok, "<TOKEN>", 1).replacen(&cells[2], "<EXPIRES>", 1)
        };
        assert_eq!(mask(j_line, jt, j_cells), mask(k_line, kt, k_cells), "{}: kubeadm token list rows", case.name);
        if case.ttl == "0" {
            assert_eq!((k_cells[1].as_str(), k_cells[2].as_str()), ("<forever>", "<never>"), "{}", case.name);
        } else {
            let exp = |s: &str| time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap();
            let gap = (exp(&j_cells[2]) - exp(&k_cells[2])).whole_seconds();
            assert!((0..=3).contains(&gap), "{}: expiries {} and {}", case.name, k_cells[2], j_cells[2]);
        }
        // The same BootstrapToken object in kubeadm's -o json, apart from token and expires.
        let strip = |v: &Value| {
            let mut v = v.clone();
            v.as_object_mut().unwrap().remove("token");
            v.as_object_mut().unwrap().remove("expires");
            v
        };
        assert_eq!(strip(&kubeadm_json[jid]), strip(&kubeadm_json[kid]), "{}: kubeadm token list -o json", case.name);
        assert_eq!(kubeadm_json[jid]["token"], jt.as_str());
        // 2. joinkit shows kubeadm's token (and its own) with kubeadm's cells; its table has the
        // whole token with --show-secrets, and a SIGNED column after kubeadm's six.
        for (id, tok) in [(kid, kt), (jid, jt)] {
            let (_, kc) = &kubeadm_rows[id];
            let (_, jc) = &joinkit_rows[id];
            assert_eq!(&jc[..6], &kc[..6], "{}: joinkit token list row of {id} vs kubeadm's", case.name);
            assert_eq!(jc[0], *tok);
            // Neither tool waited for the signature: a signing token may not be signed yet.
            let signed: &[&str] = if case.usages.contains("signing") { &["yes", "no"] } else { &["no"] };
            assert!(jc.len() == 7 && signed.contains(&jc[6].as_str()), "{}: SIGNED {jc:?}", case.name);
            let kj = &kubeadm_json[id];
            let jj = &joinkit_json[id];
            assert_eq!(jj["usages"], kj["usages"], "{}: usages of {id}", case.name);
            assert_eq!(jj["groups"], kj.get("groups").cloned().unwrap_or(Value::Array(vec![])), "{}", case.name);
            assert_eq!(jj["description"], kj.get("description").cloned().unwrap_or(Value::from("")), "{}", case.name);
            assert_eq!(jj["expires"], kj.get("expires").cloned().unwrap_or(Value::from("<never>")), "{}", case.name);
            // describe reads it the same way.
            let r = joinkit_token(c, home.path(), &["describe", id, "-o", "json"], &[]);
            let d = &r.json()["token"];
            for f in ["ttl", "expires", "usages", "groups", "description"] {
                assert_eq!(d[f], jj[f], "{}: describe {id} {f}", case.name);
            }
            assert_eq!(d["ttl"], kc[1].as_str(), "{}: describe {id} ttl", case.name);
        }
        table.push_str(&format!(
            "  {:<40} kubeadm row == joinkit-made row: yes; joinkit cells == kubeadm's: yes\n",
            case.name
        ));
    }
    // The signing-only token: the same cells in both tables, `<none>` for its groups.
    let (_, kc) = &kubeadm_rows[&signing_only[..6]];
    let (_, jc) = &joinkit_rows[&signing_only[..6]];
    assert_eq!(kc[3..6], ["signing", "<none>", "<none>"], "kubeadm's row of the signing-only token");
    assert_eq!(&jc[..6], &kc[..6], "joinkit's row of the signing-only token");
    assert_eq!(kubeadm_json[&signing_only[..6]].get("groups"), None);

    for (_, kt, jt) in &made {
        kubeadm_ok(&k, c, &["token", "delete", &kt[..6], &jt[..6]]);
    }
    kubeadm_ok(&k, c, &["token", "delete", &signing_only[..6]]);
    eprintln!("kubeadm token list parity ({} cases) in {:.1} s:\n{table}", CASES.len() + 1, t.elapsed().as_secs_f64());
}

#[test]
fn print_join_command_is_kubeadms() {
    let Some((s, k)) = setup() else { return };
    let c = &s.cluster;
    let _g = s.lock();
    let t = Instant::now();
    let home = tempfile::tempdir().unwrap();
    let key = joinkit_core::token::random_hex(32);
    let mut delete = Vec::new();
    // kubeadm's line with its token replaced; the token is the word after --token.
    let masked = |out: &str, delete: &mut Vec<String>| {
        let tok =
            out.split(' ').skip_while(|w| *w != "--token").nth(1).unwrap_or_else(|| panic!("no --token in {out:?}"));
        delete.push(tok[..6].to_string());
        out.replacen(tok, "<TOKEN>", 1)
    };
    let mut rows = String::new();
    // The token alone: one line, the token and a newline, from both.
    let kubeadm_out = kubeadm_ok(&k, c, &["token", "create"]);
    let r = joinkit_token(c, home.path(), &["create", "--no-wait"], &[]);
    for out in [&kubeadm_out, &r.stdout] {
        let t = out.strip_suffix('\n').unwrap_or_else(|| panic!("{out:?}"));
        assert!(joinkit_core::token::BootstrapToken::parse(t).is_ok_and(|b| b.expose() == t), "{out:?}");
        delete.push(t[..6].to_string());
    }
    // joinkit's control-plane join command: the key from JOINKIT_CERTIFICATE_KEY with an
    // explicit --control-plane (the environment alone never makes one, docs/control-plane-intent.md).
    for (name, kubeadm_extra, joinkit_extra, env) in [
        ("worker", vec![], vec![], vec![]),
        (
            "control plane (--certificate-key)",
            vec!["--certificate-key", key.as_str()],
            vec!["--control-plane"],
            vec![("JOINKIT_CERTIFICATE_KEY", key.as_str())],
        ),
    ] {
        let mut a = vec!["token", "create", "--print-join-command"];
        a.extend(&kubeadm_extra);
        let kubeadm_out = kubeadm_ok(&k, c, &a);
        let mut j = vec!["create", "--print-join-command"];
        j.extend(&joinkit_extra);
        let r = joinkit_token(c, home.path(), &j, &env);
        assert_eq!(r.code, 0, "{name}: {}{}", r.stdout, r.stderr);
        let (kl, jl) = (masked(&kubeadm_out, &mut delete), masked(&r.stdout, &mut delete));
        assert_eq!(jl, kl, "{name}: joinkit's join command vs kubeadm's (bytes, token masked)");
        assert!(kl.contains(c.endpoint()) && kl.contains(c.pin()), "{kl}");
        rows.push_str(&format!("  {name}: {:?}\n", kl));
    }
    // A key without --print-join-command: kubeadm refuses (after creating a token: its check
    // comes after CreateNewTokens, cmd/kubeadm/app/cmd/token.go); joinkit refuses first.
    // (`--ttl 1s`: the token cleaner removes the token kubeadm makes before it fails.)
    let o = k.run(&["token", "create", "--ttl", "1s", "--certificate-key", &key, "--kubeconfig", c.admin()]);
    let kubeadm_err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{kubeadm_err}");
    // joinkit refuses its input before any API call (exit 2, the report on stderr).
    let r = joinkit_token(c, home.path(), &["create", "--certificate-key", &key], &[]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.is_empty(), "a token was printed: {}", r.stdout);
    assert!(r.stderr.contains("FAILED: bad-token-options at stage input"), "{}", r.stderr);
    let msg = r.stderr.lines().find_map(|l| l.trim().strip_prefix("kubeadm: ")).expect("a kubeadm line");
    assert!(
        kubeadm_err.contains(&format!("error: {msg}\n")),
        "joinkit's kubeadm message {msg:?} vs kubeadm's stderr {kubeadm_err:?}"
    );
    delete.sort();
    delete.dedup();
    let mut a = vec!["token", "delete"];
    a.extend(delete.iter().map(String::as_str));
    kubeadm_ok(&k, c, &a);
    eprintln!("print-join-command parity in {:.1} s:\n{rows}", t.elapsed().as_secs_f64());
}

/// `joinkit diagnose --control-plane` as real_control_plane.rs's DiagnoseControlPlane rows run
/// it (fake healthy node root, admin kubeconfig), JSON out.
fn diagnose_control_plane(c: &Cluster, dir: &Path, root: &Path, node: &str, key: &str) -> Value {
    let r = run_with(
        &[
            "diagnose",
            c.endpoint(),
            "--discovery-token-ca-cert-hash",
            c.pin(),
            "--node-name",
            node,
            "--root",
            root.to_str().unwrap(),
            "--timeout",
            "5s",
            "--kubeconfig",
            c.admin(),
            "--control-plane",
            "-o",
            "json",
        ],
        &[("JOINKIT_TOKEN", c.token()), ("JOINKIT_CERTIFICATE_KEY", key), ("HOME", dir.to_str().unwrap())],
        None,
    );
    let mut v = r.json();
    v["exit"] = r.code.into();
    v
}

/// The real `kubeadm join phase control-plane-prepare download-certs` chrooted (`--rootfs`)
/// into a new empty directory, so what it writes (`/etc/kubernetes/pki/...`) stays there.
/// Returns (success, stderr, the rootfs). None when not root (chroot needs it).
fn kubeadm_download_certs(k: &Kubeadm, c: &Cluster, key: &str) -> Option<(bool, String, tempfile::TempDir)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root: kubeadm join --rootfs needs chroot");
        eprintln!("NOTICE: not root: the real kubeadm join download-certs comparison is skipped");
        return None;
    }
    let rootfs = tempfile::Builder::new().prefix("joinkit-kubeadm-rootfs-").tempdir().unwrap();
    let o = k.run(&[
        "join",
        "phase",
        "control-plane-prepare",
        "download-certs",
        c.endpoint(),
        "--token",
        c.token(),
        "--discovery-token-ca-cert-hash",
        c.pin(),
        "--control-plane",
        "--certificate-key",
        key,
        "--rootfs",
        rootfs.path().to_str().unwrap(),
    ]);
    Some((o.status.success(), String::from_utf8_lossy(&o.stderr).into_owned(), rootfs))
}

#[test]
fn control_plane_join_reads_kubeadms_upload() {
    let Some((s, k)) = setup() else { return };
    let c = &s.cluster;
    // kubeadm-certs, its owner token and the Role/RoleBinding kubeadm:kubeadm-certs are
    // cluster-wide: real_control_plane.rs's kubeadm-certs rows make and expect them too.
    let _g = s.lock();
    let t = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let root = crate::fake_node::healthy_root(dir.path());
    let pki = c.dir.join("pki");
    let key = joinkit_core::token::random_hex(32);
    let cleanup = Cleanup(c);
    // upload-certs with the cluster's PKI: certificatesDir in a ClusterConfiguration, the key in
    // the InitConfiguration (kubeadm refuses `--config` mixed with `--certificate-key`).
    let cfg = dir.path().join("kubeadm.yaml");
    std::fs::write(
        &cfg,
        format!(
            "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\ncertificateKey: {key}\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\ncertificatesDir: {}\ncontrolPlaneEndpoint: {}\nkubernetesVersion: v1.36.2\n",
            pki.display(),
            c.endpoint()
        ),
    )
    .unwrap();
    let out =
        kubeadm_ok(&k, c, &["init", "phase", "upload-certs", "--upload-certs", "--config", cfg.to_str().unwrap()]);
    assert!(out.contains(&key), "upload-certs used another key: {out}");
    let upload_secs = t.elapsed().as_secs_f64();

    // The Secret kubeadm wrote: the keys joinkit's lab and diagnose expect, each AES-256-GCM
    // under the key (joinkit's decryption), the files of DIR/pki; absent etcd CA files empty.
    let secret = c.get("secret", Some("kube-system"), "kubeadm-certs").expect("kubeadm-certs");
    let data = secret["data"].as_object().unwrap();
    let names: Vec<&str> = data.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "ca.crt",
            "ca.key",
            "etcd-ca.crt",
            "etcd-ca.key",
            "front-proxy-ca.crt",
            "front-proxy-ca.key",
            "sa.key",
            "sa.pub"
        ]
    );
    let k32 = joinkit_core::diagnose::certs::decode_key(&key).unwrap();
    for (name, v) in data {
        use base64::Engine;
        let sealed = base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap();
        let plain = joinkit_core::diagnose::certs::open(&k32, &sealed).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = std::fs::read(pki.join(name.replacen("etcd-", "etcd/", 1))).unwrap_or_default();
        assert_eq!(plain, want, "{name} decrypted vs DIR/pki");
    }
    let owner = secret["metadata"]["ownerReferences"][0]["name"].as_str().unwrap().to_string();
    assert!(owner.starts_with("bootstrap-token-"), "{secret}");
    // Its owner, kubeadm's "Proxy for managing TTL" token (no usages, no groups, 2 h): joinkit
    // lists it with kubeadm's cells, `<none>` included.
    let id = owner.trim_start_matches("bootstrap-token-");
    let home = dir.path().join("home");
    let kubeadm_row = rows_by_id(&kubeadm_ok(&k, c, &["token", "list"])).remove(id).expect("owner token listed").1;
    let r = joinkit_token(c, &home, &["list", "--show-secrets"], &[]);
    let joinkit_row = rows_by_id(&r.stdout).remove(id).expect("owner token listed by joinkit").1;
    assert_eq!(
        kubeadm_row[1..],
        ["1h", &kubeadm_row[2], "<none>", "Proxy for managing TTL for the kubeadm-certs secret", "<none>"]
    );
    assert_eq!(joinkit_row[..6], kubeadm_row[..], "joinkit token list: kubeadm's upload-certs token");

    // The right key: diagnose passes (the whole run: root cause none).
    let v = diagnose_control_plane(c, dir.path(), &root, "jk-kubeadm-certs", &key);
    let stage = |v: &Value| {
        v["stages"].as_array().unwrap().iter().find(|s| s["name"] == "control-plane/kubeadm-certs").cloned()
    };
    assert_eq!(v["exit"], 0, "{v}");
    assert_eq!(stage(&v).unwrap()["status"], "pass", "{v}");
    if let Some((ok, err, rootfs)) = kubeadm_download_certs(&k, c, &key) {
        assert!(ok, "kubeadm join download-certs with the key: {err}");
        for f in ["ca.crt", "ca.key", "sa.key", "sa.pub", "front-proxy-ca.crt", "front-proxy-ca.key"] {
            assert_eq!(
                std::fs::read(rootfs.path().join("etc/kubernetes/pki").join(f)).unwrap(),
                std::fs::read(pki.join(f)).unwrap(),
                "{f}"
            );
        }
    }

    // Another key: kubeadm's own message, the one the real join prints.
    let other = joinkit_core::token::random_hex(32);
    let v = diagnose_control_plane(c, dir.path(), &root, "jk-kubeadm-certs", &other);
    assert_eq!(
        (v["failureDomain"].as_str(), v["failure"]["stage"].as_str()),
        (Some("control-plane"), Some("control-plane/kubeadm-certs")),
        "{v}"
    );
    let wrong_key_msg = v["failure"]["kubeadmMessage"].as_str().unwrap().to_string();
    assert_eq!(wrong_key_msg, "error decoding secret data with provided key: cipher: message authentication failed");
    if let Some((ok, err, _)) = kubeadm_download_certs(&k, c, &other) {
        assert!(!ok);
        let want = format!("error: error execution phase control-plane-prepare/download-certs: error downloading certs: {wrong_key_msg}\n");
        assert!(err.contains(&want), "kubeadm join's error: {err}");
    }

    // The TTL: kubeadm gives the Secret an owner token of 2 h. Expire that token now: the token
    // cleaner deletes it, and the garbage collector the Secret it owns.
    let past = time::OffsetDateTime::now_utc() - Duration::from_secs(60);
    let past = joinkit_core::duration::rfc3339(past);
    use base64::Engine;
    let patch = serde_json::json!({"data": {"expiration": base64::engine::general_purpose::STANDARD.encode(past)}});
    c.kubectl(&["patch", "secret", "-n", "kube-system", &owner, "-p", &patch.to_string()]);
    let t_gc = Instant::now();
    c.wait_for("kubeadm-certs to be garbage-collected", Duration::from_secs(20), || {
        c.get("secret", Some("kube-system"), "kubeadm-certs").is_none()
    });
    let gc_secs = t_gc.elapsed().as_secs_f64();
    assert!(c.get("secret", Some("kube-system"), &owner).is_none(), "the owner token is gone");
    let v = diagnose_control_plane(c, dir.path(), &root, "jk-kubeadm-certs", &key);
    assert_eq!(
        (v["failureDomain"].as_str(), v["failure"]["stage"].as_str()),
        (Some("control-plane"), Some("control-plane/kubeadm-certs")),
        "{v}"
    );
    let gone_msg = v["failure"]["kubeadmMessage"].as_str().unwrap().to_string();
    assert!(
        gone_msg.starts_with("Secret \"kubeadm-certs\" was not found in the \"kube-system\" Namespace"),
        "{gone_msg}"
    );
    if let Some((ok, err, _)) = kubeadm_download_certs(&k, c, &key) {
        assert!(!ok);
        let want = format!("error downloading certs: error downloading the secret: {gone_msg}\n");
        assert!(err.contains(&want), "kubeadm join's error {err:?} lacks joinkit's {gone_msg:?}");
    }
    drop(cleanup);
    eprintln!(
        "control-plane join parity in {:.1} s (upload-certs {upload_secs:.2} s, Secret gone {gc_secs:.2} s after its owner token expired)",
        t.elapsed().as_secs_f64()
    );
}

/// Removes what upload-certs made (also when the test fails), so the shared cluster is as
/// real_control_plane.rs's kubeadm-certs rows expect it: no Secret, no Role/RoleBinding.
struct Cleanup<'a>(&'a Cluster);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let c = self.0;
        let owner = c
            .get("secret", Some("kube-system"), "kubeadm-certs")
            .and_then(|s| s["metadata"]["ownerReferences"][0]["name"].as_str().map(String::from));
        c.delete("secret", Some("kube-system"), "kubeadm-certs");
        if let Some(o) = owner {
            c.delete("secret", Some("kube-system"), &o);
        }
        c.delete("rolebinding", Some("kube-system"), "kubeadm:kubeadm-certs");
        c.delete("role", Some("kube-system"), "kubeadm:kubeadm-certs");
    }
}
