//! The profile as a presentation-neutral document (sections of paragraphs,
//! tables and checklists), rendered to Markdown by [`crate::markdown`] and to
//! HTML by [`crate::html`], so both say exactly the same.

use crate::profile::{Finding, NOT_GENERATED, Section, ServiceProfile};
use gensec_core::contract::analysis::Priority;
use gensec_core::contract::paths;

/// Inline text.
#[derive(Debug, Clone, PartialEq)]
pub enum Span {
    Text(String),
    Code(String),
    Strong(String),
}

pub type Line = Vec<Span>;

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Para(Line),
    /// Where the section's facts come from.
    Source(Vec<String>),
    Table {
        headers: Vec<String>,
        rows: Vec<Vec<Line>>,
    },
    List(Vec<Line>),
    /// Unticked checkbox items.
    Checklist(Vec<Line>),
    /// The controls' executed cases, collapsed by default: one summary line
    /// per control and its cases. `report.html` shows them under Controls
    /// and points there instead of repeating them.
    Cases(Vec<(String, Vec<Line>)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ViewSection {
    /// Element id in HTML.
    pub id: String,
    pub title: String,
    /// 2 for sections, 3 for sub-sections.
    pub level: u8,
    pub blocks: Vec<Block>,
}

/// Longest value shown inline; the JSON profile keeps the whole value.
const VALUE_LIMIT: usize = 120;

fn text(s: impl Into<String>) -> Span {
    Span::Text(s.into())
}

fn code(s: impl Into<String>) -> Span {
    Span::Code(s.into())
}

fn strong(s: impl Into<String>) -> Span {
    Span::Strong(s.into())
}

fn cell(s: impl Into<String>) -> Line {
    vec![text(s)]
}

fn code_cell(s: impl Into<String>) -> Line {
    vec![code(s)]
}

/// Shorten a long value for display.
pub fn short(value: &str) -> String {
    if value.chars().count() <= VALUE_LIMIT {
        value.to_string()
    } else {
        let mut out: String = value.chars().take(VALUE_LIMIT).collect();
        out.push('…');
        out
    }
}

fn list_or(items: &[String], empty: &str) -> String {
    if items.is_empty() {
        empty.to_string()
    } else {
        items.join(", ")
    }
}

fn section(id: &str, title: &str, level: u8, blocks: Vec<Block>) -> ViewSection {
    ViewSection {
        id: id.into(),
        title: title.into(),
        level,
        blocks,
    }
}

/// Title of the document.
pub fn title(profile: &ServiceProfile) -> String {
    format!("Service Research Profile: {}", profile.service_name)
}

/// The lines under the title.
pub fn preamble(profile: &ServiceProfile) -> Vec<Block> {
    vec![
        Block::List(vec![
            vec![
                text("Service: "),
                text(&profile.service_name),
                text(" ("),
                code(&profile.service_id),
                text(")"),
            ],
            vec![
                text("Request: "),
                text(&profile.request_id),
                text(" by "),
                text(&profile.requester),
            ],
            vec![
                text("Security profile: "),
                text(&profile.profile_id),
                text(" ("),
                text(&profile.organization),
                text(")"),
            ],
            vec![
                text("Knowledge base data date: "),
                text(&profile.kb_data_date),
            ],
            vec![text(format!(
                "Generator: gensec {}",
                profile.generator_version
            ))],
        ]),
        Block::Para(cell(
            "Every statement below is derived from the knowledge base (CloudFormation resource schemas, the IAM service authorization reference, AWS Config managed rules) or from this run's recommendations and controls; each section names its sources. Where those sources say nothing, the profile says \"not determined from the machine-readable sources\".",
        )),
    ]
}

/// The profile's sections, in order.
pub fn sections(profile: &ServiceProfile) -> Vec<ViewSection> {
    let mut out = vec![overview(profile)];
    out.extend(model_overview(profile));
    for (number, part) in [
        (2, &profile.data_protection),
        (3, &profile.network),
        (4, &profile.access_controls),
        (5, &profile.logging_monitoring),
    ] {
        out.extend(finding_section(number, part));
    }
    out.extend(compliance(profile));
    out.push(threats(profile));
    out.extend(enablement(profile));
    out.extend(model_checklist(profile));
    out.push(controls(profile));
    out.push(artifacts(profile));
    out
}

fn overview(profile: &ServiceProfile) -> ViewSection {
    let o = &profile.overview;
    let levels: Vec<String> = o
        .iam_actions_by_access_level
        .iter()
        .map(|(level, n)| format!("{level}: {n}"))
        .collect();
    let rows = vec![
        vec![cell("Service"), cell(&o.service_name)],
        vec![cell("Catalogue id"), code_cell(&o.service_id)],
        vec![cell("Aliases"), cell(list_or(&o.aliases, "none"))],
        vec![
            cell("CloudFormation namespaces"),
            cell(list_or(&o.cfn_namespaces, "none")),
        ],
        vec![
            cell("Resource types"),
            cell(format!(
                "{}: {}",
                o.resource_types.len(),
                list_or(&o.resource_types, "none")
            )),
        ],
        vec![
            cell("Regions (CloudFormation registry)"),
            cell(o.regions.to_string()),
        ],
        vec![cell("IAM prefixes"), cell(list_or(&o.iam_prefixes, "none"))],
        vec![
            cell("IAM actions by access level"),
            cell(list_or(&levels, "none")),
        ],
        vec![
            cell("AWS Config managed rules catalogued"),
            cell(o.config_rules.to_string()),
        ],
        vec![cell("Knowledge base data date"), cell(&o.kb_data_date)],
    ];
    let sources = o
        .data_sources
        .iter()
        .map(|s| vec![cell(&s.source), cell(&s.origin), cell(&s.as_of)])
        .collect();
    section(
        "overview",
        "1. Overview",
        2,
        vec![
            Block::Source(o.sources.clone()),
            Block::Table {
                headers: vec!["Fact".into(), "Value".into()],
                rows,
            },
            Block::Table {
                headers: vec!["Data source".into(), "Origin".into(), "As of".into()],
                rows: sources,
            },
        ],
    )
}

/// What the language model did in this run, and its overview, marked as
/// model-written. Nothing without a model.
fn model_overview(profile: &ServiceProfile) -> Option<ViewSection> {
    let model = profile.model_written.as_ref()?;
    let mut blocks = vec![Block::Para(vec![
        strong("Model-written. "),
        text(&model.notice),
    ])];
    let mut lines: Vec<Line> = model
        .stages
        .iter()
        .map(|stage| cell(stage.describe()))
        .collect();
    let u = &model.usage;
    let cost = u.estimated_cost_usd().map_or_else(
        || "cost unknown".to_string(),
        |usd| format!("estimated ${usd:.4}"),
    );
    lines.push(cell(format!(
        "Tokens: {} input and {} output in {} calls ({} answered from the cache), {cost}",
        u.input_tokens, u.output_tokens, u.calls, u.cache_hits
    )));
    blocks.push(Block::List(lines));
    if let Some(overview) = &model.overview {
        blocks.push(Block::Para(vec![
            strong("Narrative overview (model-written): "),
            text(overview),
        ]));
    }
    Some(section(
        "overview-model",
        &format!("Language model ({})", model.model_id),
        3,
        blocks,
    ))
}

/// The model's answers to the pilot/production checklist questions.
fn model_checklist(profile: &ServiceProfile) -> Option<ViewSection> {
    let model = profile.model_written.as_ref()?;
    if model.checklist.is_empty() {
        return None;
    }
    let items = model
        .checklist
        .iter()
        .map(|answer| {
            let mut line = vec![
                strong(format!("{} ({}): ", answer.question, answer.phase)),
                text(&answer.answer),
            ];
            if !answer.configuration_ids.is_empty() {
                line.push(text(format!(" [{}]", answer.configuration_ids.join(", "))));
            }
            line
        })
        .collect();
    Some(section(
        "enablement-model-answers",
        "Checklist answers (model-written)",
        3,
        vec![
            Block::Para(vec![strong("Model-written. "), text(&model.notice)]),
            Block::List(items),
        ],
    ))
}

fn finding_section(number: usize, part: &Section) -> Vec<ViewSection> {
    let mut out = vec![section(
        &part.id,
        &format!("{number}. {}", part.title),
        2,
        Vec::new(),
    )];
    for finding in &part.findings {
        out.push(section(
            &format!("{}-{}", part.id, finding.id),
            &finding.title,
            3,
            finding_blocks(finding),
        ));
    }
    out
}

fn finding_blocks(f: &Finding) -> Vec<Block> {
    let mut blocks = vec![Block::Para(cell(&f.determination))];
    if !f.sources.is_empty() {
        blocks.push(Block::Source(f.sources.clone()));
    }
    blocks.extend(
        [
            property_table(f),
            condition_key_table(f),
            config_rule_table(f),
            recommendation_table(f),
        ]
        .into_iter()
        .flatten(),
    );
    blocks
}

/// The schema properties the finding rests on.
fn property_table(f: &Finding) -> Option<Block> {
    if f.properties.is_empty() {
        return None;
    }
    Some(Block::Table {
        headers: vec![
            "Resource type".into(),
            "Property".into(),
            "Type".into(),
            "Allowed values".into(),
        ],
        rows: f
            .properties
            .iter()
            .map(|p| {
                vec![
                    cell(&p.resource_type),
                    code_cell(&p.property),
                    cell(list_or(&p.types, "any")),
                    if p.allowed_values.is_empty() {
                        cell("")
                    } else {
                        code_cell(p.allowed_values.join(", "))
                    },
                ]
            })
            .collect(),
    })
}

/// The IAM condition keys the finding rests on.
fn condition_key_table(f: &Finding) -> Option<Block> {
    if f.condition_keys.is_empty() {
        return None;
    }
    Some(Block::Table {
        headers: vec![
            "Condition key".into(),
            "Type".into(),
            "Scope".into(),
            "Description (IAM reference)".into(),
        ],
        rows: f
            .condition_keys
            .iter()
            .map(|k| {
                vec![
                    code_cell(&k.name),
                    cell(&k.value_type),
                    cell(&k.scope),
                    cell(&k.description),
                ]
            })
            .collect(),
    })
}

/// The Config rules the finding rests on.
fn config_rule_table(f: &Finding) -> Option<Block> {
    if f.config_rules.is_empty() {
        return None;
    }
    Some(Block::Table {
        headers: vec!["Config rule".into(), "Description".into()],
        rows: f
            .config_rules
            .iter()
            .map(|r| vec![code_cell(&r.identifier), cell(&r.description)])
            .collect(),
    })
}

/// The recommendations answering the finding.
fn recommendation_table(f: &Finding) -> Option<Block> {
    if f.recommendations.is_empty() {
        return None;
    }
    Some(Block::Table {
        headers: vec![
            "Recommendation".into(),
            "Resource type".into(),
            "Property".into(),
            "Value".into(),
            "Priority".into(),
        ],
        rows: f
            .recommendations
            .iter()
            .map(|r| {
                vec![
                    cell(&r.configuration_id),
                    cell(&r.resource_type),
                    code_cell(&r.property),
                    code_cell(short(&r.value)),
                    cell(r.priority.as_str()),
                ]
            })
            .collect(),
    })
}

fn compliance(profile: &ServiceProfile) -> Vec<ViewSection> {
    let c = &profile.compliance;
    let mut intro = vec![Block::Source(c.sources.clone())];
    if !c.unmapped.is_empty() {
        intro.push(Block::Para(vec![
            text("Recommendations without a reference to the profile's frameworks: "),
            text(c.unmapped.join(", ")),
        ]));
    }
    let mut out = vec![section("compliance", "6. Compliance mapping", 2, intro)];
    for framework in &c.frameworks {
        let blocks = if framework.entries.is_empty() {
            vec![Block::Para(cell(format!(
                "No recommendation of this run references {}.",
                framework.framework
            )))]
        } else {
            vec![Block::Table {
                headers: vec![
                    "Recommendation".into(),
                    "Title".into(),
                    "Priority".into(),
                    "References".into(),
                ],
                rows: framework
                    .entries
                    .iter()
                    .map(|e| {
                        vec![
                            cell(&e.configuration_id),
                            cell(&e.title),
                            cell(e.priority.as_str()),
                            cell(e.references.join(", ")),
                        ]
                    })
                    .collect(),
            }]
        };
        out.push(section(
            &format!("compliance-{}", framework.framework.to_ascii_lowercase()),
            &framework.framework,
            3,
            blocks,
        ));
    }
    out
}

const PRIORITIES: [Priority; 4] = [
    Priority::Critical,
    Priority::High,
    Priority::Medium,
    Priority::Low,
];

fn threats(profile: &ServiceProfile) -> ViewSection {
    let t = &profile.threat_model;
    let mut headers = vec!["Threat".into(), "Recommendations".into()];
    headers.extend(PRIORITIES.iter().map(|p| p.as_str().to_string()));
    headers.push("Configuration ids".into());
    let rows = t
        .rows
        .iter()
        .map(|row| {
            let mut cells = vec![
                cell(&row.threat),
                cell(row.recommendations.len().to_string()),
            ];
            cells.extend(PRIORITIES.iter().map(|p| {
                cell(
                    row.by_priority
                        .get(p.as_str())
                        .copied()
                        .unwrap_or(0)
                        .to_string(),
                )
            }));
            cells.push(cell(list_or(&row.recommendations, "none in this run")));
            cells
        })
        .collect();
    section(
        "threat-model",
        "7. STRIDE threat model",
        2,
        vec![
            Block::Source(t.sources.clone()),
            Block::Table { headers, rows },
        ],
    )
}

fn checklist(items: &[crate::profile::ChecklistItem]) -> Block {
    Block::Checklist(
        items
            .iter()
            .map(|item| {
                if let Some(what) = &item.operational {
                    return vec![
                        strong(&item.configuration_id),
                        text(format!(" ({}) ", item.priority.as_str())),
                        text(&item.title),
                        text(" — operational: "),
                        text(what),
                    ];
                }
                vec![
                    strong(&item.configuration_id),
                    text(format!(" ({}) ", item.priority.as_str())),
                    text(&item.title),
                    text(" — set "),
                    code(&item.property),
                    text(" on "),
                    text(&item.resource_type),
                    text(" to "),
                    code(short(&item.value)),
                ]
            })
            .collect(),
    )
}

fn enablement(profile: &ServiceProfile) -> Vec<ViewSection> {
    let e = &profile.enablement;
    let pilot: Vec<&str> = e.pilot_priorities.iter().map(|p| p.as_str()).collect();
    let none = |items: &[crate::profile::ChecklistItem]| {
        if items.is_empty() {
            Block::Para(cell("No recommendation in this run."))
        } else {
            checklist(items)
        }
    };
    vec![
        section(
            "enablement",
            "8. Enablement checklist: rapid pilot vs production",
            2,
            vec![
                Block::Source(e.sources.clone()),
                Block::Para(cell(format!(
                    "The security profile's environment type is {}. A sandbox pilot needs the {} priority recommendations in place; production needs every recommendation.",
                    e.environment_type,
                    pilot.join(" and ")
                ))),
            ],
        ),
        section(
            "enablement-pilot",
            &format!("Rapid pilot (sandbox): {} items", e.pilot.len()),
            3,
            vec![none(&e.pilot)],
        ),
        section(
            "enablement-production",
            &format!("Production: {} items", e.production.len()),
            3,
            vec![none(&e.production)],
        ),
    ]
}

fn files(files: &[crate::profile::FileCount]) -> String {
    files
        .iter()
        .map(|f| format!("{} ({})", f.file, f.count))
        .collect::<Vec<_>>()
        .join(", ")
}

fn controls(profile: &ServiceProfile) -> ViewSection {
    let c = &profile.controls;
    if !c.generated {
        return section(
            "controls-summary",
            "9. Controls summary",
            2,
            vec![Block::Para(cell(format!("Controls: {NOT_GENERATED}.")))],
        );
    }
    let or_none = |text: String| {
        if text.is_empty() {
            NOT_GENERATED.to_string()
        } else {
            text
        }
    };
    let rows = vec![
        vec![
            cell("AWS Config rules (managed)"),
            cell(c.config_rules_managed.to_string()),
            cell(or_none(c.config_rules_file.clone().unwrap_or_default())),
        ],
        vec![
            cell("AWS Config rules (custom Guard policy)"),
            cell(c.config_rules_custom.to_string()),
            cell(or_none(c.custom_policy_files.join(", "))),
        ],
        vec![
            cell("SCP statements"),
            cell(c.scp_statements.to_string()),
            cell(or_none(files(&c.scp_files))),
        ],
        vec![
            cell("CloudFormation Guard rules"),
            cell(c.guard_rules.to_string()),
            cell(or_none(files(&c.guard_files))),
        ],
        vec![
            cell("Guard rule unit tests"),
            cell(c.guard_test_files.len().to_string()),
            cell(or_none(c.guard_test_files.join(", "))),
        ],
    ];
    let mut blocks = vec![
        Block::Source(c.sources.clone()),
        Block::Table {
            headers: vec!["Control".into(), "Count".into(), "Files".into()],
            rows,
        },
    ];
    if !c.scp_not_expressible.is_empty() {
        blocks.push(Block::Para(cell(format!(
            "No SCP can express: {} (see {} for the reasons).",
            c.scp_not_expressible.join(", "),
            paths::SCP_COVERAGE
        ))));
    }
    if !c.executed.is_empty() {
        let cases: usize = c.executed.iter().map(|e| e.cases.len()).sum();
        let passed: usize = c
            .executed
            .iter()
            .flat_map(|e| &e.cases)
            .filter(|case| case.passed())
            .count();
        blocks.push(Block::Para(cell(format!(
            "Each control was executed in its own semantics before it was written: {} over {}, {passed} behaved as expected. A control failing a case is not written (it is listed in {} as a gap with the case).",
            counted(cases, "case", "cases"),
            counted(c.executed.len(), "control", "controls"),
            paths::CONTROLS_INDEX
        ))));
        blocks.push(Block::Cases(
            c.executed.iter().map(executed_control).collect(),
        ));
    }
    section("controls-summary", "9. Controls summary", 2, blocks)
}

fn verdict(verdict: gensec_core::contract::controls::Verdict) -> String {
    crate::profile::serde_name(&verdict).replace('_', "-")
}

/// `SCP statement GensecS3Deny1 (controls/preventive/scp-1.json): 6 cases, all passed`
/// and one line per case.
fn executed_control(control: &crate::profile::ExecutedControl) -> (String, Vec<Line>) {
    let failed = control.cases.iter().filter(|case| !case.passed()).count();
    let outcome = match (control.cases.len(), failed) {
        (0, _) => "no executed case".to_string(),
        (1, 0) => "1 case, passed".to_string(),
        (n, 0) => format!("{n} cases, all passed"),
        (n, f) => format!("{n} cases, {f} failed"),
    };
    let summary = format!(
        "{} {} ({}): {outcome}",
        control.kind.label(),
        control.name,
        control.file
    );
    let mut lines: Vec<Line> = control
        .cases
        .iter()
        .map(|case| {
            vec![text(format!(
                "{}: expected {}, got {}{}",
                case.name,
                verdict(case.expected),
                verdict(case.actual),
                if case.passed() { "" } else { " (FAILED)" }
            ))]
        })
        .collect();
    lines.extend(
        control
            .checks
            .iter()
            .map(|check| vec![text(format!("check: {check}"))]),
    );
    (summary, lines)
}

/// `1 persona`, `2 personas`.
pub fn counted(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

fn artifacts(profile: &ServiceProfile) -> ViewSection {
    let a = &profile.artifacts;
    let path = |path: &Option<String>| match path {
        Some(path) => code(path),
        None => text(NOT_GENERATED),
    };
    let mut iam = vec![text("IAM model: "), path(&a.iam_model)];
    if a.iam_model.is_some() {
        iam.push(text(format!(
            " ({}: {}; {} flagged; policies: {})",
            counted(a.iam_personas.len(), "persona", "personas"),
            list_or(&a.iam_personas, "none"),
            counted(a.iam_risky_actions, "risky action", "risky actions"),
            list_or(&a.iam_policy_files, "none")
        )));
    }
    section(
        "artifacts",
        "10. Related artifacts",
        2,
        vec![Block::List(vec![
            vec![text("CloudFormation template: "), path(&a.cloudformation)],
            vec![text("Terraform configuration: "), path(&a.terraform)],
            iam,
        ])],
    )
}
