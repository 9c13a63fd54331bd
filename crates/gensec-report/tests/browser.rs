//! `report.html` in headless Chromium: it loads without JavaScript errors or
//! blocked loads, every section is there, the priority filter hides the other
//! rows, and a screenshot can be taken. Needs the Debian package `chromium`
//! (`/usr/bin/chromium`); without it this test fails, it is never skipped.
#![allow(clippy::unwrap_used)]

mod common;

use gensec_core::contract::paths::REPORT_HTML as REPORT_HTML_PATH;
use gensec_report::html::SECTION_IDS;
use gensec_testkit::browser::{assert_installed, collect_errors, eval, filter, launch};
use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn the_report_works_in_headless_chromium() {
    assert_installed();
    let run = common::run().await;
    let report = run.run_dir().join(REPORT_HTML_PATH);
    let url = format!("file://{}", report.canonicalize().unwrap().display());

    let chromium = launch(1400, 1000, Duration::from_secs(120));
    let tab = chromium.browser.new_tab().unwrap();

    let errors = collect_errors(&tab);
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
