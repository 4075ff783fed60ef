#!/usr/bin/env python3
"""Hostile-input reproduction harness for joinkit.

Runs each hostile scenario against a joinkit binary and prints a markdown table: scenario,
exit code, wall time, peak RSS of the joinkit process (ru_maxrss from os.wait4; it includes
children joinkit reaped, e.g. exec plugins) and what was observed.

    python3 bench/hostile.py --joinkit PATH [--only NAME...] [--list]

Bounds: every joinkit run is killed (its whole process group) after 30 s; memory-hostile runs get
RLIMIT_AS = 2 GiB. Every server binds 127.0.0.1 on an ephemeral port (the dns-hang scenario binds
127.0.0.1:53 inside its own `unshare -n -m` network namespace, where only lo exists). Nothing is
sent anywhere else. Standard library only, plus the openssl CLI for certificates, plus
unshare/ip/mount (util-linux, iproute2, root) for dns-hang.
"""
import argparse
import base64
import contextlib
import hashlib
import hmac
import http.server
import json
import os
import random
import resource
import shutil
import signal
import socket
import ssl
import string
import subprocess
import sys
import tempfile
import threading
import time
import traceback

KILL_AFTER = 30.0
AS_LIMIT = 2 << 30
KEEP_OUTPUT = 64 << 20  # bytes of stdout/stderr kept for inspection (all bytes are counted)
TOKEN_ID, TOKEN_SECRET = "abcdef", "0123456789abcdef"
TOKEN = f"{TOKEN_ID}.{TOKEN_SECRET}"
ZERO_PIN = "sha256:" + "0" * 64

SCENARIOS = []


def scenario(name):
    def deco(fn):
        SCENARIOS.append((name, fn))
        return fn
    return deco


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Running joinkit, bounded


class Run:
    def __init__(self, args, rc, signum, killed, wall, rss_kib, out, err, out_n, err_n):
        self.args, self.rc, self.signum, self.killed, self.wall = args, rc, signum, killed, wall
        self.rss_mib = rss_kib / 1024.0
        self.out, self.err, self.out_n, self.err_n = out, err, out_n, err_n

    @property
    def exit_cell(self):
        if self.killed:
            return f"killed after {KILL_AFTER:.0f} s"
        if self.signum:
            try:
                return f"signal {signal.Signals(self.signum).name}"
            except ValueError:
                return f"signal {self.signum}"
        return str(self.rc)

    def json(self):
        try:
            return json.loads(self.out.decode("utf-8", "replace"))
        except ValueError:
            return None

    def failure(self):
        """failure.code (and stage) from a -o json report, or None."""
        v = self.json()
        if isinstance(v, dict) and isinstance(v.get("failure"), dict):
            f = v["failure"]
            return f"{f.get('code')}@{f.get('stage')}"
        return None

    def text(self):
        return (self.out + b"\n" + self.err).decode("utf-8", "replace")

    def contains(self, needle, ci=True):
        hay = self.out + self.err
        if ci:
            return needle.lower().encode() in hay.lower()
        return needle.encode() in hay


class Harness:
    def __init__(self, joinkit, work):
        self.joinkit = os.path.abspath(joinkit)
        self.work = work
        self.home = os.path.join(work, "home")
        os.makedirs(self.home, exist_ok=True)
        self.rows = []
        self.cleanups = []
        self._pki = None
        self._n = 0

    # -- environment and files --

    def env(self, extra=None):
        e = {k: v for k, v in os.environ.items() if not k.startswith("JOINKIT_") and k != "KUBECONFIG"}
        e.update(NO_COLOR="1", HOME=self.home)
        e.update(extra or {})
        return e

    def path(self, name):
        self._n += 1
        d = os.path.join(self.work, f"f{self._n:03d}")
        os.makedirs(d, exist_ok=True)
        return os.path.join(d, name)

    def write(self, name, data, mode=0o600):
        p = self.path(name)
        with open(p, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        os.chmod(p, mode)
        return p

    @property
    def pki(self):
        if self._pki is None:
            self._pki = PKI(os.path.join(self.work, "pki"))
        return self._pki

    # -- processes --

    def run(self, args, env=None, limit=False, timeout=KILL_AFTER, during=None):
        """Runs joinkit ARGS bounded in time (kill after TIMEOUT) and, with LIMIT, address space.
        DURING, if given, is called in a thread with the child's pid while it runs."""
        argv = [self.joinkit, *args]

        def pre():
            if limit:
                resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))

        # RSS: Linux copies the pre-exec image's high-water mark into the child's maxrss at
        # execve, so forking joinkit straight from this (large) Python process would inflate it.
        # A tiny sh (dash, ~1-2 MiB) forks joinkit in the background and exits; we are the child
        # subreaper, so joinkit is reparented to us and os.wait4 gives its own rusage.
        become_subreaper()
        pidfile = self.path("pid")
        launcher = ["/bin/sh", "-c", '"$@" & echo $! > "$0"', pidfile, *argv]
        t0 = time.monotonic()
        p = subprocess.Popen(launcher, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env or self.env(), preexec_fn=pre, start_new_session=True, cwd=self.work)
        p.wait()
        with open(pidfile) as f:
            pid = int(f.read().strip())
        bufs = {}

        def drain(name, f):
            kept, n = bytearray(), 0
            while True:
                b = f.read1(1 << 16) if hasattr(f, "read1") else f.read(1 << 16)
                if not b:
                    break
                n += len(b)
                if len(kept) < KEEP_OUTPUT:
                    kept += b[:KEEP_OUTPUT - len(kept)]
            bufs[name] = (bytes(kept), n)

        readers = [threading.Thread(target=drain, args=(n, f), daemon=True) for n, f in (("out", p.stdout), ("err", p.stderr))]
        for t in readers:
            t.start()
        if during:
            threading.Thread(target=during, args=(pid,), daemon=True).start()
        killed = False
        while True:
            got, status, ru = os.wait4(pid, os.WNOHANG)
            if got:
                break
            if time.monotonic() - t0 > timeout:
                killed = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                _, status, ru = os.wait4(pid, 0)
                break
            time.sleep(0.005)
        wall = time.monotonic() - t0
        # Anything joinkit started and left behind (its process group, by its id).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, signal.SIGKILL)
        # ... and reap those that were reparented to us (members of that process group only).
        for _ in range(50):
            try:
                if os.waitid(os.P_PGID, p.pid, os.WEXITED | os.WNOHANG) is None:
                    time.sleep(0.002)
            except ChildProcessError:
                break
        for t in readers:
            t.join(5)
        p.stdout.close()
        p.stderr.close()
        rc = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
        signum = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        if killed:
            signum = None
        out, out_n = bufs.get("out", (b"", 0))
        err, err_n = bufs.get("err", (b"", 0))
        return Run(argv, rc, signum, killed, wall, ru.ru_maxrss, out, err, out_n, err_n)

    def row(self, name, r, observed):
        if r is None:
            self.rows.append((name, "-", "-", "-", observed))
        else:
            self.rows.append((name, r.exit_cell, f"{r.wall:.2f}", f"{r.rss_mib:.1f}", observed))

    def server(self, fn, tls=None):
        s = Server(fn, tls)
        self.cleanups.append(s.close)
        return s

    def close_all(self):
        while self.cleanups:
            with contextlib.suppress(Exception):
                self.cleanups.pop()()


