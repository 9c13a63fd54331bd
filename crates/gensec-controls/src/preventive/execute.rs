//! SCP statements executed as IAM evaluates them, before they are written.
//!
//! Each statement is run, with every other statement of the package beside
//! it and AWS's `FullAWSAccess`, against:
//! - the insecure request it targets (must be denied, by this statement);
//! - the request that leaves the condition's keys out (denied when the API's
//!   default is insecure, allowed when it is compliant or stated as not
//!   enforceable);
//! - the compliant request, on every resource the call is authorised against
//!   (must be allowed);
//! - the exempt principals of the profile (must be allowed);
//! - every call CloudFormation's create and update handlers make for the
//!   package's own resource types, by the deployer, with the compliant values
//!   (must be allowed).
//!
//! A statement that fails a case is dropped, with the case that caught it.

use gensec_core::contract::analysis::{PreventiveSpec, WhenOmitted};
use gensec_core::contract::controls::{ExecutedCase, Verdict};
use gensec_core::input::ScpExemptions;
use gensec_kb::{IamAction, Kb};
use gensec_policy::{
    ApiCall, ContextValue, Outcome, Policy, PolicyKind, PolicyRole, PolicySet, ResourceSpec,
    ScpLevel,
};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The account the sample principals and resources live in.
const SAMPLE_ACCOUNT: &str = "111122223333";
/// A workload principal no exemption names.
pub const WORKLOAD_PRINCIPAL: &str = "arn:aws:iam::111122223333:role/workload-developer";
/// The deployer when the profile names none (then it is not exempt).
const DEFAULT_DEPLOYER: &str = "arn:aws:iam::111122223333:role/cicd-deployer";
/// The id of the document the candidates are executed in.
const DOCUMENT_ID: &str = "package-scps";

/// One statement proposed for a recommendation, not yet written.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub configuration_id: String,
    pub spec: PreventiveSpec,
    /// `Effect`, `Action`, `Resource`, `Condition` (no `Sid`).
    pub statement: Value,
}

/// A request a statement is executed against, and what must happen to it.
#[derive(Debug, Clone)]
struct Case {
    name: String,
    call: ApiCall,
    expected: Verdict,
}

/// What execution decided for the candidates.
#[derive(Debug, Default)]
pub struct Execution {
    /// Per kept candidate (same index as the input), the cases it passed.
    pub passed: BTreeMap<usize, Vec<ExecutedCase>>,
    /// Dropped candidates with the case that caught them.
    pub dropped: BTreeMap<usize, String>,
    /// Calls of the package's own template executed (and allowed).
    pub template_calls: Vec<ExecutedCase>,
}

/// A principal that an ARN pattern matches (`*` in the account becomes the
/// sample account, other wildcards a letter).
fn sample_principal(pattern: &str) -> String {
    let mut parts: Vec<String> = pattern.splitn(6, ':').map(str::to_string).collect();
    if parts.len() == 6 {
        if parts[1].contains(['*', '?']) {
            parts[1] = "aws".into();
        }
        if parts[4].contains(['*', '?']) {
            parts[4] = SAMPLE_ACCOUNT.into();
        }
        parts[5] = parts[5].replace(['*', '?'], "x");
    }
    parts.join(":")
}

/// A resource an ARN pattern matches: `*` in the partition, region and
/// account become `aws`, `us-east-1` and the sample account.
fn sample_arn(pattern: &str) -> String {
    let mut parts: Vec<String> = pattern.splitn(6, ':').map(str::to_string).collect();
    if parts.len() == 6 {
        for (index, sample) in [(1, "aws"), (3, "us-east-1"), (4, SAMPLE_ACCOUNT)] {
            if parts[index] == "*" {
                parts[index] = sample.into();
            }
        }
    }
    parts.join(":")
}

