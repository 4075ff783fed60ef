//! What a configuration check depends on the kubeadm release: the releases joinkit knows
//! (`--kubeadm-version`), the control-plane versions each accepts, and the per-release
//! differences of `kubeadm config validate` (which kinds it checks, which fields exist).
//!
//! Every difference here was checked against the release's own binary (the kubeadm v1.33.5,
//! v1.35.3 and v1.36.2 of `../shared/k8s`; `tests/it/kubeadm_config.rs` runs them) and is
//! described in `docs/kubeadm-config-parity.md`.

/// A kubeadm release whose `kubeadm config validate` joinkit reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum KubeadmVersion {
    /// kubeadm v1.33.
    V1_33,
    /// kubeadm v1.35.
    V1_35,
    /// kubeadm v1.36 (the newest joinkit knows; the default).
    #[default]
    V1_36,
}

impl KubeadmVersion {
    /// Every release as (value, flag value, help), newest first.
    pub const ALL: &'static [(KubeadmVersion, &'static str, &'static str)] = &[
        (KubeadmVersion::V1_36, "1.36", "kubeadm v1.36 (the newest joinkit knows)"),
        (KubeadmVersion::V1_35, "1.35", "kubeadm v1.35"),
        (KubeadmVersion::V1_33, "1.33", "kubeadm v1.33"),
    ];

    /// The newest release joinkit knows.
    pub const NEWEST: KubeadmVersion = KubeadmVersion::V1_36;

    /// The minor version number: 33, 35, 36.
    pub fn minor(self) -> u64 {
        match self {
            KubeadmVersion::V1_33 => 33,
            KubeadmVersion::V1_35 => 35,
            KubeadmVersion::V1_36 => 36,
        }
    }

    /// `1.36`.
    pub fn name(self) -> String {
        format!("1.{}", self.minor())
    }

    /// Parses `1.36`, `v1.36`, `1.36.2` or `v1.36.2` (any patch release of a known minor).
    pub fn parse(s: &str) -> Option<KubeadmVersion> {
        let s = s.trim().strip_prefix('v').unwrap_or(s.trim());
        let mut parts = s.split('.');
        let (major, minor) = (parts.next()?, parts.next()?);
        if major != "1"
            || parts.clone().count() > 1
            || !parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        {
            return None;
        }
        Self::ALL.iter().map(|(v, _, _)| *v).find(|v| minor == v.minor().to_string())
    }

    /// The lowest control-plane version this kubeadm deploys or joins: its own minor minus
    /// one, patch 0 (kubeadm's `constants.MinimumControlPlaneVersion`, checked by
    /// `NormalizeKubernetesVersion` in `cmd/kubeadm/app/util/config/common.go`).
    pub fn minimum_control_plane(self) -> (u64, u64, u64) {
        (1, self.minor() - 1, 0)
    }

    /// kubeadm v1.36 warns that `kubeadm.k8s.io/v1beta3` is deprecated (`validateSupportedVersion`
    /// lists it in `deprecatedAPIVersions`); v1.35 and v1.33 read it silently.
    pub fn deprecates_v1beta3(self) -> bool {
        self >= KubeadmVersion::V1_36
    }

    /// kubeadm v1.36's `config validate` decodes an UpgradeConfiguration strictly on its own;
    /// v1.35 and v1.33 check it only when the file also has an Init- or ClusterConfiguration
    /// (`ValidateConfig` in `cmd/kubeadm/app/util/config/common.go`).
    pub fn validates_upgrade_configuration(self) -> bool {
        self >= KubeadmVersion::V1_36
    }

    /// `etcd.external.httpEndpoints` exists from kubeadm v1.35.
    pub fn has_etcd_http_endpoints(self) -> bool {
        self >= KubeadmVersion::V1_35
    }

    /// The kinds of `kubelet.config.k8s.io/v1beta1` this kubeadm's component-config scheme
    /// knows (`ImagePullIntent` and `ImagePulledRecord` from v1.35).
    pub fn kubelet_kinds(self) -> &'static [&'static str] {
        if self >= KubeadmVersion::V1_35 {
            &[
                "KubeletConfiguration",
                "SerializedNodeConfigSource",
                "CredentialProviderConfig",
                "ImagePullIntent",
                "ImagePulledRecord",
            ]
        } else {
            &["KubeletConfiguration", "SerializedNodeConfigSource", "CredentialProviderConfig"]
        }
    }
}

/// A semantic version as kubeadm's `k8s.io/apimachinery/pkg/util/version.ParseSemantic` reads
/// it: `vMAJOR.MINOR.PATCH`, an optional `-pre.release` and `+build` (the `v` is optional).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Semver {
    pub(crate) core: (u64, u64, u64),
    pub(crate) pre: Vec<String>,
}

impl Semver {
    /// Parses a strict semantic version (no leading zeros, all three numbers).
    pub(crate) fn parse(s: &str) -> Option<Semver> {
        let s = s.strip_prefix('v').unwrap_or(s);
        let (s, _build) = match s.split_once('+') {
            Some((a, b))
                if !b.is_empty()
                    && b.split('.')
                        .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')) =>
            {
                (a, Some(b))
            }
            Some(_) => return None,
            None => (s, None),
        };
        let (core, pre) = match s.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (s, None),
        };
        let nums: Vec<&str> = core.split('.').collect();
        if nums.len() != 3 {
            return None;
        }
        let num = |p: &str| -> Option<u64> {
            if p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()) || (p.len() > 1 && p.starts_with('0')) {
                return None;
            }
            p.parse().ok()
        };
        let core = (num(nums[0])?, num(nums[1])?, num(nums[2])?);
        let pre = match pre {
            None => Vec::new(),
            Some(p) => {
                let ids: Vec<String> = p.split('.').map(str::to_string).collect();
                if ids.iter().any(|i| i.is_empty() || !i.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')) {
                    return None;
                }
                ids
            }
        };
        Some(Semver { core, pre })
    }

    /// `self < (major, minor, patch)` with semver precedence (a pre-release is lower).
    pub(crate) fn less_than(&self, other: (u64, u64, u64)) -> bool {
        self.core < other || (self.core == other && !self.pre.is_empty())
    }
}

