use super::*;
use crate::config::{check_text, Severity};

const GOOD: &str = "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n    name: my-cluster\n    apiServerEndpoint: https://example.com\n    certificateAuthority: Y2VydGlmaWNhdGVBdXRob3JpdHk=\n    cidr: 10.100.0.0/16\n";

fn errors(text: &str) -> Vec<(usize, String, String)> {
    check_text("f", text)
        .problems
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| (p.line, p.path, p.message))
        .collect()
}

#[test]
fn recognises_by_content() {
    assert_eq!(recognise(GOOD), Some(UserDataKind::NodeConfig));
    assert_eq!(recognise("#!/bin/bash\n/etc/eks/bootstrap.sh c\n"), Some(UserDataKind::Script));
    assert_eq!(
        recognise("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n\n--B\n--B--\n"),
        Some(UserDataKind::Mime)
    );
    assert_eq!(recognise("apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\n"), None);
}

#[test]
fn each_missing_field_gives_nodeadms_message_in_its_order() {
    for (drop, msg) in [
        ("name:", "Name is missing in cluster configuration"),
        ("apiServerEndpoint:", "Apiserver endpoint is missing in cluster configuration"),
        ("certificateAuthority:", "Certificate authority is missing in cluster configuration"),
        ("cidr:", "CIDR is missing in cluster configuration"),
    ] {
        let text: String =
            GOOD.lines().filter(|l| !l.trim_start().starts_with(drop)).map(|l| format!("{l}\n")).collect();
        let e = errors(&text);
        assert!(e.iter().any(|(line, _, m)| *line == 5 && m.starts_with(msg)), "{drop}: {e:?}");
    }
}

#[test]
fn unknown_field_is_dropped_so_the_name_is_missing() {
    // nodeadm's e2e config-check/config-bad.yaml.
    let text = GOOD.replace("    name: my-cluster", "    name-not-real: my-cluster");
    let r = check_text("f", &text);
    let w: Vec<_> = r.problems.iter().map(|p| (p.severity, p.line, p.message.clone())).collect();
    assert!(w.iter().any(|(s, l, m)| *s == Severity::Warning && *l == 5 && m.contains("unknown field")), "{w:?}");
    assert!(w.iter().any(|(s, _, m)| *s == Severity::Error && m.starts_with("Name is missing")), "{w:?}");
}

#[test]
fn ca_must_be_base64_of_a_ca_certificate_and_endpoint_https() {
    // The documented example's CA is base64 of the text "certificateAuthority": no certificate.
    let e = errors(GOOD);
    assert!(e.iter().any(|(l, p, _)| *l == 7 && p == "spec.cluster.certificateAuthority"), "{e:?}");
    let e = errors(&GOOD.replace("Y2VydGlmaWNhdGVBdXRob3JpdHk=", "not base64!"));
    assert!(e.iter().any(|(_, _, m)| m.contains("illegal base64 data at input byte 3")), "{e:?}");
    let e = errors(&GOOD.replace("https://example.com", "http://example.com"));
    assert!(e.iter().any(|(l, _, m)| *l == 6 && m.contains("not an https:// URL")), "{e:?}");
    let e = errors(&GOOD.replace("10.100.0.0/16", "10.100.0.0"));
    assert!(e.iter().any(|(_, _, m)| m.starts_with("10.100.0.0 is not a valid IP Address")), "{e:?}");
    let e = errors(&GOOD.replace("name: my-cluster", "name: arn:aws:eks:us-west-2:111122223333:cluster/my-cluster"));
    assert!(e.iter().any(|(_, p, m)| p == "spec.cluster.name" && m.contains("cannot be an EKS cluster name")), "{e:?}");
}

#[test]
fn mime_parts_merge_later_wins_and_closing_boundary_is_required() {
    let part = |body: &str| format!("--B\nContent-Type: application/node.eks.aws\n\n{body}\n");
    let first = GOOD.replace("    cidr: 10.100.0.0/16\n", "");
    let second = "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n    cidr: 172.20.0.0/16\n";
    let text = format!(
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n\n{}{}--B--\n",
        part(&first),
        part(second)
    );
    let m = split_mime(&text);
    assert!(m.error.is_none());
    let cs = node_configs(&text, false);
    assert_eq!(cs.len(), 2);
    let mut c = Cluster::default();
    for x in &cs {
        c.merge(x, "u");
    }
    assert_eq!((c.name.value.as_str(), c.cidr.value.as_str()), ("my-cluster", "172.20.0.0/16"));
    assert!(errors(&text).iter().all(|(_, _, m)| !m.contains("is missing")), "{:?}", errors(&text));
    let open = text.replace("--B--\n", "");
    assert!(errors(&open).iter().any(|(_, _, m)| m.contains("closing boundary")), "{:?}", errors(&open));
}

