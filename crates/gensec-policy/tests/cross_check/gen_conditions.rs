//! Condition operators: every operator x key state x (plain, IfExists) x
//! effect; several values per key; set operators on absent, empty, partial
//! and full sets; Null; single-valued operators on sets.

use crate::common::{USER, condition_case, get_object, outcome_for};
use gensec_policy::corpus::Case;
use gensec_policy::{ContextValue, Outcome};
use serde_json::json;

/// One operator with a key of the right type, a policy value, a request
/// value for which the operator holds and one for which it does not, and a
/// second policy value that matches neither request value.
struct OperatorSpec {
    operator: &'static str,
    key: &'static str,
    policy: &'static str,
    holds: &'static str,
    fails: &'static str,
    decoy: Option<&'static str>,
}

const fn spec(
    operator: &'static str,
    key: &'static str,
    policy: &'static str,
    holds: &'static str,
    fails: &'static str,
    decoy: Option<&'static str>,
) -> OperatorSpec {
    OperatorSpec {
        operator,
        key,
        policy,
        holds,
        fails,
        decoy,
    }
}

const TEAM: &str = "aws:PrincipalTag/team";
const AGE: &str = "aws:MultiFactorAuthAge";
const TIME: &str = "aws:CurrentTime";
const JUNE: &str = "2024-06-01T00:00:00Z";
const SOURCE_ARN: &str = "aws:SourceArn";
const ALERTS: &str = "arn:aws:sns:us-east-1:111122223333:alerts";
const ALERTS_LIKE: &str = "arn:aws:sns:*:111122223333:alert*";
const BLOCK: &str = "203.0.113.0/24";

const OPERATORS: [OperatorSpec; 26] = [
    spec(
        "StringEquals",
        TEAM,
        "Red-Team",
        "Red-Team",
        "red-team",
        Some("Green-Team"),
    ),
    spec(
        "StringNotEquals",
        TEAM,
        "Red-Team",
        "Blue-Team",
        "Red-Team",
        Some("Green-Team"),
    ),
    spec(
        "StringEqualsIgnoreCase",
        TEAM,
        "Red-Team",
        "red-TEAM",
        "Blue-Team",
        Some("Green-Team"),
    ),
    spec(
        "StringNotEqualsIgnoreCase",
        TEAM,
        "Red-Team",
        "Blue-Team",
        "RED-team",
        Some("Green-Team"),
    ),
    spec(
        "StringLike",
        TEAM,
        "Red-*",
        "Red-Squad",
        "red-Squad",
        Some("Green-*"),
    ),
    spec(
        "StringNotLike",
        TEAM,
        "Red-*",
        "Blue-Squad",
        "Red-Squad",
        Some("Green-*"),
    ),
    spec("NumericEquals", AGE, "3600", "3600", "3601", Some("42")),
    spec("NumericNotEquals", AGE, "3600", "60", "3600", Some("42")),
    spec("NumericLessThan", AGE, "3600", "60", "3600", Some("1")),
    spec(
        "NumericLessThanEquals",
        AGE,
        "3600",
        "3600",
        "3601",
        Some("1"),
    ),
    spec(
        "NumericGreaterThan",
        AGE,
        "3600",
        "7200",
        "3600",
        Some("100000"),
    ),
    spec(
        "NumericGreaterThanEquals",
        AGE,
        "3600",
        "3600",
        "3599",
        Some("100000"),
    ),
    spec(
        "DateEquals",
        TIME,
        JUNE,
        JUNE,
        "2024-06-01T00:00:01Z",
        Some("2000-01-01T00:00:00Z"),
    ),
    spec(
        "DateNotEquals",
        TIME,
        JUNE,
        "2024-05-01T00:00:00Z",
        JUNE,
        Some("2000-01-01T00:00:00Z"),
    ),
    spec(
        "DateLessThan",
        TIME,
        JUNE,
        "2024-05-31T23:59:59Z",
        JUNE,
        Some("2000-01-01T00:00:00Z"),
    ),
    spec(
        "DateLessThanEquals",
        TIME,
        JUNE,
        JUNE,
        "2024-06-01T00:00:01Z",
        Some("2000-01-01T00:00:00Z"),
    ),
    spec(
        "DateGreaterThan",
        TIME,
        JUNE,
        "2024-06-02T00:00:00Z",
        JUNE,
        Some("2100-01-01T00:00:00Z"),
    ),
    spec(
        "DateGreaterThanEquals",
        TIME,
        JUNE,
        JUNE,
        "2024-05-31T23:59:59Z",
        Some("2100-01-01T00:00:00Z"),
    ),
    spec("Bool", "aws:SecureTransport", "true", "true", "false", None),
    spec(
        "BinaryEquals",
        "aws:PrincipalTag/blob",
        "QmluYXJ5",
        "QmluYXJ5",
        "T3RoZXI=",
        Some("ZGVjb3k="),
    ),
    spec(
        "IpAddress",
        "aws:SourceIp",
        BLOCK,
        "203.0.113.7",
        "198.51.100.7",
        Some("192.0.2.0/24"),
    ),
    spec(
        "NotIpAddress",
        "aws:SourceIp",
        BLOCK,
        "198.51.100.7",
        "203.0.113.7",
        Some("192.0.2.0/24"),
    ),
    spec(
        "ArnEquals",
        SOURCE_ARN,
        ALERTS,
        ALERTS,
        "arn:aws:sns:us-east-1:111122223333:other",
        Some("arn:aws:sns:*:999999999999:decoy"),
    ),
    spec(
        "ArnLike",
        SOURCE_ARN,
        ALERTS_LIKE,
        "arn:aws:sns:eu-west-1:111122223333:alerts-prod",
        "arn:aws:sqs:eu-west-1:111122223333:alerts",
        Some("arn:aws:sns:*:999999999999:decoy"),
    ),
    spec(
        "ArnNotEquals",
        SOURCE_ARN,
        ALERTS,
        "arn:aws:sns:us-east-1:111122223333:other",
        ALERTS,
        Some("arn:aws:sns:*:999999999999:decoy"),
    ),
    spec(
        "ArnNotLike",
        SOURCE_ARN,
        ALERTS_LIKE,
        "arn:aws:sns:us-east-1:444455556666:alerts",
        ALERTS,
        Some("arn:aws:sns:*:999999999999:decoy"),
    ),
];

