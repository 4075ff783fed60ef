//! explain-log's catalog: the signatures of `log-signatures.yaml` (compiled in), each with the
//! upstream sources of its wordings (kubeadm and the kubelet in kubernetes/kubernetes, client-go,
//! Go's crypto/x509 and net, containerd, podman, amazon-eks-ami), compiled once.
//!
//! **How a line is matched.** Each pattern is compiled on its own, and each has *required
//! literals*: strings one of which every match contains, read from the pattern's syntax tree
//! ([`required_literals`]; e.g. `[Rr]unning with swap on is not supported` requires "unning
//! with swap on is not supported"). Their first [`LITERAL_PREFIX`] bytes go into one
//! Aho-Corasick automaton (a DFA built once, its size bounded by the literals). A line is
//! scanned once by that automaton; only the signatures whose literal it contains are then run,
//! each its own regex, on that line. Most lines contain no literal and cost one DFA pass; a
//! line that matches costs one pass more per candidate. No signature is lost: a line matches
//! a pattern only if it contains one of the pattern's literals, so the candidates include every
//! match (a randomised test compares with running every pattern on every line).
//!
//! Why not one `RegexSet`: its lazy DFA combines the partial matches of all 69 patterns, and a
//! log where every line matches some signature creates more DFA states than its cache holds;
//! regex-automata then gives up on the lazy DFA and falls back to the PikeVM (`hybrid::dfa`,
//! `Config::minimum_cache_clear_count`), at 0.1-0.3 MB/s.
//!
//! **Bytes, not Unicode.** Patterns are matched on bytes with Unicode mode off (`UNICODE`): `.`
//! is any byte but `\n`, and `\w`, `\s`, `\S` and `\b` are their ASCII classes. With Unicode
//! mode on, a Unicode `\b` makes the lazy DFA give up at the first non-ASCII byte (regex-automata,
//! `hybrid::dfa::Config::unicode_word_boundary`), and the search falls back to the PikeVM:
//! explain-log read non-ASCII text, invalid UTF-8 and binary input at 0.1-0.3 MB/s instead of
//! 200 MB/s (`bench/explain_inputs.py`). Every pattern is ASCII (a test checks), so the literal
//! parts match the same bytes; a line with invalid UTF-8 now matches where its text does
//! (Unicode `.` and `[^"]` never matched an invalid byte), and `\s`, `\w` no longer match
//! non-ASCII spaces and letters, which no catalog wording relies on.

use crate::error::Domain;
use aho_corasick::automaton::Automaton;
use aho_corasick::{dfa::DFA, Anchored, MatchKind};
use regex::bytes::{Regex, RegexBuilder};
use regex_syntax::hir::{Hir, HirKind};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

use super::preflight::{named, Table, UNKNOWN_ERROR, UNKNOWN_WARNING, UNNAMED};
use super::status;
use super::transport;
use super::unmatched;

/// The catalog source.
pub(crate) const CATALOG_YAML: &str = include_str!("../log-signatures.yaml");

/// Where one wording of a signature comes from.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The upstream file that prints it (repository and path).
    pub file: String,
    /// The releases that print this wording (`~` marks an inferred range).
    pub releases: String,
    /// The text as printed, with Go verbs (`%q`, `%s`, `%v`, `%d`) for the variable parts.
    pub wording: String,
    /// Where it was read: repo@commit:path, an issue or PR URL, or an index id.
    pub evidence: String,
}

/// One signature of the catalog.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// Stable id.
    pub id: String,
    /// Failure domain (required for failures; none for `progress` and `success`).
    #[serde(default)]
    pub domain: Option<Domain>,
    /// `cause` or `symptom` (failures), `progress` or `success` (context).
    pub role: String,
    /// The regex.
    pub pattern: String,
    /// Ids of more generic signatures this one overrides on the same line (e.g. the kubelet
    /// health check's "connection refused" to localhost:10248 is not a network cause).
    #[serde(default)]
    pub masks: Vec<String>,
    /// What it means.
    pub meaning: String,
    /// How to fix it.
    pub fix: String,
    /// The upstream sources of its wordings, across releases (empty, with a comment in the
    /// file saying why, when none was found).
    pub sources: Vec<Source>,
    /// Real example lines.
    pub examples: Vec<String>,
    /// Ids of the findings this cause explains (its consequences): when both are in a log,
    /// this one is the root cause even where the other came first (an expired client
    /// certificate explains the refusals and the fallback to the bootstrap kubeconfig that
    /// follow it).
    #[serde(default)]
    pub explains: Vec<String>,
    /// A line that is the normal state after a successful join (kubeadm removes the bootstrap
    /// kubeconfig once the kubelet has its certificate): after a success line it is not a
    /// failure.
    #[serde(default)]
    pub normal_after_join: bool,
}

