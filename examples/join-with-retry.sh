#!/usr/bin/env bash
# Join this node with bounded retries, using joinkit's exit codes to decide what is worth
# retrying. For cloud-init runcmd, Ansible or any provisioning loop.
#
#   JOINKIT_TOKEN=abcdef.0123456789abcdef \
#   JOINKIT_DISCOVERY_TOKEN_CA_CERT_HASH=sha256:<pin> \
#   ./join-with-retry.sh 10.0.0.10:6443 [MAX_ATTEMPTS]
#
# Secrets come from the environment, never from argv. Each attempt: verify discovery
# (fails in a second with the reason), render and validate the JoinConfiguration, kubeadm join;
# on failure: diagnose (when this joinkit has it), kubeadm reset -f, back off, retry.
# Exit codes (README.md "Output and exit codes"): 2/3/5x are input problems, never retried;
# 40/41 are trust failures (a wrong pin or a man in the middle), never retried.
set -euo pipefail

endpoint=${1:?usage: join-with-retry.sh HOST:PORT [MAX_ATTEMPTS]}
max_attempts=${2:-5}
: "${JOINKIT_TOKEN:?set JOINKIT_TOKEN}"
: "${JOINKIT_DISCOVERY_TOKEN_CA_CERT_HASH:?set JOINKIT_DISCOVERY_TOKEN_CA_CERT_HASH}"
export JOINKIT_TOKEN JOINKIT_DISCOVERY_TOKEN_CA_CERT_HASH

config=/etc/kubernetes/joinkit/join.yaml
mkdir -p "$(dirname "$config")"

attempt=1
delay=10
while :; do
  echo "join attempt $attempt of $max_attempts"

  set +e
  joinkit verify-discovery "$endpoint" --discovery-token-ca-cert-hash "$JOINKIT_DISCOVERY_TOKEN_CA_CERT_HASH" --wait 60s
  rc=$?
  set -e
  case $rc in
    0) ;;
    2|3|40|41|42|43|5[0-9])
      echo "not retrying: joinkit exit $rc is not transient (input, configuration or trust)" >&2
      exit "$rc" ;;
    *) echo "discovery failed (exit $rc); will retry" >&2 ;;
  esac

  if [ "$rc" -eq 0 ]; then
    # render-config validates before writing; the file is written atomically with mode 0600.
    joinkit render-config "$endpoint" --node-name "$(hostname -s | tr '[:upper:]' '[:lower:]')" --output-file "$config"
    set +e
    kubeadm join --config "$config" 2>&1 | tee /var/log/joinkit-join.log
    rc=${PIPESTATUS[0]}
    set -e
    if [ "$rc" -eq 0 ]; then
      echo "joined"
      exit 0
    fi
    # Name the root cause before wiping the evidence: from the log, then from the node.
    joinkit explain-log /var/log/joinkit-join.log || true
    joinkit diagnose --config "$config" || true
    kubeadm reset -f || true
  fi

  if [ "$attempt" -ge "$max_attempts" ]; then
    echo "giving up after $attempt attempts (last exit $rc)" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep "$delay"
  delay=$((delay * 2 > 120 ? 120 : delay * 2))
done
