#!/usr/bin/env python3
"""Time to verdict, joinkit vs the real `kubeadm join` v1.36.2, per failure row.

The rows are those of tests/it/real_control_plane.rs that a real v1.36 control plane produces
(each set up as that table's `RealHow::Setup` sets it up), plus an unknown token ID and the
endpoint faults of tests/it/discovery_failures.rs (`kubeadm_parity_for_endpoint_failures`).
Both tools run with their DEFAULT timeouts:

- Discovery rows: `joinkit verify-discovery` (--timeout 15s, --connect-timeout 5s) and `kubeadm
  join ENDPOINT --token T --discovery-token-ca-cert-hash PIN --ignore-preflight-errors=all`
  (discovery timeout 5 minutes, retried every 5 s), stopped at the line that follows discovery.
- Bootstrap rows (the CSR rows and ready-node-exists): `joinkit bootstrap ENDPOINT
  --discovery-token-ca-cert-hash PIN --node-name jk-ROW --kubeconfig ADMIN` (--timeout 60s for the
  CSR; the admin kubeconfig only deletes the CSR afterwards) and the same kubeadm join with
  `--node-name jk-ROW`. ready-node-exists: kubeadm's kubelet-start phase fails (it is stopped at
  `[kubelet-check]` if it does not). The TLS-bootstrap rows (no-autoapprove-binding,
  no-bootstrapper-binding, approver-down, csr-signer-down, csr-denied): kubeadm runs to its end,
  as tests/common/kubeadm_join.rs runs it (`StopAt::End`): a stand-in answers its kubelet health
  check (`healthzPort` set by a `kubeletconfiguration.yaml` patch in `--patches DIR`, the only
  change to kubeadm's inputs), so it reaches `kubelet-wait-bootstrap` and waits for
  /etc/kubernetes/kubelet.conf until timeouts.tlsBootstrap (5 minutes by default; the kubelet
  health check, 4 minutes by default, passes at once). No kubelet runs: kubeadm never makes a
  CSR, so its verdict does not depend on the CSR fault; the fault is held for the whole row.

kubeadm runs as tests/common/kubeadm_join.rs runs it: a private mount namespace (`unshare -m`,
overlays over /etc and /var, a tmpfs over /run); the verdict is its exit (its error line) or the
stop line. It runs against a real v1.36 control plane of its own (`../shared/k8s/control-plane
up`), or against local stand-ins and TLS proxies for endpoint faults.

Rows that only change the join's inputs (token, pin, endpoint, their own proxy, their own token
or Node) run in parallel; rows that change the cluster (cluster-info, RBAC, the controller list)
run one after another, each restored afterwards (and discovery checked to pass again). A row
kubeadm retries or waits out takes about 5 minutes: run the set in the background. Two
invocations with disjoint --rows each start their own control plane and may run at once.

    bench/kubeadm_verdict.py                      # every row (root)
    bench/kubeadm_verdict.py --rows pin-mismatch,connection-refused
    bench/kubeadm_verdict.py --list

Needs root (unshare -m, mount), kubectl, openssl, and target/debug/joinkit (or --joinkit PATH).
Prints a Markdown table: row, joinkit's verdict and time, kubeadm's verdict and time, speed-up,
then kubeadm's error lines.
"""
import argparse
import base64
import concurrent.futures as cf
import hashlib
import hmac
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIST = os.environ.get("JOINKIT_K8S_DIST", os.path.join(ROOT, "../shared/k8s"))
CACHE = os.environ.get("JOINKIT_K8S_CACHE", os.path.join(ROOT, "target/k8s-cache"))
OTHER_PIN = "sha256:3f73af16fa67a1c9d2dee1f7720918913f78360b0e4e3a27b660a85f5a1266e4"
# The lines of tests/common/kubeadm_join.rs: after discovery, after kubelet-start, and the start
# of the TLS-bootstrap wait (kubeadm's kubelet health check passed).
DISCOVERY_PASSED = '[preflight] Reading configuration from the "kubeadm-config" ConfigMap'
KUBELET_CHECK = "[kubelet-check] Waiting for a healthy kubelet"
TLS_BOOTSTRAP_WAIT = "[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap"
ERROR_PREFIX = "error: error execution phase "
# Where kubeadm is stopped: at DISCOVERY_PASSED, at KUBELET_CHECK, or not at all ("end": the
# healthz stand-in and the patch, see run_kubeadm).
STOP_LINES = {"discovery": DISCOVERY_PASSED, "kubelet-start": KUBELET_CHECK, "end": None}


