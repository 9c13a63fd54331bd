//! Property paths (`A.B[].C`) and templated condition keys.

use crate::model::{Property, ResourceTypeSchema};
use std::collections::HashSet;

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
    /// depth first, stopping at recursive definitions.
    ///
    /// Linear in the number of paths it returns: each path is built once in a
    /// shared buffer, and duplicates (a name an object and one of its `oneOf`
    /// alternatives share) are found among siblings by name, never by
    /// comparing a new path with every earlier one.
    pub fn property_paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.for_each_property_path(usize::MAX, |path, _| out.push(path.to_string()));
        out
    }

    /// How many paths [`property_paths`](Self::property_paths) returns, by
    /// the same walk without building them (the documentation's figures
    /// need only the count; QuickSight's types have 80,000 paths).
    pub fn property_path_count(&self) -> usize {
        let mut count = 0;
        self.for_each_property_path(usize::MAX, |_, _| count += 1);
        count
    }

    /// The paths of [`property_paths`](Self::property_paths) with at most
    /// `max_segments` segments, in the same order, without walking below
    /// that depth (a path's children are always one segment longer).
    pub fn property_paths_within(&self, max_segments: usize) -> Vec<String> {
        let mut out = Vec::new();
        self.for_each_property_path(max_segments, |path, _| out.push(path.to_string()));
        out
    }

    /// Call `visit(path, name)` for each path of
    /// [`property_paths`](Self::property_paths) with at most `max_segments`
    /// segments, in the same order, `name` being the path's last property
    /// name. The path lives in the walk's buffer: nothing is allocated per path.
    pub fn for_each_property_path<'a>(
        &'a self,
        max_segments: usize,
        visit: impl FnMut(&str, &'a str),
    ) {
        if max_segments == 0 {
            return;
        }
        let mut walk = PathWalk {
            schema: self,
            sink: visit,
            max_segments,
            visiting: Vec::new(),
            path: String::new(),
        };
        for (name, property) in &self.properties {
            walk.path.clear();
            walk.path.push_str(name);
            walk.visit(name, property, 1);
        }
    }
}

/// The state of one [`ResourceTypeSchema::for_each_property_path`] walk.
struct PathWalk<'a, F> {
    schema: &'a ResourceTypeSchema,
    /// Called with each path and its last property name.
    sink: F,
    /// Paths longer than this many segments are neither reported nor walked.
    max_segments: usize,
    /// Definitions entered on the way to the current property: a definition
    /// is never entered inside itself, so recursive schemas terminate.
    visiting: Vec<&'a str>,
    /// The current property's path; children append to it and truncate back.
    path: String,
}

/// How many definitions deep a path may go.
const MAX_DEFINITION_DEPTH: usize = 16;

