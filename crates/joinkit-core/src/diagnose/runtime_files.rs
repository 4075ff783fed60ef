//! The runtime's and the kubelet's configuration files as diagnose reads them under `--root`:
//! the kubelet's `KubeletConfiguration` (`/var/lib/kubelet/config.yaml`, kubelet
//! `pkg/kubelet/apis/config/v1beta1/defaults.go`: `cgroupDriver` defaults to `cgroupfs`,
//! `failSwapOn` to true; kubeadm writes `cgroupDriver: systemd` since v1.22,
//! `cmd/kubeadm/app/componentconfigs/kubelet.go`), the kubelet's extra flags
//! (`/var/lib/kubelet/kubeadm-flags.env`, `/etc/default/kubelet`, `/etc/sysconfig/kubelet`),
//! containerd's `config.toml` (config versions 1, 2 and 3: `SystemdCgroup` in the runc options of
//! the default runtime, `disabled_plugins`; containerd `docs/cri/config.md`) and CRI-O's
//! (`cgroup_manager` in `[crio.runtime]`, default systemd; cri-o `docs/crio.conf.5.md`).

use super::local::{NodeFs, ReadFailure, FILE_LIMIT};
use crate::redact::parse_error;
use crate::yaml::{pos_at, saphyr_pos};

/// The kubelet's configuration file, written by `kubeadm join` from the kubelet-config ConfigMap.
pub(super) const KUBELET_CONFIG: &str = "/var/lib/kubelet/config.yaml";
/// containerd's configuration file.
pub(super) const CONTAINERD_CONFIG: &str = "/etc/containerd/config.toml";
/// CRI-O's configuration file (drop-ins in `crio.conf.d/`).
pub(super) const CRIO_CONFIG: &str = "/etc/crio/crio.conf";

/// What the kubelet's configuration says (`None`: the file is not there yet).
#[derive(Debug, Default)]
pub(super) struct KubeletConfig {
    /// `cgroupDriver` as written (absent: the kubelet's default, cgroupfs).
    pub(super) cgroup_driver: Option<String>,
    /// `failSwapOn` (absent: true), or `--fail-swap-on=` in the kubelet's extra flags.
    pub(super) fail_swap_on: Option<bool>,
    /// Where `failSwapOn` was set.
    pub(super) fail_swap_on_from: String,
    /// `memorySwap.swapBehavior`.
    pub(super) swap_behavior: Option<String>,
    /// The CRI endpoint the kubelet uses: `containerRuntimeEndpoint` (a KubeletConfiguration
    /// field since v1.27, `staging/src/k8s.io/kubelet/config/v1beta1/types.go`), or
    /// `--container-runtime-endpoint=` in its extra flags (the flag before that,
    /// `cmd/kubelet/app/options/container_runtime.go`, which kubeadm put in kubeadm-flags.env).
    pub(super) runtime_endpoint: Option<String>,
    /// Where the endpoint was set.
    pub(super) runtime_endpoint_from: String,
}

