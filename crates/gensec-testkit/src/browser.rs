//! Headless Chromium as the report's browser tests open a report: the Debian
//! package's binary, no sandbox or GPU, no background traffic, and a listener
//! that collects every JavaScript error the page raises.

use headless_chrome::protocol::cdp::Log::LogEntryLevel;
use headless_chrome::protocol::cdp::Runtime::ConsoleAPICalledEventTypeOption;
use headless_chrome::protocol::cdp::types::Event;
use headless_chrome::{Browser, LaunchOptions, Tab};
use std::ffi::OsStr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where the Debian package `chromium` puts the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// A running headless Chromium and the profile directory it lives in (kept
/// as long as the browser).
pub struct Headless {
    pub browser: Browser,
    profile: tempfile::TempDir,
}

// `Browser` has no `Debug`; the profile directory says which one this is.
impl std::fmt::Debug for Headless {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Headless")
            .field("profile", &self.profile.path())
            .finish_non_exhaustive()
    }
}

/// Fails, never skips, without the browser; a test calls it first so that
/// nothing runs in vain.
pub fn assert_installed() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "headless Chromium is needed at {CHROMIUM} for the report's browser test: run `apt-get install chromium`"
    );
}

/// Launches headless Chromium at `width` x `height`; it closes itself after
/// `idle` without a command.
pub fn launch(width: u32, height: u32, idle: Duration) -> Headless {
    assert_installed();
    let profile = tempfile::tempdir().unwrap();
    let options = LaunchOptions::default_builder()
        .path(Some(CHROMIUM.into()))
        .headless(true)
        .sandbox(false)
        .enable_gpu(false)
        .window_size(Some((width, height)))
        .user_data_dir(Some(profile.path().to_path_buf()))
        .idle_browser_timeout(idle)
        .args(vec![
            OsStr::new("--disable-gpu"),
            OsStr::new("--disable-background-networking"),
            OsStr::new("--disable-component-update"),
            OsStr::new("--no-first-run"),
            OsStr::new("--disable-sync"),
        ])
        .build()
        .unwrap();
    Headless {
        browser: Browser::new(options).unwrap(),
        profile,
    }
}

/// Every uncaught exception, `console.error` call and error log entry of
/// `tab` from now on, as text; runtime and log events are enabled.
pub fn collect_errors(tab: &Tab) -> Arc<Mutex<Vec<String>>> {
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
    errors
}

/// The value of a JavaScript expression in `tab` (`null` for none).
pub fn eval(tab: &Tab, expression: &str) -> serde_json::Value {
    tab.evaluate(expression, false)
        .unwrap()
        .value
        .unwrap_or(serde_json::Value::Null)
}

/// A JavaScript expression that returns `JSON.stringify(...)`, parsed.
pub fn eval_json(tab: &Tab, expression: &str) -> serde_json::Value {
    serde_json::from_str(eval(tab, expression).as_str().unwrap()).unwrap()
}

/// Chooses `value` in the select `select` the way a user's change does, and
/// reports the recommendation rows: how many, how many visible, the visible
/// rows' priorities and domains, and the filter's count line.
pub fn filter(tab: &Tab, select: &str, value: &str) -> serde_json::Value {
    eval_json(
        tab,
        &format!(
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
        ),
    )
}
