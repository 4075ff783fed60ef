//! Unit tests of the CSR checks (`checks.rs`), with requests made by rcgen the way the kubelet
//! makes them (`k8s.io/client-go/util/certificate/csr`): CN `system:node:<n>`, O
//! `system:nodes`, DNS and IP SANs. Every check is shown passing and failing.

use super::checks::*;
use super::{condition_for, Decision};
use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use serde_json::json;

/// A PEM CSR with `cn`, `orgs` and `sans` (`DNS:`, `IP:`, `URI:`, `email:`), key `alg`.
fn pem(cn: &str, orgs: &[&str], sans: &[&str], alg: &'static rcgen::SignatureAlgorithm) -> String {
    let key = rcgen::KeyPair::generate_for(alg).unwrap();
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    for o in orgs {
        dn.push(rcgen::DnType::OrganizationName, *o);
    }
    dn.push(rcgen::DnType::CommonName, cn);
    params.distinguished_name = dn;
    for s in sans {
        let (t, v) = s.split_once(':').unwrap();
        params.subject_alt_names.push(match t {
            "DNS" => rcgen::SanType::DnsName(v.try_into().unwrap()),
            "IP" => rcgen::SanType::IpAddress(v.parse().unwrap()),
            "URI" => rcgen::SanType::URI(v.try_into().unwrap()),
            _ => rcgen::SanType::Rfc822Name(v.try_into().unwrap()),
        });
    }
    params.serialize_request(&key).unwrap().pem().unwrap()
}

fn csr(
    name: &str,
    signer: &str,
    user: &str,
    groups: &[&str],
    usages: &[&str],
    request: &str,
) -> CertificateSigningRequest {
    serde_json::from_value(json!({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": name},
        "spec": {"signerName": signer, "username": user, "groups": groups, "usages": usages,
            "request": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, request)}}))
    .unwrap()
}

const SERVING: &[&str] = &["digital signature", "server auth"];

fn serving(name: &str, node: &str, sans: &[&str]) -> CertificateSigningRequest {
    let user = format!("system:node:{node}");
    let p = pem(&user, &["system:nodes"], sans, &rcgen::PKCS_ECDSA_P256_SHA256);
    csr(name, KUBELET_SERVING_SIGNER, &user, &["system:nodes", "system:authenticated"], SERVING, &p)
}

fn node(name: &str, addrs: &[(&str, &str)]) -> Node {
    let a: Vec<_> = addrs.iter().map(|(t, v)| json!({"type": t, "address": v})).collect();
    serde_json::from_value(json!({"kind": "Node", "metadata": {"name": name}, "status": {"addresses": a}})).unwrap()
}

fn nodes() -> Vec<Node> {
    vec![
        node("n1", &[("InternalIP", "10.0.0.11"), ("Hostname", "n1"), ("InternalDNS", "n1.internal")]),
        node("n2", &[("InternalIP", "10.0.0.12"), ("Hostname", "n2")]),
    ]
}

/// What a kubeadm cluster's API server and kubeadm-config name.
fn cluster() -> ClusterNames {
    ClusterNames {
        dns: ["kubernetes", "kubernetes.default", "cp-1", "api.example.com"].map(String::from).into(),
        ips: ["10.96.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()].into(),
        service_cidrs: vec![Cidr::parse("10.96.0.0/12").unwrap()],
        dns_domain: Some("corp.internal".into()),
        sources: vec!["test".into()],
        version: None,
    }
}

fn run(c: &CertificateSigningRequest, others: &[CertificateSigningRequest], opts: &CheckOptions) -> Verdict {
    let n = nodes();
    let ix = NodeAddresses::from_nodes(&n);
    verdict(c, Context { nodes: &n, csrs: others, bindings: &[], addresses: &ix, cluster: &cluster() }, opts)
}

fn failed(v: &Verdict) -> Vec<&'static str> {
    v.failed().iter().map(|c| c.check).collect()
}

