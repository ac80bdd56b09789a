//! Every reader's byte entry point, chosen by the first byte; a night that is read is
//! also detected and scored. Must never panic.
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
    match which % 6 {
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
        _ => {
            let _ = Reader::new().sample_rate_hz(256.0).read_from(owned(), name);
        }
    }
});
