//! kubeadm's preflight checks by name (`preflight-checks.yaml`, compiled in: every check name
//! kubeadm 1.10-1.36 prints, read from `cmd/kubeadm/app/preflight/checks.go` and its siblings).
//!
//! kubeadm prints a failed check as `\t[ERROR <name>]: <message>` inside its fatal block and a
//! warning (or an error named in `--ignore-preflight-errors`) as `\t[WARNING <name>]: <message>`
//! (`RunChecks` in `cmd/kubeadm/app/preflight/checks.go`, 1.9-1.36). explain-log takes the name
//! out of such a line and looks it up here, so every check is recognised by its name with one
//! literal in the catalog's automaton (`[ERROR ` / `[WARNING `), not one regex per check. The
//! specific catalog signatures for preflight lines (`preflight-swap`, `preflight-cri`, ...) keep
//! precedence: the name rule only fills lines no catalog failure signature matched. A name the
//! table does not know is still a preflight finding (`preflight-check-unknown`, domain
//! `node-state`: a preflight check inspects this node before anything is changed, which is
//! what the node-state domain stands for).
//!
//! kubeadm <= 1.8 printed no names (`[preflight] WARNING: %v`, and `\t<message>` lines after
//! `[preflight] Some fatal errors occurred:`): those messages are matched against the table's
//! wordings (Go verbs turned into `.*?`, `"[^"]*"`, `\d+`), else reported as a generic
//! preflight failure (`preflight-check-unnamed`).

use super::catalog::{Signature, Source, ROLE_CAUSE};
use crate::error::Domain;
use regex::bytes::{Regex, RegexBuilder};
use serde::Deserialize;

/// The table source.
pub(crate) const PREFLIGHT_YAML: &str = include_str!("../preflight-checks.yaml");

/// One instance of a name pattern (e.g. `Port-10250` of `Port-{port}`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instance {
    /// The name as printed.
    pub name: String,
    /// The phases that run it.
    pub phases: Vec<String>,
    /// The releases that print it.
    pub releases: String,
}

/// One message a check returns.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wording {
    /// The Go format string, printed after `<name>]: `.
    pub text: String,
    /// The releases that print it.
    pub releases: String,
    /// Where it was read.
    pub evidence: String,
}

/// One check name pattern of the table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// The name as printed, with `{placeholders}`.
    pub name: String,
    /// An anchored regex for the name alone.
    pub regex: String,
    /// What the check verifies.
    pub checks: String,
    /// joinkit's failure domain.
    pub domain: Domain,
    /// `error`, `warning` or `both`.
    pub severity: String,
    /// The usual fix.
    pub fix: String,
    /// The kubeadm commands/phases that run it.
    pub phases: Vec<String>,
    /// The releases that print the name.
    pub releases: String,
    /// The concrete names of a pattern.
    #[serde(default)]
    pub instances: Vec<Instance>,
    /// The messages it returns.
    pub wording: Vec<Wording>,
    /// What was not verified, related lines.
    #[serde(default)]
    pub notes: Option<String>,
    /// Entry-level evidence (for an entry whose wording was not read).
    #[serde(default)]
    pub evidence: Option<String>,
}

/// The table, parsed and compiled.
pub struct Table {
    /// The checks, in file order.
    pub checks: Vec<Check>,
    /// Each check's name regex.
    names: Vec<Regex>,
    /// Each check's name prefixes: every name its regex matches starts with one of them
    /// (regex-syntax's prefix extraction; empty when it found none), so a line's name is run
    /// only through the regexes whose prefix it has (35 regexes per line would cost more than
    /// the catalog's whole scan on a log of preflight lines).
    prefixes: Vec<Vec<Vec<u8>>>,
    /// Each wording as a regex over a whole message: (check index, regex).
    wordings: Vec<(usize, Regex)>,
}

/// A Go format string as an anchored regex over the whole message: literal text escaped,
/// `%q` a quoted string, `%d` digits, every other verb any text (lazily).
pub fn wording_regex(text: &str) -> String {
    let mut out = String::from("^");
    let mut lit = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            lit.push(c);
            continue;
        }
        // Flags, then the verb.
        while chars.peek().is_some_and(|f| matches!(f, '#' | '+' | '-' | ' ' | '0'..='9' | '.')) {
            chars.next();
        }
        let Some(verb) = chars.next() else {
            lit.push('%');
            break;
        };
        if verb == '%' {
            lit.push('%');
            continue;
        }
        out.push_str(&regex::escape(&std::mem::take(&mut lit)));
        out.push_str(match verb {
            'q' => r#""[^"]*""#,
            'd' => r"-?\d+",
            _ => ".*?",
        });
    }
    out.push_str(&regex::escape(&lit));
    out.push('$');
    out
}

