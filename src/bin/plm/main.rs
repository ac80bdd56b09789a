//! `plm`: detect and score periodic limb movements from the command line.
//!
//! Exit codes: 0 success, 2 bad input (file content, arguments, configuration), 1 other
//! failures (I/O). Errors are one line on stderr naming file, line and column.

#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod ankles;
mod batch;
mod compare;
mod context;
mod png;
use context::{ContextArgs, ContextFiles, Found, NightClock};
use plm_detect::detect::LegTrace;
use plm_detect::sim::{AccelSimConfig, SimConfig};
use plm_detect::{
    Context, Detector, DetectorConfig, Error, Night, NotchMode, Reader, Report, Rules, SignalKind,
    Span, Unit,
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

// Built once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Detect leg movements in a night of leg EMG or ankle accelerometry (CSV, EDF/EDF+, BDF/BDF+) and score them.
    Detect(DetectArgs),
    /// Score a list of monolateral leg movements (`onset_s,offset_s,side`), as PLMScoRe does.
    Score(ScoreArgs),
    /// Compare a detection (a `plm detect` JSON report, or an LM list) with reference leg
    /// movements (an expert's scoring or a simulated night's truth): LM and PLM
    /// sensitivity, PPV and F1, edge errors, PLMS indices.
    Compare(CompareArgs),
    /// Write a simulated night with known truth: PREFIX.csv, .truth.csv, .hyp.csv, .resp.csv.
    Simulate(SimulateArgs),
    /// Decode an accelerometer device file (Axivity .cwa, ActiGraph .gt3x, GENEActiv .bin,
    /// ActiLife CSV) to CSV: time and x, y, z in g at the device's own rate and times.
    Convert(ConvertArgs),
}

