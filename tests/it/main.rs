//! joinkit's integration tests: one binary with a module per area (as ripgrep and rustls do), so
//! one link instead of one per file. Shared helpers are in `tests/common/`; the randomised tests
//! stay in their own binary (`tests/fuzz.rs`) because they set process-wide resource limits
//! that must not reach the real control planes these tests start.

#[path = "../common/mod.rs"]
mod common;
#[path = "../common/fake_node.rs"]
mod fake_node;
#[path = "../common/hostile.rs"]
mod hostile_fixture;
#[path = "../common/k8s.rs"]
mod k8s;
#[path = "../common/kubeadm.rs"]
mod kubeadm;
#[path = "../common/kubeadm_join.rs"]
mod kubeadm_join;
#[path = "../common/kubelet.rs"]
mod kubelet;
#[path = "../common/libapi.rs"]
mod libapi;

mod api_bounds;
mod bootstrap;
mod ca_hash;
mod config;
mod csr;
mod csr_approver;
mod csr_differential;
mod csr_hostile;
mod deploy_manifests;
mod diagnose;
mod diagnose_runtime;
mod discovery_failures;
mod docs;
mod eks_aws_auth;
mod eks_nodeadm;
mod eks_way_out;
mod explain_corpus;
mod explain_log;
mod explain_verdict;
mod flags;
mod hostile;
mod intent;
mod kubeadm_config;
mod kubeadm_tokens;
mod kubectl;
mod lab_bootstrap_transcripts;
mod lab_transcripts;
mod mitm_wait_file;
mod people;
mod real_containerd;
mod real_control_plane;
mod real_kubelet;
mod retry;
mod scripts;
mod token;
mod transcripts_offline;
mod trust_bounds;
mod vectors_jws;
mod yaml_breaks;