# ---------------------------------------------------------------------------------------------
# Certificates (openssl CLI)


_SUBREAPER = []


def become_subreaper():
    if not _SUBREAPER:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
        _SUBREAPER.append(True)


def sh(*cmd, inp=None):
    return subprocess.run(cmd, input=inp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True).stdout


class PKI:
    EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def __init__(self, d):
        self.d = d
        os.makedirs(d, exist_ok=True)
        self.cas = {}
        self.leaves = {}

    def ca(self, name):
        if name not in self.cas:
            c, k = os.path.join(self.d, f"ca-{name}.crt"), os.path.join(self.d, f"ca-{name}.key")
            sh("openssl", "req", "-x509", *self.EC, "-keyout", k, "-out", c, "-days", "365", "-subj", f"/CN=hostile-ca-{name}",
               "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature")
            self.cas[name] = (c, k)
        return self.cas[name]

    def leaf(self, ca_name):
        """A serving certificate for 127.0.0.1/localhost signed by CA CA_NAME."""
        if ca_name not in self.leaves:
            cac, cak = self.ca(ca_name)
            c, k, csr = (os.path.join(self.d, f"leaf-{ca_name}.{x}") for x in ("crt", "key", "csr"))
            ext = os.path.join(self.d, f"leaf-{ca_name}.ext")
            with open(ext, "w") as f:
                f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n"
                        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
            sh("openssl", "req", "-new", *self.EC, "-keyout", k, "-out", csr, "-subj", "/CN=127.0.0.1")
            sh("openssl", "x509", "-req", "-in", csr, "-CA", cac, "-CAkey", cak, "-set_serial", str(random.getrandbits(63)),
               "-out", c, "-days", "30", "-extfile", ext)
            self.leaves[ca_name] = (c, k)
        return self.leaves[ca_name]

    def selfsigned(self):
        c, k = os.path.join(self.d, "selfsigned.crt"), os.path.join(self.d, "selfsigned.key")
        if not os.path.exists(c):
            sh("openssl", "req", "-x509", *self.EC, "-keyout", k, "-out", c, "-days", "30", "-subj", "/CN=127.0.0.1",
               "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-addext", "basicConstraints=critical,CA:FALSE",
               "-addext", "extendedKeyUsage=serverAuth")
        return c, k

    def key_only_pem(self):
        p = os.path.join(self.d, "only.key")
        if not os.path.exists(p):
            sh("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", p)
        return p

    @staticmethod
    def pin(crt):
        pub = sh("openssl", "x509", "-in", crt, "-noout", "-pubkey")
        der = sh("openssl", "pkey", "-pubin", "-outform", "DER", inp=pub)
        return "sha256:" + hashlib.sha256(der).hexdigest()

    @staticmethod
    def b64(path):
        with open(path, "rb") as f:
            return base64.b64encode(f.read()).decode()


# ---------------------------------------------------------------------------------------------
# Hostile servers (127.0.0.1, ephemeral port)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10

    def setup(self):
        owner = self.server.owner
        if owner.ctx is not None:
            self.request.settimeout(10)
            try:
                self.request = owner.ctx.wrap_socket(self.request, server_side=True)
            except Exception as e:  # the client refused our certificate, or spoke no TLS
                owner.tls_errors.append(f"{type(e).__name__}: {e}")
                raise
        super().setup()

    def log_message(self, *a):
        pass

    def _dispatch(self):
        owner = self.server.owner
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(n, 1 << 20)) if n else b""
        owner.requests.append({"method": self.command, "path": self.path, "auth": self.headers.get("Authorization"),
                               "headers": dict(self.headers.items())})
        r = owner.fn(self, body)
        if r is None:
            return
        status, ctype, payload = r
        if isinstance(payload, str):
            payload = payload.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


