//! The tagging control's Guard rule: every taggable resource of the service's
//! types carries each required tag key with a non-empty value (a literal
//! value one of the key's allowed values), in the type's own tag shape. Its
//! self-test cases are decided by [`tag_problems`], not by the rule.

use crate::guard::{self, literal, with_message};
use crate::selftest::{Case, CaseExpectations, Outcome};
use gensec_core::contract::analysis::Recommendation;
use gensec_core::input::Tagging;
use gensec_kb::Kb;
use gensec_kb::tags::{
    TAGGING_CONTROL_ID, TAGS_PROPERTY, TagShape, tag_keys, tag_problems, tag_shape, tag_value,
};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What the tagging rule checks: the types it covers with their tag shape,
/// and each required key with its allowed values (empty: any non-empty value).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TagRule {
    pub shapes: Vec<(String, TagShape)>,
    pub required: Vec<(String, Vec<String>)>,
}

/// Whether a recommendation is the tagging control's.
pub fn is_tagging(recommendation: &Recommendation) -> bool {
    recommendation.control_id == TAGGING_CONTROL_ID
}

impl TagRule {
    /// The rule for a tagging recommendation: its types (the ones it applies
    /// to, else its own type) as the KB shapes them, the keys its value sets,
    /// and the profile's allowed values for those keys.
    pub fn for_recommendation(
        kb: &Kb,
        recommendation: &Recommendation,
        tagging: &Tagging,
    ) -> Result<Self, String> {
        let types: Vec<&String> = if recommendation.applies_to.is_empty() {
            vec![&recommendation.resource_type]
        } else {
            recommendation.applies_to.iter().collect()
        };
        let shapes: Vec<(String, TagShape)> = types
            .into_iter()
            .filter_map(|t| {
                let schema = kb.resource_type(t).ok().flatten()?;
                Some((t.clone(), tag_shape(schema)?))
            })
            .collect();
        if shapes.is_empty() {
            return Err("none of the types it applies to can carry tags".into());
        }
        let keys = tag_keys(&recommendation.recommended_value);
        if keys.is_empty() {
            return Err("its value names no tag key".into());
        }
        let required = keys
            .into_iter()
            .map(|key| {
                let allowed = tagging
                    .required_tags
                    .iter()
                    .find(|tag| tag.key == key)
                    .map(|tag| tag.allowed_values.clone())
                    .unwrap_or_default();
                (key, allowed)
            })
            .collect();
        Ok(Self { shapes, required })
    }

    fn types(&self, shape: TagShape) -> Vec<&str> {
        self.shapes
            .iter()
            .filter(|(_, s)| *s == shape)
            .map(|(t, _)| t.as_str())
            .collect()
    }

    /// The Guard rule, named `name`.
    pub fn rule(&self, name: &str, recommendation: &Recommendation) -> Result<String, String> {
        let mut text = String::new();
        let _ = writeln!(text, "rule {name} {{");
        for shape in [TagShape::KeyValueList, TagShape::Map] {
            let types = self.types(shape);
            if types.is_empty() {
                continue;
            }
            let var = format!(
                "{name}_{}",
                match shape {
                    TagShape::KeyValueList => "tag_list_resources",
                    TagShape::Map => "tag_map_resources",
                }
            );
            let quoted: Vec<String> = types
                .iter()
                .map(|t| literal(&json!(t)).ok_or("type name"))
                .collect::<Result<_, _>>()?;
            let _ = writeln!(
                text,
                "    let {var} = Resources.*[ Type IN [{}] ]",
                quoted.join(", ")
            );
            let _ = writeln!(text, "    when %{var} !empty {{");
            let _ = writeln!(text, "        %{var} {{");
            let mut lines = vec![format!("Properties.{TAGS_PROPERTY} exists")];
            lines = with_message(
                lines,
                &self.message(recommendation, "set Tags with the required keys"),
            );
            for (key, allowed) in &self.required {
                let key_literal =
                    literal(&json!(key)).ok_or_else(|| format!("tag key {key} in Guard"))?;
                let value_check = |value: &str| -> Result<Vec<String>, String> {
                    let mut checks = vec![format!("{value} !empty")];
                    if !allowed.is_empty() {
                        let values = literal(&json!(allowed))
                            .ok_or_else(|| format!("allowed values of {key} in Guard"))?;
                        checks.push(format!("{value} !is_string or {value} IN {values}"));
                    }
                    Ok(checks)
                };
                let clause = match shape {
                    TagShape::KeyValueList => {
                        let mut block = vec![format!("some Properties.{TAGS_PROPERTY}[*] {{")];
                        block.push(format!("    Key == {key_literal}"));
                        block.extend(
                            value_check("Value")?
                                .into_iter()
                                .map(|l| format!("    {l}")),
                        );
                        block.push("}".into());
                        block
                    }
                    TagShape::Map => {
                        let path = format!("Properties.{TAGS_PROPERTY}.{}", guard::quote_key(key));
                        let mut block = vec![format!("{path} exists")];
                        block.extend(value_check(&path)?);
                        block
                    }
                };
                let fix = if allowed.is_empty() {
                    format!("set tag {key} to a non-empty value")
                } else {
                    format!("set tag {key} to one of {}", allowed.join(", "))
                };
                lines.extend(with_message(clause, &self.message(recommendation, &fix)));
            }
            for line in lines {
                let _ = writeln!(text, "            {line}");
            }
            let _ = writeln!(text, "        }}");
            let _ = writeln!(text, "    }}");
        }
        text.push('}');
        Ok(text)
    }

