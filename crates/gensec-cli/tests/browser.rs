//! The reports of the 17 test services in headless Chromium at 1280x800, as a
//! reviewer opens them: each at most 500 KB, no horizontal overflow, the
//! summary section first with the decision, the filters working, no console
//! errors. Screenshots of the S3 and EC2 reports are kept as test artefacts
//! under the target directory (`<target>/tmp/report-screenshots/`), never
//! committed. Needs the Debian package `chromium` (`/usr/bin/chromium`);
//! without it this test fails, it is never skipped.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use assert_cmd::Command;
use gensec_testkit::SERVICES;
use gensec_testkit::browser::{assert_installed, collect_errors, eval, eval_json, filter, launch};
use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The largest report a reviewer is asked to open.
const REPORT_MAX_BYTES: u64 = 500 * 1024;
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 800;

/// The one report of each service under `out`.
fn reports(out: &Path) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    for service in std::fs::read_dir(out).unwrap() {
        let service = service.unwrap().path();
        if !service.is_dir()
            || service
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with('.')
        {
            continue;
        }
        for run in std::fs::read_dir(&service).unwrap() {
            let report = run.unwrap().path().join("report.html");
            if report.is_file() {
                found.push((
                    service.file_name().unwrap().to_string_lossy().to_string(),
                    report,
                ));
            }
        }
    }
    found.sort();
    found
}

/// Choose a priority the way a user's change does; the visible rows.
fn filter_priority(tab: &headless_chrome::Tab, value: &str) -> serde_json::Value {
    filter(tab, "filter-priority", value)
}

/// Page width, and any visible element reaching past the window's right edge.
const OVERFLOW: &str = r#"(function () {
    var width = document.documentElement.clientWidth;
    var wide = [];
    var all = document.querySelectorAll('main *, header *');
    for (var i = 0; i < all.length && wide.length < 5; i++) {
        var r = all[i].getBoundingClientRect();
        if (r.width > 0 && r.right > width + 1) {
            wide.push(all[i].tagName + (all[i].id ? '#' + all[i].id : '') + ' ' + Math.round(r.right));
        }
    }
    return JSON.stringify({
        scroll: document.documentElement.scrollWidth,
        client: width,
        wide: wide
    });
})()"#;

const ORDER: &str = r#"(function () {
    var main = document.querySelector('main');
    var first = main && main.firstElementChild;
    var h2 = document.querySelector('h2');
    var decision = document.getElementById('decision');
    return JSON.stringify({
        first: first ? first.id : null,
        first_h2: h2 ? h2.parentElement.id : null,
        readiness: decision ? decision.getAttribute('data-readiness') : null,
        decision_top: decision ? Math.round(decision.getBoundingClientRect().top) : null
    });
})()"#;

#[tokio::test(flavor = "multi_thread")]
async fn the_17_reports_fit_1280_px_with_the_summary_first() {
    assert_installed();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = Command::cargo_bin("gensec")
        .unwrap()
        .current_dir(dir.path())
        .env_remove("GENSEC_KB")
        .args(["run", "--service", &SERVICES.join(","), "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let reports = reports(&out);
    let ids: Vec<&str> = reports.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        reports.len(),
        SERVICES.len(),
        "one report per service: {ids:?}"
    );
    assert!(ids.contains(&"s3") && ids.contains(&"ec2"), "{ids:?}");

    let chromium = launch(WIDTH, HEIGHT, Duration::from_secs(300));
    let browser = &chromium.browser;
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-screenshots");
    std::fs::create_dir_all(&shots).unwrap();

    let mut sizes = Vec::new();
    for (service, report) in &reports {
        let bytes = std::fs::metadata(report).unwrap().len();
        sizes.push(format!("{service} {bytes}"));
        assert!(
            bytes <= REPORT_MAX_BYTES,
            "{service}: report.html is {bytes} bytes, above {REPORT_MAX_BYTES}"
        );
        let tab = browser.new_tab().unwrap();
        tab.set_bounds(headless_chrome::types::Bounds::Normal {
            left: Some(0),
            top: Some(0),
            width: Some(f64::from(WIDTH)),
            height: Some(f64::from(HEIGHT)),
        })
        .unwrap();
        let errors = collect_errors(&tab);
        let url = format!("file://{}", report.canonicalize().unwrap().display());
        tab.navigate_to(&url)
            .unwrap()
            .wait_until_navigated()
            .unwrap();
        tab.wait_for_element("#recommendations-table").unwrap();

        let width = eval(&tab, "window.innerWidth");
        assert_eq!(width, WIDTH, "{service}: window width");
        let overflow = eval_json(&tab, OVERFLOW);
        assert!(
            overflow["scroll"].as_u64() <= overflow["client"].as_u64()
                && overflow["wide"].as_array().unwrap().is_empty(),
            "{service}: horizontal overflow at {WIDTH} px: {overflow}"
        );

        let order = eval_json(&tab, ORDER);
        assert_eq!(order["first"], "summary", "{service}: {order}");
        assert_eq!(order["first_h2"], "summary", "{service}: {order}");
        assert!(
            ["ready", "ready_with_conditions", "not_ready"]
                .contains(&order["readiness"].as_str().unwrap_or_default()),
            "{service}: {order}"
        );
        assert!(
            order["decision_top"].as_i64().unwrap() < i64::from(HEIGHT),
            "{service}: the decision is not on the first screen: {order}"
        );

        let all = filter_priority(&tab, "");
        let total = all["total"].as_u64().unwrap();
        assert!(total > 0, "{service}: no recommendation rows");
        assert_eq!(all["visible"], total, "{service}: {all}");
        let priority = ["Critical", "High", "Medium", "Low"]
            .into_iter()
            .find(|p| {
                let shown = filter_priority(&tab, p);
                shown["visible"].as_u64().unwrap() > 0
            })
            .unwrap();
        let shown = filter_priority(&tab, priority);
        let visible = shown["visible"].as_u64().unwrap();
        assert!(
            shown["priorities"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p == priority),
            "{service}: {shown}"
        );
        assert_eq!(
            shown["count"],
            format!("{visible} of {total} shown"),
            "{service}"
        );
        filter_priority(&tab, "");

        if service == "s3" || service == "ec2" {
            let png = tab
                .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
                .unwrap();
            assert!(
                png.starts_with(b"\x89PNG\r\n\x1a\n"),
                "{service}: not a PNG"
            );
            std::fs::write(shots.join(format!("{service}.png")), &png).unwrap();
        }
        // Give late events (exceptions, refused loads) a moment to arrive.
        std::thread::sleep(Duration::from_millis(200));
        let seen = errors.lock().unwrap().clone();
        assert!(seen.is_empty(), "{service}: console errors: {seen:#?}");
        tab.close(true).unwrap();
    }
    println!("report.html bytes: {}", sizes.join(", "));
    for name in ["s3.png", "ec2.png"] {
        assert!(shots.join(name).is_file(), "{name} kept");
    }
}
