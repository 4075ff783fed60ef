//! One PEM block, read the way Go's `encoding/pem` reads it, or refused.
//!
//! kube-apiserver and the CSR signers read a CertificateSigningRequest's `spec.request` with
//! `pem.Decode` (`k8s.io/kubernetes/pkg/apis/certificates/v1/helpers.go`, `ParseCSR`): the
//! *first* block Go accepts, skipping any block it does not (Go's `encoding/pem/pem.go`,
//! `Decode` → `decodeError`, which resumes the search after a malformed block). A reader that
//! accepts a block Go skips (text after the END line, a control character in the base64, a
//! header) would judge one request while the signer issues another. So joinkit accepts only a
//! strict subset of what Go accepts, in which Go and joinkit provably read the same bytes:
//!
//! ```text
//! input   = ws-lines "-----BEGIN " TYPE "-----" eol *(b64line eol) "-----END " TYPE "-----" *ws
//! eol     = "\n" / "\r\n"
//! b64line = 1*(ALPHA / DIGIT / "+" / "/" / "=")
//! ```
//!
//! where `ws-lines` is empty or whitespace ending in `\n` (Go finds a BEGIN line only at the
//! start of the input or right after a `\n`), there are no headers (`Proc-Type: ...`; a kubelet
//! never writes them), the END type equals the BEGIN type, nothing but whitespace follows the END
//! line (so there is exactly one block), and the base64 is canonical standard base64 with
//! padding. Differentially tested against Go's `encoding/pem` in `tests/it/csr_differential.rs`.

use base64::Engine;

/// At most this many bytes of PEM are read (a kubelet's serving CSR is under 1 KiB; an RSA-4096
/// request with 64 SANs is under 6 KiB).
pub const MAX_PEM_BYTES: usize = 16 * 1024;

/// Why a PEM input was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemError(pub String);

impl std::fmt::Display for PemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads the one PEM block of type `label` (for example `CERTIFICATE REQUEST`) that `input`
/// holds, in the strict form described in the module docs, and returns its DER bytes.
/// Errors: a [`PemError`] saying what is wrong and where (byte offsets, never the content):
/// over [`MAX_PEM_BYTES`], no BEGIN line, leading text, another type, headers, a character
/// outside base64 on a data line, a missing or mismatched END line, text after it, a second
/// block, or base64 that does not decode canonically.
pub fn one_block(input: &[u8], label: &str) -> Result<Vec<u8>, PemError> {
    let err = |m: String| Err(PemError(m));
    if input.len() > MAX_PEM_BYTES {
        return err(format!("more than {MAX_PEM_BYTES} bytes of PEM (a kubelet's request is under 1 KiB)"));
    }
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    // Leading whitespace, ending at a line start (Go only finds BEGIN at offset 0 or after \n).
    let lead = input.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let mut at = match input[..lead].iter().rposition(|b| *b == b'\n') {
        Some(nl) if nl + 1 == lead => lead,
        None if lead == 0 => 0,
        _ => return err(format!("whitespace before the BEGIN line at byte {lead} does not end with a newline")),
    };
    let mut lines = Lines { input, at: &mut at };
    let Some(first) = lines.next() else { return err("no PEM block".into()) };
    if first.text != begin.as_bytes() {
        return err(if first.text.starts_with(b"-----BEGIN ") {
            format!("the first line at byte {} is not {begin:?} (another type, or trailing text)", first.start)
        } else {
            format!("byte {}: expected {begin:?}", first.start)
        });
    }
    let mut b64 = Vec::with_capacity(input.len());
    loop {
        let Some(line) = lines.next() else { return err(format!("no {end:?} line")) };
        if line.text == end.as_bytes() {
            let rest = &input[*lines.at..];
            if let Some(i) = rest.iter().position(|b| !b.is_ascii_whitespace()) {
                return err(format!(
                    "byte {}: text after the END line (exactly one PEM block and nothing else is accepted)",
                    *lines.at + i
                ));
            }
            break;
        }
        if line.text.starts_with(end.as_bytes()) {
            return err(format!(
                "byte {}: text after the END line (exactly one PEM block and nothing else is accepted)",
                line.start + end.len()
            ));
        }
        if line.text.starts_with(b"-----") {
            return err(format!("byte {}: a BEGIN or END line where {end:?} was expected", line.start));
        }
        if !line.newline {
            return err(format!("byte {}: the input ends without {end:?}", line.start));
        }
        if line.text.is_empty() {
            return err(format!("byte {}: an empty line inside the block", line.start));
        }
        if let Some(i) = line.text.iter().position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')))
        {
            let what =
                if line.text[i] == b':' { "a header (headers are not accepted)" } else { "a character outside base64" };
            return err(format!("byte {}: {what} (0x{:02x})", line.start + i, line.text[i]));
        }
        b64.extend_from_slice(line.text);
    }
    base64::engine::general_purpose::STANDARD
        .decode(&b64)
        .map_err(|e| PemError(format!("the block's base64 does not decode canonically: {e}")))
}

