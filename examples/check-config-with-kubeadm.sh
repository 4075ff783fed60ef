#!/usr/bin/env bash
# Check kubeadm configuration files with joinkit and, where kubeadm is installed, confirm that
# `kubeadm config validate` reaches the same verdict. joinkit's contract (README,
# "validate-config"): every error kubeadm reports is an error in joinkit, with its position;
# what joinkit finds beyond kubeadm is a warning, an error only with --strict. The verdicts are
# proven equal in joinkit's tests against kubeadm v1.33, v1.35 and v1.36
# (docs/kubeadm-config-parity.md); this script lets you check that on your own files and kubeadm.
#
#   examples/check-config-with-kubeadm.sh FILE...
#
# JOINKIT and KUBEADM name the binaries (default: from PATH). joinkit is told the kubeadm
# release (`--kubeadm-version`, from `kubeadm version -o short`) when it knows that release.
# Prints one line per file: `FILE joinkit=ok|invalid kubeadm=ok|invalid|absent [DIFFER]`.
# Exit 0: every file is valid (and the verdicts agree); 1: some file is invalid; 2: the tools
# disagree on some file: a character kubeadm reads as a YAML 1.1 line break (NEL, U+2028,
# U+2029, a lone CR) is the one known case (joinkit refuses it; docs/kubeadm-config-parity.md);
# any other is a joinkit bug to report with the file.
set -euo pipefail
JOINKIT=${JOINKIT:-joinkit}
KUBEADM=${KUBEADM:-kubeadm}
if [ "$#" -eq 0 ]; then
  echo "usage: $0 FILE..." >&2
  exit 2
fi
version_args=()
have_kubeadm=false
if command -v "$KUBEADM" >/dev/null 2>&1; then
  have_kubeadm=true
  minor=$("$KUBEADM" version -o short | sed -E 's/^v([0-9]+)\.([0-9]+).*/\1.\2/')
  # joinkit refuses a release it does not know with exit 2 (usage); then its newest is used.
  rc=0
  "$JOINKIT" validate-config --kubeadm-version "$minor" - </dev/null >/dev/null 2>&1 || rc=$?
  if [ "$rc" -ne 2 ]; then
    version_args=(--kubeadm-version "$minor")
  else
    echo "note: joinkit does not know kubeadm $minor; using joinkit's newest" >&2
  fi
fi
invalid=0
differ=0
for f in "$@"; do
  rc=0
  "$JOINKIT" validate-config "${version_args[@]}" "$f" >/dev/null 2>&1 || rc=$?
  if [ "$rc" -eq 2 ]; then
    echo "$f: joinkit: usage error" >&2
    exit 2
  fi
  if [ "$rc" -eq 0 ]; then j=ok; else j=invalid; fi
  k=absent
  if $have_kubeadm; then
    # A private HOME: kubeadm reads nothing of the caller's; stdin closed.
    home=$(mktemp -d)
    if HOME=$home "$KUBEADM" config validate --config "$f" </dev/null >/dev/null 2>&1; then k=ok; else k=invalid; fi
    rm -rf "$home"
  fi
  line="$f joinkit=$j kubeadm=$k"
  if [ "$k" != absent ] && [ "$k" != "$j" ]; then
    line="$line DIFFER"
    differ=1
  fi
  echo "$line"
  if [ "$j" = invalid ] || [ "$k" = invalid ]; then invalid=1; fi
done
if [ "$differ" -eq 1 ]; then exit 2; fi
exit "$invalid"