impl Signature {
    /// A failure signature (`cause` or `symptom`): a finding that can decide the root cause.
    pub fn is_failure(&self) -> bool {
        is_failure_role(&self.role)
    }
}

/// `cause` and `symptom` are failures; `progress` and `success` are context.
pub(crate) fn is_failure_role(role: &str) -> bool {
    role == ROLE_CAUSE || role == ROLE_SYMPTOM
}

/// A root cause.
pub(crate) const ROLE_CAUSE: &str = "cause";
/// A consequence pointing at a cause found elsewhere.
pub(crate) const ROLE_SYMPTOM: &str = "symptom";
/// A progress line every join prints: context, never a finding.
pub(crate) const ROLE_PROGRESS: &str = "progress";
/// kubeadm join's final message: the join succeeded.
pub(crate) const ROLE_SUCCESS: &str = "success";
/// Every role the catalog may use.
pub const ROLES: &[&str] = &[ROLE_CAUSE, ROLE_SYMPTOM, ROLE_PROGRESS, ROLE_SUCCESS];

/// The compiled catalog.
pub struct Catalog {
    /// The signatures, in file order.
    pub signatures: Vec<Signature>,
    /// Each signature's pattern, compiled.
    regexes: Vec<Regex>,
    /// The required literals of every signature (their first [`LITERAL_PREFIX`] bytes), as an
    /// Aho-Corasick DFA with standard match semantics (a match state lists every literal that
    /// ends there, so one walk finds them all, overlapping or not).
    literals: DFA,
    /// Its unanchored start state.
    start: aho_corasick::automaton::StateID,
    /// For each literal of `literals`, the signature that requires it.
    literal_owner: Vec<usize>,
    /// Signatures without a required literal: run on every line (a test keeps this empty).
    unfiltered: Vec<usize>,
    /// Signatures whose pattern is a set of plain strings ([`exact_literals`]), all of them in
    /// `literals` whole: a literal found is a match, and the regex is not run.
    exact: Vec<bool>,
    /// For each signature, the indexes of the signatures it masks on the same line.
    masks: Vec<Vec<usize>>,
    /// kubeadm's preflight checks by name ([`super::preflight`]).
    pub preflight_table: Table,
    /// The findings' signatures of the preflight checks, after `signatures` in index order
    /// ([`Table::signatures`]): index `signatures.len() + k`.
    pub preflight: Vec<Signature>,
    /// The catalog signatures the status-error rule supersedes ([`status::SUPERSEDES`]).
    superseded: Vec<usize>,
    /// Per transport class, the catalog signatures it supersedes
    /// ([`transport::Class::supersedes`]), then their union ([`transport::SUPERSEDED_ANY`]).
    transport_superseded: Vec<Vec<usize>>,
}

