//! diagnose's way-out checks on an EKS node (docs/eks-way-out.md; seeds 003 "Network" and 004):
//! each run is a whole `joinkit diagnose` in its own user, network and mount namespace
//! (`unshare -rnm`): only a loopback interface, holding the stand-in addresses (RFC 5737's
//! 203.0.113.0/24 for "public" AWS addresses, 10.0.0.0/16 for a VPC's interface endpoints),
//! an `/etc/hosts` bind-mounted over the namespace's that maps the AWS names of region us-west-2
//! to them (the resolver joinkit uses reads it), a resolv.conf whose nameserver (127.0.0.1:53)
//! does not exist, and plain TCP listeners on port 443 for the endpoints that answer. No real
//! AWS address is ever resolved or reached. The node's routing table is the fake root's
//! `/proc/net/route` (with or without a default route).

use crate::common;
use crate::diagnose::fake_root;
use common::lab;
use joinkit_lab::Scenario;
use serde_json::Value;
use std::time::{Duration, Instant};

const REGION: &str = "us-west-2";
const CLUSTER_HOST: &str = "0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com";

/// The AWS names of the region, as joinkit derives them, with their check.
fn aws_names() -> Vec<(&'static str, String)> {
    vec![
        ("eks/reach-sts", format!("sts.{REGION}.amazonaws.com")),
        ("eks/reach-ec2", format!("ec2.{REGION}.amazonaws.com")),
        ("eks/reach-ecr-api", format!("api.ecr.{REGION}.amazonaws.com")),
        ("eks/reach-ecr-dkr", format!("602401143452.dkr.ecr.{REGION}.amazonaws.com")),
        ("eks/reach-s3", format!("prod-{REGION}-starport-layer-bucket.s3.{REGION}.amazonaws.com")),
    ]
}

/// The stand-ins: `tcp,ADDR,PORT` listens (and never reads: the TCP handshake is all the check
/// needs); `silent,ADDR,PORT` listens with a full accept queue, so that SYNs are dropped and a
/// connect never completes; `imds,ADDR,PORT` is an IMDSv2 stand-in (token, then
/// placement/region).
const STANDINS: &str = r#"
import http.server, socket, sys, threading, time
ready = sys.argv[1]
keep = []
for spec in sys.argv[2:]:
    kind, addr, port = spec.split(',')
    port = int(port)
    if kind == 'imds':
        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a): pass
            def answer(self, code, body):
                self.send_response(code); self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)
            def do_PUT(self):
                ok = self.path == '/latest/api/token' and self.headers.get('X-aws-ec2-metadata-token-ttl-seconds')
                self.answer(200 if ok else 400, b'STANDIN-TOKEN' if ok else b'')
            def do_GET(self):
                if self.headers.get('X-aws-ec2-metadata-token') != 'STANDIN-TOKEN':
                    return self.answer(401, b'')
                if self.path == '/latest/meta-data/placement/region':
                    return self.answer(200, b'us-west-2')
                self.answer(404, b'')
        srv = http.server.HTTPServer((addr, port), H)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        continue
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    if kind == 'silent':
        s.listen(0)
        for _ in range(2):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.setblocking(False)
            try:
                c.connect((addr, port))
            except BlockingIOError:
                pass
            keep.append(c)
        time.sleep(0.3)
    else:
        s.listen(64)
    keep.append(s)
open(ready, 'w').close()
time.sleep(120)
"#;

/// One node: its routing table, its names, the addresses on loopback and the stand-ins.
struct Node {
    default_route: bool,
    /// `(name, address)` lines of /etc/hosts.
    hosts: Vec<(String, String)>,
    /// Stand-ins (`kind,addr,port`).
    standins: Vec<String>,
    /// The cluster endpoint's host in the NodeConfig.
    cluster_host: String,
    env: Vec<(&'static str, String)>,
    diagnose_timeout: &'static str,
}

impl Node {
    fn new(default_route: bool) -> Node {
        Node {
            default_route,
            hosts: Vec::new(),
            standins: Vec::new(),
            cluster_host: CLUSTER_HOST.to_string(),
            env: Vec::new(),
            diagnose_timeout: "20s",
        }
    }

