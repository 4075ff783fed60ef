#!/usr/bin/env python3
"""Time to verdict, joinkit vs the real `kubeadm join` v1.36.2, per discovery failure row.

Both run with their DEFAULT timeouts: `joinkit verify-discovery` (--timeout 15s,
--connect-timeout 5s) and `kubeadm join ENDPOINT --token T --discovery-token-ca-cert-hash PIN
--ignore-preflight-errors=all` (discovery timeout 5 minutes, retried every 5 s), on a real v1.36
control plane of its own (`../shared/k8s/control-plane up`), or against local stand-ins for
endpoint faults. kubeadm runs as tests/common/kubeadm_join.rs runs it: a private mount namespace
(`unshare -m`, overlays over /etc and /var, a tmpfs over /run), stopped when it prints the line
that follows discovery; the verdict is its exit (its error line) or that line.

Rows that only change the join's inputs (token, pin, endpoint) run in parallel; rows that change
the cluster (cluster-info, RBAC) run one after another, each restored afterwards. A row kubeadm
retries takes 5 minutes: the whole set takes about 15 minutes, so run it in the background.

    sudo bench/kubeadm_verdict.py                      # every row
    bench/kubeadm_verdict.py --rows pin-mismatch,connection-refused
    bench/kubeadm_verdict.py --list

Needs root (unshare -m, mount), kubectl, and target/debug/joinkit (or --joinkit PATH).
Prints a Markdown table: row, joinkit's verdict and time, kubeadm's verdict and time, speed-up.
"""
import argparse
import concurrent.futures as cf
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIST = os.environ.get("JOINKIT_K8S_DIST", os.path.join(ROOT, "../shared/k8s"))
CACHE = os.environ.get("JOINKIT_K8S_CACHE", os.path.join(ROOT, "target/k8s-cache"))
OTHER_PIN = "sha256:3f73af16fa67a1c9d2dee1f7720918913f78360b0e4e3a27b660a85f5a1266e4"
DISCOVERY_PASSED = '[preflight] Reading configuration from the "kubeadm-config" ConfigMap'
ERROR_PREFIX = "error: error execution phase "


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


def run_kubeadm(kubeadm, args, limit=400.0):
    """kubeadm join ARGS in a private mount namespace; (verdict, seconds, error line)."""
    d = tempfile.mkdtemp(prefix="kubeadm-verdict-")
    for sub in ("eu", "ew", "vu", "vw", "home"):
        os.makedirs(os.path.join(d, sub))
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
    verdict, error = "no verdict", None
    try:
        for line in p.stdout:
            line = line.rstrip("\n")
            if DISCOVERY_PASSED in line:
                verdict = "discovery passed"
                os.killpg(p.pid, 9)
                break
            if line.startswith(ERROR_PREFIX):
                error = line[len(ERROR_PREFIX):].split(": ", 1)[-1]
                verdict = "error"
        p.wait()
    finally:
        timer.cancel()
        shutil.rmtree(d, ignore_errors=True)
    return verdict, time.monotonic() - start, error


def run_joinkit(joinkit, endpoint, token, pin):
    start = time.monotonic()
    r = subprocess.run(
        [joinkit, "verify-discovery", endpoint, "--discovery-token-ca-cert-hash", pin, "-o", "json"],
        env=dict(os.environ, JOINKIT_TOKEN=token, NO_COLOR="1"), capture_output=True, text=True,
    )
    secs = time.monotonic() - start
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

    def down(self):
        subprocess.run([self.script, "down", self.dir], env=self.script_env, stdout=subprocess.DEVNULL)
        shutil.rmtree(self.tmp, ignore_errors=True)


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


# (row, kind, setup) -- kind "inputs": only the join's inputs change (parallel); "cluster": the
# cluster changes (one at a time). setup(cluster) -> (endpoint, token, pin, restore).
def rows():
    def inputs(f):
        return f

    return [
        ("healthy", "inputs", lambda c: (c.env["ENDPOINT"], c.env["TOKEN"], c.env["CA_PIN"], None)),
        ("pin-mismatch", "inputs", lambda c: (c.env["ENDPOINT"], c.env["TOKEN"], OTHER_PIN, None)),
        ("wrong-token-secret", "inputs",
         lambda c: (c.env["ENDPOINT"], c.env["TOKEN_ID"] + ".0000000000000000", c.env["CA_PIN"], None)),
        ("token-unknown", "inputs", lambda c: (c.env["ENDPOINT"], "zzzzzz.0123456789abcdef", c.env["CA_PIN"], None)),
        ("token-no-signing", "inputs",
         lambda c: (c.env["ENDPOINT"], c.token("--usages", "authentication"), c.env["CA_PIN"], None)),
        ("connection-refused", "inputs", lambda c: (closed_port(), c.env["TOKEN"], c.env["CA_PIN"], None)),
        ("non-tls-listener", "inputs", lambda c: (serve(plain_http), c.env["TOKEN"], c.env["CA_PIN"], None)),
        ("stalled-listener", "inputs", lambda c: (serve(stalled), c.env["TOKEN"], c.env["CA_PIN"], None)),
        ("kubeconfig-missing", "cluster", kubeconfig_missing),
        ("anonymous-revoked", "cluster", anonymous_revoked),
        ("cluster-info-missing", "cluster", cluster_info_missing),
    ]


