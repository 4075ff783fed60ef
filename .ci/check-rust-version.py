#!/usr/bin/env python3
"""Checks that Cargo.toml's rust-version equals the highest rust-version among the crates the
shipped binary depends on (normal and build dependencies, transitively; dev-dependencies only
build the tests). A dependency update that raises it fails CI until Cargo.toml says so."""
import json
import subprocess
import sys

meta = json.loads(subprocess.check_output(["cargo", "metadata", "--format-version", "1", "--locked"]))
pkgs = {p["id"]: p for p in meta["packages"]}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
root = next(p for p in meta["packages"] if p["name"] == "joinkit")
declared = root.get("rust_version")


def version(v):
    parts = [int(x) for x in v.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


seen, stack = set(), [root["id"]]
while stack:
    pid = stack.pop()
    if pid in seen:
        continue
    seen.add(pid)
    for dep in nodes[pid]["deps"]:
        if any(k["kind"] in (None, "build") for k in dep["dep_kinds"]):
            stack.append(dep["pkg"])
needed = max(
    ((version(pkgs[p]["rust_version"]), pkgs[p]["name"]) for p in seen if p != root["id"] and pkgs[p].get("rust_version")),
    default=((0, 0, 0), "none"),
)
if declared is None or version(declared) != needed[0]:
    print(
        f"ci: Cargo.toml rust-version is {declared}, the dependencies need {'.'.join(map(str, needed[0]))} ({needed[1]})",
        file=sys.stderr,
    )
    sys.exit(1)
print(f"rust-version {declared} = what the dependencies need ({needed[1]})")