/// Reads the kubelet's configuration under `--root`: `Ok(None)` when it is not there (before a
/// join), `Err` when it is there but unreadable or not YAML (the position only, never its text).
pub(super) fn kubelet_config(fs: &NodeFs) -> Result<Option<KubeletConfig>, String> {
    let text = match fs.read(KUBELET_CONFIG, FILE_LIMIT) {
        Ok(t) => t,
        Err(ReadFailure::Missing(_)) => return Ok(None),
        Err(e) => return Err(e.reason()),
    };
    // The YAML 1.1 line-break rule first (the kubelet reads this file with go-yaml), then the
    // parse; neither message quotes the file.
    crate::yaml::check_line_breaks(&text)
        .map_err(|e| format!("{KUBELET_CONFIG}: {} at line {}, column {}", e.message, e.pos.line, e.pos.col))?;
    let v: serde_json::Value = serde_saphyr::from_str(&text)
        .map_err(|e| parse_error(KUBELET_CONFIG, "a YAML KubeletConfiguration", saphyr_pos(&e)))?;
    let mut k = KubeletConfig {
        cgroup_driver: v.get("cgroupDriver").and_then(|d| d.as_str()).map(str::to_string),
        fail_swap_on: v.get("failSwapOn").and_then(|d| d.as_bool()),
        fail_swap_on_from: KUBELET_CONFIG.to_string(),
        swap_behavior: v.pointer("/memorySwap/swapBehavior").and_then(|d| d.as_str()).map(str::to_string),
        runtime_endpoint: v
            .get("containerRuntimeEndpoint")
            .and_then(|d| d.as_str())
            .filter(|e| !e.is_empty())
            .map(str::to_string),
        runtime_endpoint_from: format!("containerRuntimeEndpoint in {KUBELET_CONFIG}"),
    };
    // A flag overrides the file (kubeadm-flags.env, then KUBELET_EXTRA_ARGS).
    for f in ["/var/lib/kubelet/kubeadm-flags.env", "/etc/default/kubelet", "/etc/sysconfig/kubelet"] {
        let Ok(t) = fs.read(f, FILE_LIMIT) else { continue };
        for word in t.split(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
            if let Some(v) = word.strip_prefix("--fail-swap-on=") {
                k.fail_swap_on = Some(v != "false");
                k.fail_swap_on_from = format!("--fail-swap-on={v} in {f}");
            } else if let Some(v) = word.strip_prefix("--cgroup-driver=") {
                k.cgroup_driver = Some(v.to_string());
            } else if let Some(v) = word.strip_prefix("--container-runtime-endpoint=").filter(|v| !v.is_empty()) {
                k.runtime_endpoint = Some(v.to_string());
                k.runtime_endpoint_from = format!("--container-runtime-endpoint in {f}");
            }
        }
    }
    Ok(Some(k))
}

/// A runtime's cgroup driver as its configuration sets it.
#[derive(Debug)]
pub(super) struct RuntimeDriver {
    /// `systemd` or `cgroupfs`.
    pub(super) driver: &'static str,
    /// Which file and key (or default) said so.
    pub(super) from: String,
    /// containerd's config disables the CRI plugin.
    pub(super) cri_disabled: bool,
}

/// The TOML file `p` under `--root`: `Ok(None)` when it is not there; a syntax error gives the
/// position only (toml's message quotes the line).
fn toml_under(fs: &NodeFs, p: &str) -> Result<Option<toml::Table>, String> {
    match fs.read(p, FILE_LIMIT) {
        Ok(t) => toml::from_str::<toml::Table>(&t)
            .map(Some)
            .map_err(|e| parse_error(p, "TOML", e.span().map(|s| pos_at(&t, s.start)))),
        Err(ReadFailure::Missing(_)) => Ok(None),
        Err(e) => Err(e.reason()),
    }
}

fn path<'a>(t: &'a toml::Table, keys: &[&str]) -> Option<&'a toml::Value> {
    let (last, head) = keys.split_last()?;
    let mut cur = t;
    for k in head {
        cur = cur.get(*k)?.as_table()?;
    }
    cur.get(*last)
}

