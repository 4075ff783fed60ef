"""joinkit's bootstrap dry run vs the real kubelet's TLS bootstrap, and the approver's latency
on the real kubelet's serving CSR, against real control planes.

    sudo python3 bench/kubelet_bootstrap.py target/release/joinkit [--versions 1.36,1.24]
        [--runs 5] [--out FILE.json]

For each version, starts a control plane with ../shared/k8s/control-plane (real etcd,
kube-apiserver and kube-controller-manager on loopback, ECDSA PKI; `--control-plane PATH` or
$JOINKIT_K8S_CONTROL_PLANE), one containerd (Debian's 1.6 from PATH, in a temporary directory,
as tests/common/kubelet.rs runs it) and `joinkit csr approver` (admin kubeconfig,
--leader-elect=false), opens admin watches on Nodes and CSRs, then RUNS times:

- **joinkit**: `joinkit bootstrap ENDPOINT --discovery-token-ca-cert-hash PIN --node-name N -o
  json` (the token in JOINKIT_TOKEN): the whole dry run (discovery, authentication, access
  reviews, CSR, approval by kube-controller-manager, certificate, node identity, cleanup), wall
  time; and its report's approvalSeconds;
- **the real kubelet** (v1.36.2 or v1.24.0, from the archives beside the control-plane script,
  unpacked into $JOINKIT_K8S_CACHE/kubelet/), started with a bootstrap kubeconfig as `kubeadm
  join` writes it, `serverTLSBootstrap: true` and the settings this machine kind needs
  (tests/common/kubelet.rs; a TEST-NET-1 address on lo claimed with the tests' lock files, a
  private mount namespace): the time from its start to `kubelet.conf` written (TLS bootstrap
  done; polled every 5 ms) and to its Node ADDED on the watch;
- **the approver**: the kubelet's `kubernetes.io/kubelet-serving` CSR, from its ADDED event on
  the watch to the event showing it Approved (by joinkit's approver: reason JoinkitApproved) and
  to the event carrying status.certificate (issued by kube-controller-manager's signer). One
  clock (time.perf_counter) for all.

The kubelet is then stopped (SIGTERM) and the next run uses a new node name and address.
Prints median/min/max per measure and version and writes JSON (--out, default
target/bench-kubelet-bootstrap.json). Needs root (containerd, mounts, addresses on lo), xz,
unshare and ip. A benchmark, not a test: it fails only if a step does not happen (60 s limit).

Measured: see docs/real-kubelet.md ("Timings").
"""
import argparse, base64, fcntl, http.client, json, os, re, shutil, signal, socket, ssl, statistics
import subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("bin", help="the joinkit binary, e.g. target/release/joinkit")
ap.add_argument("--versions", default="1.36,1.24")
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--control-plane", default=os.environ.get("JOINKIT_K8S_CONTROL_PLANE")
                or os.path.join(ROOT, "../shared/k8s/control-plane"))
ap.add_argument("--out", default=os.path.join(ROOT, "target/bench-kubelet-bootstrap.json"))
args = ap.parse_args()
BIN = os.path.abspath(args.bin)
DIST = os.environ.get("JOINKIT_K8S_DIST") or os.path.dirname(os.path.abspath(args.control_plane))
CACHE = os.environ.get("JOINKIT_K8S_CACHE") or os.path.join(ROOT, "target/k8s-cache")
GIT = {"1.36": "v1.36.2", "1.24": "v1.24.0+0"}
LIMIT = 60.0


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw).stdout


def wait(what, f, step=0.005):
    t = time.perf_counter()
    while True:
        v = f()
        if v:
            return v
        if time.perf_counter() - t > LIMIT:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(step)


def kubelet_binary(v):
    dest = os.path.join(CACHE, "kubelet", GIT[v], "kubelet")
    if not os.path.isfile(dest):
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest + ".tmp", "wb") as f:
            subprocess.run(["xz", "-dc", os.path.join(DIST, f"v{v}/kubelet.xz")], stdout=f, check=True)
        os.chmod(dest + ".tmp", 0o755)
        os.rename(dest + ".tmp", dest)
    return dest


claimed = []  # (ip, lock file, added)