#[test]
fn a_kubelet_serving_csr_passes_every_check() {
    let c = serving("csr-ok", "n1", &["DNS:n1", "IP:10.0.0.11"]);
    let v = run(&c, std::slice::from_ref(&c), &CheckOptions::default());
    assert!(v.passed, "{v:#?}");
    let names: Vec<&str> = v.checks.iter().map(|c| c.check).collect();
    assert_eq!(
        names,
        [
            "signer",
            "request",
            "requestor",
            "common-name",
            "organization",
            "usages",
            "san-types",
            "san-node",
            "san-reserved",
            "san-unique",
            "dns-names",
            "ip-cidrs",
            "node-exists",
            "expiration",
            "key",
            "pending-conflict"
        ]
    );
    assert_eq!(v.summary(), "approvable");
    let (t, reason, msg) = condition_for(&Decision::Approve(None), &v);
    assert_eq!((t, reason.as_str()), ("Approved", "JoinkitApproved"));
    assert!(msg.starts_with("approved by joinkit; all 16 checks passed (signer, request"), "{msg}");
}

#[test]
fn each_serving_attack_fails_its_check() {
    let o = CheckOptions::default();
    // Another node's IP.
    assert_eq!(failed(&run(&serving("a", "n1", &["DNS:n1", "IP:10.0.0.12"]), &[], &o)), ["san-node", "san-unique"]);
    // A DNS name not on the Node.
    let v = run(&serving("a", "n1", &["DNS:n1", "DNS:kubernetes.default"]), &[], &o);
    assert_eq!(failed(&v), ["san-node", "san-reserved", "dns-names"]);
    assert!(
        v.failed()[0].why.contains("DNS:kubernetes.default not among Node n1's addresses"),
        "{}",
        v.failed()[0].why
    );
    // CN differs from the requestor.
    let p = pem("system:node:n2", &["system:nodes"], &["IP:10.0.0.11"], &rcgen::PKCS_ECDSA_P256_SHA256);
    let c = csr("a", KUBELET_SERVING_SIGNER, "system:node:n1", &["system:nodes"], SERVING, &p);
    assert_eq!(failed(&run(&c, &[], &o)), ["common-name"]);
    // system:masters in O.
    let p =
        pem("system:node:n1", &["system:nodes", "system:masters"], &["IP:10.0.0.11"], &rcgen::PKCS_ECDSA_P256_SHA256);
    let c = csr("a", KUBELET_SERVING_SIGNER, "system:node:n1", &["system:nodes"], SERVING, &p);
    let v = run(&c, &[], &o);
    assert_eq!(failed(&v), ["organization"]);
    assert!(v.failed()[0].why.contains("system:masters"));
    // Client auth usage.
    let p = pem("system:node:n1", &["system:nodes"], &["IP:10.0.0.11"], &rcgen::PKCS_ECDSA_P256_SHA256);
    let c = csr(
        "a",
        KUBELET_SERVING_SIGNER,
        "system:node:n1",
        &["system:nodes"],
        &["digital signature", "server auth", "client auth"],
        &p,
    );
    assert_eq!(failed(&run(&c, &[], &o)), ["usages"]);
    // Key encipherment with an ECDSA key: what a v1.24-v1.26 kubelet asks for (and that
    // signer requires): it passes, and the detail says why.
    let c = csr(
        "a",
        KUBELET_SERVING_SIGNER,
        "system:node:n1",
        &["system:nodes"],
        &["digital signature", "key encipherment", "server auth"],
        &p,
    );
    let v = run(&c, &[], &o);
    assert_eq!(failed(&v), Vec::<&str>::new());
    assert!(
        v.checks.iter().any(|c| c.check == "usages" && c.why.contains("what kubelets before v1.27 ask for")),
        "{v:?}"
    );
    // Server auth alone, or signing usages, fail.
    for bad in [
        &["server auth"][..],
        &["digital signature", "server auth", "signing"],
        &["digital signature", "key encipherment"],
    ] {
        let c = csr("a", KUBELET_SERVING_SIGNER, "system:node:n1", &["system:nodes"], bad, &p);
        assert_eq!(failed(&run(&c, &[], &o)), ["usages"], "{bad:?}");
    }
    // A non-node user asks for a node's serving certificate.
    let c = csr("a", KUBELET_SERVING_SIGNER, "mallory", &["system:authenticated"], SERVING, &p);
    assert_eq!(failed(&run(&c, &[], &o)), ["requestor", "common-name"]);
    // A node user without the group.
    let c = csr("a", KUBELET_SERVING_SIGNER, "system:node:n1", &["system:authenticated"], SERVING, &p);
    assert_eq!(failed(&run(&c, &[], &o)), ["requestor"]);
    // A node that does not exist.
    assert_eq!(failed(&run(&serving("a", "ghost", &["DNS:ghost"]), &[], &o)), ["san-node", "node-exists"]);
    // A DNS name the Node reports as InternalDNS: not the node's name or hostname.
    assert_eq!(failed(&run(&serving("a", "n1", &["DNS:n1.internal"]), &[], &o)), ["dns-names"]);
    // URI and email SANs.
    assert_eq!(failed(&run(&serving("a", "n1", &["DNS:n1", "URI:spiffe://x/y"]), &[], &o)), ["san-types"]);
    assert_eq!(failed(&run(&serving("a", "n1", &["DNS:n1", "email:a@b.c"]), &[], &o)), ["san-types"]);
    // No SAN at all.
    assert_eq!(failed(&run(&serving("a", "n1", &[]), &[], &o)), ["san-types"]);
    // A signer joinkit does not judge.
    let c = csr("a", "example.com/other", "system:node:n1", &["system:nodes"], SERVING, &p);
    assert_eq!(failed(&run(&c, &[], &o)), ["signer"]);
    // Not a PEM request.
    let c = csr("a", KUBELET_SERVING_SIGNER, "system:node:n1", &["system:nodes"], SERVING, "junk");
    assert_eq!(failed(&run(&c, &[], &o)), ["request"]);
}