/// One line of the input: its text without the line ending, where it starts, and whether a
/// `\n` ended it.
struct Line<'a> {
    text: &'a [u8],
    start: usize,
    newline: bool,
}

struct Lines<'a, 'b> {
    input: &'a [u8],
    at: &'b mut usize,
}

impl<'a> Lines<'a, '_> {
    /// The next line; a line ends at `\n`, and a `\r` right before it is part of the ending
    /// (any other `\r` stays in the text, where it is refused).
    fn next(&mut self) -> Option<Line<'a>> {
        let start = *self.at;
        if start >= self.input.len() {
            return None;
        }
        let rest = &self.input[start..];
        match rest.iter().position(|b| *b == b'\n') {
            Some(i) => {
                *self.at = start + i + 1;
                let text = rest[..i].strip_suffix(b"\r").unwrap_or(&rest[..i]);
                Some(Line { text, start, newline: true })
            }
            None => {
                *self.at = self.input.len();
                Some(Line { text: rest, start, newline: false })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: &str = "CERTIFICATE REQUEST";

    fn pem(body: &str) -> String {
        format!("-----BEGIN {L}-----\n{body}\n-----END {L}-----\n")
    }

    #[test]
    fn the_strict_form_is_read() {
        assert_eq!(one_block(pem("AAEC").as_bytes(), L).unwrap(), vec![0, 1, 2]);
        assert_eq!(one_block(pem("AAEC").replace('\n', "\r\n").as_bytes(), L).unwrap(), vec![0, 1, 2]);
        assert_eq!(one_block(format!("\n \n{}", pem("AAEC")).as_bytes(), L).unwrap(), vec![0, 1, 2]);
        assert_eq!(one_block(pem("AAEC").trim_end().as_bytes(), L).unwrap(), vec![0, 1, 2]);
        assert_eq!(one_block(pem("AA\nEC").as_bytes(), L).unwrap(), vec![0, 1, 2]);
    }

    #[test]
    fn what_go_skips_or_reads_otherwise_is_refused() {
        let refused = |s: String, why: &str| {
            let e = one_block(s.as_bytes(), L).unwrap_err();
            assert!(e.0.contains(why), "{s:?}: {e}");
        };
        // Text after the END line: Go skips the block (and would read a next one).
        refused(format!("{}x", pem("AAEC").trim_end()), "text after the END line");
        refused(format!("{}{}", pem("AAEC"), pem("AAED")), "text after the END line");
        // A control character inside the base64: Go's decoder fails and skips the block.
        refused(pem("AA\u{1}EC"), "outside base64");
        refused(pem("AA EC"), "outside base64");
        refused(pem("AA\rEC"), "outside base64");
        refused(pem("Proc-Type: 4,ENCRYPTED\n\nAAEC"), "");
        refused(format!("x{}", pem("AAEC")), "expected");
        refused(format!("  {}", pem("AAEC")), "does not end with a newline");
        refused(pem("AAEC").replace("END CERTIFICATE REQUEST", "END CERTIFICATE"), "where \"-----END");
        refused(pem("AAEC").replace("BEGIN CERTIFICATE REQUEST-----", "BEGIN CERTIFICATE REQUEST----- "), "not");
        refused(pem("AAF="), "canonically");
        refused(pem("AAEC\n"), "empty line");
        refused(pem("AAEC").trim_end().trim_end_matches('-').to_string(), "");
        refused(format!("-----BEGIN {L}-----\nAAEC"), "ends without");
        refused(String::new(), "no PEM block");
        refused(format!("{}{}", "\n".repeat(MAX_PEM_BYTES), pem("AAEC")), "more than 16384 bytes");
    }
}
