//! `plm`: detect and score periodic limb movements from the command line.
//!
//! Exit codes: 0 success, 2 bad input (file content, arguments, configuration), 1 other
//! failures (I/O). Errors are one line on stderr naming file, line and column.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use plm_detect::context::{read_arousals, read_hypnogram, read_leg_movements, read_respiratory};
use plm_detect::simulate::{AccelSimConfig, SimConfig};
use plm_detect::{
    Context, Detector, DetectorConfig, Error, Night, NotchMode, ReadOptions, Report, Rules,
    SignalKind, Unit,
};

#[derive(Parser)]
#[command(
    name = "plm",
    version,
    about = "Detect and score periodic limb movements during sleep (WASM 2016 / AASM)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Detect leg movements in a night of leg EMG (CSV) and score them.
    Detect(DetectArgs),
    /// Score a list of monolateral leg movements (`onset_s,offset_s,side`), as PLMScoRe does.
    Score(ScoreArgs),
    /// Write a simulated night with known truth: PREFIX.csv, .truth.csv, .hyp.csv, .resp.csv.
    Simulate(SimulateArgs),
}

#[derive(Args)]
struct SimulateArgs {
    /// Output prefix (e.g. `data/night1` writes `data/night1.csv`, `data/night1.truth.csv`, ...).
    prefix: PathBuf,
    /// JSON file with simulator settings (any subset of the fields of `SimConfig`).
    #[arg(long, value_name = "JSON")]
    config: Option<PathBuf>,
    /// Random seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Length in seconds.
    #[arg(long, value_name = "S")]
    duration: Option<f64>,
    /// Sample rate in Hz.
    #[arg(long, value_name = "HZ")]
    fs: Option<f64>,
    /// Simulate ankle accelerometers instead of EMG (`--config` then holds `AccelSimConfig`).
    #[arg(long)]
    accel: bool,
}

#[derive(Args)]
struct ContextArgs {
    /// Hypnogram CSV: `epoch_start_s,stage` (30-s epochs; W/N1/N2/N3/R, S1–S4, 0–5).
    #[arg(long, value_name = "CSV")]
    hypnogram: Option<PathBuf>,
    /// Respiratory events CSV: `onset_s,offset_s[,kind]`.
    #[arg(long, value_name = "CSV")]
    respiratory: Option<PathBuf>,
    /// Arousals CSV: `onset_s,offset_s`.
    #[arg(long, value_name = "CSV")]
    arousals: Option<PathBuf>,
    /// Scoring rules preset.
    #[arg(long, default_value = "wasm2016", value_name = "wasm2016|aasm")]
    rules: String,
    /// JSON file overriding fields of the rules preset (see the README's rules table).
    #[arg(long, value_name = "JSON")]
    config: Option<PathBuf>,
    /// Write the full JSON report here (`-` for stdout; the summary then goes to stderr).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write one CSV row per candidate movement here (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    /// Do not print the human summary.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args)]
struct DetectArgs {
    /// The night: CSV (or .csv.gz) with a time column and leg EMG or accelerometer columns.
    night: PathBuf,
    /// Signal kind; detected from the columns when not given.
    #[arg(long, value_name = "emg|accel")]
    signal: Option<String>,
    /// Left-leg accelerometer axis columns.
    #[arg(long, value_name = "X,Y,Z")]
    left_axes: Option<String>,
    /// Right-leg accelerometer axis columns.
    #[arg(long, value_name = "X,Y,Z")]
    right_axes: Option<String>,
    /// Sample rate in Hz (required when the file has no time column).
    #[arg(long, value_name = "HZ")]
    fs: Option<f64>,
    /// Name of the left-leg column.
    #[arg(long, value_name = "NAME")]
    left: Option<String>,
    /// Name of the right-leg column.
    #[arg(long, value_name = "NAME")]
    right: Option<String>,
    /// Unit of the signal columns (default: uV for EMG, g for accelerometers).
    #[arg(long, value_name = "uV|mV|V|g|mg|m/s2")]
    unit: Option<String>,
    /// Mains notch: `auto` (detect 50/60 Hz hum), `off`, or a frequency in Hz.
    #[arg(long, default_value = "auto", value_name = "auto|off|HZ")]
    notch: String,
    /// JSON file overriding fields of the detector's signal-processing settings.
    #[arg(long, value_name = "JSON")]
    detector_config: Option<PathBuf>,
    #[command(flatten)]
    context: ContextArgs,
}

#[derive(Args)]
struct ScoreArgs {
    /// Leg movements CSV: `onset_s,offset_s,side` (side left/right).
    movements: PathBuf,
    /// Recording length in seconds (default: the hypnogram's end, else the last offset).
    #[arg(long, value_name = "S")]
    duration: Option<f64>,
    #[command(flatten)]
    context: ContextArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Detect(a) => detect(&a),
        Command::Score(a) => score(&a),
        Command::Simulate(a) => simulate(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("plm: error: {e}");
            ExitCode::from(if e.is_input_error() { 2 } else { 1 })
        }
    }
}

