"""Times joinkit against goals: wall time of whole commands (process start to exit), median and
p95 over RUNS runs, on loopback only. Labs are joinkit's own; no traffic leaves the machine."""
import json, os, shutil, socket, statistics, subprocess, sys, tempfile, threading, time

BIN, RUNS = sys.argv[1], int(sys.argv[2])
ONLY = sys.argv[3] if len(sys.argv) > 3 else None
ENV = dict(os.environ, NO_COLOR="1")
rows = []


def timed(args, env=None, stdin=None, runs=RUNS):
    samples, rc = [], None
    for _ in range(runs):
        t = time.perf_counter()
        p = subprocess.run(args, env=env or ENV, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        samples.append((time.perf_counter() - t) * 1000)
        rc = p.returncode
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1], rc


def row(what, goal_ms, med, p95, rc, note=""):
    ok = "ok" if goal_ms is None or p95 < goal_ms else "MISSED"
    rows.append((what, f"{med:.1f}", f"{p95:.1f}", "-" if goal_ms is None else f"< {goal_ms}", rc, ok, note))


def explain_log_1g():
    """explain-log on a 1 GB log: throughput and peak memory (`bench.py BIN RUNS explain-log` runs
    only this)."""
    logp = os.path.join(tempfile.gettempdir(), "joinkit-bench-1g.log")
    unit = ("Nov 21 09:00:01 worker-1 kubelet[1234]: I1121 09:00:01.000000 1234 kubelet_node_status.go:70] \"Attempting to register node\" node=\"worker-1\"\n"
            "Nov 21 09:00:02 worker-1 containerd[900]: time=\"2026-11-21T09:00:02Z\" level=info msg=\"StartContainer returns successfully\"\n") * 4096
    with open(logp, "w") as f:
        written = 0
        while written < 1 << 30:
            f.write(unit)
            written += len(unit)
        f.write("dial tcp 10.0.0.10:6443: connect: no route to host\n")
    size = os.path.getsize(logp)
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", BIN, "explain-log", logp], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    secs = time.perf_counter() - t
    rss_mb = int(p.stderr.strip().splitlines()[-1]) / 1024
    mbps = size / secs / 1e6
    rows.append((f"explain-log on {size / 1e9:.2f} GB", f"{secs * 1000:.0f}", "-", "-", p.returncode, "ok" if mbps >= 100 else "MISSED", f"{mbps:.0f} MB/s (goal >= 100), peak RSS {rss_mb:.1f} MiB"))
    os.unlink(logp)


if ONLY == "explain-log":
    explain_log_1g()
    for r in rows:
        print(f"{r[0]}: {r[1]} ms, exit {r[4]}, {r[5]} {r[6]}")
    sys.exit(0)


class Lab:
    def __init__(self, scenario="healthy", key="rsa"):
        self.dir = tempfile.mkdtemp()
        info = os.path.join(self.dir, "lab.json")
        self.p = subprocess.Popen([BIN, "lab", "--listen", "127.0.0.1:0", "--ca-key", key, "--scenario", scenario,
                                   "--write-json", info, "--exit-after", "120s"], stdout=open(os.path.join(self.dir, "lab.log"), "w"), stderr=subprocess.DEVNULL)
        for _ in range(400):
            if os.path.exists(info):
                break
            time.sleep(0.025)
        self.info = json.load(open(info))

    def verify(self, extra=()):
        env = dict(ENV, JOINKIT_TOKEN=self.info["token"])
        return [BIN, "verify-discovery", self.info["endpoint"], "--discovery-token-ca-cert-hash", self.info["caPin"], *extra], env

    def issued_at(self, csr):
        """Unix ns at which the lab's signer issued the certificate of `csr` (from its log)."""
        for line in open(os.path.join(self.dir, "lab.log")):
            if f"issued the certificate of CSR {csr} at " in line:
                return int(line.split(" at ")[1].split()[0])
        raise KeyError(csr)

    def close(self):
        self.p.terminate()
        self.p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


# Happy path (RSA and ECDSA CAs).
for key in ("rsa", "ecdsa"):
    lab = Lab(key=key)
    args, env = lab.verify()
    med, p95, rc = timed(args, env)
    row(f"verify-discovery happy path ({key} CA)", 50, med, p95, rc, "1 TCP connection, 1 TLS handshake (tests assert it)")
    lab.close()

