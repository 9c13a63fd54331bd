//! `iam/iam-review.md`: the IAM review module for the IAM and security teams.

use crate::PersonaReport;
use crate::arn::PLACEHOLDERS;
use crate::data::Curated;
use crate::names::{
    CONFIGURATION_SUFFIXES, DATA_ITEM_TYPE_SUFFIXES, DATA_WORDS, DESTRUCTIVE_VERBS,
    METADATA_SUFFIXES,
};
use crate::personas::RUNTIME_NOTES;
use crate::policy::{Conditions, MAX_POLICY_CHARS};
use gensec_core::SecurityProfile;
use gensec_core::contract::iam::{IamModel, RiskCategory};
use gensec_core::markdown;
use gensec_kb::ServiceDocumentation;
use std::fmt::Write;

fn category_name(category: RiskCategory) -> &'static str {
    match category {
        RiskCategory::PermissionsManagement => "permissions management",
        RiskCategory::PrivilegeEscalation => "privilege escalation",
        RiskCategory::DataExfiltration => "data exfiltration",
        RiskCategory::ResourceExposure => "resource exposure",
    }
}

fn code_list(items: &[impl AsRef<str>]) -> String {
    items
        .iter()
        .map(|item| markdown::code(item.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn conditions_text(conditions: &Conditions) -> String {
    if conditions.is_empty() {
        return "none".into();
    }
    let mut parts = Vec::new();
    for (operator, keys) in conditions {
        for (key, values) in keys {
            parts.push(format!("{operator} `{key}` = {}", values.join(" | ")));
        }
    }
    parts.join("; ")
}

/// Render the review module, one section after another. `write!` to a `String` cannot fail.
pub(crate) fn render(
    curated: &Curated,
    doc: &ServiceDocumentation,
    profile: &SecurityProfile,
    model: &IamModel,
    reports: &[PersonaReport],
    warnings: &[String],
) -> String {
    let mut md = String::new();
    title_and_scope(&mut md, doc, profile);
    personas_at_a_glance(&mut md, reports);
    approval_workflow(&mut md, doc, profile);
    placeholders(&mut md);
    conditions(&mut md, profile);
    selection_rules(&mut md, curated);
    let _ = writeln!(md, "## Personas\n");
    for report in reports {
        persona_section(&mut md, doc, model, report);
    }
    executed_cases(&mut md, model, reports);
    risky_actions(&mut md, model);
    validation(&mut md, warnings);
    md
}

fn title_and_scope(md: &mut String, doc: &ServiceDocumentation, profile: &SecurityProfile) {
    let _ = writeln!(
        md,
        "# IAM review: {} (`{}`)\n",
        doc.display_name, doc.service_id
    );
    let _ = writeln!(
        md,
        "IAM model for {} ({:?} environment), generated from the IAM service reference of {} \
         (knowledge base data date). Every action below exists in that reference; none is a \
         wildcard. Review each persona, approve it as the workflow below says, substitute the \
         placeholders, then attach the policies.\n",
        markdown::strong(&profile.organization_name),
        profile.environment_type,
        doc.kb_data_date
    );
}

fn personas_at_a_glance(md: &mut String, reports: &[PersonaReport]) {
    let _ = writeln!(md, "## Personas at a glance\n");
    let _ = writeln!(
        md,
        "| persona | actions | statements | policy documents | cases passed | condition keys | approval |\n|---|---|---|---|---|---|---|"
    );
    for report in reports {
        let persona = &report.persona;
        let _ = writeln!(
            md,
            "| {} (`{}`) | {} | {} | {} | {}/{} | {} | {} |",
            persona.name,
            persona.id,
            persona.actions,
            persona.statements,
            if report.files.is_empty() {
                "none".to_string()
            } else {
                code_list(&report.files)
            },
            persona.cases.iter().filter(|c| c.passed()).count(),
            persona.cases.len(),
            if persona.condition_keys.is_empty() {
                "none".to_string()
            } else {
                code_list(&persona.condition_keys)
            },
            persona.approval
        );
    }
}

fn approval_workflow(md: &mut String, doc: &ServiceDocumentation, profile: &SecurityProfile) {
    let access = &profile.security_operations.access_management;
    let _ = writeln!(md, "\n## Approval workflow\n");
    let _ = writeln!(
        md,
        "1. The requesting team names the persona(s) it needs and who will hold them.\n\
         2. The service owner checks the actions against the team's use of {}.\n\
         3. The security team reviews every risky action the persona grants (tables below) and the conditions.\n\
         4. The IAM team also approves any persona granting permissions-management or privilege-escalation \
         actions, and always the administrator.\n\
         5. The placeholders are substituted, the policies attached (all documents of a split policy), and \
         the assignment recorded with its approvers.\n\
         6. Assignments are recertified at least yearly; administrator assignments are time-bound.\n",
        doc.display_name
    );
    let _ = writeln!(
        md,
        "MFA: the security profile {} MFA{}.\n",
        if access.mfa_required {
            "requires"
        } else {
            "does not require"
        },
        if access.mfa_required {
            "; the operator and administrator statements carry `BoolIfExists` `aws:MultiFactorAuthPresent` = true. \
             Why `IfExists`: IAM Identity Center, SAML and web-identity sessions carry no \
             `aws:MultiFactorAuthPresent` key (the identity provider enforces MFA at sign-in), so a plain `Bool` \
             would grant them nothing; with `BoolIfExists` a session without the key is allowed while an IAM \
             user's session that signed in without MFA (key present, false) is refused. Requests signed with an \
             IAM user's long-term access keys also carry no key, so attach these policies to roles (permission \
             sets or roles assumed with MFA, `aws:MultiFactorAuthPresent` required in the role's trust policy), \
             never to IAM users or groups. The auditor signs in through SSO, whose MFA the identity provider \
             enforces; the runtime and deployer are roles assumed by services, which cannot present MFA"
        } else {
            "; no MFA condition is added"
        }
    );
}

fn placeholders(md: &mut String) {
    let _ = writeln!(md, "## Placeholders to substitute\n");
    let _ = writeln!(md, "| placeholder | substitute |\n|---|---|");
    for (placeholder, meaning) in PLACEHOLDERS {
        let _ = writeln!(md, "| `{placeholder}` | {meaning} |");
    }
    let _ = writeln!(
        md,
        "\nResources come from the IAM reference's ARN formats: `${{Partition}}` is `aws`; the first \
         resource *name* of an ARN becomes `RESOURCE_PREFIX*`; identifiers AWS generates (ids, tokens, \
         versions) and child names (object keys) become `*`, scoped by their parent. Actions that support \
         no resource types are in `AccountLevel` statements with `\"Resource\": \"*\"`.\n"
    );
}

fn conditions(md: &mut String, profile: &SecurityProfile) {
    let _ = writeln!(md, "## Conditions\n");
    let regions = if profile.allowed_regions.is_empty() {
        "not used: the profile does not restrict regions".to_string()
    } else {
        format!(
            "`StringEquals` to {} on every statement except those of global services (IAM, STS, Organizations), whose requested region is always us-east-1",
            code_list(&profile.allowed_regions)
        )
    };
    let tag_condition_key = profile.tagging.persona_condition_key();
    let tag_parameter =
        gensec_core::input::Tagging::parameter_name(&profile.tagging.persona_scope_key);
    let _ = writeln!(
        md,
        "- `aws:SecureTransport` = true on every statement of personas that call AWS directly (not the \
         deployer, whose calls CloudFormation makes).\n\
         - `BoolIfExists` `aws:MultiFactorAuthPresent` = true for the operator and administrator when the profile requires MFA (federated sessions pass, IAM users without MFA do not).\n\
         - `aws:RequestedRegion`: {regions}.\n\
         - `{tag_condition_key}` = `WORKLOAD_NAME` for the runtime and operator, only on statements whose \
         every action's resource types support `aws:ResourceTag/${{TagKey}}`, and never on creates. \
         The key is the profile's persona scope key, a required tag the hardened template sets on every \
         taggable resource from its `{tag_parameter}` parameter: give that parameter the same value. \
         Tagging actions are withheld from both, so they cannot re-tag their way out of the scope.\n\
         - `iam:PassedToService` limits `iam:PassRole` to the package's services that take a role; \
         `iam:CreateServiceLinkedRole` is granted only on `arn:aws:iam::ACCOUNT_ID:role/aws-service-role/<service>/*` \
         with `iam:AWSServiceName` naming those services (curated in `data/escalation.json`; a package without \
         an entry gets neither).\n\
         - `kms:ViaService`: outside the KMS package, key use (`kms:Decrypt`, `kms:GenerateDataKey`, ...) only \
         through the services the package key's policy names; nobody decrypts directly or with another \
         key's ciphertext outside those services.\n\
         - Each condition key was checked to apply to every action of its statement.\n"
    );
}

fn selection_rules(md: &mut String, curated: &Curated) {
    let _ = writeln!(md, "## Selection rules\n");
    let _ = writeln!(
        md,
        "- **Data reads** (withheld from the auditor, flagged as data exfiltration): a Read action in the \
         curated list ({}) or whose name contains one of the words {} unless it ends with {}.\n\
         - **Data items**: resource types whose name ends with {}. The application runtime gets writes and \
         data reads on data items, data-plane verbs on scoped resources (`Invoke`, `Send`, `Receive`, \
         `Connect`, `Execute`) and a short companion list (for example `s3:ListBucket`, `rds:DescribeDBInstances`); \
         replication, retention, legal-hold and version-deleting actions are left to other roles.\n\
         - **Destructive deletes** (withheld from the operator): names starting with {} unless they end with {}.\n\
         - **Administrator**: every action of the service, enumerated. **Deployer**: the union of the \
         CloudFormation schemas' handler permissions (create, read, update, delete, list); permissions \
         that do not exist in the IAM reference are rejected and listed under Validation.\n",
        code_list(
            &curated
                .data_reads
                .reads
                .iter()
                .map(|r| r.action.as_str())
                .collect::<Vec<_>>()
        ),
        code_list(DATA_WORDS),
        code_list(METADATA_SUFFIXES),
        code_list(DATA_ITEM_TYPE_SUFFIXES),
        code_list(DESTRUCTIVE_VERBS),
        code_list(CONFIGURATION_SUFFIXES),
    );
}

fn executed_cases(md: &mut String, model: &IamModel, reports: &[PersonaReport]) {
    let _ = writeln!(md, "## Executed cases\n");
    let _ = writeln!(
        md,
        "Each persona's policy was executed with gensec-policy against the package's own resources \
         (ARNs of their resource types, the tags the template sets, the package key) before it was written. \
         A grant whose case failed was dropped.\n"
    );
    for report in reports {
        let persona = &report.persona;
        if persona.cases.is_empty() {
            continue;
        }
        let _ = writeln!(md, "### {} (`{}`)\n", persona.name, persona.id);
        for case in &persona.cases {
            let _ = writeln!(
                md,
                "- {}: expected {:?}, got {:?}{}",
                markdown::text(&case.name),
                case.expected,
                case.actual,
                if case.passed() { "" } else { " (FAILED)" }
            );
        }
        let _ = writeln!(md);
    }
    if !model.dropped.is_empty() {
        let _ = writeln!(md, "### Dropped grants\n");
        for grant in &model.dropped {
            let _ = writeln!(
                md,
                "- `{}`: `{}`, caught by \"{}\" (expected {:?}, got {:?})",
                grant.persona,
                grant.action,
                markdown::text(&grant.case.name),
                grant.case.expected,
                grant.case.actual
            );
        }
        let _ = writeln!(md);
    }
}

fn risky_actions(md: &mut String, model: &IamModel) {
    let _ = writeln!(md, "## Risky actions\n");
    if model.risky_actions.is_empty() {
        let _ = writeln!(md, "None.\n");
    } else {
        let _ = writeln!(
            md,
            "| action | category | reason | granted to |\n|---|---|---|---|"
        );
        for item in &model.risky_actions {
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | {} |",
                item.action,
                category_name(item.category),
                item.reason,
                item.granted_to.join(", ")
            );
        }
        let _ = writeln!(md);
    }
}

fn validation(md: &mut String, warnings: &[String]) {
    let _ = writeln!(md, "## Validation\n");
    let _ = writeln!(
        md,
        "Each action was checked against the IAM reference, each condition key against every action of its \
         statement, each document against the IAM policy grammar and the {MAX_POLICY_CHARS}-character \
         managed-policy limit (whitespace excluded). What failed was not written:\n"
    );
    if warnings.is_empty() {
        let _ = writeln!(md, "Nothing was rejected.");
    }
    for warning in warnings {
        let _ = writeln!(md, "- {warning}");
    }
}

/// One persona: what it can do, how its statements are scoped, and its risky actions.
fn persona_section(
    md: &mut String,
    doc: &ServiceDocumentation,
    model: &IamModel,
    report: &PersonaReport,
) {
    let persona = &report.persona;
    let _ = writeln!(md, "### {} (`{}`)\n", persona.name, persona.id);
    let _ = writeln!(md, "{}\n", persona.description);
    let _ = writeln!(md, "- Approval: {}", persona.approval);
    let _ = writeln!(
        md,
        "- Policy: {}",
        if report.files.is_empty() {
            "none written".to_string()
        } else {
            code_list(&report.files)
        }
    );
    let _ = writeln!(md, "- Actions: {}\n", persona.actions);
    if report.kind == crate::PersonaKind::ApplicationRuntime {
        for (prefix, note) in RUNTIME_NOTES {
            if doc.iam_prefixes.iter().any(|p| p == prefix) {
                let _ = writeln!(md, "> Note: {note}\n");
            }
        }
    }
    let _ = writeln!(md, "#### What it can do\n");
    if report.by_level.is_empty() {
        let _ = writeln!(md, "Nothing.\n");
    }
    for (level, actions) in &report.by_level {
        let _ = writeln!(
            md,
            "- **{level}** ({}): {}",
            actions.len(),
            code_list(actions)
        );
    }
    statement_scoping(md, report);
    let risky: Vec<_> = model
        .risky_actions
        .iter()
        .filter(|r| r.granted_to.iter().any(|p| p == &persona.id))
        .collect();
    let _ = writeln!(md, "\n#### Risky actions ({})\n", risky.len());
    if risky.is_empty() {
        let _ = writeln!(md, "None.");
    }
    for item in risky {
        let _ = writeln!(
            md,
            "- `{}`: {}: {}",
            item.action,
            category_name(item.category),
            item.reason
        );
    }
    let _ = writeln!(md);
}

/// The persona's statements: which resources each is scoped to, under which conditions.
fn statement_scoping(md: &mut String, report: &PersonaReport) {
    let _ = writeln!(md, "\n#### Resource scoping and conditions\n");
    if !report.statements.is_empty() {
        let _ = writeln!(
            md,
            "| statement | actions | resources | conditions |\n|---|---|---|---|"
        );
    }
    for statement in &report.statements {
        let resources = if statement.resources.is_empty() {
            "`*` (no resource types)".to_string()
        } else {
            code_list(&statement.resources)
        };
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} |",
            statement.sid,
            statement.actions.len(),
            resources,
            conditions_text(&statement.conditions)
        );
    }
}
