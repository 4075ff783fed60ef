//! A real control plane for tests, like envtest's assets: `../shared/k8s/control-plane`
//! (README there) starts etcd, kube-apiserver and kube-controller-manager on loopback, set up as
//! `kubeadm init` leaves a cluster. Found through `JOINKIT_K8S_CONTROL_PLANE` (default: the
//! sibling `shared/k8s/control-plane` when it exists). Absent, the tests are skipped with a
//! notice, except under `CI`, where that is a failure.
//!
//! [`shared`] gives one cluster per (version, CA) per test binary, behind a mutex that
//! serialises scenarios changing cluster-wide state; those clusters are stopped at exit (an
//! `atexit` hook: statics are never dropped). [`Cluster::up`] gives a cluster of one's own,
//! stopped by its `Drop`.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

pub const KUBECTL: &str = "/usr/bin/kubectl";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    V124,
    V136,
}

impl Version {
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V124 => "1.24",
            Version::V136 => "1.36",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaAlgo {
    Rsa,
    Ecdsa,
}

impl CaAlgo {
    pub fn as_str(self) -> &'static str {
        match self {
            CaAlgo::Rsa => "rsa",
            CaAlgo::Ecdsa => "ecdsa",
        }
    }
}

/// The control-plane script, or None (with a notice) when it is not there. Under CI its absence
/// is a failure.
pub fn control_plane_script() -> Option<PathBuf> {
    static SCRIPT: OnceLock<Option<PathBuf>> = OnceLock::new();
    SCRIPT
        .get_or_init(|| {
            let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
            let found = match std::env::var_os("JOINKIT_K8S_CONTROL_PLANE") {
                Some(p) if !p.is_empty() => {
                    // Named explicitly: a wrong path is a mistake, never a silent skip.
                    let p = PathBuf::from(p);
                    assert!(p.is_file(), "JOINKIT_K8S_CONTROL_PLANE={} is not a file", p.display());
                    Some(p)
                }
                _ => {
                    let p = manifest.join("../shared/k8s/control-plane");
                    p.exists().then_some(p)
                }
            };
            let why = match &found {
                Some(p) => format!("{} is not a file", p.display()),
                None => "JOINKIT_K8S_CONTROL_PLANE is unset and ../shared/k8s/control-plane does not exist".into(),
            };
            let found = found.filter(|p| p.is_file());
            if found.is_none() {
                assert!(std::env::var_os("CI").is_none(), "real-control-plane tests are required in CI: {why}");
                // Written to the process's stderr directly: the test harness captures eprintln!
                // of passing tests, and a skip must be visible.
                use std::io::Write;
                let _ = writeln!(std::io::stderr(), "NOTICE: skipping real-control-plane tests: {why}");
            }
            found
        })
        .clone()
}

fn script_command(script: &Path) -> Command {
    let mut c = Command::new(script);
    c.env("JOINKIT_K8S_CACHE", PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/k8s-cache"))
        .env("JOINKIT_K8S_QUIET", "1")
        .stdin(Stdio::null());
    c
}

/// kubectl as the cluster's admin, usable from any thread.
#[derive(Clone)]
pub struct AdminKubectl {
    pub kubeconfig: PathBuf,
    pub cache: PathBuf,
    pub home: PathBuf,
}

impl AdminKubectl {
    /// Runs kubectl; its output whatever the exit status.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut c = Command::new(KUBECTL);
        c.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .env("KUBECACHEDIR", &self.cache)
            .env("HOME", &self.home)
            .env_remove("KUBECONFIG")
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("/usr/bin/kubectl runs");
        if let Some(s) = stdin {
            child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
        }
        child.wait_with_output().unwrap()
    }
}

/// One running control plane. Dropping it runs `down` and removes its directory.
pub struct Cluster {
    pub version: Version,
    pub ca: CaAlgo,
    script: PathBuf,
    tmp: Option<tempfile::TempDir>,
    pub dir: PathBuf,
    pub env: HashMap<String, String>,
    /// Wall time of `up`.
    pub up_time: Duration,
}

