//! joinkit: verifiable, scriptable, debuggable kubeadm node joins.
//!
//! A library with a thin binary over it (`src/main.rs`). One module per concept:
//! [`pin`] (CA public-key pins), [`token`] (bootstrap tokens), [`jws`] (cluster-info
//! signatures), [`discovery`] (the node-trusts-control-plane half of a join), [`client`]
//! (talking to an API server stage by stage), [`kubeconfig`], [`endpoint`], [`lab`] (a loopback
//! control plane), with shared [`report`] and [`error`] types. [`cli`] and [`commands`] are the
//! command line.

// `Failure` (every error path) is ~150 bytes of strings. Errors are the cold path of a one-shot
// command, so they are returned by value rather than boxed at every call site.
#![allow(clippy::result_large_err)]
// Every public item says what it is (shapes, units, errors, the rule's source).
#![warn(missing_docs)]

pub mod bootstrap;
pub mod cli;
pub mod client;
pub mod commands;
pub mod config;
pub mod diagnose;
pub mod discovery;
pub mod duration;
pub mod endpoint;
pub mod error;
pub mod fsutil;
pub mod jws;
pub mod k8s;
pub mod kubeconfig;
pub mod lab;
pub mod pin;
pub mod redact;
pub mod report;
pub mod token;
pub mod yaml;
