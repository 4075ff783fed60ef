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
    /// Refused before running (bad input): the notes and the hint on stderr; the report on
    /// stderr in text (stdout stays empty for a pipe), on stdout with `-o json|yaml`; exit at
    /// least 1.
    Refused {
        /// Lines printed first.
        notes: Vec<String>,
        /// The failed report.
        report: Report,
        /// A line printed last.
        hint: Option<&'static str>,
        /// The `-o` format.
        format: Format,
    },
    /// A document (render-config, migrate-config): the notes on stderr, then the text on stdout
    /// or into `--output-file` (atomically, mode 0600); with `-o json|yaml` the report on
    /// stdout carries the document (`document`) or the file's path (`outputFile`). A write
    /// failure is refused with `output-unwritable`.
    Document {
        /// Lines for stderr, printed first.
        notes: Vec<String>,
        /// The command's report (for a write failure).
        report: Report,
        /// The document.
        text: String,
        /// `--output-file FILE`, or stdout.
        to: Option<PathBuf>,
        /// The `-o` format.
        format: Format,
    },
    /// Printed already (help-like output, the lab): the exit code.
    Done(i32),
}

impl Outcome {
    /// A command refused with `failure` before it ran; `format` is its `-o`.
    pub fn refused(command: &str, failure: Failure, format: Format) -> Outcome {
        let mut report = Report::new(command);
        report.fail(failure);
        Outcome::Refused { notes: Vec::new(), report, hint: None, format }
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
        Outcome::Refused { notes, report, hint, format } => {
            for n in notes {
                eprintln!("{n}");
            }
            if format == Format::Text {
                eprint!("{}", report.to_text(false));
            } else {
                report.print(format);
            }
            if let Some(h) = hint {
                eprintln!("{h}");
            }
            report.exit_code().max(1)
        }
        Outcome::Document { notes, mut report, text, to, format } => {
            for n in &notes {
                eprintln!("{n}");
            }
            if format == Format::Text {
                warnings_to_stderr(&report);
            }
            let Some(path) = to else {
                if format == Format::Text {
                    print!("{text}");
                    return 0;
                }
                report.set("document", &text);
                return report.print(format);
            };
            match joinkit_core::fsutil::write_private(&path, text.as_bytes()) {
                Ok(()) => {
                    if format != Format::Text {
                        report.set("outputFile", path.display().to_string());
                        return report.print(format);
                    }
                    0
                }
                Err(e) => {
                    report.fail(
                        Failure::new(Code::OutputUnwritable, Common::Write, e)
                            .cause("the directory is missing or not writable")
                            .fix("check --output-file: its directory must exist and be writable"),
                    );
                    emit(Outcome::Refused { notes: Vec::new(), report, hint: None, format })
                }
            }
        }
        Outcome::Done(code) => code,
    }
}
