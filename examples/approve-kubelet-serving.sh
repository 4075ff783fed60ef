#!/usr/bin/env bash
# Approve the kubelet serving certificates that deserve it, once, by hand or from a cron job,
# instead of `kubectl certificate approve` on whatever is pending. For a standing approver run
# `joinkit csr approver` in the cluster (deploy/, docs/csr-approver.md).
#
#   KUBECONFIG=/etc/kubernetes/admin.conf ./approve-kubelet-serving.sh [--allowed-cidr 10.0.0.0/16 ...]
#
# Every pending kubernetes.io/kubelet-serving CSR is checked by joinkit (requestor, subject,
# usages, SANs against the Node's addresses, key, ...); those that pass are approved, the others
# are explained and left for a human. Extra arguments (the checks' rules: --allowed-cidr,
# --dns-regex, --max-expiration) are passed to every joinkit call. Exit codes are joinkit's
# (README.md, "Output and exit codes"): 0 when every pending CSR was approved, 91
# (csr-check-failed) when at least one was left, anything else when joinkit could not run.
set -euo pipefail

# The pending serving CSRs: joinkit's own list, so the selection is the checks' view of them.
names=$(joinkit csr list -o json "$@" | python3 -c '
import json, sys
for c in json.load(sys.stdin).get("csrs", []):
    if c["signer"] == "kubernetes.io/kubelet-serving" and c["condition"] == "Pending":
        print(c["name"])
')

status=0
for name in $names; do
  set +e
  joinkit csr approve "$name" "$@" >/dev/null 2>&1
  rc=$?
  set -e
  case $rc in
    0)  echo "approved $name" ;;
    91) echo "LEFT $name: it fails joinkit's checks:" >&2
        joinkit csr explain "$name" "$@" >&2 || true
        status=91 ;;
    92) echo "skipped $name: decided meanwhile" ;;
    *)  echo "joinkit failed on $name (exit $rc)" >&2; exit "$rc" ;;
  esac
done
exit "$status"