/// Literals of the preflight rules in the automaton, owned by these sentinel owners: a named
/// check (`[ERROR ` / `[WARNING `), kubeadm <= 1.8's `[preflight] WARNING: `, and the start of
/// a fatal block (`Some fatal errors occurred:`, kubeadm <= 1.8 lists unnamed lines after it).
const PREFLIGHT_LITERALS: [(&[u8], u16); 4] = [
    (b"[ERROR ", FLAG_NAMED),
    (b"[WARNING ", FLAG_NAMED),
    (b"[preflight] WARNING: ", FLAG_OLD_WARNING),
    (b"Some fatal errors occurred:", FLAG_OLD_BLOCK),
];
const FLAG_NAMED: u16 = 1;
const FLAG_OLD_WARNING: u16 = 2;
const FLAG_OLD_BLOCK: u16 = 4;
/// A status-error literal ([`status::LITERALS`]): the line goes through [`status::parse`].
const FLAG_STATUS: u16 = 8;
/// Transport-error literals ([`transport::LITERALS`]): their groups, shifted by 4 (16, 32, 64,
/// 128, 256); the line goes through [`transport::class_in`] for those groups.
const FLAG_TRANSPORT: u16 = (transport::G_ALL as u16) << 4;
/// A failure word ([`unmatched::FAILURE_WORDS`], in lower case, capitalised or upper case):
/// the line may be a failure line no signature knows ([`unmatched`]), found in the same walk.
const FLAG_FAILURE_WORD: u16 = 1 << 9;
/// Owners at or above this are flags (`SENTINEL + flag`).
const SENTINEL: usize = usize::MAX - 0xFFFF;

/// How many bytes of a required literal go into the automaton: a prefix of a required literal
/// is required too, and shorter literals keep the automaton small (about 0.7 MB for the
/// catalog) and quick to build, at the price of a few more candidates to run.
pub const LITERAL_PREFIX: usize = 16;

/// The longest plain string that goes into the automaton whole (see [`LITERAL_PREFIX`]).
pub const EXACT_MAX: usize = 24;

/// The most strings, and the longest, a pattern may stand for to be matched by the literal
/// automaton alone ([`exact_literals`]).
const EXACT_MAX_STRINGS: usize = 16;
const EXACT_MAX_LEN: usize = 64;

/// The strings `hir` matches, when it is a plain string or an alternation or concatenation of
/// them (no class, repetition or look-around), at most [`EXACT_MAX_STRINGS`] of at most
/// [`EXACT_MAX_LEN`] bytes; such a pattern matches a line exactly when one of them is in it.
pub fn exact_literals(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let set = match hir.kind() {
        HirKind::Literal(l) => vec![l.0.to_vec()],
        HirKind::Capture(c) => exact_literals(&c.sub)?,
        HirKind::Alternation(subs) => {
            let mut all = Vec::new();
            for sub in subs {
                all.extend(exact_literals(sub)?);
            }
            all
        }
        HirKind::Concat(subs) => {
            let mut all = vec![Vec::new()];
            for sub in subs {
                let next = exact_literals(sub)?;
                if all.len() * next.len() > EXACT_MAX_STRINGS {
                    return None;
                }
                all = all.iter().flat_map(|a| next.iter().map(move |b| [a.as_slice(), b].concat())).collect();
            }
            all
        }
        _ => return None,
    };
    (set.len() <= EXACT_MAX_STRINGS && set.iter().all(|l| !l.is_empty() && l.len() <= EXACT_MAX_LEN)).then_some(set)
}

/// Literals of which every match of `hir` contains at least one, or `None` when the pattern has
/// none (an empty literal counts as none). Sound, not complete: a literal is required by a
/// concatenation if one part requires it (the part whose shortest literal is longest is
/// taken), by an alternation if every branch requires one of the set (their union), and by a
/// repetition that matches at least once or a group if the inside requires it; classes,
/// look-arounds and optional parts require nothing. (regex-syntax's `hir::literal` extracts
/// prefixes and suffixes only, which `^\s*Port` or `\\?"` at either end leave empty.)
pub fn required_literals(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let set = match hir.kind() {
        HirKind::Literal(l) => vec![l.0.to_vec()],
        HirKind::Capture(c) => required_literals(&c.sub)?,
        HirKind::Repetition(r) if r.min >= 1 => required_literals(&r.sub)?,
        HirKind::Concat(subs) => {
            subs.iter().filter_map(required_literals).max_by_key(|set| set.iter().map(Vec::len).min().unwrap_or(0))?
        }
        HirKind::Alternation(subs) => {
            let mut all = Vec::new();
            for sub in subs {
                all.extend(required_literals(sub)?);
            }
            all
        }
        _ => return None,
    };
    (!set.iter().any(Vec::is_empty)).then_some(set)
}

