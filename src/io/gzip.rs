//! gzip input, undone as it is read (flate2's decoder, members one after another as
//! `gzip` writes them when files are concatenated).
//!
//! A damaged or truncated gzip stream is bad input, not an I/O failure: the decoder's
//! error becomes a [`BadData`] naming the compressed byte it was found at, which
//! [`crate::Error`] reports as a parse error of the file (exit code 2), while a failure
//! to read the file itself stays an I/O error.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::error::BadData;

/// What the compressed reader has done, shared with the decoder's reader.
#[derive(Debug, Default)]
struct Progress {
    bytes: AtomicU64,
    failed: AtomicBool,
}

/// The compressed input, counting its bytes and noting its own failures.
struct Counted<R> {
    inner: R,
    progress: Arc<Progress>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.progress.bytes.fetch_add(n as u64, Ordering::Relaxed);
                Ok(n)
            }
            Err(e) => {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.progress.failed.store(true, Ordering::Relaxed);
                }
                Err(e)
            }
        }
    }
}

/// A gzip stream, decompressed as it is read (module docs).
pub(crate) struct Gunzip<R: Read> {
    decoder: flate2::read::MultiGzDecoder<Counted<R>>,
    progress: Arc<Progress>,
}

impl<R: Read> Gunzip<R> {
    /// The decompressed content of the gzip stream `inner`.
    pub(crate) fn new(inner: R) -> Self {
        let progress = Arc::new(Progress::default());
        let counted = Counted {
            inner,
            progress: Arc::clone(&progress),
        };
        Self {
            decoder: flate2::read::MultiGzDecoder::new(counted),
            progress,
        }
    }
}

impl<R: Read> Read for Gunzip<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.decoder.read(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::Interrupted
                || self.progress.failed.load(Ordering::Relaxed)
            {
                return e;
            }
            let message = match e.kind() {
                io::ErrorKind::UnexpectedEof => "the stream ends early (a truncated file)".into(),
                _ => e.to_string(),
            };
            BadData {
                byte: self.progress.bytes.load(Ordering::Relaxed),
                field: "gzip stream read so far",
                message: format!("damaged gzip data: {message}"),
            }
            .into_io()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn gunzip(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        Gunzip::new(bytes).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn reads_gzip_and_concatenated_members() {
        let text = b"time_s,left_uv\n0,1\n".repeat(1000);
        assert_eq!(gunzip(&gz(&text)).unwrap(), text);
        let mut two = gz(b"a,b\n");
        two.extend(gz(b"1,2\n"));
        assert_eq!(gunzip(&two).unwrap(), b"a,b\n1,2\n");
    }

    #[test]
    fn damage_and_truncation_are_gzip_errors_with_a_byte() {
        let text: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let good = gz(&text);
        let mut bad_header = good.clone();
        bad_header[2] = 9;
        let mut flipped = good.clone();
        let mid = good.len() / 2;
        flipped[mid] ^= 0xff;
        for damaged in [
            &good[..mid],
            &bad_header[..],
            &flipped[..],
            &good[..good.len() - 4],
        ] {
            let e = gunzip(damaged).unwrap_err();
            let g = e
                .get_ref()
                .and_then(|r| r.downcast_ref::<BadData>())
                .unwrap_or_else(|| panic!("not a gzip error: {e}"));
            assert!(g.byte <= damaged.len() as u64);
            assert!(!g.to_string().contains('\n'));
        }
    }
}