#[derive(Args)]
struct ConvertArgs {
    /// The device file.
    device: PathBuf,
    /// Write the samples here (`-` for stdout): `time_s,x_g,y_g,z_g`, time from the first
    /// sample (or `time` in local ISO 8601 with --iso).
    #[arg(long, value_name = "FILE")]
    csv: PathBuf,
    /// Write local ISO 8601 date-times instead of seconds from the first sample.
    #[arg(long)]
    iso: bool,
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
struct OutputArgs {
    /// Write the full JSON report here (`-` for stdout; the summary then goes to stderr).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write one CSV row per candidate movement here (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    /// Write the night's figure here (SVG: hypnogram, leg movements, PLM series, IMI
    /// histogram; `-` for stdout).
    #[arg(long, value_name = "FILE")]
    figure: Option<PathBuf>,
    /// Write the leg movements as an EDF+ annotations-only file here (`Limb movement@@CHANNEL`
    /// with `PLM`/`CLM`/`nonCLM`, the night's start; opens in EDFbrowser and Polyman).
    #[arg(long, value_name = "FILE")]
    edf_annotations: Option<PathBuf>,
    /// Write the leg movements as an NSRR XML annotation file here (`Limb Movement (Left)`,
    /// `PLM (Left)` …).
    #[arg(long, value_name = "FILE")]
    nsrr_xml: Option<PathBuf>,
    /// Write the review page here: one self-contained HTML file (overview of the night,
    /// the signal under each detection with its envelope and thresholds, movement table;
    /// opens from disk in a browser). In batch mode give it without a file: NAME.html per
    /// night in --out-dir.
    #[arg(long, value_name = "FILE", num_args = 0..=1)]
    #[allow(clippy::option_option)] // clap's form of a flag with an optional value
    review: Option<Option<PathBuf>>,
    /// Do not print the human summary (the report's notes still go to stderr).
    #[arg(long, short)]
    quiet: bool,
    /// The notes are said elsewhere (a recording of several nights: in each report, and
    /// once on stderr), not per night.
    #[arg(skip)]
    notes_elsewhere: bool,
}

impl OutputArgs {
    /// The file outputs besides the review page: JSON, events, figure, EDF+ and NSRR XML.
    fn files(&self) -> [&Option<PathBuf>; 5] {
        [
            &self.json,
            &self.events,
            &self.figure,
            &self.edf_annotations,
            &self.nsrr_xml,
        ]
    }
}

#[derive(Args)]
struct DetectArgs {
    /// The night(s): CSV files with a time column and leg EMG or accelerometer columns, or
    /// EDF/EDF+ or BDF/BDF+ files with leg signals (any of them gzipped), or directories of them.
    /// Several nights (or a directory) need `--out-dir`. Not given with
    /// `--left-ankle`/`--right-ankle`.
    #[arg(required_unless_present_any = ["left_ankle", "right_ankle"], num_args = 0..)]
    night: Vec<PathBuf>,
    /// The left ankle's accelerometer device file: Axivity .cwa, ActiGraph .gt3x,
    /// GENEActiv .bin or an ActiLife raw CSV export. A recording of several days is split
    /// into nights (noon to noon): NAME.night1.json … for each output.
    #[arg(long, value_name = "FILE", conflicts_with = "night")]
    left_ankle: Option<PathBuf>,
    /// The right ankle's accelerometer device file (as --left-ankle).
    #[arg(long, value_name = "FILE", conflicts_with = "night")]
    right_ankle: Option<PathBuf>,
    /// With ankle device files: the sleep window's start each night, local clock time
    /// (`22:30`), or one window's start date-time (`2024-03-05T22:30`). Without --from/--to
    /// or a hypnogram, each night's window is estimated from the sensors (HDCZA).
    #[arg(long, value_name = "HH:MM|DATE-TIME", requires = "to")]
    from: Option<String>,
    /// With ankle device files: the sleep window's end (`07:00`, or a date-time).
    #[arg(long, value_name = "HH:MM|DATE-TIME", requires = "from")]
    to: Option<String>,
    /// Batch mode: write NAME.json, NAME.events.csv and NAME.svg per night and summary.csv here; each
    /// night's context is read from NAME.hyp.csv, NAME.resp.csv and NAME.arousals.csv beside it.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// Do not read NAME.hyp.csv, NAME.resp.csv and NAME.arousals.csv beside the night (read
    /// when no context file is given, in single-night and batch mode alike).
    #[arg(long)]
    no_beside: bool,
    /// Signal kind; detected from the columns when not given.
    #[arg(long, value_name = "emg|accel")]
    signal: Option<String>,
    /// Left-leg accelerometer axis columns.
    #[arg(long, value_name = "X,Y,Z")]
    left_axes: Option<String>,
    /// Right-leg accelerometer axis columns.
    #[arg(long, value_name = "X,Y,Z")]
    right_axes: Option<String>,
    /// Sample rate in Hz (required when a CSV file has no time column; EDF states it).
    #[arg(long, value_name = "HZ", allow_negative_numbers = true)]
    fs: Option<f64>,
    /// Name of the left-leg column (CSV) or signal label (EDF).
    #[arg(long, value_name = "NAME")]
    left: Option<String>,
    /// Name of the right-leg column (CSV) or signal label (EDF).
    #[arg(long, value_name = "NAME")]
    right: Option<String>,
    /// Unit of the signal columns (default: uV for EMG, g for accelerometers; EDF: each
    /// signal's physical dimension).
    #[arg(long, value_name = "uV|mV|V|g|mg|m/s2")]
    unit: Option<String>,
    /// Mains hum removal: `auto` (detect 50/60 Hz hum and its harmonics), `off`, or a
    /// frequency in Hz. Lines are subtracted as tracked sinusoids (an IIR notch instead with
    /// `{"mains_removal": "notch"}` in `--detector-config`).
    #[arg(long, default_value = "auto", value_name = "auto|off|HZ")]
    notch: String,
    /// JSON file overriding fields of the detector's signal-processing settings.
    #[arg(long, value_name = "JSON")]
    detector_config: Option<PathBuf>,
    #[command(flatten)]
    context: ContextArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Args)]
struct ScoreArgs {
    /// Leg movements: CSV `onset_s,offset_s,side` (side left/right), or the scored limb
    /// movements of any annotation export (RemLogic, EDF+ `Limb movement@@LAT`, NSRR or
    /// Profusion XML, Embla, DOMINO, a `Start Type Duration` list).
    movements: PathBuf,
    /// Recording length in seconds (default: the hypnogram's end, else the last offset).
    #[arg(long, value_name = "S")]
    duration: Option<f64>,
    #[command(flatten)]
    context: ContextArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Args)]
struct CompareArgs {
    /// The detection: a JSON report written by `plm detect --json`, or a leg-movement list
    /// (CSV or any annotation export) scored here with the same context.
    detection: PathBuf,
    /// The reference leg movements: `onset_s,offset_s,side[,certain]` CSV (`certain` 0
    /// marks a barely visible movement that counts neither way), or any annotation export.
    /// Scored with the context given here and the detection's rules; clock times are
    /// placed from the detection's start.
    reference: PathBuf,
    /// Intervals match when they overlap or lie at most this far apart, s.
    #[arg(long, default_value_t = 0.5, value_name = "S")]
    tolerance: f64,
    /// Recording length in seconds when the detection is an LM list (default: the
    /// hypnogram's end, else the last offset).
    #[arg(long, value_name = "S")]
    duration: Option<f64>,
    #[command(flatten)]
    context: ContextArgs,
    /// Write the comparison as JSON here (`-` for stdout; the summary then goes to stderr).
    /// In batch mode: the pooled figures.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Batch mode (DETECTION and REFERENCE directories): write the per-night table (CSV)
    /// here, with a last row pooling the nights.
    #[arg(long, value_name = "TABLE.csv")]
    out: Option<PathBuf>,
    /// Do not print the human summary.
    #[arg(long, short)]
    quiet: bool,
}

