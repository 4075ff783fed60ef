//! The retry contract (README "Output and exit codes", `Code::is_retryable`): every JSON
//! failure carries `retryable` from the one table; `jws-missing` (a token's own fault, other
//! tokens signed) is permanent and `jws-none-signed` (nothing signed) retryable, with
//! `signedTokenIds`; `--wait` retries only retryable failures; a usage error with `-o json`
//! prints a JSON failure on stdout.

use crate::common;
use common::{lab, run, run_with, verify};
use joinkit_core::error::Code;
use joinkit_lab::Scenario;
use std::time::{Duration, Instant};

#[test]
fn json_failures_carry_retryable_from_the_table() {
    // A refused connection (retryable) and a wrong pin (not), as JSON.
    let refused = crate::fake_node::refused_addr();
    let pin = format!("sha256:{}", "0".repeat(64));
    let r = run_with(
        &["verify-discovery", &refused, "--discovery-token-ca-cert-hash", &pin, "-o", "json"],
        &[("JOINKIT_TOKEN", "abcdef.0123456789abcdef")],
        None,
    );
    let v = r.json();
    assert_eq!(
        (v["failure"]["code"].as_str(), v["failure"]["retryable"].as_bool()),
        (Some("connection-refused"), Some(true)),
        "{}",
        r.stdout
    );
    let l = lab(Scenario::Healthy);
    let r = run_with(
        &["verify-discovery", l.endpoint(), "--discovery-token-ca-cert-hash", &pin, "-o", "json"],
        &[("JOINKIT_TOKEN", &l.info.token)],
        None,
    );
    let v = r.json();
    assert_eq!(
        (v["failure"]["code"].as_str(), v["failure"]["retryable"].as_bool()),
        (Some("pin-mismatch"), Some(false))
    );
    // The classes the contract names.
    for c in [
        Code::ConnectTimeout,
        Code::ConnectionRefused,
        Code::RequestTimeout,
        Code::JwsNoneSigned,
        Code::CsrPendingNoApprover,
    ] {
        assert!(c.is_retryable(), "{c}");
    }
    for c in
        [Code::PinMismatch, Code::JwsInvalid, Code::JwsMissing, Code::ConfigInvalid, Code::Usage, Code::BadTokenFormat]
    {
        assert!(!c.is_retryable(), "{c}");
    }
}

#[test]
fn jws_missing_is_permanent_and_jws_none_signed_retryable_with_signed_ids() {
    // The lab's token-deleted keeps another token signed, as a real cluster does.
    let l = lab(Scenario::TokenDeleted);
    let v = verify(&l, &[]).json();
    let f = &v["failure"];
    assert_eq!(
        (f["code"].as_str(), f["exitCode"].as_i64(), f["retryable"].as_bool()),
        (Some("jws-missing"), Some(30), Some(false)),
        "{v}"
    );
    let signed: Vec<&str> = v["signedTokenIds"].as_array().unwrap().iter().filter_map(|i| i.as_str()).collect();
    assert_eq!(signed.len(), 1, "{v}");
    assert_ne!(signed[0], l.token().id(), "the deleted token is not among them");
    assert!(f["message"].as_str().unwrap().contains(signed[0]), "the message names them: {}", f["message"]);
    // Nothing signed: the signer has not run.
    let l = lab(Scenario::SignerStopped);
    let v = verify(&l, &[]).json();
    let f = &v["failure"];
    assert_eq!(
        (f["code"].as_str(), f["exitCode"].as_i64(), f["retryable"].as_bool()),
        (Some("jws-none-signed"), Some(33), Some(true)),
        "{v}"
    );
    assert_eq!(v["signedTokenIds"], serde_json::json!([]), "{v}");
}

#[test]
fn wait_stops_at_once_on_a_permanent_failure() {
    // A deleted token with --wait: the permanent code at once, one attempt, no retry line.
    let l = lab(Scenario::TokenDeleted);
    let t = Instant::now();
    let r = verify(&l, &["--wait", "60s"]);
    assert!(t.elapsed() < Duration::from_secs(2), "a deleted token is not waited for: {:?}", t.elapsed());
    assert_eq!(r.code, 30, "{}", r.stdout);
    assert!(r.json().get("attempts").is_none(), "one attempt: {}", r.stdout);
    assert!(!r.stderr.contains("retrying"), "{}", r.stderr);
    // A retryable failure is retried: nothing signed, --wait 1500ms makes several attempts.
    let l = lab(Scenario::SignerStopped);
    let r = verify(&l, &["--wait", "1500ms"]);
    assert_eq!(r.code, 33);
    assert!(r.json()["attempts"].as_u64().unwrap() >= 2, "{}", r.stdout);
    assert!(r.stderr.contains("attempt 1 failed: jws-none-signed"), "{}", r.stderr);
}

#[test]
fn usage_errors_with_json_output_print_a_json_failure() {
    for args in [
        vec!["verify-discovery", "--bogus", "-o", "json"],
        vec!["verify-discovery", "-ojson", "--timeout", "soon"],
        vec!["token", "create", "--output=json", "--ttl", "xx"],
        vec!["ca-hash", "-o", "json", "--no-such-flag"],
    ] {
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}");
        let v = r.json();
        let f = &v["failure"];
        assert_eq!(
            (f["code"].as_str(), f["exitCode"].as_i64(), f["retryable"].as_bool()),
            (Some("usage"), Some(2), Some(false)),
            "{args:?}: {v}"
        );
        assert_eq!(f["stage"], "input");
        assert!(!f["message"].as_str().unwrap().is_empty() && !f["fix"].as_str().unwrap().is_empty());
        assert!(v["command"].as_str().unwrap().starts_with(args[0]), "{v}");
        assert!(r.stderr.contains("error:"), "clap's text stays on stderr: {}", r.stderr);
    }
    // YAML too; text (or no -o) keeps stdout empty.
    let r = run(&["verify-discovery", "--bogus", "-o", "yaml"]);
    assert_eq!(r.code, 2);
    assert!(r.stdout.contains("code: usage") && r.stdout.contains("retryable: false"), "{}", r.stdout);
    for args in [vec!["verify-discovery", "--bogus"], vec!["verify-discovery", "--bogus", "-o", "text"]] {
        let r = run(&args);
        assert_eq!((r.code, r.stdout.as_str()), (2, ""), "{args:?}");
    }
    // -o/--output is the format on every command, render-config included (files are
    // --output-file): `--output json` asks for a JSON usage failure there too.
    let r = run(&["render-config", "--output", "json", "--bogus"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.json()["failure"]["code"], "usage", "{}", r.stdout);
    // A token pasted where no argument goes stays out of the JSON.
    let r = run(&["ca-hash", "-o", "json", "--kubeconfig"]);
    assert_eq!(r.code, 2);
    let r = run(&["verify-discovery", "-o", "json", "--bogus=abcdef.0123456789abcdef"]);
    assert_eq!(r.code, 2);
    assert!(!r.stdout.contains("0123456789abcdef"), "{}", r.stdout);
}