def kubeadm_binary():
    dest = os.path.join(CACHE, "kubeadm", "v1.36.2", "kubeadm")
    if os.environ.get("JOINKIT_KUBEADM"):
        return os.environ["JOINKIT_KUBEADM"]
    if not os.path.isfile(dest):
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        tmp = dest + ".tmp.%d" % os.getpid()
        with open(tmp, "wb") as f:
            subprocess.run(["xz", "-dc", os.path.join(DIST, "v1.36/kubeadm.xz")], stdout=f, check=True)
        os.chmod(tmp, 0o755)
        os.rename(tmp, dest)
    return dest


class HealthzStandIn:
    """Answers every HTTP request on 127.0.0.1:PORT with `200 ok`, as a healthy kubelet's healthz
    does (tests/common/kubeadm_join.rs, HealthzStandIn)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.served = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.done.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            try:
                c.settimeout(2)
                req = b""
                while b"\r\n\r\n" not in req:
                    b = c.recv(4096)
                    if not b:
                        break
                    req += b
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                          b"Content-Length: 2\r\nConnection: close\r\n\r\nok")
                self.served += 1
            except OSError:
                pass
            finally:
                c.close()

    def stop(self):
        self.done.set()
        self.thread.join()
        self.sock.close()
        return self.served


def run_kubeadm(kubeadm, args, stop="discovery", limit=400.0):
    """kubeadm join ARGS in a private mount namespace, stopped at STOP_LINES[stop];
    (verdict, seconds, error line, notes)."""
    d = tempfile.mkdtemp(prefix="kubeadm-verdict-")
    for sub in ("eu", "ew", "vu", "vw", "home"):
        os.makedirs(os.path.join(d, sub))
    healthz = None
    if stop == "end":
        # kubeadm's patch target for the KubeletConfiguration (cmd/kubeadm/app/util/patches): a
        # strategic merge patch named kubeletconfiguration.yaml, applied before the health check.
        healthz = HealthzStandIn()
        patches = os.path.join(d, "patches")
        os.makedirs(patches)
        with open(os.path.join(patches, "kubeletconfiguration.yaml"), "w") as f:
            f.write("healthzBindAddress: 127.0.0.1\nhealthzPort: %d\n" % healthz.port)
        args = args + ["--patches", patches]
        limit = 900.0  # discovery, 4 min health check and 5 min TLS bootstrap at most
    script = (
        f"mount -t overlay overlay -o lowerdir=/etc,upperdir={d}/eu,workdir={d}/ew /etc && "
        f"mount -t overlay overlay -o lowerdir=/var,upperdir={d}/vu,workdir={d}/vw /var && "
        'mount -t tmpfs tmpfs /run && exec "$0" join "$@" 2>&1'
    )
    env = dict(os.environ, HOME=os.path.join(d, "home"), NO_PROXY="127.0.0.1,localhost")
    env.pop("KUBECONFIG", None)
    start = time.monotonic()
    p = subprocess.Popen(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script, kubeadm] + args,
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, text=True, start_new_session=True,
    )
    timer = threading.Timer(limit, lambda: os.killpg(p.pid, 9))
    timer.start()
    verdict, error, notes = "no verdict", None, []
    marker = STOP_LINES[stop]
    try:
        for line in p.stdout:
            line = line.rstrip("\n")
            if marker and marker in line:
                verdict = {"discovery": "discovery passed", "kubelet-start": "kubelet-start passed"}[stop]
                os.killpg(p.pid, 9)
                break
            if TLS_BOOTSTRAP_WAIT in line:
                notes.append("waited for the TLS bootstrap after %.1f s" % (time.monotonic() - start))
            if line.startswith(ERROR_PREFIX):
                phase, _, msg = line[len(ERROR_PREFIX):].partition(": ")
                error, verdict = msg, "error (%s)" % phase
        p.wait()
    finally:
        timer.cancel()
        if healthz:
            notes.append("healthz stand-in answered %d times" % healthz.stop())
        shutil.rmtree(d, ignore_errors=True)
    return verdict, time.monotonic() - start, error, notes


def run_joinkit(joinkit, cmd, endpoint, token, pin, node=None, admin=None):
    """`joinkit verify-discovery` or `joinkit bootstrap` at its defaults; (verdict, seconds)."""
    args = [joinkit, cmd, endpoint, "--discovery-token-ca-cert-hash", pin, "-o", "json"]
    if cmd == "bootstrap":
        args += ["--node-name", node, "--kubeconfig", admin]
    home = tempfile.mkdtemp(prefix="joinkit-verdict-")
    start = time.monotonic()
    r = subprocess.run(args, env=dict(os.environ, JOINKIT_TOKEN=token, NO_COLOR="1", HOME=home),
                       capture_output=True, text=True)
    secs = time.monotonic() - start
    shutil.rmtree(home, ignore_errors=True)
    try:
        v = json.loads(r.stdout)
        f = v.get("failure") or {}
        verdict = f.get("code") or ("ok" if v.get("ok") else "?")
    except ValueError:
        verdict = "exit %d" % r.returncode
    return verdict, secs


class Cluster:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="kubeadm-verdict-cp-")
        self.dir = os.path.join(self.tmp, "cp")
        script = os.path.join(DIST, "control-plane")
        env = dict(os.environ, JOINKIT_K8S_CACHE=CACHE, JOINKIT_K8S_QUIET="1")
        subprocess.run([script, "up", self.dir, "--version", "1.36", "--ca", "ecdsa"], env=env,
                       check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(self.dir, "env.json")) as f:
            self.env = json.load(f)
        self.script, self.script_env = script, env

    def kubectl(self, *args, stdin=None):
        return subprocess.run(["kubectl", "--kubeconfig", self.env["ADMIN_KUBECONFIG"], *args], input=stdin,
                              capture_output=True, text=True,
                              env=dict(os.environ, KUBECACHEDIR=self.env["KUBECACHEDIR"]))

    def token(self, *args):
        out = subprocess.run([self.script, "token", self.dir, *args], env=self.script_env, check=True,
                             capture_output=True, text=True)
        return out.stdout.strip()

    def controllers(self, lst=None):
        """`control-plane controller-manager DIR start [--controllers LIST]` (None: the default)."""
        extra = ["--controllers", lst] if lst else []
        subprocess.run([self.script, "controller-manager", self.dir, "start", *extra], env=self.script_env,
                       check=True, capture_output=True, text=True)

    def cluster_info(self):
        out = self.kubectl("get", "configmap", "-n", "kube-public", "cluster-info", "-o", "json").stdout
        return json.loads(out).get("data", {}) if out else {}

    def snapshot(self, kind, ns, name):
        a = ["get", kind, name, "-o", "json"] + (["-n", ns] if ns else [])
        obj = json.loads(self.kubectl(*a).stdout)
        for k in ("resourceVersion", "uid", "creationTimestamp", "managedFields"):
            obj["metadata"].pop(k, None)
        return obj

    def put(self, obj):
        """Create or replace OBJ."""
        if self.kubectl("replace", "-f", "-", stdin=json.dumps(obj)).returncode != 0:
            self.kubectl("create", "-f", "-", stdin=json.dumps(obj))

    def delete(self, kind, ns, name):
        self.kubectl("delete", kind, name, "--ignore-not-found", *(["-n", ns] if ns else []))

    def wait_for(self, what, cond, timeout=60.0):
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise RuntimeError("timed out waiting for " + what)
            time.sleep(0.5)

    def wait_signed(self, token_id, signed):
        key = "jws-kubeconfig-" + token_id
        self.wait_for("%s present=%s" % (key, signed), lambda: (key in self.cluster_info()) == signed)

    def down(self):
        subprocess.run([self.script, "down", self.dir], env=self.script_env, stdout=subprocess.DEVNULL)
        shutil.rmtree(self.tmp, ignore_errors=True)


class Row:
    """One row's inputs and what it puts back: what a `RealHow::Setup` closure makes of `Ctx`."""

    def __init__(self, c, name):
        self.endpoint, self.token, self.pin = c.env["ENDPOINT"], c.env["TOKEN"], c.env["CA_PIN"]
        self.node = "jk-" + name
        self.restores = []  # run in reverse order after the row
        self.after_joinkit = []  # run once joinkit has its verdict

    def restore(self, f):
        self.restores.append(f)


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return "127.0.0.1:%d" % port