impl<'a, F: FnMut(&str, &'a str)> PathWalk<'a, F> {
    /// Enter the definition `reference` names, if any: false when it is
    /// already being visited (recursion) or the walk is too deep.
    fn enter(&mut self, reference: Option<&'a str>, entered: &mut usize) -> bool {
        match reference {
            Some(name)
                if self.visiting.contains(&name) || self.visiting.len() > MAX_DEFINITION_DEPTH =>
            {
                false
            }
            Some(name) => {
                self.visiting.push(name);
                *entered += 1;
                true
            }
            None => true,
        }
    }

    /// Report the current path (`segments` long, ending in `name`), then
    /// walk below it.
    fn visit(&mut self, name: &'a str, property: &'a Property, segments: usize) {
        (self.sink)(&self.path, name);
        if segments >= self.max_segments {
            return;
        }
        // Every definition entered, directly or through an alternative, stays on
        // the stack until its subtree is done.
        let mut entered = 0;
        if self.enter(property.reference.as_deref(), &mut entered) {
            self.visit_children(property, &mut entered, segments + 1);
        }
        self.visiting.truncate(self.visiting.len() - entered);
    }

    fn visit_children(&mut self, property: &'a Property, entered: &mut usize, segments: usize) {
        let schema = self.schema;
        let resolved = schema.deref(property);
        let (container, array_marker) = match resolved.items.as_deref() {
            Some(items) => {
                if !self.enter(items.reference.as_deref(), entered) {
                    return;
                }
                (schema.deref(items), "[]")
            }
            None => (resolved, ""),
        };
        let parent_len = self.path.len();
        if container.alternatives.is_empty() {
            // The common case: an object's own properties, unique by name.
            for (name, child) in &container.properties {
                self.child(parent_len, array_marker, name, child, segments);
            }
            return;
        }
        let mut children: Vec<(&'a str, &'a Property)> = container
            .properties
            .iter()
            .map(|(name, child)| (name.as_str(), child))
            .collect();
        for alternative in &container.alternatives {
            if self.enter(alternative.reference.as_deref(), entered) {
                let extra = schema.deref(alternative).properties.iter();
                children.extend(extra.map(|(name, child)| (name.as_str(), child)));
            }
        }
        let mut seen: HashSet<&'a str> = HashSet::with_capacity(children.len());
        for (name, child) in children {
            // The first of several same-named children wins, as in the schema's order.
            if seen.insert(name) {
                self.child(parent_len, array_marker, name, child, segments);
            }
        }
    }

    fn child(
        &mut self,
        parent_len: usize,
        array_marker: &str,
        name: &'a str,
        child: &'a Property,
        segments: usize,
    ) {
        self.path.push_str(array_marker);
        self.path.push('.');
        self.path.push_str(name);
        self.visit(name, child, segments);
        self.path.truncate(parent_len);
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
    // Compared in place, without lowercased copies: the IAM stage asks this
    // for every key of every candidate statement.
    // `find('$')` is a memchr; a two-byte `find("${")` builds a substring
    // searcher on every call.
    let template = documented
        .match_indices('$')
        .map(|(index, _)| index)
        .find(|&index| documented.as_bytes().get(index + 1) == Some(&b'{'));
    match template {
        None => documented.eq_ignore_ascii_case(concrete),
        Some(start) => {
            let prefix = &documented.as_bytes()[..start];
            let after = documented[start..]
                .find('}')
                .map_or(&[][..], |end| &documented.as_bytes()[start + end + 1..]);
            let concrete = concrete.as_bytes();
            concrete.len() > prefix.len() + after.len()
                && concrete[..prefix.len()].eq_ignore_ascii_case(prefix)
                && concrete[concrete.len() - after.len()..].eq_ignore_ascii_case(after)
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
        assert!(key_matches(
            "s3:ExistingObjectTag/${TagKey}",
            "S3:existingobjecttag/Env"
        ));
        assert!(key_matches(
            "ec2:ResourceTag/${Key}/x",
            "EC2:resourcetag/k/X"
        ));
        assert!(!key_matches(
            "ec2:ResourceTag/${Key}/x",
            "ec2:ResourceTag//x"
        ));
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

    #[test]
    fn paths_are_depth_first_once_each_and_stop_at_recursion() {
        let schema = parse_schema(
            "t",
            &serde_json::json!({
                "typeName": "AWS::T::R",
                "properties": {
                    "A": {"$ref": "#/definitions/A"},
                    "Tags": {"type": "array", "items": {"type": "object", "properties": {"Key": {"type": "string"}}}}
                },
                "definitions": {
                    // `Name` is both a property and one of an alternative's: listed once.
                    "A": {"type": "object", "properties": {"Name": {"type": "string"}, "B": {"$ref": "#/definitions/B"}},
                          "oneOf": [{"$ref": "#/definitions/Named"}]},
                    "Named": {"type": "object", "properties": {"Name": {"type": "string"}, "Extra": {"type": "string"}}},
                    // A and B refer to each other.
                    "B": {"type": "object", "properties": {"Back": {"$ref": "#/definitions/A"}}}
                }
            }),
        )
        .unwrap();
        assert_eq!(
            schema.property_paths(),
            [
                "A",
                "A.B",
                "A.B.Back",
                "A.Name",
                "A.Extra",
                "Tags",
                "Tags[].Key"
            ]
        );
        assert_eq!(schema.property_path_count(), 7);
        // A depth limit keeps the order and cuts only the longer paths.
        assert_eq!(
            schema.property_paths_within(2),
            ["A", "A.B", "A.Name", "A.Extra", "Tags", "Tags[].Key"]
        );
        assert_eq!(schema.property_paths_within(1), ["A", "Tags"]);
        assert!(schema.property_paths_within(0).is_empty());
        let mut names = Vec::new();
        schema.for_each_property_path(usize::MAX, |path, name| {
            assert!(path.ends_with(name), "{path} {name}");
            names.push(name);
        });
        assert_eq!(names, ["A", "B", "Back", "Name", "Extra", "Tags", "Key"]);
    }
}