fn is_negated(operator: &str) -> bool {
    operator.contains("Not")
}

pub fn cases() -> Vec<Case> {
    let mut cases = operator_matrix();
    cases.extend(multiple_values());
    cases.extend(set_operators());
    cases.extend(null_checks());
    cases.extend(single_valued_operators_on_sets());
    cases.extend(date_formats());
    cases
}

/// Every operator x (present and holds, present and fails, absent) x
/// (plain, IfExists) x (Allow, Deny).
fn operator_matrix() -> Vec<Case> {
    let mut cases = Vec::new();
    for spec in &OPERATORS {
        for if_exists in [false, true] {
            let operator = format!(
                "{}{}",
                spec.operator,
                if if_exists { "IfExists" } else { "" }
            );
            for (state, value) in [
                ("holds", Some(spec.holds)),
                ("fails", Some(spec.fails)),
                ("absent", None),
            ] {
                let holds = match value {
                    Some(_) => state == "holds",
                    None => if_exists || is_negated(spec.operator),
                };
                for effect in ["Allow", "Deny"] {
                    let mut context = get_object(USER);
                    if let Some(value) = value {
                        context.set(spec.key, value);
                    }
                    let condition = json!({ &operator: { spec.key: spec.policy } });
                    let name = format!("{operator}/{state}/{effect}");
                    cases.push(
                        condition_case("operator", name, effect, condition, context)
                            .expect(outcome_for(effect, holds))
                            .build(),
                    );
                }
            }
        }
    }
    cases
}

/// Two values for one key: ORed for positive operators, NORed for negated ones.
fn multiple_values() -> Vec<Case> {
    let mut cases = Vec::new();
    for spec in &OPERATORS {
        let Some(decoy) = spec.decoy else { continue };
        for (state, value) in [("holds", spec.holds), ("fails", spec.fails)] {
            let context = get_object(USER).with(spec.key, value);
            let condition = json!({ spec.operator: { spec.key: [decoy, spec.policy] } });
            let name = format!("{}/{state}", spec.operator);
            cases.push(
                condition_case("multiple-values", name, "Allow", condition, context)
                    .expect(outcome_for("Allow", state == "holds"))
                    .build(),
            );
        }
    }
    cases
}