def serve(answer):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)

    def loop():
        while True:
            c, _ = s.accept()
            threading.Thread(target=answer, args=(c,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return "127.0.0.1:%d" % s.getsockname()[1]


def plain_http(c):
    c.recv(4096)
    c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    c.close()


def stalled(c):
    time.sleep(600)
    c.close()


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def leaf_cert(d, ca_cert, ca_key, san):
    """An ECDSA P-256 serving certificate for SAN from CA (openssl, as wrong_san_cert does)."""
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n" % san)
    p = lambda f: os.path.join(d, f)  # noqa: E731
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            p("key.pem"), "-subj", "/CN=kube-apiserver", "-out", p("req.csr"))
    openssl("x509", "-req", "-in", p("req.csr"), "-CA", ca_cert, "-CAkey", ca_key, "-set_serial", "4242",
            "-days", "1", "-extfile", p("ext"), "-out", p("cert.pem"))
    return p("cert.pem"), p("key.pem")


def tls_proxy(cert, key, upstream, upstream_ca):
    """A TLS-terminating proxy on 127.0.0.1 presenting CERT and forwarding each connection over
    TLS (verified with UPSTREAM_CA) to UPSTREAM, as the table's TlsProxy does; its address."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=upstream_ca)
    host, port = upstream.rsplit(":", 1)

    def pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def handle(c):
        try:
            down = server.wrap_socket(c, server_side=True)
            up = client.wrap_socket(socket.create_connection((host, int(port))), server_hostname="127.0.0.1")
        except (OSError, ssl.SSLError):
            c.close()
            return
        threading.Thread(target=pipe, args=(up, down), daemon=True).start()
        pipe(down, up)

    return serve(handle)


def sign_detached(content, token_id, secret):
    """The bootstrap signer's detached JWS (crates/joinkit-core/src/jws.rs, sign_detached)."""
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    header = b64(json.dumps({"alg": "HS256", "kid": token_id}, separators=(",", ":")).encode())
    mac = hmac.new(secret.encode(), (header + "." + b64(content.encode())).encode(), hashlib.sha256).digest()
    return header + ".." + b64(mac)


# ---- The rows: setup(cluster, row) changes the cluster or the row's inputs, and registers restores.

def pin_mismatch(c, x):
    x.pin = OTHER_PIN


def wrong_token_secret(c, x):
    x.token = c.env["TOKEN_ID"] + ".0000000000000000"


def token_unknown(c, x):
    x.token = "zzzzzz.0123456789abcdef"


def token_no_signing(c, x):
    x.token = c.token("--usages", "authentication")


def connection_refused(c, x):
    x.endpoint = closed_port()


def non_tls_listener(c, x):
    x.endpoint = serve(plain_http)


def stalled_listener(c, x):
    x.endpoint = serve(stalled)


def token_expired(c, x):
    t = c.token("--ttl", "2")
    tid = t[:6]
    x.token = t
    # The tokencleaner deletes it (and the signer drops its signature).
    c.wait_for("the tokencleaner to delete the token",
               lambda: c.kubectl("get", "secret", "-n", "kube-system", "bootstrap-token-" + tid).returncode != 0)
    c.wait_signed(tid, False)


def token_deleted(c, x):
    t = c.token("--wait")
    tid = t[:6]
    c.delete("secret", "kube-system", "bootstrap-token-" + tid)
    c.wait_signed(tid, False)
    x.token = t


def mitm(c, x):
    d = tempfile.mkdtemp(prefix="kubeadm-verdict-mitm-")
    x.restore(lambda: shutil.rmtree(d, ignore_errors=True))
    ca, ca_key = os.path.join(d, "ca.crt"), os.path.join(d, "ca.key")
    openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            ca_key, "-subj", "/CN=mitm", "-days", "1", "-out", ca)
    cert, key = leaf_cert(d, ca, ca_key, "IP:127.0.0.1,DNS:localhost")
    x.endpoint = tls_proxy(cert, key, c.env["ENDPOINT"], c.env["CA_CERT"])