/// The IAM resource type an ARN names (`...::foundation-model/x` ->
/// `foundation-model`).
fn arn_resource_type(arn: &str) -> Result<&str, String> {
    arn.splitn(6, ':')
        .nth(5)
        .and_then(|resource| resource.split_once('/'))
        .map(|(resource_type, _)| resource_type)
        .ok_or_else(|| format!("{arn}: expected <type>/<id> after the account"))
}

/// The deployer principal the template's calls are made by.
pub fn deployer_principal(exemptions: &ScpExemptions) -> String {
    exemptions
        .deployer_principal_arns
        .first()
        .map_or_else(|| DEFAULT_DEPLOYER.to_string(), |p| sample_principal(p))
}

fn context_value(value: &Value) -> ContextValue {
    match value {
        Value::String(text) => ContextValue::single(text.clone()),
        Value::Array(items) => ContextValue::multi(items.iter().map(|item| match item {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        })),
        other => ContextValue::single(other.to_string()),
    }
}

/// Whether a key as the KB lists it (`eks:loggingType/${LogType}`) covers `key`.
fn key_covers(listed: &str, key: &str) -> bool {
    match listed.split_once("${") {
        Some((prefix, _)) => key
            .to_ascii_lowercase()
            .starts_with(&prefix.to_ascii_lowercase()),
        None => listed.eq_ignore_ascii_case(key),
    }
}

/// The condition keys a statement's condition block names.
pub fn condition_keys(condition: Option<&Value>) -> Vec<String> {
    condition
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|operators| operators.values())
        .filter_map(Value::as_object)
        .flat_map(|block| block.keys().cloned())
        .collect()
}

/// The optional resource types a call must name: those whose row or table
/// lists one of `keys`, the spec's own resource type, or (when the action
/// has no required type) the first one.
fn optional_types(
    kb: &Kb,
    action: &IamAction,
    keys: &[String],
    scope: Option<&str>,
) -> Vec<String> {
    let prefix = action_prefix(action);
    let tables: &[_] = kb
        .iam_service(prefix)
        .ok()
        .flatten()
        .map_or(&[], |service| service.resource_types.as_slice());
    let mut chosen: Vec<String> = action
        .resource_types
        .iter()
        .filter(|resource| !resource.required)
        .filter(|resource| {
            Some(resource.name.as_str()) == scope
                || keys.iter().any(|key| {
                    resource.condition_keys.iter().any(|l| key_covers(l, key))
                        || tables
                            .iter()
                            .filter(|t| t.name == resource.name)
                            .flat_map(|t| &t.condition_keys)
                            .any(|l| key_covers(l, key))
                })
        })
        .map(|resource| resource.name.clone())
        .collect();
    let has_required = action.resource_types.iter().any(|r| r.required);
    if chosen.is_empty()
        && !has_required
        && let Some(first) = action.resource_types.first()
    {
        chosen.push(first.name.clone());
    }
    chosen
}

fn action_prefix(action: &IamAction) -> &str {
    action.name.split(':').next().unwrap_or_default()
}

/// A call of `action` by `principal` with `values`, touching the resources
/// the statement's keys describe.
fn call(
    kb: &Kb,
    action_name: &str,
    principal: &str,
    values: &BTreeMap<String, Value>,
    keys: &[String],
    scope: Option<&str>,
) -> Result<ApiCall, String> {
    let action = kb
        .action(action_name)
        .map_err(|err| err.to_string())?
        .ok_or_else(|| format!("unknown action {action_name}"))?;
    let mut full = action.clone();
    full.name = action_name.to_string();
    let mut api = ApiCall::new(action_name, principal);
    for resource in optional_types(kb, &full, keys, scope) {
        api = api.touch(resource);
    }
    for (key, value) in values {
        api = api.value(key.clone(), context_value(value));
    }
    Ok(api)
}