/// containerd's cgroup driver from its config under `--root` (absent file: containerd's built-in
/// default, `SystemdCgroup = false`).
pub(super) fn containerd_driver(fs: &NodeFs) -> Result<RuntimeDriver, String> {
    let Some(t) = toml_under(fs, CONTAINERD_CONFIG)? else {
        return Ok(RuntimeDriver {
            driver: "cgroupfs",
            from: format!("no {CONTAINERD_CONFIG}: containerd's built-in default (SystemdCgroup = false)"),
            cri_disabled: false,
        });
    };
    let cri_disabled = t.get("disabled_plugins").and_then(|d| d.as_array()).is_some_and(|a| {
        a.iter()
            .any(|p| matches!(p.as_str(), Some("cri" | "io.containerd.grpc.v1.cri" | "io.containerd.cri.v1.runtime")))
    });
    // (config version, the CRI runtime plugin's table) for versions 3, 2 and 1.
    let layouts: [(&str, &[&str]); 3] = [
        ("3", &["plugins", "io.containerd.cri.v1.runtime"]),
        ("2", &["plugins", "io.containerd.grpc.v1.cri"]),
        ("1", &["plugins", "cri"]),
    ];
    for (version, plugin) in layouts {
        let mut keys: Vec<&str> = plugin.to_vec();
        keys.extend(["containerd", "default_runtime_name"]);
        let runtime = path(&t, &keys).and_then(|v| v.as_str()).unwrap_or("runc").to_string();
        let mut keys: Vec<&str> = plugin.to_vec();
        keys.extend(["containerd", "runtimes", runtime.as_str(), "options", "SystemdCgroup"]);
        if let Some(b) = path(&t, &keys).and_then(|v| v.as_bool()) {
            let shown = format!(
                "SystemdCgroup = {b} in {CONTAINERD_CONFIG} [{}.containerd.runtimes.{runtime}.options] (config version {version})",
                plugin.iter().map(|p| if p.contains('.') { format!("\"{p}\"") } else { p.to_string() }).collect::<Vec<_>>().join(".")
            );
            return Ok(RuntimeDriver { driver: if b { "systemd" } else { "cgroupfs" }, from: shown, cri_disabled });
        }
        // The legacy io.containerd.runtime.v1.linux switch.
        let mut keys: Vec<&str> = plugin.to_vec();
        keys.push("systemd_cgroup");
        if let Some(true) = path(&t, &keys).and_then(|v| v.as_bool()) {
            return Ok(RuntimeDriver {
                driver: "systemd",
                from: format!("systemd_cgroup = true in {CONTAINERD_CONFIG}"),
                cri_disabled,
            });
        }
    }
    Ok(RuntimeDriver {
        driver: "cgroupfs",
        from: format!("{CONTAINERD_CONFIG} does not set SystemdCgroup for the runc runtime (default false)"),
        cri_disabled,
    })
}