def wrong_san(c, x):
    # From the cluster's own CA, naming neither 127.0.0.1 nor localhost.
    d = tempfile.mkdtemp(prefix="kubeadm-verdict-san-")
    x.restore(lambda: shutil.rmtree(d, ignore_errors=True))
    cert, key = leaf_cert(d, c.env["CA_CERT"], c.env["CA_KEY"], "DNS:wrong.example.invalid")
    x.endpoint = tls_proxy(cert, key, c.env["ENDPOINT"], c.env["CA_CERT"])


def take_away(c, x, kind, ns, name):
    snap = c.snapshot(kind, ns, name)
    c.delete(kind, ns, name)
    x.restore(lambda: c.put(snap))


def anonymous_revoked(c, x):
    take_away(c, x, "rolebinding", "kube-public", "kubeadm:bootstrap-signer-clusterinfo")


def cluster_info_missing(c, x):
    take_away(c, x, "configmap", "kube-public", "cluster-info")


def kubeconfig_missing(c, x):
    snap = c.snapshot("configmap", "kube-public", "cluster-info")
    x.restore(lambda: c.put(snap))
    c.kubectl("patch", "configmap", "cluster-info", "-n", "kube-public", "--type=json", "-p",
              '[{"op":"remove","path":"/data/kubeconfig"}]')


