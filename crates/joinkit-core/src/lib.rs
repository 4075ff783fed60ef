//! joinkit-core: the trust decisions of a kubeadm node join, with no command line and no lab.
//!
//! One module per concept: [`pin`] (CA public-key pins), [`token`] (bootstrap tokens), [`jws`]
//! (cluster-info signatures), [`discovery`] (the node-trusts-control-plane half of a join),
//! [`bootstrap`] (the control-plane-trusts-node half: TLS bootstrap), [`client`] (talking to an
//! API server stage by stage), [`kubeconfig`], [`endpoint`], [`config`] (kubeadm's
//! JoinConfiguration), [`diagnose`], with shared [`report`] and [`error`] types. The `joinkit`
//! binary (the workspace's root package) is a thin command line over it; `joinkit-lab` is a
//! model of the API server used by `joinkit lab` and the tests. See ARCHITECTURE.md.

// `Failure` (every error path) is ~150 bytes of strings. Errors are the cold path of a one-shot
// command, so they are returned by value rather than boxed at every call site.
#![allow(clippy::result_large_err)]
// Every public item says what it is (shapes, units, errors, the rule's source).
#![warn(missing_docs)]

pub mod bootstrap;
pub mod ca_hash;
pub mod client;
pub mod config;
pub mod csr;
pub mod diagnose;
pub mod discovery;
pub mod duration;
pub mod endpoint;
pub mod error;
pub mod fsutil;
pub mod imds;
pub mod jws;
pub mod k8s;
pub mod kubeconfig;
pub mod pem;
pub mod pin;
pub mod redact;
pub mod report;
pub mod token;
pub mod yaml;
