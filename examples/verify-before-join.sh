#!/usr/bin/env bash
# Check discovery before `kubeadm join`, so a node that cannot trust the control plane fails
# in a second with the reason instead of after kubeadm's 5-minute discovery timeout.
#
#   JOINKIT_TOKEN=abcdef.0123456789abcdef ./verify-before-join.sh 10.0.0.10:6443 sha256:<pin>
#
# The token comes from JOINKIT_TOKEN (or a file), never from argv. Exit codes are joinkit's
# (README.md, "Output and exit codes"): retry what can heal by itself, stop on the rest.
set -euo pipefail

endpoint=${1:?usage: verify-before-join.sh HOST:PORT sha256:PIN}
pin=${2:?usage: verify-before-join.sh HOST:PORT sha256:PIN}
: "${JOINKIT_TOKEN:?set JOINKIT_TOKEN to the bootstrap token}"
export JOINKIT_TOKEN

set +e
# --wait retries transport errors and a missing signature (a token the signer has not signed
# yet), exactly what kubeadm would retry, for at most two minutes.
joinkit verify-discovery "$endpoint" --discovery-token-ca-cert-hash "$pin" --wait 2m -o json > discovery.json
rc=$?
set -e

case $rc in
  0)  echo "discovery OK; joining" ;;
  30|31) echo "token expired, deleted or unsigned: mint a new one (joinkit token create)" >&2; exit "$rc" ;;
  40|41) echo "TRUST FAILURE (pin mismatch or wrong serving certificate): not joining" >&2; exit "$rc" ;;
  10|11|12|13|14|15) echo "control plane unreachable: check network, firewall and port 6443" >&2; exit "$rc" ;;
  *)  echo "discovery failed (exit $rc); see discovery.json" >&2; exit "$rc" ;;
esac

kubeadm join "$endpoint" --token "$JOINKIT_TOKEN" --discovery-token-ca-cert-hash "$pin"
