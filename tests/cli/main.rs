//! End-to-end tests: the built `plm` binary on the sample nights in `data/` and on bad
//! files, one module per concern.
//!
//! Detection thresholds per night (these are 7–15-minute nights with 15–40 LMs, so one
//! error moves F1 by several percent and one PLM moves the PLMS index by 4–9/h): LM F1 ≥
//! 0.97 and at most one PLM in sleep more or fewer than the truth scored by the same rules
//! (one of these nights has a bilateral pair 0.545 s apart, within detection error of the
//! 0.5 s rule). The night-long accuracy figures are in `sim_accuracy.rs`.

mod batch;
mod compare;
mod detect;
mod devices;
mod errors;
mod exports;
mod formats;
mod hostile;
mod review;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The built `plm` binary.
fn plm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_plm"))
}

/// A file of `data/`.
fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

/// `plm ARGS`, run to its end.
fn run(args: &[&str]) -> Output {
    plm().args(args).output().expect("plm runs")
}

/// The JSON on the standard output of a run that succeeded.
fn stdout_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "plm failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut report: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    // The context files a run read name this machine's paths: compared where they matter.
    if let Some(c) = report.get_mut("context").and_then(Value::as_object_mut) {
        c.remove("sources");
    }
    report
}

/// The JSON report of `plm detect NIGHT` with the context files `context` (option, file).
fn detect_json(night: &Path, context: &[(&str, &Path)]) -> Value {
    let mut args = vec!["detect", night.to_str().unwrap(), "--json", "-", "-q"];
    for (option, file) in context {
        args.extend([*option, file.to_str().unwrap()]);
    }
    stdout_json(&run(&args))
}

/// The sample nights of `data/`.
const NIGHTS: &[&str] = &[
    "emg-256hz-15min",
    "emg-200hz-hum60",
    "emg-512hz-ms-stamps",
    "accel-50hz-15min",
    "accel-25hz-drift",
];

/// Runs `plm` on a file with `content` and returns (exit code, stderr).
fn bad(dir: &Path, file: &str, content: &[u8], args: &[&str]) -> (i32, String) {
    let p = dir.join(file);
    std::fs::write(&p, content).unwrap();
    let mut full: Vec<&str> = args.to_vec();
    let ps = p.to_str().unwrap().to_owned();
    full.push(&ps);
    let out = run(&full);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