/// CRI-O's cgroup manager from `crio.conf` and its drop-ins (in name order, the last wins;
/// default systemd).
pub(super) fn crio_driver(fs: &NodeFs) -> Result<RuntimeDriver, String> {
    let mut files = vec![CRIO_CONFIG.to_string()];
    match fs.list("/etc/crio/crio.conf.d") {
        Ok(names) => files.extend(names.into_iter().take(100).map(|n| format!("/etc/crio/crio.conf.d/{n}"))),
        Err(ReadFailure::Outside(r)) => return Err(r),
        Err(_) => {}
    }
    let mut found = RuntimeDriver {
        driver: "systemd",
        from: "CRI-O's default (cgroup_manager = \"systemd\")".into(),
        cri_disabled: false,
    };
    for f in files {
        let Some(t) = toml_under(fs, &f)? else { continue };
        if let Some(m) = path(&t, &["crio", "runtime", "cgroup_manager"]).and_then(|v| v.as_str()) {
            found.driver = if m == "cgroupfs" { "cgroupfs" } else { "systemd" };
            found.from = format!("cgroup_manager = \"{m}\" in {f}");
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (p, text) in files {
            let p = d.path().join(p.trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        d
    }

    #[test]
    fn containerd_layouts_v1_v2_v3_and_defaults() {
        let v2 = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n  SystemdCgroup = true\n";
        let v3 = "version = 3\n[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]\n  SystemdCgroup = true\n";
        let v1 = "[plugins.cri]\n  systemd_cgroup = true\n";
        let off = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n  SystemdCgroup = false\n";
        let docker = "disabled_plugins = [\"cri\"]\n";
        for (text, want, disabled) in [
            (v2, "systemd", false),
            (v3, "systemd", false),
            (v1, "systemd", false),
            (off, "cgroupfs", false),
            (docker, "cgroupfs", true),
        ] {
            let r = root_with(&[(CONTAINERD_CONFIG, text)]);
            let d = containerd_driver(&NodeFs::new(r.path())).unwrap();
            assert_eq!((d.driver, d.cri_disabled), (want, disabled), "{text}: {}", d.from);
        }
        let r = root_with(&[]);
        assert_eq!(containerd_driver(&NodeFs::new(r.path())).unwrap().driver, "cgroupfs");
        let r = root_with(&[(CONTAINERD_CONFIG, "version = [")]);
        assert!(containerd_driver(&NodeFs::new(r.path())).is_err());
    }

    #[test]
    fn crio_drop_ins_override_and_default_is_systemd() {
        let r = root_with(&[]);
        assert_eq!(crio_driver(&NodeFs::new(r.path())).unwrap().driver, "systemd");
        let r = root_with(&[
            (CRIO_CONFIG, "[crio.runtime]\ncgroup_manager = \"systemd\"\n"),
            ("/etc/crio/crio.conf.d/10-cgroupfs.conf", "[crio.runtime]\ncgroup_manager = \"cgroupfs\"\n"),
        ]);
        assert_eq!(crio_driver(&NodeFs::new(r.path())).unwrap().driver, "cgroupfs");
    }

    #[test]
    fn kubelet_config_defaults_and_flags() {
        let r = root_with(&[]);
        assert!(kubelet_config(&NodeFs::new(r.path())).unwrap().is_none());
        let r = root_with(&[
            (KUBELET_CONFIG, "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\nmemorySwap:\n  swapBehavior: LimitedSwap\n"),
            ("/etc/default/kubelet", "KUBELET_EXTRA_ARGS=\"--fail-swap-on=false\"\n"),
        ]);
        let k = kubelet_config(&NodeFs::new(r.path())).unwrap().unwrap();
        assert_eq!(k.cgroup_driver.as_deref(), Some("systemd"));
        assert_eq!(k.fail_swap_on, Some(false));
        assert_eq!(k.swap_behavior.as_deref(), Some("LimitedSwap"));
        assert_eq!(k.runtime_endpoint, None);
        // The runtime endpoint: the config's field, overridden by the flag (kubeadm before v1.27).
        let conf = "kind: KubeletConfiguration\ncontainerRuntimeEndpoint: unix:///run/k8s/cri.sock\n";
        let r = root_with(&[(KUBELET_CONFIG, conf)]);
        let k = kubelet_config(&NodeFs::new(r.path())).unwrap().unwrap();
        assert_eq!(k.runtime_endpoint.as_deref(), Some("unix:///run/k8s/cri.sock"));
        assert_eq!(k.runtime_endpoint_from, format!("containerRuntimeEndpoint in {KUBELET_CONFIG}"));
        let r = root_with(&[
            (KUBELET_CONFIG, conf),
            ("/var/lib/kubelet/kubeadm-flags.env", "KUBELET_KUBEADM_ARGS=\"--container-runtime-endpoint=unix:///run/crio/crio.sock --pod-infra-container-image=x\"\n"),
        ]);
        let k = kubelet_config(&NodeFs::new(r.path())).unwrap().unwrap();
        assert_eq!(k.runtime_endpoint.as_deref(), Some("unix:///run/crio/crio.sock"));
        assert!(k
            .runtime_endpoint_from
            .starts_with("--container-runtime-endpoint in /var/lib/kubelet/kubeadm-flags.env"));
        // The kubelet (go-yaml v2) would read `failSwapOn: false` after the NEL; joinkit says why
        // it does not read the file instead of judging swap without it.
        let r = root_with(&[(
            KUBELET_CONFIG,
            "kind: KubeletConfiguration\ncgroupDriver: systemd # x\u{85}failSwapOn: false\n",
        )]);
        let e = kubelet_config(&NodeFs::new(r.path())).unwrap_err();
        assert!(e.contains("U+0085 NEXT LINE (NEL)") && e.ends_with("at line 2, column 26"), "{e}");
    }
}