def take_away(c, kind, ns, name):
    snap = c.kubectl("get", kind, "-n", ns, name, "-o", "json").stdout
    c.kubectl("delete", kind, "-n", ns, name)

    def restore():
        obj = json.loads(snap)
        for k in ("resourceVersion", "uid", "creationTimestamp", "managedFields"):
            obj["metadata"].pop(k, None)
        c.kubectl("create", "-f", "-", stdin=json.dumps(obj))

    return restore


def anonymous_revoked(c):
    return c.env["ENDPOINT"], c.env["TOKEN"], c.env["CA_PIN"], take_away(
        c, "rolebinding", "kube-public", "kubeadm:bootstrap-signer-clusterinfo")


def cluster_info_missing(c):
    return c.env["ENDPOINT"], c.env["TOKEN"], c.env["CA_PIN"], take_away(c, "configmap", "kube-public", "cluster-info")


def kubeconfig_missing(c):
    snap = c.kubectl("get", "configmap", "-n", "kube-public", "cluster-info", "-o", "json").stdout
    c.kubectl("patch", "configmap", "cluster-info", "-n", "kube-public", "--type=json", "-p",
              '[{"op":"remove","path":"/data/kubeconfig"}]')

    def restore():
        obj = json.loads(snap)
        for k in ("resourceVersion", "uid", "creationTimestamp", "managedFields"):
            obj["metadata"].pop(k, None)
        c.kubectl("replace", "-f", "-", stdin=json.dumps(obj))

    return c.env["ENDPOINT"], c.env["TOKEN"], c.env["CA_PIN"], restore


def measure(name, setup, cluster, kubeadm, joinkit):
    ep, token, pin, restore = setup(cluster)
    try:
        with cf.ThreadPoolExecutor(2) as ex:
            k = ex.submit(run_kubeadm, kubeadm,
                          [ep, "--token", token, "--discovery-token-ca-cert-hash", pin, "--ignore-preflight-errors=all"])
            j = ex.submit(run_joinkit, joinkit, ep, token, pin)
            (kv, ks, kerr), (jv, js) = k.result(), j.result()
    finally:
        if restore:
            restore()
    return name, jv, js, kv, ks, kerr


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", help="comma-separated subset of rows")
    ap.add_argument("--list", action="store_true", help="list the rows")
    ap.add_argument("--joinkit", default=os.path.join(ROOT, "target/debug/joinkit"))
    a = ap.parse_args()
    all_rows = rows()
    if a.list:
        for n, kind, _ in all_rows:
            print(n, kind)
        return 0
    want = set(a.rows.split(",")) if a.rows else {n for n, _, _ in all_rows}
    unknown = want - {n for n, _, _ in all_rows}
    if unknown:
        sys.exit("unknown rows: %s (see --list)" % ", ".join(sorted(unknown)))
    kubeadm = kubeadm_binary()
    t0 = time.monotonic()
    cluster = Cluster()
    print("control plane up in %.1f s" % (time.monotonic() - t0), file=sys.stderr)
    results = []
    try:
        par = [(n, s) for n, kind, s in all_rows if n in want and kind == "inputs"]
        with cf.ThreadPoolExecutor(max(1, len(par))) as ex:
            futs = [ex.submit(measure, n, s, cluster, kubeadm, a.joinkit) for n, s in par]
            for f in futs:
                results.append(f.result())
                print("done: %s" % results[-1][0], file=sys.stderr)
        for n, kind, s in all_rows:
            if n in want and kind == "cluster":
                results.append(measure(n, s, cluster, kubeadm, a.joinkit))
                print("done: %s" % n, file=sys.stderr)
    finally:
        cluster.down()
    order = [n for n, _, _ in all_rows]
    results.sort(key=lambda r: order.index(r[0]))
    print("| row | joinkit verdict | joinkit s | kubeadm verdict | kubeadm s | kubeadm / joinkit |")
    print("|---|---|---|---|---|---|")
    for name, jv, js, kv, ks, kerr in results:
        print("| %s | %s | %.2f | %s | %.1f | %.1fx |" % (name, jv, js, kv, ks, ks / js if js > 0 else 0))
    print("\nkubeadm's error lines:")
    for name, _, _, _, _, kerr in results:
        print("- %s: %s" % (name, kerr or "(none)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
