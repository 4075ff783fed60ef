"""Throughput and latency of `joinkit csr approver` against a real kube-apiserver.

    python3 bench/csr_approver.py target/release/joinkit [--version 1.36|1.24] [--ca ecdsa|rsa]
        [--nodes 50] [--per-node 20] [--threads 8] [--rate 0] [--backlog] [--out FILE.json]

Starts a control plane with ../shared/k8s/control-plane (real etcd, kube-apiserver and
kube-controller-manager on loopback; `--control-plane PATH` or $JOINKIT_K8S_CONTROL_PLANE to
use another), then:

- makes NODES node identities the way the kubelet has them: an ECDSA P-256 key and a client
  certificate CN=system:node:nX, O=system:nodes signed with the cluster CA (CA_CERT/CA_KEY) by
  the openssl CLI, and a Node object nX with addresses InternalIP 10.1.X.Y and Hostname nX
  (created by the admin);
- makes NODES x PER_NODE serving CSRs as the kubelet does (a new P-256 key each, CN
  system:node:nX, O system:nodes, SANs DNS:nX and IP:10.1.X.Y, usages digital signature +
  server auth (+ key encipherment on v1.24, as its kubelet asks), signer
  kubernetes.io/kubelet-serving), all before anything is timed;
- starts the approver (BIN csr approver --kubeconfig ADMIN -o json, metrics and health on
  127.0.0.1:0), waits for it to lead and for /readyz 200;
- opens a watch on CSRs (admin), then POSTs every CSR with its node's client certificate
  (THREADS threads, one keep-alive connection per thread; as fast as they go, or RATE CSRs/s in
  total with --rate) so the API server records the node as the requestor;
- latency of each CSR = the time the watch shows its Approved condition minus the time its POST
  returned (client side, one monotonic clock). Throughput = approved CSRs / (last approval -
  first POST returned), and from the first approval to the last. With --backlog every CSR is
  POSTed first and the approver started afterwards: throughput then counts from its start. The approver's own latencyMs (creationTimestamp, 1 s resolution ->
  decision) and its /metrics are reported alongside, as is its CPU time and peak RSS.

Prints a table and writes JSON (--out, default target/bench-csr-approver-VERSION.json).
Standard library and the openssl CLI only. A benchmark, not a test: it asserts nothing beyond
every CSR being approved (exit 1 otherwise).

Measured (2 shared cores, Intel Xeon, 24 GiB; 1,000 CSRs = 50 nodes x 20; v1.36.2 ECDSA unless
said; release binaries; two runs each, both shown; run 2026-12-02):

| approver build | mode | CSRs POSTed/s | decisions/s (from first POST or start / first->last approval) | POST->Approved p50 / p99 | peak RSS | CPU |
| --- | --- | --- | --- | --- | --- | --- |
| 133f774 (no cap on CSRs judged at once) | live | 237, 239 | 237, 238 / 238, 239 (keeps up: POST-bound) | 115 / 323 ms, 115 / 291 ms | 22, 20 MiB | 0.63 s |
| 133f774 | backlog | 611, 656 | 370, 364 / 513, 516 | 2.6 / 4.1 s, 2.5 / 4.0 s | 90, 89 MiB | 0.95 s |
| 2153eea (at most 8 CSRs judged at once) | live | 376, 371 | 171, 173 / 172, 173 (falls behind) | 1.9 / 5.0 s, 1.9 / 5.1 s | 17, 17 MiB | 0.83 s |
| 2153eea | backlog | 626, 607 | 162, 164 / 215, 219 | 4.6 / 7.2 s, 4.6 / 7.2 s | 18, 18 MiB | 0.81 s |
| 2153eea, v1.24.0 (kubelet usages with key encipherment; all issued) | live | 447 | 206 / 206 | 1.5 / 4.2 s | 17 MiB | 0.73 s |
| 2153eea, v1.24.0 | backlog | 777 | 186 / 260 | 4.0 / 6.2 s | 17 MiB | 0.72 s |
| at most 32 at once, new leader acts at once | live | 258 | 243 / 246 (POST-bound) | 135 ms / 1.8 s | 19 MiB | 0.55 s |
| at most 32 at once | backlog | 659 | 313 / 319 | 2.3 / 4.4 s | 20 MiB | 0.61 s |
| at most 64 at once (the shipped setting) | live | 252 | 252 / 253 (keeps up: POST-bound) | 99 / 223 ms | 20 MiB | 0.59 s |
| at most 64 at once (the shipped setting) | backlog | - | 374 / 383 | 2.0 / 3.7 s | 23 MiB | 0.53 s |
| 2bcf910 (after the review fixes: sibling cap, renewal guard, bounded shutdown) | live | 247 | 246 / 246 (keeps up) | 100 / 204 ms | 17 MiB | 0.57 s |
| 2bcf910 | backlog | - | 351 / 367 | 2.3 / 4.0 s | 21 MiB | 0.60 s |

The cap of 8 cost ~2.4x of backlog throughput (515 -> 217 decisions/s first->last) and saved
~70 MiB of peak RSS on a 1,000-CSR backlog; the shipped cap of 64 keeps 383/s at 23 MiB. 2153eea
also reported ready (leading and /readyz 200) 1.52 s after start in every run (the renewal
guard waited one read interval before acting); since the guard is woken by the Lease manager,
ready is 0.27-0.30 s after start again. Backlog latencies count from
each CSR's creation, before the approver was started, so they measure the backlog, not the
approver's reaction time. The apiserver, controller-manager (which signs every approved CSR),
the Python client and the approver share the two cores.

The CSRs' usages are those of a kubelet of the cluster's version: v1.24 kubelets add key
encipherment to ECDSA requests (v1.27 kubelets ask for it only with RSA keys), and the v1.24 signer
requires it. --ca only changes the cluster's PKI; the CSR keys stay P-256.
"""
import argparse, base64, math, concurrent.futures, http.client, json, os, re, shutil, signal, socket, ssl
import statistics, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("bin", help="the joinkit binary, e.g. target/release/joinkit")
ap.add_argument("--version", default="1.36", choices=["1.24", "1.36"])
ap.add_argument("--ca", default="ecdsa", choices=["ecdsa", "rsa"])
ap.add_argument("--nodes", type=int, default=50)
ap.add_argument("--per-node", type=int, default=20)
ap.add_argument("--threads", type=int, default=8)
ap.add_argument("--rate", type=float, default=0, help="CSRs per second in total (0: as fast as possible)")
ap.add_argument("--timeout", type=float, default=600, help="seconds to wait for every approval")
ap.add_argument("--control-plane", default=os.environ.get("JOINKIT_K8S_CONTROL_PLANE")
                or os.path.join(ROOT, "../shared/k8s/control-plane"))
