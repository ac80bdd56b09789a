//! The review page in a real browser: `plm detect --review` on sample nights, loaded in
//! headless Chromium through the DevTools protocol. The test fails on any console error or
//! uncaught exception, on a canvas left blank, and when the keys do not move the view as
//! documented (next/previous LM, next epoch), a table row or "go to" does not jump; it
//! saves a screenshot of each page in `target/review-browser/` to look at.
//!
//! Chromium is found as `$PLM_CHROMIUM`, else `chromium`, `chromium-browser` or
//! `google-chrome` on the `PATH` (`.ci/run` installs the Debian package `chromium` when
//! missing). Without one the test fails, unless `PLM_SKIP_BROWSER=1` says to skip it.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PLM_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// A headless Chromium and one page of it, driven over the DevTools protocol.
struct Browser {
    child: Child,
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    session: String,
    next_id: u64,
    /// Console errors and exceptions seen so far.
    errors: Vec<String>,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn launch(exe: &Path) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(exe)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
                "--window-size=1400,1000",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
        // Chromium says where its DevTools listen on stderr.
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("Chromium did not say where its DevTools listen");
        let (ws, _) = tungstenite::connect(url.as_str()).expect("DevTools websocket");
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        }
        let mut b = Browser {
            child,
            ws,
            session: String::new(),
            next_id: 0,
            errors: Vec::new(),
            _profile: profile,
        };
        let target = b.call("Target.createTarget", json!({"url": "about:blank"}), false);
        let target = target["targetId"].as_str().unwrap().to_owned();
        let attached = b.call(
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
            false,
        );
        attached["sessionId"]
            .as_str()
            .unwrap()
            .clone_into(&mut b.session);
        for domain in ["Runtime.enable", "Log.enable", "Page.enable"] {
            b.call(domain, json!({}), true);
        }
        b.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": false}),
            true,
        );
        b
    }

    /// Reads one message, noting console errors and exceptions.
    fn read(&mut self) -> Value {
        loop {
            match self.ws.read().expect("DevTools connection") {
                Message::Text(t) => {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap();
                    match v["method"].as_str() {
                        Some("Runtime.exceptionThrown") => self
                            .errors
                            .push(format!("exception: {}", v["params"]["exceptionDetails"])),
                        Some("Runtime.consoleAPICalled")
                            if matches!(
                                v["params"]["type"].as_str(),
                                Some("error" | "assert" | "warning")
                            ) =>
                        {
                            self.errors
                                .push(format!("console: {}", v["params"]["args"]));
                        }
                        Some("Log.entryAdded")
                            if v["params"]["entry"]["level"].as_str() == Some("error") =>
                        {
                            self.errors.push(format!("log: {}", v["params"]["entry"]));
                        }
                        _ => {}
                    }
                    return v;
                }
                Message::Close(_) => panic!("DevTools closed the connection"),
                _ => {}
            }
        }
    }

    /// Calls a DevTools method (on the page's session when `on_page`) and returns its
    /// result.
    #[allow(clippy::needless_pass_by_value)] // `json!` literals at every call
    fn call(&mut self, method: &str, params: Value, on_page: bool) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": &params});
        if on_page {
            msg["sessionId"] = json!(self.session);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .expect("DevTools send");
        loop {
            let v = self.read();
            if v["id"].as_u64() == Some(id) {
                assert!(v["error"].is_null(), "{method}: {}", v["error"]);
                return v["result"].clone();
            }
        }
    }

    /// Opens `url` and waits for its load event.
    fn open(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}), true);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(Instant::now() < deadline, "{url} did not load");
            if self.read()["method"].as_str() == Some("Page.loadEventFired") {
                return;
            }
        }
    }

    /// Evaluates a JavaScript expression in the page and returns its value.
    fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true}),
            true,
        );
        assert!(
            r["exceptionDetails"].is_null(),
            "{expr}: {}",
            r["exceptionDetails"]
        );
        r["result"]["value"].clone()
    }

    /// Presses a key (as the keyboard would: key down, key up).
    fn key(&mut self, key: &str, code: &str, key_code: u32) {
        let text = if key.chars().count() == 1 { key } else { "" };
        for kind in ["keyDown", "keyUp"] {
            self.call(
                "Input.dispatchKeyEvent",
                json!({"type": kind, "key": key, "code": code, "text": text,
                       "windowsVirtualKeyCode": key_code, "nativeVirtualKeyCode": key_code}),
                true,
            );
        }
    }

    /// The view: (start s, end s, current LM).
    fn view(&mut self) -> (f64, f64, i64) {
        let v = self.eval(
            "(() => { const d = document.getElementById('signal').dataset; return [Number(d.viewStartS), Number(d.viewEndS), Number(d.currentLm)]; })()",
        );
        (
            v[0].as_f64().unwrap(),
            v[1].as_f64().unwrap(),
            v[2].as_i64().unwrap(),
        )
    }

    fn screenshot(&mut self, path: &Path) {
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}), true);
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `plm detect` with `args` writing the review page and the JSON report into `dir`.
fn review(dir: &Path, args: &[&Path]) -> (PathBuf, Value) {
    let (html, json) = (dir.join("review.html"), dir.join("report.json"));
    let out = Command::new(env!("CARGO_BIN_EXE_plm"))
        .arg("detect")
        .args(args)
        .arg("--review")
        .arg(&html)
        .arg("--json")
        .arg(&json)
        .arg("-q")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    (html, report)
}

