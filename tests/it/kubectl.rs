//! The real kubectl reads cluster-info from the lab, anonymously, and what it reads verifies
//! with joinkit; the lab's 401 reaches kubectl as "Unauthorized". (kubectl prompts for a user
//! name when a kubeconfig user has no credentials; a user name alone sends a Basic header,
//! which API servers since 1.19 ignore, so the request stays anonymous.)

use crate::common;
use common::{lab, run_with};
use joinkit_lab::Scenario;
use std::process::Command;

const KUBECTL: &str = "/usr/bin/kubectl";

fn kubeconfig(l: &joinkit_lab::Lab, dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::write(dir.join("ca.crt"), &l.info.ca_cert_pem).unwrap();
    let kc = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: lab\n  cluster:\n    server: https://{}\n    certificate-authority: {}\ncontexts:\n- name: lab\n  context: {{cluster: lab, user: anonymous}}\ncurrent-context: lab\nusers:\n- name: anonymous\n  user: {{username: anonymous}}\n",
        l.endpoint(),
        dir.join("ca.crt").display()
    );
    let p = dir.join("config");
    std::fs::write(&p, kc).unwrap();
    p
}

fn kubectl(kc: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(KUBECTL)
        .arg("--kubeconfig")
        .arg(kc)
        .args(args)
        .env("HOME", kc.parent().unwrap())
        .env_remove("KUBECONFIG")
        .output()
        .expect("/usr/bin/kubectl runs")
}

#[test]
fn kubectl_reads_cluster_info_from_the_lab() {
    let l = lab(Scenario::Healthy);
    let dir = tempfile::tempdir().unwrap();
    let kc = kubeconfig(&l, dir.path());
    let out = kubectl(&kc, &["get", "--raw", "/api/v1/namespaces/kube-public/configmaps/cluster-info"]);
    assert!(out.status.success(), "kubectl failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kind"], "ConfigMap");
    // What kubectl read verifies offline with the token and pin.
    let r = run_with(
        &["verify-discovery", "--cluster-info-file", "-", "--discovery-token-ca-cert-hash", &l.info.ca_pin],
        &[("JOINKIT_TOKEN", &l.info.token)],
        Some(&out.stdout),
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    // /version and /readyz work anonymously, as on a real cluster.
    let out = kubectl(&kc, &["get", "--raw", "/version"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("gitVersion"));
    // Anything else is forbidden for system:anonymous, and kubectl shows the server's message.
    let out = kubectl(&kc, &["get", "--raw", "/api/v1/namespaces/kube-system/secrets/bootstrap-token-x"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("system:anonymous"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A bad token gets the bare 401.
    let server = format!("https://{}", l.endpoint());
    let ca = dir.path().join("ca.crt");
    let out = Command::new(KUBECTL)
        .args(["--kubeconfig", "/dev/null", "--server", &server, "--certificate-authority", ca.to_str().unwrap()])
        .args(["--token", "abcdef.0123456789abcdef", "get", "--raw", "/version"])
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Unauthorized"), "{}", String::from_utf8_lossy(&out.stderr));
}
