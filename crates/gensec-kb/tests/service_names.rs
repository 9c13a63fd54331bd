//! Service names in the catalogue match AWS's own names: display names come
//! from the curated catalogue or from the IAM service name of a prefix named
//! like the service, and well-known names resolve to the right service.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use gensec_kb::Kb;
use gensec_kb::ingest::catalogue::normalise;
use std::sync::LazyLock;

static KB: LazyLock<Kb> = LazyLock::new(|| Kb::embedded().expect("embedded baseline loads"));
static CURATED: LazyLock<serde_json::Value> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../curated/service-catalogue.json")).unwrap()
});

fn curated_display_name(id: &str) -> Option<String> {
    CURATED["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .and_then(|s| s["display_name"].as_str())
        .map(str::to_string)
}

#[test]
fn display_names_come_from_aws_names() {
    for entry in KB.services() {
        if let Some(curated) = curated_display_name(&entry.id) {
            assert_eq!(entry.display_name, curated, "{}", entry.id);
            continue;
        }
        let own_prefix_names: Vec<String> = entry
            .iam_prefixes
            .iter()
            .filter_map(|p| KB.iam_service(p).unwrap().map(|s| (p, s.name.clone())))
            .filter(|(p, name)| {
                normalise(p) == normalise(&entry.id)
                    || normalise(name).contains(&normalise(&entry.id))
            })
            .map(|(_, name)| name)
            .collect();
        let from_namespace = entry
            .cfn_namespaces
            .iter()
            .any(|ns| entry.display_name == format!("AWS {}", ns.trim_start_matches("AWS::")));
        let from_first_prefix = entry.cfn_namespaces.is_empty()
            && entry
                .iam_prefixes
                .first()
                .and_then(|p| KB.iam_service(p).unwrap())
                .is_some_and(|s| s.name == entry.display_name);
        assert!(
            own_prefix_names.contains(&entry.display_name) || from_namespace || from_first_prefix,
            "{} is named {:?}, which is neither curated, nor the IAM name of a prefix named like it ({:?}), nor its namespace",
            entry.id,
            entry.display_name,
            entry.iam_prefixes
        );
    }
}

#[test]
fn every_name_of_a_service_resolves() {
    for entry in KB.services() {
        assert_eq!(KB.resolve_service(&entry.id).unwrap().id, entry.id);
        for namespace in &entry.cfn_namespaces {
            assert!(
                KB.resource_type_names()
                    .any(|t| t.starts_with(&format!("{namespace}::")))
            );
            assert_eq!(
                KB.resolve_service(namespace).unwrap().id,
                entry.id,
                "{namespace}"
            );
        }
        for alias in &entry.aliases {
            assert!(KB.resolve_service(alias).is_ok(), "{alias} of {}", entry.id);
        }
    }
}

#[test]
fn well_known_names_resolve_to_the_right_service() {
    for (name, id, display) in [
        ("S3", "s3", None),
        ("SES", "ses", Some("Amazon Simple Email Service")),
        ("Amazon SES", "ses", Some("Amazon Simple Email Service")),
        (
            "CloudFormation",
            "cloudformation",
            Some("AWS CloudFormation"),
        ),
        ("EC2", "ec2", None),
        ("RDS", "rds", None),
        ("Lambda", "lambda", None),
        ("KMS", "kms", None),
        ("QuickSight", "quicksight", None),
        ("Bedrock", "bedrock", None),
        ("SageMaker", "sagemaker", None),
        ("Secrets Manager", "secretsmanager", None),
        ("OpenSearch", "opensearch", None),
        (
            "Customer Profiles",
            "customerprofiles",
            Some("Amazon Connect Customer Profiles"),
        ),
    ] {
        let entry = KB.resolve_service(name).unwrap();
        assert_eq!(entry.id, id, "{name}");
        if let Some(display) = display {
            assert_eq!(entry.display_name, display, "{name}");
        }
        assert!(!entry.display_name.contains("Pinpoint"), "{name}");
        assert!(!entry.display_name.contains("Cloud Control"), "{name}");
    }
}
