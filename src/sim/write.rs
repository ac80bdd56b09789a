//! The files of a simulated night: the signals as `plm detect` reads them
//! (`PREFIX.csv`), the truth (`PREFIX.truth.csv`), the hypnogram (`PREFIX.hyp.csv`) and the
//! respiratory events (`PREFIX.resp.csv`).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::{AccelSimNight, SimNight, TrueMovement};
use crate::error::{Error, Result};
use crate::io::{Hypnogram, RespiratoryEvent};

/// Writes the file `PREFIX` + `ext` with `body`; an error names the file.
fn write_file(
    prefix: &Path,
    ext: &str,
    body: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    let mut path = prefix.as_os_str().to_owned();
    path.push(ext);
    let path = PathBuf::from(path);
    let written = File::create(&path).and_then(|f| {
        let mut w = BufWriter::new(f);
        body(&mut w)?;
        w.flush()
    });
    written.map_err(|e| Error::io(Some(&path), e))
}

impl SimNight {
    /// Writes `PREFIX.csv` (`time_s,left_uv,right_uv`), `PREFIX.truth.csv`
    /// (`onset_s,offset_s,side,certain`), `PREFIX.hyp.csv` and `PREFIX.resp.csv`.
    ///
    /// # Errors
    /// [`Error::Io`] when a file cannot be written.
    pub fn write(&self, prefix: &Path) -> Result<()> {
        write_file(prefix, ".csv", |w| self.write_signals(w))?;
        write_context(prefix, &self.truth, &self.hypnogram, &self.respiratory)
    }

    /// Writes the signal CSV (`time_s,left_uv,right_uv`) to `w`, times rounded to
    /// `time_decimals`, values to 0.001 µV.
    ///
    /// # Errors
    /// I/O errors from `w`.
    pub fn write_signals<W: Write>(&self, w: &mut W) -> std::io::Result<()> {
        let r = &self.recording;
        let names: Vec<&str> = r.channels().iter().map(crate::io::Channel::name).collect();
        writeln!(w, "time_s,{}", names.join(","))?;
        let dec = self.config.time_decimals.unwrap_or(9);
        for i in 0..r.len() {
            write!(w, "{:.*}", dec, r.time_s(i))?;
            for c in r.channels() {
                write!(w, ",{:.3}", c.samples_uv()[i])?;
            }
            w.write_all(b"\n")?;
        }
        Ok(())
    }
}

impl AccelSimNight {
    /// Writes `PREFIX.csv` (`time_s,left_x,left_y,left_z,right_x,right_y,right_z`, g; the
    /// time column with the configured drift, jitter and rounding), `PREFIX.truth.csv`,
    /// `PREFIX.hyp.csv` and `PREFIX.resp.csv`.
    ///
    /// # Errors
    /// [`Error::Io`] when a file cannot be written.
    pub fn write(&self, prefix: &Path) -> Result<()> {
        write_file(prefix, ".csv", |w| self.write_signals(w))?;
        write_context(prefix, &self.truth, &self.hypnogram, &self.respiratory)
    }

    /// Writes the signal CSV to `w` (see [`AccelSimNight::write`]).
    ///
    /// # Errors
    /// I/O errors from `w`.
    pub fn write_signals<W: Write>(&self, w: &mut W) -> std::io::Result<()> {
        let r = &self.recording;
        let names: Vec<String> = r
            .legs()
            .iter()
            .flat_map(|l| l.names().iter().cloned())
            .collect();
        writeln!(w, "time_s,{}", names.join(","))?;
        let dec = self.config.time_decimals.unwrap_or(9);
        let scale = 1.0 + self.config.clock_drift_ppm * 1e-6;
        let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed ^ 0x5eed);
        let mut prev = f64::NEG_INFINITY;
        for i in 0..r.len() {
            let jitter: f64 = if self.config.time_jitter_s > 0.0 {
                let z: f64 = StandardNormal.sample(&mut rng);
                self.config.time_jitter_s * z
            } else {
                0.0
            };
            // Stamps stay increasing however large the jitter.
            let step = 10f64.powi(-(dec as i32));
            let t = (i as f64 / r.sample_rate_hz() * scale + jitter)
                .max(prev + step)
                .max(0.0);
            prev = t;
            write!(w, "{t:.dec$}")?;
            for leg in r.legs() {
                for axis in leg.axes_g() {
                    write!(w, ",{:.5}", axis[i])?;
                }
            }
            w.write_all(b"\n")?;
        }
        Ok(())
    }
}

/// Writes `PREFIX.truth.csv`, `PREFIX.hyp.csv` and `PREFIX.resp.csv`.
fn write_context(
    prefix: &Path,
    truth: &[TrueMovement],
    hyp: &Hypnogram,
    resp: &[RespiratoryEvent],
) -> Result<()> {
    write_file(prefix, ".truth.csv", |w| {
        writeln!(w, "onset_s,offset_s,side,certain")?;
        for t in truth {
            let side = t.lm.side.as_str();
            let certain = u8::from(t.certain);
            writeln!(
                w,
                "{:.3},{:.3},{side},{certain}",
                t.lm.onset_s, t.lm.offset_s
            )?;
        }
        Ok(())
    })?;
    write_file(prefix, ".hyp.csv", |w| {
        writeln!(w, "epoch_start_s,stage")?;
        for (start, s) in hyp.epochs() {
            writeln!(w, "{start},{s:?}")?;
        }
        Ok(())
    })?;
    write_file(prefix, ".resp.csv", |w| {
        writeln!(w, "onset_s,offset_s,kind")?;
        for e in resp {
            let kind = e.kind.as_deref().unwrap_or("");
            writeln!(w, "{:.3},{:.3},{kind}", e.onset_s, e.offset_s)?;
        }
        Ok(())
    })
}
