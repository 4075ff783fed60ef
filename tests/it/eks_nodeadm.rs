//! `validate-config` on EKS node user data (nodeadm NodeConfigs, alone or in MIME parts, and
//! AL2's bootstrap.sh command line) and `render-config --format nodeadm`: the real files of
//! tests/corpus/eks (tests/corpus/eks/SOURCES.md says where each comes from), each rule shown
//! failing on the real file that breaks it, and rendered user data validated with the same rules.

use crate::common::{run, run_with};
use crate::eks_aws_auth::{corpus, problems};
use std::path::PathBuf;

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name).display().to_string()
}

/// Every NodeConfig and user-data file of the corpus: the exit code and each error (line, path
/// suffix, words of the message). Files that pass are real configurations the checks must not
/// refuse.
#[test]
fn every_nodeadm_rule_fails_on_the_real_file_that_breaks_it() {
    #[allow(clippy::type_complexity)]
    let cases: &[(&str, i32, &[(u64, &str, &str)])] = &[
        // AL2 user data rendered by terraform-aws-eks: the bootstrap.sh options exist, the values
        // in variables are not judged.
        ("tf-eks-al2-self-mng-bootstrap.sh", 0, &[]),
        ("tf-eks-al2-self-mng-bootstrap-ipv6.sh", 0, &[]),
        // A managed node group's additional NodeConfig: no cluster, a warning (EKS adds it).
        ("tf-eks-al2023-eks-mng-additional.txt", 0, &[]),
        // nodeadm's own e2e case: an unknown field is dropped, so the name is missing (and the
        // documented placeholder CA is no certificate).
        (
            "eks-ami-e2e-config-check-bad.yaml",
            50,
            &[
                (6, "spec.cluster.name", "Name is missing in cluster configuration"),
                (8, "spec.cluster.certificateAuthority", "expected a PEM or DER certificate"),
            ],
        ),
        // The docs' placeholder CA (base64 of the word "certificateAuthority"): nodeadm config
        // check accepts it, no kubelet can verify the API server with it.
        (
            "eks-ami-e2e-config-check-good.yaml",
            50,
            &[(8, "spec.cluster.certificateAuthority", "nodeadm config check accepts it")],
        ),
        // Two NodeConfig parts merged (the CA check finds the merged value in the first part).
        ("eks-ami-e2e-mime-userdata-merge.txt", 50, &[(14, "spec.cluster.certificateAuthority", "PEM or DER")]),
        // terraform-aws-eks' test CA is a truncated certificate.
        (
            "tf-eks-al2023-self-mng-custom-template.txt",
            50,
            &[(31, "spec.cluster.certificateAuthority", "not a valid X.509 certificate")],
        ),
        // amazon-eks-ami#2052: apiVersion node.eks.aws/v1alpha, and <placeholders> for the values.
        (
            "issue-eks-ami-2052-v1alpha.txt",
            50,
            &[
                (10, "apiVersion", "no kind \"NodeConfig\" is registered for version \"node.eks.aws/v1alpha\""),
                (16, "spec.cluster.certificateAuthority", "illegal base64 data at input byte 0"),
            ],
        ),
        // amazon-eks-ami#1701: no blank line after the top-level headers.
        (
            "issue-eks-ami-1701-headers-without-blank-line.txt",
            50,
            &[(3, "", "malformed MIME header line: --==MYBOUNDARY==")],
        ),
        // The same user data with the two blank lines added: now the parts are read, and the
        // bootstrap.sh values the author shortened, the last line (`--==MYBOUNDARY==--[`, so no
        // closing boundary) and the AL2/AL2023 mix are found.
        (
            "derived-issue-eks-ami-1701-blank-lines-added.txt",
            50,
            &[
                (10, "--b64-cluster-ca", "illegal base64 data"),
                (11, "--apiserver-endpoint", "neither an IP address nor a valid DNS name"),
                (28, "", "the closing boundary line \"--==MYBOUNDARY==--\" is missing"),
                (28, "", "YAML syntax error"),
            ],
        ),
        // amazon-eks-ami#2318: no blank line between a part's headers and its script.
        (
            "issue-eks-ami-2318-part-header-without-blank-line.txt",
            50,
            &[(6, "", "malformed MIME header line: #!/bin/bash")],
        ),
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
            assert!(f["fix"].as_str().is_some_and(|s| !s.is_empty()), "{file}: {f}");
        }
    }
    // The unknown field of nodeadm's e2e case is a warning at its line; --strict makes the
    // managed-node-group warning an error.
    let r = run(&["validate-config", &corpus("eks-ami-e2e-config-check-bad.yaml"), "-o", "json"]);
    let w: Vec<_> = problems(&r.json()).into_iter().filter(|p| p.0 == "warning").collect();
    assert!(w.len() == 1 && w[0].1 == 6 && w[0].3.contains("unknown field \"name-not-real\""), "{w:?}");
    let r = run(&["validate-config", &corpus("derived-issue-eks-ami-1701-blank-lines-added.txt"), "-o", "json"]);
    let w: Vec<_> = problems(&r.json()).into_iter().filter(|p| p.0 == "warning").collect();
    assert!(
        w.iter().any(|p| p.1 == 1 && p.3.contains("both a NodeConfig (nodeadm, AL2023) and a bootstrap.sh call")),
        "{w:?}"
    );
    let r = run(&["validate-config", "--strict", &corpus("tf-eks-al2023-eks-mng-additional.txt")]);
    assert_eq!(r.code, 50, "{}", r.stdout);
}

