//! `validate-config` on the EKS identity mapping: the aws-auth ConfigMaps and access-entry JSON
//! of tests/corpus/eks (real files; tests/corpus/eks/SOURCES.md says where each comes from),
//! each rule shown failing on the real file that breaks it, and `--node-role-arn`.

use crate::common::{run, run_with};
use serde_json::Value;
use std::path::PathBuf;

pub(crate) fn corpus(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/eks").join(name).display().to_string()
}

/// The problems of origin `eks` in a `-o json` report, as (severity, line, path, message).
pub(crate) fn problems(v: &Value) -> Vec<(String, u64, String, String)> {
    v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(p["origin"], "eks", "{p}");
            (
                p["severity"].as_str().unwrap().to_string(),
                p["line"].as_u64().unwrap(),
                p["path"].as_str().unwrap().to_string(),
                p["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Every corpus file: the exit code, and for each error (line, path suffix, words of the
/// message). Files that pass are real configurations the checks must not refuse.
#[test]
fn every_rule_fails_on_the_real_file_that_breaks_it() {
    #[allow(clippy::type_complexity)]
    let cases: &[(&str, i32, &[(u64, &str, &str)])] = &[
        // Passes: the authenticator's fixture, its case-insensitive field names, a file with
        // blank lines in mapRoles, a mapRoles that kubectl edit wrote as a quoted string, and
        // the aws CLI's examples.
        ("authenticator-aws-auth.yaml", 0, &[]),
        ("authenticator-aws-auth-crazy-case-keys.yaml", 0, &[]),
        ("issue-terraform-aws-eks-579-blank-lines.yaml", 0, &[]),
        ("issue-terraform-aws-eks-305-kubectl-edit.yaml", 0, &[]),
        ("aws-cli-describe-access-entry.json", 0, &[]),
        ("aws-cli-create-access-entry-ec2-linux.json", 0, &[]),
        ("aws-cli-list-access-entries.json", 0, &[]),
        // mapRoles does not parse: every role mapping is lost (position of the break in the file).
        ("pr-opstrace-112-describe-broken-indent.yaml", 51, &[(9, "data.mapRoles", "is not valid YAML")]),
        // mapRoles is a list, not a string (the missing |).
        ("authenticator-aws-auth-missing-bar.yaml", 50, &[(8, "data.mapRoles", "not a string")]),
        // Top-level keys are case-sensitive.
        (
            "authenticator-aws-auth-lower-case-top-keys.yaml",
            50,
            &[
                (7, "data.maproles", "case-sensitive"),
                (13, "data.mapusers", "case-sensitive"),
                (18, "data.mapaccounts", "case-sensitive"),
            ],
        ),
        // Groups folded into one by an extra space.
        ("authenticator-aws-auth-space-out-of-place.yaml", 50, &[(11, "[0].groups", "two list items")]),
        // The username and groups kept the <…> of the docs.
        (
            "pr-opstrace-112-placeholders.yaml",
            50,
            &[(9, "[0].username", "placeholder"), (11, "[0].groups", "placeholder")],
        ),
        // A node role with a path.
        ("issue-terraform-aws-eks-2221-node-role-path.yaml", 50, &[(11, "[0].rolearn", "has a path")]),
        // A Fargate profile ARN where the pod execution role belongs.
        ("issue-terraform-aws-eks-1819-fargate-profile-arn.yaml", 50, &[(8, "[0].rolearn", "not an IAM role")]),
        // An instance profile ARN (derived from the authenticator's fixture).
        ("derived-authenticator-instance-profile.yaml", 50, &[(8, "[0].rolearn", "instance profile ARN")]),
        // Warnings only: a person's role with a path, an account ID of 6 digits.
        ("issue-iam-authenticator-268-role-path.yaml", 0, &[]),
        ("issue-iam-authenticator-190-accounts.yaml", 0, &[]),
    ];
    for (file, code, expected) in cases {
        let r = run(&["validate-config", &corpus(file), "-o", "json"]);
        assert_eq!(r.code, *code, "{file}: {}\n{}", r.stdout, r.stderr);
        let v = r.json();
        let errors: Vec<_> = problems(&v).into_iter().filter(|p| p.0 == "error").collect();
        assert_eq!(errors.len(), expected.len(), "{file}: {errors:#?}");
        for ((line, path, words), got) in expected.iter().zip(&errors) {
            assert!(
                got.1 == *line && got.2.ends_with(path) && got.3.contains(words),
                "{file}: expected {line} {path} {words:?}, got {got:?}"
            );
        }
        if *code != 0 {
            let f = &v["failure"];
            assert_eq!(f["stage"], "validate", "{file}");
            assert!(f["fix"].as_str().is_some_and(|s| !s.is_empty()) && f["cause"].as_str().is_some(), "{file}: {f}");
        }
        assert_eq!(v["documents"][0]["action"], "checked", "{file}");
    }
    // The warnings of the last two.
    let r = run(&["validate-config", &corpus("issue-iam-authenticator-268-role-path.yaml"), "-o", "json"]);
    let w = problems(&r.json());
    assert!(w.len() == 1 && w[0].2.ends_with("[2].rolearn") && w[0].3.contains("gitlab-ci/gitlab-runner"), "{w:?}");
    let r = run(&["validate-config", &corpus("issue-iam-authenticator-190-accounts.yaml"), "-o", "json"]);
    let w = problems(&r.json());
    assert!(w.len() == 1 && w[0].3.contains("\"555555\" is not a 12-digit"), "{w:?}");
    // --strict makes them errors.
    let r = run(&["validate-config", "--strict", &corpus("issue-iam-authenticator-190-accounts.yaml")]);
    assert_eq!(r.code, 50, "{}", r.stdout);
}

#[test]
fn every_corpus_file_has_a_source() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/eks");
    let sources = std::fs::read_to_string(dir.join("SOURCES.md")).unwrap();
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if name != "SOURCES.md" {
            assert!(sources.contains(&format!("`{name}`")), "{name} is not in tests/corpus/eks/SOURCES.md");
        }
    }
}

#[test]
fn node_role_arn_says_which_entry_maps_the_node() {
    let role = "arn:aws:iam::555555555555:role/devel-worker-nodes-NodeInstanceRole-74RF4UBDUKL6";
    let file = corpus("authenticator-aws-auth.yaml");
    let r = run(&["validate-config", &file, "--node-role-arn", role]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!("node role {role}: mapped by aws-auth mapRoles entry 0 ({file}:8) to username system:node:{{{{EC2PrivateDNSName}}}} with groups [system:bootstrappers, system:nodes]")),
        "{}",
        r.stdout
    );
    // The assumed-role ARN from `aws sts get-caller-identity` on the node, through the environment.
    let session =
        "arn:aws:sts::555555555555:assumed-role/devel-worker-nodes-NodeInstanceRole-74RF4UBDUKL6/i-0123456789abcdef0";
    let r = run_with(&["validate-config", &file, "-o", "json"], &[("JOINKIT_NODE_ROLE_ARN", session)], None);
    let m = &r.json()["nodeMapping"][0];
    assert_eq!(
        (m["mapped"].as_bool(), m["entry"].as_u64(), m["roleArn"].as_str()),
        (Some(true), Some(0), Some(role)),
        "{m}"
    );
    // Another role: not mapped; mapAccounts holds its account, which gives it no groups.
    let other = "arn:aws:iam::555555555555:role/other";
    let r = run(&["validate-config", &file, "--node-role-arn", other, "-o", "json"]);
    assert_eq!(r.code, 50);
    let v = r.json();
    assert_eq!(v["nodeMapping"][0]["by"], "aws-auth mapAccounts");
    assert!(v["failure"]["message"].as_str().unwrap().contains("is not mapped to a node identity"), "{v}");
    // The node role with its path, against the file that names it with the path.
    let r = run(&[
        "validate-config",
        &corpus("issue-terraform-aws-eks-2221-node-role-path.yaml"),
        "--node-role-arn",
        "arn:aws:iam::880459142958:role/delegatedadmin/developer/data-eks-wg-role",
    ]);
    assert_eq!(r.code, 50);
    assert!(r.stdout.contains("names the role with a path"), "{}", r.stdout);
    // An instance profile ARN is refused as usage.
    let r = run(&["validate-config", &file, "--node-role-arn", "arn:aws:iam::555555555555:instance-profile/p"]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stdout.contains("instance profile ARN"), "{}", r.stdout);
}

