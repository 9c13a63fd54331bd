//! `report.html` in headless Chromium: it loads without JavaScript errors or
//! blocked loads, every section is there, the priority filter hides the other
//! rows, and a screenshot can be taken. Needs the Debian package `chromium`
//! (`/usr/bin/chromium`); without it this test fails, it is never skipped.
#![allow(clippy::unwrap_used)]

mod common;

use gensec_core::contract::paths::REPORT_HTML as REPORT_HTML_PATH;
use gensec_report::html::SECTION_IDS;
use headless_chrome::protocol::cdp::Log::LogEntryLevel;
use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::protocol::cdp::Runtime::ConsoleAPICalledEventTypeOption;
use headless_chrome::protocol::cdp::types::Event;
use headless_chrome::{Browser, LaunchOptions, Tab};
use std::ffi::OsStr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";

fn eval(tab: &Tab, expression: &str) -> serde_json::Value {
    tab.evaluate(expression, false)
        .unwrap()
        .value
        .unwrap_or(serde_json::Value::Null)
}

/// Choose an option of a select the way a user's change does, and report the rows.
fn filter(tab: &Tab, select: &str, value: &str) -> serde_json::Value {
    let script = format!(
        r#"(function () {{
            var select = document.getElementById('{select}');
            select.value = '{value}';
            select.dispatchEvent(new Event('change'));
            var rows = Array.prototype.slice.call(document.querySelectorAll('#recommendations-table tbody tr.rec'));
            var visible = rows.filter(function (r) {{ return getComputedStyle(r).display !== 'none'; }});
            return JSON.stringify({{
                total: rows.length,
                visible: visible.length,
                priorities: visible.map(function (r) {{ return r.getAttribute('data-priority'); }}),
                domains: visible.map(function (r) {{ return r.getAttribute('data-domain'); }}),
                count: document.getElementById('filter-count').textContent
            }});
        }})()"#
    );
    serde_json::from_str(eval(tab, &script).as_str().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_works_in_headless_chromium() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "headless Chromium is needed at {CHROMIUM} for the report's browser test: run `apt-get install chromium`"
    );
    let run = common::run().await;
    let report = run.run_dir().join(REPORT_HTML_PATH);
    let url = format!("file://{}", report.canonicalize().unwrap().display());

    let profile_dir = tempfile::tempdir().unwrap();
    let options = LaunchOptions::default_builder()
        .path(Some(CHROMIUM.into()))
        .headless(true)
        .sandbox(false)
        .enable_gpu(false)
        .window_size(Some((1400, 1000)))
        .user_data_dir(Some(profile_dir.path().to_path_buf()))
        .idle_browser_timeout(Duration::from_secs(120))
        .args(vec![
            OsStr::new("--disable-gpu"),
            OsStr::new("--disable-background-networking"),
            OsStr::new("--disable-component-update"),
            OsStr::new("--no-first-run"),
            OsStr::new("--disable-sync"),
        ])
        .build()
        .unwrap();
    let browser = Browser::new(options).unwrap();
    let tab = browser.new_tab().unwrap();

    let errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = errors.clone();
    tab.add_event_listener(Arc::new(move |event: &Event| {
        let message = match event {
            Event::RuntimeExceptionThrown(e) => Some(format!(
                "exception: {} {:?}",
                e.params.exception_details.text, e.params.exception_details.exception
            )),
            Event::RuntimeConsoleAPICalled(e)
                if e.params.Type == ConsoleAPICalledEventTypeOption::Error =>
            {
                Some(format!("console.error: {:?}", e.params.args))
            }
            Event::LogEntryAdded(e) if e.params.entry.level == LogEntryLevel::Error => {
                Some(format!("log: {}", e.params.entry.text))
            }
            _ => None,
        };
        if let Some(message) = message {
            sink.lock().unwrap().push(message);
        }
    }))
    .unwrap();
    tab.enable_runtime().unwrap();
    tab.enable_log().unwrap();
    tab.navigate_to(&url)
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    tab.wait_for_element("#recommendations-table").unwrap();

    for id in SECTION_IDS {
        assert_eq!(
            eval(&tab, &format!("document.getElementById('{id}') !== null")),
            true,
            "section #{id}"
        );
    }
    assert_eq!(
        eval(&tab, "document.getElementById('filters').hidden"),
        false,
        "the script shows the filters"
    );

    let all = filter(&tab, "filter-priority", "");
    assert_eq!(all["total"], 22);
    assert_eq!(all["visible"], 22);

    let critical = filter(&tab, "filter-priority", "Critical");
    assert_eq!(critical["visible"], 8, "{critical}");
    assert!(
        critical["priorities"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p == "Critical")
    );
    assert_eq!(critical["count"], "8 of 22 shown");

    let critical_data = filter(&tab, "filter-domain", "data_protection");
    assert_eq!(critical_data["visible"], 4, "{critical_data}");
    let data = filter(&tab, "filter-priority", "");
    assert_eq!(data["visible"], 13, "{data}");
    assert!(
        data["domains"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d == "data_protection")
    );
    filter(&tab, "filter-domain", "");

    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    let shots = tempfile::tempdir().unwrap();
    let path = shots.path().join("report.png");
    std::fs::write(&path, &png).unwrap();
    if let Some(keep) = std::env::var_os("GENSEC_REPORT_SCREENSHOT") {
        std::fs::write(keep, &png).unwrap();
    }
    let written = std::fs::read(&path).unwrap();
    assert!(written.len() > 1000, "{} bytes", written.len());
    assert!(written.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");

    // Give late events (exceptions, refused loads) a moment to arrive.
    std::thread::sleep(Duration::from_millis(300));
    let seen = errors.lock().unwrap().clone();
    assert!(seen.is_empty(), "console errors: {seen:#?}");

    // The listener does catch errors: an uncaught exception is reported.
    eval(
        &tab,
        "setTimeout(function () { throw new Error('gensec-probe'); }, 0); true",
    );
    let caught = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        errors
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.contains("gensec-probe"))
    });
    assert!(
        caught,
        "the error listener saw nothing: {:?}",
        errors.lock().unwrap()
    );
}
