//! `cloudformation-schemas`: the zip of every resource provider schema AWS
//! publishes per region (`CloudformationSchema.zip`, one `aws-<ns>-<type>.json`
//! per type at the archive root). Only the service's entries are read, with
//! the same parser as the baseline builder.

use super::http_cache::HttpCache;
use super::{LiveConfig, LiveError, Refreshed};
use gensec_kb::ingest::catalogue::namespace_of;
use gensec_kb::ingest::cfn::parse_schema;
use gensec_kb::{ResourceTypeSchema, ServiceDocumentation};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor, Read};

pub(crate) async fn refresh(
    cache: &HttpCache<'_>,
    config: &LiveConfig,
    doc: &ServiceDocumentation,
) -> Refreshed<Vec<ResourceTypeSchema>> {
    let wanted: BTreeSet<&str> = doc
        .resource_types
        .iter()
        .map(|schema| schema.type_name.as_str())
        .collect();
    if wanted.is_empty() && doc.cfn_namespaces.is_empty() {
        return Refreshed::nothing();
    }
    let url = &config.cfn_schema_url;
    let fetched = match cache.get(url).await {
        Ok(fetched) => fetched,
        Err(err) => return Refreshed::failed(&err),
    };
    let (live, mut problems) =
        match schemas_in_archive(url, &fetched.body, &wanted, &doc.cfn_namespaces) {
            Ok(found) => found,
            Err(err) => return Refreshed::failed(&err),
        };
    if live.is_empty() {
        let err = LiveError::Unparsable {
            url: url.clone(),
            message: format!(
                "no schema for {} in the archive",
                doc.cfn_namespaces.join(", ")
            ),
        };
        problems.insert(0, format!("{}; keeping the baseline", err.describe()));
        return Refreshed {
            data: None,
            stamps: Vec::new(),
            problems,
        };
    }
    cache.keep(&fetched).await;
    let (merged, missing) = merge(&doc.resource_types, live, &config.cfn_schema_region);
    problems.extend(missing);
    Refreshed {
        data: Some(merged),
        stamps: vec![fetched.stamp()],
        problems,
    }
}

/// File stem of a type in the archive: `AWS::S3::Bucket` -> `aws-s3-bucket`.
fn entry_stem(type_name: &str) -> String {
    type_name.replace("::", "-").to_lowercase()
}

/// Parse the archive's entries for the wanted types and namespaces. A broken
/// entry is reported and skipped; an unreadable archive fails the source.
fn schemas_in_archive(
    url: &str,
    bytes: &[u8],
    wanted: &BTreeSet<&str>,
    namespaces: &[String],
) -> Result<(Vec<ResourceTypeSchema>, Vec<String>), LiveError> {
    let zip_error = |source| LiveError::Zip {
        url: url.to_string(),
        source,
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(zip_error)?;
    let wanted_stems: BTreeSet<String> = wanted.iter().map(|name| entry_stem(name)).collect();
    let namespace_prefixes: Vec<String> = namespaces
        .iter()
        .map(|namespace| format!("{}-", entry_stem(namespace)))
        .collect();
    let names: Vec<String> = archive
        .file_names()
        .filter_map(Result::ok)
        .map(|name| name.into_owned())
        .filter(|name| {
            let base = name.rsplit('/').next().unwrap_or(name).to_lowercase();
            base.strip_suffix(".json").is_some_and(|stem| {
                wanted_stems.contains(stem)
                    || namespace_prefixes
                        .iter()
                        .any(|prefix| stem.starts_with(prefix.as_str()))
            })
        })
        .collect();
    let mut schemas = Vec::new();
    let mut problems = Vec::new();
    for name in names {
        let source_name = format!("{url}#{name}");
        match read_entry(&mut archive, &name, &source_name) {
            Ok(schema) => {
                let namespace = namespace_of(&schema.type_name);
                if wanted.contains(schema.type_name.as_str())
                    || namespaces.iter().any(|ns| ns == namespace)
                {
                    schemas.push(schema);
                }
            }
            Err(message) => problems.push(format!(
                "{source_name}: {message}; keeping the baseline for that type"
            )),
        }
    }
    Ok((schemas, problems))
}

fn read_entry(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
    source_name: &str,
) -> Result<ResourceTypeSchema, String> {
    let mut file = archive.by_name(name).map_err(|err| err.to_string())?;
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|err| err.to_string())?;
    let document: serde_json::Value =
        serde_json::from_str(&text).map_err(|err| format!("not JSON: {err}"))?;
    parse_schema(source_name, &document).map_err(|err| err.message)
}