impl Cluster {
    /// `control-plane up` in a new directory; None when the script is absent (skipped).
    pub fn up(version: Version, ca: CaAlgo) -> Option<Cluster> {
        let script = control_plane_script()?;
        let tmp = tempfile::Builder::new().prefix("joinkit-k8s-").tempdir().expect("temp dir");
        let dir = tmp.path().join("cp");
        let t = Instant::now();
        let out = script_command(&script)
            .arg("up")
            .arg(&dir)
            .args(["--version", version.as_str(), "--ca", ca.as_str()])
            .output()
            .expect("run control-plane up");
        let mut c = Cluster { version, ca, script, tmp: Some(tmp), dir, env: HashMap::new(), up_time: t.elapsed() };
        assert!(
            out.status.success(),
            "control-plane up {} {} failed ({}):\n{}",
            version.as_str(),
            ca.as_str(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let env: HashMap<String, Value> =
            serde_json::from_slice(&std::fs::read(c.dir.join("env.json")).expect("env.json"))
                .expect("env.json is JSON");
        c.env = env.into_iter().map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string())).collect();
        eprintln!(
            "real control plane v{} ({}) up at {} in {:.1} s",
            version.as_str(),
            ca.as_str(),
            c.endpoint(),
            c.up_time.as_secs_f64()
        );
        Some(c)
    }

    pub fn var(&self, k: &str) -> &str {
        self.env.get(k).map(String::as_str).unwrap_or_else(|| panic!("env.json lacks {k}"))
    }
    pub fn endpoint(&self) -> &str {
        self.var("ENDPOINT")
    }
    pub fn server(&self) -> &str {
        self.var("SERVER")
    }
    pub fn pin(&self) -> &str {
        self.var("CA_PIN")
    }
    pub fn token(&self) -> &str {
        self.var("TOKEN")
    }
    pub fn token_id(&self) -> &str {
        self.var("TOKEN_ID")
    }
    pub fn admin(&self) -> &str {
        self.var("ADMIN_KUBECONFIG")
    }
    pub fn ca_pem(&self) -> String {
        std::fs::read_to_string(self.var("CA_CERT")).expect("ca.crt")
    }
    pub fn label(&self) -> String {
        format!("v{}/{}", self.version.as_str(), self.ca.as_str())
    }