def claim_address():
    """The first free 192.0.2.11-110, locked as tests/common/kubelet.rs (LoAddress) locks it."""
    d = os.path.join(CACHE, "kubelet", "lo")
    os.makedirs(d, exist_ok=True)
    on_lo = sh("ip", "-4", "-o", "addr", "show", "dev", "lo").decode()
    for n in range(110, 10, -1):  # from the top: the tests claim from the bottom
        ip = f"192.0.2.{n}"
        if any(c[0] == ip for c in claimed):
            continue
        f = open(os.path.join(d, f"{ip}.lock"), "a")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            continue
        added = f"{ip}/32" not in on_lo.split()
        if added:
            sh("ip", "addr", "add", f"{ip}/32", "dev", "lo")
        claimed.append((ip, f, added))
        return ip
    raise RuntimeError("no free TEST-NET address")


def free_port(ip):
    s = socket.socket()
    s.bind((ip, 0))
    p = s.getsockname()[1]
    s.close()
    return p


def stats(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return {"n": 0}
    return {"n": len(xs), "median": statistics.median(xs), "min": min(xs), "max": max(xs), "all": xs}


def bench_version(v, work, procs):
    env = dict(os.environ, JOINKIT_K8S_QUIET="1", JOINKIT_K8S_CACHE=CACHE)
    cp = os.path.join(work, f"cp-{v}")
    procs.append(("cp", cp))
    t = time.perf_counter()
    sh(args.control_plane, "up", cp, "--version", v, "--ca", "ecdsa", env=env)
    E = json.load(open(os.path.join(cp, "env.json")))
    log(f"control plane {E['K8S_GIT_VERSION']} up in {time.perf_counter() - t:.1f} s")
    host, port = E["ENDPOINT"].split(":")
    conf = open(E["ADMIN_KUBECONFIG"]).read()
    crt, key = os.path.join(work, f"admin-{v}.crt"), os.path.join(work, f"admin-{v}.key")
    for k, path in (("client-certificate-data", crt), ("client-key-data", key)):
        open(path, "wb").write(base64.b64decode(re.search(rf"^\s*{k}:\s*(\S+)", conf, re.M).group(1)))
    ctx = ssl.create_default_context(cafile=E["CA_CERT"])
    ctx.load_cert_chain(crt, key)

    # Watches: first time each Node is seen; each serving CSR's ADDED, Approved, issued.
    seen_node, csr_added, csr_approved, csr_issued, csr_reason, ready = {}, {}, {}, {}, {}, []

    def watch(path, on):
        c = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=None)
        c.request("GET", path + "?watch=1")
        r = c.getresponse()
        ready.append(path)
        while True:
            line = r.readline()
            if not line:
                return
            now = time.perf_counter()
            ev = json.loads(line)
            on(ev.get("type"), ev.get("object", {}), now)

    def on_node(t, o, now):
        seen_node.setdefault(o["metadata"]["name"], now)

    def on_csr(t, o, now):
        if o.get("spec", {}).get("signerName") != "kubernetes.io/kubelet-serving":
            return
        user = o["spec"].get("username", "")
        if t == "ADDED":
            csr_added.setdefault(user, now)
        for c in (o.get("status") or {}).get("conditions") or []:
            if c.get("type") == "Approved" and user not in csr_approved:
                csr_approved[user] = now
                csr_reason[user] = c.get("reason")
        if (o.get("status") or {}).get("certificate"):
            csr_issued.setdefault(user, now)

    for p, f in (("/api/v1/nodes", on_node), ("/apis/certificates.k8s.io/v1/certificatesigningrequests", on_csr)):
        threading.Thread(target=watch, args=(p, f), daemon=True).start()
    wait("the watches", lambda: len(ready) == 2)

    # containerd, as tests/common/kubelet.rs runs it.
    cd = os.path.join(work, f"containerd-{v}")
    os.makedirs(cd)
    sock = os.path.join(cd, "containerd.sock")
    cri = '"io.containerd.grpc.v1.cri"'
    open(os.path.join(cd, "config.toml"), "w").write(f"""version = 2
root = "{cd}/root"
state = "{cd}/state"
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "{cd}/opt"
[plugins.{cri}]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_tcp_service = true
[plugins.{cri}.containerd]
  snapshotter = "native"
[plugins.{cri}.cni]
  bin_dir = "{cd}/cni/bin"
  conf_dir = "{cd}/cni/net.d"
""")
    containerd = subprocess.Popen(["containerd", "--config", os.path.join(cd, "config.toml")],
                                  stdout=open(os.path.join(cd, "log"), "w"), stderr=subprocess.STDOUT)
    procs.append(("proc", containerd))
    wait("containerd", lambda: os.path.exists(sock), 0.02)
    endpoint = f"unix://{sock}"

    approver = subprocess.Popen([BIN, "csr", "approver", "--kubeconfig", E["ADMIN_KUBECONFIG"], "-o", "json",
                                 "--leader-elect=false", "--metrics-bind-address", "127.0.0.1:0",
                                 "--health-probe-bind-address", "127.0.0.1:0"],
                                stdout=open(os.path.join(work, f"approver-{v}.log"), "w"), stderr=subprocess.STDOUT)
    procs.append(("proc", approver))
    wait("the approver", lambda: '"started"' in open(os.path.join(work, f"approver-{v}.log")).read(), 0.02)

    kubelet = kubelet_binary(v)
    ca = base64.b64encode(open(E["CA_CERT"], "rb").read()).decode()
    rows = []
    for i in range(args.runs):
        row = {}
        # joinkit's dry run.
        node = f"bench-jk-{i}"
        t = time.perf_counter()
        r = subprocess.run([BIN, "bootstrap", E["ENDPOINT"], "--discovery-token-ca-cert-hash", E["CA_PIN"],
                            "--node-name", node, "-o", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=dict(os.environ, JOINKIT_TOKEN=E["TOKEN"], HOME=work))
        row["joinkit_dry_run"] = time.perf_counter() - t
        rep = json.loads(r.stdout or b"{}")
        if r.returncode != 0 or rep.get("ok") is not True:
            raise RuntimeError(f"joinkit bootstrap: {r.returncode} {r.stdout[:400]!r} {r.stderr[:400]!r}")
        row["joinkit_approval"] = rep.get("approvalSeconds")

        # The real kubelet.
        node = f"bench-kubelet-{i}"
        ip = claim_address()
        d = os.path.join(work, f"kubelet-{v}-{i}")
        os.makedirs(d)
        boot = os.path.join(d, "bootstrap-kubelet.conf")
        open(boot, "w").write(
            f"apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n"
            f"    server: {E['SERVER']}\n  name: kubernetes\ncontexts:\n- context:\n    cluster: kubernetes\n"
            f"    user: tls-bootstrap-token-user\n  name: tls-bootstrap-token-user@kubernetes\n"
            f"current-context: tls-bootstrap-token-user@kubernetes\npreferences: {{}}\nusers:\n"
            f"- name: tls-bootstrap-token-user\n  user:\n    token: {E['TOKEN']}\n")
        os.chmod(boot, 0o600)
        cfg = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
        if v == "1.36":
            cfg += f"failCgroupV1: false\ncontainerRuntimeEndpoint: {endpoint}\n"
        cfg += (f"cgroupsPerQOS: false\nenforceNodeAllocatable: []\ncgroupDriver: cgroupfs\nfailSwapOn: false\n"
                f"address: {ip}\nport: {free_port(ip)}\nhealthzBindAddress: 127.0.0.1\n"
                f"healthzPort: {free_port('127.0.0.1')}\nreadOnlyPort: 0\nserverTLSBootstrap: true\n"
                "authentication:\n  anonymous:\n    enabled: false\n  webhook:\n    enabled: true\n"
                "authorization:\n  mode: Webhook\n")
        open(os.path.join(d, "config.yaml"), "w").write(cfg)
        cmd = ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
               "mount -t tmpfs -o mode=0755,size=16m joinkit-kubelet /var/lib && "
               "mount -t tmpfs -o mode=0755,size=16m joinkit-kubelet /var/log && exec \"$@\"", "sh",
               kubelet, "--bootstrap-kubeconfig", boot, "--kubeconfig", os.path.join(d, "kubelet.conf"),
               "--config", os.path.join(d, "config.yaml"), "--cert-dir", os.path.join(d, "pki"),
               "--root-dir", os.path.join(d, "root"), "--hostname-override", node, "--node-ip", ip]
        if v == "1.24":
            cmd += ["--container-runtime=remote", f"--container-runtime-endpoint={endpoint}"]
        kenv = {k: val for k, val in os.environ.items() if k not in ("KUBECONFIG",) and "proxy" not in k.lower()}
        t0 = time.perf_counter()
        k = subprocess.Popen(cmd, stdout=open(os.path.join(d, "kubelet.log"), "w"), stderr=subprocess.STDOUT, env=kenv)
        procs.append(("proc", k))
        conf_path = os.path.join(d, "kubelet.conf")
        user = f"system:node:{node}"

        def alive(f):
            def g():
                if k.poll() is not None:
                    raise RuntimeError(f"kubelet exited {k.returncode}: {open(os.path.join(d, 'kubelet.log')).read()[-2000:]}")
                return f()
            return g
        row["kubelet_conf"] = wait("kubelet.conf", alive(lambda: os.path.exists(conf_path) and time.perf_counter())) - t0
        row["kubelet_node"] = wait("the Node", alive(lambda: seen_node.get(node))) - t0
        issued = wait("the serving certificate issued", alive(lambda: csr_issued.get(user)))
        row["serving_csr_created"] = csr_added[user] - t0
        row["approver_created_to_approved"] = csr_approved[user] - csr_added[user]
        row["approver_created_to_issued"] = issued - csr_added[user]
        row["approved_reason"] = csr_reason[user]
        k.send_signal(signal.SIGTERM)
        try:
            k.wait(15)
        except subprocess.TimeoutExpired:
            k.kill()
            k.wait()
        rows.append(row)
        log(f"v{v} run {i + 1}: " + ", ".join(f"{a} {b:.3f}" if isinstance(b, float) else f"{a} {b}" for a, b in row.items()))
    approver.terminate()
    containerd.terminate()
    approver.wait(10)
    containerd.wait(10)
    sh(args.control_plane, "down", cp, env=env)
    keys = [k for k in rows[0] if k != "approved_reason"]
    return {"git_version": E["K8S_GIT_VERSION"], "runs": rows, "stats": {k: stats([r[k] for r in rows]) for k in keys},
            "approved_reasons": sorted({r["approved_reason"] for r in rows})}


