//! `config-managed-rules`: the AWS Config developer guide. The list page
//! (`managed-rules-by-aws-config.html`) links one page per rule
//! (`./s3-bucket-versioning-enabled.html`); a rule page's `div#main-col-body`
//! has a description paragraph, then `<p><b>Identifier:</b> ...</p>`,
//! `Resource Types:`, `Trigger type:`, `AWS Region:` and `Parameters:`
//! followed by a `div.variablelist` `<dl>` whose `<dt>`s give a parameter's
//! name (`name (Optional)`), `Type: ...` and `Default: ...`, and whose `<dd>`
//! describes it.
//!
//! Only pages that matter to the service are fetched: its own rules, plus
//! listed pages whose name starts with one of the service's words; a new rule
//! is kept when it evaluates one of the service's resource types.

use super::http_cache::{Fetched, HttpCache, Stamp};
use super::{LiveConfig, LiveError, Refreshed};
use futures::stream::{self, StreamExt};
use gensec_kb::ingest::catalogue::namespace_of;
use gensec_kb::ingest::short_description;
use gensec_kb::{ConfigRule, ConfigRuleParameter, Kb, ServiceDocumentation};
use reqwest::Url;
use scraper::{ElementRef, Html, Selector};
use std::collections::{BTreeMap, BTreeSet};

const DESCRIPTION_CHARS: usize = 240;

/// A page to fetch and, for the service's own rules, the rule it documents.
#[derive(Debug)]
struct Target<'a> {
    slug: String,
    url: String,
    known: Option<&'a ConfigRule>,
}

pub(crate) async fn refresh(
    cache: &HttpCache<'_>,
    config: &LiveConfig,
    kb: &Kb,
    doc: &ServiceDocumentation,
) -> Refreshed<Vec<ConfigRule>> {
    let list_url = &config.config_rules_url;
    let list = match cache.get(list_url).await {
        Ok(list) => list,
        Err(err) => return Refreshed::failed(&err),
    };
    let links = match list.text().and_then(|html| rule_links(list_url, html)) {
        Ok(links) => links,
        Err(err) => return Refreshed::failed(&err),
    };
    cache.keep(&list).await;
    let stamps = vec![list.stamp()];
    let mut problems = Vec::new();

    let (targets, skipped) = targets(config, doc, &links);
    if skipped > 0 {
        problems.push(format!(
            "{skipped} of the service's rule pages are beyond the limit of {} and keep their baseline",
            config.max_config_rule_pages
        ));
    }
    let attempted = targets.len();
    let urls = targets.iter().map(|target| target.url.clone()).collect();
    let fetched = fetch_all(cache, urls, config.max_concurrent_requests).await;
    let pages = targets.into_iter().zip(fetched);

    let namespaces: BTreeSet<&str> = doc.cfn_namespaces.iter().map(String::as_str).collect();
    let mut merged = Merged {
        rules: doc
            .config_rules
            .iter()
            .map(|rule| (rule.identifier.clone(), rule.clone()))
            .collect(),
        stamps,
        problems,
        refreshed: 0,
    };
    for (target, fetched) in pages {
        merged.take(cache, kb, &namespaces, &target, fetched).await;
    }
    if attempted > 0 && merged.refreshed == 0 {
        return Refreshed {
            data: None,
            stamps: Vec::new(),
            problems: merged.problems,
        };
    }
    Refreshed {
        data: Some(merged.rules.into_values().collect()),
        stamps: merged.stamps,
        problems: merged.problems,
    }
}

/// The service's rules as the fetched pages update them, the bodies they
/// were built from, the warnings, and how many pages were read.
struct Merged {
    rules: BTreeMap<String, ConfigRule>,
    stamps: Vec<Stamp>,
    problems: Vec<String>,
    refreshed: usize,
}