/// The share of each canvas' pixels that are not white.
const INKED: &str = "[...document.querySelectorAll('canvas')].map(c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] < 245 || d[i + 1] < 245 || d[i + 2] < 245) n++; return n / (d.length / 4); })";

fn browser_or_skip() -> Option<Browser> {
    match chromium() {
        Some(exe) => Some(Browser::launch(&exe)),
        None if std::env::var_os("PLM_SKIP_BROWSER").is_some() => {
            eprintln!("review_browser: no Chromium, skipped (PLM_SKIP_BROWSER)");
            None
        }
        None => panic!(
            "no Chromium for the review page's browser test: install it (apt-get install chromium), point PLM_CHROMIUM at it, or set PLM_SKIP_BROWSER=1"
        ),
    }
}

fn shots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/review-browser")
}

#[test]
fn the_review_page_draws_and_its_keys_move_the_view() {
    let Some(mut b) = browser_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let edf = data("emg-256hz-15min.edf");
    let xml = data("context/emg-256hz-15min-profusion.xml");
    let (html, report) = review(dir.path(), &[&edf, Path::new("--annotations"), &xml]);
    b.open(&format!("file://{}", html.display()));
    let inked = b.eval(INKED);
    let inked: Vec<f64> = inked
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(inked.len(), 2, "{inked:?}");
    assert!(inked.iter().all(|&f| f > 0.02), "a blank canvas: {inked:?}");
    b.screenshot(&shots().join("emg-first-epoch.png"));

    let onsets: Vec<f64> = report["leg_movements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["onset_s"].as_f64().unwrap())
        .collect();
    assert!(onsets.len() > 3);
    assert_eq!(b.view(), (0.0, 30.0, -1));
    // n: the first LM, a third into the 30-s window; n again, the second; p, back.
    b.key("n", "KeyN", 78);
    let (start, end, lm) = b.view();
    assert_eq!(lm, 0);
    assert!(
        start <= onsets[0] && onsets[0] <= end,
        "{start}–{end} {onsets:?}"
    );
    assert!(
        (start - (onsets[0] - 10.0).max(0.0)).abs() < 1e-3,
        "{start}"
    );
    b.key("n", "KeyN", 78);
    assert_eq!(b.view().2, 1);
    assert!((b.view().0 - (onsets[1] - 10.0)).abs() < 1e-3);
    b.key("p", "KeyP", 80);
    assert_eq!(b.view().2, 0);
    // →: the next epoch on the 30-s grid.
    let before = b.view().0;
    b.key("ArrowRight", "ArrowRight", 39);
    let after = b.view().0;
    assert_eq!(after, (before / 30.0).floor() * 30.0 + 30.0);
    let render_ms = b.eval("Number(document.getElementById('signal').dataset.renderMs)");
    eprintln!("review page: an epoch rendered in {render_ms} ms");
    // A table row: that movement's view, its LM current.
    b.eval("document.querySelectorAll('#movements tbody tr')[5].click()");
    let (start, end, lm) = b.view();
    let cand = &report["candidate_movements"][5];
    let on = cand["onset_s"].as_f64().unwrap();
    assert!(start <= on && on <= end, "{start}–{end} {on}");
    assert!(lm >= 0 && (onsets[lm as usize] - on).abs() < 1e-6, "{lm}");
    b.screenshot(&shots().join("emg-movement.png"));
    // Go to a clock time: the recording starts at 22:30:05, so 22:40:00 is 595 s in.
    b.eval("document.getElementById('window').value = '30'; document.getElementById('window').dispatchEvent(new Event('change'))");
    b.eval("document.getElementById('goto').value = '22:40:00'; document.getElementById('goto-form').requestSubmit()");
    let (start, end, _) = b.view();
    assert!(start <= 595.0 && 595.0 < end, "{start}–{end}");
    // A time it cannot read is said on the page, not thrown.
    b.eval("document.getElementById('goto').value = 'soon'; document.getElementById('goto-form').requestSubmit()");
    let said = b.eval("document.getElementById('status').textContent");
    assert!(said.as_str().unwrap().contains("cannot read"), "{said}");
    // s: the next PLM series starts at one of its PLMs.
    b.key("s", "KeyS", 83);
    let (_, _, lm) = b.view();
    assert!(lm >= 0);
    assert!(b.errors.is_empty(), "{:#?}", b.errors);
}

#[test]
fn the_review_page_of_an_accelerometer_night_draws() {
    let Some(mut b) = browser_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let night = data("accel-50hz-15min.csv");
    let (html, report) = review(dir.path(), &[&night]);
    assert_eq!(report["modality"], "accelerometer");
    b.open(&format!("file://{}#lm=3", html.display()));
    let (start, end, lm) = b.view();
    let on = report["leg_movements"][2]["onset_s"].as_f64().unwrap();
    assert_eq!(lm, 2);
    assert!(start <= on && on <= end);
    let inked = b.eval(INKED);
    assert!(
        inked
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v.as_f64().unwrap() > 0.02),
        "{inked}"
    );
    let unit = b.eval("document.getElementById('amp').textContent");
    assert!(unit.as_str().unwrap().ends_with("mg"), "{unit}");
    b.screenshot(&shots().join("accel-movement.png"));
    assert!(b.errors.is_empty(), "{:#?}", b.errors);
}

