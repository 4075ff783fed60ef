//! `joinkit ca-hash`: every CA-pin vector, input forms (PEM bundles, DER, stdin, CRLF, text
//! around blocks, keys skipped, kubeconfigs), warnings, and bad input without panics.

use crate::common;
use common::{run, run_with, vectors};
use std::path::Path;

fn pins_tsv() -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(vectors().join("ca-pins/pins.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (f, p) = l.split_once('\t').unwrap();
            (f.to_string(), p.split_whitespace().map(str::to_string).collect())
        })
        .collect()
}

#[test]
fn every_pin_vector_matches() {
    let rows = pins_tsv();
    assert_eq!(rows.len(), 5);
    for (file, want) in rows {
        let path = vectors().join("ca-pins").join(&file);
        let r = run(&["ca-hash", path.to_str().unwrap()]);
        assert_eq!(r.code, 0, "{file}: {}", r.stderr);
        let got: Vec<String> = r.stdout.lines().map(str::to_string).collect();
        assert_eq!(got, want, "{file}");
        // The library agrees.
        let data = std::fs::read(&path).unwrap();
        let lib: Vec<String> =
            joinkit_core::pin::pins_of_pem(&data, &file).unwrap().iter().map(|p| p.to_string()).collect();
        assert_eq!(lib, want, "{file}");
    }
}

#[test]
fn several_files_keep_input_order_and_json_has_details() {
    let d = vectors().join("ca-pins");
    let a = d.join("ed25519.crt");
    let b = d.join("rsa2048.crt");
    let r = run(&["ca-hash", a.to_str().unwrap(), b.to_str().unwrap(), "-o", "json"]);
    assert_eq!(r.code, 0);
    let v = r.json();
    let certs = v["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 2);
    assert_eq!(certs[0]["keyAlgorithm"], "Ed25519");
    assert_eq!(certs[1]["keyAlgorithm"], "RSA-2048");
    for c in certs {
        for k in ["subject", "issuer", "serial", "notBefore", "notAfter", "keyAlgorithm", "isCa", "pin"] {
            assert!(!c[k].is_null(), "{k} missing");
        }
    }
    assert_eq!(certs[0]["pin"], "sha256:730ff6c1d75760183e00319411439d91c8ce85e95c4b0adba00f70057dc583b3");
    let p = run(&["ca-hash", d.join("p256.crt").to_str().unwrap(), "-o", "json"]).json();
    assert_eq!(p["certificates"][0]["keyAlgorithm"], "ECDSA-P256");
    assert_eq!(v["ok"], true);
}

#[test]
fn stdin_der_crlf_text_and_keys() {
    let pem = std::fs::read_to_string(vectors().join("ca-pins/p256.crt")).unwrap();
    let want = "sha256:ba8ded8e269af4257a6c89fcaa8cba0199352905a87617a59af30783f68b526f\n";
    // stdin
    let r = run_with(&["ca-hash", "-"], &[], Some(pem.as_bytes()));
    assert_eq!(r.stdout, want);
    // CRLF, text around, a private key block before it
    let key = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIDkq0ueqYWtDPafJ1ZgmWyTA2nqHrcjQSRtG9SD9yRtM\n-----END PRIVATE KEY-----\n";
    let messy = format!(
        "Bag Attributes: friendly\r\n{}subject=CN = p256-ca\r\n{}trailing words\r\n",
        key.replace('\n', "\r\n"),
        pem.replace('\n', "\r\n")
    );
    let r = run_with(&["ca-hash", "-"], &[], Some(messy.as_bytes()));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, want);
    // DER
    use rustls::pki_types::pem::PemObject;
    let der = rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ca.der");
    std::fs::write(&p, der.as_ref()).unwrap();
    assert_eq!(run(&["ca-hash", p.to_str().unwrap()]).stdout, want);
}

#[test]
fn kubeconfig_data_file_and_named_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let rsa = std::fs::read(vectors().join("ca-pins/rsa2048.crt")).unwrap();
    let p256 = vectors().join("ca-pins/p256.crt");
    std::fs::copy(&p256, dir.path().join("ca.crt")).unwrap();
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD.encode(&rsa);
    let kc = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: one\n  cluster:\n    server: https://10.0.0.1:6443\n    certificate-authority-data: {data}\n- name: two\n  cluster:\n    server: https://10.0.0.2:6443\n    certificate-authority: ca.crt\ncontexts:\n- name: c\n  context: {{cluster: one, user: u}}\ncurrent-context: c\nusers: []\n"
    );
    let k = dir.path().join("admin.conf");
    std::fs::write(&k, kc).unwrap();
    let r = run(&["ca-hash", "--kubeconfig", k.to_str().unwrap()]);
    assert_eq!(
        r.stdout.trim(),
        "sha256:3f73af16fa67a1c9d2dee1f7720918913f78360b0e4e3a27b660a85f5a1266e4",
        "{}",
        r.stderr
    );
    // A relative certificate-authority path resolves against the kubeconfig's directory.
    let r = run(&["ca-hash", "--kubeconfig", k.to_str().unwrap(), "--cluster", "two"]);
    assert_eq!(
        r.stdout.trim(),
        "sha256:ba8ded8e269af4257a6c89fcaa8cba0199352905a87617a59af30783f68b526f",
        "{}",
        r.stderr
    );
    let r = run(&["ca-hash", "--kubeconfig", k.to_str().unwrap(), "--cluster", "nope", "-o", "json"]);
    assert_eq!(r.code, 3);
    assert_eq!(r.json()["failure"]["code"], "bad-input-file");
}

