//! The object rules the lab's API server applies around routing: `managedFields` as an Update
//! records them, the strategic merge of a Node status patch, RFC 1123 name validation, the
//! field selectors joinkit sends, and the defaults a new Node gets. Upstream:
//! `staging/src/k8s.io/apimachinery/pkg/util/{managedfields,strategicpatch,validation}`,
//! `staging/src/k8s.io/apimachinery/pkg/fields` and `pkg/registry/core/node/strategy.go`.

use serde_json::{json, Value};

/// The name a `fieldSelector=metadata.name=NAME` selects. The API server treats it as the
/// request's name for lists and watches: RBAC sees it (resourceNames apply) and a 403 names it.
pub(super) fn field_selector_name(query: &str) -> Option<String> {
    query_param(query, "fieldSelector")
        .map(|v| v.replace("%3D", "=").replace("%3d", "="))
        .and_then(|v| v.strip_prefix("metadata.name=").map(str::to_string))
        .filter(|n| !n.is_empty())
}

/// `managedFields` of an object written by `manager` (the user agent up to `/`), as the API
/// server records an Update: every field the request set (metadata's name, namespace and
/// creationTimestamp aside), maps with a `"."` entry, keys sorted.
pub(super) fn managed_fields(manager: &str, api_version: &str, obj: &Value) -> Value {
    fn fields(v: &Value, dot: bool) -> Value {
        let mut m = serde_json::Map::new();
        if dot {
            m.insert(".".into(), json!({}));
        }
        if let Some(o) = v.as_object() {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            for k in keys {
                let child = &o[k];
                let f = if child.is_object() && !child.as_object().is_some_and(|c| c.is_empty()) {
                    fields(child, true)
                } else {
                    json!({})
                };
                m.insert(format!("f:{k}"), f);
            }
        }
        Value::Object(m)
    }
    let mut top = serde_json::Map::new();
    if let Some(o) = obj.as_object() {
        let mut keys: Vec<&String> = o.keys().filter(|k| !matches!(k.as_str(), "kind" | "apiVersion")).collect();
        keys.sort();
        for k in keys {
            let v = &o[k];
            if k == "metadata" {
                let mut meta = v.clone();
                if let Some(m) = meta.as_object_mut() {
                    for drop in ["name", "namespace", "creationTimestamp", "uid", "resourceVersion", "managedFields"] {
                        m.remove(drop);
                    }
                    if m.is_empty() {
                        continue;
                    }
                }
                top.insert("f:metadata".into(), fields(&meta, false));
                continue;
            }
            // Maps (data, stringData) carry "."; structs (spec, status) do not at the top.
            let f = if v.is_object() { fields(v, matches!(k.as_str(), "data" | "stringData")) } else { json!({}) };
            top.insert(format!("f:{k}"), f);
        }
    }
    json!([{"manager": manager, "operation": "Update", "apiVersion": api_version, "time": crate::store::now_rfc3339(),
        "fieldsType": "FieldsV1", "fieldsV1": Value::Object(top)}])
}

/// The manager name the API server derives from a user agent (`kubeadm/v1.24.0 (...)` → `kubeadm`).
pub(super) fn manager_of(user_agent: &str) -> String {
    user_agent.split('/').next().unwrap_or("").to_string()
}

/// Whether `name` is a lowercase RFC 1123 subdomain (what most object names must be).
pub(super) fn is_dns_subdomain(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// The API server's message for a name that is not an RFC 1123 subdomain.
pub(super) const DNS_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/// A strategic merge patch, as far as Node status needs it: objects merge, `conditions` merge
/// by `type`, everything else is replaced.
pub(super) fn strategic_merge(target: &mut Value, patch: &Value) {
    let (Some(t), Some(p)) = (target.as_object_mut(), patch.as_object()) else {
        *target = patch.clone();
        return;
    };
    for (k, pv) in p {
        match (k.as_str(), t.get_mut(k)) {
            (_, _) if pv.is_null() => {
                t.remove(k);
            }
            ("conditions", Some(Value::Array(have))) if pv.is_array() => {
                for c in pv.as_array().into_iter().flatten() {
                    match have.iter_mut().find(|h| h.get("type") == c.get("type")) {
                        Some(h) => strategic_merge(h, c),
                        None => have.push(c.clone()),
                    }
                }
            }
            (_, Some(tv)) if tv.is_object() && pv.is_object() => strategic_merge(tv, pv),
            _ => {
                t.insert(k.clone(), pv.clone());
            }
        }
    }
}

/// `fieldSelector=type=...` (the one field selector joinkit uses) as a filter.
pub(super) fn field_selector_type(query: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("fieldSelector="))
        .map(|v| v.replace("%3D", "=").replace("%2F", "/"))
        .and_then(|v| v.strip_prefix("type=").map(str::to_string))
}

/// The value of `key` in a query string (not percent-decoded).
pub(super) fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query.split('&').find_map(|kv| kv.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

/// An object without `kind` and `apiVersion`, as a List's items carry it.
pub(super) fn strip_type_meta(o: &Value) -> Value {
    let mut o = o.clone();
    if let Some(m) = o.as_object_mut() {
        m.remove("kind");
        m.remove("apiVersion");
    }
    o
}

/// What the API server fills in on a new Node: the not-ready taint (TaintNodesByCondition) and
/// the zero-valued status structs.
pub(super) fn node_defaults(obj: &mut Value) {
    if obj.get("spec").is_none_or(|s| !s.is_object()) {
        obj["spec"] = json!({});
    }
    let taints = obj["spec"]["taints"].as_array().cloned().unwrap_or_default();
    if !taints.iter().any(|t| t["key"] == "node.kubernetes.io/not-ready") {
        let mut t = taints;
        t.push(json!({"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}));
        obj["spec"]["taints"] = Value::Array(t);
    }
    if obj.get("status").is_none_or(|s| !s.is_object()) {
        obj["status"] = json!({});
    }
    let st = &mut obj["status"];
    if st.get("daemonEndpoints").is_none() {
        st["daemonEndpoints"] = json!({"kubeletEndpoint": {"Port": 0}});
    }
    if st.get("nodeInfo").is_none() {
        st["nodeInfo"] = json!({"machineID": "", "systemUUID": "", "bootID": "", "kernelVersion": "", "osImage": "",
            "containerRuntimeVersion": "", "kubeletVersion": "", "kubeProxyVersion": "", "operatingSystem": "", "architecture": ""});
    }
}