/// Unicode mode for the catalog's patterns: off (the module docs say why).
const UNICODE: bool = false;

/// The catalog, parsed and compiled once. Panics only if the compiled-in file is broken,
/// which a test rules out.
pub fn catalog() -> &'static Catalog {
    static C: OnceLock<Catalog> = OnceLock::new();
    C.get_or_init(|| {
        let signatures: Vec<Signature> =
            crate::yaml::from_str(CATALOG_YAML).expect("log-signatures.yaml parses (tested)");
        let regexes: Vec<Regex> = signatures
            .iter()
            .map(|s| RegexBuilder::new(&s.pattern).unicode(UNICODE).build().expect("pattern compiles (tested)"))
            .collect();
        let (mut literals, mut literal_owner, mut unfiltered) = (Vec::new(), Vec::new(), Vec::new());
        let mut exact = vec![false; signatures.len()];
        for (i, s) in signatures.iter().enumerate() {
            // The same syntax as the regex's (bytes, Unicode mode off).
            let hir = regex_syntax::ParserBuilder::new()
                .unicode(UNICODE)
                .utf8(false)
                .build()
                .parse(&s.pattern)
                .expect("pattern parses (tested)");
            // A set of plain strings no longer than [`EXACT_MAX`] goes in whole (the automaton's
            // match is the signature's match); otherwise the first bytes of the required
            // literals, and the regex confirms. Long plain strings go in cut too: each byte of
            // a literal is a state of the automaton, and a large automaton is walked from
            // memory, not from the cache.
            let (set, whole) = match exact_literals(&hir) {
                Some(set) if set.iter().all(|l| l.len() <= EXACT_MAX) => (Some(set), true),
                Some(set) => (Some(set), false),
                None => (required_literals(&hir), false),
            };
            exact[i] = whole;
            match set {
                Some(set) => {
                    for l in set {
                        let keep = if whole { l.len() } else { l.len().min(LITERAL_PREFIX) };
                        literals.push(l[..keep].to_vec());
                        literal_owner.push(i);
                    }
                }
                None => unfiltered.push(i),
            }
        }
        let status_literals = status::LITERALS.iter().map(|l| (*l, FLAG_STATUS));
        let transport_literals = transport::LITERALS.iter().map(|(l, group)| (*l, u16::from(*group) << 4));
        for (lit, flag) in PREFLIGHT_LITERALS.into_iter().chain(status_literals).chain(transport_literals) {
            literals.push(lit[..lit.len().min(LITERAL_PREFIX)].to_vec());
            literal_owner.push(SENTINEL + usize::from(flag));
        }
        for word in unmatched::FAILURE_WORDS {
            for form in unmatched::case_forms(word) {
                literals.push(form.as_bytes()[..form.len().min(LITERAL_PREFIX)].to_vec());
                literal_owner.push(SENTINEL + usize::from(FLAG_FAILURE_WORD));
            }
        }
        let literals = aho_corasick::dfa::Builder::new()
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(&literals)
            .expect("the catalog's literals fit an Aho-Corasick DFA (tested)");
        let start = literals.start_state(Anchored::No).expect("the DFA is built for unanchored searches");
        // An unknown id in `masks` masks nothing (a test rules it out).
        let masks = signatures
            .iter()
            .map(|s| s.masks.iter().filter_map(|m| signatures.iter().position(|o| &o.id == m)).collect())
            .collect();
        let preflight_table =
            Table::parse(super::preflight::PREFLIGHT_YAML).expect("preflight-checks.yaml parses (tested)");
        let preflight = preflight_table.signatures();
        let position = |id: &&str| signatures.iter().position(|s| s.id == *id);
        let superseded = status::SUPERSEDES.iter().filter_map(position).collect();
        // Per class, then (last) the union of them all.
        let mut transport_superseded: Vec<Vec<usize>> =
            transport::CLASSES.iter().map(|c| c.supersedes().iter().filter_map(position).collect()).collect();
        transport_superseded.push(transport::SUPERSEDED_ANY.iter().filter_map(position).collect());
        Catalog {
            signatures,
            regexes,
            literals,
            start,
            literal_owner,
            unfiltered,
            exact,
            masks,
            preflight_table,
            preflight,
            superseded,
            transport_superseded,
        }
    })
}