def signer_stopped(c, x):
    c.controllers("*,tokencleaner")
    snap = c.snapshot("configmap", "kube-public", "cluster-info")

    def back():
        c.put(snap)
        c.controllers()

    x.restore(back)
    ops = [{"op": "remove", "path": "/data/" + k} for k in c.cluster_info() if k.startswith("jws-kubeconfig-")]
    c.kubectl("patch", "configmap", "cluster-info", "-n", "kube-public", "--type=json", "-p", json.dumps(ops))
    x.token = c.token()


def signer_stopped_after_signing(c, x):
    c.controllers("*,tokencleaner")
    x.restore(lambda: c.controllers())
    x.token = c.token()


def set_signature(c, x, f):
    """Stops the signer and writes the default token's signature as F makes it; the signer,
    started again, puts the right one back."""
    c.controllers("*,tokencleaner")
    tid, secret = c.env["TOKEN_ID"], c.env["TOKEN"][7:]
    key = "jws-kubeconfig-" + tid
    kubeconfig = c.cluster_info()["kubeconfig"]
    good = sign_detached(kubeconfig, tid, secret)

    def back():
        c.controllers()
        c.wait_for("the signer to re-sign cluster-info", lambda: c.cluster_info().get(key) == good)

    x.restore(back)
    c.kubectl("patch", "configmap", "cluster-info", "-n", "kube-public", "--type=merge", "-p",
              json.dumps({"data": {key: f(kubeconfig, tid)}}))


def tampered_signature(c, x):
    set_signature(c, x, lambda kubeconfig, tid: sign_detached(kubeconfig, tid, "tamperedtampered"))


def jws_empty(c, x):
    set_signature(c, x, lambda kubeconfig, tid: "")


def no_autoapprove_binding(c, x):
    take_away(c, x, "clusterrolebinding", None, "kubeadm:node-autoapprove-bootstrap")


def no_bootstrapper_binding(c, x):
    take_away(c, x, "clusterrolebinding", None, "kubeadm:kubelet-bootstrap")


def approver_down(c, x):
    c.controllers("*,bootstrapsigner,tokencleaner,-csrapproving")
    x.restore(lambda: c.controllers())


def csr_signer_down(c, x):
    c.controllers("*,bootstrapsigner,tokencleaner,-csrsigning")
    x.restore(lambda: c.controllers())


