//! deploy/ (the CSR approver's manifests; docs/csr-approver.md) holds what the spec says and
//! nothing broader. Statically: every deploy/*.yaml parsed (serde-saphyr) and checked object by
//! object (the exact set of objects, the Deployment's hardening, every RBAC rule), the
//! Kustomization renders the same objects, the docs name every check. On a real control plane
//! (`../shared/k8s/control-plane`, v1.24 and v1.36; skipped with a notice without it, a failure
//! under CI): `kubectl apply` of deploy/ for real (server-side validation and admission of every
//! object, Pod Security "restricted" included), then what the ServiceAccount may and may not do,
//! asked as SubjectAccessReviews and `kubectl auth can-i`, and done for real: approving and
//! denying kubelet-serving CSRs works, approving or denying any other signer's is refused by
//! kube-apiserver's signer check.

use crate::k8s::{CaAlgo, Cluster, Version, KUBECTL};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

const NS: &str = "joinkit-system";
const NAME: &str = "joinkit-csr-approver";
const SA_USER: &str = "system:serviceaccount:joinkit-system:joinkit-csr-approver";
const SA_GROUPS: &[&str] = &["system:serviceaccounts", "system:serviceaccounts:joinkit-system", "system:authenticated"];
const SERVING: &str = "kubernetes.io/kubelet-serving";
const CERTS: &str = "certificates.k8s.io";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn deploy_dir() -> PathBuf {
    root().join("deploy")
}

/// deploy/'s YAML files, sorted (what `kubectl apply -f deploy/` reads).
fn yaml_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy_dir())
        .expect("deploy/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")))
        .collect();
    files.sort();
    files
}

/// Every object in deploy/*.yaml, with its file name.
fn objects() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for f in yaml_files() {
        let text = std::fs::read_to_string(&f).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("deploy/{name} does not parse: {e}"));
        for d in docs.into_iter().filter(|d| !d.is_null()) {
            out.push((name.clone(), d));
        }
    }
    out
}

/// (kind, namespace, name) of an object.
fn key(v: &Value) -> (String, String, String) {
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or("").to_string();
    (s("/kind"), s("/metadata/namespace"), s("/metadata/name"))
}

fn find<'a>(objs: &'a [(String, Value)], kind: &str, ns: &str, name: &str) -> &'a Value {
    objs.iter()
        .map(|(_, v)| v)
        .find(|v| key(v) == (kind.into(), ns.into(), name.into()))
        .unwrap_or_else(|| panic!("deploy/ has no {kind} {ns}/{name}"))
}