/// The literal characters of a Go format string (to skip wordings too generic to decide).
fn literal_len(text: &str) -> usize {
    let re = regex::Regex::new(r"%[#+\- 0-9.]*[a-zA-Z%]").expect("a valid regex");
    re.replace_all(text, "").trim().len()
}

/// A wording needs this many literal characters to identify its check in an unnamed line.
const MIN_WORDING_LITERAL: usize = 12;

impl Table {
    /// Parses and compiles `yaml`.
    pub fn parse(yaml: &str) -> Result<Table, String> {
        let checks: Vec<Check> = crate::yaml::from_str(yaml)?;
        let build = |p: &str| RegexBuilder::new(p).unicode(false).build().map_err(|e| format!("{p}: {e}"));
        let names = checks.iter().map(|c| build(&c.regex)).collect::<Result<Vec<_>, _>>()?;
        let mut prefixes = Vec::new();
        for c in &checks {
            let hir = regex_syntax::ParserBuilder::new()
                .unicode(false)
                .utf8(false)
                .build()
                .parse(&c.regex)
                .map_err(|e| format!("{}: {e}", c.regex))?;
            let seq = regex_syntax::hir::literal::Extractor::new().extract(&hir);
            // A finite sequence of prefixes: every match starts with one of them.
            prefixes
                .push(seq.literals().map(|l| l.iter().map(|x| x.as_bytes().to_vec()).collect()).unwrap_or_default());
        }
        let mut wordings = Vec::new();
        for (i, c) in checks.iter().enumerate() {
            for w in &c.wording {
                if literal_len(&w.text) >= MIN_WORDING_LITERAL {
                    wordings.push((i, build(&wording_regex(&w.text))?));
                }
            }
        }
        Ok(Table { checks, names, prefixes, wordings })
    }

    /// The check whose name regex matches `name`, the first in file order.
    pub fn by_name(&self, name: &[u8]) -> Option<usize> {
        (0..self.names.len()).find(|&i| {
            let p = &self.prefixes[i];
            (p.is_empty() || p.iter().any(|p| name.starts_with(p))) && self.names[i].is_match(name)
        })
    }

    /// How many checks' name regexes match `name` (a test requires one for every instance).
    pub fn name_matches(&self, name: &[u8]) -> usize {
        self.names.iter().filter(|r| r.is_match(name)).count()
    }

    /// The check one of whose wordings is the whole `message`, the first in file order.
    pub fn by_wording(&self, message: &[u8]) -> Option<usize> {
        self.wordings.iter().find(|(_, r)| r.is_match(message)).map(|&(i, _)| i)
    }

    /// The findings' signatures: per check an error and a warning signature (2i, 2i + 1), then
    /// [`UNKNOWN_ERROR`], [`UNKNOWN_WARNING`] and [`UNNAMED`] (offsets after them).
    pub(crate) fn signatures(&self) -> Vec<Signature> {
        let mut out = Vec::new();
        for c in &self.checks {
            let slug = slug(&c.name);
            let sources: Vec<Source> = c
                .wording
                .iter()
                .map(|w| Source {
                    file: "kubernetes/kubernetes cmd/kubeadm/app/preflight/checks.go (preflight-checks.yaml)".into(),
                    releases: w.releases.clone(),
                    wording: w.text.clone(),
                    evidence: w.evidence.clone(),
                })
                .collect();
            let sig = |id: String, meaning: String| Signature {
                id,
                domain: Some(c.domain),
                role: ROLE_CAUSE.into(),
                pattern: c.regex.clone(),
                masks: Vec::new(),
                meaning,
                fix: c.fix.clone(),
                sources: sources.clone(),
                examples: Vec::new(),
                explains: Vec::new(),
                normal_after_join: false,
            };
            out.push(sig(
                format!("preflight-check-{slug}"),
                format!(
                    "kubeadm's preflight check {} failed (the line names the check and quotes its message); it checks that {} (releases {})",
                    c.name, c.checks, c.releases
                ),
            ));
            out.push(sig(
                format!("preflight-warning-{slug}"),
                format!(
                    "kubeadm's preflight check {} warned and kubeadm went on (a warning, or an error named in --ignore-preflight-errors); it checks that {}",
                    c.name, c.checks
                ),
            ));
        }
        let generic = |id: &str, meaning: &str| {
            Signature {
            id: id.into(),
            domain: Some(UNKNOWN_DOMAIN),
            role: ROLE_CAUSE.into(),
            pattern: r"\[(?:ERROR|WARNING) ([^\]\s]+)\]".into(),
            masks: Vec::new(),
            meaning: meaning.into(),
            fix: "read the check's message on the line; fix what it names on this node, or skip the check with --ignore-preflight-errors=<name> if it does not apply".into(),
            sources: Vec::new(),
            examples: Vec::new(),
            explains: Vec::new(),
            normal_after_join: false,
        }
        };
        out.push(generic("preflight-check-unknown", "a kubeadm preflight check failed whose name explain-log's table (preflight-checks.yaml, kubeadm 1.10-1.36) does not know; the line names the check and quotes its message"));
        out.push(generic(
            "preflight-warning-unknown",
            "a kubeadm preflight check whose name explain-log's table does not know warned, and kubeadm went on",
        ));
        out.push(generic("preflight-check-unnamed", "a kubeadm (<= 1.8) preflight check failed; that kubeadm printed no check name, and the message matches none of the table's wordings"));
        out
    }
}