def csr_denied(c, x):
    # The approver would approve at once: stop it, and let an admin deny the bootstrap token's
    # undecided CSRs while joinkit waits (kubeadm makes none: no kubelet runs).
    c.controllers("*,bootstrapsigner,tokencleaner,-csrapproving")
    x.restore(lambda: c.controllers())
    user = "system:bootstrap:" + c.env["TOKEN_ID"]
    done = threading.Event()

    def deny():
        while not done.is_set():
            out = c.kubectl("get", "csr", "-o", "json").stdout
            for csr in (json.loads(out).get("items", []) if out else []):
                if csr["spec"].get("username") == user and not csr.get("status", {}).get("conditions"):
                    c.kubectl("certificate", "deny", csr["metadata"]["name"])
            done.wait(0.3)

    t = threading.Thread(target=deny, daemon=True)
    t.start()

    def stop():
        done.set()
        t.join()

    x.after_joinkit.append(stop)
    x.restore(stop)


def ready_node_exists(c, x):
    node = x.node
    c.put({"apiVersion": "v1", "kind": "Node", "metadata": {"name": node, "labels": {"kubernetes.io/hostname": node}}})
    x.restore(lambda: c.delete("node", None, node))
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    patch = {"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                        "message": "kubelet is posting ready status", "lastHeartbeatTime": now,
                                        "lastTransitionTime": now}]}}
    c.kubectl("patch", "node", node, "--subresource=status", "--type=strategic", "-p", json.dumps(patch))


def healthy(c, x):
    pass


# (row, kind, joinkit command, where kubeadm stops, setup) -- kind "inputs": only the join's
# inputs change, or the row has its own proxy, token or Node (parallel); "cluster": the cluster
# changes (one at a time, restored).
def rows():
    return [
        ("healthy", "inputs", "verify-discovery", "discovery", healthy),
        ("pin-mismatch", "inputs", "verify-discovery", "discovery", pin_mismatch),
        ("wrong-token-secret", "inputs", "verify-discovery", "discovery", wrong_token_secret),
        ("token-unknown", "inputs", "verify-discovery", "discovery", token_unknown),
        ("token-no-signing", "inputs", "verify-discovery", "discovery", token_no_signing),
        ("token-expired", "inputs", "verify-discovery", "discovery", token_expired),
        ("token-deleted", "inputs", "verify-discovery", "discovery", token_deleted),
        ("connection-refused", "inputs", "verify-discovery", "discovery", connection_refused),
        ("non-tls-listener", "inputs", "verify-discovery", "discovery", non_tls_listener),
        ("stalled-listener", "inputs", "verify-discovery", "discovery", stalled_listener),
        ("mitm", "inputs", "verify-discovery", "discovery", mitm),
        ("wrong-san", "inputs", "verify-discovery", "discovery", wrong_san),
        ("ready-node-exists", "inputs", "bootstrap", "kubelet-start", ready_node_exists),
        ("kubeconfig-missing", "cluster", "verify-discovery", "discovery", kubeconfig_missing),
        ("anonymous-revoked", "cluster", "verify-discovery", "discovery", anonymous_revoked),
        ("cluster-info-missing", "cluster", "verify-discovery", "discovery", cluster_info_missing),
        ("signer-stopped", "cluster", "verify-discovery", "discovery", signer_stopped),
        ("signer-stopped-after-signing", "cluster", "verify-discovery", "discovery", signer_stopped_after_signing),
        ("tampered-signature", "cluster", "verify-discovery", "discovery", tampered_signature),
        ("jws-empty", "cluster", "verify-discovery", "discovery", jws_empty),
        ("no-autoapprove-binding", "cluster", "bootstrap", "end", no_autoapprove_binding),
        ("no-bootstrapper-binding", "cluster", "bootstrap", "end", no_bootstrapper_binding),
        ("approver-down", "cluster", "bootstrap", "end", approver_down),
        ("csr-signer-down", "cluster", "bootstrap", "end", csr_signer_down),
        ("csr-denied", "cluster", "bootstrap", "end", csr_denied),
    ]


def discovery_passes(c, joinkit):
    """The default token verifies again (the next row starts from a healthy cluster)."""
    try:
        c.wait_for("discovery to pass again",
                   lambda: run_joinkit(joinkit, "verify-discovery", c.env["ENDPOINT"], c.env["TOKEN"],
                                       c.env["CA_PIN"])[0] == "ok")
        return None
    except RuntimeError as e:
        return str(e)