/// The objects of the spec: (apiVersion, kind, namespace, name).
const SPEC_OBJECTS: &[(&str, &str, &str, &str)] = &[
    ("v1", "Namespace", "", NS),
    ("v1", "ServiceAccount", NS, NAME),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", "", "joinkit:csr-approver"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "", "joinkit:csr-approver"),
    ("rbac.authorization.k8s.io/v1", "Role", "default", "joinkit:csr-approver-events"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", "default", "joinkit:csr-approver-events"),
    ("rbac.authorization.k8s.io/v1", "Role", NS, "joinkit:csr-approver-lease"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", NS, "joinkit:csr-approver-lease"),
    ("rbac.authorization.k8s.io/v1", "Role", "kube-system", "joinkit:csr-approver-kubeadm-config"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", "kube-system", "joinkit:csr-approver-kubeadm-config"),
    ("coordination.k8s.io/v1", "Lease", NS, NAME),
    ("apps/v1", "Deployment", NS, NAME),
];

/// A rule as a comparable value: (apiGroups, resources, resourceNames, verbs), each sorted.
type Rule = (Vec<String>, Vec<String>, Vec<String>, Vec<String>);

fn rule(v: &Value) -> Rule {
    let list = |k: &str| -> Vec<String> {
        let mut l: Vec<String> =
            v[k].as_array().map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect()).unwrap_or_default();
        l.sort();
        l
    };
    for k in v.as_object().unwrap().keys() {
        assert!(
            ["apiGroups", "resources", "resourceNames", "verbs"].contains(&k.as_str()),
            "unexpected rule field {k}: {v}"
        );
    }
    (list("apiGroups"), list("resources"), list("resourceNames"), list("verbs"))
}

fn r(groups: &[&str], resources: &[&str], names: &[&str], verbs: &[&str]) -> Rule {
    let s = |l: &[&str]| {
        let mut v: Vec<String> = l.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    (s(groups), s(resources), s(names), s(verbs))
}

fn rules_of(obj: &Value) -> Vec<Rule> {
    let mut rules: Vec<Rule> = obj["rules"].as_array().expect("rules").iter().map(rule).collect();
    rules.sort();
    rules
}

/// The rules of the spec, per role.
fn spec_rules() -> Vec<(&'static str, &'static str, &'static str, Vec<Rule>)> {
    let mut cluster = vec![
        r(&[CERTS], &["certificatesigningrequests"], &[], &["get", "list", "watch"]),
        r(&[CERTS], &["certificatesigningrequests/approval"], &[], &["update"]),
        r(&[CERTS], &["signers"], &[SERVING], &["approve"]),
        r(&[""], &["nodes"], &[], &["get", "list", "watch"]),
    ];
    cluster.sort();
    vec![
        ("ClusterRole", "", "joinkit:csr-approver", cluster),
        (
            "Role",
            "default",
            "joinkit:csr-approver-events",
            vec![r(&["events.k8s.io"], &["events"], &[], &["create", "patch"])],
        ),
        (
            "Role",
            NS,
            "joinkit:csr-approver-lease",
            vec![r(&["coordination.k8s.io"], &["leases"], &[NAME], &["get", "patch"])],
        ),
        (
            "Role",
            "kube-system",
            "joinkit:csr-approver-kubeadm-config",
            vec![r(&[""], &["configmaps"], &["kubeadm-config"], &["get"])],
        ),
    ]
}

#[test]
fn deploy_has_exactly_the_specs_objects_and_the_kustomization_renders_them() {
    let objs = objects();
    let have: Vec<(String, String, String, String)> = objs
        .iter()
        .map(|(_, v)| {
            let (k, ns, n) = key(v);
            (v["apiVersion"].as_str().unwrap_or("").to_string(), k, ns, n)
        })
        .collect();
    let mut want: Vec<(String, String, String, String)> = SPEC_OBJECTS
        .iter()
        .map(|(a, k, ns, n)| (a.to_string(), k.to_string(), ns.to_string(), n.to_string()))
        .collect();
    let mut sorted = have.clone();
    sorted.sort();
    want.sort();
    assert_eq!(sorted, want, "deploy/*.yaml holds other objects than the spec's");
    // The file names the brief and docs use, each holding its part.
    for (file, kinds) in [
        ("namespace.yaml", &["Namespace"][..]),
        ("rbac.yaml", &["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"][..]),
        ("lease.yaml", &["Lease"][..]),
        ("deployment.yaml", &["Deployment"][..]),
    ] {
        let in_file: BTreeSet<&str> =
            objs.iter().filter(|(f, _)| f == file).map(|(_, v)| v["kind"].as_str().unwrap()).collect();
        assert_eq!(in_file, kinds.iter().copied().collect::<BTreeSet<_>>(), "deploy/{file}");
    }
    // Every object carries the app label (`kubectl get ... -l` finds all of them).
    for (f, v) in &objs {
        assert_eq!(v.pointer("/metadata/labels/app.kubernetes.io~1name"), Some(&json!(NAME)), "{f}: {:?}", key(v));
    }
    // No kustomization.yaml: `kubectl apply -f deploy/` would try to create a Kustomization
    // object from it. The Kustomization lists exactly the YAML files.
    assert!(!deploy_dir().join("kustomization.yaml").exists() && !deploy_dir().join("kustomization.yml").exists());
    let k: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(deploy_dir().join("Kustomization")).unwrap()).unwrap();
    let listed: BTreeSet<String> =
        k["resources"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect();
    let files: BTreeSet<String> =
        yaml_files().iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(listed, files, "deploy/Kustomization's resources");
    // `kubectl kustomize deploy/` (kustomize as built into kubectl; offline) renders the same
    // objects, unchanged.
    let out = Command::new(KUBECTL).arg("kustomize").arg(deploy_dir()).env_remove("KUBECONFIG").output().unwrap();
    assert!(out.status.success(), "kubectl kustomize deploy/: {}", String::from_utf8_lossy(&out.stderr));
    let rendered: Vec<Value> = serde_saphyr::from_multiple(&String::from_utf8(out.stdout).unwrap()).unwrap();
    let rendered: Vec<Value> = rendered.into_iter().filter(|v| !v.is_null()).collect();
    assert_eq!(rendered.len(), objs.len(), "kustomize renders {} objects", rendered.len());
    for v in &rendered {
        let mine = find(&objs, &key(v).0, &key(v).1, &key(v).2);
        assert_eq!(v, mine, "kustomize changes {:?}", key(v));
    }
}

#[test]
fn deploy_deployment_runs_the_approver_hardened() {
    let objs = objects();
    let d = find(&objs, "Deployment", NS, NAME);
    let spec = &d["spec"];
    assert_eq!(spec["replicas"], 2);
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], NAME);
    // The selector selects the template's pods.
    for (k, v) in spec["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(&spec["template"]["metadata"]["labels"][k], v, "selector label {k}");
    }
    // Tolerates the control-plane taint.
    assert!(
        pod["tolerations"].as_array().unwrap().iter().any(|t| t["key"] == "node-role.kubernetes.io/control-plane"
            && t["operator"] == "Exists"
            && t["effect"] == "NoSchedule"),
        "{}",
        pod["tolerations"]
    );
    // Pod level: non-root, seccomp.
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
    assert!(pod["securityContext"]["runAsUser"].as_u64().is_some_and(|u| u > 0), "a numeric non-root UID");
    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    assert!(pod.get("initContainers").is_none() && pod.get("hostNetwork").is_none() && pod.get("volumes").is_none());
    let c = &containers[0];
    assert_eq!(c["image"], "ghcr.io/joinkit/joinkit:0.1.0");
    assert!(c.get("command").is_none(), "the image's entrypoint is joinkit; only args are set");
    let args: Vec<&str> = c["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(args[..2], ["csr", "approver"], "{args:?}");
    for a in ["--metrics-bind-address=:8080", "--health-probe-bind-address=:8081"] {
        assert!(args.contains(&a), "{a} in {args:?}");
    }
    // POD_NAME from the downward API (the leader-election identity).
    let env = c["env"].as_array().unwrap();
    let pod_name = env.iter().find(|e| e["name"] == "POD_NAME").expect("POD_NAME");
    assert_eq!(pod_name["valueFrom"]["fieldRef"]["fieldPath"], "metadata.name");
    // Container level.
    let sc = &c["securityContext"];
    assert_eq!(sc["runAsNonRoot"], true);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_ne!(sc["privileged"], true);
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
    assert!(sc["capabilities"].get("add").is_none(), "no capability added");
    assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
    // Requests and limits for CPU and memory.
    for kind in ["requests", "limits"] {
        for res in ["cpu", "memory"] {
            assert!(c["resources"][kind][res].as_str().is_some_and(|s| !s.is_empty()), "resources.{kind}.{res}");
        }
    }
    // Probes on the health port: liveness /healthz, readiness /readyz.
    let ports = c["ports"].as_array().unwrap();
    let port_of = |name: &str| ports.iter().find(|p| p["name"] == name).map(|p| p["containerPort"].clone());
    assert_eq!(port_of("health"), Some(json!(8081)));
    assert_eq!(port_of("metrics"), Some(json!(8080)));
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        let g = &c[probe]["httpGet"];
        assert_eq!(g["path"], path, "{probe}");
        assert!(g["port"] == "health" || g["port"] == 8081, "{probe} port {}", g["port"]);
    }
    // The namespace enforces Pod Security "restricted", which this pod meets (checked for real
    // by the control-plane tests below).
    let ns = find(&objs, "Namespace", "", NS);
    assert_eq!(ns.pointer("/metadata/labels/pod-security.kubernetes.io~1enforce"), Some(&json!("restricted")));
    // The Lease ships without a holder: `kubectl apply` never resets the leader's fields.
    let lease = find(&objs, "Lease", NS, NAME);
    assert!(lease["spec"].as_object().is_none_or(|s| s.is_empty()), "{}", lease["spec"]);
}

#[test]
fn deploy_rbac_is_exactly_the_specs_and_nothing_broader() {
    let objs = objects();
    // No wildcard and no non-resource URL anywhere; `approve` only on the kubelet-serving signer.
    for (f, v) in &objs {
        let Some(rules) = v.get("rules").and_then(Value::as_array) else { continue };
        for ru in rules {
            assert!(ru.get("nonResourceURLs").is_none(), "{f}: {ru}");
            let (g, res, names, verbs) = rule(ru);
            for s in g.iter().chain(&res).chain(&names).chain(&verbs) {
                assert!(!s.contains('*'), "{f}: wildcard in {ru}");
            }
            if verbs.contains(&"approve".to_string()) || res.contains(&"signers".to_string()) {
                assert_eq!((g, res, names, verbs), r(&[CERTS], &["signers"], &[SERVING], &["approve"]), "{f}");
            }
        }
    }
    for (kind, ns, name, want) in spec_rules() {
        assert_eq!(rules_of(find(&objs, kind, ns, name)), want, "{kind} {ns}/{name}");
    }
    // Each binding gives its own role to the ServiceAccount alone.
    for (kind, ns, name, role_kind) in [
        ("ClusterRoleBinding", "", "joinkit:csr-approver", "ClusterRole"),
        ("RoleBinding", "default", "joinkit:csr-approver-events", "Role"),
        ("RoleBinding", NS, "joinkit:csr-approver-lease", "Role"),
        ("RoleBinding", "kube-system", "joinkit:csr-approver-kubeadm-config", "Role"),
    ] {
        let b = find(&objs, kind, ns, name);
        assert_eq!(
            b["roleRef"],
            json!({"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": name}),
            "{name}"
        );
        assert_eq!(b["subjects"], json!([{"kind": "ServiceAccount", "name": NAME, "namespace": NS}]), "{name}");
    }
    // No other role or binding (checked by the object list too, stated here for RBAC).
    let rbac: Vec<_> = objs.iter().filter(|(_, v)| v["kind"].as_str().unwrap().contains("Role")).collect();
    assert_eq!(rbac.len(), 8);
}

#[test]
fn deploy_docs_name_every_check_metric_and_object() {
    use joinkit_core::report::StageId;
    let doc = std::fs::read_to_string(root().join("docs/csr-approver.md")).expect("docs/csr-approver.md");
    for c in joinkit_core::csr::CsrCheck::ALL {
        // autoapprove-binding judges kubelet client CSRs, which the approver leaves alone.
        if c.name() != "autoapprove-binding" {
            assert!(
                doc.contains(&format!("`{}`", c.name())),
                "docs/csr-approver.md does not describe the check {}",
                c.name()
            );
        }
    }
    for m in [
        "joinkit_csr_approver_decisions_total",
        "joinkit_csr_approver_check_failures_total",
        "joinkit_csr_approver_decision_latency_seconds",
        "joinkit_csr_approver_leader",
        "joinkit_csr_approver_errors_total",
        "/healthz",
        "/readyz",
        "serverTLSBootstrap: true",
        "--on-failure",
        "GHSA-x7j5-fww5-mqmv",
        "kubelet-serving-cert-approver/issues/337",
        "https://kubernetes.io/docs/reference/access-authn-authz/certificate-signing-requests/",
    ] {
        assert!(doc.contains(m), "docs/csr-approver.md does not mention {m}");
    }
    for (_, _, _, name) in SPEC_OBJECTS {
        assert!(doc.contains(name), "docs/csr-approver.md does not name {name}");
    }
    // Relative links resolve.
    for part in doc.split("](").skip(1) {
        let target = part.split([')', '#']).next().unwrap();
        if !target.is_empty() && !target.contains("://") {
            assert!(root().join("docs").join(target).exists(), "docs/csr-approver.md links to missing {target}");
        }
    }
    // The README's section, right after `joinkit csr approver`'s, points at the page.
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let csr = readme.find("### `joinkit csr approver`").expect("README's joinkit csr approver section");
    let next = csr + 3 + readme[csr + 3..].find("\n#").expect("a section after joinkit csr's") + 1;
    let section = &readme[next..];
    assert!(
        section.starts_with("### Deploying the CSR approver\n"),
        "README: after `joinkit csr approver` comes {:?}",
        &section[..40]
    );
    let end = section[3..].find("\n#").map_or(section.len(), |i| i + 3);
    assert!(section[..end].contains("(docs/csr-approver.md)"), "README's deploy section links docs/csr-approver.md");
}

// ---------------------------------------------------------------------------------------------
// On a real control plane

/// kubectl as the approver's ServiceAccount (impersonated by the admin).
fn as_sa(c: &Cluster, args: &[&str], stdin: Option<&str>) -> Output {
    let mut a = args.to_vec();
    a.extend(["--as", SA_USER]);
    c.kubectl_out(&a, stdin)
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn assert_ok(o: &Output, what: &str, label: &str) {
    assert!(o.status.success(), "{label}: {what}: {}", text(o));
}

fn assert_forbidden(o: &Output, what: &str, label: &str) {
    assert!(!o.status.success() && text(o).contains("forbidden"), "{label}: {what} should be forbidden: {}", text(o));
}

/// One access question: verb, API group, resource, subresource, name, namespace, and whether the
/// ServiceAccount may.
type Access = (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str, bool);

fn access_table() -> Vec<Access> {
    let e = "events.k8s.io";
    let co = "coordination.k8s.io";
    vec![
        // What the approver does.
        ("approve", CERTS, "signers", "", SERVING, "", true),
        ("update", CERTS, "certificatesigningrequests", "approval", "", "", true),
        ("update", CERTS, "certificatesigningrequests", "approval", "csr-abc12", "", true),
        ("get", CERTS, "certificatesigningrequests", "", "csr-abc12", "", true),
        ("list", CERTS, "certificatesigningrequests", "", "", "", true),
        ("watch", CERTS, "certificatesigningrequests", "", "", "", true),
        ("get", "", "nodes", "", "worker-1", "", true),
        ("list", "", "nodes", "", "", "", true),
        ("watch", "", "nodes", "", "", "", true),
        ("get", "", "configmaps", "", "kubeadm-config", "kube-system", true),
        ("get", co, "leases", "", NAME, NS, true),
        ("update", co, "leases", "", NAME, NS, false),
        ("patch", co, "leases", "", NAME, NS, true),
        ("create", e, "events", "", "", "default", true),
        ("patch", e, "events", "", "csr-abc12.1", "default", true),
        // Other signers: not the kubelet client's (the controller-manager's), not API-server
        // clients, not the legacy signer, no wildcard, and not without a name.
        ("approve", CERTS, "signers", "", "kubernetes.io/kube-apiserver-client-kubelet", "", false),
        ("approve", CERTS, "signers", "", "kubernetes.io/kube-apiserver-client", "", false),
        ("approve", CERTS, "signers", "", "kubernetes.io/legacy-unknown", "", false),
        ("approve", CERTS, "signers", "", "*", "", false),
        ("approve", CERTS, "signers", "", "kubernetes.io/*", "", false),
        ("approve", CERTS, "signers", "", "", "", false),
        ("sign", CERTS, "signers", "", SERVING, "", false),
        // CSRs: no writes but /approval.
        ("update", CERTS, "certificatesigningrequests", "status", "", "", false),
        ("create", CERTS, "certificatesigningrequests", "", "", "", false),
        ("delete", CERTS, "certificatesigningrequests", "", "csr-abc12", "", false),
        ("patch", CERTS, "certificatesigningrequests", "", "csr-abc12", "", false),
        ("update", CERTS, "certificatesigningrequests", "", "csr-abc12", "", false),
        // Nodes: read, never written.
        ("update", "", "nodes", "", "worker-1", "", false),
        ("patch", "", "nodes", "", "worker-1", "", false),
        ("patch", "", "nodes", "status", "worker-1", "", false),
        // Leases: that one only, and no create.
        ("create", co, "leases", "", "", NS, false),
        ("get", co, "leases", "", "other", NS, false),
        ("patch", co, "leases", "", "other", NS, false),
        ("delete", co, "leases", "", NAME, NS, false),
        ("patch", co, "leases", "", NAME, "kube-system", false),
        ("list", co, "leases", "", "", NS, false),
        // Events: create/patch in default only; not the core API, not elsewhere.
        ("create", "", "events", "", "", "default", false),
        ("create", e, "events", "", "", NS, false),
        ("create", e, "events", "", "", "kube-system", false),
        ("delete", e, "events", "", "x", "default", false),
        ("get", e, "events", "", "x", "default", false),
        // Nothing else.
        ("get", "", "secrets", "", "", NS, false),
        ("list", "", "secrets", "", "", "kube-system", false),
        ("get", "", "configmaps", "", "", NS, false),
        ("get", "", "configmaps", "", "kube-proxy", "kube-system", false),
        ("list", "", "configmaps", "", "", "kube-system", false),
        ("update", "", "configmaps", "", "kubeadm-config", "kube-system", false),
        ("create", "", "pods", "", "", NS, false),
        ("impersonate", "", "users", "", "", "", false),
        ("escalate", "rbac.authorization.k8s.io", "clusterroles", "", "", "", false),
        ("bind", "rbac.authorization.k8s.io", "clusterroles", "", "", "", false),
        ("*", "*", "*", "", "", "", false),
    ]
}

/// Asks every question of the table as a SubjectAccessReview (one `kubectl create` of a List):
/// the only exact way for `signers`, which kube-apiserver does not serve, so `kubectl auth can-i`
/// sends them without their API group. Returns the mismatches.
fn check_by_sar(c: &Cluster, table: &[Access]) -> Vec<String> {
    let items: Vec<Value> = table
        .iter()
        .map(|(verb, group, resource, sub, name, ns, _)| {
            json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                "spec": {"user": SA_USER, "groups": SA_GROUPS, "resourceAttributes": {
                    "verb": verb, "group": group, "resource": resource, "subresource": sub, "name": name, "namespace": ns}}})
        })
        .collect();
    let list = json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string();
    let out = c.kubectl_stdin(&["create", "-f", "-", "-o", "json"], Some(&list));
    let answers: Vec<Value> =
        serde_json::Deserializer::from_str(&out).into_iter::<Value>().map(Result::unwrap).collect();
    assert_eq!(answers.len(), table.len(), "{}: one SubjectAccessReview per question", c.label());
    let mut bad = Vec::new();
    for (a, q) in answers.iter().zip(table) {
        let allowed = a["status"]["allowed"] == true;
        if allowed != q.6 {
            bad.push(format!("SAR {q:?}: allowed={allowed} ({})", a["status"]["reason"]));
        }
    }
    bad
}

