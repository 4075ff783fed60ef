//! Root cause of a failed join: `explain-log` (from logs) and `diagnose` (from the node).

pub mod certs;
pub mod explain;
pub mod node;
