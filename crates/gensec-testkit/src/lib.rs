//! Test support shared by the integration tests of several crates, so the
//! service lists, the example profile and the browser set-up are written
//! once. A dev-dependency only: nothing here ships in a binary.
#![allow(clippy::unwrap_used)] // test support fails loudly by design

#[cfg(feature = "browser")]
pub mod browser;

use gensec_core::SecurityProfile;
use gensec_core::input::parse_profile;
use std::path::{Path, PathBuf};

/// The 17 services the analysis issue names: the package tests' list.
pub const SERVICES: [&str; 17] = [
    "S3",
    "RDS",
    "Lambda",
    "DynamoDB",
    "KMS",
    "SQS",
    "SNS",
    "EC2",
    "IAM",
    "CloudTrail",
    "EKS",
    "ECS",
    "OpenSearch",
    "Redshift",
    "API Gateway",
    "CloudFront",
    "ELBv2",
];

/// The services the IaC issue adds to [`SERVICES`].
pub const MORE_SERVICES: [&str; 4] = ["QuickSight", "Bedrock", "SageMaker", "Secrets Manager"];

/// The storage, database and analytics services the storage coverage issue
/// adds (each has a template; S3 Glacier, which has no CloudFormation type,
/// is tested where a package without a template makes sense; DAX, a service
/// of its own in the knowledge base, has its cluster, subnet group and
/// security group).
pub const STORAGE_SERVICES: [&str; 17] = [
    "DocumentDB",
    "Neptune",
    "Redshift Serverless",
    "MSK",
    "FSx",
    "EMR",
    "Athena",
    "Glue",
    "Firehose",
    "Backup",
    "Timestream",
    "Lake Formation",
    "Kinesis",
    "MemoryDB",
    "EFS",
    "ElastiCache",
    "DAX",
];

/// The compute, container, networking and edge services the compute
/// coverage issue adds that have a template (Route 53, WAF and Network
/// Firewall have theirs in [`NETWORK_SERVICES`]; Auto Scaling's group
/// launches from a hardened launch template).
pub const COMPUTE_SERVICES: [&str; 7] = [
    "App Runner",
    "Batch",
    "Global Accelerator",
    "Elastic Beanstalk",
    "Step Functions",
    "ECR",
    "Auto Scaling",
];

/// The networking services of the compute coverage issue that have a
/// template since their FSBP controls became configuration requirements:
/// Network Firewall (firewall, policy, stateless rule group, logging
/// configuration), WAF (web ACL, logging configuration) and Route 53
/// (public hosted zone with query logging, key-signing key and DNSSEC).
pub const NETWORK_SERVICES: [&str; 3] = ["Network Firewall", "WAF V2", "Route 53"];

/// The security, management and developer-tool services of the coverage
/// issue 18 that have a template (every control's checks run for their
/// packages). Bedrock is in [`MORE_SERVICES`]; part A's other services have
/// no template and are in [`MANAGEMENT_OPERATIONAL_SERVICES`]. Amazon MQ,
/// EventBridge, AppSync and Transfer Family moved here when their broker,
/// bus, GraphQL API and SFTP server became configuration requirements with
/// a deployable template.
pub const MANAGEMENT_SERVICES: [&str; 16] = [
    "ACM",
    "Private CA",
    "Macie",
    "Config",
    "CloudWatch",
    "CloudWatch Logs",
    "Detective",
    "Security Hub",
    "IAM Identity Center",
    "CodePipeline",
    "CodeArtifact",
    "CodeCommit",
    "MQ",
    "EventBridge",
    "AppSync",
    "Transfer",
];

/// Issue 18 services whose packages have no template yet (their curated
/// controls are operational, or configuration requirements no deployable
/// template sets): the tests that need no template (Config rules) cover them.
pub const MANAGEMENT_OPERATIONAL_SERVICES: [&str; 4] =
    ["Connect", "WorkSpaces", "Comprehend", "Textract"];

/// [`all_services`], [`STORAGE_SERVICES`], [`COMPUTE_SERVICES`],
/// [`MANAGEMENT_SERVICES`] and [`NETWORK_SERVICES`]: every service whose
/// package has a template.
pub fn services_with_templates() -> impl Iterator<Item = &'static str> {
    all_services()
        .chain(STORAGE_SERVICES)
        .chain(COMPUTE_SERVICES)
        .chain(MANAGEMENT_SERVICES)
        .chain(NETWORK_SERVICES)
}

/// [`SERVICES`] and [`MORE_SERVICES`]: the 21 services of the package tests.
pub fn all_services() -> impl Iterator<Item = &'static str> {
    SERVICES.into_iter().chain(MORE_SERVICES)
}

/// The example profile (TLS 1.2, 365 days, customer-managed key, central
/// logging), relative to the workspace root.
pub const EXAMPLE_PROFILE: &str = "config-example/security-profile/example-corp.json";

/// The workspace root (this crate sits at `crates/gensec-testkit`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A security profile read from `path` (relative to the workspace root) and
/// parsed under that name.
pub fn profile(path: &str) -> SecurityProfile {
    let text = std::fs::read_to_string(repo_root().join(path))
        .unwrap_or_else(|err| panic!("{path}: {err}"));
    parse_profile(path, &text).unwrap()
}

/// The example profile.
pub fn example_profile() -> SecurityProfile {
    profile(EXAMPLE_PROFILE)
}