/// Asks the questions about served resources with `kubectl auth can-i --as` (the impersonated
/// request, the way docs/csr-approver.md shows it). Returns the mismatches.
fn check_by_can_i(c: &Cluster, table: &[Access]) -> Vec<String> {
    let mut bad = Vec::new();
    for q in table.iter().filter(|q| q.2 != "signers" && q.0 != "*") {
        let (verb, group, resource, sub, name, ns, want) = *q;
        let mut res = if group.is_empty() { resource.to_string() } else { format!("{resource}.{group}") };
        if !name.is_empty() {
            res = format!("{res}/{name}");
        }
        let mut args = vec!["auth", "can-i", verb, res.as_str()];
        let sub_arg = format!("--subresource={sub}");
        if !sub.is_empty() {
            args.push(&sub_arg);
        }
        if !ns.is_empty() {
            args.extend(["-n", ns]);
        }
        let o = as_sa(c, &args, None);
        let said = String::from_utf8_lossy(&o.stdout).trim().to_string();
        assert!(said == "yes" || said == "no", "{}: kubectl {args:?}: {}", c.label(), text(&o));
        if (said == "yes") != want {
            bad.push(format!("kubectl auth can-i {}: {said}", args[2..].join(" ")));
        }
    }
    bad
}

fn create_csr(c: &Cluster, name: &str, signer: &str, usages: &[&str]) {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(crate::common::kubelet_csr_pem(
        "system:node:jk-deploy-node",
        &["system:nodes"],
        &["DNS:jk-deploy-node"],
    ));
    let csr = json!({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": name},
        "spec": {"request": b64, "signerName": signer, "usages": usages}});
    c.kubectl_stdin(&["create", "-f", "-"], Some(&csr.to_string()));
}