/// Live schemas replace the baseline's, keeping its regions (the archive only
/// speaks for one region). Baseline types the archive lacks stay.
fn merge(
    baseline: &[ResourceTypeSchema],
    live: Vec<ResourceTypeSchema>,
    region: &str,
) -> (Vec<ResourceTypeSchema>, Vec<String>) {
    let mut merged: BTreeMap<String, ResourceTypeSchema> = baseline
        .iter()
        .map(|schema| (schema.type_name.clone(), schema.clone()))
        .collect();
    let live_names: BTreeSet<String> = live.iter().map(|s| s.type_name.clone()).collect();
    let mut problems = Vec::new();
    for schema in baseline {
        // Only a type the baseline places in this region is expected here.
        if !live_names.contains(&schema.type_name) && schema.regions.iter().any(|r| r == region) {
            problems.push(format!(
                "{} is not in the {region} schema archive; keeping its baseline schema",
                schema.type_name
            ));
        }
    }
    for mut schema in live {
        schema.regions = match merged.get(&schema.type_name) {
            Some(known) => known.regions.clone(),
            None => vec![region.to_string()],
        };
        merged.insert(schema.type_name.clone(), schema);
    }
    (merged.into_values().collect(), problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn archive(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, body) in entries {
            writer
                .start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            writer.write_all(body.as_bytes()).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn reads_only_the_service_entries() {
        let bytes = archive(&[
            (
                "aws-s3-bucket.json",
                r#"{"typeName":"AWS::S3::Bucket","properties":{"A":{"type":"string"}}}"#,
            ),
            (
                "aws-s3express-directorybucket.json",
                r#"{"typeName":"AWS::S3Express::DirectoryBucket"}"#,
            ),
            ("aws-sqs-queue.json", r#"{"typeName":"AWS::SQS::Queue"}"#),
            ("aws-s3-broken.json", "{"),
        ]);
        let wanted = BTreeSet::from(["AWS::S3::Bucket"]);
        let (schemas, problems) =
            schemas_in_archive("u", &bytes, &wanted, &["AWS::S3".to_string()]).unwrap();
        assert_eq!(schemas.len(), 1);
        assert_eq!(schemas[0].type_name, "AWS::S3::Bucket");
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("aws-s3-broken.json"));
    }

    #[test]
    fn garbage_is_not_an_archive() {
        let err = schemas_in_archive("u", b"<html>", &BTreeSet::new(), &[]).unwrap_err();
        assert!(matches!(err, LiveError::Zip { .. }));
    }

    #[test]
    fn merge_keeps_regions_and_missing_types() {
        let schema = |name: &str, regions: &[&str]| ResourceTypeSchema {
            type_name: name.into(),
            description: String::new(),
            properties: BTreeMap::new(),
            definitions: BTreeMap::new(),
            required: Vec::new(),
            create_only: Vec::new(),
            read_only: Vec::new(),
            write_only: Vec::new(),
            primary_identifier: Vec::new(),
            taggable: false,
            handler_permissions: BTreeMap::new(),
            regions: regions.iter().map(|r| r.to_string()).collect(),
        };
        let baseline = vec![
            schema("AWS::X::A", &["eu-west-1", "us-east-1"]),
            schema("AWS::X::B", &["us-east-1"]),
            schema("AWS::X::C", &["eu-west-1"]),
        ];
        let live = vec![schema("AWS::X::A", &[]), schema("AWS::X::New", &[])];
        let (merged, problems) = merge(&baseline, live, "us-east-1");
        let names: Vec<_> = merged.iter().map(|s| s.type_name.as_str()).collect();
        assert_eq!(
            names,
            ["AWS::X::A", "AWS::X::B", "AWS::X::C", "AWS::X::New"]
        );
        assert_eq!(merged[0].regions, ["eu-west-1", "us-east-1"]);
        assert_eq!(merged[3].regions, ["us-east-1"]);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("AWS::X::B"));
    }
}