/// Runs one command; exit status 0, 2 for bad input (a file, a cell, an option), 1 for
/// anything else (I/O).
fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            // A usage mistake is bad input too: one line, exit code 2.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            let what = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("plm: error: {what} (plm help for usage)");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Detect(a) => detect(&a),
        Command::Score(a) => score(&a),
        Command::Compare(a) => compare::compare(&a),
        Command::Simulate(a) => simulate(&a),
        Command::Convert(a) => ankles::convert(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("plm: error: {e}");
            ExitCode::from(if e.is_input_error() { 2 } else { 1 })
        }
    }
}

/// The whole of a small text file (a config).
fn read_text(path: &Path) -> Result<String, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io {
        path: Some(path.to_path_buf()),
        source: e,
    })?;
    String::from_utf8(bytes).map_err(|e| Error::Parse {
        location: plm_detect::Location::file(Some(path))
            .at_byte(e.utf8_error().valid_up_to() as u64, "JSON text"),
        message: "not UTF-8 text".into(),
    })
}

/// The rules: the preset named (WASM 2016 by default), with the `--config` file's fields
/// over it.
fn rules(a: &ContextArgs) -> Result<Rules, Error> {
    let base = Rules::preset(a.rules.as_deref().unwrap_or("wasm2016"))?;
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

/// Everything `detect` needs besides the night and its context.
struct Setup {
    rules: Rules,
    detector: Detector,
    /// How each night is read: the reader options of the command line.
    reader: Reader,
    /// Whether a night's context is read from the files beside it (`--no-beside` not
    /// given).
    beside: bool,
}

/// The rules, detector and reader options of `plm detect`, checked once for all nights.
fn setup(a: &DetectArgs) -> Result<Setup, Error> {
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
    let mut reader = Reader::new();
    if let Some(u) = &a.unit {
        reader = reader.unit(Unit::parse(u).ok_or_else(|| Error::Config {
            field: "unit",
            message: format!("`{u}` is not uV, mV, V, g, mg or m/s2"),
        })?);
    }
    if let Some(fs) = a.fs {
        reader = reader.sample_rate_hz(fs);
    }
    if let Some(name) = &a.left {
        reader = reader.left(name.clone());
    }
    if let Some(name) = &a.right {
        reader = reader.right(name.clone());
    }
    if let Some(s) = &a.left_axes {
        reader = reader.left_axes(axes("left-axes", s)?);
    }
    if let Some(s) = &a.right_axes {
        reader = reader.right_axes(axes("right-axes", s)?);
    }
    if let Some(s) = &a.signal {
        reader = reader.signal(SignalKind::parse(s).ok_or_else(|| Error::Config {
            field: "signal",
            message: format!("`{s}` is not emg or accel"),
        })?);
    }
    Ok(Setup {
        rules,
        detector,
        reader,
        beside: !a.no_beside,
    })
}

/// One night analysed: its report, the context used (for the figure) and, when asked
/// for, what each leg's detection saw (for the review page).
struct Analysed {
    report: Report,
    found: Found,
    traces: Vec<LegTrace>,
}

/// Reads and analyses one night, its context taken from `files` once the night's clock
/// and length are known; with `trace`, keeps the legs' traces.
fn analyse(s: &Setup, night: &Path, files: &ContextFiles, trace: bool) -> Result<Analysed, Error> {
    let recording = s.reader.read_path(night)?;
    let found = files.take(&s.rules, NightClock::of(&recording))?;
    let ctx = &found.context;
    let (mut report, traces) = if trace {
        s.detector.run_traced(recording, ctx)
    } else {
        match recording {
            Night::Emg(recording) => s.detector.run_owned(recording, ctx),
            Night::Accel(recording) => s.detector.run_accel(&recording, ctx),
        }
        .map(|r| (r, Vec::new()))
    }
    .map_err(|e| e.in_file(night))?;
    found.apply(&mut report);
    Ok(Analysed {
        report,
        found,
        traces,
    })
}

/// `plm detect`: one night, or several ([`batch::batch`]).
fn detect(a: &DetectArgs) -> Result<(), Error> {
    if a.left_ankle.is_some() || a.right_ankle.is_some() {
        return ankles::detect(a);
    }
    if a.from.is_some() {
        return Err(Error::Config {
            field: "from",
            message: "--from/--to set the sleep window of ankle device files (--left-ankle, --right-ankle)".into(),
        });
    }
    let single = a.night.len() == 1 && !a.night[0].is_dir() && a.out_dir.is_none();
    if !single {
        return batch::batch(a);
    }
    let s = setup(a)?;
    let files = night_context(&s, Some(&a.context), &a.night[0])?;
    let n = analyse(&s, &a.night[0], &files, a.output.review.is_some())?;
    emit(
        &n.report,
        &a.output,
        Some(&a.night[0]),
        &n.found.context,
        &n.traces,
    )
}

/// The night's name: the file name without `.csv`/`.edf`/`.bdf` (and `.gz`), any case.
fn night_name(p: &Path) -> String {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let strip = |n: &str, ext: &str| -> Option<usize> {
        let cut = n.len().checked_sub(ext.len())?;
        (n.is_char_boundary(cut) && n[cut..].eq_ignore_ascii_case(ext)).then_some(cut)
    };
    let base = strip(&name, ".gz").map_or(name.as_str(), |c| &name[..c]);
    let base = strip(base, ".csv")
        .or_else(|| strip(base, ".edf"))
        .or_else(|| strip(base, ".bdf"))
        .map_or(base, |c| &base[..c]);
    base.to_owned()
}

/// The context files of a night in `plm detect`: those given in `a`, or else (unless
/// `--no-beside`) those beside the night, as in batch mode.
fn night_context(s: &Setup, a: Option<&ContextArgs>, night: &Path) -> Result<ContextFiles, Error> {
    match a {
        Some(a) if a.any_file() => ContextFiles::given(a),
        _ if !s.beside => Ok(ContextFiles::none()),
        _ => {
            let dir = night.parent().unwrap_or(Path::new(""));
            ContextFiles::beside(dir, &night_name(night))
        }
    }
}

/// Whether the figure at `path` is PNG (`.png`) rather than SVG (`.svg`, or stdout);
/// another extension is an error.
fn figure_is_png(path: &Path) -> Result<bool, Error> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match ext.as_deref() {
        _ if path == Path::new("-") => Ok(false),
        Some("svg") => Ok(false),
        Some("png") => Ok(true),
        other => Err(Error::Config {
            field: "figure",
            message: format!(
                "{}: {} (expected .svg or .png)",
                path.display(),
                other.map_or("no extension".to_owned(), |e| format!(
                    "unknown extension .{e}"
                ))
            ),
        }),
    }
}