fn condition(c: &Cluster, csr: &str) -> Option<String> {
    let v = c.get("csr", None, csr).expect("the CSR exists");
    v["status"]["conditions"].as_array()?.iter().find_map(|x| {
        let t = x["type"].as_str()?;
        (t == "Approved" || t == "Denied").then(|| t.to_string())
    })
}

fn apply_deploy(c: &Cluster) -> String {
    // The Namespace first: `kubectl apply -f DIR` takes files in name order, and deployment.yaml
    // and lease.yaml come before namespace.yaml (docs/csr-approver.md says the same).
    let ns = deploy_dir().join("namespace.yaml");
    let dir = deploy_dir();
    c.kubectl(&["apply", "-f", ns.to_str().unwrap(), "-f", dir.to_str().unwrap()])
}

fn deploy_on_real(version: Version) {
    let Some(c) = Cluster::up(version, CaAlgo::Ecdsa) else { return };
    let label = c.label();

    // 1. Applied for real: kube-apiserver validates and admits every object.
    apply_deploy(&c);
    for (_, kind, ns, name) in SPEC_OBJECTS {
        let ns = (!ns.is_empty()).then_some(*ns);
        assert!(c.get(kind, ns, name).is_some(), "{label}: {kind} {name} was not created");
    }
    // `apply -k` renders the same objects: nothing to change.
    let out = c.kubectl(&["apply", "-k", deploy_dir().to_str().unwrap()]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines.len() == SPEC_OBJECTS.len() && lines.iter().all(|l| l.ends_with(" unchanged")),
        "{label}: apply -k after -f:\n{out}"
    );
    // The ReplicaSet's pods are admitted under Pod Security "restricted" (no scheduler or
    // kubelet here: they stay Pending, which is enough to know admission took them).
    c.wait_for("the Deployment's 2 pods to be admitted", Duration::from_secs(60), || {
        let o =
            c.kubectl(&["get", "pods", "-n", NS, "-l", "app.kubernetes.io/name=joinkit-csr-approver", "-o", "name"]);
        o.lines().count() == 2
    });
    // ... and the label is enforced: a privileged pod is refused in the namespace.
    let o =
        c.kubectl_out(&["run", "jk-privileged", "-n", NS, "--image=busybox", "--privileged", "--dry-run=server"], None);
    assert!(!o.status.success() && text(&o).contains("violates PodSecurity"), "{label}: {}", text(&o));

    // 2. Access, asked.
    let table = access_table();
    let mut bad = check_by_sar(&c, &table);
    bad.extend(check_by_can_i(&c, &table));
    assert!(bad.is_empty(), "{label}: access differs from the spec:\n{}", bad.join("\n"));

    // 3. Access, used: approve and deny through /approval as the ServiceAccount.
    let serving = ["digital signature", "server auth"];
    let client = ["digital signature", "client auth"];
    create_csr(&c, "jk-serving-approve", SERVING, &serving);
    create_csr(&c, "jk-serving-deny", SERVING, &serving);
    create_csr(&c, "jk-client-kubelet", "kubernetes.io/kube-apiserver-client-kubelet", &client);
    create_csr(&c, "jk-client", "kubernetes.io/kube-apiserver-client", &client);
    assert_ok(&as_sa(&c, &["get", "csr", "-o", "name"], None), "list CSRs", &label);
    assert_ok(
        &as_sa(&c, &["certificate", "approve", "jk-serving-approve"], None),
        "approve a kubelet-serving CSR",
        &label,
    );
    assert_eq!(condition(&c, "jk-serving-approve").as_deref(), Some("Approved"), "{label}");
    assert_ok(&as_sa(&c, &["certificate", "deny", "jk-serving-deny"], None), "deny a kubelet-serving CSR", &label);
    assert_eq!(condition(&c, "jk-serving-deny").as_deref(), Some("Denied"), "{label}");
    for csr in ["jk-client-kubelet", "jk-client"] {
        for verb in ["approve", "deny"] {
            let o = as_sa(&c, &["certificate", verb, csr], None);
            // kube-apiserver's signer check (the CertificateApproval admission plugin), not RBAC
            // on the CSR: the /approval update itself is allowed.
            assert!(
                !o.status.success() && text(&o).contains("not permitted to approve requests with signerName"),
                "{label}: {verb} {csr}: {}",
                text(&o)
            );
        }
        // The SAN makes neither CSR one the controller-manager would auto-approve.
        assert_eq!(condition(&c, csr), None, "{label}: {csr}");
    }
    assert_forbidden(&as_sa(&c, &["delete", "csr", "jk-client"], None), "delete a CSR", &label);
    // Nodes: get by name and list reach the API (there are no Nodes here: NotFound, not
    // Forbidden); kubeadm-config is readable, other ConfigMaps are not.
    let o = as_sa(&c, &["get", "node", "jk-deploy-node"], None);
    assert!(text(&o).contains("NotFound") && !text(&o).contains("forbidden"), "{label}: get node: {}", text(&o));
    assert_ok(&as_sa(&c, &["get", "nodes"], None), "list nodes", &label);
    assert_ok(
        &as_sa(&c, &["get", "configmap", "kubeadm-config", "-n", "kube-system"], None),
        "get kubeadm-config",
        &label,
    );
    assert_forbidden(&as_sa(&c, &["get", "configmaps", "-n", "kube-system"], None), "list ConfigMaps", &label);
    assert_forbidden(&as_sa(&c, &["get", "secrets", "-n", NS], None), "list secrets", &label);
    // An events.k8s.io/v1 Event about a CSR, in default, as the approver writes it.
    // eventTime is a MicroTime: RFC 3339 with exactly six fractional digits.
    let micro =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    let now = time::OffsetDateTime::now_utc().format(&micro).unwrap();
    let event = |ns: &str| {
        json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "jk-serving-approve.1", "namespace": ns},
            "eventTime": now, "type": "Normal", "reason": "CsrApproved", "action": "Approve",
            "reportingController": NAME, "reportingInstance": "jk-test",
            "regarding": {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "name": "jk-serving-approve"},
            "note": "approved by joinkit"})
        .to_string()
    };
    assert_ok(&as_sa(&c, &["create", "-f", "-"], Some(&event("default"))), "create an Event in default", &label);
    assert_forbidden(&as_sa(&c, &["create", "-f", "-"], Some(&event(NS))), "create an Event in joinkit-system", &label);
    // The Lease: taken over as leader election does; no other Lease can be made.
    let take = r#"{"spec":{"holderIdentity":"jk-test-pod","leaseDurationSeconds":15}}"#;
    let lease_args = ["patch", "lease", NAME, "-n", NS, "--type=merge", "-p", take];
    assert_ok(&as_sa(&c, &lease_args, None), "patch the Lease", &label);
    let other = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "other", "namespace": NS}});
    assert_forbidden(&as_sa(&c, &["create", "-f", "-"], Some(&other.to_string())), "create a Lease", &label);
    // Re-applying deploy/ leaves the leader's fields alone.
    apply_deploy(&c);
    let lease = c.get("lease", Some(NS), NAME).unwrap();
    assert_eq!(lease["spec"]["holderIdentity"], "jk-test-pod", "{label}: re-applying deploy/ reset the Lease");

    // 4. The approver itself, as in a pod: no kubeconfig, KUBERNETES_SERVICE_HOST/PORT and the
    // ServiceAccount's token, ca.crt and namespace (a TokenRequest token, as the kubelet
    // projects it). deploy/'s RBAC is enough for it to take the Lease, approve a correct
    // serving CSR and record the Event.
    in_cluster_approver(&c, &label);
}