    /// `name` resolves to `addr`, and a stand-in of `kind` (if any) listens there on 443.
    fn endpoint(mut self, name: &str, addr: &str, kind: Option<&str>) -> Node {
        self.hosts.push((name.to_string(), addr.to_string()));
        if let Some(k) = kind {
            self.standins.push(format!("{k},{addr},443"));
        }
        self
    }

    fn run(&self) -> (common::Run, Value, Duration) {
        let l = lab(Scenario::Healthy);
        let dir = tempfile::tempdir().unwrap();
        let root = fake_root(dir.path());
        // The VPC's local route (10.0.0.0/16), and maybe a default route through the VPC router.
        let mut route =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n".to_string();
        if self.default_route {
            route.push_str("eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n");
        }
        route.push_str("eth0\t0000000A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n");
        std::fs::write(root.join("proc/net/route"), route).unwrap();
        use base64::Engine;
        let ca = base64::engine::general_purpose::STANDARD.encode(&l.info.ca_cert_pem);
        let ud = root.join("var/lib/cloud/instance/user-data.txt");
        std::fs::create_dir_all(ud.parent().unwrap()).unwrap();
        std::fs::create_dir_all(root.join("etc/eks")).unwrap();
        std::fs::write(&ud, format!("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n    name: my-cluster\n    apiServerEndpoint: https://{}\n    certificateAuthority: {ca}\n    cidr: 10.100.0.0/16\n", self.cluster_host)).unwrap();
        let hosts = dir.path().join("hosts");
        let mut h = "127.0.0.1 localhost\n".to_string();
        for (n, a) in &self.hosts {
            h.push_str(&format!("{a} {n}\n"));
        }
        std::fs::write(&hosts, h).unwrap();
        let resolv = dir.path().join("resolv.conf");
        std::fs::write(&resolv, "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n").unwrap();
        let py = dir.path().join("standins.py");
        std::fs::write(&py, STANDINS).unwrap();
        let ready = dir.path().join("ready");
        let mut addrs: Vec<String> = self.hosts.iter().map(|(_, a)| a.clone()).collect();
        addrs.sort();
        addrs.dedup();
        let add_addrs: String =
            addrs.iter().filter(|a| *a != "127.0.0.1").map(|a| format!("ip addr add {a}/32 dev lo && ")).collect();
        let script = format!(
            "ip link set lo up && {add_addrs}mount --bind {hosts} /etc/hosts && mount --bind {resolv} /etc/resolv.conf && \
             {{ python3 {py} {ready} {standins} >/dev/null 2>&1 & sp=$!; }} && \
             for i in $(seq 100); do [ -e {ready} ] && break; sleep 0.1; done && [ -e {ready} ] && \
             start=$(date +%s%N); {bin} diagnose 127.0.0.1:1 --discovery-token-ca-cert-hash {pin} --node-name worker-1 \
               --root {root} --timeout 1s --diagnose-timeout {dt} --kubelet-healthz off -o json; rc=$?; end=$(date +%s%N); \
             echo; kill $sp; echo \"elapsed_ms=$(( (end - start) / 1000000 )) rc=$rc\"",
            hosts = hosts.display(),
            resolv = resolv.display(),
            py = py.display(),
            ready = ready.display(),
            standins = self.standins.join(" "),
            bin = common::bin(),
            pin = l.info.ca_pin,
            root = root.display(),
            dt = self.diagnose_timeout,
        );
        let mut c = std::process::Command::new("unshare");
        c.args(["-rnm", "sh", "-c", &script])
            .env_remove("JOINKIT_TOKEN")
            .env_remove("AWS_EC2_METADATA_SERVICE_ENDPOINT")
            .env_remove("JOINKIT_EKS_ENDPOINT_OVERRIDES")
            .env("JOINKIT_TOKEN", &l.info.token)
            .env("NO_COLOR", "1");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        let t = Instant::now();
        let out = c.output().expect("unshare (util-linux) runs");
        let took = t.elapsed();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let last = stdout.lines().last().unwrap_or("").to_string();
        let code: i32 = last
            .split_whitespace()
            .find_map(|w| w.strip_prefix("rc="))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no rc in {stdout}\nstderr: {stderr}"));
        let json = &stdout[..stdout.rfind("elapsed_ms=").unwrap()];
        let v: Value = serde_json::from_str(json.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
        (common::Run { code, stdout: json.to_string(), stderr }, v, took)
    }
}

fn stage<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["stages"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("no stage {name}: {v}"))
}

fn detail(v: &Value, name: &str) -> String {
    stage(v, name)["detail"].as_str().unwrap().to_string()
}

/// Every name of the region (and the cluster's) at one address each from `base` (the last
/// octet counts up), with a TCP stand-in.
fn all_endpoints(mut n: Node, base: &str, kind: Option<&str>) -> Node {
    let prefix = base.rsplit_once('.').unwrap().0;
    let first: u8 = base.rsplit_once('.').unwrap().1.parse().unwrap();
    n = n.endpoint(CLUSTER_HOST, &format!("{prefix}.{first}"), kind);
    for (i, (_, name)) in aws_names().into_iter().enumerate() {
        n = n.endpoint(&name, &format!("{prefix}.{}", first + 1 + i as u8), kind);
    }
    n
}

#[test]
fn nat_case_default_route_and_public_addresses_pass() {
    let (r, v, _) = all_endpoints(Node::new(true), "203.0.113.10", Some("tcp")).run();
    assert!(
        detail(&v, "eks/region").contains("region us-west-2 (from the cluster endpoint's host name"),
        "{}",
        r.stdout
    );
    assert!(detail(&v, "eks/default-route").starts_with("default route via 10.0.0.1 on eth0"), "{}", r.stdout);
    for (check, name) in aws_names() {
        let s = stage(&v, check);
        assert_eq!(s["status"], "pass", "{check}: {s}");
        let d = s["detail"].as_str().unwrap();
        assert!(d.contains(&name) && d.contains("(public: through the subnet's NAT or internet gateway"), "{d}");
    }
    assert_eq!(stage(&v, "eks/reach-cluster")["status"], "pass", "{}", r.stdout);
    let w = stage(&v, "eks/way-out");
    assert_eq!(w["status"], "pass", "{w}");
    assert!(w["detail"].as_str().unwrap().contains("the NAT case: sts, ec2, ecr-api, ecr-dkr, s3"), "{w}");
    // The root cause, whatever it is (the stand-in speaks no TLS), is not on the way out.
    let at = v["failure"]["stage"].as_str().unwrap_or("");
    assert!(!at.starts_with("eks/reach") && at != "eks/way-out", "{}", r.stdout);
    assert_eq!(at, "eks/endpoint", "the TLS check comes after the way out: {}", r.stdout);
}

#[test]
fn no_default_route_and_no_endpoints_names_the_route_table_and_nat_gateway() {
    // Route 53 resolves the public names to public addresses; the node has only its VPC route.
    let (r, v, _) = all_endpoints(Node::new(false), "203.0.113.10", None).run();
    assert!(detail(&v, "eks/default-route").starts_with("no default route"), "{}", r.stdout);
    assert_eq!(v["failureDomain"], "network", "{}", r.stdout);
    assert_eq!(r.code, 80, "{}", r.stdout);
    let f = &v["failure"];
    assert_eq!(f["stage"], "eks/reach-cluster", "{}", r.stdout);
    let (m, fix) = (f["message"].as_str().unwrap(), f["fix"].as_str().unwrap());
    assert!(m.contains(CLUSTER_HOST) && m.contains("no default route"), "{m}");
    assert!(
        fix.contains("route table") && fix.contains("NAT gateway") && fix.contains("endpointPrivateAccess"),
        "{fix}"
    );
    for (check, name) in aws_names() {
        let s = stage(&v, check);
        assert_eq!(s["status"], "fail", "{check}: {s}");
        assert!(s["detail"].as_str().unwrap().contains(&name), "{s}");
    }
    // Each AWS service's own finding is evidence, with its name.
    let ev = v["evidence"].to_string();
    assert!(ev.contains("eks/reach-sts") && ev.contains(&format!("sts.{REGION}.amazonaws.com")), "{ev}");
    let w = stage(&v, "eks/way-out");
    assert_eq!(w["status"], "fail");
    assert!(w["detail"].as_str().unwrap().starts_with("unreachable: cluster, sts, ec2, ecr-api, ecr-dkr, s3"), "{w}");
}

#[test]
fn no_default_route_and_sts_unreachable_names_the_sts_interface_endpoint() {
    // The cluster's private endpoint answers, STS resolves publicly: the STS fix is the route or
    // the interface endpoint com.amazonaws.us-west-2.sts.
    let mut n = Node::new(false).endpoint(CLUSTER_HOST, "10.0.1.10", Some("tcp"));
    for (check, name) in aws_names() {
        n = if check == "eks/reach-sts" {
            n.endpoint(&name, "203.0.113.11", None)
        } else {
            let i = 11 + aws_names().iter().position(|(c, _)| *c == check).unwrap();
            n.endpoint(&name, &format!("10.0.1.{i}"), Some("tcp"))
        };
    }
    let (r, v, _) = n.run();
    assert_eq!(r.code, 80, "{}", r.stdout);
    let f = &v["failure"];
    assert_eq!(f["stage"], "eks/reach-sts", "{}", r.stdout);
    let (m, cause, fix) = (f["message"].as_str().unwrap(), f["cause"].as_str().unwrap(), f["fix"].as_str().unwrap());
    assert!(m.contains("sts.us-west-2.amazonaws.com") && m.contains("203.0.113.11"), "{m}");
    assert!(cause.contains("route table") && cause.contains("NAT gateway"), "{cause}");
    assert!(fix.contains("com.amazonaws.us-west-2.sts") && fix.contains("private DNS"), "{fix}");
    assert!(fix.contains("route table") && fix.contains("NAT gateway"), "{fix}");
    for c in ["eks/reach-cluster", "eks/reach-ec2", "eks/reach-ecr-api", "eks/reach-ecr-dkr", "eks/reach-s3"] {
        assert_eq!(stage(&v, c)["status"], "pass", "{c}: {}", r.stdout);
    }
    assert!(detail(&v, "eks/reach-cluster").contains("the cluster's private endpoint in the VPC"), "{}", r.stdout);
}

#[test]
fn vpc_endpoints_without_default_route_pass_as_the_endpoint_case() {
    // The region comes from the metadata service stand-in here: the NodeConfig's endpoint is a
    // name that is not an EKS host name.
    let mut n = all_endpoints(Node::new(false), "10.0.5.10", Some("tcp"));
    n.cluster_host = "api.cluster.internal".into();
    n = n.endpoint("api.cluster.internal", "10.0.5.9", Some("tcp"));
    n.standins.push("imds,127.0.0.1,8111".into());
    n.env.push(("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:8111".into()));
    let (r, v, _) = n.run();
    assert!(
        detail(&v, "eks/region")
            .contains("region us-west-2 (from the instance metadata service (http://127.0.0.1:8111))"),
        "{}",
        r.stdout
    );
    assert!(detail(&v, "eks/default-route").starts_with("no default route"), "{}", r.stdout);
    for (check, name) in aws_names() {
        let s = stage(&v, check);
        assert_eq!(s["status"], "pass", "{check}: {s}");
        let d = s["detail"].as_str().unwrap();
        assert!(d.contains(&name) && d.contains("(private: a VPC endpoint with private DNS)"), "{d}");
    }
    let w = stage(&v, "eks/way-out");
    assert_eq!(w["status"], "pass", "{w}");
    assert!(
        w["detail"].as_str().unwrap().contains("the VPC-endpoint case: sts, ec2, ecr-api, ecr-dkr, s3 resolve to private addresses in the VPC (no default route needed)"),
        "{w}"
    );
    let at = v["failure"]["stage"].as_str().unwrap_or("");
    assert!(!at.starts_with("eks/reach") && at != "eks/way-out", "{}", r.stdout);
}

#[test]
fn a_stand_in_that_never_answers_is_bounded() {
    // ECR's registry takes no connection (its SYNs are dropped): the check gives up after its
    // own bound (3 s), names the endpoint and the security-group fix, and the run goes on.
    let mut n = Node::new(true).endpoint(CLUSTER_HOST, "203.0.113.10", Some("tcp"));
    for (i, (check, name)) in aws_names().into_iter().enumerate() {
        let addr = format!("10.0.6.{}", 11 + i);
        n = n.endpoint(&name, &addr, Some(if check == "eks/reach-ecr-dkr" { "silent" } else { "tcp" }));
    }
    let (r, v, took) = n.run();
    let s = stage(&v, "eks/reach-ecr-dkr");
    assert_eq!(s["status"], "fail", "{}", r.stdout);
    assert!(s["detail"].as_str().unwrap().contains("no answer to TCP within 3s"), "{s}");
    let f = &v["failure"];
    assert_eq!(f["stage"], "eks/reach-ecr-dkr", "{}", r.stdout);
    assert!(f["fix"].as_str().unwrap().contains("security group") && f["fix"].as_str().unwrap().contains("443"), "{f}");
    assert_eq!(stage(&v, "eks/reach-sts")["status"], "pass");
    // 3 s for the check, the other checks and the process: far below the 20 s diagnose bound
    // and the kernel's connect timeout (over two minutes).
    assert!(took < Duration::from_secs(15), "took {took:?}: {}", r.stdout);
    // The whole stage is bounded by --diagnose-timeout too: 2 s cuts the 3 s check short.
    n.diagnose_timeout = "2s";
    let (r, v, took) = n.run();
    assert!(took < Duration::from_secs(10), "took {took:?}: {}", r.stdout);
    assert!(
        v["stages"].as_array().unwrap().iter().any(|s| s["name"] == "timeout" || s["name"] == "eks/way-out"),
        "{}",
        r.stdout
    );
}

/// Part of the identity mapping, from the cluster: `diagnose --kubeconfig` reads
/// kube-system/aws-auth and applies validate-config's EKS rules (docs/eks-aws-auth.md).
#[test]
fn diagnose_kubeconfig_reads_aws_auth_from_the_cluster() {
    let l = lab(Scenario::Healthy);
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    // No aws-auth: skipped, no finding.
    let (r, v) = crate::diagnose::diagnose(&l, &root, &[]);
    assert_eq!(stage(&v, "admin/aws-auth")["status"], "skip", "{}", r.stdout);
    // An instance-profile ARN with a path, and a mapRoles whose indentation is broken.
    let auth = format!("Bearer {}", l.info.admin_token);
    let create = |map_roles: &str| {
        let cm = serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "aws-auth", "namespace": "kube-system"},
            "data": {"mapRoles": map_roles},
        });
        let _ = common::https(
            l.endpoint(),
            &l.info.ca_cert_pem,
            "DELETE",
            "/api/v1/namespaces/kube-system/configmaps/aws-auth",
            &[("authorization", &auth)],
            None,
        );
        let h = common::https(
            l.endpoint(),
            &l.info.ca_cert_pem,
            "POST",
            "/api/v1/namespaces/kube-system/configmaps",
            &[("authorization", &auth), ("content-type", "application/json")],
            Some(&cm.to_string()),
        );
        assert!(h.status == 201 || h.status == 200, "{} {}", h.status, String::from_utf8_lossy(&h.body));
    };
    create("- rolearn: arn:aws:iam::111122223333:instance-profile/eks/NodeProfile\n  username: system:node:{{EC2PrivateDNSName}}\n  groups:\n    - system:bootstrappers\n    - system:nodes\n");
    let (r, v) = crate::diagnose::diagnose(&l, &root, &[]);
    let s = stage(&v, "admin/aws-auth");
    let d = s["detail"].as_str().unwrap();
    // The end-to-end discovery and TLS bootstrap passed against the lab: admin evidence is a
    // warning then, never the root cause.
    assert_eq!(s["status"], "warn", "{}", r.stdout);
    assert!(d.contains("is an instance profile ARN") && d.contains("not a root cause"), "{d}");
    create("- rolearn: arn:aws:iam::111122223333:role/NodeRole\n  username: system:node:{{EC2PrivateDNSName}}\n groups:\n    - system:nodes\n");
    // Under --no-csr there is no end-to-end run: the broken mapRoles is the root cause.
    let (r, v) = crate::diagnose::diagnose(&l, &root, &["--no-csr"]);
    let d = detail(&v, "admin/aws-auth");
    assert!(d.contains("mapRoles is not valid YAML") && d.contains("line 3, column 2"), "{d}");
    assert_eq!(v["failure"]["stage"], "admin/aws-auth", "{}", r.stdout);
    assert_eq!(v["failureDomain"], "config", "{}", r.stdout);
    assert_eq!(r.code, 88, "{}", r.stdout);
    create("- rolearn: arn:aws:iam::111122223333:role/NodeRole\n  username: system:node:{{EC2PrivateDNSName}}\n  groups:\n    - system:bootstrappers\n    - system:nodes\n");
    let (r, v) = crate::diagnose::diagnose(&l, &root, &[]);
    assert_eq!(stage(&v, "admin/aws-auth")["status"], "pass", "{}", r.stdout);
    // With a metadata service (the node's role, IMDSv2): is this node's role mapped, and how?
    let (url, log) = crate::eks_aws_auth::imds(crate::eks_aws_auth::Imds::Good);
    let with_imds = |l: &joinkit_lab::Lab| {
        crate::diagnose::diagnose_env(l, &root, &[], &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", &url)])
    };
    let (r, v) = with_imds(&l);
    let s = stage(&v, "admin/aws-auth");
    assert_eq!(s["status"], "warn", "{}", r.stdout);
    let d = s["detail"].as_str().unwrap();
    assert!(
        d.contains(
            "node role arn:aws:iam::555555555555:role/devel-worker-nodes-NodeInstanceRole-74RF4UBDUKL6: not mapped"
        ) && d.contains("access entry"),
        "{d}"
    );
    assert!(log.lock().unwrap().first().is_some_and(|l| l == "PUT /latest/api/token"), "token first");
    create("- rolearn: arn:aws:iam::555555555555:role/devel-worker-nodes-NodeInstanceRole-74RF4UBDUKL6\n  username: system:node:{{EC2PrivateDNSName}}\n  groups:\n    - system:bootstrappers\n    - system:nodes\n");
    let (r, v) = with_imds(&l);
    let s = stage(&v, "admin/aws-auth");
    assert_eq!(s["status"], "pass", "{}", r.stdout);
    assert!(
        s["detail"].as_str().unwrap().contains("mapped by aws-auth mapRoles entry 0")
            && s["detail"].as_str().unwrap().contains("to username system:node:{{EC2PrivateDNSName}}"),
        "{s}"
    );
}

#[test]
fn names_that_do_not_resolve_are_a_dns_root_cause() {
    // A default route, but no name resolves (the namespace's nameserver does not exist): the
    // cluster endpoint is the first finding, in domain dns, with the VPC DNS fix.
    let (r, v, _) = Node::new(true).run();
    assert_eq!(v["failureDomain"], "dns", "{}", r.stdout);
    assert_eq!(r.code, 81, "{}", r.stdout);
    let f = &v["failure"];
    assert_eq!(f["stage"], "eks/reach-cluster", "{}", r.stdout);
    assert!(f["message"].as_str().unwrap().contains("does not resolve"), "{f}");
    let fix = f["fix"].as_str().unwrap();
    assert!(fix.contains("DNS resolution") && fix.contains("AmazonProvidedDNS"), "{fix}");
    for (check, _) in aws_names() {
        assert_eq!(stage(&v, check)["status"], "fail", "{check}: {}", r.stdout);
    }
}