impl Merged {
    /// One fetched page: a known rule's page replaces the baseline's rule
    /// (when it documents that rule); a listed page of a new rule is added
    /// when the rule evaluates one of the service's `namespaces`.
    async fn take(
        &mut self,
        cache: &HttpCache<'_>,
        kb: &Kb,
        namespaces: &BTreeSet<&str>,
        target: &Target<'_>,
        fetched: Result<Fetched, LiveError>,
    ) {
        let parsed = fetched.and_then(|fetched| {
            let page = parse_rule_page(&fetched.url, fetched.text()?)?;
            Ok((fetched, page))
        });
        match (target.known, parsed) {
            (Some(known), Ok((fetched, page))) => {
                if page.identifier != known.identifier {
                    self.problems.push(format!(
                        "{} documents {}, not {}; keeping the baseline for {}",
                        target.url, page.identifier, known.identifier, known.identifier
                    ));
                    return;
                }
                cache.keep(&fetched).await;
                self.stamps.push(fetched.stamp());
                self.refreshed += 1;
                self.rules.insert(
                    known.identifier.clone(),
                    page.into_rule(Some(known), known.documentation_url.clone()),
                );
            }
            (Some(known), Err(err)) => self.problems.push(format!(
                "{}; keeping the baseline for {}",
                err.describe(),
                known.identifier
            )),
            (None, Ok((fetched, page))) => {
                // Cached either way, so an unrelated page is not refetched within the TTL.
                cache.keep(&fetched).await;
                self.refreshed += 1;
                let relevant = page
                    .resource_types
                    .iter()
                    .any(|type_name| namespaces.contains(namespace_of(type_name)));
                if relevant && !self.rules.contains_key(&page.identifier) {
                    self.stamps.push(fetched.stamp());
                    let mut rule = page.into_rule(None, target.url.clone());
                    let fallback = kb
                        .config_rule(&rule.identifier)
                        .filter(|_| rule.description.is_empty());
                    if let Some(known) = fallback {
                        rule.description = known.description.clone();
                    }
                    self.rules.insert(rule.identifier.clone(), rule);
                }
            }
            // A listed page without rule facts (an overview page) is not a rule.
            (None, Err(LiveError::Unparsable { url, message })) => {
                tracing::debug!(%url, %message, "skipping a page that documents no rule");
            }
            (None, Err(err)) => self.problems.push(format!(
                "{}; a rule listed as {} may be missing",
                err.describe(),
                target.slug
            )),
        }
    }
}

/// GET the URLs, a few at a time, in order. (Owned URLs keep the stream's
/// closure free of borrowed arguments, which the `Send` future of the stage needs.)
async fn fetch_all(
    cache: &HttpCache<'_>,
    urls: Vec<String>,
    concurrency: usize,
) -> Vec<Result<Fetched, LiveError>> {
    stream::iter(urls)
        .map(|url| async move { cache.get(&url).await })
        .buffered(concurrency.max(1))
        .collect()
        .await
}

/// The pages to fetch, the service's own rules first; and how many of those
/// did not fit under the limit.
fn targets<'a>(
    config: &LiveConfig,
    doc: &'a ServiceDocumentation,
    links: &[(String, String)],
) -> (Vec<Target<'a>>, usize) {
    let mut seen = BTreeSet::new();
    let mut own = Vec::new();
    for rule in &doc.config_rules {
        let slug = rule_slug(rule);
        // Pages are fetched from the configured guide, not the recorded URL,
        // so a mirror (or a test server) serves them.
        let Ok(url) = Url::parse(&config.config_rules_url)
            .and_then(|base| base.join(&format!("{slug}.html")))
        else {
            continue;
        };
        if seen.insert(slug.clone()) {
            own.push(Target {
                slug,
                url: url.to_string(),
                known: Some(rule),
            });
        }
    }
    let words = service_words(doc);
    let listed = links
        .iter()
        .filter(|(slug, _)| {
            words
                .iter()
                .any(|word| slug.starts_with(&format!("{word}-")))
        })
        .filter(|(slug, _)| seen.insert(slug.clone()))
        .map(|(slug, url)| Target {
            slug: slug.clone(),
            url: url.clone(),
            known: None,
        });
    let max = config.max_config_rule_pages;
    let skipped = own.len().saturating_sub(max);
    let mut targets: Vec<Target<'a>> = own.into_iter().take(max).collect();
    let room = max - targets.len();
    targets.extend(listed.take(room));
    (targets, skipped)
}

/// `https://.../s3-bucket-versioning-enabled.html` -> `s3-bucket-versioning-enabled`;
/// without a URL, from the identifier.
fn rule_slug(rule: &ConfigRule) -> String {
    rule.documentation_url
        .rsplit('/')
        .next()
        .and_then(|name| name.strip_suffix(".html"))
        .filter(|slug| is_slug(slug))
        .map(str::to_string)
        .unwrap_or_else(|| rule.identifier.to_lowercase().replace('_', "-"))
}

