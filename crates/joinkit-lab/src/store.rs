//! The lab's object store: Kubernetes objects as JSON, keyed by (resource, namespace, name),
//! with `uid`, `resourceVersion` and `creationTimestamp` kept the way the API server keeps them.
//! Every resource kind the lab serves lives here, so adding one (Secrets, CSRs, Nodes) is a
//! matter of routing, not storage.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

type Key = (String, String, String);

/// A change to a stored object, as a watch sees it.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub kind: &'static str,
    /// Resource (plural).
    pub resource: String,
    /// The object after the change (before it, for DELETED).
    pub object: Value,
}

/// In-memory object store. Every change is broadcast to watchers.
#[derive(Debug)]
pub struct Store {
    objects: BTreeMap<Key, Value>,
    rv: u64,
    events: tokio::sync::broadcast::Sender<Event>,
}

impl Default for Store {
    fn default() -> Self {
        Store { objects: BTreeMap::new(), rv: 0, events: tokio::sync::broadcast::channel(1024).0 }
    }
}

pub(crate) use joinkit_core::duration::now_rfc3339;

/// A random UUID v4 string (for `uid` and `audit-id`).
pub(crate) fn uuid() -> String {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 16];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

impl Store {
    /// The object, if stored.
    pub fn get(&self, resource: &str, ns: &str, name: &str) -> Option<&Value> {
        self.objects.get(&(resource.to_string(), ns.to_string(), name.to_string()))
    }

    /// All objects of `resource` in `ns` (all namespaces when `ns` is empty), by name.
    pub fn list(&self, resource: &str, ns: &str) -> Vec<&Value> {
        self.objects
            .iter()
            .filter(|((r, n, _), _)| r == resource && (ns.is_empty() || n == ns))
            .map(|(_, v)| v)
            .collect()
    }

    /// Subscribes to changes.
    pub(crate) fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// The current resourceVersion (for lists).
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    /// Stores `obj`, setting `metadata.{name, namespace, uid, resourceVersion,
    /// creationTimestamp}` with the metadata keys in the API server's order; keeps uid and
    /// creationTimestamp of an existing object. Returns the stored object.
    pub fn put(&mut self, resource: &str, ns: &str, name: &str, mut obj: Value) -> Value {
        self.rv += 1;
        let key = (resource.to_string(), ns.to_string(), name.to_string());
        let old_meta = self.objects.get(&key).and_then(|o| o.get("metadata")).cloned();
        let given = obj.get("metadata").and_then(Value::as_object).cloned().unwrap_or_default();
        let mut meta = Map::new();
        meta.insert("name".into(), json!(name));
        if !ns.is_empty() {
            meta.insert("namespace".into(), json!(ns));
        }
        let keep = |k: &str| old_meta.as_ref().and_then(|m| m.get(k)).cloned();
        meta.insert("uid".into(), keep("uid").unwrap_or_else(|| json!(uuid())));
        meta.insert("resourceVersion".into(), json!(self.rv.to_string()));
        meta.insert("creationTimestamp".into(), keep("creationTimestamp").unwrap_or_else(|| json!(now_rfc3339())));
        for (k, v) in given {
            if !matches!(k.as_str(), "name" | "namespace" | "uid" | "resourceVersion" | "creationTimestamp") {
                meta.insert(k, v);
            }
        }
        if let Some(o) = obj.as_object_mut() {
            o.insert("metadata".into(), Value::Object(meta));
            // Keep kind and apiVersion first, as the API server prints them.
            let mut ordered = Map::new();
            for k in ["kind", "apiVersion", "metadata"] {
                if let Some(v) = o.remove(k) {
                    ordered.insert(k.into(), v);
                }
            }
            ordered.extend(std::mem::take(o));
            *o = ordered;
        }
        let kind = if self.objects.insert(key.clone(), obj.clone()).is_some() { "MODIFIED" } else { "ADDED" };
        let _ = self.events.send(Event { kind, resource: key.0, object: obj.clone() });
        obj
    }

    /// Deletes and returns the object.
    pub fn delete(&mut self, resource: &str, ns: &str, name: &str) -> Option<Value> {
        let r = self.objects.remove(&(resource.to_string(), ns.to_string(), name.to_string()));
        if let Some(old) = &r {
            self.rv += 1;
            let _ = self.events.send(Event { kind: "DELETED", resource: resource.into(), object: old.clone() });
        }
        r
    }
}
