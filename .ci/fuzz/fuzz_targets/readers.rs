//! Every reader's byte entry point, chosen by the first byte; a night that is read is
//! also detected and scored (an ankle device file, its first hour). Must never panic.
#![no_main]

use std::io::Cursor;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use plm_detect::compare::read_reference_from;
use plm_detect::io::{
    read_arousals_from, read_hypnogram_from, read_leg_movements_from, read_respiratory_from,
};
use plm_detect::{Context, Detector, DetectorConfig, Night, Reader, Rules, Span, score};

fuzz_target!(|data: &[u8]| {
    let Some((&which, input)) = data.split_first() else {
        return;
    };
    let name = Some(Path::new("fuzzed"));
    let owned = || Cursor::new(input.to_vec());
    match which % 7 {
        0 => {
            let detector = Detector::new(Rules::wasm2016(), DetectorConfig::default()).unwrap();
            let _ = match Reader::new().read_from(owned(), name) {
                Ok(Night::Emg(r)) => detector.run(&r, &Context::default()).map(|_| ()),
                Ok(Night::Accel(r)) => detector.run_accel(&r, &Context::default()).map(|_| ()),
                Err(_) => Ok(()),
            };
        }
        1 => {
            let _ = read_hypnogram_from(owned(), name, 30.0);
        }
        2 => {
            let _ = read_respiratory_from(owned(), name);
            let _ = read_arousals_from(owned(), name);
        }
        3 => {
            if let Ok(lms) = read_leg_movements_from(owned(), name) {
                let span = Span {
                    duration_s: None,
                    excluded: &[],
                };
                let _ = score(&lms, &Context::default(), &Rules::wasm2016(), span);
            }
            let _ = read_reference_from(owned(), name);
        }
        4 => {
            let text = String::from_utf8_lossy(input);
            if let Ok(c) = DetectorConfig::from_json(&text) {
                let _ = Detector::new(Rules::wasm2016(), c);
            }
            let _ = Rules::from_json_over(&Rules::wasm2016(), &text);
        }
        6 => {
            // An ankle device file, and its first hour as a night.
            if let Ok(d) = plm_detect::DeviceFile::read_from(owned(), name) {
                let (a, b) = (d.first_s(), d.end_s().min(d.first_s() + 3600.0));
                let fs = plm_detect::io::grid_rate_hz([d.nominal_rate_hz()]);
                let ankles = [(plm_detect::Side::Left, &d, &[][..])];
                if let Ok(r) = plm_detect::io::ankle_night(&ankles, a, b, fs) {
                    let detector =
                        Detector::new(Rules::wasm2016(), DetectorConfig::default()).unwrap();
                    let _ = detector.run_accel(&r, &Context::default());
                }
            }
        }
        _ => {
            let _ = Reader::new().sample_rate_hz(256.0).read_from(owned(), name);
        }
    }
});