/// What kubeadm makes of `kubernetesVersion` (`KubernetesReleaseVersion` in
/// `cmd/kubeadm/app/util/version.go`, then `NormalizeKubernetesVersion`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KubernetesVersion {
    /// A version, used as written.
    Exact(String),
    /// A label (`stable`, `latest-1.35`, `ci/latest`) kubeadm resolves over the network
    /// (dl.k8s.io); offline it falls back to its own version. The minor named by the label,
    /// if any.
    Label { minor: Option<u64> },
}

/// kubeadm's `kubeReleaseRegex`: `^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)([-\w.+]*)?$`.
fn release_like(s: &str) -> bool {
    let s = s.strip_prefix('v').unwrap_or(s);
    let mut rest = s;
    for i in 0..3 {
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || (n > 1 && rest.starts_with('0')) {
            return false;
        }
        rest = &rest[n..];
        if i < 2 {
            match rest.strip_prefix('.') {
                Some(r) => rest = r,
                None => return false,
            }
        }
    }
    rest.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'+'))
}

/// kubeadm's `kubeReleaseLabelRegex`: `^((latest|stable)+(-[1-9](\.[1-9]([0-9])?)?)?)\z`; the
/// minor it names.
fn release_label(s: &str) -> Option<Option<u64>> {
    let mut rest = s;
    let mut words = 0;
    while let Some(r) = rest.strip_prefix("latest").or_else(|| rest.strip_prefix("stable")) {
        rest = r;
        words += 1;
    }
    if words == 0 {
        return None;
    }
    if rest.is_empty() {
        return Some(None);
    }
    let r = rest.strip_prefix('-')?;
    let b = r.as_bytes();
    if b.is_empty() || !(b'1'..=b'9').contains(&b[0]) {
        return None;
    }
    if b.len() == 1 {
        return Some(None);
    }
    if b[1] != b'.' || b.len() < 3 || !(b'1'..=b'9').contains(&b[2]) {
        return None;
    }
    match b.len() {
        3 => Some(Some(u64::from(b[2] - b'0'))),
        4 if b[3].is_ascii_digit() => Some(Some(u64::from(b[2] - b'0') * 10 + u64::from(b[3] - b'0'))),
        _ => None,
    }
}

/// Reads `kubernetesVersion` as kubeadm does; the error is kubeadm's message. An empty value
/// is kubeadm's default label `stable-1`.
pub(crate) fn kubernetes_version(value: &str) -> Result<KubernetesVersion, String> {
    if value.is_empty() {
        return Ok(KubernetesVersion::Label { minor: None });
    }
    if release_like(value) {
        return Ok(KubernetesVersion::Exact(value.to_string()));
    }
    // `kubeBucketPrefixes`: ^((release|ci)/)?([-\w.+]+)$
    let label = value.strip_prefix("release/").or_else(|| value.strip_prefix("ci/")).unwrap_or(value);
    if label.is_empty() || !label.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'+')) {
        return Err(format!("invalid version {value:?}"));
    }
    if release_like(label) {
        return Ok(KubernetesVersion::Exact(label.to_string()));
    }
    match release_label(label) {
        Some(minor) => Ok(KubernetesVersion::Label { minor }),
        None => Err(format!(
            "version {value:?} doesn't match patterns for neither semantic version nor labels (stable, latest, ...)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_bound_the_control_plane() {
        assert_eq!(KubeadmVersion::parse("v1.36.2"), Some(KubeadmVersion::V1_36));
        assert_eq!(KubeadmVersion::parse("1.33"), Some(KubeadmVersion::V1_33));
        assert_eq!(KubeadmVersion::parse("1.34"), None);
        assert_eq!(KubeadmVersion::parse("2.36"), None);
        assert_eq!(KubeadmVersion::V1_36.minimum_control_plane(), (1, 35, 0));
    }

    #[test]
    fn kubernetes_version_as_kubeadm_reads_it() {
        use KubernetesVersion::*;
        assert_eq!(kubernetes_version("v1.35.0"), Ok(Exact("v1.35.0".into())));
        assert_eq!(kubernetes_version("1.35.0"), Ok(Exact("1.35.0".into())));
        assert_eq!(kubernetes_version("ci/v1.30.1"), Ok(Exact("v1.30.1".into())));
        assert_eq!(kubernetes_version("stable-1.30"), Ok(Label { minor: Some(30) }));
        assert_eq!(kubernetes_version("stable"), Ok(Label { minor: None }));
        assert_eq!(kubernetes_version("latest-1"), Ok(Label { minor: None }));
        assert_eq!(kubernetes_version(""), Ok(Label { minor: None }));
        for bad in ["v1.35", "V1.35.0", "garbage", "stable-1.0", "stable-0"] {
            assert!(kubernetes_version(bad).unwrap_err().contains("doesn't match patterns"), "{bad}");
        }
        assert!(kubernetes_version("a b").unwrap_err().starts_with("invalid version"));
        let v = Semver::parse("v1.35.0-alpha.1").unwrap();
        assert!(v.less_than((1, 35, 0)));
        assert!(!Semver::parse("v1.35.0+abc").unwrap().less_than((1, 35, 0)));
        assert!(Semver::parse("v1.35.0foo").is_none());
    }
}