/// The compliant values every statement naming `action` asks for, keeping
/// only keys the action supports: a request that satisfies the whole package.
fn compliant_values<'a>(
    kb: &Kb,
    action: &str,
    specs: impl IntoIterator<Item = &'a PreventiveSpec>,
) -> BTreeMap<String, Value> {
    let mut values = BTreeMap::new();
    for spec in specs {
        if !spec.actions.iter().any(|a| a.eq_ignore_ascii_case(action)) {
            continue;
        }
        for (key, value) in &spec.compliant {
            if gensec_kb::validate::condition_key_for_action(kb, action, key).is_ok() {
                values.insert(key.clone(), value.clone());
            }
        }
    }
    values
}

/// The cases one candidate is executed against.
///
/// A workload request carries, besides the case's own values, the compliant
/// values of the other statements (`package`), so it fails only because of
/// what this statement is about; the exempt principals' requests do not.
fn cases(
    kb: &Kb,
    candidate: &Candidate,
    package: &[&PreventiveSpec],
    exemptions: &ScpExemptions,
) -> Result<Vec<Case>, String> {
    let spec = &candidate.spec;
    let own_keys = condition_keys(spec.condition.as_ref());
    let mut cases = Vec::new();
    for action in &spec.actions {
        let mut rest = compliant_values(kb, action, package.iter().copied());
        rest.retain(|key, _| !own_keys.iter().any(|own| own.eq_ignore_ascii_case(key)));
        let mut action_cases = ActionCases {
            kb,
            action,
            own_keys: &own_keys,
            rest,
            scope: spec.resource_type.as_deref(),
            cases: &mut cases,
        };
        if spec.not_resource.is_some() {
            action_cases.not_resource(candidate, exemptions)?;
        } else if spec.condition.is_none() {
            action_cases.unconditional(exemptions)?;
        } else {
            action_cases.conditional(candidate, exemptions)?;
        }
    }
    Ok(cases)
}

/// The cases of one action of a statement. A workload principal's call
/// also carries the compliant values the rest of the package asks for, so
/// only this statement decides it.
struct ActionCases<'a> {
    kb: &'a Kb,
    action: &'a str,
    own_keys: &'a [String],
    rest: BTreeMap<String, Value>,
    scope: Option<&'a str>,
    cases: &'a mut Vec<Case>,
}