/// Offsets, after the per-check signatures, of the generic ones.
pub(crate) const UNKNOWN_ERROR: usize = 0;
/// A warning of an unknown check.
pub(crate) const UNKNOWN_WARNING: usize = 1;
/// An unnamed (<= 1.8) failure no wording matches.
pub(crate) const UNNAMED: usize = 2;

/// The domain of a check the table does not know (see the module docs).
pub const UNKNOWN_DOMAIN: Domain = Domain::NodeState;

/// `Port-{port}` as `port-port`: lowercase ASCII letters and digits, other runs as one `-`.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// A named preflight line: `[ERROR <name>]` or `[WARNING <name>]` (a name without spaces or
/// `]`, as `RunChecks` prints it). Returns (warning, name).
pub fn named(line: &[u8]) -> Option<(bool, &[u8])> {
    // The first `[ERROR <name>]` or `[WARNING <name>]`, whichever comes first.
    for k in memchr::memchr_iter(b'[', line) {
        let at = &line[k + 1..];
        let (warning, rest) = if let Some(rest) = at.strip_prefix(b"ERROR ") {
            (false, rest)
        } else if let Some(rest) = at.strip_prefix(b"WARNING ") {
            (true, rest)
        } else {
            continue;
        };
        let end = rest.iter().position(|&b| b == b']' || b.is_ascii_whitespace());
        if let Some(end) = end.filter(|&e| e > 0 && rest[e] == b']') {
            return Some((warning, &rest[..end]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parses_and_every_regex_compiles_and_every_instance_has_one_entry() {
        let t = Table::parse(PREFLIGHT_YAML).unwrap();
        assert!(t.checks.len() >= 35, "{}", t.checks.len());
        for c in &t.checks {
            assert!(c.regex.starts_with('^') && c.regex.ends_with('$'), "{}", c.name);
            assert!(!c.wording.is_empty() || c.evidence.is_some(), "{}: no wording and no evidence", c.name);
            for w in &c.wording {
                assert!(!w.releases.trim().is_empty(), "{}: {:?}", c.name, w.text);
                assert!(!w.evidence.trim().is_empty(), "{}: {:?}", c.name, w.text);
                // Every wording compiles as a regex (those too short to decide are still checked).
                RegexBuilder::new(&wording_regex(&w.text)).unicode(false).build().unwrap();
            }
            // The prefix filter loses no match.
            let i = t.checks.iter().position(|o| o.name == c.name).unwrap();
            assert!(!t.prefixes[i].is_empty(), "{}: no prefix", c.name);
            // A plain name is its own instance.
            if !c.name.contains('{') {
                assert_eq!(t.name_matches(c.name.as_bytes()), 1, "{}", c.name);
                assert_eq!(t.by_name(c.name.as_bytes()), t.checks.iter().position(|o| o.name == c.name));
            }
            // (An instance still written with a placeholder, e.g. the external etcd files, is
            // a family of names, not one.)
            for inst in c.instances.iter().filter(|i| !i.name.contains('{')) {
                assert_eq!(t.name_matches(inst.name.as_bytes()), 1, "{}: instance {}", c.name, inst.name);
                assert_eq!(&t.checks[t.by_name(inst.name.as_bytes()).unwrap()].name, &c.name, "{}", inst.name);
            }
        }
    }

    #[test]
    fn wordings_become_regexes() {
        assert!(regex::Regex::new(&wording_regex("port %d is in use")).unwrap().is_match("port 10250 is in use"));
        let r =
            regex::Regex::new(&wording_regex("%s service is not enabled, please run 'systemctl enable %s.service'"))
                .unwrap();
        assert!(r.is_match("kubelet service is not enabled, please run 'systemctl enable kubelet.service'"));
        let r = regex::Regex::new(&wording_regex("unable to check %q: %v (100%%)")).unwrap();
        assert!(r.is_match("unable to check \"x\": boom (100%)"));
        assert!(!r.is_match("unable to check x: boom (100%)"));
    }

    #[test]
    fn names_are_taken_out_of_lines() {
        assert_eq!(named(b"\t[ERROR Port-10250]: Port 10250 is in use"), Some((false, &b"Port-10250"[..])));
        assert_eq!(named(b"W0101 checks.go:1] [WARNING Hostname]: x"), Some((true, &b"Hostname"[..])));
        assert_eq!(named(b"[WARNING] something"), None);
        assert_eq!(named(b"[ERROR two words]: x"), None);
    }
}