impl Catalog {
    /// Indexes of the signatures matching `line`, in catalog order, without those masked by a
    /// more specific signature that matches the same line.
    /// A named preflight line (`[ERROR <name>]`, `[WARNING <name>]`) no catalog failure
    /// signature matched adds its check's signature (an index after `signatures`).
    pub fn matches(&self, line: &[u8]) -> Vec<usize> {
        let mut m = Vec::new();
        self.matches_line(line, &mut m, &mut false);
        m
    }

    /// The signature with this id (a catalog entry, a preflight check's or a structural
    /// rule's), if any.
    pub fn by_id(&self, id: &str) -> Option<&Signature> {
        (0..self.len()).map(|i| self.signature(i)).find(|s| s.id == id)
    }

    /// Every signature: the catalog's, then the preflight checks' ([`Catalog::preflight`]),
    /// then the status-error rule's ([`status::Class`] order), then the transport rule's
    /// ([`transport::Class`] order).
    pub fn signature(&self, i: usize) -> &Signature {
        let (n, p, st) = (self.signatures.len(), self.preflight.len(), status::signatures().len());
        if i < n {
            &self.signatures[i]
        } else if i < n + p {
            &self.preflight[i - n]
        } else if i < n + p + st {
            &status::signatures()[i - n - p]
        } else {
            &transport::signatures()[i - n - p - st]
        }
    }

    /// How many signatures [`Catalog::signature`] indexes.
    pub fn len(&self) -> usize {
        self.transport_index(transport::Class::NotYetValid) + transport::signatures().len()
    }

    /// The index of the transport rule's signature of class `c`.
    pub fn transport_index(&self, c: transport::Class) -> usize {
        self.signatures.len() + self.preflight.len() + status::signatures().len() + c as usize
    }

    /// The class of transport error signature `i` stands for, if it is one of the rule's.
    pub fn transport_class(&self, i: usize) -> Option<transport::Class> {
        transport::CLASSES.get(i.checked_sub(self.transport_index(transport::Class::NotYetValid))?).copied()
    }

    /// Whether catalog signature `i` yields to the transport rule's class `c` on a line of
    /// that class.
    pub fn is_superseded_by(&self, i: usize, c: transport::Class) -> bool {
        self.transport_superseded[c as usize].contains(&i)
    }

    /// The transport rule ([`transport`]) on a line with one of its literals: where the line's
    /// structure decides a class and no catalog cause matched but the generic ones the class
    /// supersedes, those are dropped and its signature added. A gap-filling class
    /// ([`transport::Class::Dial`]) yields to any catalog failure on the line.
    /// `groups`: the groups of the transport literals the line has ([`transport::LITERALS`]).
    pub(crate) fn transport_rule(&self, line: &[u8], out: &mut Vec<usize>, groups: u8) {
        // The quick ways out, before any regex: another catalog cause keeps the line whatever
        // its class, and a line with a catalog failure is no gap for `Dial`.
        let other_cause = |i: usize| {
            self.signature(i).role == ROLE_CAUSE && !self.transport_superseded.last().is_some_and(|u| u.contains(&i))
        };
        if out.iter().any(|&i| other_cause(i)) {
            return;
        }
        let failure = out.iter().any(|&i| self.signature(i).is_failure());
        let Some(c) = transport::class_in(line, groups, !failure) else { return };
        let gap_only = c.supersedes().is_empty();
        let keeps = |i: usize| {
            let s = self.signature(i);
            !self.is_superseded_by(i, c) && (s.role == ROLE_CAUSE || (gap_only && s.is_failure()))
        };
        if out.iter().any(|&i| keeps(i)) {
            return;
        }
        out.retain(|&i| !self.is_superseded_by(i, c));
        out.push(self.transport_index(c));
    }

    /// The index of the status-error rule's signature of class `c`.
    pub fn status_index(&self, c: status::Class) -> usize {
        self.signatures.len() + self.preflight.len() + c as usize
    }