fn read_text(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: Some(path.to_path_buf()),
        source: e,
    })
}

fn rules(a: &ContextArgs) -> Result<Rules, Error> {
    let base = Rules::preset(&a.rules)?;
    match &a.config {
        Some(p) => Rules::from_json_over(&base, &read_text(p)?).map_err(|e| with_file(e, p)),
        None => Ok(base),
    }
}

/// Prefixes a config error with the file it came from.
fn with_file(e: Error, path: &Path) -> Error {
    match e {
        Error::Config { field, message } => Error::Config {
            field,
            message: format!("{} ({})", message, path.display()),
        },
        other => other,
    }
}

fn context(a: &ContextArgs, rules: &Rules) -> Result<Context, Error> {
    Ok(Context {
        hypnogram: a
            .hypnogram
            .as_deref()
            .map(|p| read_hypnogram(p, rules.epoch_s))
            .transpose()?,
        respiratory: a
            .respiratory
            .as_deref()
            .map(read_respiratory)
            .transpose()?
            .unwrap_or_default(),
        arousals: a
            .arousals
            .as_deref()
            .map(read_arousals)
            .transpose()?
            .unwrap_or_default(),
    })
}

fn detect(a: &DetectArgs) -> Result<(), Error> {
    let rules = rules(&a.context)?;
    let mut config = match &a.detector_config {
        Some(p) => DetectorConfig::from_json(&read_text(p)?).map_err(|e| with_file(e, p))?,
        None => DetectorConfig::default(),
    };
    config.notch = match a.notch.to_ascii_lowercase().as_str() {
        "auto" => NotchMode::Auto,
        "off" | "none" => NotchMode::Off,
        f => NotchMode::Fixed(f.trim_end_matches("hz").parse::<f64>().map_err(|_| {
            Error::Config {
                field: "notch",
                message: format!("`{}` is not auto, off or a frequency in Hz", a.notch),
            }
        })?),
    };
    let detector = Detector::new(rules.clone(), config)?;
    let mut opts = ReadOptions::new();
    if let Some(u) = &a.unit {
        opts.unit = Some(Unit::parse(u).ok_or_else(|| Error::Config {
            field: "unit",
            message: format!("`{u}` is not uV, mV, V, g, mg or m/s2"),
        })?);
    }
    opts.sample_rate_hz = a.fs;
    opts.left.clone_from(&a.left);
    opts.right.clone_from(&a.right);
    opts.left_axes = a
        .left_axes
        .as_deref()
        .map(|s| axes("left-axes", s))
        .transpose()?;
    opts.right_axes = a
        .right_axes
        .as_deref()
        .map(|s| axes("right-axes", s))
        .transpose()?;
    opts.signal = a
        .signal
        .as_deref()
        .map(|s| {
            SignalKind::parse(s).ok_or_else(|| Error::Config {
                field: "signal",
                message: format!("`{s}` is not emg or accel"),
            })
        })
        .transpose()?;
    let ctx = context(&a.context, &rules)?;
    let report = match plm_detect::read_any(&a.night, &opts)? {
        Night::Emg(recording) => detector.run(&recording, &ctx),
        Night::Accel(recording) => detector.run_accel(&recording, &ctx),
    }
    .map_err(|e| e.in_file(&a.night))?;
    emit(&report, &a.context, Some(&a.night))
}