def main():
    if os.geteuid() != 0:
        sys.exit("needs root (containerd, mounts, addresses on lo)")
    work = tempfile.mkdtemp(prefix="joinkit-bench-kubelet-")
    procs, out = [], {}
    try:
        for v in args.versions.split(","):
            out[v] = bench_version(v, work, procs)
    finally:
        for kind, p in reversed(procs):
            if kind == "proc" and p.poll() is None:
                p.kill()
                p.wait()
            elif kind == "cp":
                subprocess.run([args.control_plane, "down", p], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for ip, f, added in claimed:
            if added:
                subprocess.run(["ip", "addr", "del", f"{ip}/32", "dev", "lo"], stderr=subprocess.DEVNULL)
            f.close()
        shutil.rmtree(work, ignore_errors=True)
    names = {
        "joinkit_dry_run": "joinkit bootstrap (dry run, whole flow)",
        "joinkit_approval": "  of which CSR approval + issue (approvalSeconds)",
        "kubelet_conf": "real kubelet: start -> kubelet.conf written",
        "kubelet_node": "real kubelet: start -> Node registered",
        "serving_csr_created": "real kubelet: start -> serving CSR created",
        "approver_created_to_approved": "approver: serving CSR created -> Approved",
        "approver_created_to_issued": "approver: serving CSR created -> issued",
    }
    vs = list(out)
    print(f"| measure ({args.runs} runs; seconds: median (min-max)) | " + " | ".join(out[v]["git_version"] for v in vs) + " |")
    print("| --- |" + " --- |" * len(vs))
    for k, label in names.items():
        cells = []
        for v in vs:
            s = out[v]["stats"].get(k, {"n": 0})
            cells.append("-" if not s["n"] else f"{s['median']:.3f} ({s['min']:.3f}-{s['max']:.3f})")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print("approved by: " + ", ".join(f"{v}: {out[v]['approved_reasons']}" for v in vs))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    json.dump(out, open(args.out, "w"), indent=1)
    log(f"wrote {args.out}")


main()
