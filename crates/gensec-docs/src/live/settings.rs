//! Where the live sources are, from command-line options or the environment:
//! AWS's real endpoints by default, a mirror that keeps AWS's paths
//! (`GENSEC_REFRESH_FROM`), or each source's own URL. The CLI and the
//! documentation Lambda read the same variables.

use super::LiveConfig;
use std::time::Duration;

/// `true`/`false`: refresh from the live sources (the documentation Lambda;
/// off when unset, on in the deployment).
pub const ENV_LIVE_REFRESH: &str = "GENSEC_LIVE_REFRESH";
/// Base URL of a mirror serving all three sources under AWS's paths.
pub const ENV_REFRESH_FROM: &str = "GENSEC_REFRESH_FROM";
/// The CloudFormation schema zip.
pub const ENV_CFN_SCHEMA_URL: &str = "GENSEC_CFN_SCHEMA_URL";
/// The Service Authorization Reference index.
pub const ENV_IAM_REFERENCE_URL: &str = "GENSEC_IAM_REFERENCE_URL";
/// The Config developer guide's list of managed rules.
pub const ENV_CONFIG_RULES_URL: &str = "GENSEC_CONFIG_RULES_URL";
/// Seconds a cached body is used without asking the server (default a day).
pub const ENV_REFRESH_TTL_SECONDS: &str = "GENSEC_REFRESH_TTL_SECONDS";

/// The URL overrides, each optional; unset ones are AWS's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveSources {
    /// Region of the CloudFormation schemas (default us-east-1).
    pub region: Option<String>,
    pub base_url: Option<String>,
    pub cfn_schema_url: Option<String>,
    pub iam_reference_url: Option<String>,
    pub config_rules_url: Option<String>,
    pub cache_ttl: Option<Duration>,
}

impl LiveSources {
    /// The overrides in the environment (`get` reads one variable); blank
    /// values count as unset. A TTL that is not a number of seconds is an error.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let value = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let cache_ttl = match value(ENV_REFRESH_TTL_SECONDS) {
            Some(text) => Some(Duration::from_secs(text.trim().parse().map_err(|_| {
                format!("{ENV_REFRESH_TTL_SECONDS}={text:?}: expected a number of seconds")
            })?)),
            None => None,
        };
        Ok(Self {
            region: value("AWS_REGION"),
            base_url: value(ENV_REFRESH_FROM),
            cfn_schema_url: value(ENV_CFN_SCHEMA_URL),
            iam_reference_url: value(ENV_IAM_REFERENCE_URL),
            config_rules_url: value(ENV_CONFIG_RULES_URL),
            cache_ttl,
        })
    }

    /// The configuration: AWS's endpoints for the region, or the mirror's,
    /// then each source's own URL where given.
    pub fn config(&self) -> LiveConfig {
        let region = self.region.as_deref().unwrap_or("us-east-1");
        let mut config = match &self.base_url {
            Some(base) => LiveConfig {
                cfn_schema_region: region.to_string(),
                ..LiveConfig::with_base_url(base)
            },
            None => LiveConfig::for_region(region),
        };
        if let Some(url) = &self.cfn_schema_url {
            config.cfn_schema_url.clone_from(url);
        }
        if let Some(url) = &self.iam_reference_url {
            config.iam_reference_url.clone_from(url);
        }
        if let Some(url) = &self.config_rules_url {
            config.config_rules_url.clone_from(url);
        }
        if let Some(ttl) = self.cache_ttl {
            config.cache_ttl = ttl;
        }
        config
    }
}

/// Whether `GENSEC_LIVE_REFRESH` asks for a refresh: `true`/`1`/`on`, off when
/// unset or blank; anything else is an error.
pub fn live_refresh_enabled(value: Option<&str>) -> Result<bool, String> {
    match value.map(str::trim).map(str::to_ascii_lowercase).as_deref() {
        None | Some("" | "false" | "0" | "off") => Ok(false),
        Some("true" | "1" | "on") => Ok(true),
        Some(other) => Err(format!(
            "{ENV_LIVE_REFRESH}={other:?}: expected true or false"
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn defaults_are_aws_endpoints_in_us_east_1() {
        let config = LiveSources::from_env(env(&[])).unwrap().config();
        assert_eq!(config, LiveConfig::for_region("us-east-1"));
        let config = LiveSources::from_env(env(&[("AWS_REGION", "eu-west-1")]))
            .unwrap()
            .config();
        assert_eq!(
            config.cfn_schema_url,
            "https://schema.cloudformation.eu-west-1.amazonaws.com/CloudformationSchema.zip"
        );
        assert_eq!(config.cfn_schema_region, "eu-west-1");
    }

    #[test]
    fn a_mirror_then_single_urls_override() {
        let config = LiveSources::from_env(env(&[
            (ENV_REFRESH_FROM, "http://127.0.0.1:9/"),
            (ENV_CONFIG_RULES_URL, "http://127.0.0.1:8/rules.html"),
            (ENV_REFRESH_TTL_SECONDS, "60"),
            (ENV_IAM_REFERENCE_URL, "  "),
        ]))
        .unwrap()
        .config();
        assert_eq!(
            config.cfn_schema_url,
            "http://127.0.0.1:9/CloudformationSchema.zip"
        );
        assert_eq!(config.iam_reference_url, "http://127.0.0.1:9/");
        assert_eq!(config.config_rules_url, "http://127.0.0.1:8/rules.html");
        assert_eq!(config.cache_ttl, Duration::from_secs(60));
        assert_eq!(config.cfn_schema_region, "us-east-1");
    }

    #[test]
    fn bad_values_are_errors() {
        let err = LiveSources::from_env(env(&[(ENV_REFRESH_TTL_SECONDS, "a day")])).unwrap_err();
        assert!(err.contains(ENV_REFRESH_TTL_SECONDS), "{err}");
        assert!(live_refresh_enabled(Some("yes please")).is_err());
        assert!(!live_refresh_enabled(None).unwrap());
        assert!(!live_refresh_enabled(Some("false")).unwrap());
        assert!(live_refresh_enabled(Some("TRUE")).unwrap());
    }
}