#[test]
fn access_entries_map_the_node_across_files() {
    let list = corpus("aws-cli-list-access-entries.json");
    let ec2 = corpus("aws-cli-create-access-entry-ec2-linux.json");
    let aws_auth = corpus("authenticator-aws-auth.yaml");
    let role = "arn:aws:iam::111122223333:role/admin-test-ip";
    // Not in aws-auth, but an EC2_LINUX access entry maps it: no error.
    let r = run(&["validate-config", &aws_auth, &list, &ec2, "--node-role-arn", role, "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let v = r.json();
    let by: Vec<&str> = v["nodeMapping"].as_array().unwrap().iter().map(|m| m["by"].as_str().unwrap()).collect();
    assert_eq!(by, ["", "access entry list", "access entry of type EC2_LINUX"]);
    // The STANDARD entry of the aws CLI's example, read as the node's: refused, and no other
    // file maps the role.
    let std_entry = corpus("aws-cli-describe-access-entry.json");
    let text = std::fs::read_to_string(&std_entry)
        .unwrap()
        .replace("user/eks-admin-user\",\n    \"kubernetesGroups", "role/node\",\n    \"kubernetesGroups");
    let r = run_with(
        &["validate-config", "-", "--node-role-arn", "arn:aws:iam::111122223333:role/node", "-o", "json"],
        &[],
        Some(text.as_bytes()),
    );
    assert_eq!(r.code, 50, "{}", r.stdout);
    let v = r.json();
    let p = problems(&v);
    assert!(
        p.iter().any(|p| p.2 == "accessEntry.type" && p.3.contains("STANDARD access entry for the node role")),
        "{p:?}"
    );
    assert!(p.iter().any(|p| p.3.contains("is not mapped to a node identity")), "{p:?}");
}

#[test]
fn kubeadm_files_are_still_kubeadms() {
    // A JoinConfiguration beside an aws-auth file: each by its own rules.
    let join = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/worker-v1beta4.yaml");
    let r = run(&["validate-config", join.to_str().unwrap(), &corpus("authenticator-aws-auth.yaml"), "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let v = r.json();
    let kinds: Vec<&str> = v["documents"].as_array().unwrap().iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["JoinConfiguration", "ConfigMap"]);
}

/// How the loopback stand-in for the instance metadata service answers.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Imds {
    /// As IMDSv2 does: a token for the PUT, the instance profile and role for GETs with it.
    Good,
    /// The token PUT is never answered (the hop limit: the answer's TTL runs out).
    SilentPut,
    /// No instance profile is attached (iam/info: 404).
    NoProfile,
}

/// Starts the stand-in on 127.0.0.1 and returns its URL and the request log ("METHOD path
/// token-header").
pub(crate) fn imds(mode: Imds) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = log.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { return };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1024];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let head = String::from_utf8_lossy(&buf).into_owned();
            let mut lines = head.lines();
            let mut first = lines.next().unwrap_or("").split(' ');
            let (method, path) = (first.next().unwrap_or("").to_string(), first.next().unwrap_or("").to_string());
            let header = |name: &str| {
                head.lines().find_map(|l| {
                    l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_string())
                })
            };
            let token = header("x-aws-ec2-metadata-token").unwrap_or_default();
            seen.lock().unwrap().push(format!("{method} {path} {token}").trim_end().to_string());
            let (status, body) = match (method.as_str(), path.as_str()) {
                ("PUT", "/latest/api/token") if mode == Imds::SilentPut => {
                    held.push(s);
                    continue;
                }
                ("PUT", "/latest/api/token") if header("x-aws-ec2-metadata-token-ttl-seconds").is_some() => (200, "tok-123".to_string()),
                ("PUT", _) => (400, String::new()),
                (_, _) if token != "tok-123" => (401, String::new()),
                ("GET", "/latest/meta-data/iam/info") if mode == Imds::NoProfile => (404, String::new()),
                ("GET", "/latest/meta-data/iam/info") => (
                    200,
                    r#"{"Code":"Success","LastUpdated":"2026-12-07T22:00:00Z","InstanceProfileArn":"arn:aws:iam::555555555555:instance-profile/eks-node-profile","InstanceProfileId":"AIPAEXAMPLE"}"#.to_string(),
                ),
                ("GET", "/latest/meta-data/iam/security-credentials/") => (200, "devel-worker-nodes-NodeInstanceRole-74RF4UBDUKL6".to_string()),
                _ => (404, String::new()),
            };
            let _ =
                write!(s, "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    (url, log)
}