fn is_slug(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Lower-case words rule page names of the service start with (`s3`).
fn service_words(doc: &ServiceDocumentation) -> BTreeSet<String> {
    let namespaces = doc.cfn_namespaces.iter().map(|namespace| {
        namespace
            .rsplit("::")
            .next()
            .unwrap_or(namespace)
            .to_lowercase()
    });
    std::iter::once(doc.service_id.to_lowercase())
        .chain(doc.iam_prefixes.iter().map(|prefix| prefix.to_lowercase()))
        .chain(namespaces)
        .filter(|word| is_slug(word))
        .collect()
}

fn selector(css: &'static str) -> Result<Selector, LiveError> {
    Selector::parse(css).map_err(|err| LiveError::Unparsable {
        url: String::new(),
        message: format!("selector {css:?}: {err}"),
    })
}

/// The main column of an AWS documentation page, or the whole page.
fn main_column<'a>(html: &'a Html) -> Result<ElementRef<'a>, LiveError> {
    let main = selector("div#main-col-body")?;
    Ok(html
        .select(&main)
        .next()
        .unwrap_or_else(|| html.root_element()))
}

/// `(slug, absolute URL)` of every rule-like page the list page links, in
/// page order: `.html` pages in the same directory as the list.
fn rule_links(list_url: &str, html: &str) -> Result<Vec<(String, String)>, LiveError> {
    let base = Url::parse(list_url).map_err(|err| LiveError::Unparsable {
        url: list_url.to_string(),
        message: format!("not a URL: {err}"),
    })?;
    let directory = base
        .path()
        .rsplit_once('/')
        .map_or("", |(directory, _)| directory)
        .to_string();
    let document = Html::parse_document(html);
    let anchors = selector("a[href]")?;
    let mut seen = BTreeSet::new();
    let mut links = Vec::new();
    for anchor in main_column(&document)?.select(&anchors) {
        let Some(href) = anchor.value().attr("href") else {
            continue;
        };
        let Ok(mut url) = base.join(href) else {
            continue;
        };
        url.set_fragment(None);
        url.set_query(None);
        if url.origin() != base.origin() || url == base {
            continue;
        }
        let Some((page_directory, file)) = url.path().rsplit_once('/') else {
            continue;
        };
        let Some(slug) = file.strip_suffix(".html") else {
            continue;
        };
        if page_directory == directory && is_slug(slug) && seen.insert(slug.to_string()) {
            links.push((slug.to_string(), url.to_string()));
        }
    }
    if links.is_empty() {
        return Err(LiveError::Unparsable {
            url: list_url.to_string(),
            message: "the page links no rule pages".into(),
        });
    }
    Ok(links)
}

/// What a rule page says.
#[derive(Debug, Clone, PartialEq)]
struct RulePage {
    identifier: String,
    description: String,
    resource_types: Vec<String>,
    /// Empty when the page names no known trigger type.
    triggers: Vec<String>,
    parameters: Vec<ConfigRuleParameter>,
}

