//! Root cause of a failed join: `explain-log` (from logs) and `diagnose` (from the node).

mod admin;
pub mod certs;
mod conclude;
mod control_plane;
pub mod cri;
mod eks;
mod eks_way_out;
pub mod explain;
mod local;
pub mod network;
pub mod node;
pub mod runtime;
mod runtime_files;