#[test]
fn bootstrap_sh_options_are_the_scripts() {
    let e = errors("#!/bin/bash\nset -ex\n/etc/eks/bootstrap.sh my-cluster \\\n  --kubelet-extra-args '--node-labels=a=b' \\\n  --max-pods 20\n");
    assert!(e.iter().any(|(l, p, m)| *l == 5 && p == "--max-pods" && m.contains("no option --max-pods")), "{e:?}");
    let e = errors("#!/bin/bash\n/etc/eks/bootstrap.sh --apiserver-endpoint https://x.eks.amazonaws.com\n");
    assert!(e.iter().any(|(_, _, m)| m.starts_with("cluster name is not defined!")), "{e:?}");
    let e = errors("#!/bin/bash\n/etc/eks/bootstrap.sh c --ip-family IPv5\n");
    assert!(e.iter().any(|(_, _, m)| m.starts_with("Invalid --ip-family")), "{e:?}");
    // Expansions are not judged.
    assert!(errors("#!/bin/bash\n/etc/eks/bootstrap.sh ${ClusterName} ${BootstrapArguments}\n").is_empty());
    let e = errors("#!/bin/bash\n/etc/eks/bootstrap.sh c --b64-cluster-ca\n");
    assert!(e.iter().any(|(_, _, m)| m.contains("unbound variable")), "{e:?}");
}

#[test]
fn diagnose_reads_mime_user_data_and_the_json_cache() {
    let mime = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"BOUNDARY\"\n\n--BOUNDARY\nContent-Type: application/node.eks.aws\n\n---\napiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n    name: my-cluster\n    apiServerEndpoint: https://example.com\n    certificateAuthority: Y2VydGlmaWNhdGVBdXRob3JpdHk=\n    cidr: 10.100.0.0/16\n\n--BOUNDARY\nContent-Type: text/x-shellscript\n\n#!/bin/bash\necho hi\n--BOUNDARY--\n";
    let v = node_configs(mime, false);
    assert_eq!(v.len(), 1, "{v:?}");
    let mut c = Cluster::default();
    c.merge(&v[0], "user-data");
    assert_eq!(
        (c.name.value.as_str(), c.endpoint.value.as_str(), c.cidr.value.as_str()),
        ("my-cluster", "https://example.com", "10.100.0.0/16")
    );
    let json = r#"{"metadata":{"creationTimestamp":null},"spec":{"cluster":{"name":"other","apiServerEndpoint":"https://x.eks.amazonaws.com","certificateAuthority":"QQ==","cidr":"172.20.0.0/16"}}}"#;
    let v = node_configs(json, true);
    assert_eq!(v.len(), 1);
    c.merge(&v[0], "cache");
    assert_eq!(c.name.value, "other");
    assert_eq!(c.sources, ["user-data", "cache"]);
    assert!(node_configs("#!/bin/bash\n/etc/eks/bootstrap.sh my-cluster\n", false).is_empty());
}

#[test]
fn json_and_broken_yaml_node_configs_are_recognised_and_checked() {
    let json = r#"{"apiVersion":"node.eks.aws/v1alpha1","kind":"NodeConfig","spec":{"cluster":{"name":"c","apiServerEndpoint":"https://x.eks.amazonaws.com","certificateAuthority":"QQ==","cidr":"10.100.0.0/16","apiserverEndpoint":"x"}}}"#;
    assert_eq!(recognise(json), Some(UserDataKind::NodeConfig));
    let r = check_text("f", json);
    assert!(r.problems.iter().any(|p| p.message.contains("did you mean apiServerEndpoint?")), "{:?}", r.problems);
    let broken =
        "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n    name: c\n   cidr: 10.0.0.0/16\n";
    assert_eq!(recognise(broken), Some(UserDataKind::NodeConfig));
    let r = check_text("f", broken);
    assert_eq!(r.code, Some(crate::error::Code::ConfigYamlSyntax), "{:?}", r.problems);
}