def measure(name, cmd, stop, setup, cluster, kubeadm, joinkit, log):
    x = Row(cluster, name)
    t0 = time.monotonic()
    try:
        setup(cluster, x)
        log("%s: set up in %.1f s; running" % (name, time.monotonic() - t0))
        args = [x.endpoint, "--token", x.token, "--discovery-token-ca-cert-hash", x.pin,
                "--ignore-preflight-errors=all"]
        if cmd == "bootstrap":
            args += ["--node-name", x.node]

        def jk():
            try:
                return run_joinkit(joinkit, cmd, x.endpoint, x.token, x.pin, x.node, cluster.env["ADMIN_KUBECONFIG"])
            finally:
                for f in x.after_joinkit:
                    f()

        with cf.ThreadPoolExecutor(2) as ex:
            k = ex.submit(run_kubeadm, kubeadm, args, stop)
            j = ex.submit(jk)
            (jv, js) = j.result()
            log("%s: joinkit %s in %.2f s; kubeadm still running" % (name, jv, js))
            (kv, ks, kerr, notes) = k.result()
            log("%s: kubeadm %s in %.1f s: %s%s" % (name, kv, ks, kerr or "(no error line)",
                                                  " [%s]" % "; ".join(notes) if notes else ""))
    finally:
        for f in reversed(x.restores):
            try:
                f()
            except Exception as e:  # noqa: BLE001 -- a failed restore is reported, the run goes on
                log("%s: a restore step failed: %s" % (name, e))
    return name, cmd, jv, js, kv, ks, kerr, notes


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", help="comma-separated subset of rows")
    ap.add_argument("--list", action="store_true", help="list the rows")
    ap.add_argument("--joinkit", default=os.path.join(ROOT, "target/debug/joinkit"))
    a = ap.parse_args()
    all_rows = rows()
    if a.list:
        for n, kind, cmd, stop, _ in all_rows:
            print(n, kind, cmd, "kubeadm-stops-at=" + stop)
        return 0
    want = set(a.rows.split(",")) if a.rows else {r[0] for r in all_rows}
    unknown = want - {r[0] for r in all_rows}
    if unknown:
        sys.exit("unknown rows: %s (see --list)" % ", ".join(sorted(unknown)))
    t_start = time.monotonic()

    def log(msg):
        print("[%7.1f s] %s" % (time.monotonic() - t_start, msg), file=sys.stderr, flush=True)

    kubeadm = kubeadm_binary()
    cluster = Cluster()
    log("control plane up (%s)" % cluster.env["ENDPOINT"])
    results = []
    try:
        par = [r for r in all_rows if r[0] in want and r[1] == "inputs"]
        with cf.ThreadPoolExecutor(max(1, len(par))) as ex:
            futs = [ex.submit(measure, n, cmd, stop, s, cluster, kubeadm, a.joinkit, log)
                    for n, _, cmd, stop, s in par]
            for f in futs:
                results.append(f.result())
                log("done: %s" % results[-1][0])
        for n, kind, cmd, stop, s in all_rows:
            if n in want and kind == "cluster":
                results.append(measure(n, cmd, stop, s, cluster, kubeadm, a.joinkit, log))
                err = discovery_passes(cluster, a.joinkit)
                log("done: %s%s" % (n, "; " + err if err else ""))
    finally:
        cluster.down()
    order = [r[0] for r in all_rows]
    results.sort(key=lambda r: order.index(r[0]))
    print("| row | joinkit | joinkit verdict | joinkit s | kubeadm verdict | kubeadm s | kubeadm / joinkit |")
    print("|---|---|---|---|---|---|---|")
    for name, cmd, jv, js, kv, ks, kerr, notes in results:
        ratio = ks / js if js > 0 else 0
        print("| %s | %s | %s | %.2f | %s | %.1f | %s |" % (name, cmd, jv, js, kv, ks,
                                                          ("%.1fx" if ratio < 10 else "%.0fx") % ratio))
    print("\nkubeadm's error lines:")
    for name, _, _, _, _, _, kerr, notes in results:
        print("- %s: %s%s" % (name, kerr or "(none)", " [%s]" % "; ".join(notes) if notes else ""))
    log("all done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