/// `X,Y,Z` → three column names.
fn axes(field: &'static str, s: &str) -> Result<[String; 3], Error> {
    let parts: Vec<String> = s.split(',').map(|p| p.trim().to_owned()).collect();
    <[String; 3]>::try_from(parts).map_err(|p| Error::Config {
        field,
        message: format!(
            "expected three comma-separated column names, got {}",
            p.len()
        ),
    })
}

fn score(a: &ScoreArgs) -> Result<(), Error> {
    let rules = rules(&a.context)?;
    let ctx = context(&a.context, &rules)?;
    let lms = read_leg_movements(&a.movements)?;
    let report = plm_detect::score_movements(&lms, &ctx, &rules, a.duration)
        .map_err(|e| e.in_file(&a.movements))?;
    emit(&report, &a.context, Some(&a.movements))
}

fn simulate(a: &SimulateArgs) -> Result<(), Error> {
    fn load<T: serde::de::DeserializeOwned + Default>(path: Option<&Path>) -> Result<T, Error> {
        match path {
            Some(p) => serde_json::from_str(&read_text(p)?).map_err(|e| Error::Config {
                field: "simulator config",
                message: format!("{e} ({})", p.display()),
            }),
            None => Ok(T::default()),
        }
    }
    let (truth, respiratory, duration, fs) = if a.accel {
        let mut cfg: AccelSimConfig = load(a.config.as_deref())?;
        cfg.seed = a.seed.unwrap_or(cfg.seed);
        cfg.duration_s = a.duration.unwrap_or(cfg.duration_s);
        cfg.sample_rate_hz = a.fs.unwrap_or(cfg.sample_rate_hz);
        let night = plm_detect::simulate::simulate_accel(&cfg)?;
        night.write(&a.prefix)?;
        (
            night.truth,
            night.respiratory.len(),
            cfg.duration_s,
            cfg.sample_rate_hz,
        )
    } else {
        let mut cfg: SimConfig = load(a.config.as_deref())?;
        cfg.seed = a.seed.unwrap_or(cfg.seed);
        cfg.duration_s = a.duration.unwrap_or(cfg.duration_s);
        cfg.sample_rate_hz = a.fs.unwrap_or(cfg.sample_rate_hz);
        let night = plm_detect::simulate::simulate(&cfg)?;
        night.write(&a.prefix)?;
        (
            night.truth,
            night.respiratory.len(),
            cfg.duration_s,
            cfg.sample_rate_hz,
        )
    };
    let certain = truth.iter().filter(|t| t.certain).count();
    println!(
        "wrote {}.csv ({duration:.0} s at {fs} Hz{}): {} leg movements ({certain} certain), {respiratory} respiratory events",
        a.prefix.display(),
        if a.accel { ", accelerometers" } else { "" },
        truth.len(),
    );
    Ok(())
}

/// Writes the requested outputs; files are written to a temporary name and renamed, so a
/// failure never leaves a partial report behind.
fn emit(report: &Report, a: &ContextArgs, input: Option<&Path>) -> Result<(), Error> {
    let stdout_taken =
        a.json.as_deref() == Some(Path::new("-")) || a.events.as_deref() == Some(Path::new("-"));
    if let Some(p) = &a.json {
        write_output(p, |w| report.write_json(w))?;
    }
    if let Some(p) = &a.events {
        write_output(p, |w| report.write_events_csv(w))?;
    }
    if !a.quiet {
        let mut text = match input {
            Some(p) => format!("input       {}\n", p.display()),
            None => String::new(),
        };
        text.push_str(&report.summary_text());
        if stdout_taken {
            eprint!("{text}");
        } else {
            print!("{text}");
        }
    }
    Ok(())
}

fn write_output(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<(), Error>,
) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::Io {
        path: Some(path.to_path_buf()),
        source: e,
    };
    if path == Path::new("-") {
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        write(&mut lock)?;
        return lock.flush().map_err(io);
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    let result = (|| {
        let mut w = BufWriter::new(File::create(&tmp).map_err(io)?);
        write(&mut w)?;
        w.into_inner()
            .map_err(|e| io(e.into_error()))?
            .sync_all()
            .map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