class Server:
    def __init__(self, fn, tls=None):
        self.fn, self.requests, self.tls_errors, self.stop, self.state = fn, [], [], False, {}
        self.ctx = None
        if tls:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(*tls)
            self.ctx.set_alpn_protocols(["http/1.1"])
        self.httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.owner = self
        self.port = self.httpd.server_address[1]
        self.scheme = "https" if tls else "http"
        self.url = f"{self.scheme}://127.0.0.1:{self.port}"
        self.endpoint = f"127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def auth_seen(self):
        return [r["auth"] for r in self.requests if r["auth"]]

    def close(self):
        self.stop = True
        self.httpd.shutdown()
        self.httpd.server_close()


def status_json(code, reason, msg):
    return json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": msg,
                       "reason": reason, "code": code})


def answer(status, body, ctype="application/json"):
    return lambda h, b: (status, ctype, body)


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jws(payload, tid=TOKEN_ID, secret=TOKEN_SECRET):
    """Detached compact HS256 JWS as kubeadm's bootstrapsigner writes it: header..signature."""
    h = b64u(json.dumps({"alg": "HS256", "kid": tid}, separators=(",", ":")).encode())
    sig = hmac.new(secret.encode(), f"{h}.{b64u(payload.encode())}".encode(), hashlib.sha256).digest()
    return f"{h}..{b64u(sig)}"


def ci_kubeconfig(server, ca_data=None, ca_path=None):
    lines = ["apiVersion: v1", "clusters:", "- cluster:"]
    if ca_data:
        lines.append(f"    certificate-authority-data: {ca_data}")
    if ca_path:
        lines.append(f"    certificate-authority: {ca_path}")
    lines += [f"    server: {server}", '  name: ""', "contexts: null", 'current-context: ""', "kind: Config",
              "preferences: {}", "users: null", ""]
    return "\n".join(lines)


def cluster_info(kubeconfig, signatures):
    data = {"kubeconfig": kubeconfig}
    data.update({f"jws-kubeconfig-{k}": v for k, v in signatures.items()})
    return json.dumps({"kind": "ConfigMap", "apiVersion": "v1",
                       "metadata": {"name": "cluster-info", "namespace": "kube-public"}, "data": data})


CLUSTER_INFO_PATH = "/api/v1/namespaces/kube-public/configmaps/cluster-info"


def serve_cluster_info(body):
    def fn(h, b):
        if h.path.split("?")[0] == CLUSTER_INFO_PATH:
            return 200, "application/json", body
        return 404, "application/json", status_json(404, "NotFound", "the server could not find the requested resource")
    return fn


def admin_kubeconfig(server, cluster_extra, user):
    return json.dumps({"apiVersion": "v1", "kind": "Config", "current-context": "ctx",
                       "clusters": [{"name": "c", "cluster": {"server": server, **cluster_extra}}],
                       "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
                       "users": [{"name": "u", "user": user}]}, indent=1)


EMPTY_SECRET_LIST = json.dumps({"kind": "SecretList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": []})


def yn(b):
    return "yes" if b else "no"


def short(s, n=160):
    s = " ".join(str(s).split())
    return s if len(s) <= n else s[:n - 3] + "..."


def fifo_probe(fifo, state):
    """Called while joinkit runs: after 2 s, checks whether something holds FIFO open for reading
    (open O_WRONLY|O_NONBLOCK fails with ENXIO otherwise). Keeps the write end open and silent, so
    a reader stays blocked."""
    def during(pid):
        time.sleep(2)
        try:
            state["fd"] = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            state["reader"] = True
        except OSError:
            state["reader"] = False
    return during


def close_probe(state):
    if "fd" in state:
        with contextlib.suppress(OSError):
            os.close(state.pop("fd"))


# ---------------------------------------------------------------------------------------------
# Scenarios


@scenario("discovery-file-bearer")
def s_discovery_file_bearer(H):
    pki = H.pki
    srv = H.server(answer(403, status_json(403, "Forbidden", "forbidden")), tls=pki.leaf("B"))
    kc = admin_kubeconfig(srv.url, {"certificate-authority-data": pki.b64(pki.ca("A")[0])}, {"token": "SECRETTOKEN123"})
    f = H.write("discovery.conf", kc)
    r = H.run(["verify-discovery", "--discovery-file", f, "-o", "json"])
    auth = srv.auth_seen()
    H.row("discovery-file-bearer", r, f"Authorization header received by hostile server (cert from CA B, file trusts CA A): "
          f"{yn(auth)}{' (' + short(auth[0], 40) + ')' if auth else ''}; failure {r.failure()}")


@scenario("discovery-file-tokenfile")
def s_discovery_file_tokenfile(H):
    pki = H.pki
    srv = H.server(answer(403, status_json(403, "Forbidden", "forbidden")), tls=pki.leaf("B"))
    tf = H.write("token", "SECRETTOKEN456\n")
    kc = admin_kubeconfig(srv.url, {"certificate-authority-data": pki.b64(pki.ca("A")[0])}, {"tokenFile": tf})
    f = H.write("discovery.conf", kc)
    r = H.run(["verify-discovery", "--discovery-file", f, "-o", "json"])
    auth = srv.auth_seen()
    H.row("discovery-file-tokenfile", r, f"Authorization header received by hostile server: {yn(auth)}"
          f"{' (' + short(auth[0], 40) + ')' if auth else ''}; failure {r.failure()}")


@scenario("admin-garbage-ca")
def s_admin_garbage_ca(H):
    pki = H.pki
    with open(pki.key_only_pem(), "rb") as f:
        keypem = f.read()
    for variant, data in (("garbage text", b"garbage"), ("key-only PEM", keypem)):
        srv = H.server(answer(200, EMPTY_SECRET_LIST), tls=pki.selfsigned())
        kc = admin_kubeconfig(srv.url, {"certificate-authority-data": base64.b64encode(data).decode()}, {"token": "ADMINTOKEN789"})
        f = H.write("admin.conf", kc)
        r = H.run(["token", "list", "--kubeconfig", f, "-o", "json"])
        auth = srv.auth_seen()
        H.row(f"admin-garbage-ca ({variant})", r,
              f"bearer token reached server: {yn(auth)}; TLS connections: {len(srv.tls_errors) + len(srv.requests)}"
              f"{', server saw: ' + short(srv.tls_errors[0], 60) if srv.tls_errors else ''}; failure {r.failure()}; "
              f"stderr: {short(r.err.decode('utf-8', 'replace'), 120) or '(empty)'}")