#[test]
fn bootstrap_sh_command_lines_follow_the_scripts_parser() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    // An option bootstrap.sh does not have (a kubelet flag given to the script).
    let f = write("a.sh", "#!/bin/bash\nset -ex\n/etc/eks/bootstrap.sh my-cluster \\\n  --max-pods 30 \\\n  --kubelet-extra-args '--node-labels=a=b'\n");
    let r = run(&["validate-config", &f, "-o", "json"]);
    assert_eq!(r.code, 50, "{}", r.stdout);
    let p = problems(&r.json());
    assert!(
        p.iter().any(|x| x.0 == "error" && x.1 == 4 && x.2 == "--max-pods" && x.3.contains("no option --max-pods")),
        "{p:?}"
    );
    // The cluster name missing, an http endpoint, an invalid ip family.
    let f = write(
        "b.sh",
        "#!/bin/bash\n/etc/eks/bootstrap.sh --apiserver-endpoint http://x.eks.amazonaws.com --ip-family ip4\n",
    );
    let r = run(&["validate-config", &f, "-o", "json"]);
    let p = problems(&r.json());
    for words in
        ["cluster name is not defined!", "not an https:// URL", "Invalid --ip-family. Only ipv4 or ipv6 are allowed"]
    {
        assert!(p.iter().any(|x| x.0 == "error" && x.3.contains(words)), "{words}: {p:?}");
    }
}

#[test]
fn render_config_nodeadm_writes_user_data_that_validates() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("user-data.txt");
    let ca = fixture("client-cert-v1/ca.crt");
    let args = [
        "render-config",
        "https://0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com",
        "--format",
        "nodeadm",
        "--ca-cert",
        &ca,
        "--kubelet-arg",
        "node-labels=role=gpu",
        "--taint",
        "dedicated=gpu:NoSchedule",
        "--output-file",
        out.to_str().unwrap(),
    ];
    let env = [
        ("JOINKIT_EKS_CLUSTER_NAME", "my-cluster"),
        ("JOINKIT_EKS_SERVICE_CIDR", "10.100.0.0/16"),
        ("JOINKIT_TOKEN", "abcdef.0123456789abcdef"),
    ];
    let r = run_with(&args, &env, None);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // The token has no place in a NodeConfig: ignored, with a note, and not written.
    assert!(r.stderr.contains("ignores --token"), "{}", r.stderr);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(!text.contains("0123456789abcdef"), "{text}");
    assert!(text.starts_with("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"BOUNDARY\"\n"), "{text}");
    assert!(
        text.contains("Content-Type: application/node.eks.aws\n")
            && text.contains("- \"--register-with-taints=dedicated=gpu:NoSchedule\""),
        "{text}"
    );
    // validate-config reads it back with the same rules: clean.
    let r = run(&["validate-config", "--strict", out.to_str().unwrap(), "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.json()["problems"].as_array().unwrap().len(), 0);
    // Without the cluster name: nodeadm's own message, and nothing is written.
    let out2 = dir.path().join("none.txt");
    let mut args2 = args.to_vec();
    let o2 = out2.to_str().unwrap().to_string();
    *args2.last_mut().unwrap() = &o2;
    let r = run_with(&args2, &[("JOINKIT_EKS_SERVICE_CIDR", "10.100.0.0/16")], None);
    assert_eq!(r.code, 50, "{}", r.stderr);
    let both = format!("{}{}", r.stdout, r.stderr);
    assert!(both.contains("Name is missing in cluster configuration"), "{both}");
    assert!(!out2.exists());
    // --node-name has no NodeConfig field: usage.
    let r = run_with(&[&args[..], &["--node-name", "n1"]].concat(), &env, None);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
}