#[test]
fn the_node_role_is_read_from_imdsv2_token_first() {
    let (url, log) = imds(Imds::Good);
    let file = corpus("authenticator-aws-auth.yaml");
    let env = [("AWS_EC2_METADATA_SERVICE_ENDPOINT", url.as_str())];
    let r = run_with(&["validate-config", &file, "--node-role-from-imds"], &env, None);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(&format!("node role from the instance metadata service ({url}, IMDSv2): arn:aws:iam::555555555555:role/devel-worker-nodes-NodeInstanceRole-74RF4UBDUKL6 (instance profile arn:aws:iam::555555555555:instance-profile/eks-node-profile)")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("mapped by aws-auth mapRoles entry 0"), "{}", r.stdout);
    // The token first; every read with it; the credentials themselves never asked for.
    let log = log.lock().unwrap().clone();
    assert_eq!(
        log,
        [
            "PUT /latest/api/token",
            "GET /latest/meta-data/iam/info tok-123",
            "GET /latest/meta-data/iam/security-credentials/ tok-123"
        ]
    );
    // Against a file that does not map that role: the verdict names it.
    let r = run_with(
        &["validate-config", &corpus("pr-opstrace-112-placeholders.yaml"), "--node-role-from-imds", "-o", "json"],
        &env,
        None,
    );
    assert_eq!(r.code, 50);
    assert_eq!(
        r.json()["nodeMapping"][0]["roleArn"],
        "arn:aws:iam::555555555555:role/devel-worker-nodes-NodeInstanceRole-74RF4UBDUKL6"
    );
    // --node-role-arn and --node-role-from-imds exclude each other.
    let r = run_with(
        &["validate-config", &file, "--node-role-from-imds", "--node-role-arn", "arn:aws:iam::1:role/x"],
        &env,
        None,
    );
    assert_eq!(r.code, 2);
}

