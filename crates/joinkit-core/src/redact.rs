//! Keeping secrets out of messages. Every error text that may quote untrusted or secret-bearing
//! input (YAML parse errors of kubeconfigs, exec plugin stderr, server answers) goes through
//! [`redact`] before it reaches a report, and long echoed values through [`truncate`].
//!
//! What counts as secret-shaped: a bootstrap token `[a-z0-9]{6}.[a-z0-9]{16}` (kubeadm's
//! `BootstrapTokenRegexp`; the ID is kept, as kubeadm's own messages do: `abcdef.<redacted>`),
//! a bearer token after `Bearer `, the value of `token:`, `client-key-data:`, `token-secret:`
//! and similar keys, and PEM private key blocks.

use regex::Regex;
use std::sync::OnceLock;

fn patterns() -> &'static [(Regex, &'static str)] {
    static P: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    P.get_or_init(|| {
        vec![
            (
                Regex::new(r"(?s)-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)").unwrap(),
                "<redacted private key>",
            ),
            (Regex::new(r"(?i)(bearer\s+)[^\s,;\x22']+").unwrap(), "${1}<redacted>"),
            (
                Regex::new(
                    r#"(?i)((?:token|token-secret|client-key-data|client-certificate-data|password|certificate-key|certificatekey|secret)["']?\s*[:=]\s*["']?)[^\s,;"'}]+"#,
                )
                .unwrap(),
                "${1}<redacted>",
            ),
        ]
    })
}

/// kubeadm's bootstrap token shape anywhere in a text (`BootstrapTokenRegexp` without anchors).
fn token_shape() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\b([a-z0-9]{6})\.[a-z0-9]{16}\b").expect("a valid constant regex"))
}

/// True when `text` holds something shaped like a bootstrap token (`<id>.<secret>`).
pub fn contains_token(text: &str) -> bool {
    token_shape().is_match(text)
}

/// `text` with every secret-shaped part replaced (see the module docs).
pub fn redact(text: &str) -> String {
    let mut out = text.to_string();
    for (re, with) in patterns() {
        out = re.replace_all(&out, *with).into_owned();
    }
    token_shape().replace_all(&out, "${1}.<redacted>").into_owned()
}

/// `text` cut to at most `max_chars` characters, with `… (N bytes in all)` when cut.
pub fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_string(),
        Some((i, _)) => format!("{}… ({} bytes in all)", &text[..i], text.len()),
    }
}

/// The one message for a file that does not parse, quoting none of its text: `expected
/// {expected}; {file} does not parse at line L, column C` (1-based, from the parser's position
/// when it has one). Used for every file diagnose parses under `--root` (the kubelet's config,
/// containerd's and CRI-O's configs, the EKS NodeConfig's CA).
pub fn parse_error(file: &str, expected: &str, at: Option<crate::yaml::Pos>) -> String {
    match at {
        Some(p) => format!("expected {expected}; {file} does not parse at line {}, column {}", p.line, p.col),
        None => format!("expected {expected}; {file} does not parse"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_and_ids_kept() {
        let t = redact("token abcdef.0123456789abcdef failed; Authorization: Bearer s3cr3t-value, token: xyz123456 client-key-data: QUJD");
        assert!(t.contains("abcdef.<redacted>"), "{t}");
        for s in ["0123456789abcdef", "s3cr3t-value", "xyz123456", "QUJD"] {
            assert!(!t.contains(s), "{s} in {t}");
        }
        let k = redact("x -----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY----- y");
        assert_eq!(k, "x <redacted private key> y");
        assert_eq!(redact("nothing secret here: 10.0.0.1:6443"), "nothing secret here: 10.0.0.1:6443");
    }

    #[test]
    fn truncation_says_how_much() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("abcdef", 3), "abc… (6 bytes in all)");
        assert_eq!(truncate("ééé", 1), "é… (6 bytes in all)");
    }
}