@scenario("http-server-cluster-info")
def s_http_server_cluster_info(H):
    pki = H.pki
    plain = H.server(answer(401, status_json(401, "Unauthorized", "Unauthorized")))
    kc = ci_kubeconfig(f"http://127.0.0.1:{plain.port}", ca_data=pki.b64(pki.ca("C")[0]))
    tls = H.server(serve_cluster_info(cluster_info(kc, {TOKEN_ID: jws(kc)})), tls=pki.leaf("C"))
    pin = pki.pin(pki.ca("C")[0])
    env = H.env({"JOINKIT_TOKEN": TOKEN})
    r = H.run(["verify-discovery", tls.endpoint, "--discovery-token-ca-cert-hash", pin, "-o", "json"], env=env)
    v = r.json() or {}
    warns = [s["name"] for s in v.get("stages", []) if s.get("status") == "warn"]
    H.row("http-server-cluster-info (verify-discovery)", r,
          f"ok={v.get('ok')}; apiServer={v.get('apiServer')}; warn stages: {warns or 'none'}; failure {r.failure()}; "
          f"plain-HTTP port requests: {len(plain.requests)}")
    n0 = len(plain.requests)
    r = H.run(["bootstrap", tls.endpoint, "--discovery-token-ca-cert-hash", pin, "--node-name", "n1", "--timeout", "10s",
               "--request-timeout", "10s", "-o", "json"], env=env)
    reqs = plain.requests[n0:]
    auth = [q for q in reqs if q["auth"]]
    H.row("http-server-cluster-info (bootstrap)", r,
          f"plain-HTTP PORT2 requests: {len(reqs)}; with Authorization header: {yn(auth)}"
          f"{' (' + short(auth[0]['auth'], 40) + ' on ' + auth[0]['method'] + ' ' + short(auth[0]['path'], 50) + ')' if auth else ''}"
          f"; failure {r.failure()}")


@scenario("cluster-info-ca-path")
def s_cluster_info_ca_path(H):
    pki = H.pki
    pin = pki.pin(pki.ca("C")[0])
    fifo = H.path("ca.fifo")
    os.mkfifo(fifo)
    pem = H.write("ca-on-disk.crt", open(pki.ca("A")[0], "rb").read())
    env = H.env({"JOINKIT_TOKEN": TOKEN})
    for variant, p in (("/dev/zero", "/dev/zero"), ("FIFO", fifo), ("readable PEM on disk", pem)):
        kc = ci_kubeconfig("https://127.0.0.1:1", ca_path=p)
        bad = jws("something else entirely")
        srv = H.server(serve_cluster_info(cluster_info(kc, {TOKEN_ID: bad})), tls=pki.leaf("C"))
        state = {}
        r = H.run(["verify-discovery", srv.endpoint, "--discovery-token-ca-cert-hash", pin, "-o", "json"], env=env,
                  limit=True, during=fifo_probe(fifo, state) if p == fifo else None)
        close_probe(state)
        extra = f"; FIFO opened for reading by joinkit: {yn(state.get('reader'))}" if p == fifo else ""
        H.row(f"cluster-info-ca-path ({variant}, invalid JWS)", r, f"failure {r.failure()} (want jws-invalid@jws-verify)"
              f"{extra}; stderr: {short(r.err.decode('utf-8', 'replace'), 80) or '(empty)'}")


@scenario("tampered-kubeconfig")
def s_tampered_kubeconfig(H):
    pki = H.pki
    garbage = "this: is: [not a kubeconfig\n\x00\x01 }}}\n"
    srv = H.server(serve_cluster_info(cluster_info(garbage, {TOKEN_ID: jws("something else")})), tls=pki.leaf("C"))
    r = H.run(["verify-discovery", srv.endpoint, "--discovery-token-ca-cert-hash", pki.pin(pki.ca("C")[0]), "-o", "json"],
              env=H.env({"JOINKIT_TOKEN": TOKEN}))
    H.row("tampered-kubeconfig", r, f"failure {r.failure()} (want jws-invalid)")


BROKEN_ADMIN = """apiVersion: v1
kind: Config
current-context: ctx
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:1
contexts:
- name: ctx
  context: {cluster: c, user: u}
users:
- name: u
  user:
    token: SUPERSECRETVALUE
    username: admin
   password: [oops
"""

BROKEN_CLUSTER_INFO = """apiVersion: v1
kind: ConfigMap
metadata:
  name: cluster-info
  namespace: kube-public
data:
  jws-kubeconfig-abcdef: eyJhbGciOiJIUzI1NiIsImtpZCI6ImFiY2RlZiJ9..SUPERSECRETVALUE
  token: abcdef.supersecretvalue
   kubeconfig: [oops
"""