    /// The class of status error signature `i` stands for, if it is one of the rule's.
    pub fn status_class(&self, i: usize) -> Option<status::Class> {
        let k = i.checked_sub(self.signatures.len() + self.preflight.len())?;
        status::CLASSES.get(k).copied()
    }

    /// Whether catalog signature `i` yields to the status-error rule on a line it decides.
    pub fn is_superseded(&self, i: usize) -> bool {
        self.superseded.contains(&i)
    }

    /// The status-error rule ([`status`]) on a line with one of its literals: where the line
    /// is a status error whose structure decides its class, and no catalog cause matched but
    /// the generic ones it supersedes, those are dropped and its signature added. A more
    /// specific catalog cause (e.g. `kubeadm-kubelet-config-forbidden`) keeps the line; a
    /// symptom on it (e.g. kubeadm's "Failed to request cluster info" wrapper, which says the
    /// reason follows) stays listed, and the rule's cause decides.
    pub(crate) fn status_rule(&self, line: &[u8], out: &mut Vec<usize>) {
        if out.iter().any(|&i| self.signatures[i].role == ROLE_CAUSE && !self.is_superseded(i)) {
            return;
        }
        let Some(c) = status::class_of(line) else { return };
        out.retain(|&i| !self.is_superseded(i));
        out.push(self.status_index(c));
    }

    /// Never empty (the catalog has signatures); for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The index of preflight signature `k` ([`Table::signatures`] order).
    fn preflight_index(&self, k: usize) -> usize {
        self.signatures.len() + k
    }

    /// The index of a generic preflight signature (offset after the per-check ones).
    fn generic_index(&self, offset: usize) -> usize {
        self.preflight_index(2 * self.preflight_table.checks.len() + offset)
    }

    /// [`Catalog::matches`] into `out`, with the preflight rules, for one line of a log:
    /// `old_block` says the lines before were kubeadm <= 1.8's fatal block
    /// (`[preflight] Some fatal errors occurred:` then `\t<message>` lines without a name), and
    /// is updated. The preflight rules only add a finding to a line no catalog failure
    /// signature matched, so the catalog's specific preflight entries keep precedence.
    ///
    /// Returns whether the line holds a failure word ([`unmatched::FAILURE_WORDS`]), found in
    /// the same walk of the automaton.
    pub(crate) fn matches_line(&self, line: &[u8], out: &mut Vec<usize>, old_block: &mut bool) -> bool {
        let flags = self.matches_into(line, out);
        let word = flags & FLAG_FAILURE_WORD != 0;
        self.preflight_rules(line, out, old_block, flags);
        word
    }

    /// Whether `line` holds a failure word ([`unmatched::FAILURE_WORDS`] in one of its case
    /// forms).
    pub fn has_failure_word(&self, line: &[u8]) -> bool {
        self.matches_into(line, &mut Vec::new()) & FLAG_FAILURE_WORD != 0
    }

    /// The structural rules (status errors, transport errors) and the preflight rules on a line
    /// whose automaton walk gave `flags`.
    fn preflight_rules(&self, line: &[u8], out: &mut Vec<usize>, old_block: &mut bool, flags: u16) {
        if flags & FLAG_STATUS != 0 {
            self.status_rule(line, out);
        }
        if flags & FLAG_TRANSPORT != 0 {
            self.transport_rule(line, out, ((flags >> 4) & u16::from(transport::G_ALL)) as u8);
        }
        if flags & !(FLAG_STATUS | FLAG_TRANSPORT | FLAG_FAILURE_WORD) == 0 && !*old_block {
            return;
        }
        let failure = out.iter().any(|&i| self.signature(i).is_failure());
        if *old_block {
            let message = line.trim_ascii();
            let indented = line.first().is_some_and(|b| *b == b'\t' || *b == b' ');
            if indented && flags & FLAG_NAMED == 0 && !message.is_empty() && !message.starts_with(b"[") {
                if !failure {
                    out.push(match self.preflight_table.by_wording(message) {
                        Some(k) => self.preflight_index(2 * k),
                        None => self.generic_index(UNNAMED),
                    });
                }
                return;
            }
            *old_block = false;
        }
        if flags & FLAG_OLD_BLOCK != 0 {
            *old_block = true;
        }
        if failure {
            return;
        }
        if flags & FLAG_NAMED != 0 {
            if let Some((warning, name)) = named(line) {
                out.push(match self.preflight_table.by_name(name) {
                    Some(k) => self.preflight_index(2 * k + usize::from(warning)),
                    None => self.generic_index(if warning { UNKNOWN_WARNING } else { UNKNOWN_ERROR }),
                });
                return;
            }
        }
        if flags & FLAG_OLD_WARNING != 0 {
            let tag: &[u8] = b"[preflight] WARNING: ";
            if let Some(k) = memchr::memmem::find(line, tag) {
                // kubeadm <= 1.8's warning: the check only where a wording matches (other
                // `[preflight] WARNING:` lines are not checks, e.g. "Unable to start the kubelet").
                if let Some(c) = self.preflight_table.by_wording(line[k + tag.len()..].trim_ascii()) {
                    out.push(self.preflight_index(2 * c + 1));
                }
            }
        }
    }

