"""explain-log throughput and peak memory on each kind of input a user may feed it.

    python3 bench/explain_inputs.py BINARY [--mb 200] [--runs 3] [--kinds ascii,binary]

Each kind is generated into a temporary file of about --mb MB (deleted afterwards) and run
through `BINARY explain-log FILE -o json` --runs times under /usr/bin/time; MB/s is the size over
the median wall time, and over the median CPU time (user + system: on a machine shared with
other builds, the wall time also counts the time spent waiting for a core). The median of the
peak RSS is shown, and the verdict (root cause, lines, cut lines) of the last run is printed
so two binaries can be compared. A kind whose 4 MB sample runs so slowly that the full size
would take over a minute is measured on a smaller file (about 30 s per run) and says so.

Kinds:
  ascii          kubelet and containerd journal lines, plain ASCII
  non-ascii      the same lines with one accented letter (every other line CJK text instead)
  invalid-utf8   the same lines with a Latin-1 byte (0xE9) in each: not UTF-8
  binary         random bytes (a core dump or a compressed file passed by mistake)
  dense          a crash-looping node's journal: every line is a kubelet or kubeadm failure line
                 (six signatures, timestamps and counters varying), so every line matches
  dense-all      every line is one of the catalog's example lines in turn, success lines
                 included: every line matches, and all 69 signatures take turns (the worst case
                 for caches: each line needs a different signature's regex)
  cr-only        the ASCII lines ended by a lone CR (old Mac style, some terminal captures)
Each text kind ends with "dial tcp 10.0.0.10:6443: connect: no route to host", so the expected
root cause is net-no-route (dense: the x509 cause; dense-all: whatever the catalog's examples
say; binary: none).
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
CATALOG = os.path.join(HERE, "..", "crates", "joinkit-core", "src", "diagnose", "log-signatures.yaml")
TAIL = b"dial tcp 10.0.0.10:6443: connect: no route to host"

ASCII_LINES = [
    'Nov 21 09:00:01 worker-1 kubelet[1234]: I1121 09:00:01.000000 1234 kubelet_node_status.go:70] "Attempting to register node" node="worker-1"',
    'Nov 21 09:00:02 worker-1 containerd[900]: time="2026-11-21T09:00:02Z" level=info msg="StartContainer returns successfully"',
]
NON_ASCII_LINES = [
    'Nov 21 09:00:01 wörker-1 kubelet[1234]: I1121 09:00:01.000000 1234 kubelet_node_status.go:70] "Attempting to register node" node="wörker-1"',
    'Nov 21 09:00:02 worker-1 containerd[900]: time="2026-11-21T09:00:02Z" level=info msg="容器启动成功 StartContainer returns successfully"',
]


def text_kind(lines, end, encode=lambda s: s.encode()):
    unit = b"".join(encode(l) + end for l in lines) * 4096
    return unit, TAIL + end


DENSE_LINES = [
    'E1121 {t}.{us:06d}    1234 kubelet_node_status.go:106] "Unable to register node with API server" err="Post \\"https://10.0.0.10:6443/api/v1/nodes\\": x509: certificate signed by unknown authority" node="worker-{n}"',
    'E1121 {t}.{us:06d}    1234 kubelet.go:2424] "Error getting node" err="node \\"worker-{n}\\" not found"',
    'E1121 {t}.{us:06d}    1234 reflector.go:138] Failed to watch *v1.Node: failed to list *v1.Node: Unauthorized',
    'E1121 {t}.{us:06d}    1234 controller.go:144] failed to ensure lease exists, will retry in 7s, error: Get "https://10.0.0.10:6443/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/worker-{n}": dial tcp 10.0.0.10:6443: connect: connection refused',
    'E1121 {t}.{us:06d}    1234 run.go:74] "command failed" err="failed to run Kubelet: running with swap on is not supported, please disable swap! or set --fail-swap-on flag to false. /proc/swaps contained: [Filename Type Size Used Priority /dev/sda2 partition 2097148 0 -2]"',
    '[kubelet-check] The HTTP call equal to \'curl -sSL http://localhost:10248/healthz\' failed with error: Get "http://localhost:10248/healthz": dial tcp 127.0.0.1:10248: connect: connection refused.',
]


def dense():
    out = []
    for k in range(4096):
        t = f"09:{k // 60 % 60:02d}:{k % 60:02d}"
        line = DENSE_LINES[k % len(DENSE_LINES)].format(t=t, us=k * 7919 % 1000000, n=k % 50)
        out.append(f"Nov 21 {t} worker-1 kubelet[1234]: {line}\n".encode())
    return b"".join(out), b""


def dense_all():
    sigs = yaml.safe_load(open(CATALOG))
    lines = [ex.encode() for s in sigs for ex in s["examples"]]
    return b"".join(l + b"\n" for l in lines) * 64, b""


def kinds():
    return {
        "ascii": lambda: text_kind(ASCII_LINES, b"\n"),
        "non-ascii": lambda: text_kind(NON_ASCII_LINES, b"\n"),
        "invalid-utf8": lambda: text_kind(ASCII_LINES, b"\n", lambda s: s.replace("register", "regist\xe9r").encode("latin-1")),
        "binary": None,
        "dense": dense,
        "dense-all": dense_all,
        "cr-only": lambda: text_kind(ASCII_LINES, b"\r"),
    }


def write(kind, path, size):
    with open(path, "wb") as f:
        if kind == "binary":
            written = 0
            while written < size:
                chunk = os.urandom(min(16 << 20, size - written))
                f.write(chunk)
                written += len(chunk)
            return
        unit, tail = kinds()[kind]()
        written = 0
        while written < size:
            f.write(unit)
            written += len(unit)
        f.write(tail)


def run(binary, path):
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", binary, "explain-log", path, "-o", "json"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    secs = time.perf_counter() - t
    rss_kib, user, sys_ = p.stderr.strip().splitlines()[-1].split()
    rss_mib, cpu = int(rss_kib) / 1024, float(user) + float(sys_)
    try:
        v = json.loads(p.stdout)
    except ValueError:
        v = {}
    root = (v.get("rootCause") or {}).get("id") or ("joined" if v.get("joined") else "clean")
    verdict = f"exit {p.returncode}, root {root}, {v.get('lines')} lines, {v.get('truncatedLines')} cut"
    return secs, rss_mib, verdict, cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary")
    ap.add_argument("--mb", type=float, default=200, help="size of each input in MB (1e6 bytes)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--kinds", default=",".join(kinds()), help="comma-separated kinds")
    a = ap.parse_args()
    print(f"| input | size | MB/s wall (median of {a.runs}) | MB/s CPU | peak RSS MiB | verdict |")
    print("|---|---|---|---|---|---|")
    for kind in a.kinds.split(","):
        fd, path = tempfile.mkstemp(prefix=f"joinkit-bench-{kind}-", suffix=".log")
        os.close(fd)
        try:
            size = int(a.mb * 1e6)
            # A 4 MB sample first: an input that would take minutes is measured smaller.
            write(kind, path, min(size, 4_000_000))
            secs = run(a.binary, path)[0]
            rate = os.path.getsize(path) / secs
            note = ""
            if size / rate > 60:
                size = max(4_000_000, int(rate * 30))
                note = " (smaller: too slow for the full size)"
            write(kind, path, size)
            got = [run(a.binary, path) for _ in range(a.runs)]
            real = os.path.getsize(path)
            mbps = real / statistics.median(g[0] for g in got) / 1e6
            cpu = real / max(statistics.median(g[3] for g in got), 0.01) / 1e6
            rss = statistics.median(g[1] for g in got)
            print(f"| {kind} | {real / 1e6:.0f} MB{note} | {mbps:.1f} | {cpu:.1f} | {rss:.1f} | {got[-1][2]} |", flush=True)
        finally:
            os.unlink(path)


if __name__ == "__main__":
    sys.exit(main())
