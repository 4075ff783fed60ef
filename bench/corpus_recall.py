#!/usr/bin/env python3
"""explain-log recall on tests/logs: the share of real logs (posted in public issues) for which
`joinkit explain-log` names the failure domain the thread settled on.

Usage: bench/corpus_recall.py [BINARY] [--set kept|held-out|all|fresh|fresh2|fresh3|fresh4|fresh5] [--cases]
BINARY defaults to target/release/joinkit (else target/debug/joinkit). The set comes from
tests/logs/split.toml (rule in tests/logs/split.py); the default is `kept`, the part rules are
written against. `held-out` is scored last, once the rules are frozen, and is also reported for
its "unseen" part (held-out files numbered 045 and up: no rule was written against them).
`fresh` is tests/logs/fresh/ (gathered after the held-out part had been scored and rules written
from its misses, by someone who neither ran joinkit nor read its rules; scored once, blind):
there a case whose thread says `network` also counts as right when joinkit says `dns` (its
gatherer was told that `network` covers name resolution; this was fixed before it was scored).
Each case's excerpt (the part after its YAML front matter) is piped into
`BINARY explain-log - -o json`; a log that joinkit finds clean counts as "clean", one that
reaches kubeadm's success line as "success". Cases marked `undecidable:` count against the
thread's domain like any other (a miss if joinkit differs). Prints a Markdown table by domain;
--cases adds one row per case (domain, joinkit's answer, root cause id, confidence).
"""
import json
import os
import subprocess
import sys
import tomllib

import yaml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
LOGS = os.path.join(ROOT, "tests/logs")
argv = sys.argv[1:]
which = "kept"
if "--set" in argv:
    i = argv.index("--set")
    which = argv[i + 1]
    del argv[i : i + 2]
args = [a for a in argv if not a.startswith("--")]
BIN = args[0] if args else next(
    (p for p in (os.path.join(ROOT, "target/release/joinkit"), os.path.join(ROOT, "target/debug/joinkit")) if os.path.exists(p)),
    "joinkit")

split = tomllib.load(open(os.path.join(LOGS, "split.toml"), "rb"))
def blind(d):
    path = os.path.join(LOGS, d)
    return sorted(f"{d}/" + n for n in os.listdir(path) if n.endswith(".log")) if os.path.isdir(path) else []


sets = {"kept": split["kept"], "held-out": split["held_out"], "all": split["kept"] + split["held_out"],
        "fresh": blind("fresh"), "fresh2": blind("fresh2"), "fresh3": blind("fresh3"), "fresh4": blind("fresh4"), "fresh5": blind("fresh5")}
names = sorted(sets[which])
seen = set(split["seen_before_split"])


def score(names):
    rows, by = [], {}
    for name in names:
        text = open(os.path.join(LOGS, name), encoding="utf-8").read()
        _, front, body = text.split("---\n", 2)
        meta = yaml.safe_load(front)
        p = subprocess.run([BIN, "explain-log", "-", "-o", "json"], input=body.encode(), capture_output=True)
        v = json.loads(p.stdout)
        got = v.get("failureDomain") or (
            "undecidable" if v.get("verdict") == "undecidable" else "success" if v.get("joined") else "clean")
        want = meta["domain"]
        if name.startswith("fresh") and want == "network" and got == "dns":
            got = "network"
        rc = v.get("rootCause") or {}
        rows.append((name, want, got, rc.get("id", "-"), (v.get("confidence") or {}).get("level", "-")))
        n, ok = by.get(want, (0, 0))
        by[want] = (n + 1, ok + (got == want))
    return rows, by


def table(title, by):
    print(title)
    print("| domain | cases | right domain | recall |\n|---|---|---|---|")
    for d in sorted(by):
        n, ok = by[d]
        print(f"| {d} | {n} | {ok} | {100 * ok / n:.0f}% |")
    n = sum(v[0] for v in by.values())
    ok = sum(v[1] for v in by.values())
    print(f"| all | {n} | {ok} | {100 * ok / n:.0f}% |\n")


rows, by = score(names)
table(f"explain-log recall on tests/logs ({which}, {len(names)} files) with {BIN}", by)
if which == "held-out":
    unseen = {}
    for r in rows:
        if r[0] not in seen:
            n, ok = unseen.get(r[1], (0, 0))
            unseen[r[1]] = (n + 1, ok + (r[1] == r[2]))
    table("held-out files no rule was written against (numbered 045 and up)", unseen)
if "--cases" in argv:
    print("| case | thread's domain | joinkit | root cause | confidence |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]}{'' if r[1] == r[2] else ' (miss)'} | {r[3]} | {r[4]} |")