    /// [`Catalog::matches`] into `out` (cleared first), so a scan reuses one buffer: one pass of
    /// the literal automaton over `line`, then the regex of each signature whose literal is in
    /// it.
    /// Returns the preflight flags of [`PREFLIGHT_LITERALS`] found in the line.
    fn matches_into(&self, line: &[u8], out: &mut Vec<usize>) -> u16 {
        out.clear();
        let mut flags = 0u16;
        // The DFA walk, by hand: a table lookup per byte, and a look at the state's match list
        // only in a match state (rare).
        let (a, mut sid) = (&self.literals, self.start);
        for &b in line {
            sid = a.next_state(Anchored::No, sid, b);
            if a.is_special(sid) && a.is_match(sid) {
                for k in 0..a.match_len(sid) {
                    let i = self.literal_owner[a.match_pattern(sid, k).as_usize()];
                    if i >= SENTINEL {
                        flags |= (i - SENTINEL) as u16;
                    } else if !out.contains(&i) {
                        out.push(i);
                    }
                }
            }
        }
        out.extend(self.unfiltered.iter().copied());
        if out.is_empty() {
            return flags;
        }
        out.sort_unstable();
        out.dedup();
        out.retain(|&i| self.exact[i] || self.regexes[i].is_match(line));
        if out.len() > 1 && out.iter().any(|&i| !self.masks[i].is_empty()) {
            let matched = out.clone();
            out.retain(|i| !matched.iter().any(|&j| self.masks[j].contains(i)));
        }
        flags
    }

    /// Signatures without a required literal, which run on every line (none in the catalog).
    pub fn unfiltered(&self) -> Vec<String> {
        self.unfiltered.iter().map(|&i| self.signatures[i].id.clone()).collect()
    }

