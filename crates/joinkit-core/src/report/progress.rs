//! Progress on stderr for the waits a person would otherwise sit through in silence: discovery
//! (and its `--wait` retries), the TLS bootstrap's wait for the CSR's approval and certificate,
//! `token create`'s wait for the bootstrapsigner. A spinner with a message and the time spent
//! (indicatif), drawn only when stderr is a terminal, and only once the wait has lasted
//! [`DELAY`]: a quick command prints nothing more than before. Never any escape sequence when
//! stderr is a pipe or a file (scripts and `-o json` read clean streams); no colour when
//! `NO_COLOR` is set (<https://no-color.org>), as for the report ([`super::Report::print`]);
//! nothing on `TERM=dumb`. The line is cleared when the wait ends, before the report prints.

use std::ffi::OsStr;
use std::io::IsTerminal;
use std::sync::mpsc;
use std::time::Duration;

/// How long a wait lasts before its progress line appears.
pub const DELAY: Duration = Duration::from_secs(1);

/// How often the spinner moves.
const TICK: Duration = Duration::from_millis(120);

/// What progress looks like on this stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Nothing at all: stderr is not a terminal, or `TERM=dumb`.
    Off,
    /// A spinner without colour (`NO_COLOR` is set).
    Plain,
    /// A spinner with colour.
    Colour,
}

/// The decision, from its inputs: whether stderr is a terminal, the value of `NO_COLOR` and of
/// `TERM`. Off when stderr is not a terminal or `TERM` is `dumb`; plain when `NO_COLOR` is
/// present (whatever its value, as the report's colour does); colour otherwise.
pub fn mode(stderr_is_terminal: bool, no_color: Option<&OsStr>, term: Option<&OsStr>) -> Mode {
    if !stderr_is_terminal || term == Some(OsStr::new("dumb")) {
        Mode::Off
    } else if no_color.is_some() {
        Mode::Plain
    } else {
        Mode::Colour
    }
}

/// [`mode`] for this process's stderr and environment.
pub fn current_mode() -> Mode {
    mode(std::io::stderr().is_terminal(), std::env::var_os("NO_COLOR").as_deref(), std::env::var_os("TERM").as_deref())
}

enum Msg {
    Message(String),
    Line(String),
}

/// A wait in progress: shows `message` with a spinner after [`DELAY`] (see the module); the
/// line is cleared when this is dropped. Cheap when [`Mode::Off`]: no thread, no output.
pub struct Progress {
    tx: Option<mpsc::Sender<Msg>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    /// Starts a wait described by `message` ("waiting for CSR csr-x to be approved").
    pub fn start(message: impl Into<String>) -> Progress {
        Progress::with_mode(current_mode(), message.into())
    }

    fn with_mode(mode: Mode, message: String) -> Progress {
        if mode == Mode::Off {
            return Progress { tx: None, thread: None };
        }
        let (tx, rx) = mpsc::channel::<Msg>();
        let thread =
            std::thread::Builder::new().name("joinkit-progress".into()).spawn(move || draw(mode, message, rx)).ok();
        Progress { tx: thread.as_ref().map(|_| tx), thread }
    }

    /// Replaces the message (what is awaited now: "attempt 2 failed: connection-refused; retrying").
    pub fn set_message(&self, message: impl Into<String>) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Msg::Message(message.into()));
        }
    }

    /// Prints `line` on stderr above the progress line (or plainly when there is none).
    pub fn println(&self, line: impl Into<String>) {
        let line = line.into();
        match &self.tx {
            Some(tx) => {
                if let Err(mpsc::SendError(Msg::Line(l) | Msg::Message(l))) = tx.send(Msg::Line(line)) {
                    eprintln!("{l}");
                }
            }
            None => eprintln!("{line}"),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The progress thread: waits [`DELAY`] (printing lines plainly meanwhile), then draws the
/// spinner until the sender is dropped, then clears it.
fn draw(mode: Mode, mut message: String, rx: mpsc::Receiver<Msg>) {
    let started = std::time::Instant::now();
    loop {
        let left = DELAY.saturating_sub(started.elapsed());
        if left.is_zero() {
            break;
        }
        match rx.recv_timeout(left) {
            Ok(Msg::Message(m)) => message = m,
            Ok(Msg::Line(l)) => eprintln!("{l}"),
            Err(mpsc::RecvTimeoutError::Timeout) => break,
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
    let template = match mode {
        Mode::Colour => "{spinner:.cyan} {elapsed:.dim} {wide_msg}",
        _ => "{spinner} {elapsed} {wide_msg}",
    };
    let style = indicatif::ProgressStyle::with_template(template)
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
    let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr())
        .with_style(style)
        .with_elapsed(started.elapsed());
    bar.set_message(super::escape_controls(&message).into_owned());
    bar.tick();
    loop {
        match rx.recv_timeout(TICK) {
            Ok(Msg::Message(m)) => bar.set_message(super::escape_controls(&m).into_owned()),
            Ok(Msg::Line(l)) => bar.suspend(|| eprintln!("{l}")),
            Err(mpsc::RecvTimeoutError::Timeout) => bar.tick(),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    bar.finish_and_clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_unless_stderr_is_a_terminal() {
        assert_eq!(mode(false, None, None), Mode::Off);
        assert_eq!(mode(false, None, Some(OsStr::new("xterm-256color"))), Mode::Off);
        assert_eq!(mode(false, Some(OsStr::new("1")), None), Mode::Off);
        assert_eq!(mode(true, None, Some(OsStr::new("xterm-256color"))), Mode::Colour);
        assert_eq!(mode(true, None, None), Mode::Colour);
    }

    #[test]
    fn no_color_means_no_colour_and_dumb_terminals_get_nothing() {
        assert_eq!(mode(true, Some(OsStr::new("1")), Some(OsStr::new("xterm"))), Mode::Plain);
        // Any value, as the report's colour check (var_os(..).is_none()).
        assert_eq!(mode(true, Some(OsStr::new("")), None), Mode::Plain);
        assert_eq!(mode(true, None, Some(OsStr::new("dumb"))), Mode::Off);
        assert_eq!(mode(true, Some(OsStr::new("1")), Some(OsStr::new("dumb"))), Mode::Off);
    }

    #[test]
    fn off_spawns_nothing_and_prints_lines_plainly() {
        let p = Progress::with_mode(Mode::Off, "waiting".into());
        assert!(p.tx.is_none() && p.thread.is_none());
        p.set_message("still waiting");
        drop(p);
    }
}