/// Writes the report's figure to `path` (`-`: stdout): SVG for `.svg` (and stdout), PNG
/// for `.png`.
fn write_figure(path: &Path, report: &Report, context: &Context) -> Result<(), Error> {
    let png = figure_is_png(path)?;
    let svg = report.svg(context);
    let bytes = if png {
        png::render(&svg)?
    } else {
        svg.into_bytes()
    };
    write_output(path, |w| {
        w.write_all(&bytes).map_err(|e| Error::Io {
            path: Some(path.to_path_buf()),
            source: e,
        })
    })
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

/// `plm score`: a list of scored leg movements through the same scoring.
fn score(a: &ScoreArgs) -> Result<(), Error> {
    let rules = rules(&a.context)?;
    let files = ContextFiles::given(&a.context)?;
    let night = NightClock {
        start: None,
        end_s: a.duration,
    };
    let (found, lists) = files.take_with(&rules, night, &[("leg_movements", &a.movements)])?;
    let lms: Vec<_> = lists.into_iter().flatten().map(|m| m.lm).collect();
    let span = Span {
        duration_s: a.duration,
        ..Span::default()
    };
    let mut report = plm_detect::score(&lms, &found.context, &rules, span)
        .map_err(|e| e.in_file(&a.movements))?;
    found.apply(&mut report);
    emit(&report, &a.output, Some(&a.movements), &found.context, &[])
}

/// `plm simulate`: a night with its truth, hypnogram and respiratory events.
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
    // The command line's seed, length and rate over the file's (or default) settings.
    let set = |seed: &mut u64, duration_s: &mut f64, rate_hz: &mut f64| {
        *seed = a.seed.unwrap_or(*seed);
        *duration_s = a.duration.unwrap_or(*duration_s);
        *rate_hz = a.fs.unwrap_or(*rate_hz);
        (*duration_s, *rate_hz)
    };
    let (truth, respiratory, (duration, fs)) = if a.accel {
        let mut cfg: AccelSimConfig = load(a.config.as_deref())?;
        let length_rate = set(&mut cfg.seed, &mut cfg.duration_s, &mut cfg.sample_rate_hz);
        let night = plm_detect::sim::simulate_accel(&cfg)?;
        night.write(&a.prefix)?;
        (night.truth, night.respiratory.len(), length_rate)
    } else {
        let mut cfg: SimConfig = load(a.config.as_deref())?;
        let length_rate = set(&mut cfg.seed, &mut cfg.duration_s, &mut cfg.sample_rate_hz);
        let night = plm_detect::sim::simulate(&cfg)?;
        night.write(&a.prefix)?;
        (night.truth, night.respiratory.len(), length_rate)
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

/// Writes the outputs asked for (JSON, event table, figure, exports, review page with
/// the legs' `traces`) and the human summary.
fn emit(
    report: &Report,
    a: &OutputArgs,
    input: Option<&Path>,
    context: &Context,
    traces: &[LegTrace],
) -> Result<(), Error> {
    let dash = |p: &Option<PathBuf>| p.as_deref() == Some(Path::new("-"));
    let review = match &a.review {
        Some(None) => {
            return Err(Error::Config {
                field: "review",
                message: "--review needs the page's file (review.html); only batch mode (--out-dir) takes it alone".into(),
            });
        }
        Some(Some(p)) => Some(p.clone()),
        None => None,
    };
    let outputs = [
        &a.json,
        &a.events,
        &a.figure,
        &a.edf_annotations,
        &a.nsrr_xml,
        &review,
    ];
    if outputs.iter().filter(|p| dash(p)).count() > 1 {
        return Err(Error::Config {
            field: "json",
            message: "only one of --json, --events, --figure, --edf-annotations, --nsrr-xml and --review can go to stdout (-)".into(),
        });
    }
    let stdout_taken = outputs.iter().any(|p| dash(p));
    // A figure that cannot be written is refused before anything is.
    if let Some(p) = &a.figure {
        figure_is_png(p)?;
    }
    if let Some(p) = &a.json {
        write_output(p, |w| report.write_json(w))?;
    }
    if let Some(p) = &a.events {
        write_output(p, |w| report.write_events_csv(w))?;
    }
    if let Some(p) = &a.figure {
        write_figure(p, report, context)?;
    }
    if let Some(p) = &a.edf_annotations {
        write_output(p, |w| report.write_edf_annotations(w))?;
    }
    if let Some(p) = &a.nsrr_xml {
        write_output(p, |w| report.write_nsrr_xml(w))?;
    }
    if let Some(p) = &review {
        let title = input.map_or_else(|| "night".to_owned(), night_name);
        write_output(p, |w| report.review_html(&title, context, traces, w))?;
    }
    if a.quiet {
        // Quiet: no summary, but what the report notes (a likely unit mistake, a leg not
        // found, a hypnogram that does not fit) is never silent.
        if !a.notes_elsewhere {
            for n in &report.notes {
                eprintln!("plm: note: {n}");
            }
        }
    } else {
        let mut text = match input {
            Some(p) => format!("input       {}\n", p.display()),
            None => String::new(),
        };
        let files = &report.context.sources;
        let files = if files.is_empty() {
            "none".to_owned()
        } else {
            files
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(text, "files       {files}");
        if let Some(origin) = &report.context.clock_origin {
            let _ = writeln!(text, "clock       t = 0 is {origin}");
        }
        text.push_str(&report.summary_text());
        say(&text, stdout_taken);
    }
    Ok(())
}

/// The human summary: on stdout, or on stderr when stdout carries a file (`-`).
fn say(text: &str, stdout_taken: bool) {
    if stdout_taken {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
}

/// Writes one output through `write`: to stdout for `-`; to a plain file through
/// `PATH.partial`, synced and renamed to `path`, so a failure (or a crash) never leaves a
/// partial file behind; to anything else (a device such as `/dev/null`, a FIFO, a
/// symbolic link) in place.
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
    // Something that is not a plain file (`/dev/null`, a FIFO, a terminal) or a link is
    // written in place: renaming a finished file over it would replace the device or the
    // link itself with a file (a `--json /dev/null` once turned the machine's /dev/null
    // into a plain file that everything then wrote to and read from).
    if std::fs::symlink_metadata(path).is_ok_and(|m| !m.file_type().is_file()) {
        let mut w = BufWriter::new(
            std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(path)
                .map_err(io)?,
        );
        write(&mut w)?;
        return w.flush().map_err(io);
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