/// Runs `joinkit csr approver` with the in-cluster configuration of deploy/'s ServiceAccount.
fn in_cluster_approver(c: &Cluster, label: &str) {
    let sa = tempfile::tempdir().unwrap();
    let token = c.kubectl(&["create", "token", NAME, "-n", NS, "--duration", "10m"]);
    std::fs::write(sa.path().join("token"), token.trim()).unwrap();
    std::fs::write(sa.path().join("ca.crt"), c.ca_pem()).unwrap();
    std::fs::write(sa.path().join("namespace"), NS).unwrap();
    let node = "jk-deploy-node";
    c.kubectl_stdin(
        &["create", "-f", "-"],
        Some(&json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": node}}).to_string()),
    );
    c.kubectl(&[
        "patch", "node", node, "--subresource=status", "--type=merge", "-p",
        r#"{"status":{"addresses":[{"type":"Hostname","address":"jk-deploy-node"},{"type":"InternalIP","address":"10.0.0.21"}]}}"#,
    ]);
    // The serving CSR, created by the node (impersonated: the API server records
    // system:node:jk-deploy-node in system:nodes as the requestor).
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(crate::common::kubelet_csr_pem(
        &format!("system:node:{node}"),
        &["system:nodes"],
        &[&format!("DNS:{node}")],
    ));
    // With key encipherment, as the kubelet asks: the v1.24 signer requires it (before v1.27;
    // docs/csr-approver.md), so the approver leaves a CSR without it pending there.
    let csr = json!({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": "jk-in-cluster"},
        "spec": {"request": b64, "signerName": SERVING, "usages": ["digital signature", "key encipherment", "server auth"]}});
    let o = c.kubectl_out(
        &["create", "-f", "-", "--as", &format!("system:node:{node}"), "--as-group", "system:nodes"],
        Some(&csr.to_string()),
    );
    assert_ok(&o, "create a serving CSR as the node", label);
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(crate::common::bin())
        .args(["csr", "approver", "-o", "json", "--metrics-bind-address", "0", "--health-probe-bind-address", "0"])
        .arg("--serviceaccount-dir")
        .arg(sa.path())
        .env_remove("KUBECONFIG")
        .env("HOME", home.path())
        .env("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        .env("KUBERNETES_SERVICE_PORT", c.var("API_PORT"))
        .env("POD_NAME", "jk-pod-a")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let approved = (0..120).any(|_| {
        std::thread::sleep(Duration::from_millis(250));
        condition(c, "jk-in-cluster").is_some() || child.try_wait().unwrap().is_some()
    });
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let log = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(approved, "{label}: the in-cluster approver decided nothing in 30 s:\n{log}");
    let v = c.get("csr", None, "jk-in-cluster").unwrap();
    let cond = &v["status"]["conditions"][0];
    assert_eq!(
        (cond["type"].as_str(), cond["reason"].as_str()),
        (Some("Approved"), Some("JoinkitApproved")),
        "{label}: {v}\n{log}"
    );
    assert!(log.contains(r#""server":"https://127.0.0.1:"#), "{label}: in-cluster server: {log}");
    let lease = c.get("lease", Some(NS), NAME).unwrap();
    assert_eq!(lease["spec"]["holderIdentity"], "jk-pod-a", "{label}: the approver holds deploy/'s Lease\n{log}");
    let events = c.kubectl(&["get", "events.events.k8s.io", "-n", "default", "-o", "json"]);
    let events: Value = serde_json::from_str(&events).unwrap();
    assert!(
        events["items"].as_array().unwrap().iter().any(|e| e["reason"] == "CsrApproved"
            && e["regarding"]["name"] == "jk-in-cluster"
            && e["reportingInstance"] == "jk-pod-a"),
        "{label}: no CsrApproved Event from jk-pod-a: {events}"
    );
}

#[test]
fn deploy_applies_and_grants_exactly_the_specs_access_on_real_v1_24() {
    deploy_on_real(Version::V124);
}

#[test]
fn deploy_applies_and_grants_exactly_the_specs_access_on_real_v1_36() {
    deploy_on_real(Version::V136);
}