impl ActionCases<'_> {
    fn push(
        &mut self,
        name: String,
        principal: &str,
        values: &BTreeMap<String, Value>,
        expected: Verdict,
    ) -> Result<(), String> {
        let mut all = values.clone();
        if principal == WORKLOAD_PRINCIPAL {
            for (key, value) in &self.rest {
                all.entry(key.clone()).or_insert_with(|| value.clone());
            }
        }
        let mut keys = self.own_keys.to_vec();
        keys.extend(all.keys().filter(|k| !self.own_keys.contains(k)).cloned());
        let call = call(self.kb, self.action, principal, &all, &keys, self.scope)?;
        self.cases.push(Case {
            name: format!("{}: {name}", self.action),
            call,
            expected,
        });
        Ok(())
    }

    /// A call of the action on one resource only (`arn`, whose type is
    /// read from it), as the action's alternatives allow.
    fn push_on(
        &mut self,
        name: String,
        principal: &str,
        arn: &str,
        expected: Verdict,
    ) -> Result<(), String> {
        let resource_type = arn_resource_type(arn)?;
        let mut api = ApiCall::new(self.action, principal)
            .resource(resource_type, ResourceSpec::arn(arn))
            .only_named();
        if principal == WORKLOAD_PRINCIPAL {
            for (key, value) in &self.rest {
                api = api.value(key.clone(), context_value(value));
            }
        }
        self.cases.push(Case {
            name: format!("{}: {name}", self.action),
            call: api,
            expected,
        });
        Ok(())
    }

    /// A Deny on every resource but the listed ones (`NotResource`): the
    /// action on a resource the list does not name is denied, on each
    /// listed one allowed, and break-glass principals may use the unlisted
    /// one. The deployer is not exempt.
    fn not_resource(
        &mut self,
        candidate: &Candidate,
        exemptions: &ScpExemptions,
    ) -> Result<(), String> {
        let listed: Vec<String> = candidate.statement["NotResource"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| item.as_str().map(sample_arn))
            .collect();
        let Some(first) = listed.first() else {
            return Err(format!(
                "{}: a NotResource statement without resources",
                candidate.configuration_id
            ));
        };
        let unlisted = match first.rsplit_once('/') {
            Some((head, _)) => format!("{head}/example-unlisted-resource"),
            None => return Err(format!("{first}: expected <type>/<id> in the ARN")),
        };
        if listed.contains(&unlisted) {
            return Err(format!("{unlisted} is listed; no unlisted sample to deny"));
        }
        self.push_on(
            format!("unlisted resource {unlisted}"),
            WORKLOAD_PRINCIPAL,
            &unlisted,
            Verdict::Denied,
        )?;
        for arn in &listed {
            self.push_on(
                format!("listed resource {arn}"),
                WORKLOAD_PRINCIPAL,
                arn,
                Verdict::Allowed,
            )?;
        }
        for pattern in &exemptions.break_glass_principal_arns {
            self.push_on(
                format!("break-glass principal {pattern} on {unlisted}"),
                &sample_principal(pattern),
                &unlisted,
                Verdict::Allowed,
            )?;
        }
        Ok(())
    }

    /// An unconditional Deny: denied to any principal, allowed to each
    /// exempt one.
    fn unconditional(&mut self, exemptions: &ScpExemptions) -> Result<(), String> {
        let none = BTreeMap::new();
        self.push(
            "any principal".into(),
            WORKLOAD_PRINCIPAL,
            &none,
            Verdict::Denied,
        )?;
        for pattern in exemptions
            .break_glass_principal_arns
            .iter()
            .chain(&exemptions.deployer_principal_arns)
        {
            self.push(
                format!("exempt principal {pattern}"),
                &sample_principal(pattern),
                &none,
                Verdict::Allowed,
            )?;
        }
        Ok(())
    }

    /// A conditional Deny: the insecure request and (as stated) the request
    /// without the key denied or allowed, the compliant request allowed,
    /// and break-glass principals allowed even the insecure request.
    fn conditional(
        &mut self,
        candidate: &Candidate,
        exemptions: &ScpExemptions,
    ) -> Result<(), String> {
        let spec = &candidate.spec;
        let none = BTreeMap::new();
        if spec.compliant.is_empty() {
            return Err(format!(
                "{}: a conditional statement needs a compliant request to be executed against",
                candidate.configuration_id
            ));
        }
        if !spec.insecure.is_empty() {
            self.push(
                format!("insecure request {}", describe(&spec.insecure)),
                WORKLOAD_PRINCIPAL,
                &spec.insecure,
                Verdict::Denied,
            )?;
        }
        let omitted = match &spec.when_omitted {
            WhenOmitted::Unstated => None,
            WhenOmitted::Insecure => Some(("insecure by default", Verdict::Denied)),
            WhenOmitted::Compliant => Some(("compliant by default", Verdict::Allowed)),
            WhenOmitted::NotEnforced(_) => Some(("not enforced at this call", Verdict::Allowed)),
        };
        if let Some((why, expected)) = omitted {
            self.push(
                format!("request without {} ({why})", self.own_keys.join(", ")),
                WORKLOAD_PRINCIPAL,
                &none,
                expected,
            )?;
        } else if spec.insecure.is_empty() {
            return Err(format!(
                "{}: no insecure request to execute the statement against",
                candidate.configuration_id
            ));
        }
        self.push(
            format!("compliant request {}", describe(&spec.compliant)),
            WORKLOAD_PRINCIPAL,
            &spec.compliant,
            Verdict::Allowed,
        )?;
        let insecure = if spec.insecure.is_empty() {
            &none
        } else {
            &spec.insecure
        };
        for pattern in &exemptions.break_glass_principal_arns {
            self.push(
                format!("break-glass principal {pattern}"),
                &sample_principal(pattern),
                insecure,
                Verdict::Allowed,
            )?;
        }
        Ok(())
    }
}