@scenario("yaml-snippet-secret")
def s_yaml_snippet_secret(H):
    admin = H.write("admin.conf", BROKEN_ADMIN)
    ci = H.write("cluster-info.yaml", BROKEN_CLUSTER_INFO)
    runs = [
        ("token list --kubeconfig (text)", ["token", "list", "--kubeconfig", admin]),
        ("token list --kubeconfig -o json", ["token", "list", "--kubeconfig", admin, "-o", "json"]),
        ("verify-discovery --discovery-file (text)", ["verify-discovery", "--discovery-file", admin]),
        ("verify-discovery --discovery-file -o json", ["verify-discovery", "--discovery-file", admin, "-o", "json"]),
        ("verify-discovery --cluster-info-file (text)", ["verify-discovery", "--cluster-info-file", ci,
                                                         "--discovery-token-ca-cert-hash", ZERO_PIN]),
        ("verify-discovery --cluster-info-file -o json", ["verify-discovery", "--cluster-info-file", ci,
                                                          "--discovery-token-ca-cert-hash", ZERO_PIN, "-o", "json"]),
    ]
    env = H.env({"JOINKIT_TOKEN": TOKEN})
    for name, args in runs:
        r = H.run(args, env=env)
        where = [w for w, b in (("stdout", r.out), ("stderr", r.err)) if b"supersecretvalue" in b.lower()]
        H.row(f"yaml-snippet-secret ({name})", r, f"SUPERSECRETVALUE printed: {yn(where)}{' (' + '+'.join(where) + ')' if where else ''}"
              f"; failure {r.failure() or '-'}")


@scenario("exec-env")
def s_exec_env(H):
    pki = H.pki
    srv = H.server(lambda h, b: (200, "application/json", EMPTY_SECRET_LIST) if "/secrets" in h.path
                   else (404, "application/json", status_json(404, "NotFound", "not found")), tls=pki.leaf("C"))
    cred = '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"plugintoken"}}'
    envdump = H.path("plugin-env.txt")
    bgpid = H.path("bg.pid")
    scripts = {
        "env dump": f"#!/bin/sh\nenv > '{envdump}'\necho '{cred}'\n",
        "200 KB stderr, exit 1": "#!/bin/sh\nhead -c 204800 /dev/zero | tr '\\000' x >&2\nexit 1\n",
        "background sleep 60 holds stdout": f"#!/bin/sh\nsleep 60 &\necho $! > '{bgpid}'\necho '{cred}'\nexit 0\n",
    }
    env = H.env({"JOINKIT_TOKEN": TOKEN})
    for variant, body in scripts.items():
        plugin = H.write("plugin.sh", body, mode=0o700)
        kc = admin_kubeconfig(srv.url, {"certificate-authority-data": pki.b64(pki.ca("C")[0])},
                              {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": plugin,
                                        "interactiveMode": "Never"}})
        f = H.write("admin.conf", kc)
        n0 = len(srv.requests)
        try:
            r = H.run(["token", "list", "--kubeconfig", f, "-o", "json"], env=env)
        finally:
            if os.path.exists(bgpid):
                with contextlib.suppress(Exception):
                    os.kill(int(open(bgpid).read().strip()), signal.SIGKILL)
        got = any(q["auth"] == "Bearer plugintoken" for q in srv.requests[n0:])
        obs = f"failure {r.failure()}; API request with plugin token: {yn(got)}"
        if variant == "env dump":
            dump = open(envdump).read() if os.path.exists(envdump) else ""
            obs = (f"JOINKIT_TOKEN reached plugin: {yn('JOINKIT_TOKEN=' in dump)}"
                   f"{' (secret in plugin env: ' + yn(TOKEN_SECRET in dump) + ')' if dump else ' (plugin did not run?)'}; " + obs)
        H.row(f"exec-env ({variant})", r, obs)


