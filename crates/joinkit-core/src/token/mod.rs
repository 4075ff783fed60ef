//! Bootstrap tokens: parsing, generation and redaction.
//!
//! Rules from `k8s.io/cluster-bootstrap/token/api/types.go` (spec section 1): a token is
//! `\A([a-z0-9]{6})\.([a-z0-9]{16})\z`, the token ID `\A[a-z0-9]{6}\z`. Generation uses the
//! alphabet `0123456789abcdefghijklmnopqrstuvwxyz`, bytes from the OS CSPRNG, bytes `>= 252`
//! discarded, `alphabet[b % 36]` (no modulo bias), as kubeadm does.
//!
//! [`BootstrapToken`] never prints its secret through `Debug` or `Display`; the secret is only
//! reachable through [`BootstrapToken::secret`] and [`BootstrapToken::expose`].

pub mod admin;
pub mod create;
pub mod manage;
pub mod secret;

use crate::error::{Code, Failure};
use crate::report::Common;
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;

/// kubeadm's token pattern, as printed in its error message.
pub(crate) const TOKEN_PATTERN: &str = r"\A([a-z0-9]{6})\.([a-z0-9]{16})\z";
/// The alphabet bootstrap tokens are drawn from.
pub(crate) const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// A syntactically valid bootstrap token `<id>.<secret>`. The secret is a
/// [`secrecy::SecretString`] (zeroized on drop); `Debug` and `Display` show `<id>.<redacted>`,
/// and the type does not implement `Serialize`.
#[derive(Clone)]
pub struct BootstrapToken {
    id: String,
    secret: SecretString,
}

impl PartialEq for BootstrapToken {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && crate::jws::secrets_equal(
                self.secret.expose_secret().as_bytes(),
                other.secret.expose_secret().as_bytes(),
            )
    }
}

impl Eq for BootstrapToken {}

fn is_token_chars(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// True if `id` is a valid token ID (`\A[a-z0-9]{6}\z`).
pub(crate) fn is_valid_id(id: &str) -> bool {
    is_token_chars(id, 6)
}

impl BootstrapToken {
    /// Parses `<id>.<secret>`. Surrounding whitespace (a trailing newline from a token file) is
    /// trimmed. Errors with `bad-token-format` and kubeadm's message, with the value redacted.
    pub fn parse(s: &str) -> Result<Self, Failure> {
        let t = s.trim();
        if let Some((id, secret)) = t.split_once('.') {
            if is_token_chars(id, 6) && is_token_chars(secret, 16) {
                return Ok(BootstrapToken { id: id.to_string(), secret: SecretString::from(secret.to_string()) });
            }
        }
        Err(Failure::new(
            Code::BadTokenFormat,
            Common::Input,
            format!(
                "expected a bootstrap token of the form <6 chars [a-z0-9]>.<16 chars [a-z0-9]>, got {}",
                describe_bad_token(t)
            ),
        )
        .kubeadm(format!(
            "the bootstrap token \"{}\" was not of the form \"{}\"",
            redacted_shape(t),
            TOKEN_PATTERN
        ))
        .cause("the token was mistyped, truncated, has upper-case letters or stray characters, or is not a bootstrap token")
        .fix("copy the token again from `kubeadm token list` or create one with `joinkit token create` / `kubeadm token create`"))
    }

    /// Builds a token from its parts, validating both.
    pub(crate) fn from_parts(id: &str, secret: &str) -> Result<Self, Failure> {
        Self::parse(&format!("{id}.{secret}"))
    }

    /// A fresh random token, generated the way kubeadm does (see module docs).
    pub fn generate() -> Self {
        BootstrapToken { id: random_string(6), secret: SecretString::from(random_string(16)) }
    }

    /// The token ID (public: it names the Secret and the JWS key).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The token secret. Keep it out of logs and reports.
    pub fn secret(&self) -> &str {
        self.secret.expose_secret()
    }

    /// The whole `<id>.<secret>` string, for the places the user asked to see it.
    pub fn expose(&self) -> String {
        format!("{}.{}", self.id, self.secret.expose_secret())
    }

    /// `<id>.<redacted>` for reports and logs.
    pub fn redacted(&self) -> String {
        format!("{}.<redacted>", self.id)
    }
}

impl fmt::Debug for BootstrapToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BootstrapToken({})", self.redacted())
    }
}