/// A page without signal (`plm score`) draws its overview and table without an error.
#[test]
fn the_review_page_of_a_scored_list_draws() {
    let Some(mut b) = browser_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("score.html");
    let out = Command::new(env!("CARGO_BIN_EXE_plm"))
        .arg("score")
        .arg(data("emg-256hz-15min.truth.csv"))
        .arg("--hypnogram")
        .arg(data("emg-256hz-15min.hyp.csv"))
        .arg("--review")
        .arg(&html)
        .arg("-q")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    b.open(&format!("file://{}", html.display()));
    b.key("n", "KeyN", 78);
    assert_eq!(b.view().2, 0);
    let rows = b.eval("document.querySelectorAll('#movements tbody tr').length");
    assert!(rows.as_u64().unwrap() > 10, "{rows}");
    assert!(b.errors.is_empty(), "{:#?}", b.errors);
}

/// A dense 8-hour two-leg 256 Hz night (about 2,100 LMs): its page stays within 15 MB
/// and loads and pages without an error; prints how long an epoch took to draw.
#[test]
#[ignore = "an 8-hour night: run in release with the accuracy suites"]
fn an_eight_hour_night_page_is_within_15_mb() {
    let Some(mut b) = browser_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("dense.json");
    std::fs::write(
        &config,
        r#"{"series_per_hour": 10, "isolated_per_hour": 60, "long_per_hour": 6}"#,
    )
    .unwrap();
    let prefix = dir.path().join("night");
    let status = Command::new(env!("CARGO_BIN_EXE_plm"))
        .args([
            "simulate",
            "--duration",
            "28800",
            "--fs",
            "256",
            "--seed",
            "5",
            "--config",
        ])
        .arg(&config)
        .arg(&prefix)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let (html, report) = review(dir.path(), &[&dir.path().join("night.csv")]);
    let bytes = std::fs::metadata(&html).unwrap().len();
    let lms = report["leg_movements"].as_array().unwrap().len();
    eprintln!(
        "review page of an 8-hour night with {lms} LMs: {:.1} MB",
        bytes as f64 / 1e6
    );
    assert!(lms > 1500, "{lms}");
    assert!(bytes <= 15_000_000, "{bytes} bytes");
    let t = Instant::now();
    b.open(&format!("file://{}", html.display()));
    eprintln!("loaded in {:.2} s", t.elapsed().as_secs_f64());
    let mut worst = 0.0f64;
    for _ in 0..20 {
        b.key("n", "KeyN", 78);
        let ms = b.eval("Number(document.getElementById('signal').dataset.renderMs)");
        worst = worst.max(ms.as_f64().unwrap());
    }
    eprintln!("an epoch drawn in at most {worst:.1} ms (20 movements)");
    b.screenshot(&shots().join("eight-hours.png"));
    assert!(b.errors.is_empty(), "{:#?}", b.errors);
}