impl RulePage {
    fn into_rule(self, known: Option<&ConfigRule>, documentation_url: String) -> ConfigRule {
        let description = if self.description.is_empty() {
            known
                .map(|rule| rule.description.clone())
                .unwrap_or_default()
        } else {
            short_description(&self.description, DESCRIPTION_CHARS)
        };
        let triggers = if self.triggers.is_empty() {
            known.map(|rule| rule.triggers.clone()).unwrap_or_default()
        } else {
            self.triggers
        };
        // A default the page leaves out but the baseline knows is kept.
        let parameters = self
            .parameters
            .into_iter()
            .map(|mut parameter| {
                if parameter.default.is_none() {
                    parameter.default = known
                        .and_then(|rule| rule.parameters.iter().find(|p| p.name == parameter.name))
                        .and_then(|p| p.default.clone());
                }
                parameter
            })
            .collect();
        // The page's own name: `.../s3-bucket-ssl-requests-only.html`.
        let name = documentation_url
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .trim_end_matches(".html")
            .to_string();
        let provenance = ["resource_types", "triggers", "parameters"]
            .into_iter()
            .map(|fact| (fact.to_string(), "live Config developer guide".to_string()))
            .collect();
        ConfigRule {
            identifier: self.identifier,
            name,
            description,
            documentation_url,
            resource_types: self.resource_types,
            triggers,
            parameters,
            details_known: true,
            provenance,
            missing: Vec::new(),
        }
    }
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn element_text(element: ElementRef<'_>) -> String {
    collapse(&element.text().collect::<String>())
}

fn parse_rule_page(url: &str, html: &str) -> Result<RulePage, LiveError> {
    let document = Html::parse_document(html);
    let main = main_column(&document)?;
    let paragraphs = selector("p")?;
    let mut identifier = None;
    let mut description = String::new();
    let mut resource_types = Vec::new();
    let mut triggers = Vec::new();
    for paragraph in main.select(&paragraphs) {
        let text = element_text(paragraph);
        if let Some(value) = text.strip_prefix("Identifier:") {
            identifier = Some(value.trim().to_string());
        } else if let Some(value) = text.strip_prefix("Resource Types:") {
            resource_types = value
                .split(',')
                .map(str::trim)
                .filter(|name| name.contains("::"))
                .map(str::to_string)
                .collect();
        } else if let Some(value) = text.strip_prefix("Trigger type:") {
            let value = value.to_lowercase();
            if value.contains("configuration change") {
                triggers.push("configuration_changes".to_string());
            }
            if value.contains("periodic") {
                triggers.push("periodic".to_string());
            }
        } else if identifier.is_none()
            && description.is_empty()
            && !text.is_empty()
            && paragraph.parent().map(|parent| parent.id()) == Some(main.id())
        {
            // The description is the main column's first paragraph before the
            // facts; notes and banners sit in their own `div`s.
            description = text;
        }
    }
    let identifier =
        identifier
            .filter(|id| !id.is_empty())
            .ok_or_else(|| LiveError::Unparsable {
                url: url.to_string(),
                message: "no \"Identifier:\" on the page; not a rule page".into(),
            })?;
    Ok(RulePage {
        identifier,
        description,
        resource_types,
        triggers,
        parameters: parameters(main)?,
    })
}

/// Parameters from the first `div.variablelist` `<dl>`: a `<dt>` without a
/// `Type:`/`Default:` label starts a parameter, a `<dd>` ends it. A lone
/// `None` means no parameters.
fn parameters(main: ElementRef<'_>) -> Result<Vec<ConfigRuleParameter>, LiveError> {
    let list = selector("div.variablelist dl")?;
    let Some(list) = main.select(&list).next() else {
        return Ok(Vec::new());
    };
    let mut parameters = Vec::new();
    let mut current: Option<ConfigRuleParameter> = None;
    for child in list.children().filter_map(ElementRef::wrap) {
        let text = element_text(child);
        if text.is_empty() || text == "None" {
            continue;
        }
        match child.value().name() {
            "dt" => {
                if let Some(value) = text.strip_prefix("Type:") {
                    if let Some(parameter) = current.as_mut() {
                        parameter.value_type = value.trim().to_string();
                    }
                } else if let Some(value) = text.strip_prefix("Default:") {
                    if let Some(parameter) = current.as_mut() {
                        let value = value.replace("(Optional)", "");
                        parameter.default =
                            Some(value.trim().to_string()).filter(|v| !v.is_empty());
                    }
                } else {
                    parameters.extend(current.take());
                    let name = text.split_whitespace().next().unwrap_or_default();
                    current = Some(ConfigRuleParameter {
                        name: name.to_string(),
                        value_type: "String".into(),
                        optional: text.contains("(Optional)"),
                        optional_known: true,
                        default: None,
                    });
                }
            }
            "dd" => {
                // Some pages put the type in the description instead of a `<dt>`.
                let value_type = text
                    .strip_prefix("Type:")
                    .and_then(|value| value.split_whitespace().next());
                if let (Some(parameter), Some(value_type)) = (current.as_mut(), value_type) {
                    parameter.value_type = value_type.to_string();
                }
                parameters.extend(current.take());
            }
            _ => {}
        }
    }
    parameters.extend(current);
    Ok(parameters)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<html><body><div id="main-col-body">
        <h1 class="topictitle" id="access-keys-rotated">access-keys-rotated</h1>
        <p>Checks if active IAM access keys are rotated (changed) within the number of days specified in
           <code class="code">maxAccessKeyAge</code>. The rule is NON_COMPLIANT otherwise.</p>
        <p><b>Identifier:</b> ACCESS_KEYS_ROTATED</p>
        <p><b>Resource Types:</b> AWS::IAM::User, AWS::IAM::Group</p>
        <p><b>Trigger type:</b> Configuration changes and Periodic</p>
        <p><b>AWS Region:</b> All supported AWS regions</p>
        <p><b>Parameters:</b></p>
        <div class="variablelist"><dl>
          <dt><span class="term">maxAccessKeyAge</span></dt>
          <dt><span class="term">Type: int</span></dt>
          <dt><span class="term">Default: 90</span></dt>
          <dd><p>Maximum number of days without rotation. Default 90.</p></dd>
          <dt><span class="term">excludedUsers (Optional)</span></dt>
          <dt><span class="term">Type: CSV</span></dt>
          <dd><p>Users to skip.</p></dd>
        </dl></div>
        <h2>AWS CloudFormation template</h2>
        <p>To create AWS Config managed rules with AWS CloudFormation templates, see
           <a href="./aws-config-managed-rules-cloudformation-templates.html">Creating</a>.</p>
        </div></body></html>"#;

    #[test]
    fn reads_a_rule_page() {
        let page = parse_rule_page("u", PAGE).unwrap();
        assert_eq!(page.identifier, "ACCESS_KEYS_ROTATED");
        assert!(
            page.description
                .starts_with("Checks if active IAM access keys")
        );
        assert!(page.description.contains("specified in maxAccessKeyAge."));
        assert_eq!(page.resource_types, ["AWS::IAM::User", "AWS::IAM::Group"]);
        assert_eq!(page.triggers, ["configuration_changes", "periodic"]);
        assert_eq!(
            page.parameters,
            [
                ConfigRuleParameter {
                    name: "maxAccessKeyAge".into(),
                    value_type: "int".into(),
                    optional: false,
                    optional_known: true,
                    default: Some("90".into()),
                },
                ConfigRuleParameter {
                    name: "excludedUsers".into(),
                    value_type: "CSV".into(),
                    optional: true,
                    optional_known: true,
                    default: None,
                },
            ]
        );
    }

    #[test]
    fn none_means_no_parameters_and_overviews_are_not_rules() {
        let page = PAGE.replace(
            r#"<span class="term">maxAccessKeyAge</span>"#,
            r#"<span class="term">None</span>"#,
        );
        let none = r#"<div id="main-col-body"><p><b>Identifier:</b> X</p><p><b>Parameters:</b></p>
            <div class="variablelist"><dl><dt><span class="term">None</span></dt><dd></dd></dl></div></div>"#;
        assert!(parse_rule_page("u", none).unwrap().parameters.is_empty());
        assert!(parse_rule_page("u", &page).is_ok());
        let overview = r#"<div id="main-col-body"><p>Managed rules are predefined.</p></div>"#;
        assert!(matches!(
            parse_rule_page("u", overview),
            Err(LiveError::Unparsable { .. })
        ));
    }

    #[test]
    fn lists_sibling_pages_once() {
        let html = r##"<div id="main-col-body"><div class="highlights"><h6>Topics</h6><ul>
            <li><a href="./access-keys-rotated.html">access-keys-rotated</a></li>
            <li><a href="s3-bucket-versioning-enabled.html#params">s3-bucket-versioning-enabled</a></li>
            <li><a href="./access-keys-rotated.html">again</a></li>
            <li><a href="https://example.com/s3-x.html">elsewhere</a></li>
            <li><a href="../../other/guide/s3-y.html">other guide</a></li>
            <li><a href="#top">top</a></li></ul></div></div>"##;
        let links = rule_links("https://h/config/latest/developerguide/list.html", html).unwrap();
        assert_eq!(
            links,
            [
                (
                    "access-keys-rotated".to_string(),
                    "https://h/config/latest/developerguide/access-keys-rotated.html".to_string()
                ),
                (
                    "s3-bucket-versioning-enabled".to_string(),
                    "https://h/config/latest/developerguide/s3-bucket-versioning-enabled.html"
                        .to_string()
                ),
            ]
        );
        assert!(rule_links("https://h/d/list.html", "<p>moved</p>").is_err());
    }
}