    /// The matched text of signature `i` in `line`.
    pub fn find<'a>(&self, i: usize, line: &'a [u8]) -> Option<&'a [u8]> {
        self.regexes[i].find(line).map(|m| m.as_bytes())
    }

    /// Ids named in `masks` that are not in the catalog (a test requires none).
    pub fn unknown_masks(&self) -> Vec<String> {
        self.signatures
            .iter()
            .flat_map(|s| s.masks.iter())
            .filter(|m| !self.signatures.iter().any(|o| &&o.id == m))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn required(pattern: &str) -> Option<Vec<String>> {
        let hir = regex_syntax::ParserBuilder::new().unicode(UNICODE).utf8(false).build().parse(pattern).unwrap();
        required_literals(&hir).map(|s| s.into_iter().map(|l| String::from_utf8(l).unwrap()).collect())
    }

    #[test]
    fn required_literals_are_read_from_the_pattern() {
        assert_eq!(required("[Rr]unning with swap on").unwrap(), ["unning with swap on"]);
        assert_eq!(
            required(r"\[ERROR Port-[0-9]+\]|^\s*Port [0-9]+ is in use").unwrap(),
            ["[ERROR Port-", " is in use"]
        );
        assert_eq!(required(r#"nodes? \\?"[^"\\]+\\?" not found"#).unwrap(), ["\" not found"]);
        assert_eq!(required("(connect|getsockopt): connection refused").unwrap(), [": connection refused"]);
        assert_eq!(
            required(r"\bUnauthorized\b|asked for credentials").unwrap(),
            ["Unauthorized", "asked for credentials"]
        );
        // Nothing required: an optional part, a class, a branch without a literal, case folding.
        for p in ["(abc)?", "[a-z]+", "abc|[0-9]", "(?i)abc", ""] {
            assert_eq!(required(p), None, "{p}");
        }
    }

    /// Every signature has required literals (none runs on every line), and they are long
    /// enough to be selective.
    #[test]
    fn every_signature_is_filtered_by_its_literals() {
        let cat = catalog();
        assert!(cat.unfiltered().is_empty(), "{:?}", cat.unfiltered());
        for s in &cat.signatures {
            let hir =
                regex_syntax::ParserBuilder::new().unicode(UNICODE).utf8(false).build().parse(&s.pattern).unwrap();
            let set = required_literals(&hir).unwrap();
            assert!(set.iter().all(|l| l.len() >= 5), "{}: {set:?}", s.id);
        }
    }

    /// Every signature matching `line`, by running every pattern on it (then masks): what
    /// `matches` must return.
    fn every_pattern(cat: &Catalog, line: &[u8]) -> Vec<usize> {
        let m: Vec<usize> = (0..cat.signatures.len()).filter(|&i| cat.regexes[i].is_match(line)).collect();
        let mut m: Vec<usize> = m.iter().copied().filter(|i| !m.iter().any(|&j| cat.masks[j].contains(i))).collect();
        // The status-error rule, on a line where no other catalog cause matched.
        if !m.iter().any(|&i| cat.signatures[i].role == ROLE_CAUSE && !cat.is_superseded(i)) {
            if let Some(c) = status::class_of(line) {
                m.retain(|&i| !cat.is_superseded(i));
                m.push(cat.status_index(c));
            }
        }
        // The transport rule, on a line where no other catalog cause matched.
        if let Some(c) = transport::class_of(line) {
            let gap_only = c.supersedes().is_empty();
            let keeps = |i: usize| {
                let s = cat.signature(i);
                !cat.is_superseded_by(i, c) && (s.role == ROLE_CAUSE || (gap_only && s.is_failure()))
            };
            if !m.iter().any(|&i| keeps(i)) {
                m.retain(|&i| !cat.is_superseded_by(i, c));
                m.push(cat.transport_index(c));
            }
        }
        // The named preflight rule, on a line no catalog failure matched.
        if !m.iter().any(|&i| cat.signature(i).is_failure()) {
            if let Some((warning, name)) = named(line) {
                let k = cat.preflight_table.by_name(name).map(|k| 2 * k + usize::from(warning));
                m.push(cat.signatures.len() + k.unwrap_or(2 * cat.preflight_table.checks.len() + usize::from(warning)));
            }
        }
        m
    }

    /// A line: pieces of catalog examples (cut anywhere) and random bytes, in any order.
    fn line() -> impl Strategy<Value = Vec<u8>> {
        let examples: Vec<Vec<u8>> =
            catalog().signatures.iter().flat_map(|s| s.examples.iter().map(|e| e.as_bytes().to_vec())).collect();
        let piece = prop_oneof![
            3 => (proptest::sample::select(examples), any::<proptest::sample::Index>(), any::<proptest::sample::Index>())
                .prop_map(|(e, a, b)| {
                    let (a, b) = (a.index(e.len() + 1), b.index(e.len() + 1));
                    if a <= b { e } else { e[b..a].to_vec() }
                }),
            1 => proptest::collection::vec(any::<u8>(), 0..24),
        ];
        proptest::collection::vec(piece, 0..6).prop_map(|p| p.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Randomised: the literal filter never loses a match; the result is exactly that of
        /// running every pattern on the line.
        #[test]
        fn the_literal_filter_never_loses_a_match(line in line()) {
            let cat = catalog();
            prop_assert_eq!(cat.matches(&line), every_pattern(cat, &line));
        }
    }
}