impl fmt::Display for BootstrapToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// A redacted rendering of a malformed token that still helps: its length, and the part
/// before the dot when that part is a plausible token ID.
fn redacted_shape(t: &str) -> String {
    match t.split_once('.') {
        Some((id, _)) if is_token_chars(id, 6) => format!("{id}.<redacted>"),
        _ => format!("<redacted, {} chars>", t.chars().count()),
    }
}

fn describe_bad_token(t: &str) -> String {
    if t.is_empty() {
        return "an empty token".into();
    }
    match t.split_once('.') {
        None => format!("{} characters with no '.' between token ID and token secret", t.chars().count()),
        Some((id, secret)) => {
            let mut why = Vec::new();
            if !is_token_chars(id, 6) {
                why.push(format!("a token ID of {} characters that is not [a-z0-9]{{6}}", id.chars().count()));
            }
            if !is_token_chars(secret, 16) {
                why.push(format!("a token secret of {} characters that is not [a-z0-9]{{16}}", secret.chars().count()));
            }
            format!("{} ({})", redacted_shape(t), why.join(" and "))
        }
    }
}

/// `n` characters from [`ALPHABET`], rejection-sampled from the OS CSPRNG (kubeadm's rule).
pub fn random_string(n: usize) -> String {
    let rng = SystemRandom::new();
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 32];
    while out.len() < n {
        // SystemRandom only fails if the OS RNG is unavailable, which is not recoverable.
        rng.fill(&mut buf).expect("the OS random number generator failed");
        for &b in &buf {
            if b >= 252 {
                continue;
            }
            out.push(ALPHABET[(b % 36) as usize] as char);
            if out.len() == n {
                break;
            }
        }
    }
    out
}

/// `n` random bytes as lowercase hex (certificate keys are 32 bytes, 64 hex digits).
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    SystemRandom::new().fill(&mut b).expect("the OS random number generator failed");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Reads the token from, in order: the `--token` value, the `--token-file` file, the
/// `JOINKIT_TOKEN` environment variable (already merged into `flag` by clap). Returns `None`
/// when none is set. A token file must hold only the token (whitespace is trimmed).
pub fn resolve_token(flag: Option<&str>, file: Option<&std::path::Path>) -> Result<Option<BootstrapToken>, Failure> {
    if let Some(path) = file {
        // A token file is tiny: 4 KiB is plenty and bounds /dev/zero and FIFOs at once.
        let text = crate::fsutil::read_bounded_string(path, 4096).map_err(|e| {
            Failure::new(Code::InputUnreadable, Common::Input, format!("cannot read the token file: {e}"))
                .cause("the path is wrong, not readable by this user, not a regular file, or too large")
                .fix("pass a readable file that holds only the token, or use the JOINKIT_TOKEN environment variable")
        })?;
        return BootstrapToken::parse(&text).map(Some);
    }
    match flag {
        Some(t) => BootstrapToken::parse(t).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_redacts() {
        let t = BootstrapToken::parse("abcdef.0123456789abcdef\n").unwrap();
        assert_eq!(t.id(), "abcdef");
        assert_eq!(t.secret(), "0123456789abcdef");
        assert_eq!(format!("{t:?}"), "BootstrapToken(abcdef.<redacted>)");
        assert!(!format!("{t}").contains("0123456789abcdef"));
    }

    #[test]
    fn rejects_bad_tokens_without_leaking() {
        for bad in [
            "",
            "abcdef",
            "ABCDEF.0123456789abcdef",
            "abcdef.0123456789abcde",
            "abcdef:0123456789abcdef",
            "abcdef.0123456789abcdef0",
        ] {
            let f = BootstrapToken::parse(bad).unwrap_err();
            assert_eq!(f.code, Code::BadTokenFormat, "{bad}");
            let all = format!("{} {:?}", f.message, f.kubeadm_message);
            assert!(!all.contains("0123456789abcde"), "secret leaked for {bad}: {all}");
        }
    }

    #[test]
    fn generated_tokens_are_valid_and_differ() {
        let a = BootstrapToken::generate();
        let b = BootstrapToken::generate();
        assert!(BootstrapToken::parse(&a.expose()).is_ok());
        assert_ne!(a.expose(), b.expose());
    }
}
