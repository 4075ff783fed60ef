//! The cost of one CSR verdict at the bounds a hostile node can reach: a request with the most
//! SANs joinkit reads (64), a Node with the most addresses it reads (128), the most sibling CSRs
//! it parses (64, each with 64 SANs), in a cluster of 5,000 Nodes with 128 addresses each (the
//! `san-unique` index). Also the refusal of a request over the bounds (3,000 SANs). Run:
//! `cargo bench -p joinkit-core --bench csr_verdict` (prints microseconds per verdict, median of
//! 200 runs). Before the bounds, one verdict over thousands of SANs and addresses took about 90 s
//! of CPU (pairwise comparisons).

use joinkit_core::csr::checks::{MAX_NODE_ADDRESSES, MAX_PENDING_SIBLINGS};
use joinkit_core::csr::request::MAX_SANS;
use joinkit_core::csr::{verdict, CheckOptions, ClusterNames, Context, NodeAddresses};
use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use k8s_openapi::api::core::v1::Node;
use serde_json::json;
use std::time::Instant;

fn pem(node: &str, sans: &[String]) -> String {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut p = rcgen::CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(rcgen::DnType::OrganizationName, "system:nodes");
    p.distinguished_name.push(rcgen::DnType::CommonName, format!("system:node:{node}"));
    for s in sans {
        p.subject_alt_names.push(match s.parse::<std::net::IpAddr>() {
            Ok(ip) => rcgen::SanType::IpAddress(ip),
            Err(_) => rcgen::SanType::DnsName(s.clone().try_into().unwrap()),
        });
    }
    p.serialize_request(&key).unwrap().pem().unwrap()
}

fn csr(name: &str, node: &str, request: &str) -> CertificateSigningRequest {
    use base64::Engine;
    serde_json::from_value(json!({"metadata": {"name": name}, "spec": {"signerName": "kubernetes.io/kubelet-serving",
        "username": format!("system:node:{node}"), "groups": ["system:nodes"], "usages": ["digital signature", "server auth"],
        "request": base64::engine::general_purpose::STANDARD.encode(request)}}))
    .unwrap()
}

fn node(name: &str, i: usize) -> Node {
    let a: Vec<_> = (0..MAX_NODE_ADDRESSES)
        .map(|k| json!({"type": "InternalIP", "address": format!("10.{}.{}.{}", i / 250, i % 250, k)}))
        .collect();
    serde_json::from_value(json!({"metadata": {"name": name}, "status": {"addresses": a}})).unwrap()
}

fn median_us(mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..200)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    t[t.len() / 2]
}

fn main() {
    let nodes: Vec<Node> = (0..5000).map(|i| node(&format!("n{i}"), i)).collect();
    let index = NodeAddresses::from_nodes(&nodes);
    let names = ClusterNames::default();
    let sans: Vec<String> = (0..MAX_SANS).map(|k| format!("10.0.0.{k}")).collect();
    let me = csr("me", "n0", &pem("n0", &sans));
    let siblings: Vec<_> = (0..MAX_PENDING_SIBLINGS).map(|i| csr(&format!("s{i}"), "n0", &pem("n0", &sans))).collect();
    let own = [nodes[0].clone()];
    let opts = CheckOptions::default();
    let ctx = Context { nodes: &own, csrs: &siblings, bindings: &[], addresses: &index, cluster: &names };
    let us = median_us(|| {
        std::hint::black_box(verdict(&me, ctx, &opts));
    });
    println!("verdict at the bounds (64 SANs, 128 addresses, 64 siblings, 5,000 Nodes indexed): {us:.0} us");
    let wide: Vec<String> = (0..3000).map(|k| format!("n{k}.example.com")).collect();
    let big = csr("big", "n0", &pem("n0", &wide));
    let us = median_us(|| {
        std::hint::black_box(verdict(&big, ctx, &opts));
    });
    println!("verdict of a 3,000-SAN request (refused by `request`): {us:.0} us");
}
