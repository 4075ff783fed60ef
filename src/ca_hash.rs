//! `joinkit ca-hash`: arguments to [`joinkit_core::ca_hash::CaHashOptions`], the library's
//! report and pins to the printer.

use crate::cli::CaHashArgs;
use crate::output::Outcome;
use joinkit_core::ca_hash::{self, CaHashOptions};

/// `joinkit ca-hash`: the pins in text (stdout, one a line), the report in json/yaml.
pub fn run(a: &CaHashArgs) -> Outcome {
    let opts = CaHashOptions { files: a.files.clone(), kubeconfig: a.kubeconfig.clone(), cluster: a.cluster.clone() };
    let (report, pins) = ca_hash::run(&opts);
    Outcome::Product(report, a.out.output, pins)
}
