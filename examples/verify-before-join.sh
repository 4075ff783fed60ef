#!/usr/bin/env bash
# Check discovery before `kubeadm join`, so a node that cannot trust the control plane fails
# at once with the reason instead of after kubeadm's 5-minute discovery timeout.
#
#   JOINKIT_TOKEN=abcdef.0123456789abcdef ./verify-before-join.sh 10.0.0.10:6443 sha256:<pin>
#
# The token comes from JOINKIT_TOKEN, never from argv: joinkit reads it from the environment,
# and kubeadm gets it in a JoinConfiguration written by render-config (mode 0600), not as
# `--token`. The retry contract (README.md, "Output and exit codes"): `--wait` retries only
# failures whose `retryable` is true (the network, a signer that has not signed yet), for at
# most two minutes; anything else (a deleted or expired token, a wrong secret, a wrong pin) ends
# the run at once. The script exits with joinkit's own exit code.
#
# Overridable for tests and unusual hosts: KUBEADM (the kubeadm binary), JOINKIT_JOIN_CONFIG
# (where the JoinConfiguration is written), JOINKIT_WAIT (how long to retry, default 2m).
set -euo pipefail

endpoint=${1:?usage: verify-before-join.sh HOST:PORT sha256:PIN}
pin=${2:?usage: verify-before-join.sh HOST:PORT sha256:PIN}
: "${JOINKIT_TOKEN:?set JOINKIT_TOKEN to the bootstrap token}"
export JOINKIT_TOKEN
kubeadm=${KUBEADM:-kubeadm}
config=${JOINKIT_JOIN_CONFIG:-/etc/kubernetes/joinkit/join.yaml}
report=$(mktemp)
trap 'rm -f "$report"' EXIT

set +e
joinkit verify-discovery "$endpoint" --discovery-token-ca-cert-hash "$pin" --wait "${JOINKIT_WAIT:-2m}" -o json > "$report"
rc=$?
set -e

if [ "$rc" -ne 0 ]; then
  # The failure's code, what was seen, and the fix: one line each from the JSON report.
  grep -E '^    "(code|message|fix|retryable)"' "$report" >&2 || true
  if grep -q '^    "retryable": true' "$report"; then
    echo "discovery failed (exit $rc) and may heal by itself: run this script again later" >&2
  else
    echo "discovery failed (exit $rc) and will not heal by itself: fix the cause above" >&2
  fi
  exit "$rc"
fi

echo "discovery OK; joining"
mkdir -p "$(dirname "$config")"
JOINKIT_DISCOVERY_TOKEN_CA_CERT_HASH=$pin joinkit render-config "$endpoint" --output-file "$config"
exec "$kubeadm" join --config "$config"
