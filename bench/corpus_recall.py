#!/usr/bin/env python3
"""explain-log recall on tests/logs: the share of real logs (posted in public issues) for which
`joinkit explain-log` names the failure domain the thread settled on.

Usage: bench/corpus_recall.py [BINARY] [--cases]
BINARY defaults to target/release/joinkit (else target/debug/joinkit). Each case's excerpt (the
part after its YAML front matter) is piped into `BINARY explain-log - -o json`; a log that joinkit
finds clean counts as "clean", one that reaches kubeadm's success line as "success". Cases marked
`undecidable:` count against the thread's domain like any other (a miss if joinkit differs).
Prints a Markdown table by domain; --cases adds one row per case.
"""
import glob
import json
import os
import subprocess
import sys

import yaml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
args = [a for a in sys.argv[1:] if not a.startswith("--")]
BIN = args[0] if args else next(
    (p for p in (os.path.join(ROOT, "target/release/joinkit"), os.path.join(ROOT, "target/debug/joinkit")) if os.path.exists(p)),
    "joinkit")

rows, by = [], {}
for path in sorted(glob.glob(os.path.join(ROOT, "tests/logs/*.log"))):
    text = open(path, encoding="utf-8").read()
    _, front, body = text.split("---\n", 2)
    meta = yaml.safe_load(front)
    p = subprocess.run([BIN, "explain-log", "-", "-o", "json"], input=body.encode(), capture_output=True)
    v = json.loads(p.stdout)
    got = v.get("failureDomain") or ("success" if v.get("joined") else "clean")
    want = meta["domain"]
    root = (v.get("rootCause") or {}).get("id", "-")
    rows.append((os.path.basename(path), want, got, root))
    n, ok = by.get(want, (0, 0))
    by[want] = (n + 1, ok + (got == want))

print(f"explain-log recall on tests/logs with {BIN}")
print("| domain | cases | right domain | recall |\n|---|---|---|---|")
for d in sorted(by):
    n, ok = by[d]
    print(f"| {d} | {n} | {ok} | {100 * ok / n:.0f}% |")
n = sum(v[0] for v in by.values())
ok = sum(v[1] for v in by.values())
print(f"| all | {n} | {ok} | {100 * ok / n:.0f}% |")
if "--cases" in sys.argv:
    print("\n| case | thread's domain | joinkit | root cause |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]}{'' if r[1] == r[2] else ' (miss)'} | {r[3]} |")