# Failure verdicts from the lab.
for sc in ["token-expired", "token-deleted", "token-no-signing", "signer-stopped", "anonymous-revoked", "anonymous-auth-off",
           "cluster-info-missing", "kubeconfig-missing", "tampered-signature", "jws-empty", "ca-not-yet-valid", "ca-expired",
           "mitm", "wrong-san", "clock-skew"]:
    lab = Lab(scenario=sc, key="ecdsa")
    args, env = lab.verify(["-o", "json"])
    med, p95, rc = timed(args, env, runs=max(5, RUNS // 3))
    code = json.loads(subprocess.run(args, env=env, stdout=subprocess.PIPE).stdout)["failure"]["code"]
    row(f"verdict {code} (lab {sc})", 200, med, p95, rc)
    lab.close()

# Failures produced locally.
lab = Lab(key="ecdsa")
_, env = lab.verify()
pin = lab.info["caPin"]
wrong = dict(env, JOINKIT_TOKEN=lab.info["token"].split(".")[0] + ".0000000000000000")
med, p95, rc = timed([BIN, "verify-discovery", lab.info["endpoint"], "--discovery-token-ca-cert-hash", pin], wrong, runs=10)
row("verdict jws-invalid (wrong secret)", 200, med, p95, rc)
med, p95, rc = timed([BIN, "verify-discovery", lab.info["endpoint"], "--discovery-token-ca-cert-hash", "sha256:" + "ab" * 32], env, runs=10)
row("verdict pin-mismatch", 200, med, p95, rc)
lab.close()
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
med, p95, rc = timed([BIN, "verify-discovery", f"127.0.0.1:{port}", "--discovery-token-ca-cert-hash", pin], env, runs=10)
row("verdict connection-refused", 200, med, p95, rc)
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(16)
def plain_http():
    while True:
        try:
            c, _ = srv.accept()
        except OSError:
            return
        c.recv(1024); c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"); c.close()
threading.Thread(target=plain_http, daemon=True).start()
med, p95, rc = timed([BIN, "verify-discovery", "127.0.0.1:%d" % srv.getsockname()[1], "--discovery-token-ca-cert-hash", pin], env, runs=10)
row("verdict tls-handshake-failed (plain HTTP port)", 200, med, p95, rc)
srv.close()
if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"]).returncode == 0:
    med, p95, rc = timed(["unshare", "-n", BIN, "verify-discovery", "127.0.0.1:6443", "--discovery-token-ca-cert-hash", pin], env, runs=10)
    row("verdict no-route (netns without network)", 200, med, p95, rc)
    med, p95, rc = timed(["unshare", "-n", BIN, "verify-discovery", "cp.joinkit.invalid:6443", "--discovery-token-ca-cert-hash", pin], env, runs=10)
    row("verdict dns-failure (netns without network)", 200, med, p95, rc)
for what, arg in [("bad-token-format", "x"), ("no-pins", None)]:
    e = dict(ENV, JOINKIT_TOKEN=arg or "abcdef.0123456789abcdef")
    a = [BIN, "verify-discovery", "127.0.0.1:6443"] + ([] if arg is None else ["--discovery-token-ca-cert-hash", pin])
    med, p95, rc = timed(a, e, runs=10)
    row(f"verdict {what}", 200, med, p95, rc)

# ca-hash on a 1,000-certificate bundle.
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testcerts")
certs = [open(os.path.join(root, f)).read() for f in ("ca-rsa2048.crt", "ca-p256.crt", "ca-ed25519.crt", "bundle-intermediate-root.pem")]
bundle = "".join(certs[i % 4] for i in range(800))  # 800 blocks, 200 of them hold 2 certificates: 1,000
with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as f:
    f.write(bundle)
n = len(subprocess.run([BIN, "ca-hash", f.name], stdout=subprocess.PIPE, text=True).stdout.splitlines())
med, p95, rc = timed([BIN, "ca-hash", f.name])
row(f"ca-hash {n}-certificate bundle", 100, med, p95, rc)
os.unlink(f.name)

# token create --print-join-command against the lab, signature wait included.
lab = Lab(key="ecdsa")
kc = os.path.join(lab.dir, "admin.conf")
with open(kc, "w") as f:
    f.write(lab.info["adminKubeconfig"])
med, p95, rc = timed([BIN, "token", "create", "--print-join-command", "--kubeconfig", kc], runs=max(10, RUNS // 2))
row("token create --print-join-command (signature wait included)", 300, med, p95, rc)
lab.close()

# bootstrap dry run end to end, and how soon the watch sees the issued certificate.
lab = Lab(key="ecdsa")
kc = os.path.join(lab.dir, "admin.conf")
with open(kc, "w") as f:
    f.write(lab.info["adminKubeconfig"])
args, env = lab.verify(["--node-name", "bench-node", "--kubeconfig", kc])
args[1] = "bootstrap"
med, p95, rc = timed(args, env, runs=max(10, RUNS // 2))
row("bootstrap dry run end to end (CSR approved, issued, verified, deleted)", 500, med, p95, rc)
lat = []
for _ in range(max(10, RUNS // 2)):
    out = json.loads(subprocess.run(args + ["-o", "json"], env=env, stdout=subprocess.PIPE, text=True).stdout)
    lat.append((int(out["certificateSeenAtUnixNs"]) - lab.issued_at(out["csrName"])) / 1e6)
lat.sort()
row("bootstrap: issued certificate seen through the watch after", 50, statistics.median(lat), lat[int(len(lat) * 0.95) - 1], 0, "ms after the lab's signer issued it")
lab.close()

# diagnose against a healthy lab (fake node tree, admin checks on).
lab = Lab(key="ecdsa")
kc = os.path.join(lab.dir, "admin.conf")
with open(kc, "w") as f:
    f.write(lab.info["adminKubeconfig"])
root = os.path.join(lab.dir, "root")
for d in ["proc/net", "proc/sys/net/ipv4", "run/containerd", "etc/kubernetes"]:
    os.makedirs(os.path.join(root, d), exist_ok=True)
open(os.path.join(root, "proc/net/route"), "w").write("Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\nethX\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\n")
open(os.path.join(root, "proc/sys/net/ipv4/ip_forward"), "w").write("1\n")
open(os.path.join(root, "proc/swaps"), "w").write("Filename\n")
open(os.path.join(root, "run/containerd/containerd.sock"), "w").write("")
args, env = lab.verify(["--node-name", "bench-node", "--kubeconfig", kc, "--root", root])
args[1] = "diagnose"
med, p95, rc = timed(args, env, runs=max(10, RUNS // 2))
row("diagnose, healthy lab, admin checks included", 1000, med, p95, rc)
if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"]).returncode == 0:
    med, p95, rc = timed(["unshare", "-n", BIN, "diagnose", "203.0.113.10:6443", "--discovery-token-ca-cert-hash", "sha256:" + "ab" * 32,
                          "--node-name", "n1", "--root", root, "--diagnose-timeout", "10s"], env, runs=5)
    row("diagnose, unreachable endpoint (netns), bounded by its timeouts", 10000, med, p95, rc, "local checks still reported")
lab.close()

explain_log_1g()

# render-config and validate-config.
pin = "sha256:3f73af16fa67a1c9d2dee1f7720918913f78360b0e4e3a27b660a85f5a1266e4"
renv = dict(ENV, JOINKIT_TOKEN="abcdef.0123456789abcdef")
med, p95, rc = timed([BIN, "render-config", "10.0.0.10:6443", "--discovery-token-ca-cert-hash", pin, "--node-name", "w1",
                      "--kubelet-arg", "node-ip=10.0.0.21", "--taint", "a=b:NoSchedule"], renv, runs=max(RUNS, 50))
row("render-config", 5, med, p95, rc)
golden = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden")
srcs = [open(os.path.join(golden, f)).read() for f in ("worker-v1beta4.yaml", "control-plane-v1beta4.yaml", "worker-v1beta3.yaml", "control-plane-v1beta3.yaml", "migrate-input-v1beta3.yaml")]
vdir = tempfile.mkdtemp()
files = []
for i in range(1000):
    fn = os.path.join(vdir, f"join-{i:04d}.yaml")
    with open(fn, "w") as f:
        f.write(srcs[i % len(srcs)].replace("worker-1", f"worker-{i}"))
    files.append(fn)
med, p95, rc = timed([BIN, "validate-config", *files], runs=max(5, RUNS // 3))
row("validate-config on 1,000 files (one call)", 1000, med, p95, rc)
shutil.rmtree(vdir, ignore_errors=True)

# --help.
med, p95, rc = timed([BIN, "--help"], runs=max(RUNS, 50))
row("joinkit --help", 5, med, p95, rc)

w = [max(len(str(r[i])) for r in rows + [("what", "median ms", "p95 ms", "goal ms", "exit", "", "")]) for i in range(7)]
print(f"{'what':<{w[0]}}  {'median ms':>9}  {'p95 ms':>7}  {'goal ms':>8}  exit  result")
for r in rows:
    print(f"{r[0]:<{w[0]}}  {r[1]:>9}  {r[2]:>7}  {r[3]:>8}  {r[4]:>4}  {r[5]} {r[6]}")
size = os.path.getsize(BIN)
ldd = subprocess.run(["ldd", BIN], stdout=subprocess.PIPE, text=True).stdout
print(f"\nrelease binary: {size / 1024 / 1024:.2f} MiB; linked libraries: {', '.join(l.split()[0] for l in ldd.splitlines())}")
print("OpenSSL linked:", "YES" if ("libssl" in ldd or "libcrypto" in ldd) else "no")
missed = [r for r in rows if r[5] != "ok"]
sys.exit(1 if missed else 0)