/// The request's set for `aws:TagKeys`.
#[derive(Clone, Copy)]
enum SetState {
    Absent,
    Empty,
    All,
    Partial,
    MixedCase,
    None,
}

fn set_operators() -> Vec<Case> {
    // (operator, policy values, whether one request value satisfies it)
    type Spec = (&'static str, &'static [&'static str], fn(&str) -> bool);
    let specs: [Spec; 5] = [
        ("StringEquals", &["env", "owner"], |v| {
            v == "env" || v == "owner"
        }),
        ("StringNotEquals", &["env", "owner"], |v| {
            v != "env" && v != "owner"
        }),
        ("StringEqualsIgnoreCase", &["env", "owner"], |v| {
            v.eq_ignore_ascii_case("env") || v.eq_ignore_ascii_case("owner")
        }),
        ("StringLike", &["env*", "own?r"], |v| {
            v.starts_with("env") || (v.len() == 5 && v.starts_with("own") && v.ends_with('r'))
        }),
        ("StringNotLike", &["env*", "own?r"], |v| {
            !(v.starts_with("env") || (v.len() == 5 && v.starts_with("own") && v.ends_with('r')))
        }),
    ];
    let mut cases = Vec::new();
    for (base, values, satisfies) in specs {
        for set in ["ForAnyValue", "ForAllValues"] {
            for if_exists in [false, true] {
                let operator = format!("{set}:{base}{}", if if_exists { "IfExists" } else { "" });
                for state in [
                    SetState::Absent,
                    SetState::Empty,
                    SetState::All,
                    SetState::Partial,
                    SetState::MixedCase,
                    SetState::None,
                ] {
                    let (state_name, request): (&str, Option<&[&str]>) = match state {
                        SetState::Absent => ("absent", None),
                        SetState::Empty => ("empty", Some(&[])),
                        SetState::All => ("all", Some(&["env", "owner"])),
                        SetState::Partial => ("partial", Some(&["env", "cost"])),
                        SetState::MixedCase => ("mixed-case", Some(&["ENV", "Owner"])),
                        SetState::None => ("none", Some(&["cost", "team"])),
                    };
                    let holds = match (set, request) {
                        ("ForAnyValue", None) => false,
                        ("ForAllValues", None) => true,
                        ("ForAnyValue", Some(items)) => items.iter().any(|item| satisfies(item)),
                        (_, Some(items)) => items.iter().all(|item| satisfies(item)),
                        _ => unreachable!(),
                    };
                    for effect in ["Allow", "Deny"] {
                        let mut context = get_object(USER);
                        if let Some(items) = request {
                            context.set("aws:TagKeys", ContextValue::multi(items.iter().copied()));
                        }
                        let condition = json!({ &operator: { "aws:TagKeys": values } });
                        let name = format!("{operator}/{state_name}/{effect}");
                        cases.push(
                            condition_case("set-operator", name, effect, condition, context)
                                .expect(outcome_for(effect, holds))
                                .build(),
                        );
                    }
                }
            }
        }
    }
    cases
}

const NULL_DATASET: &str = "a multivalued key with no values is a null dataset, evaluated as absent; iam-simulate treats the empty set as present";
const NULL_REFERENCE: &str = "IAM User Guide, Condition operators, Null: false means \"the key exists and its value is not null\"; Multivalued context keys: ForAllValues returns true when \"the context key value resolves to a null dataset\"";

fn null_checks() -> Vec<Case> {
    let mut cases = Vec::new();
    let states: [(&str, &str, Option<ContextValue>); 5] = [
        (
            "token-present",
            "aws:TokenIssueTime",
            Some(ContextValue::single(JUNE)),
        ),
        ("token-absent", "aws:TokenIssueTime", None),
        (
            "set-present",
            "aws:TagKeys",
            Some(ContextValue::multi(["env"])),
        ),
        ("set-absent", "aws:TagKeys", None),
        (
            "set-empty",
            "aws:TagKeys",
            Some(ContextValue::multi(Vec::<String>::new())),
        ),
    ];
    for (state, key, value) in states {
        let absent = value.as_ref().is_none_or(ContextValue::is_null_dataset);
        for wanted in ["true", "false"] {
            for effect in ["Allow", "Deny"] {
                let mut context = get_object(USER);
                if let Some(value) = &value {
                    context.set(key, value.clone());
                }
                let holds = (wanted == "true") == absent;
                let condition = json!({"Null": { key: wanted }});
                let name = format!("{state}/{wanted}/{effect}");
                let mut builder = condition_case("null", name, effect, condition, context)
                    .expect(outcome_for(effect, holds));
                if state == "set-empty" {
                    builder =
                        builder.diverges(NULL_DATASET, NULL_REFERENCE, outcome_for(effect, !holds));
                }
                cases.push(builder.build());
            }
        }
    }
    cases
}

/// Without a set operator a multivalued key never satisfies a single-valued
/// test, negated or not.
fn single_valued_operators_on_sets() -> Vec<Case> {
    let mut cases = Vec::new();
    let operators = [
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIfExists",
        "StringNotEqualsIfExists",
    ];
    let sets: [(&str, &[&str]); 3] = [("one", &["env"]), ("two", &["env", "cost"]), ("empty", &[])];
    for operator in operators {
        for (set_name, items) in sets {
            let context =
                get_object(USER).with("aws:TagKeys", ContextValue::multi(items.iter().copied()));
            let condition = json!({ operator: { "aws:TagKeys": "other" } });
            let name = format!("{operator}/{set_name}");
            let empty_holds = is_negated(operator) || operator.ends_with("IfExists");
            let holds = items.is_empty() && empty_holds;
            let mut builder =
                condition_case("single-valued-on-set", name, "Allow", condition, context)
                    .expect(outcome_for("Allow", holds));
            if holds {
                builder = builder.diverges(NULL_DATASET, NULL_REFERENCE, Outcome::ImplicitlyDenied);
            }
            cases.push(builder.build());
        }
    }
    cases
}

/// Dates written as W3C date-times, plain dates and epoch seconds, on both
/// sides. iam-simulate compares an epoch value as a raw number against the
/// milliseconds of a date-time; the cases where that changes the answer
/// are documented divergences.
fn date_formats() -> Vec<Case> {
    // (form, policy value for 2024-06-01T00:00:00Z, request value before, request value after)
    let forms = [
        (
            "iso",
            "2024-06-01T00:00:00Z",
            "2024-05-01T00:00:00Z",
            "2024-07-01T00:00:00Z",
        ),
        ("date", "2024-06-01", "2024-05-01", "2024-07-01"),
        ("epoch", "1717200000", "1714521600", "1719792000"),
    ];
    // How iam-simulate reads a date: epoch digits as they are, anything
    // else as milliseconds.
    let simulator_number = |text: &str| -> f64 {
        if text.bytes().all(|b| b.is_ascii_digit()) {
            text.parse().unwrap()
        } else {
            let date = if text.len() == 10 {
                format!("{text}T00:00:00Z")
            } else {
                text.to_string()
            };
            chrono::DateTime::parse_from_rfc3339(&date)
                .unwrap()
                .timestamp_millis() as f64
        }
    };
    let mut cases = Vec::new();
    for (policy_form, policy_value, _, _) in forms {
        for (request_form, _, before, after) in forms {
            for (operator, request) in [("DateLessThan", before), ("DateGreaterThan", after)] {
                let context = get_object(USER).with(TIME, request);
                let condition = json!({ operator: { TIME: policy_value } });
                let name = format!("{operator}/policy-{policy_form}/request-{request_form}");
                let (simulated_request, simulated_policy) =
                    (simulator_number(request), simulator_number(policy_value));
                let simulator_holds = if operator == "DateLessThan" {
                    simulated_request < simulated_policy
                } else {
                    simulated_request > simulated_policy
                };
                let mut builder = condition_case("date-formats", name, "Allow", condition, context)
                    .expect(Outcome::Allowed);
                if !simulator_holds {
                    builder = builder.diverges(
                        "an epoch-seconds date against a date-time: gensec compares instants, iam-simulate compares epoch seconds with milliseconds",
                        "IAM User Guide, Condition operators, Date condition operators: values in W3C ISO 8601 date formats or epoch (UNIX) time",
                        Outcome::ImplicitlyDenied,
                    );
                }
                cases.push(builder.build());
            }
        }
    }
    cases
}
