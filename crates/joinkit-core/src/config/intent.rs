//! The one rule that decides whether a join is a control-plane join (`render-config`,
//! `token create --print-join-command`, `diagnose`): only a declared intent makes one.
//!
//! kubeadm's `join` turns a node into a control-plane node when its JoinConfiguration has a
//! `controlPlane` section (`cmd/kubeadm/app/cmd/join.go`: `--control-plane`, and
//! `--certificate-key`, `--apiserver-advertise-address`, `--apiserver-bind-port` fill that
//! section). A certificate key or an advertise address alone must not turn a worker into a
//! control-plane node (it is tainted, runs etcd, ...), least of all one inherited from the
//! environment. So:
//!
//! * the intent is declared by `--control-plane` (or its environment variable), a config file
//!   with a `controlPlane` section, or, in `token create` only, `--certificate-key` on the
//!   command line (kubeadm's `token create --print-join-command --certificate-key K` prints a
//!   control-plane join command: there the flag *is* the intent; see docs/control-plane-intent.md);
//! * without it, a control-plane-only flag given on the command line is an input error
//!   (`usage`, exit 2) that names the flag;
//! * without it, the same value from its environment variable is ignored, and one line on
//!   stderr says so (an exported `JOINKIT_CERTIFICATE_KEY` is common in a control-plane admin's
//!   shell and says nothing about the node being joined).

use crate::error::{Code, Failure};
use crate::report::Common;

/// Where a control-plane-only value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Typed on the command line (argv): a deliberate choice for this run.
    CommandLine,
    /// Read from an environment variable: possibly left over from another task.
    Environment,
}

/// One control-plane-only value that was given: its flag, its environment variable and where
/// the value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Given {
    /// The flag, e.g. `--certificate-key`.
    pub flag: String,
    /// Its environment variable, e.g. `JOINKIT_CERTIFICATE_KEY` (None: it has none).
    pub env: Option<String>,
    /// Where the value came from.
    pub origin: Origin,
}

/// The decision: a control-plane join or not, and the flags whose environment values are
/// dropped (with the one line for stderr that says so).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Intent {
    /// True when the join is a control-plane join.
    pub control_plane: bool,
    /// The flags (`--certificate-key`, ...) whose values came from the environment and are
    /// ignored; the caller drops them.
    pub ignored: Vec<String>,
    /// One line for stderr naming the ignored environment variables (None when nothing is).
    pub note: Option<String>,
}

/// Decides the intent. `declared_by` names what declared a control-plane join (`--control-plane`,
/// `the config's controlPlane section`, ...), None when nothing did; `given` lists the
/// control-plane-only values present. Errors: `usage` (exit 2, stage `input`) naming the first
/// command-line flag given for a worker join.
pub fn control_plane_intent(command: &str, declared_by: Option<&str>, given: &[Given]) -> Result<Intent, Failure> {
    if declared_by.is_some() {
        return Ok(Intent { control_plane: true, ..Intent::default() });
    }
    if let Some(g) = given.iter().find(|g| g.origin == Origin::CommandLine) {
        return Err(Failure::new(
            Code::Usage,
            Common::Input,
            format!("{} is for a control-plane join, and this is a worker join (no --control-plane)", g.flag),
        )
        .cause(format!(
            "{command}: {} only has a meaning for a control-plane node; joinkit never turns a worker into a control-plane node without --control-plane",
            g.flag
        ))
        .fix(format!("add --control-plane for a control-plane join, or drop {} for a worker", g.flag)));
    }
    let from_env: Vec<&Given> = given.iter().filter(|g| g.origin == Origin::Environment).collect();
    if from_env.is_empty() {
        return Ok(Intent::default());
    }
    let names: Vec<&str> = from_env.iter().map(|g| g.env.as_deref().unwrap_or(g.flag.as_str())).collect();
    Ok(Intent {
        control_plane: false,
        ignored: from_env.iter().map(|g| g.flag.clone()).collect(),
        note: Some(format!(
            "note: ignoring {} from the environment: this is a worker join (add --control-plane for a control-plane join)",
            names.join(", ")
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(flag: &str, origin: Origin) -> Given {
        Given {
            flag: flag.into(),
            env: Some(format!("JOINKIT_{}", flag[2..].replace('-', "_").to_uppercase())),
            origin,
        }
    }

    #[test]
    fn declared_intent_keeps_everything() {
        let i =
            control_plane_intent("x", Some("--control-plane"), &[g("--certificate-key", Origin::Environment)]).unwrap();
        assert!(i.control_plane && i.ignored.is_empty() && i.note.is_none());
    }

    #[test]
    fn a_flag_for_a_worker_is_a_usage_error_naming_it() {
        let f = control_plane_intent(
            "render-config",
            None,
            &[g("--certificate-key", Origin::Environment), g("--apiserver-advertise-address", Origin::CommandLine)],
        )
        .unwrap_err();
        assert_eq!((f.code, f.stage.as_str(), f.exit_code()), (Code::Usage, "input", 2));
        assert!(f.message.starts_with("--apiserver-advertise-address "), "{}", f.message);
    }

    #[test]
    fn environment_values_for_a_worker_are_ignored_with_one_line() {
        let i = control_plane_intent(
            "x",
            None,
            &[g("--certificate-key", Origin::Environment), g("--apiserver-bind-port", Origin::Environment)],
        )
        .unwrap();
        assert!(!i.control_plane);
        assert_eq!(i.ignored, ["--certificate-key", "--apiserver-bind-port"]);
        let note = i.note.unwrap();
        assert!(
            !note.contains('\n') && note.contains("JOINKIT_CERTIFICATE_KEY, JOINKIT_APISERVER_BIND_PORT"),
            "{note}"
        );
        assert_eq!(control_plane_intent("x", None, &[]).unwrap(), Intent::default());
    }
}
