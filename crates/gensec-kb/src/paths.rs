//! Property paths (`A.B[].C`) and templated condition keys.

use crate::model::{Property, ResourceTypeSchema};

impl ResourceTypeSchema {
    /// The property at a dotted path, following `$ref`s, array items and
    /// `oneOf` alternatives. `[]` after a segment is optional.
    pub fn resolve(&self, path: &str) -> Option<&Property> {
        let mut segments = path
            .split('.')
            .map(|segment| segment.trim_end_matches("[]"));
        let first = segments.next()?;
        let mut current = self.deref(self.properties.get(first)?);
        for segment in segments {
            current = self.child(current, segment)?;
        }
        Some(current)
    }

    /// Follow a `$ref` to its definition (one level of indirection at a time).
    pub fn deref<'a>(&'a self, property: &'a Property) -> &'a Property {
        let mut current = property;
        for _ in 0..8 {
            match current
                .reference
                .as_deref()
                .and_then(|name| self.definitions.get(name))
            {
                Some(target) => current = target,
                None => break,
            }
        }
        current
    }

    fn child<'a>(&'a self, parent: &'a Property, name: &str) -> Option<&'a Property> {
        let parent = match &parent.items {
            Some(items) => self.deref(items),
            None => parent,
        };
        if let Some(found) = parent.properties.get(name) {
            return Some(self.deref(found));
        }
        parent
            .alternatives
            .iter()
            .find_map(|alternative| self.child(self.deref(alternative), name))
    }

    /// Every property path of this type (nested objects and arrays included),
    /// stopping at recursive definitions.
    pub fn property_paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, property) in &self.properties {
            self.collect_paths(name.clone(), property, &mut out, &mut Vec::new());
        }
        out
    }

    fn collect_paths<'a>(
        &'a self,
        path: String,
        property: &'a Property,
        out: &mut Vec<String>,
        visiting: &mut Vec<&'a str>,
    ) {
        out.push(path.clone());
        // Every definition entered, directly or through an alternative, stays on
        // the stack until its subtree is done, so recursive schemas terminate.
        let mut entered = 0;
        let mut enter = |reference: Option<&'a str>, visiting: &mut Vec<&'a str>| match reference {
            Some(name) if visiting.contains(&name) || visiting.len() > 16 => false,
            Some(name) => {
                visiting.push(name);
                entered += 1;
                true
            }
            None => true,
        };
        if !enter(property.reference.as_deref(), visiting) {
            return;
        }
        let resolved = self.deref(property);
        let (container, array_marker) = match resolved.items.as_deref() {
            Some(items) => {
                if !enter(items.reference.as_deref(), visiting) {
                    visiting.truncate(visiting.len() - entered);
                    return;
                }
                (self.deref(items), "[]")
            }
            None => (resolved, ""),
        };
        let mut children: Vec<(&'a String, &'a Property)> = container.properties.iter().collect();
        for alternative in &container.alternatives {
            if enter(alternative.reference.as_deref(), visiting) {
                children.extend(self.deref(alternative).properties.iter());
            }
        }
        for (name, child) in children {
            let child_path = format!("{path}{array_marker}.{name}");
            if !out.contains(&child_path) {
                self.collect_paths(child_path, child, out, visiting);
            }
        }
        visiting.truncate(visiting.len() - entered);
    }
}

/// Set a dotted property path (`A.B[].C`) in a properties object, creating
/// objects and one-element arrays on the way; existing siblings are kept.
pub fn set_property(
    properties: &mut serde_json::Map<String, serde_json::Value>,
    path: &str,
    value: serde_json::Value,
) {
    use serde_json::{Value, json};
    let segments: Vec<&str> = path.split('.').collect();
    let mut current = properties;
    for (index, segment) in segments.iter().enumerate() {
        let last = index + 1 == segments.len();
        let (name, array) = match segment.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (*segment, false),
        };
        if last {
            let value = if array && !value.is_array() {
                json!([value])
            } else {
                value
            };
            current.insert(name.to_string(), value);
            return;
        }
        let slot = current
            .entry(name.to_string())
            .or_insert_with(|| if array { json!([{}]) } else { json!({}) });
        let next = if array {
            match slot.as_array_mut().and_then(|items| items.first_mut()) {
                Some(item) => item,
                None => return,
            }
        } else {
            slot
        };
        if !next.is_object() {
            *next = Value::Object(serde_json::Map::new());
        }
        match next.as_object_mut() {
            Some(object) => current = object,
            None => return,
        }
    }
}

