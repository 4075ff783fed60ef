//! The `joinkit` command line: typed arguments ([`cli`]) over the trust library
//! [`joinkit_core`], the glue that turns each command's arguments into options and runs it
//! ([`commands`]), and the one place that prints the outcome (`output`). `joinkit lab` uses
//! `joinkit_lab` (default feature `lab`).

#![allow(clippy::result_large_err)]
#![warn(missing_docs)]

mod ca_hash;
pub mod cli;
pub mod commands;
#[cfg(feature = "lab")]
mod lab;
mod output;
mod runtime;
