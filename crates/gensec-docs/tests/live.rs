//! The live collector against a local server (wiremock on 127.0.0.1) serving
//! fixtures shaped like AWS's sources: the schema zip, the Service
//! Authorization Reference JSON and the Config developer guide's HTML.
#![allow(clippy::unwrap_used)] // tests and benches fail loudly by design

use chrono::DateTime;
use gensec_core::memory_store::MemoryStore;
use gensec_docs::live::{LiveCollector, LiveConfig, cache_key};
use gensec_kb::{AccessLevel, Kb, ServiceDocumentation};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[path = "support/fake_sources.rs"]
mod fake_sources;

use fake_sources::*;

fn config(server: &MockServer) -> LiveConfig {
    LiveConfig {
        timeout: Duration::from_secs(5),
        retry_backoff: Duration::from_millis(10),
        cache_ttl: Duration::from_secs(3600),
        ..LiveConfig::with_base_url(&server.uri())
    }
}

fn kb() -> Kb {
    Kb::embedded().expect("embedded baseline loads")
}

/// S3's documentation reduced to what the fixtures cover, so a success is
/// free of "not in the archive" and "page not found" warnings.
fn s3_doc(kb: &Kb) -> ServiceDocumentation {
    let mut doc = gensec_docs::collect(kb, "s3").expect("S3 documentation");
    doc.resource_types
        .retain(|schema| schema.type_name == "AWS::S3::Bucket");
    doc.config_rules
        .retain(|rule| rule.identifier == "S3_BUCKET_VERSIONING_ENABLED");
    assert_eq!(doc.resource_types.len(), 1);
    assert_eq!(doc.config_rules.len(), 1);
    doc
}

fn status<'a>(doc: &'a ServiceDocumentation, source: &str) -> &'a gensec_kb::SourceStatus {
    doc.sources
        .iter()
        .find(|status| status.source == source)
        .expect("source status")
}

/// The one warning of a refresh whose `source` failed at `url` for `reason`;
/// that source kept the baseline and says why.
fn assert_only_source_kept_baseline(
    warnings: &[String],
    doc: &ServiceDocumentation,
    source: &str,
    url: &str,
    reason: &str,
) {
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    let warning = &warnings[0];
    assert!(warning.starts_with(&format!("{source}: ")), "{warning}");
    assert!(warning.contains(url), "{warning}");
    assert!(warning.contains(reason), "{warning}");
    let status = status(doc, source);
    assert_eq!(status.origin, "baseline");
    assert!(status.warning.is_some());
}

fn bucket_has_live_property(doc: &ServiceDocumentation) -> bool {
    doc.resource_types
        .iter()
        .find(|schema| schema.type_name == "AWS::S3::Bucket")
        .expect("AWS::S3::Bucket schema")
        .properties
        .contains_key("LiveOnlyProperty")
}

fn has_live_action(doc: &ServiceDocumentation) -> bool {
    doc.iam_services[0]
        .actions
        .iter()
        .any(|action| action.name == "PutLiveOnlyConfiguration")
}

fn has_live_rule(doc: &ServiceDocumentation) -> bool {
    doc.config_rules
        .iter()
        .any(|rule| rule.identifier == "S3_BUCKET_LIVE_ONLY_CHECK")
}