#[test]
fn a_subject_with_two_cns_is_refused() {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["n1".to_string()]).unwrap();
    // rcgen keeps one value per attribute type; a second CN goes in as a custom attribute with
    // the CN OID (2.5.4.3).
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::OrganizationName, "system:nodes");
    dn.push(rcgen::DnType::CommonName, "system:node:n1");
    dn.push(rcgen::DnType::CustomDnType(vec![2, 5, 4, 3]), "system:node:x");
    params.distinguished_name = dn;
    let two = params.serialize_request(&key).unwrap().pem().unwrap();
    let c = csr("a", KUBELET_SERVING_SIGNER, "system:node:n1", &["system:nodes"], SERVING, &two);
    let v = run(&c, &[], &CheckOptions::default());
    assert_eq!(failed(&v), ["request"], "{v:?}");
    assert!(v.failed()[0].why.contains("2 CNs"), "{v:?}");
}

#[test]
fn the_configured_rules_can_fail() {
    let c = serving("a", "n1", &["DNS:n1.internal", "IP:10.0.0.11"]);
    let o = CheckOptions {
        dns_regex: Some(regex::Regex::new(r"\A[a-z0-9]+\.internal\z").unwrap()),
        allowed_cidrs: vec![Cidr::parse("10.0.0.0/24").unwrap()],
        max_expiration_seconds: Some(86400),
    };
    assert!(run(&c, &[], &o).passed);
    let o2 = CheckOptions {
        dns_regex: Some(regex::Regex::new(r"\A[a-z0-9]+\.corp\z").unwrap()),
        allowed_cidrs: vec![Cidr::parse("192.168.0.0/16").unwrap(), Cidr::parse("fd00::/8").unwrap()],
        max_expiration_seconds: Some(3600),
    };
    let mut long = c.clone();
    long.spec.expiration_seconds = Some(7200);
    assert_eq!(failed(&run(&long, &[], &o2)), ["dns-names", "ip-cidrs", "expiration"]);
    assert!(expiration(Some(3600), &o2).is_ok());
    assert!(expiration(None, &o2).is_ok());
    // CIDRs.
    let c4 = Cidr::parse("10.1.0.0/16").unwrap();
    assert!(c4.contains("10.1.255.3".parse().unwrap()));
    assert!(!c4.contains("10.2.0.1".parse().unwrap()));
    assert!(c4.contains("::ffff:10.1.0.1".parse().unwrap()));
    assert!(!c4.contains("fd00::1".parse().unwrap()));
    assert!(Cidr::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
    assert!(Cidr::parse("fd00::/8").unwrap().contains("fd12::1".parse().unwrap()));
    for bad in ["10.0.0.0", "10.0.0.0/33", "x/8", "fd00::/129"] {
        assert!(Cidr::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn keys_are_judged_by_type_and_size() {
    for alg in [&rcgen::PKCS_ECDSA_P256_SHA256, &rcgen::PKCS_ECDSA_P384_SHA384, &rcgen::PKCS_ED25519] {
        let p = pem("system:node:n1", &["system:nodes"], &["IP:10.0.0.11"], alg);
        let c = csr("a", KUBELET_SERVING_SIGNER, "system:node:n1", &["system:nodes"], SERVING, &p);
        let r = parse_request(&c).unwrap();
        assert!(key_check(&r.key).is_ok(), "{:?}", r.key);
    }
    assert_eq!(key_check(&KeyKind::Rsa(2048)), Ok("RSA 2048 bits".into()));
    assert!(key_check(&KeyKind::Rsa(1024)).unwrap_err().contains("at least 2048"));
    assert!(key_check(&KeyKind::Ecdsa("1.3.132.0.35".into())).is_err());
    assert!(key_check(&KeyKind::Other("1.2.3".into())).is_err());
    assert!(serving_usages(
        &["digital signature".into(), "key encipherment".into(), "server auth".into()],
        &KeyKind::Rsa(2048),
        None
    )
    .is_ok());
}

#[test]
fn another_pending_csr_of_the_node_with_other_sans_conflicts() {
    let c = serving("a", "n1", &["DNS:n1"]);
    let same = serving("b", "n1", &["DNS:n1"]);
    let other = serving("c", "n1", &["DNS:n1", "IP:10.0.0.11"]);
    let o = CheckOptions::default();
    assert!(run(&c, &[c.clone(), same], &o).passed);
    let v = run(&c, &[c.clone(), other.clone()], &o);
    assert_eq!(failed(&v), ["pending-conflict"]);
    assert!(v.failed()[0].why.ends_with(": c"));
    // Once decided, it no longer conflicts.
    let mut decided = other;
    decided.status = serde_json::from_value(json!({"conditions": [{"type": "Denied", "status": "True"}]})).unwrap();
    assert!(run(&c, &[decided], &o).passed);
    // Up to MAX_PENDING_SIBLINGS identical pending ones are compared; one more fails by itself.
    let many = |n: usize| (0..n).map(|i| serving(&format!("s{i}"), "n1", &["DNS:n1"])).collect::<Vec<_>>();
    assert!(run(&c, &many(crate::csr::checks::MAX_PENDING_SIBLINGS), &o).passed);
    let v = run(&c, &many(crate::csr::checks::MAX_PENDING_SIBLINGS + 1), &o);
    assert_eq!(failed(&v), ["pending-conflict"]);
    assert!(v.failed()[0].why.contains("not compared"), "{v:?}");
}

fn binding(name: &str, role: &str, group: &str) -> ClusterRoleBinding {
    serde_json::from_value(json!({"kind": "ClusterRoleBinding", "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": group}]}))
    .unwrap()
}

#[test]
fn kubelet_client_csrs_follow_the_auto_approval_rules() {
    let bindings = vec![
        binding(
            "kubeadm:node-autoapprove-bootstrap",
            NODECLIENT_ROLE,
            "system:bootstrappers:kubeadm:default-node-token",
        ),
        binding("kubeadm:node-autoapprove-certificate-rotation", SELFNODECLIENT_ROLE, "system:nodes"),
    ];
    let judge = |c: &CertificateSigningRequest, b: &[ClusterRoleBinding]| {
        let (ix, names) = (NodeAddresses::default(), ClusterNames::default());
        verdict(
            c,
            Context { nodes: &[], csrs: &[], bindings: b, addresses: &ix, cluster: &names },
            &CheckOptions::default(),
        )
    };
    let client = crate::bootstrap::USAGES;
    let p = pem("system:node:n3", &["system:nodes"], &[], &rcgen::PKCS_ECDSA_P256_SHA256);
    let boot = ["system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token"];
    let c = csr("node-csr-x", crate::bootstrap::KUBELET_CLIENT_SIGNER, "system:bootstrap:abcdef", &boot, client, &p);
    let v = judge(&c, &bindings);
    assert!(v.passed, "{v:#?}");
    assert!(v.checks.last().unwrap().why.contains("kubeadm:node-autoapprove-bootstrap"));
    // Without kubeadm's binding the controller would not approve it.
    let v = judge(&c, &bindings[1..]);
    assert_eq!(failed(&v), ["autoapprove-binding"]);
    // Renewal by the node itself: selfnodeclient.
    let c = csr("r", crate::bootstrap::KUBELET_CLIENT_SIGNER, "system:node:n3", &["system:nodes"], client, &p);
    assert!(judge(&c, &bindings).passed);
    assert_eq!(failed(&judge(&c, &bindings[..1])), ["autoapprove-binding"]);
    // Another user for a node's identity.
    let c = csr("m", crate::bootstrap::KUBELET_CLIENT_SIGNER, "mallory", &["system:authenticated"], client, &p);
    assert_eq!(failed(&judge(&c, &bindings)), ["requestor", "autoapprove-binding"]);
    // SANs, server auth, a wrong CN.
    let p2 = pem("system:node:n3", &["system:nodes"], &["DNS:n3"], &rcgen::PKCS_ECDSA_P256_SHA256);
    let c = csr(
        "s",
        crate::bootstrap::KUBELET_CLIENT_SIGNER,
        "system:bootstrap:abcdef",
        &boot,
        &["digital signature", "server auth"],
        &p2,
    );
    assert_eq!(failed(&judge(&c, &bindings)), ["usages", "san-types"]);
    let p3 = pem("admin", &["system:nodes"], &[], &rcgen::PKCS_ECDSA_P256_SHA256);
    let c = csr("s", crate::bootstrap::KUBELET_CLIENT_SIGNER, "system:bootstrap:abcdef", &boot, client, &p3);
    assert_eq!(failed(&judge(&c, &bindings)), ["common-name"]);
}

#[test]
fn deny_records_the_users_reason() {
    let c = serving("a", "n1", &["DNS:n1", "IP:10.0.0.12"]);
    let v = run(&c, &[], &CheckOptions::default());
    let (t, reason, msg) = condition_for(&Decision::Deny("IP of another node".into()), &v);
    assert_eq!((t, reason.as_str()), ("Denied", "JoinkitDenied"));
    assert_eq!(msg, "denied by joinkit: IP of another node; failed checks: san-node, san-unique");
    let (_, reason, _) = condition_for(&Decision::Deny("StolenAddress".into()), &v);
    assert_eq!(reason, "StolenAddress");
}

/// A node that writes names and addresses into its own Node status (NodeRestriction lets it)
/// still gets none of the cluster's: each is refused by `san-reserved`, `san-unique` or
/// `dns-names`, with no flag set.
#[test]
fn safe_by_default_names_a_node_can_report_but_never_own() {
    let o = CheckOptions::default();
    let claims: &[(&str, &[&str])] = &[
        ("DNS:kubernetes.default.svc", &["san-reserved", "dns-names"]),
        ("DNS:kubernetes.default.svc.cluster.local", &["san-reserved", "dns-names"]),
        ("DNS:kubernetes", &["san-reserved", "dns-names"]),
        ("DNS:cp-1", &["san-reserved", "dns-names"]),
        ("DNS:API.example.com.", &["san-reserved", "dns-names"]),
        ("DNS:web.default.svc", &["san-reserved", "dns-names"]),
        ("DNS:db.prod.svc.corp.internal", &["san-reserved", "dns-names"]),
        ("DNS:x.corp.internal", &["san-reserved", "dns-names"]),
        ("DNS:*.example.org", &["san-reserved", "dns-names"]),
        ("DNS:localhost", &["san-reserved", "dns-names"]),
        ("IP:127.0.0.1", &["san-reserved"]),
        ("IP:::1", &["san-reserved"]),
        ("IP:0.0.0.0", &["san-reserved"]),
        ("IP:169.254.169.254", &["san-reserved"]),
        ("IP:fe80::1", &["san-reserved"]),
        ("IP:224.0.0.1", &["san-reserved"]),
        ("IP:10.96.0.1", &["san-reserved"]),
        ("IP:10.100.3.4", &["san-reserved"]),
        ("IP:10.0.0.2", &["san-reserved"]),
        ("IP:10.0.0.12", &["san-unique"]),
        // An IPv4-mapped IPv6 SAN: Go 1.27 refuses it, older Go read it as IPv4 (request.rs).
        ("IP:::ffff:10.0.0.12", &["request"]),
    ];
    for (san, expected) in claims {
        // The node reports the name itself, so san-node passes: the defaults must still refuse.
        let (t, v) = san.split_once(':').unwrap();
        let kind = if t == "DNS" { "Hostname" } else { "InternalIP" };
        let n1 = node("n1", &[("InternalIP", "10.0.0.11"), ("Hostname", "n1"), (kind, v.trim_end_matches('.'))]);
        let all = vec![n1, nodes().remove(1)];
        let ix = NodeAddresses::from_nodes(&all);
        let names = cluster();
        let c = serving("a", "n1", &["DNS:n1", san]);
        let ctx = Context { nodes: &all, csrs: &[], bindings: &[], addresses: &ix, cluster: &names };
        let v = verdict(&c, ctx, &o);
        let mut want: Vec<&str> = expected.to_vec();
        if *kind == *"Hostname" {
            // A Hostname address makes the name the node's own for `dns-names`.
            want.retain(|c| *c != "dns-names");
        }
        assert_eq!(failed(&v), want, "{san}: {v:#?}");
    }
    // --dns-regex widens the node's own names, never to the cluster's.
    let wide = CheckOptions { dns_regex: Some(regex::Regex::new(r"\A.*\z").unwrap()), ..Default::default() };
    assert_eq!(failed(&run(&serving("a", "n1", &["DNS:n1.internal"]), &[], &wide)), Vec::<&str>::new());
    let n1 = node("n1", &[("InternalIP", "10.0.0.11"), ("Hostname", "n1"), ("InternalDNS", "kubernetes.default.svc")]);
    let ix = NodeAddresses::from_nodes(std::slice::from_ref(&n1));
    let names = cluster();
    let c = serving("a", "n1", &["DNS:kubernetes.default.svc"]);
    let ctx = Context { nodes: std::slice::from_ref(&n1), csrs: &[], bindings: &[], addresses: &ix, cluster: &names };
    assert_eq!(failed(&verdict(&c, ctx, &wide)), ["san-reserved"]);
}

/// Checks are set lookups and a Node's addresses are capped: a Node reporting more than
/// MAX_NODE_ADDRESSES fails `san-node` without comparing them, and the index keeps at most that
/// many per Node.
#[test]
fn node_addresses_are_capped_and_indexed() {
    let many: Vec<(String, String)> =
        (0..=MAX_NODE_ADDRESSES).map(|i| ("InternalIP".to_string(), format!("10.9.{}.{}", i / 250, i % 250))).collect();
    let refs: Vec<(&str, &str)> = many.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let big = node("n1", &refs);
    let ix = NodeAddresses::from_nodes(std::slice::from_ref(&big));
    assert_eq!(ix.others("10.9.0.0", "n2").collect::<Vec<_>>(), ["n1"]);
    assert_eq!(ix.others(&address_key(&many[MAX_NODE_ADDRESSES].1), "n2").count(), 0, "capped");
    let names = ClusterNames::default();
    let c = serving("a", "n1", &["IP:10.9.0.0"]);
    let ctx = Context { nodes: std::slice::from_ref(&big), csrs: &[], bindings: &[], addresses: &ix, cluster: &names };
    let v = verdict(&c, ctx, &CheckOptions::default());
    assert_eq!(failed(&v), ["san-node"]);
    assert!(v.failed()[0].why.contains("more than 128"), "{v:?}");
    // Updating and removing a Node keeps the index exact.
    let mut ix = NodeAddresses::from_nodes(&nodes());
    assert_eq!(ix.others("10.0.0.12", "n1").collect::<Vec<_>>(), ["n2"]);
    ix.upsert(&node("n2", &[("InternalIP", "10.0.0.13")]));
    assert_eq!(ix.others("10.0.0.12", "n1").count(), 0);
    ix.remove("n2");
    assert_eq!(ix.others("10.0.0.13", "n1").count(), 0);
    assert_eq!(ix.len(), 1);
}

/// The signers' usage rules by API server version (`checks::signer_usages`): before v1.27 only
/// the set with key encipherment, whatever the key; since, also the one without.
#[test]
fn usage_rules_follow_the_api_servers_version() {
    let v = |body: serde_json::Value| ServerVersion::from_version_body(&body).unwrap();
    let v124 = v(serde_json::json!({"major": "1", "minor": "24", "gitVersion": "v1.24.0+0"}));
    let v126 = v(serde_json::json!({"major": "1", "minor": "26+", "gitVersion": "v1.26.3-eks-1"}));
    let v127 = v(serde_json::json!({"major": "1", "minor": "27"}));
    assert!(v124.requires_key_encipherment() && v126.requires_key_encipherment());
    assert!(!v127.requires_key_encipherment());
    assert_eq!(ServerVersion::from_version_body(&serde_json::json!({"major": "1", "minor": "x"})), None);
    let two: Vec<String> = vec!["server auth".into(), "digital signature".into()];
    let three: Vec<String> = vec!["digital signature".into(), "key encipherment".into(), "server auth".into()];
    let ec = KeyKind::Ecdsa("1.2.840.10045.3.1.7".into());
    for key in [&ec, &KeyKind::Rsa(2048)] {
        let e = serving_usages(&two, key, Some(&v124)).unwrap_err();
        assert!(
            e.contains("v1.24.0+0")
                && e.contains("requires exactly digital signature, key encipherment and server auth")
                && e.contains("SignerValidationFailure"),
            "{e}"
        );
        assert!(serving_usages(&three, key, Some(&v124)).unwrap().contains("what the signer of v1.24.0+0 requires"));
        assert!(serving_usages(&two, key, Some(&v127)).is_ok());
        assert!(serving_usages(&three, key, Some(&v127)).is_ok());
        assert!(serving_usages(&two, key, None).unwrap().contains("version unknown"));
    }
    assert!(serving_usages(&two, &ec, Some(&v126)).unwrap_err().contains("v1.26.3-eks-1"));
    let client_two: Vec<String> = vec!["digital signature".into(), "client auth".into()];
    assert!(client_usages(&client_two, Some(&v124))
        .unwrap_err()
        .contains("requires exactly digital signature, key encipherment and client auth"));
    assert!(client_usages(&client_two, Some(&v127)).is_ok());
    // The verdict takes the version from the cluster's names.
    let p = pem("system:node:n1", &["system:nodes"], &["IP:10.0.0.11"], &rcgen::PKCS_ECDSA_P256_SHA256);
    let c = csr("a", KUBELET_SERVING_SIGNER, "system:node:n1", &["system:nodes"], SERVING, &p);
    let n = nodes();
    let ix = NodeAddresses::from_nodes(&n);
    let names = ClusterNames { version: Some(v124), ..cluster() };
    let verdict = verdict(
        &c,
        Context { nodes: &n, csrs: &[], bindings: &[], addresses: &ix, cluster: &names },
        &CheckOptions::default(),
    );
    assert_eq!(failed(&verdict), ["usages"]);
}
