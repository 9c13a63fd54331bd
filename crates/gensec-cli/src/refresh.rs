//! `gensec run --refresh`: the documentation stage first refreshes the
//! service's facts from AWS's live sources (CloudFormation schema zip, IAM
//! Service Authorization Reference, Config developer guide), and the later
//! stages validate against them. Bodies are cached under
//! `<output dir>/.cache/live/`, outside every package, and revalidated with
//! ETag/Last-Modified after the TTL. A source that cannot be reached keeps
//! the baseline with a warning; the run still succeeds.

use anyhow::Context;
use gensec_core::contract::figures::DocumentationFigures;
use gensec_core::manifest::Manifest;
use gensec_docs::live::settings::{
    ENV_CFN_SCHEMA_URL, ENV_CONFIG_RULES_URL, ENV_IAM_REFERENCE_URL, ENV_REFRESH_FROM,
    ENV_REFRESH_TTL_SECONDS,
};
use gensec_docs::live::{LiveCollector, LiveSources};
use gensec_local::DirStore;
use gensec_stages::Stages;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The live refresh options of `gensec run`. The URLs and region apply only
/// with `--refresh`.
#[derive(Debug, Default, clap::Args)]
pub struct RefreshArgs {
    /// Refresh the service's schemas, IAM actions and Config rules from AWS's
    /// live sources first; a source that fails keeps the baseline with a warning.
    #[arg(long)]
    refresh: bool,
    /// Base URL of a mirror serving all three sources under AWS's paths.
    #[arg(long, env = ENV_REFRESH_FROM, value_name = "URL-BASE")]
    refresh_from: Option<String>,
    /// The CloudFormation resource schema zip (default: the region's).
    #[arg(long, env = ENV_CFN_SCHEMA_URL, value_name = "URL")]
    cfn_schema_url: Option<String>,
    /// The IAM Service Authorization Reference index.
    #[arg(long, env = ENV_IAM_REFERENCE_URL, value_name = "URL")]
    iam_reference_url: Option<String>,
    /// The Config developer guide's list of managed rules.
    #[arg(long, env = ENV_CONFIG_RULES_URL, value_name = "URL")]
    config_rules_url: Option<String>,
    /// Region whose CloudFormation schemas are fetched (default us-east-1).
    #[arg(long, env = "AWS_REGION", value_name = "REGION")]
    region: Option<String>,
    /// Seconds a cached body is used without asking the server (default 86400).
    #[arg(long, env = ENV_REFRESH_TTL_SECONDS, value_name = "SECONDS")]
    refresh_ttl: Option<u64>,
}

/// Where the refresh cache lives under the output directory.
pub(crate) fn cache_dir(out: &Path) -> PathBuf {
    out.join(".cache").join("live")
}

impl RefreshArgs {
    /// The stages, refreshing first when `--refresh` was given.
    pub(crate) fn apply(&self, stages: Stages, out: &Path) -> anyhow::Result<Stages> {
        if !self.refresh {
            return Ok(stages);
        }
        let sources = LiveSources {
            region: self.region.clone(),
            base_url: self.refresh_from.clone(),
            cfn_schema_url: self.cfn_schema_url.clone(),
            iam_reference_url: self.iam_reference_url.clone(),
            config_rules_url: self.config_rules_url.clone(),
            cache_ttl: self.refresh_ttl.map(Duration::from_secs),
        };
        let live = LiveCollector::new(sources.config())
            .context("setting up the live refresh")?
            .with_cache_store(Arc::new(DirStore::new(cache_dir(out))));
        Ok(stages.with_live(live))
    }
}

/// One line per documentation source when any was refreshed or warned about
/// (`live`, `cache` or `baseline`, with the warning).
pub(crate) fn source_lines(text: &mut String, manifest: &Manifest) {
    let Some(figures) = manifest.figures::<DocumentationFigures>() else {
        return;
    };
    if !figures
        .sources
        .iter()
        .any(|status| status.refreshed() || status.warning.is_some())
    {
        return;
    }
    for status in &figures.sources {
        let _ = write!(
            text,
            "    {}: {} ({})",
            status.source, status.origin, status.as_of
        );
        match &status.warning {
            Some(warning) => {
                let _ = writeln!(text, "; warning: {warning}");
            }
            None => text.push('\n'),
        }
    }
}
