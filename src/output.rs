//! The one place that prints what a command returns and turns it into the exit code: reports
//! in `-o text|json|yaml`, a command's product on stdout (pins, a token, a table, a document),
//! warnings and notes on stderr, documents written atomically with mode 0600 by
//! [`joinkit_core::fsutil::write_private`].

use joinkit_core::error::{Code, Failure};
use joinkit_core::report::{escape_controls, Common, Format, Report};
use std::path::PathBuf;

/// What a command returns.
pub enum Outcome {
    /// A report in `format`; in text its warnings go to stderr, the report to stdout.
    Report(Report, Format),
    /// A command with a product (ca-hash's pins, token create's token, token list's table): in
    /// text, the warnings on stderr, then the product on stdout or, if the report failed, the
    /// report on stderr; in json/yaml the report on stdout.
    Product(Report, Format, String),
    /// Refused before running (bad input): the notes, the report and the hint on stderr,
    /// whatever the format (stdout stays empty for a pipe); exit at least 1.
    Refused {
        /// Lines printed first.
        notes: Vec<String>,
        /// The failed report.
        report: Report,
        /// A line printed last.
        hint: Option<&'static str>,
    },
    /// A document (render-config, migrate-config): the notes on stderr, then the text on stdout
    /// or into the file; a write failure is refused with `output-unwritable`.
    Document {
        /// Lines for stderr, printed first.
        notes: Vec<String>,
        /// The command's report (for a write failure).
        report: Report,
        /// The document.
        text: String,
        /// `--output FILE`, or stdout.
        to: Option<PathBuf>,
    },
    /// Printed already (help-like output, the lab): the exit code.
    Done(i32),
}

impl Outcome {
    /// A command refused with `failure` before it ran.
    pub fn refused(command: &str, failure: Failure) -> Outcome {
        let mut report = Report::new(command);
        report.fail(failure);
        Outcome::Refused { notes: Vec::new(), report, hint: None }
    }
}

fn warnings_to_stderr(report: &Report) {
    for w in report.warnings() {
        eprintln!("warning: {}", escape_controls(w));
    }
}

/// Prints `outcome` and returns the process exit code.
pub fn emit(outcome: Outcome) -> i32 {
    match outcome {
        Outcome::Report(report, format) => {
            if format == Format::Text {
                warnings_to_stderr(&report);
            }
            report.print(format)
        }
        Outcome::Product(report, Format::Text, text) => {
            warnings_to_stderr(&report);
            if report.failure().is_some() {
                eprint!("{}", report.to_text(false));
            } else {
                print!("{text}");
            }
            report.exit_code()
        }
        Outcome::Product(report, format, _) => report.print(format),
        Outcome::Refused { notes, report, hint } => {
            for n in notes {
                eprintln!("{n}");
            }
            eprint!("{}", report.to_text(false));
            if let Some(h) = hint {
                eprintln!("{h}");
            }
            report.exit_code().max(1)
        }
        Outcome::Document { notes, mut report, text, to } => {
            for n in &notes {
                eprintln!("{n}");
            }
            let Some(path) = to else {
                print!("{text}");
                return 0;
            };
            match joinkit_core::fsutil::write_private(&path, text.as_bytes()) {
                Ok(()) => 0,
                Err(e) => {
                    report.fail(
                        Failure::new(Code::OutputUnwritable, Common::Write, e)
                            .cause("the directory is missing or not writable")
                            .fix("check --output"),
                    );
                    emit(Outcome::Refused { notes: Vec::new(), report, hint: None })
                }
            }
        }
        Outcome::Done(code) => code,
    }
}
