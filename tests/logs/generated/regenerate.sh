#!/bin/sh
# Regenerates the logs in this directory from real programs: the tests below write one .log per
# row (YAML front matter as in tests/logs/*.log, then the program's output) when
# JOINKIT_REGENERATE_LOGS=1. kubeadm-join-*.log: the real kubeadm join v1.36.2 against a real
# v1.36 control plane (tests/it/real_control_plane.rs, the table's failure rows) and against
# endpoint stand-ins (tests/it/discovery_failures.rs). Needs what those tests need: the
# control-plane script and the kubeadm archive (../shared/k8s, see tests/common/k8s.rs and
# tests/common/kubeadm.rs), root (a private mount namespace per kubeadm run).
# kubelet-*.log: the real kubelet v1.36.2 / v1.24.0 with containerd 1.6 under runtime faults
# (tests/it/real_kubelet.rs, tests/it/real_containerd.rs; the filters are listed in
# kubelet-tests.txt; they need the kubelet archives and containerd, see tests/common/kubelet.rs).
#
#   tests/logs/generated/regenerate.sh            # every generating test
#   tests/logs/generated/regenerate.sh FILTER...  # only these cargo test filters
#
# Then `cargo test --test it -- explain_corpus::generated_corpus` checks explain-log on them.
set -eu
cd "$(dirname "$0")/../../.."
if [ "$#" -eq 0 ]; then
    set -- real_control_plane::table_on_real_v1_36_ecdsa discovery_failures::kubeadm_parity_for_endpoint_failures
    # shellcheck disable=SC2046 # one cargo test filter per line
    set -- "$@" $(grep -v '^[[:space:]]*$' tests/logs/generated/kubelet-tests.txt)
fi
JOINKIT_REGENERATE_LOGS=1 cargo test --test it -- "$@" --nocapture