    /// `control-plane SUBCOMMAND DIR ARGS...`; panics with the output unless it succeeds.
    pub fn script(&self, sub: &str, args: &[&str]) -> String {
        let out = script_command(&self.script).arg(sub).arg(&self.dir).args(args).output().expect("control-plane");
        assert!(
            out.status.success(),
            "control-plane {sub} {args:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// `control-plane token DIR ARGS...`: a new bootstrap token.
    pub fn new_token(&self, args: &[&str]) -> String {
        self.script("token", args)
    }

    /// `control-plane controller-manager DIR start --controllers LIST` (None: the default list).
    pub fn controllers(&self, list: Option<&str>) {
        match list {
            Some(l) => self.script("controller-manager", &["start", "--controllers", l]),
            None => self.script("controller-manager", &["start"]),
        };
    }

    /// What a thread needs to run kubectl as the admin.
    pub fn admin_kubectl(&self) -> AdminKubectl {
        AdminKubectl { kubeconfig: self.admin().into(), cache: self.var("KUBECACHEDIR").into(), home: self.dir.clone() }
    }

    /// kubectl with the admin kubeconfig; its output whatever the exit status.
    pub fn kubectl_out(&self, args: &[&str], stdin: Option<&str>) -> Output {
        self.admin_kubectl().run(args, stdin)
    }

    /// kubectl with the admin kubeconfig; panics unless it succeeds; stdout.
    pub fn kubectl(&self, args: &[&str]) -> String {
        self.kubectl_stdin(args, None)
    }

    pub fn kubectl_stdin(&self, args: &[&str], stdin: Option<&str>) -> String {
        let o = self.kubectl_out(args, stdin);
        assert!(o.status.success(), "kubectl {args:?} failed: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// An object as JSON, or None when it does not exist.
    pub fn get(&self, kind: &str, ns: Option<&str>, name: &str) -> Option<Value> {
        let mut args = vec!["get", kind, name, "-o", "json"];
        if let Some(ns) = ns {
            args.extend(["-n", ns]);
        }
        let o = self.kubectl_out(&args, None);
        if !o.status.success() {
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(err.contains("NotFound") || err.contains("not found"), "kubectl {args:?}: {err}");
            return None;
        }
        Some(serde_json::from_slice(&o.stdout).expect("kubectl -o json"))
    }

    /// Takes an object away; the returned guard puts it back as it was (`create` with the
    /// server-set metadata stripped) when dropped.
    pub fn snapshot(&self, kind: &str, ns: Option<&str>, name: &str) -> Value {
        let mut v = self.get(kind, ns, name).unwrap_or_else(|| panic!("{kind} {name} exists"));
        if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            for k in ["resourceVersion", "uid", "creationTimestamp", "managedFields", "selfLink", "generation"] {
                m.remove(k);
            }
        }
        v
    }

    /// Creates (or replaces) an object from JSON.
    pub fn put(&self, obj: &Value) {
        let s = obj.to_string();
        let o = self.kubectl_out(&["create", "-f", "-"], Some(&s));
        if !o.status.success() {
            self.kubectl_stdin(&["replace", "-f", "-"], Some(&s));
        }
    }

    pub fn delete(&self, kind: &str, ns: Option<&str>, name: &str) {
        let mut args = vec!["delete", kind, name, "--ignore-not-found", "--wait=false"];
        if let Some(ns) = ns {
            args.extend(["-n", ns]);
        }
        self.kubectl(&args);
    }

    /// cluster-info's data as the anonymous reader sees it (read here with the admin).
    pub fn cluster_info_data(&self) -> serde_json::Map<String, Value> {
        self.get("configmap", Some("kube-public"), "cluster-info")
            .and_then(|v| v.get("data").and_then(Value::as_object).cloned())
            .unwrap_or_default()
    }

    /// Polls `f` every 100 ms until it is true; panics after `limit`.
    pub fn wait_for(&self, what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
        let t = Instant::now();
        while !f() {
            assert!(t.elapsed() < limit, "{}: timed out after {limit:?} waiting for {what}", self.label());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until cluster-info carries (or lacks) a signature for the token ID.
    pub fn wait_signed(&self, id: &str, signed: bool) {
        let key = format!("jws-kubeconfig-{id}");
        self.wait_for(&format!("{key} present={signed}"), Duration::from_secs(30), || {
            self.cluster_info_data().contains_key(&key) == signed
        });
    }

    fn down(&mut self) {
        let _ = script_command(&self.script).arg("down").arg(&self.dir).stdout(Stdio::null()).status();
        if let Some(t) = self.tmp.take() {
            let _ = t.close();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.down();
    }
}

/// A cluster shared by the tests of one binary.
pub struct Shared {
    pub cluster: Cluster,
    lock: Mutex<()>,
}

impl Shared {
    /// Serialises scenarios on this cluster: whoever changes cluster-wide state holds it, and
    /// puts the state back before letting go. A panicking holder does not block the others.
    pub fn lock(&self) -> MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|e| e.into_inner())
    }
}

type Registry = Mutex<HashMap<(&'static str, Version, CaAlgo), &'static OnceLock<Option<Shared>>>>;

fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(Default::default)
}

extern "C" fn stop_shared_clusters() {
    let cells: Vec<&'static OnceLock<Option<Shared>>> = match registry().lock() {
        Ok(r) => r.values().copied().collect(),
        Err(e) => e.into_inner().values().copied().collect(),
    };
    for cell in cells {
        if let Some(Some(s)) = cell.get() {
            // Statics are not dropped: stop it here. `down` is idempotent and the dir goes.
            let dir = s.cluster.dir.clone();
            let _ = script_command(&s.cluster.script).arg("down").arg(&dir).stdout(Stdio::null()).status();
            if let Some(parent) = dir.parent() {
                let _ = std::fs::remove_dir_all(parent);
            }
        }
    }
}

/// The binary's cluster of this version and CA, started on first use (None: skipped).
pub fn shared(version: Version, ca: CaAlgo) -> Option<&'static Shared> {
    shared_in("", version, ca)
}

/// A cluster shared by the tests of one `group` only (a module whose tests must not meet the
/// cluster-wide faults other modules inject into [`shared`]'s, nor hold its lock for long),
/// started on first use and stopped at exit like [`shared`]'s (None: skipped).
pub fn shared_in(group: &'static str, version: Version, ca: CaAlgo) -> Option<&'static Shared> {
    control_plane_script()?;
    let cell: &'static OnceLock<Option<Shared>> = {
        let mut r = registry().lock().unwrap_or_else(|e| e.into_inner());
        if r.is_empty() {
            // SAFETY: registering a plain extern "C" function with the C library.
            unsafe {
                libc::atexit(stop_shared_clusters);
            }
        }
        r.entry((group, version, ca)).or_insert_with(|| Box::leak(Box::new(OnceLock::new())))
    };
    cell.get_or_init(|| Cluster::up(version, ca).map(|cluster| Shared { cluster, lock: Mutex::new(()) })).as_ref()
}

// ---------------------------------------------------------------------------------------------
// Acting as a node, and kubelet-serving CSRs (tests/it/csr_approver.rs)

/// kubectl with another kubeconfig (a node's `kubelet.conf` from `joinkit bootstrap
/// --write-dir`): the API server sees that identity, so a node creates its own Node and CSRs as
/// the kubelet does. Its output whatever the exit status.
pub fn kubectl_as(kubeconfig: &Path, home: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    AdminKubectl { kubeconfig: kubeconfig.into(), cache: home.join("kube-cache"), home: home.into() }.run(args, stdin)
}

/// [`kubectl_as`]; panics unless it succeeds; stdout.
pub fn kubectl_as_ok(kubeconfig: &Path, home: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let o = kubectl_as(kubeconfig, home, args, stdin);
    assert!(
        o.status.success(),
        "kubectl --kubeconfig {} {args:?} failed: {}",
        kubeconfig.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A kubelet-serving CSR object named `name` for a PEM request and these usages.
pub fn serving_csr_object(name: &str, usages: &[&str], request_pem: &str) -> Value {
    use base64::Engine;
    serde_json::json!({
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": name},
        "spec": {
            "signerName": "kubernetes.io/kubelet-serving",
            "usages": usages,
            "request": base64::engine::general_purpose::STANDARD.encode(request_pem),
        },
    })
}

impl Cluster {
    /// Registers Node `name` the way a kubelet does, with the node's own credentials
    /// (`kubeconfig`): POST the Node (the Node authorizer and NodeRestriction let a node create
    /// its own), then GET it and PUT it back to `/status` with `addresses` as (type, address),
    /// read and retried when the Node changed in between. `kubectl patch --subresource=status` is not used: kubectl GETs
    /// `nodes/status` first, which the Node authorizer refuses a node (403 on 1.24); and the PUT
    /// carries the Node as read, because the node lifecycle controller may have tainted it
    /// meanwhile and NodeRestriction refuses a node's update that drops a taint ("not allowed to
    /// modify taints", 1.36). Returns the Node as stored.
    pub fn register_node_as(&self, kubeconfig: &Path, home: &Path, name: &str, addresses: &[(&str, &str)]) -> Value {
        let node = serde_json::json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}});
        kubectl_as_ok(kubeconfig, home, &["create", "-f", "-"], Some(&node.to_string()));
        let addrs: Vec<Value> = addresses.iter().map(|(t, a)| serde_json::json!({"type": t, "address": a})).collect();
        let path = format!("/api/v1/nodes/{name}");
        let f = home.join(format!("node-{name}-status.json"));
        for attempt in 0.. {
            let mut current: Value =
                serde_json::from_str(&kubectl_as_ok(kubeconfig, home, &["get", "--raw", &path], None)).unwrap();
            current["status"]["addresses"] = Value::Array(addrs.clone());
            std::fs::write(&f, current.to_string()).unwrap();
            let o = kubectl_as(
                kubeconfig,
                home,
                &["replace", "--raw", &format!("{path}/status"), "-f", f.to_str().unwrap()],
                None,
            );
            let err = String::from_utf8_lossy(&o.stderr);
            if o.status.success() {
                let stored: Value = serde_json::from_slice(&o.stdout).expect("the Node as JSON");
                assert_eq!(
                    stored["status"]["addresses"],
                    Value::Array(addrs),
                    "{}: Node {name}'s addresses",
                    self.label()
                );
                return stored;
            }
            // A taint added between the GET and the PUT: NodeRestriction compares with the Node
            // as stored and refuses before the resourceVersion conflict is seen. Read again.
            let raced = err.contains("Conflict") || err.contains("not allowed to modify taints");
            assert!(attempt < 10 && raced, "{}: PUT {path}/status as the node: {err}", self.label());
            std::thread::sleep(Duration::from_millis(200));
        }
        unreachable!()
    }

    /// Creates a kubelet-serving CSR with `kubeconfig`'s identity (the API server fills in
    /// `spec.username` and `spec.groups` from it); returns the CSR as stored.
    pub fn create_serving_csr_as(
        &self,
        kubeconfig: &Path,
        home: &Path,
        name: &str,
        usages: &[&str],
        request_pem: &str,
    ) -> Value {
        let obj = serving_csr_object(name, usages, request_pem);
        let out = kubectl_as_ok(kubeconfig, home, &["create", "-f", "-", "-o", "json"], Some(&obj.to_string()));
        serde_json::from_str(&out).expect("the CSR as JSON")
    }

    /// events.k8s.io Events in `ns` regarding the object named `name` (any kind).
    pub fn events_regarding(&self, ns: &str, name: &str) -> Vec<Value> {
        let out = self.kubectl(&["get", "events.events.k8s.io", "-n", ns, "-o", "json"]);
        let v: Value = serde_json::from_str(&out).expect("event list as JSON");
        v["items"].as_array().into_iter().flatten().filter(|e| e["regarding"]["name"] == name).cloned().collect()
    }

    /// A CSR's condition of this type (`Approved`, `Denied`, `Failed`), when it has one.
    pub fn csr_condition(&self, name: &str, type_: &str) -> Option<Value> {
        let csr = self.get("csr", None, name)?;
        csr["status"]["conditions"].as_array().into_iter().flatten().find(|c| c["type"] == type_).cloned()
    }
}