fn describe(values: &BTreeMap<String, Value>) -> String {
    values
        .iter()
        .map(|(key, value)| format!("{key}={}", value_text(value)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn sid(index: usize) -> String {
    format!("Candidate{index}")
}

/// The candidates still kept, as one SCP beside FullAWSAccess, under an
/// identity policy that allows everything (so only the SCP can deny).
fn policy_set(candidates: &[Candidate], kept: &BTreeSet<usize>) -> Result<PolicySet, String> {
    let statements: Vec<Value> = kept
        .iter()
        .map(|index| {
            let mut statement = candidates[*index].statement.clone();
            statement["Sid"] = json!(sid(*index));
            statement
        })
        .collect();
    let mut policies = Vec::new();
    if !statements.is_empty() {
        let document = json!({"Version": "2012-10-17", "Statement": statements});
        policies.push(
            Policy::from_value(DOCUMENT_ID, PolicyKind::ServiceControl, &document)
                .map_err(|err| format!("the SCP does not parse: {err}"))?,
        );
    }
    let admin = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    Ok(PolicySet {
        identity: vec![
            Policy::from_value("admin", PolicyKind::Identity, &admin)
                .map_err(|err| err.to_string())?,
        ],
        resource: Some(
            Policy::from_value(
                "resource-policy",
                PolicyKind::Resource,
                &account_resource_policy(),
            )
            .map_err(|err| err.to_string())?,
        ),
        scps: vec![ScpLevel::with_full_aws_access("root", policies)],
        ..PolicySet::default()
    })
}

/// A resource policy that trusts the account, as a KMS key policy must for
/// identity policies to count: so that only the SCP can deny.
fn account_resource_policy() -> Value {
    json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "TrustTheAccount", "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{SAMPLE_ACCOUNT}:root")},
        "Action": "*", "Resource": "*"
    }]})
}

/// The kept candidates whose statements denied a call.
fn denying(decision: &gensec_policy::CallDecision) -> BTreeSet<usize> {
    decision
        .resources
        .iter()
        .flat_map(|resource| &resource.decision.statements)
        .filter(|statement| matches!(statement.role, PolicyRole::Scp(_)))
        .filter_map(|statement| statement.statement.strip_prefix("Candidate")?.parse().ok())
        .collect()
}

fn verdict(outcome: Outcome) -> Verdict {
    if outcome == Outcome::ExplicitlyDenied {
        Verdict::Denied
    } else {
        Verdict::Allowed
    }
}

/// The calls CloudFormation makes for the package's own resource types
/// (create and update handlers), by the deployer, with the compliant
/// values of every statement that names the action.
pub fn template_calls(
    kb: &Kb,
    resource_types: &[String],
    specs: &[&PreventiveSpec],
    deployer: &str,
) -> Result<Vec<(String, ApiCall)>, String> {
    let mut actions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for type_name in resource_types {
        let Some(schema) = kb.resource_type(type_name).map_err(|err| err.to_string())? else {
            continue;
        };
        for handler in ["create", "update"] {
            for action in schema
                .handler_permissions
                .get(handler)
                .into_iter()
                .flatten()
            {
                actions
                    .entry(action.clone())
                    .or_default()
                    .insert(format!("{type_name} {handler}"));
            }
        }
    }
    let mut cases = Vec::new();
    for (action, handlers) in actions {
        if action.contains('*') || !matches!(kb.action(&action), Ok(Some(_))) {
            // Wildcards and actions the IAM reference does not list cannot be
            // authorised against resources; no SCP names them either.
            continue;
        }
        let values = compliant_values(kb, &action, specs.iter().copied());
        let keys: Vec<String> = values.keys().cloned().collect();
        let api = call(kb, &action, deployer, &values, &keys, None)?;
        let name = format!(
            "{action} by the deployer for {}{}",
            handlers.into_iter().collect::<Vec<_>>().join(", "),
            if values.is_empty() {
                String::new()
            } else {
                format!(" with {}", describe(&values))
            }
        );
        cases.push((name, api));
    }
    Ok(cases)
}