#[test]
fn warnings_for_expired_and_non_ca() {
    let r = run(&["ca-hash", vectors().join("ca-pins/expired.crt").to_str().unwrap()]);
    assert_eq!(r.code, 0);
    assert!(r.stderr.contains("expired"), "{}", r.stderr);
    assert_eq!(r.stdout.trim(), "sha256:c15910c261b2917f73dc6413902873aca281b9f6cfd065e6b499fcaba7580e42");
    // A leaf (not a CA): the node certificate from the transcripts.
    let leaf = vectors().join("apiserver-v1.24/rsa/csr_test-node.crt");
    let r = run(&["ca-hash", leaf.to_str().unwrap()]);
    assert_eq!(r.code, 0);
    assert!(r.stderr.contains("not a CA"), "{}", r.stderr);
}

fn expect_bad(input: &[u8], code: &str) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("in");
    std::fs::write(&p, input).unwrap();
    for output in ["text", "json"] {
        let r = run(&["ca-hash", p.to_str().unwrap(), "-o", output]);
        assert_eq!(r.code, 3, "{code}: {} {}", r.stdout, r.stderr);
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
        if output == "json" {
            assert_eq!(r.json()["failure"]["code"], code, "{}", r.stdout);
        } else {
            assert!(r.stdout.is_empty(), "no pins on failure: {}", r.stdout);
            assert!(r.stderr.contains(code), "{}", r.stderr);
        }
    }
}

#[test]
fn bad_input_is_a_clear_error() {
    let pem = std::fs::read_to_string(vectors().join("ca-pins/rsa2048.crt")).unwrap();
    expect_bad(b"", "no-certificate");
    expect_bad(b"hello world, not a certificate", "no-certificate");
    expect_bad(b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIDkq0ueqYWtDPafJ1ZgmWyTA2nqHrcjQSRtG9SD9yRtM\n-----END PRIVATE KEY-----\n", "no-certificate");
    let truncated: String = pem.lines().take(8).collect::<Vec<_>>().join("\n");
    expect_bad(truncated.as_bytes(), "bad-certificate");
    expect_bad(pem.replace("MII", "M!I").as_bytes(), "bad-certificate");
    expect_bad(&[0x30, 0x82, 0x01, 0x00, 1, 2, 3], "bad-certificate");
    let b64_garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    expect_bad(b64_garbage.as_bytes(), "bad-certificate");
    // Unreadable file.
    let r = run(&["ca-hash", "/nonexistent/ca.crt", "-o", "json"]);
    assert_eq!(r.code, 3);
    assert_eq!(r.json()["failure"]["code"], "input-unreadable");
    // No input at all is a usage error.
    let r = run(&["ca-hash"]);
    assert_eq!(r.code, 2);
    assert!(Path::new(common::bin()).exists());
}

#[test]
fn huge_bad_pem_gives_a_small_error() {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    // 5 MB of base64 (deterministic bytes), in two shapes of an unterminated PEM.
    let bytes: Vec<u8> = (0..(5u32 << 20) * 3 / 4).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    let cases = [
        // The BEGIN line runs on for 5 MB: the PEM reader's error holds the whole line.
        ("begin-line", format!("-----BEGIN CERTIFICATE{b64}\n"), "malformed BEGIN line"),
        // A body without its END line.
        ("no-end", format!("-----BEGIN CERTIFICATE-----\n{}\n", lines.join("\n")), "missing the END line"),
    ];
    for (name, body, says) in cases {
        let p = dir.path().join(format!("{name}.pem"));
        std::fs::write(&p, &body).unwrap();
        for output in ["text", "json"] {
            let r = run(&["ca-hash", p.to_str().unwrap(), "-o", output]);
            assert_eq!(r.code, 3, "{name} {output}");
            let size = r.stdout.len() + r.stderr.len();
            assert!(size < 64 << 10, "{name} {output}: {size} bytes of output");
            let all = r.stdout.clone() + &r.stderr;
            assert!(all.contains("bad-certificate") && all.contains(says), "{name} {output}: {all}");
            if name == "begin-line" {
                assert!(all.contains(&format!("… ({} bytes in all)", b64.len() + 22)), "{all}");
            }
        }
    }
}
