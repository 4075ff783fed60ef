#!/usr/bin/env bash
# Join this node with bounded retries, using joinkit's retry contract to decide what is worth
# retrying. For cloud-init runcmd, Ansible or any provisioning loop.
#
#   JOINKIT_TOKEN=abcdef.0123456789abcdef \
#   JOINKIT_DISCOVERY_TOKEN_CA_CERT_HASH=sha256:<pin> \
#   ./join-with-retry.sh 10.0.0.10:6443 [MAX_ATTEMPTS]
#
# Secrets come from the environment and reach kubeadm only inside a JoinConfiguration file
# (render-config writes it atomically, mode 0600), never argv. Each attempt: verify discovery
# (`--wait` retries only what is retryable), render the JoinConfiguration, kubeadm join; when
# the join fails: explain-log on its output and a read-only diagnose (`--no-csr`: it creates
# nothing on the cluster), kubeadm reset -f, back off, retry. Every failure's JSON has
# `retryable` (README.md, "Output and exit codes"): false (a deleted or expired token, a wrong
# secret or pin, bad input, a root cause that needs a person) ends the script at once with
# joinkit's exit code; true is retried until MAX_ATTEMPTS, and the last exit code is returned.
#
# Overridable for tests and unusual hosts: KUBEADM (the kubeadm binary), JOINKIT_JOIN_CONFIG
# (where the JoinConfiguration is written), JOIN_RETRY_DELAY (first back-off, seconds),
# JOIN_LOG (kubeadm's output), JOINKIT_NODE_NAME (default: the host name, lower-cased).
set -euo pipefail

endpoint=${1:?usage: join-with-retry.sh HOST:PORT [MAX_ATTEMPTS]}
max_attempts=${2:-5}
: "${JOINKIT_TOKEN:?set JOINKIT_TOKEN}"
: "${JOINKIT_DISCOVERY_TOKEN_CA_CERT_HASH:?set JOINKIT_DISCOVERY_TOKEN_CA_CERT_HASH}"
export JOINKIT_TOKEN JOINKIT_DISCOVERY_TOKEN_CA_CERT_HASH
export JOINKIT_NODE_NAME=${JOINKIT_NODE_NAME:-$(hostname -s | tr '[:upper:]' '[:lower:]')}
kubeadm=${KUBEADM:-kubeadm}
config=${JOINKIT_JOIN_CONFIG:-/etc/kubernetes/joinkit/join.yaml}
log=${JOIN_LOG:-/var/log/joinkit-join.log}
delay=${JOIN_RETRY_DELAY:-10}
report=$(mktemp)
trap 'rm -f "$report"' EXIT
mkdir -p "$(dirname "$config")"

# Stops the script with joinkit's exit code unless the report says the failure is retryable.
stop_unless_retryable() {
  local rc=$1 what=$2
  if ! grep -q '^    "retryable": true' "$report"; then
    grep -E '^    "(code|message|fix)"' "$report" >&2 || true
    echo "not retrying: $what failed with exit $rc, which needs a person or a change" >&2
    exit "$rc"
  fi
  echo "$what failed with exit $rc (retryable)" >&2
}

attempt=1
while :; do
  echo "join attempt $attempt of $max_attempts"
  set +e
  joinkit verify-discovery "$endpoint" --wait 60s -o json > "$report"
  rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    stop_unless_retryable "$rc" "discovery"
  else
    joinkit render-config "$endpoint" --output-file "$config"
    set +e
    "$kubeadm" join --config "$config" > "$log" 2>&1
    rc=$?
    set -e
    if [ "$rc" -eq 0 ]; then
      echo "joined"
      exit 0
    fi
    echo "kubeadm join failed (exit $rc)" >&2
    # Name the root cause before wiping the evidence: from kubeadm's output, then from the
    # node, read-only.
    joinkit explain-log "$log" || true
    set +e
    joinkit diagnose --config "$config" --no-csr -o json > "$report"
    drc=$?
    set -e
    if [ "$drc" -ne 0 ]; then
      "$kubeadm" reset -f > /dev/null 2>&1 || true
      rc=$drc
      stop_unless_retryable "$rc" "diagnose"
    fi
    "$kubeadm" reset -f > /dev/null 2>&1 || true
  fi
  if [ "$attempt" -ge "$max_attempts" ]; then
    echo "giving up after $attempt attempts (last exit $rc)" >&2
    exit "$rc"
  fi
  attempt=$((attempt + 1))
  sleep "$delay"
  delay=$((delay * 2 > 120 ? 120 : delay * 2))
done