/// Execute every candidate's cases and the template's calls against the
/// package's statements, dropping failing statements until all pass.
pub fn execute(
    kb: &Kb,
    candidates: &[Candidate],
    resource_types: &[String],
    exemptions: &ScpExemptions,
) -> Result<Execution, String> {
    let mut execution = Execution::default();
    let package: Vec<&PreventiveSpec> = candidates.iter().map(|c| &c.spec).collect();
    let own = own_cases(kb, candidates, &package, exemptions, &mut execution);
    let deployer = deployer_principal(exemptions);
    let mut kept: BTreeSet<usize> = own.keys().copied().collect();
    loop {
        let set = policy_set(candidates, &kept)?;
        let mut failed: BTreeMap<usize, String> = BTreeMap::new();
        let passed = run_own_cases(kb, &set, &kept, &own, &mut failed)?;
        let live: Vec<&PreventiveSpec> = kept.iter().map(|i| &candidates[*i].spec).collect();
        let template = template_calls(kb, resource_types, &live, &deployer)?;
        let template_cases = run_template_calls(kb, &set, &template, &mut failed)?;
        if failed.is_empty() {
            execution.passed = passed;
            execution.template_calls = template_cases;
            return Ok(execution);
        }
        for (index, reason) in failed {
            kept.remove(&index);
            execution.dropped.insert(index, reason);
        }
    }
}

/// Each candidate's own cases; a candidate whose cases cannot be built is
/// dropped with the reason.
fn own_cases(
    kb: &Kb,
    candidates: &[Candidate],
    package: &[&PreventiveSpec],
    exemptions: &ScpExemptions,
    execution: &mut Execution,
) -> BTreeMap<usize, Vec<Case>> {
    let mut own: BTreeMap<usize, Vec<Case>> = BTreeMap::new();
    for (index, candidate) in candidates.iter().enumerate() {
        match cases(kb, candidate, package, exemptions) {
            Ok(cases) => {
                own.insert(index, cases);
            }
            Err(reason) => {
                execution.dropped.insert(index, reason);
            }
        }
    }
    own
}

/// The kept candidates' cases against the policy set: the cases each passed;
/// a failing case blames its own statement (a Deny that did not happen) or
/// the statements that denied it (an Allow that did not happen).
fn run_own_cases(
    kb: &Kb,
    set: &PolicySet,
    kept: &BTreeSet<usize>,
    own: &BTreeMap<usize, Vec<Case>>,
    failed: &mut BTreeMap<usize, String>,
) -> Result<BTreeMap<usize, Vec<ExecutedCase>>, String> {
    let mut passed: BTreeMap<usize, Vec<ExecutedCase>> = BTreeMap::new();
    for index in kept {
        for case in &own[index] {
            let contexts = case.call.contexts(kb).map_err(|err| err.to_string())?;
            let decision = set.evaluate_call(&contexts);
            let actual = verdict(decision.outcome);
            let by_this = denying(&decision).contains(index);
            let ok = match case.expected {
                Verdict::Denied => actual == Verdict::Denied && by_this,
                _ => actual == Verdict::Allowed,
            };
            if ok {
                passed.entry(*index).or_default().push(ExecutedCase {
                    name: case.name.clone(),
                    expected: case.expected,
                    actual,
                });
                continue;
            }
            let culprits = if case.expected == Verdict::Denied {
                BTreeSet::from([*index])
            } else {
                denying(&decision)
            };
            for culprit in culprits {
                failed.entry(culprit).or_insert_with(|| {
                    format!(
                        "case \"{}\" expected {:?}, got {:?}: {}",
                        case.name,
                        case.expected,
                        actual,
                        decision.to_string().replace('\n', "; ")
                    )
                });
            }
        }
    }
    Ok(passed)
}