/// The value at a dotted property path (first element of arrays), if set.
pub fn get_property<'a>(
    properties: &'a serde_json::Value,
    path: &str,
) -> Option<&'a serde_json::Value> {
    let mut current = properties;
    for segment in path.split('.') {
        let (name, array) = match segment.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (segment, false),
        };
        current = current.get(name)?;
        if array {
            current = current.get(0)?;
        }
    }
    Some(current)
}

/// Remove the value at a dotted property path; returns whether it was there.
pub fn remove_property(properties: &mut serde_json::Value, path: &str) -> bool {
    let Some((parent, leaf)) = path.rsplit_once('.') else {
        return properties
            .as_object_mut()
            .and_then(|object| object.remove(path.trim_end_matches("[]")))
            .is_some();
    };
    let mut current = properties;
    for segment in parent.split('.') {
        let (name, array) = match segment.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (segment, false),
        };
        let Some(next) = current.get_mut(name) else {
            return false;
        };
        current = if array {
            match next.get_mut(0) {
                Some(item) => item,
                None => return false,
            }
        } else {
            next
        };
    }
    current
        .as_object_mut()
        .and_then(|object| object.remove(leaf.trim_end_matches("[]")))
        .is_some()
}

/// Does a concrete key match a documented key, where `${Name}` in the
/// documented key stands for any non-empty text? IAM keys are case-insensitive.
pub fn key_matches(documented: &str, concrete: &str) -> bool {
    let documented = documented.to_ascii_lowercase();
    let concrete = concrete.to_ascii_lowercase();
    match documented.find("${") {
        None => documented == concrete,
        Some(start) => {
            let prefix = &documented[..start];
            let after = documented[start..]
                .find('}')
                .map_or("", |end| &documented[start + end + 1..]);
            concrete.len() > prefix.len() + after.len()
                && concrete.starts_with(prefix)
                && concrete.ends_with(after)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::cfn::parse_schema;

    #[test]
    fn templated_keys_match() {
        assert!(key_matches(
            "aws:RequestTag/${TagKey}",
            "aws:RequestTag/env"
        ));
        assert!(key_matches("aws:SecureTransport", "AWS:securetransport"));
        assert!(!key_matches("aws:RequestTag/${TagKey}", "aws:RequestTag/"));
        assert!(!key_matches("aws:SourceIp", "aws:SourceVpc"));
    }

    #[test]
    fn resolves_through_refs_arrays_and_alternatives() {
        let schema = parse_schema(
            "t",
            &serde_json::json!({
                "typeName": "AWS::T::R",
                "properties": {
                    "Rules": {"type": "array", "items": {"$ref": "#/definitions/Rule"}},
                    "Node": {"$ref": "#/definitions/Node"}
                },
                "definitions": {
                    "Rule": {"type": "object", "properties": {"Sse": {"$ref": "#/definitions/Sse"}}},
                    "Sse": {"oneOf": [{"properties": {"Algorithm": {"type": "string", "enum": ["AES256"]}}}]},
                    "Node": {"type": "object", "properties": {"Child": {"$ref": "#/definitions/Node"}}}
                }
            }),
        )
        .unwrap();
        let algorithm = schema.resolve("Rules[].Sse.Algorithm").unwrap();
        assert_eq!(algorithm.enum_values, vec!["\"AES256\""]);
        assert!(schema.resolve("Rules.Sse.Algorithm").is_some());
        assert!(schema.resolve("Rules.Sse.Nope").is_none());
        let paths = schema.property_paths();
        assert!(
            paths.contains(&"Rules[].Sse.Algorithm".to_string()),
            "{paths:?}"
        );
        // Recursive definitions terminate.
        assert!(paths.iter().any(|p| p.starts_with("Node.Child")));
    }
}
