//! A local stand-in for AWS's three documentation sources (wiremock on
//! 127.0.0.1): the CloudFormation schema zip, the Service Authorization
//! Reference JSON and the Config developer guide's HTML, built from the
//! fixtures under `crates/gensec-docs/tests/fixtures/live`. Shared by the
//! tests of gensec-docs, gensec-stages, the CLI and the Lambdas
//! (`#[path = ...] mod fake_sources;`).
#![allow(dead_code)] // each test crate uses part of it

use std::io::Write;
use std::path::PathBuf;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const ZIP_PATH: &str = "/CloudformationSchema.zip";
pub const INDEX_PATH: &str = "/";
pub const S3_REFERENCE_PATH: &str = "/v1/s3/s3.json";
pub const GUIDE: &str = "/config/latest/developerguide";
pub const LAST_MODIFIED: &str = "Wed, 19 Nov 2026 07:28:00 GMT";

pub fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../gensec-docs/tests/fixtures/live")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// A `CloudformationSchema.zip` like AWS's: one schema file per type at the root.
pub fn schema_zip() -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for name in [
        "aws-s3-bucket.json",
        "aws-s3-liveonlything.json",
        "aws-sqs-queue.json",
    ] {
        writer.start_file(name, options).expect("zip entry");
        writer
            .write_all(&fixture(&format!("cfn/{name}")))
            .expect("zip entry body");
    }
    writer.finish().expect("zip archive").into_inner()
}

/// How a route lets clients revalidate.
#[derive(Debug, Clone, Copy)]
pub enum Validator {
    ETag(&'static str),
    LastModified(&'static str),
}

/// One source document served by the mock server.
#[derive(Debug)]
pub struct Route {
    pub path: String,
    pub body: Vec<u8>,
    pub content_type: &'static str,
    pub validator: Validator,
}

pub fn routes(server: &MockServer) -> Vec<Route> {
    let index = String::from_utf8(fixture("iam/index.json"))
        .expect("UTF-8 fixture")
        .replace("{{BASE}}", &server.uri());
    vec![
        Route {
            path: ZIP_PATH.into(),
            body: schema_zip(),
            content_type: "application/zip",
            validator: Validator::ETag("\"zip-v1\""),
        },
        Route {
            path: INDEX_PATH.into(),
            body: index.into_bytes(),
            content_type: "application/json",
            validator: Validator::LastModified(LAST_MODIFIED),
        },
        Route {
            path: S3_REFERENCE_PATH.into(),
            body: fixture("iam/s3.json"),
            content_type: "application/json",
            validator: Validator::ETag("\"s3-v1\""),
        },
        Route {
            path: format!("{GUIDE}/managed-rules-by-aws-config.html"),
            body: fixture("config/managed-rules-by-aws-config.html"),
            content_type: "text/html",
            validator: Validator::ETag("\"list-v1\""),
        },
        Route {
            path: format!("{GUIDE}/s3-bucket-versioning-enabled.html"),
            body: fixture("config/s3-bucket-versioning-enabled.html"),
            content_type: "text/html",
            validator: Validator::ETag("\"versioning-v1\""),
        },
        Route {
            path: format!("{GUIDE}/s3-bucket-live-only-check.html"),
            body: fixture("config/s3-bucket-live-only-check.html"),
            content_type: "text/html",
            validator: Validator::ETag("\"live-only-v1\""),
        },
    ]
}

/// Serve every route (except those in `skip`) with `expected` full answers
/// each; with `revalidate`, also a 304 to one conditional request each.
pub async fn serve(server: &MockServer, expected: u64, revalidate: bool, skip: &[&str]) {
    for route in routes(server) {
        if skip.contains(&route.path.as_str()) {
            continue;
        }
        let mut response = ResponseTemplate::new(200).set_body_raw(route.body, route.content_type);
        let (validator_header, conditional_header, value) = match route.validator {
            Validator::ETag(value) => ("ETag", "If-None-Match", value),
            Validator::LastModified(value) => ("Last-Modified", "If-Modified-Since", value),
        };
        response = response.insert_header(validator_header, value);
        if revalidate {
            Mock::given(method("GET"))
                .and(path(route.path.as_str()))
                .and(exact_header(conditional_header, value))
                .respond_with(ResponseTemplate::new(304))
                .with_priority(1)
                .expect(1)
                .named(format!("304 {}", route.path))
                .mount(server)
                .await;
        }
        Mock::given(method("GET"))
            .and(path(route.path.as_str()))
            .respond_with(response)
            .expect(expected)
            .named(format!("200 {}", route.path))
            .mount(server)
            .await;
    }
    // Pages of other services are never fetched.
    Mock::given(method("GET"))
        .and(path(format!("{GUIDE}/ec2-instance-no-public-ip.html")))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .named("another service's rule page")
        .mount(server)
        .await;
}

/// The whole header value; wiremock's `header` matcher splits values at
/// commas, which HTTP dates contain.
pub fn exact_header(name: &'static str, value: &'static str) -> impl wiremock::Match {
    move |request: &wiremock::Request| {
        request
            .headers
            .get(name)
            .is_some_and(|sent| sent.as_bytes() == value.as_bytes())
    }
}