#[tokio::test]
async fn live_sources_replace_the_baseline() {
    let server = MockServer::start().await;
    serve(&server, 1, false, &[]).await;
    let kb = kb();
    let store = MemoryStore::default();
    let mut doc = s3_doc(&kb);
    let baseline = doc.clone();
    let collector = LiveCollector::new(config(&server)).unwrap();

    let warnings = collector.refresh(&kb, &mut doc, &store).await;
    assert!(warnings.is_empty(), "{warnings:#?}");

    for status in &doc.sources {
        assert_eq!(status.origin, "live", "{status:?}");
        assert!(status.warning.is_none(), "{status:?}");
        DateTime::parse_from_rfc3339(&status.as_of).unwrap();
    }

    // CloudFormation: live schema, baseline regions; new types are added,
    // other namespaces ignored.
    let names: Vec<&str> = doc
        .resource_types
        .iter()
        .map(|schema| schema.type_name.as_str())
        .collect();
    assert_eq!(names, ["AWS::S3::Bucket", "AWS::S3::LiveOnlyThing"]);
    let bucket = &doc.resource_types[0];
    assert!(bucket_has_live_property(&doc));
    assert_eq!(
        bucket.properties["LiveOnlyProperty"].reference.as_deref(),
        Some("LiveOnlySetting")
    );
    assert_eq!(bucket.regions, baseline.resource_types[0].regions);
    assert!(bucket.regions.len() > 1);
    assert_eq!(doc.resource_types[1].regions, ["us-east-1"]);

    // IAM: the reference's actions and levels, the baseline's descriptions.
    let service = &doc.iam_services[0];
    assert_eq!(service.prefix, "s3");
    assert_eq!(service.name, baseline.iam_services[0].name);
    assert_eq!(service.actions.len(), 7);
    let action = |name: &str| {
        service
            .actions
            .iter()
            .find(|action| action.name == name)
            .unwrap()
    };
    assert_eq!(action("GetObject").access_levels, [AccessLevel::Read]);
    assert_eq!(
        action("GetObject").description,
        "Grants permission to retrieve objects from Amazon S3"
    );
    assert_eq!(
        action("ListAllMyBuckets").access_levels,
        [AccessLevel::List]
    );
    assert!(action("ListAllMyBuckets").resource_types.is_empty());
    assert_eq!(
        action("PutBucketPolicy").access_levels,
        [AccessLevel::PermissionsManagement, AccessLevel::Write]
    );
    assert_eq!(
        action("PutBucketTagging").access_levels,
        [AccessLevel::Tagging, AccessLevel::Write]
    );
    let create = action("CreateBucket");
    assert!(create.resource_types[0].required, "kept from the baseline");
    assert!(create.condition_keys.contains(&"s3:x-amz-acl".to_string()));
    let live = action("PutLiveOnlyConfiguration");
    assert_eq!(live.access_levels, [AccessLevel::Write]);
    assert_eq!(live.condition_keys, ["s3:LiveOnlyKey"]);
    assert_eq!(service.resource_types.len(), 4);
    let key = |name: &str| {
        service
            .condition_keys
            .iter()
            .find(|key| key.name == name)
            .unwrap()
    };
    assert_eq!(key("s3:LiveOnlyKey").value_type, "Bool");
    assert_eq!(key("s3:TlsVersion").value_type, "Numeric");
    assert!(
        !key("s3:TlsVersion").description.is_empty(),
        "kept from the baseline"
    );

    // Config: the known rule from its page, a new rule the list page revealed.
    let versioning = &doc.config_rules[1];
    assert_eq!(versioning.identifier, "S3_BUCKET_VERSIONING_ENABLED");
    assert_eq!(versioning.resource_types, ["AWS::S3::Bucket"]);
    assert_eq!(versioning.triggers, ["configuration_changes"]);
    assert_eq!(
        versioning.documentation_url,
        baseline.config_rules[0].documentation_url
    );
    let parameters: Vec<(&str, &str, bool, Option<&str>)> = versioning
        .parameters
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.value_type.as_str(),
                p.optional,
                p.default.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        parameters,
        [
            ("isMfaDeleteEnabled", "String", true, None),
            ("liveOnlyParameter", "int", true, Some("7")),
        ]
    );
    let new_rule = &doc.config_rules[0];
    assert_eq!(new_rule.identifier, "S3_BUCKET_LIVE_ONLY_CHECK");
    assert!(
        new_rule
            .description
            .starts_with("Checks if your Amazon S3 buckets")
    );
    assert_eq!(new_rule.triggers, ["configuration_changes", "periodic"]);
    assert!(new_rule.parameters.is_empty());
    assert!(new_rule.details_known);
    assert!(
        new_rule
            .documentation_url
            .ends_with("/s3-bucket-live-only-check.html")
    );

    // Bodies and sidecars are cached.
    let zip_url = format!("{}{ZIP_PATH}", server.uri());
    assert_eq!(store.object(&cache_key(&zip_url)), Some(schema_zip()));
    let meta: serde_json::Value = serde_json::from_slice(
        &store
            .object(&format!("{}.meta", cache_key(&zip_url)))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(meta["url"], zip_url);
    assert_eq!(meta["etag"], "\"zip-v1\"");
    let index_url = format!("{}/", server.uri());
    let meta: serde_json::Value = serde_json::from_slice(
        &store
            .object(&format!("{}.meta", cache_key(&index_url)))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(meta["last_modified"], LAST_MODIFIED);
}

#[tokio::test]
async fn a_second_refresh_within_the_ttl_makes_no_request() {
    let server = MockServer::start().await;
    serve(&server, 1, false, &[]).await;
    let kb = kb();
    let store = MemoryStore::default();
    let collector = LiveCollector::new(config(&server)).unwrap();

    let mut first = s3_doc(&kb);
    assert!(collector.refresh(&kb, &mut first, &store).await.is_empty());
    let mut second = s3_doc(&kb);
    let warnings = collector.refresh(&kb, &mut second, &store).await;
    assert!(warnings.is_empty(), "{warnings:#?}");

    for (before, after) in first.sources.iter().zip(&second.sources) {
        assert_eq!(after.origin, "cache", "{after:?}");
        assert_eq!(
            after.as_of, before.as_of,
            "the data is as old as the first fetch"
        );
    }
    assert_eq!(first.resource_types, second.resource_types);
    assert_eq!(first.iam_services, second.iam_services);
    assert_eq!(first.config_rules, second.config_rules);
    // `expect(1)` on every route is verified when the server drops.
}

#[tokio::test]
async fn after_the_ttl_requests_are_conditional_and_304_reuses_the_cache() {
    let server = MockServer::start().await;
    serve(&server, 1, true, &[]).await;
    let kb = kb();
    let store = MemoryStore::default();
    let collector = LiveCollector::new(LiveConfig {
        cache_ttl: Duration::ZERO,
        ..config(&server)
    })
    .unwrap();

    let mut first = s3_doc(&kb);
    assert!(collector.refresh(&kb, &mut first, &store).await.is_empty());
    let mut second = s3_doc(&kb);
    let warnings = collector.refresh(&kb, &mut second, &store).await;
    assert!(warnings.is_empty(), "{warnings:#?}");

    for (before, after) in first.sources.iter().zip(&second.sources) {
        assert_eq!(after.origin, "cache", "{after:?}");
        let (before, after) = (
            DateTime::parse_from_rfc3339(&before.as_of).unwrap(),
            DateTime::parse_from_rfc3339(&after.as_of).unwrap(),
        );
        assert!(after >= before, "revalidation renews the date");
    }
    assert!(bucket_has_live_property(&second));
    assert!(has_live_action(&second));
    assert!(has_live_rule(&second));
}

#[tokio::test]
async fn a_failing_schema_archive_keeps_the_baseline_and_the_others_refresh() {
    let server = MockServer::start().await;
    serve(&server, 1, false, &[ZIP_PATH]).await;
    Mock::given(method("GET"))
        .and(path(ZIP_PATH))
        .respond_with(ResponseTemplate::new(500))
        .expect(2) // one retry
        .mount(&server)
        .await;
    let kb = kb();
    let store = MemoryStore::default();
    let mut doc = s3_doc(&kb);
    let baseline = doc.clone();
    let collector = LiveCollector::new(config(&server)).unwrap();

    let warnings = collector.refresh(&kb, &mut doc, &store).await;

    let zip_url = format!("{}{ZIP_PATH}", server.uri());
    assert_only_source_kept_baseline(
        &warnings,
        &doc,
        "cloudformation-schemas",
        &zip_url,
        "HTTP 500",
    );
    let cfn = status(&doc, "cloudformation-schemas");
    assert_eq!(cfn.as_of, status(&baseline, "cloudformation-schemas").as_of);
    assert!(cfn.warning.as_deref().unwrap().contains("HTTP 500"));
    assert_eq!(doc.resource_types, baseline.resource_types);

    assert_eq!(status(&doc, "iam-service-reference").origin, "live");
    assert_eq!(status(&doc, "config-managed-rules").origin, "live");
    assert!(has_live_action(&doc));
    assert!(has_live_rule(&doc));
}

#[tokio::test]
async fn a_garbage_reference_index_keeps_the_baseline_and_is_not_cached() {
    let server = MockServer::start().await;
    serve(&server, 2, false, &[INDEX_PATH, S3_REFERENCE_PATH]).await;
    Mock::given(method("GET"))
        .and(path(INDEX_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw("<html><body>Service Unavailable</body></html>", "text/html"),
        )
        .expect(2) // once per refresh: an unparsable body is never served from the cache
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(S3_REFERENCE_PATH))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let kb = kb();
    let store = MemoryStore::default();
    // Nothing is cached in this test, so every source fetches twice.
    let collector = LiveCollector::new(LiveConfig {
        cache_ttl: Duration::ZERO,
        ..config(&server)
    })
    .unwrap();

    for _ in 0..2 {
        let mut doc = s3_doc(&kb);
        let baseline = doc.clone();
        // A cache entry from the previous run is stale (TTL zero), and the
        // server sends no validators for the garbage, so nothing revalidates.
        let warnings = collector.refresh(&kb, &mut doc, &store).await;
        let index_url = format!("{}/", server.uri());
        assert_only_source_kept_baseline(
            &warnings,
            &doc,
            "iam-service-reference",
            &index_url,
            "not JSON",
        );
        assert_eq!(doc.iam_services, baseline.iam_services);
        assert!(store.object(&cache_key(&index_url)).is_none());

        assert_ne!(status(&doc, "cloudformation-schemas").origin, "baseline");
        assert_ne!(status(&doc, "config-managed-rules").origin, "baseline");
        assert!(bucket_has_live_property(&doc));
        assert!(has_live_rule(&doc));
    }
}

#[tokio::test]
async fn a_config_guide_timeout_keeps_the_baseline_and_the_others_refresh() {
    let server = MockServer::start().await;
    let list_path = format!("{GUIDE}/managed-rules-by-aws-config.html");
    let versioning_path = format!("{GUIDE}/s3-bucket-versioning-enabled.html");
    let live_only_path = format!("{GUIDE}/s3-bucket-live-only-check.html");
    serve(
        &server,
        1,
        false,
        &[&list_path, &versioning_path, &live_only_path],
    )
    .await;
    Mock::given(method("GET"))
        .and(path(list_path.as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(
                    fixture("config/managed-rules-by-aws-config.html"),
                    "text/html",
                )
                .set_delay(Duration::from_secs(3)),
        )
        .expect(2) // one retry
        .mount(&server)
        .await;
    let kb = kb();
    let store = MemoryStore::default();
    let mut doc = s3_doc(&kb);
    let baseline = doc.clone();
    let collector = LiveCollector::new(LiveConfig {
        timeout: Duration::from_millis(300),
        ..config(&server)
    })
    .unwrap();

    let warnings = collector.refresh(&kb, &mut doc, &store).await;

    let list_url = format!("{}{list_path}", server.uri());
    assert_only_source_kept_baseline(
        &warnings,
        &doc,
        "config-managed-rules",
        &list_url,
        "timed out",
    );
    assert_eq!(doc.config_rules, baseline.config_rules);

    assert_eq!(status(&doc, "cloudformation-schemas").origin, "live");
    assert_eq!(status(&doc, "iam-service-reference").origin, "live");
    assert!(bucket_has_live_property(&doc));
    assert!(has_live_action(&doc));
}