#[test]
fn imds_failures_say_why() {
    let file = corpus("authenticator-aws-auth.yaml");
    // The hop limit: the token PUT never gets its answer; no IMDSv1 fallback is tried.
    let (url, log) = imds(Imds::SilentPut);
    let r = run_with(
        &["validate-config", &file, "--node-role-from-imds", "-o", "json"],
        &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", &url)],
        None,
    );
    assert_eq!(r.code, 15, "{}", r.stdout);
    let f = &r.json()["failure"];
    assert_eq!(f["stage"], "imds-token");
    assert!(
        f["cause"].as_str().unwrap().contains("HttpPutResponseHopLimit")
            && f["fix"].as_str().unwrap().contains("--http-put-response-hop-limit 2"),
        "{f}"
    );
    assert_eq!(log.lock().unwrap().clone(), ["PUT /latest/api/token"]);
    // No instance profile.
    let (url, _) = imds(Imds::NoProfile);
    let r = run_with(
        &["validate-config", &file, "--node-role-from-imds", "-o", "json"],
        &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", &url)],
        None,
    );
    assert_eq!(r.code, 3, "{}", r.stdout);
    let f = &r.json()["failure"];
    assert!(f["message"].as_str().unwrap().contains("no IAM instance profile") && f["stage"] == "imds-role", "{f}");
    // Nothing listens (a port just closed): connection refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let r = run_with(
        &["validate-config", &file, "--node-role-from-imds"],
        &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", &format!("http://127.0.0.1:{port}"))],
        None,
    );
    assert_eq!(r.code, 11, "{}", r.stdout);
    // Turned off as the SDKs turn it off; a URL that is not http://.
    let r =
        run_with(&["validate-config", &file, "--node-role-from-imds"], &[("AWS_EC2_METADATA_DISABLED", "true")], None);
    assert_eq!(r.code, 2, "{}", r.stdout);
    let r = run_with(
        &["validate-config", &file, "--node-role-from-imds"],
        &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", "https://127.0.0.1:1")],
        None,
    );
    assert_eq!(r.code, 2, "{}", r.stdout);
}