/// The package's own template calls against the policy set: each must be
/// allowed, and a statement denying one fails.
fn run_template_calls(
    kb: &Kb,
    set: &PolicySet,
    template: &[(String, ApiCall)],
    failed: &mut BTreeMap<usize, String>,
) -> Result<Vec<ExecutedCase>, String> {
    let mut template_cases = Vec::new();
    for (name, call) in template {
        let contexts = call.contexts(kb).map_err(|err| err.to_string())?;
        let decision = set.evaluate_call(&contexts);
        let actual = verdict(decision.outcome);
        if actual == Verdict::Denied {
            for culprit in denying(&decision) {
                failed.entry(culprit).or_insert_with(|| {
                    format!("denies a call the package's own template needs: {name}")
                });
            }
        }
        template_cases.push(ExecutedCase {
            name: name.clone(),
            expected: Verdict::Allowed,
            actual,
        });
    }
    Ok(template_cases)
}

/// One candidate's cases as cross-check corpus cases (the statement alone
/// beside FullAWSAccess, under an identity policy that allows everything),
/// so an independent evaluator can decide them too.
pub fn corpus_cases(
    kb: &Kb,
    candidate: &Candidate,
    exemptions: &ScpExemptions,
) -> Result<Vec<gensec_policy::corpus::Case>, String> {
    use gensec_policy::corpus::{
        Case as CorpusCase, NamedPolicy, ScpLevelDocuments, SimulatorMode,
    };
    let mut statement = candidate.statement.clone();
    statement["Sid"] = json!("Statement");
    let scp = json!({"Version": "2012-10-17", "Statement": [statement]});
    let admin = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    let full = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    cases(kb, candidate, &[], exemptions)?
        .into_iter()
        .map(|case| {
            Ok(CorpusCase {
                id: format!("catalogue-scp/{}/{}", candidate.configuration_id, case.name),
                category: "catalogue-scp".into(),
                description: format!(
                    "{} executed against {}",
                    candidate.configuration_id, case.name
                ),
                identity_policies: vec![NamedPolicy::new("allow-everything", admin.clone())],
                resource_policy: Some(NamedPolicy::new(
                    "resource-policy",
                    account_resource_policy(),
                )),
                permission_boundary: None,
                scps: vec![ScpLevelDocuments {
                    id: "root".into(),
                    policies: vec![
                        NamedPolicy::new("FullAWSAccess", full.clone()),
                        NamedPolicy::new(candidate.configuration_id.clone(), scp.clone()),
                    ],
                }],
                requests: case.call.contexts(kb).map_err(|err| err.to_string())?,
                expected: Some(if case.expected == Verdict::Denied {
                    Outcome::ExplicitlyDenied
                } else {
                    Outcome::Allowed
                }),
                simulator: SimulatorMode::Compare,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_principals_match_their_patterns() {
        assert_eq!(
            sample_principal("arn:aws:iam::*:role/SecurityBreakGlass"),
            "arn:aws:iam::111122223333:role/SecurityBreakGlass"
        );
        assert_eq!(
            sample_principal("arn:*:iam::12345678901?:role/cicd-*"),
            "arn:aws:iam::111122223333:role/cicd-x"
        );
    }

    #[test]
    fn sample_arns_match_their_patterns() {
        let arn = sample_arn("arn:*:bedrock:*::foundation-model/anthropic.claude-v2:1");
        assert_eq!(
            arn,
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-v2:1"
        );
        assert_eq!(arn_resource_type(&arn).unwrap(), "foundation-model");
        assert_eq!(
            sample_arn("arn:aws:bedrock:eu-west-1:*:inference-profile/eu.x"),
            "arn:aws:bedrock:eu-west-1:111122223333:inference-profile/eu.x"
        );
    }

    #[test]
    fn templated_keys_cover_their_instances() {
        assert!(key_covers(
            "eks:loggingType/${LogType}",
            "eks:loggingType/audit"
        ));
        assert!(key_covers("ec2:Encrypted", "EC2:encrypted"));
        assert!(!key_covers("ec2:Encrypted", "ec2:EncryptedX"));
    }
}