class Lab:
    def __init__(self, H, scenario="healthy"):
        d = H.path("lab")
        self.json_path, self.kubeconfig = os.path.join(os.path.dirname(d), "lab.json"), os.path.join(os.path.dirname(d), "admin.conf")
        self.p = subprocess.Popen([H.joinkit, "lab", "--listen", "127.0.0.1:0", "--scenario", scenario, "--ca-key", "ecdsa",
                                   "--write-json", self.json_path, "--write-kubeconfig", self.kubeconfig, "--exit-after", "120s"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=H.env(), start_new_session=True)
        H.cleanups.append(self.close)
        t0 = time.monotonic()
        while not (os.path.exists(self.json_path) and os.path.exists(self.kubeconfig)):
            if self.p.poll() is not None or time.monotonic() - t0 > 20:
                raise RuntimeError("joinkit lab did not start")
            time.sleep(0.02)
        time.sleep(0.05)
        self.info = json.load(open(self.json_path))

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


@scenario("token-describe-wrong-secret")
def s_token_describe(H):
    lab = Lab(H)
    tid = "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(6))
    sec = "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(16))
    r = H.run(["token", "create", f"{tid}.{sec}", "--kubeconfig", lab.kubeconfig, "--no-wait"])
    if r.rc != 0:
        H.row("token-describe-wrong-secret (token create)", r, f"token create failed: {short(r.text(), 120)}")
        return
    time.sleep(0.3)  # let the lab's bootstrapsigner sign it
    for variant, tok in (("wrong secret", f"{tid}.wrongsecretxxxxx"), ("right secret, for comparison", f"{tid}.{sec}")):
        r = H.run(["token", "describe", tok, "--kubeconfig", lab.kubeconfig, "-o", "json"])
        v = r.json() or {}
        bad = [f"{s['name']}={s['status']}" for s in v.get("stages", []) if s.get("status") in ("fail", "warn")]
        H.row(f"token-describe-wrong-secret ({variant})", r,
              f"ok={v.get('ok')}; failing/warning stages: {', '.join(bad) or 'none'}; failure {r.failure()}")


@scenario("dev-zero-inputs")
def s_dev_zero(H):
    # A port with nothing listening (bound, then closed), in case joinkit gets that far.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed = f"127.0.0.1:{s.getsockname()[1]}"
    s.close()
    runs = [
        ("ca-hash /dev/zero", ["ca-hash", "/dev/zero"]),
        ("verify-discovery --token-file /dev/zero", ["verify-discovery", closed, "--token-file", "/dev/zero",
                                                    "--discovery-token-ca-cert-hash", ZERO_PIN, "-o", "json"]),
        ("validate-config /dev/zero", ["validate-config", "/dev/zero"]),
        ("explain-log /dev/zero", ["explain-log", "/dev/zero"]),
    ]
    for name, args in runs:
        r = H.run(args, limit=True)
        H.row(f"dev-zero-inputs ({name})", r, f"failure {r.failure() or '-'}; stderr: {short(r.err.decode('utf-8', 'replace'), 100) or '(empty)'}")
    fifo = H.path("kubeconfig.fifo")
    os.mkfifo(fifo)
    state = {}
    r = H.run(["token", "list", "--kubeconfig", fifo, "-o", "json"], limit=True, during=fifo_probe(fifo, state))
    close_probe(state)
    H.row("dev-zero-inputs (FIFO as token list --kubeconfig)", r,
          f"FIFO opened for reading: {yn(state.get('reader'))}; failure {r.failure() or '-'}")


@scenario("endless-body")
def s_endless_body(H):
    pki = H.pki
    state = {"sent": 0, "done": None}

    def endless(h, b):
        if "/secrets" not in h.path:
            return 404, "application/json", status_json(404, "NotFound", "not found")
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        chunk = b" " * (1 << 20)
        frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
        head = b'{"kind":"SecretList","apiVersion":"v1","metadata":{},"items":['
        state["done"] = "limit (3 GB)"
        try:
            h.wfile.write(b"%x\r\n" % len(head) + head + b"\r\n")
            while state["sent"] < 3 * 10**9:
                if h.server.owner.stop:
                    state["done"] = "harness stop"
                    break
                h.wfile.write(frame)
                state["sent"] += len(chunk)
        except OSError as e:
            state["done"] = f"client gone ({type(e).__name__})"
        h.close_connection = True
        return None

    srv = H.server(endless, tls=pki.leaf("C"))
    ca = {"certificate-authority-data": pki.b64(pki.ca("C")[0])}
    f = H.write("admin.conf", admin_kubeconfig(srv.url, ca, {"token": "ADMINTOKEN"}))
    r = H.run(["token", "list", "--kubeconfig", f, "-o", "json"], limit=True)
    time.sleep(0.5)
    H.row("endless-body (chunked, token list)", r, f"body bytes sent before stop: {state['sent'] / 2**20:.0f} MiB "
          f"({state['done']}); failure {r.failure() or '-'}; stderr: {short(r.err.decode('utf-8', 'replace'), 80) or '(empty)'}")

    html = "<!doctype html><html><head><title>Sign in</title></head><body><form>Login</form></body></html>\n"
    srv2 = H.server(answer(200, html, "text/html; charset=utf-8"), tls=pki.leaf("C"))
    f2 = H.write("admin.conf", admin_kubeconfig(srv2.url, ca, {"token": "ADMINTOKEN"}))
    r = H.run(["token", "list", "--kubeconfig", f2])
    H.row("endless-body (HTML login page, token list)", r, f"stdout: {short(r.out.decode('utf-8', 'replace'), 120) or '(empty)'}; "
          f"stderr: {short(r.err.decode('utf-8', 'replace'), 80) or '(empty)'}")
    r = H.run(["token", "delete", "abcdef", "--kubeconfig", f2])
    H.row("endless-body (HTML login page, token delete abcdef)", r, f"stdout: {short(r.out.decode('utf-8', 'replace'), 120) or '(empty)'}; "
          f"stderr: {short(r.err.decode('utf-8', 'replace'), 80) or '(empty)'}; requests: "
          f"{', '.join(q['method'] for q in srv2.requests[-3:])}")


@scenario("alias-bomb")
def s_alias_bomb(H):
    lines = ["apiVersion: kubeadm.k8s.io/v1beta4", "kind: JoinConfiguration",
             'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for c in "bcdefghi":
        lines.append(f"{c}: &{c} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = c
    data = "\n".join(lines) + "\n"
    f = H.write("bomb.yaml", data)
    r = H.run(["validate-config", f], limit=True)
    H.row("alias-bomb (9 levels x 9 aliases)", r, f"input {len(data)} bytes; output {r.out_n + r.err_n} bytes; "
          f"stderr: {short(r.err.decode('utf-8', 'replace'), 80) or '(empty)'}; stdout: {short(r.out.decode('utf-8', 'replace'), 80) or '(empty)'}")


@scenario("big-pem-echo")
def s_big_pem(H):
    b64 = base64.b64encode(os.urandom(5 * 1024 * 1024 * 3 // 4)).decode()
    body = "-----BEGIN CERTIFICATE-----\n" + "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64)) + "\n"
    f = H.write("unterminated.pem", body)
    r = H.run(["ca-hash", f], limit=True)
    H.row("big-pem-echo (unterminated 5 MB PEM, ca-hash)", r, f"input {len(body)} bytes; stdout+stderr {r.out_n + r.err_n} bytes "
          f"(stdout {r.out_n}, stderr {r.err_n})")
    lines = ["apiVersion: kubeadm.k8s.io/v1beta4", "kind: JoinConfiguration",
             "discovery:", "  bootstrapToken:", "    apiServerEndpoint: 10.0.0.10:6443", f"    token: {TOKEN}",
             "    unsafeSkipCAVerification: true"]
    lines += [f"unknownKey{i:06d}: 1" for i in range(200000)]
    data = "\n".join(lines) + "\n"
    f = H.write("unknown-keys.yaml", data)
    r = H.run(["validate-config", f], limit=True)
    H.row("big-pem-echo (JoinConfiguration with 200k unknown keys, validate-config)", r,
          f"input {len(data)} bytes; stdout+stderr {r.out_n + r.err_n} bytes (stdout {r.out_n}, stderr {r.err_n})")


def dns_inner(joinkit):
    """Runs inside `unshare -n -m`: lo up, resolv.conf -> 127.0.0.1, a DNS listener that never
    answers; prints one JSON line with the result."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    work = tempfile.mkdtemp(prefix="joinkit-dns-")
    rc = os.path.join(work, "resolv.conf")
    with open(rc, "w") as f:
        f.write("nameserver 127.0.0.1\n")
    subprocess.run(["mount", "--bind", rc, "/etc/resolv.conf"], check=True)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 53))
    queries = []

    def listen():
        while True:
            try:
                d, a = u.recvfrom(4096)
                queries.append(len(d))
            except OSError:
                return

    threading.Thread(target=listen, daemon=True).start()
    H = Harness(joinkit, work)
    r = H.run(["verify-discovery", "cp.hostile-dns.test:6443", "--timeout", "3s", "--discovery-token-ca-cert-hash", ZERO_PIN,
               "-o", "json"], env=H.env({"JOINKIT_TOKEN": TOKEN}))
    print(json.dumps({"exit": r.exit_cell, "wall": r.wall, "rss": r.rss_mib, "failure": r.failure(), "queries": len(queries)}))
    shutil.rmtree(work, ignore_errors=True)


@scenario("dns-hang")
def s_dns_hang(H):
    if os.geteuid() != 0 or not shutil.which("unshare"):
        H.row("dns-hang", None, "skipped: needs root and unshare")
        return
    p = subprocess.run(["unshare", "-n", "-m", sys.executable, os.path.abspath(__file__), "--joinkit", H.joinkit,
                        "--internal-dns-hang"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=KILL_AFTER + 30)
    try:
        v = json.loads(p.stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RuntimeError(f"inner run failed: rc {p.returncode}, {short(p.stderr.decode('utf-8', 'replace'), 200)}")
    H.rows.append(("dns-hang (verify-discovery --timeout 3s, DNS never answers)", v["exit"], f"{v['wall']:.2f}", f"{v['rss']:.1f}",
                   f"wall time vs --timeout 3s; DNS queries received: {v['queries']}; failure {v['failure']}"))


@scenario("control-chars")
def s_control_chars(H):
    pki = H.pki
    ca = {"certificate-authority-data": pki.b64(pki.ca("C")[0])}
    msg = 'secrets is forbidden: \x1b[2J\x1b[31mFAKE "kube-system"\x1b]0;title\x07'
    variants = (("403 Status JSON, escapes JSON-encoded", lambda h, b: (403, "application/json", status_json(403, "Forbidden", msg))),
                ("403 text/plain, raw ESC bytes", lambda h, b: (403, "text/plain", msg)))
    for variant, fn in variants:
        srv = H.server(fn, tls=pki.leaf("C"))
        f = H.write("admin.conf", admin_kubeconfig(srv.url, ca, {"token": "ADMINTOKEN"}))
        r = H.run(["token", "list", "--kubeconfig", f])
        where = [w for w, b in (("stdout", r.out), ("stderr", r.err)) if b"\x1b" in b]
        bel = b"\x07" in r.out + r.err
        H.row(f"control-chars ({variant}, token list)", r, f"raw ESC bytes in output: {yn(where)}"
              f"{' (' + '+'.join(where) + ')' if where else ''}; BEL: {yn(bel)}; "
              f"FAKE shown: {yn(r.contains('FAKE', ci=False))}")


@scenario("write-dir-partial")
def s_write_dir_partial(H):
    lab = Lab(H)
    d = H.path("write-dir")
    os.makedirs(d)
    with open(os.path.join(d, "pki"), "w") as f:  # pki is a file: pki/ca.crt cannot be written
        f.write("not a directory\n")
    r = H.run(["bootstrap", lab.info["endpoint"], "--discovery-token-ca-cert-hash", lab.info["caPin"], "--node-name", "partial-1",
               "--write-dir", d, "--kubeconfig", lab.kubeconfig, "--timeout", "20s", "-o", "json"],
              env=H.env({"JOINKIT_TOKEN": lab.info["token"]}))
    left = sorted(n for n in os.listdir(d) if n != "pki")
    H.row("write-dir-partial (bootstrap --write-dir, DIR/pki is a file)", r,
          f"files left in DIR besides pki: {', '.join(left) or 'none'}; failure {r.failure() or '-'}")


# ---------------------------------------------------------------------------------------------


ROOT_MARKER = "JOINKIT-ROOT-MARKER-5e8b"


def root_secret():
    """/etc/shadow-like text with the marker, neither valid YAML nor valid TOML."""
    return f"root:$6${ROOT_MARKER}:19000:0:99999:7:::\n[{ROOT_MARKER} {{ {ROOT_MARKER}\n"


def fake_node_root(H):
    """A node's filesystem under a directory: a default route, ip_forward on, no swap."""
    root = os.path.dirname(H.path("x")) + "/root"
    for d in ("proc/net", "proc/sys/net/ipv4", "etc/kubernetes/manifests"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    files = {
        "proc/net/route": "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
                          "eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n",
        "proc/sys/net/ipv4/ip_forward": "1\n",
        "proc/swaps": "Filename\tType\tSize\tUsed\tPriority\n",
    }
    for rel, text in files.items():
        with open(os.path.join(root, rel), "w") as f:
            f.write(text)
    return root


def root_link(root, rel, target):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        os.remove(p)
    os.symlink(target, p)


def climb_to(abs_path):
    """`..` enough to reach / from anywhere under the root, then ABS_PATH (the kernel clamps `..`
    at /, so on the host this is ABS_PATH)."""
    return "../" * 40 + abs_path.lstrip("/")


def diagnose_root_rows(H, name, root):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed = f"127.0.0.1:{s.getsockname()[1]}"
    s.close()
    env = H.env({"JOINKIT_TOKEN": TOKEN})
    for out in ("text", "json", "yaml"):
        r = H.run(["diagnose", closed, "--discovery-token-ca-cert-hash", ZERO_PIN, "--root", root,
                   "--kubelet-healthz", "off", "--diagnose-timeout", "10s", "-o", out], env=env)
        where = [w for w, b in (("stdout", r.out), ("stderr", r.err)) if ROOT_MARKER.encode() in b]
        seen = ""
        if out == "json":
            v = r.json() or {}
            st = {x["name"]: x for x in v.get("stages", [])}
            lr = st.get("local/root")
            seen = f"; local/root {lr['status']}" if lr else "; no local/root stage"
        H.row(f"{name} (-o {out})", r, f"marker printed: {yn(where)}{' (' + '+'.join(where) + ')' if where else ''}{seen}")


@scenario("diagnose-root-escape")
def s_diagnose_root_escape(H):
    """diagnose --root DIR whose files are links out of DIR: `..` over the top, an absolute link to
    the host's secret, a chain, a loop, a FIFO and /dev/zero outside."""
    root = fake_node_root(H)
    outside = os.path.dirname(root) + "/outside"
    os.makedirs(outside, exist_ok=True)
    secret = outside + "/shadow"
    with open(secret, "w") as f:
        f.write(root_secret())
    os.mkfifo(outside + "/fifo")
    root_link(root, "var/lib/kubelet/config.yaml", climb_to(secret))
    root_link(root, "etc/containerd/config.toml", secret)
    root_link(root, "etc/kubernetes/kubelet.conf", "/etc/kubernetes/next")
    root_link(root, "etc/kubernetes/next", climb_to(secret))
    root_link(root, "proc/net/tcp6", "/proc/net/again")
    root_link(root, "proc/net/again", "tcp6")
    root_link(root, "proc/swaps", climb_to(outside + "/fifo"))
    root_link(root, "proc/sys/net/ipv4/ip_forward", climb_to("/dev/zero"))
    os.makedirs(os.path.join(root, "etc/eks"), exist_ok=True)
    root_link(root, "var/lib/cloud/instance/user-data.txt", climb_to(secret))
    diagnose_root_rows(H, "diagnose-root-escape", root)


@scenario("diagnose-root-malformed")
def s_diagnose_root_malformed(H):
    """diagnose --root DIR with malformed kubelet, containerd and NodeConfig files holding a marker:
    parse errors must give positions, not text."""
    root = fake_node_root(H)
    for rel, text in (
        ("var/lib/kubelet/config.yaml", f"kind: KubeletConfiguration\ncgroupDriver: [systemd, {ROOT_MARKER}\n"),
        ("etc/containerd/config.toml", f"version = 2\n[plugins.{ROOT_MARKER}\n"),
        ("proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n/swapfile file 1024 0 -2\n"),
        ("var/lib/cloud/instance/user-data.txt",
         "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n    name: c\n"
         f"    apiServerEndpoint: https://127.0.0.1:1\n    certificateAuthority: {ROOT_MARKER}\n    cidr: 10.0.0.0/16\n"),
    ):
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
    os.makedirs(os.path.join(root, "etc/eks"), exist_ok=True)
    diagnose_root_rows(H, "diagnose-root-malformed", root)


def cell(s):
    return str(s).replace("|", "\\|").replace("\n", " ").replace("\x1b", "\\x1b")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--joinkit", required=True, help="the joinkit binary to test")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="run only these scenarios")
    ap.add_argument("--list", action="store_true", help="list scenario names and exit")
    ap.add_argument("--internal-dns-hang", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.internal_dns_hang:
        dns_inner(a.joinkit)
        return
    names = [n for n, _ in SCENARIOS]
    if a.list:
        print("\n".join(names))
        return
    unknown = set(a.only or []) - set(names)
    if unknown:
        ap.error(f"unknown scenario(s): {', '.join(sorted(unknown))}; known: {', '.join(names)}")
    if not os.access(a.joinkit, os.X_OK):
        ap.error(f"{a.joinkit} is not executable")
    work = tempfile.mkdtemp(prefix="joinkit-hostile-")
    H = Harness(a.joinkit, work)
    t0 = time.monotonic()
    try:
        for name, fn in SCENARIOS:
            if a.only and name not in a.only:
                continue
            log(f"== {name}")
            t = time.monotonic()
            try:
                fn(H)
            except Exception as e:
                H.rows.append((name, "-", "-", "-", f"harness error: {type(e).__name__}: {short(e, 200)}"))
                log(traceback.format_exc())
            finally:
                H.close_all()
            log(f"   {time.monotonic() - t:.1f} s")
    finally:
        H.close_all()
        shutil.rmtree(work, ignore_errors=True)
    ver = subprocess.run([a.joinkit, "--version"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode().strip()
    print(f"joinkit hostile scenarios: `{a.joinkit}` ({ver}); kill after {KILL_AFTER:.0f} s, RLIMIT_AS {AS_LIMIT >> 30} GiB "
          f"on memory-hostile runs; total {time.monotonic() - t0:.0f} s\n")
    print("| scenario | exit code | wall time (s) | peak RSS (MiB) | observed |")
    print("| --- | --- | --- | --- | --- |")
    for r in H.rows:
        print("| " + " | ".join(cell(c) for c in r) + " |")


if __name__ == "__main__":
    main()