ap.add_argument("--backlog", action="store_true",
                help="create every CSR first, then start the approver (its throughput on a backlog)")
ap.add_argument("--approver-args", default="", help="extra approver arguments, space-separated")
ap.add_argument("--out")
args = ap.parse_args()
BIN = os.path.abspath(args.bin)
OUT = args.out or os.path.join(ROOT, f"target/bench-csr-approver-{args.version}.json")
TOTAL = args.nodes * args.per_node
USAGES = (["digital signature", "key encipherment", "server auth"] if args.version == "1.24"
          else ["digital signature", "server auth"])


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw).stdout


work = tempfile.mkdtemp(prefix="joinkit-bench-csr-")
cp_dir = os.path.join(work, "cp")
approver = None


def cleanup():
    if approver and approver.poll() is None:
        approver.kill()
        approver.wait()
    subprocess.run([args.control_plane, "down", cp_dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.rmtree(work, ignore_errors=True)


def main():
    global approver
    env = dict(os.environ, JOINKIT_K8S_QUIET="1")
    env.setdefault("JOINKIT_K8S_CACHE", os.path.join(ROOT, "target/k8s-cache"))
    t = time.perf_counter()
    sh(args.control_plane, "up", cp_dir, "--version", args.version, "--ca", args.ca, env=env)
    cp_up = time.perf_counter() - t
    E = json.load(open(os.path.join(cp_dir, "env.json")))
    host, port = E["ENDPOINT"].split(":")
    log(f"control plane {E['K8S_GIT_VERSION']} ({args.ca}) up at {E['ENDPOINT']} in {cp_up:.1f} s")

    # The admin's client certificate out of admin.conf.
    conf = open(E["ADMIN_KUBECONFIG"]).read()
    adm_crt, adm_key = os.path.join(work, "admin.crt"), os.path.join(work, "admin.key")
    for key, path in (("client-certificate-data", adm_crt), ("client-key-data", adm_key)):
        data = re.search(rf"^\s*{key}:\s*(\S+)", conf, re.M).group(1)
        open(path, "wb").write(base64.b64decode(data))

    def context(crt, key):
        ctx = ssl.create_default_context(cafile=E["CA_CERT"])
        ctx.load_cert_chain(crt, key)
        return ctx

    admin_ctx = context(adm_crt, adm_key)

    def conn(ctx):
        return http.client.HTTPSConnection(host, int(port), context=ctx, timeout=60)

    def call(c, method, path, body=None):
        c.request(method, path, body=None if body is None else json.dumps(body),
                  headers={"Content-Type": "application/json", "Accept": "application/json"})
        r = c.getresponse()
        data = r.read()
        if r.status >= 300:
            raise RuntimeError(f"{method} {path}: {r.status} {data[:300]!r}")
        return json.loads(data)

    # Node identities (client certs signed by the CA) and Node objects.
    def ip(i, j=None):
        return f"10.1.{i // 250}.{i % 250 + 1}"

    def make_node(i):
        n = f"n{i}"
        k, r, c = (os.path.join(work, f"{n}.{x}") for x in ("key", "csr", "crt"))
        sh("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", k)
        sh("openssl", "req", "-new", "-key", k, "-subj", f"/O=system:nodes/CN=system:node:{n}", "-out", r)
        ext = os.path.join(work, f"{n}.ext")
        open(ext, "w").write("keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n")
        sh("openssl", "x509", "-req", "-in", r, "-CA", E["CA_CERT"], "-CAkey", E["CA_KEY"],
           "-set_serial", f"0x{os.urandom(16).hex()}",
           "-days", "1", "-sha256", "-extfile", ext, "-out", c)
        return n, c, k

    def make_serving(i, j):
        n = f"n{i}"
        d = os.path.join(work, f"s-{n}-{j}")
        pem = sh("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", d + ".key", "-subj", f"/O=system:nodes/CN=system:node:{n}",
                 "-addext", f"subjectAltName=DNS:{n},IP:{ip(i)}")
        os.unlink(d + ".key")
        return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
                "metadata": {"name": f"bench-{n}-{j}"},
                "spec": {"signerName": "kubernetes.io/kubelet-serving", "usages": USAGES,
                         "request": base64.b64encode(pem).decode()}}

    t = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        nodes = list(ex.map(make_node, range(1, args.nodes + 1)))
        csrs = list(ex.map(lambda ij: (ij[0], make_serving(*ij)),
                           [(i, j) for j in range(args.per_node) for i in range(1, args.nodes + 1)]))
    c = conn(admin_ctx)
    for i, (n, _, _) in enumerate(nodes, start=1):
        call(c, "POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": n}})
        call(c, "PUT", f"/api/v1/nodes/{n}/status", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": n},
             "status": {"addresses": [{"type": "InternalIP", "address": ip(i)}, {"type": "Hostname", "address": n}]}})
    rv = call(c, "GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests")["metadata"]["resourceVersion"]
    c.close()
    log(f"{len(nodes)} node identities and Nodes, {len(csrs)} CSRs prepared in {time.perf_counter() - t:.1f} s")

    # The approver.
    lines, leader, started, timing = [], threading.Event(), {}, {}

    def http_get(addr, path):
        h, p = addr.rsplit(":", 1)
        c = http.client.HTTPConnection(h, int(p), timeout=10)
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode()

    def start_approver():
        global approver
        cmd = [BIN, "csr", "approver", "--kubeconfig", E["ADMIN_KUBECONFIG"], "-o", "json",
               "--metrics-bind-address", "127.0.0.1:0", "--health-probe-bind-address", "127.0.0.1:0",
               "--leader-elect-resource-namespace", "kube-system", "--leader-elect-identity", "bench"]
        cmd += args.approver_args.split()
        aenv = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")}
        t_start = time.perf_counter()
        approver = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(os.path.join(work, "approver.err"), "w"),
                                    env=dict(aenv, NO_COLOR="1"), text=True)

        def read_stdout():
            for line in approver.stdout:
                try:
                    v = json.loads(line)
                except ValueError:
                    v = {"raw": line}
                v["_t"] = time.perf_counter()
                lines.append(v)
                if v.get("event") == "started":
                    started.update(v)
                if v.get("event") == "leader" and v.get("leader"):
                    leader.set()

        threading.Thread(target=read_stdout, daemon=True).start()
        t = time.perf_counter()
        while not leader.wait(0.1):
            if approver.poll() is not None or time.perf_counter() - t > 60:
                err = open(os.path.join(work, "approver.err")).read()
                raise RuntimeError(f"approver not leading (exit {approver.poll()}): {lines}\n{err}")

        while http_get(started["healthAddress"], "/readyz")[0] != 200:
            time.sleep(0.05)
        ready = time.perf_counter() - t_start
        log(f"approver leading and ready {ready:.2f} s after start")
        timing.update(start=t_start, ready=ready, cmd=cmd)

    # The watch: the first event showing each CSR Approved (or Denied/Failed).
    approved_at, denied, failed_sign, watching = {}, set(), set(), threading.Event()

    watch_errors, watch_done = [], threading.Event()

    def watch():
        last = rv
        while True:
            try:
                c = http.client.HTTPSConnection(host, int(port), context=admin_ctx, timeout=None)
                c.request("GET", f"/apis/certificates.k8s.io/v1/certificatesigningrequests?watch=1"
                          f"&resourceVersion={last}&allowWatchBookmarks=true")
                r = c.getresponse()
                if r.status != 200:
                    raise RuntimeError(f"watch: {r.status} {r.read()[:300]!r}")
                watching.set()
                while True:
                    line = r.readline()
                    if not line:
                        raise RuntimeError("watch ended")
                    now = time.perf_counter()
                    ev = json.loads(line)
                    obj = ev.get("object", {})
                    if ev.get("type") == "ERROR":
                        raise RuntimeError(f"watch error event: {obj}")
                    last = obj.get("metadata", {}).get("resourceVersion", last)
                    name = obj.get("metadata", {}).get("name", "")
                    for cond in (obj.get("status") or {}).get("conditions") or []:
                        if cond.get("type") == "Approved" and name not in approved_at:
                            approved_at[name] = now
                        elif cond.get("type") == "Denied":
                            denied.add(name)
                        elif cond.get("type") == "Failed":
                            failed_sign.add(name)
            except Exception as e:  # reconnect from the last resourceVersion seen
                if watch_done.is_set():
                    return
                watch_errors.append(repr(e))
                log(f"watch: {e!r}; resuming from resourceVersion {last}")
                time.sleep(0.2)

    threading.Thread(target=watch, daemon=True).start()
    watching.wait(30)

    if not args.backlog:
        start_approver()

    # POST the CSRs as their nodes.
    ctxs = {n: context(crt, key) for n, crt, key in nodes}
    created_at = {}
    per_thread = [csrs[k::args.threads] for k in range(args.threads)]
    t0 = time.perf_counter()
    interval = args.threads / args.rate if args.rate > 0 else 0

    def poster(batch, k):
        conns = {}
        next_t = t0 + k * (1 / args.rate if args.rate > 0 else 0)
        for i, obj in batch:
            n = f"n{i}"
            if interval:
                time.sleep(max(0, next_t - time.perf_counter()))
                next_t += interval
            c = conns.get(n)
            if c is None:
                c = conns[n] = conn(ctxs[n])
            out = call(c, "POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests", obj)
            created_at[obj["metadata"]["name"]] = time.perf_counter()
            assert out["spec"]["username"] == f"system:node:{n}", out["spec"]["username"]
        for c in conns.values():
            c.close()

    with concurrent.futures.ThreadPoolExecutor(args.threads) as ex:
        for f in [ex.submit(poster, b, k) for k, b in enumerate(per_thread)]:
            f.result()
    posted = time.perf_counter() - t0
    log(f"{len(created_at)} CSRs created in {posted:.2f} s ({len(created_at) / posted:.0f}/s)")
    if args.backlog:
        start_approver()
    deadline = time.perf_counter() + args.timeout
    names = [o["metadata"]["name"] for _, o in csrs]
    while time.perf_counter() < deadline and not all(n in approved_at or n in denied for n in names):
        if approver.poll() is not None:
            err = open(os.path.join(work, "approver.err")).read()
            tail = [v for v in lines if v.get("event") != "decision"][-5:] + lines[-3:]
            raise RuntimeError(f"the approver exited ({approver.returncode}) after {len(approved_at)} approvals; "
                               f"last lines: {tail}\nstderr: {err[-3000:]}")
        time.sleep(0.05)
    time.sleep(1)  # the last decision lines

    # Results.
    pid = approver.pid
    stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    cpu = (int(stat[11]) + int(stat[12])) / tick
    hwm = int(re.search(r"VmHWM:\s+(\d+)", open(f"/proc/{pid}/status").read()).group(1)) // 1024
    _, metrics = http_get(started["metricsAddress"], "/metrics")
    watch_done.set()
    approver.send_signal(signal.SIGTERM)
    rc = approver.wait(30)

    lat = sorted((approved_at[n] - created_at[n]) * 1000 for n in names if n in approved_at)
    got = len(lat)
    # Throughput from the first POST returned, or with --backlog from the approver's start.
    first = timing["start"] if args.backlog else min(created_at.values())
    last = max(approved_at[n] for n in names if n in approved_at) if got else first
    span = last - first
    approvals = sorted(approved_at[n] for n in names if n in approved_at)
    steady = (len(approvals) - 1) / (approvals[-1] - approvals[0]) if len(approvals) > 1 else None
    decisions = [v for v in lines if v.get("event") == "decision"]
    own = sorted(v.get("latencyMs", 0) for v in decisions)

    def pct(xs, p):
        return xs[max(0, math.ceil(p / 100 * len(xs)) - 1)] if xs else None  # nearest rank

    def metric(series):
        m = re.search(rf"^{re.escape(series)} (\S+)$", metrics, re.M)
        return float(m.group(1)) if m else None

    res = {
        "version": E["K8S_GIT_VERSION"], "ca": args.ca, "nodes": args.nodes, "perNode": args.per_node,
        "csrs": TOTAL, "threads": args.threads, "rate": args.rate or None, "approved": got,
        "denied": len(denied), "signerFailed": len(failed_sign & set(names)),
        "postSeconds": round(posted, 3), "postPerSecond": round(TOTAL / posted, 1),
        "spanSeconds": round(span, 3), "decisionsPerSecond": round(got / span, 1) if span > 0 else None,
        "decisionsPerSecondFirstToLast": round(steady, 1) if steady else None,
        "latencyMs": {"p50": round(pct(lat, 50), 1) if lat else None, "p90": round(pct(lat, 90), 1) if lat else None,
                      "p99": round(pct(lat, 99), 1) if lat else None, "max": round(lat[-1], 1) if lat else None,
                      "mean": round(statistics.mean(lat), 1) if lat else None},
        "approverLatencyMs": {"p50": pct(own, 50), "p99": pct(own, 99), "note": "creationTimestamp (1 s) to decision"},
        "approverDecisionLines": len(decisions), "watchErrors": watch_errors,
        "metricsApproved": metric('joinkit_csr_approver_decisions_total{decision="approved"}'),
        "approverCpuSeconds": round(cpu, 2), "approverPeakRssMiB": hwm, "approverReadySeconds": round(timing["ready"], 2), "backlog": args.backlog,
        "approverExit": rc, "controlPlaneUpSeconds": round(cp_up, 1), "machineCpus": os.cpu_count(),
        "approverArgs": timing["cmd"][2:],
    }
    os.makedirs(os.path.dirname(os.path.abspath(OUT)), exist_ok=True)
    json.dump(res, open(OUT, "w"), indent=2)
    rows = [
        ("kube-apiserver", res["version"]), ("CSRs (nodes x per node)", f"{TOTAL} ({args.nodes} x {args.per_node})"),
        ("POST threads / rate", f"{args.threads} / {args.rate or 'max'}"),
        ("mode", "backlog (approver started after every POST)" if args.backlog else "live (approver running)"),
        ("created in", f"{posted:.2f} s ({res['postPerSecond']}/s)"), ("approved", f"{got} of {TOTAL}"),
        ("decisions/s (first POST or approver start -> last)", res["decisionsPerSecond"]),
        ("decisions/s (first approval -> last)", res["decisionsPerSecondFirstToLast"]),
        ("latency p50 / p90 / p99 / max", " / ".join(f"{res['latencyMs'][k]} ms" for k in ("p50", "p90", "p99", "max"))),
        ("approver latencyMs p50 / p99", f"{res['approverLatencyMs']['p50']} / {res['approverLatencyMs']['p99']}"),
        ("metrics approved", res["metricsApproved"]),
        ("approver CPU / peak RSS", f"{cpu:.2f} s / {hwm} MiB"), ("approver exit on SIGTERM", rc),
    ]
    w = max(len(r[0]) for r in rows)
    for k, v in rows:
        print(f"{k:<{w}}  {v}")
    print(f"JSON: {OUT}")
    return 0 if got == TOTAL else 1


try:
    sys.exit(main())
finally:
    cleanup()
