//! Whether a leg's level is plausible for the unit it was read in, so that a night in the
//! wrong unit gets a note naming the likely unit instead of a confident "0 LMs".
//!
//! * **EMG**: the resting level of tibialis-anterior EMG, band-passed 10–100 Hz, is a few
//!   µV (rules digest §1: the +8 µV rule assumes a resting level under about 10 µV). A
//!   median resting level below [`MIN_REST_UV`] or above [`MAX_REST_UV`] is three orders
//!   of magnitude off: values in mV (or V) read as µV, or raw converter counts.
//! * **Accelerometers**: a sensor at rest measures gravity, 1 g. A median magnitude
//!   outside [[`MIN_GRAVITY_G`], [`MAX_GRAVITY_G`]] is m/s² (9.81) or mg (1000) read as g,
//!   or the reverse.
//!
//! A note, not an error: a level alone cannot tell a file in the wrong unit from a
//! detached electrode or a sensor that was never worn, and an error would refuse a night
//! whose other leg is fine. The note names the factor and the `--unit` that would fix it.

/// Below this median resting level, µV, a leg is probably not in µV.
pub(crate) const MIN_REST_UV: f64 = 0.05;
/// Above this median resting level, µV, a leg is probably not in µV.
pub(crate) const MAX_REST_UV: f64 = 500.0;
/// The plausible median acceleration magnitude of a worn sensor, g.
pub(crate) const MIN_GRAVITY_G: f64 = 0.5;
/// See [`MIN_GRAVITY_G`].
pub(crate) const MAX_GRAVITY_G: f64 = 2.0;

/// The note for an EMG leg `name` whose median resting level is `rest_uv` (µV as read),
/// when it is implausible.
pub(crate) fn emg_note(name: &str, rest_uv: f64) -> Option<String> {
    if !rest_uv.is_finite() || (MIN_REST_UV..=MAX_REST_UV).contains(&rest_uv) {
        return None;
    }
    let fix = if rest_uv < MIN_REST_UV {
        // mV read as µV is 1000× too small; V read as µV, 10⁶×.
        if rest_uv * 1e3 >= MIN_REST_UV {
            "the samples are probably in mV: give --unit mV"
        } else {
            "the samples are probably in V: give --unit V"
        }
    } else if rest_uv * 1e-3 <= MAX_REST_UV && rest_uv < 1e5 {
        "1000 times a leg's level: µV read as mV? (give --unit uV), or raw converter counts"
    } else if rest_uv * 1e-6 <= MAX_REST_UV {
        "10⁶ times a leg's level: µV read as V? (give --unit uV), or raw converter counts"
    } else {
        "the samples are probably not µV (raw counts?): check the file's unit and give --unit"
    };
    Some(format!(
        "channel `{name}`: its resting EMG is {rest_uv:.3} µV, far outside the {MIN_REST_UV}–{MAX_REST_UV} µV of a leg EMG at rest: {fix}; leg movements need +8 µV over rest, so the counts are not trustworthy"
    ))
}

/// The note for an accelerometer leg `name` whose median acceleration magnitude is
/// `magnitude_g` (g as read), when it is implausible.
pub(crate) fn accel_note(name: &str, magnitude_g: f64) -> Option<String> {
    if !magnitude_g.is_finite() || (MIN_GRAVITY_G..=MAX_GRAVITY_G).contains(&magnitude_g) {
        return None;
    }
    let near = |factor: f64| (magnitude_g / factor - 1.0).abs() < 0.5;
    let fix = if near(9.81) {
        "the samples are probably in m/s²: give --unit m/s2"
    } else if near(1000.0) {
        "the samples are probably in mg: give --unit mg"
    } else if near(1e-3) {
        "the samples are probably in g but were read as mg: give --unit g"
    } else {
        "check the file's unit (--unit g, mg or m/s2), or whether the sensor was worn"
    };
    Some(format!(
        "accelerometer `{name}`: its median magnitude is {magnitude_g:.3} g, not the 1 g of gravity a sensor measures at rest: {fix}"
    ))
}

/// The median magnitude, g, of 3-axis samples (`NaN` = gap), from at most about 100 000
/// of them (evenly spread): plenty for a median, and cheap for a week.
pub(crate) fn median_magnitude_g(axes_g: &[Vec<f64>; 3]) -> Option<f64> {
    let n = axes_g[0].len();
    let stride = (n / 100_000).max(1);
    let mut m: Vec<f64> = (0..n)
        .step_by(stride)
        .map(|i| (axes_g[0][i].powi(2) + axes_g[1][i].powi(2) + axes_g[2][i].powi(2)).sqrt())
        .filter(|v| v.is_finite())
        .collect();
    if m.is_empty() {
        return None;
    }
    let mid = m.len() / 2;
    Some(*m.select_nth_unstable_by(mid, f64::total_cmp).1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emg_levels_in_the_wrong_unit_name_the_fix() {
        assert_eq!(emg_note("left", 2.5), None);
        assert_eq!(emg_note("left", f64::NAN), None);
        assert!(emg_note("left", 0.0017).unwrap().contains("--unit mV"));
        assert!(emg_note("left", 1.7e-6).unwrap().contains("--unit V"));
        assert!(emg_note("left", 2500.0).unwrap().contains("µV read as mV"));
        assert!(emg_note("left", 2.5e6).unwrap().contains("µV read as V"));
        assert!(emg_note("left", 1e12).unwrap().contains("not µV"));
    }

    #[test]
    fn accelerometer_magnitudes_in_the_wrong_unit_name_the_fix() {
        assert_eq!(accel_note("l", 1.02), None);
        assert!(accel_note("l", 9.7).unwrap().contains("m/s2"));
        assert!(accel_note("l", 1010.0).unwrap().contains("--unit mg"));
        assert!(accel_note("l", 0.001).unwrap().contains("--unit g"));
        assert!(accel_note("l", 0.0).unwrap().contains("worn"));
        let z = vec![1.0; 500];
        let zero = vec![0.0; 500];
        let g = median_magnitude_g(&[zero.clone(), zero, z]).unwrap();
        assert_eq!(g, 1.0);
        assert_eq!(
            median_magnitude_g(&[vec![f64::NAN], vec![0.0], vec![0.0]]),
            None
        );
    }
}