    fn message(&self, recommendation: &Recommendation, fix: &str) -> String {
        format!(
            "Violation: [{}] {}\nFix: {fix}",
            recommendation.configuration_id,
            recommendation.title.replace(">>", "> >")
        )
        .replace(">>", "> >")
    }

    /// A tag set of `shape` with every required key, each value given by `value`.
    fn tags(&self, shape: TagShape, value: impl Fn(&str, &[String]) -> Option<Value>) -> Value {
        let pairs: Vec<(String, Value)> = self
            .required
            .iter()
            .filter_map(|(key, allowed)| Some((key.clone(), value(key, allowed)?)))
            .collect();
        tag_value(shape, &pairs)
    }

    /// Self-test cases: a type of each tag shape compliant (literal values
    /// and template parameters), and each way a resource can miss the standard: no Tags,
    /// a key left out, an empty value, a value outside the allowed ones;
    /// plus a template with none of the types (skipped).
    pub fn cases(&self, name: &str) -> Vec<Case> {
        let good = |_: &str, allowed: &[String]| {
            Some(json!(allowed.first().map_or("present", String::as_str)))
        };
        let parameter =
            |key: &str, _: &[String]| Some(json!({"Ref": Tagging::parameter_name(key)}));
        // One resource of each tag shape: the rule names its types only in a
        // selector per shape and checks every type of a shape with the same
        // clauses, so a type of each shape executes every clause; each
        // further resource costs Guard a full pass (most of `--service all`'s
        // Guard time was ec2's 75 types in one case).
        let mut first_of_shape: Vec<(&str, TagShape)> = Vec::new();
        for (resource_type, shape) in &self.shapes {
            if !first_of_shape.iter().any(|(_, seen)| seen == shape) {
                first_of_shape.push((resource_type, *shape));
            }
        }
        let with_values = |value: &dyn Fn(&str, &[String]) -> Option<Value>| {
            first_of_shape
                .iter()
                .map(|(resource_type, shape)| (*resource_type, Some(self.tags(*shape, value))))
                .collect::<Vec<(&str, Option<Value>)>>()
        };
        let mut cases = vec![
            self.case(
                name,
                "compliant, a type of each tag shape",
                with_values(&good),
            ),
            self.case(
                name,
                "compliant, values from template parameters",
                with_values(&parameter),
            ),
        ];
        let (first_type, first_shape) = &self.shapes[0];
        // The rule must fail although another resource passes: the case
        // without Tags carries a compliant resource of another type beside
        // the failing one. Every key's clauses sit in the same block over the
        // resources, so the other failing cases carry the failing resource
        // alone (each further resource costs Guard a full pass).
        let neighbour = self
            .shapes
            .get(1)
            .map(|(resource_type, shape)| (resource_type.as_str(), Some(self.tags(*shape, good))));
        let mut untagged = vec![(first_type.as_str(), None)];
        untagged.extend(neighbour);
        cases.push(self.case(name, &format!("{first_type} without Tags"), untagged));
        let with_first = |tags: Option<Value>| vec![(first_type.as_str(), tags)];
        for (key, allowed) in &self.required {
            let missing = self.tags(*first_shape, |k, a| {
                (k != key).then(|| good(k, a)).flatten()
            });
            cases.push(self.case(
                name,
                &format!("{first_type} without tag {key}"),
                with_first(Some(missing)),
            ));
            let empty = self.tags(*first_shape, |k, a| {
                if k == key {
                    Some(json!(""))
                } else {
                    good(k, a)
                }
            });
            cases.push(self.case(
                name,
                &format!("{first_type} with tag {key} empty"),
                with_first(Some(empty)),
            ));
            if !allowed.is_empty() {
                let outside = self.tags(*first_shape, |k, a| {
                    if k == key {
                        Some(json!("NONCOMPLIANT"))
                    } else {
                        good(k, a)
                    }
                });
                cases.push(self.case(
                    name,
                    &format!("{first_type} with tag {key} outside its allowed values"),
                    with_first(Some(outside)),
                ));
            }
        }
        cases.push(no_taggable_resource_case(name));
        cases
    }

    /// One case: a resource of each given type with the given Tags
    /// (`None`: no Tags), in order; what it should give follows
    /// [`tag_problems`].
    fn case(&self, rule: &str, what: &str, resources_tags: Vec<(&str, Option<Value>)>) -> Case {
        let mut resources = Map::new();
        let mut compliant = true;
        for (index, (resource_type, tags)) in resources_tags.into_iter().enumerate() {
            compliant &= tag_problems(tags.as_ref(), &self.required).is_empty();
            let mut properties = Map::new();
            if let Some(tags) = tags {
                properties.insert(TAGS_PROPERTY.into(), tags);
            }
            resources.insert(
                format!("Resource{}", index + 1),
                json!({"Type": resource_type, "Properties": properties}),
            );
        }
        let outcome = if compliant {
            Outcome::Pass
        } else {
            Outcome::Fail
        };
        Case {
            name: format!("{rule}: {what}"),
            input: json!({"Resources": resources}),
            expectations: CaseExpectations {
                rules: BTreeMap::from([(rule.to_string(), outcome)]),
            },
        }
    }
}

/// A template with none of the service's types: the rule `name` skips it.
fn no_taggable_resource_case(name: &str) -> Case {
    let mut other = Map::new();
    other.insert(
        "Resource".into(),
        json!({"Type": "AWS::CloudFormation::WaitConditionHandle", "Properties": {}}),
    );
    Case {
        name: format!("{name}: no taggable resource of the service"),
        input: json!({"Resources": other}),
        expectations: CaseExpectations {
            rules: BTreeMap::from([(name.to_string(), Outcome::Skip)]),
        },
    }
}
