//! CSV plumbing shared by every reader: opening plain or gzip-compressed files, skipping a
//! UTF-8 byte-order mark, guessing the delimiter (`,`, `;` or tab) from the header line,
//! rejecting binary files, and resolving header names, with errors that carry the file,
//! line, column and field.
//!
//! A signal body can be cut into chunks and parsed in parallel ([`super::chunks`]) through
//! [`Body`]. Streams, compressed files and small files are read into memory whole. A large
//! plain file (the text of an 8-hour 256 Hz night is ~190 MB) is not: only its head is (the
//! header and first rows), and the body is read from the file in blocks of a few MiB into
//! one reused buffer per thread, so the text is never held whole and its ~200 MB of fresh
//! pages are never faulted in. Should the body need the csv crate's record loop (quoted
//! cells), the whole file is then read into memory after all. Event lists are read as
//! `csv::ByteRecord`s reused across rows, so no `String` is built per cell.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::error::{Error, Location, Result};
use crate::io::names::normalise;

/// A CSV source positioned after its header row. Its body can be split into chunks and
/// parsed in parallel ([`CsvSource::body_from`]).
pub(crate) struct CsvSource {
    /// Reader over the in-memory input (for a large file, its head until
    /// [`CsvSource::load_whole`]), positioned at the first record after the header.
    pub reader: csv::Reader<Cursor<Vec<u8>>>,
    /// Header names, trimmed, as written.
    pub headers: Vec<String>,
    /// The file (for error messages).
    pub loc: Location,
    /// The field delimiter.
    pub delimiter: u8,
    /// Where the reader's input starts in the buffer (after a byte-order mark).
    origin: usize,
    /// The file whose head alone is in memory, for a large plain file.
    file: Option<Box<FileBacking>>,
}

impl CsvSource {
    /// Whether a `,` in a numeric cell is a decimal comma: in a file delimited by `;` or
    /// tab — what spreadsheets and recorders set to a European locale write (`12,5`) —
    /// a cell holds no other comma. In a comma-delimited file a comma inside a (quoted)
    /// number may be a thousands separator (`"28,800"`), so it stays an error there.
    pub(crate) fn comma_decimals(&self) -> bool {
        self.delimiter != b','
    }
}

/// A large plain file of which only the head is in memory.
struct FileBacking {
    file: File,
    path: PathBuf,
    /// Its length when opened; the body is read up to here.
    len: u64,
}

impl CsvSource {
    /// Reads the next record into `record`: `Ok(Some(line))` with the 1-based line it
    /// starts on, `Ok(None)` at the end. (The csv crate places a record that follows a
    /// CRLF, or empty lines, before their line ends, so its line number is early; the line
    /// ends between that position and the record are counted here.)
    pub fn next_record(&mut self, record: &mut csv::ByteRecord) -> Result<Option<u64>> {
        match self.reader.read_byte_record(record) {
            Ok(false) => Ok(None),
            Ok(true) => Ok(Some(record.position().map_or(0, |p| {
                let data = self.reader.get_ref().get_ref();
                let at = usize::try_from(p.byte()).map_or(data.len(), |b| self.origin + b);
                let skipped = data.get(at..).unwrap_or_default().iter();
                p.line()
                    + skipped
                        .take_while(|&&b| b == b'\r' || b == b'\n')
                        .fold(0, |n, &b| n + u64::from(b == b'\n'))
            }))),
            Err(e) => Err(csv_error(&self.loc, &e)),
        }
    }

    /// Frees the in-memory input (after the body has been read).
    pub fn release(&mut self) {
        *self.reader.get_mut().get_mut() = Vec::new();
        self.file = None;
    }

    /// The input from `pos` (a position of [`CsvSource::reader`], e.g. right after the
    /// header) to its end: in memory, or read from the file in blocks.
    pub fn body_from(&self, pos: &csv::Position) -> Body<'_> {
        let data = self.reader.get_ref().get_ref();
        let start =
            usize::try_from(pos.byte()).map_or(data.len(), |b| (self.origin + b).min(data.len()));
        match &self.file {
            None => Body::Memory {
                data: &data[start..],
                block: BODY_BLOCK,
            },
            Some(f) => Body::File {
                file: &f.file,
                path: &f.path,
                start: start as u64,
                len: usize::try_from(f.len - start as u64).unwrap_or(usize::MAX),
                block: BODY_BLOCK,
            },
        }
    }

    /// Reads the whole file into memory when only its head is there, so the reader sees
    /// all of it. Positions stay valid (the head is the file's beginning); the caller seeks
    /// the reader before using it.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read or changed since it was opened. Returns
    /// whether the file was read now.
    pub fn load_whole(&mut self) -> Result<bool> {
        let Some(f) = self.file.take() else {
            return Ok(false);
        };
        let data = read_path(&f.path)?;
        let head = self.reader.get_ref().get_ref();
        if data.len() as u64 != f.len || !data.starts_with(head) {
            return Err(Error::io(
                Some(&f.path),
                std::io::Error::other("the file changed while it was being read"),
            ));
        }
        *self.reader.get_mut().get_mut() = data;
        Ok(true)
    }
}

/// Bytes read at a time from a file-backed [`Body`].
const BODY_BLOCK: usize = 4 << 20;

/// Plain files at least this large are parsed from the file in blocks.
const FILE_BACKED_MIN: u64 = 8 << 20;

/// The head of a file-backed input held in memory: the header and first rows.
const HEAD_BYTES: u64 = 1 << 20;

/// The body of a CSV input, split into byte ranges that threads read independently.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Body<'a> {
    /// In memory, handed out `block` bytes at a time.
    Memory { data: &'a [u8], block: usize },
    /// `len` bytes of `file` from byte `start`, read `block` bytes at a time.
    File {
        file: &'a File,
        path: &'a Path,
        start: u64,
        len: usize,
        block: usize,
    },
}

impl Body<'_> {
    /// The same body, handed out in blocks of `size` bytes (tests cut lines at every
    /// place this way).
    pub fn with_block(self, size: usize) -> Self {
        match self {
            Body::File {
                file,
                path,
                start,
                len,
                ..
            } => Body::File {
                file,
                path,
                start,
                len,
                block: size,
            },
            Body::Memory { data, .. } => Body::Memory { data, block: size },
        }
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Body::Memory { data, .. } => data.len(),
            Body::File { len, .. } => *len,
        }
    }

    /// The position just after the first newline at or after `pos`, or the end.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read.
    pub fn line_start_after(&self, pos: usize) -> Result<usize> {
        let n = self.len();
        let mut found = None;
        let mut at = pos.min(n);
        self.for_each_block(at..n, |block| {
            match memchr::memchr(b'\n', block) {
                Some(p) => found = Some(at + p + 1),
                None => at += block.len(),
            }
            found.is_none()
        })?;
        Ok(found.unwrap_or(n))
    }

    /// Calls `f` on consecutive blocks covering `range` (relative to the body) in order,
    /// until it returns `false`. Every block but the last ends just after a newline (a line
    /// longer than the block size grows the buffer), so no line is split between two. In
    /// memory the blocks are as long, and slices of the text.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read (or shrank since it was opened).
    pub fn for_each_block(
        &self,
        range: Range<usize>,
        mut f: impl FnMut(&[u8]) -> bool,
    ) -> Result<()> {
        let (file, path, start, block) = match *self {
            Body::Memory { data, block } => {
                let text = &data[range];
                let block = block.max(1);
                let mut at = 0;
                while at < text.len() {
                    // Up to `block` bytes ending after their last newline (further when a
                    // line is longer), as from a file.
                    let cut = if text.len() - at <= block {
                        text.len()
                    } else {
                        memchr::memrchr(b'\n', &text[at..at + block])
                            .or_else(|| {
                                memchr::memchr(b'\n', &text[at + block..]).map(|p| block + p)
                            })
                            .map_or(text.len(), |p| at + p + 1)
                    };
                    if !f(&text[at..cut]) {
                        break;
                    }
                    at = cut;
                }
                return Ok(());
            }
            Body::File {
                file,
                path,
                start,
                block,
                ..
            } => (file, path, start, block.max(1)),
        };
        let mut buf = vec![0u8; block.min(range.len())];
        let mut kept = 0; // bytes of an unfinished line at the start of `buf`
        let mut at = range.start;
        while at < range.end {
            if kept == buf.len() {
                buf.resize(2 * buf.len(), 0);
            }
            let want = (buf.len() - kept).min(range.end - at);
            read_exact_at(file, &mut buf[kept..kept + want], start + at as u64)
                .map_err(|e| Error::io(Some(path), e))?;
            at += want;
            let filled = kept + want;
            let cut = if at == range.end {
                filled
            } else if let Some(p) = memchr::memrchr(b'\n', &buf[kept..filled]) {
                kept + p + 1
            } else {
                kept = filled;
                continue;
            };
            if !f(&buf[..cut]) {
                return Ok(());
            }
            buf.copy_within(cut..filled, 0);
            kept = filled - cut;
        }
        Ok(())
    }
}

/// Fills `buf` from `file` at `offset`, leaving the file position alone, so threads can
/// read one file at once.
#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

/// Fills `buf` from `file` at `offset` (file-backed bodies are only made on Unix).
#[cfg(not(unix))]
fn read_exact_at(_file: &File, _buf: &mut [u8], _offset: u64) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// Opens `path` for reading, transparently decompressing gzip (by magic bytes, so a
/// `.csv.gz` renamed `.csv` still works).
pub(crate) fn open_path(path: &Path) -> Result<Box<dyn Read + Send>> {
    let file = File::open(path).map_err(|e| Error::io(Some(path), e))?;
    let mut buf = BufReader::with_capacity(1 << 16, file);
    let head = buf.fill_buf().map_err(|e| Error::io(Some(path), e))?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(BufReader::with_capacity(
            1 << 16,
            crate::io::gzip::Gunzip::new(buf),
        )))
    } else {
        Ok(Box::new(buf))
    }
}

/// `input`, decompressed when it is gzip (by its first two bytes).
pub(crate) fn ungzip(mut input: Box<dyn Read + Send>) -> std::io::Result<Box<dyn Read + Send>> {
    let mut magic = Vec::with_capacity(2);
    (&mut input).take(2).read_to_end(&mut magic)?;
    let gzip = magic == [0x1f, 0x8b];
    let whole = Cursor::new(magic).chain(input);
    Ok(if gzip {
        Box::new(BufReader::with_capacity(
            1 << 16,
            crate::io::gzip::Gunzip::new(whole),
        ))
    } else {
        Box::new(whole)
    })
}

/// Files at least this large are read by several threads at once.
const PARALLEL_READ_MIN: u64 = 8 << 20;

/// The whole content of `path`, decompressed if it is gzip. A large plain file is read in
/// parallel parts (copying from the page cache is memory-bound, and one thread does not
/// saturate it: 0.11 s → 0.06 s for 190 MB on the CI machine).
pub(crate) fn read_path(path: &Path) -> Result<Vec<u8>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        let file = File::open(path).map_err(|e| Error::io(Some(path), e))?;
        let len = file.metadata().map_err(|e| Error::io(Some(path), e))?.len();
        let mut magic = [0u8; 2];
        let gzip = file.read_exact_at(&mut magic, 0).is_ok() && magic == [0x1f, 0x8b];
        if let (false, true, Ok(n)) = (gzip, len >= PARALLEL_READ_MIN, usize::try_from(len)) {
            let parts = std::thread::available_parallelism().map_or(1, |p| p.get().min(4));
            let size = n.div_ceil(parts);
            let mut data = vec![0u8; n];
            let read_all = std::thread::scope(|s| {
                let file = &file;
                let handles: Vec<_> = data
                    .chunks_mut(size)
                    .enumerate()
                    .map(|(i, part)| s.spawn(move || file.read_exact_at(part, (i * size) as u64)))
                    .collect();
                handles
                    .into_iter()
                    .all(|h| h.join().is_ok_and(|r| r.is_ok()))
            });
            // A file that shrank while being read is read again as a stream below.
            if read_all {
                return Ok(data);
            }
        }
    }
    let mut data = Vec::new();
    open_path(path)?
        .read_to_end(&mut data)
        .map_err(|e| Error::io(Some(path), e))?;
    Ok(data)
}

/// Opens the CSV file `path` and parses its header: a large plain file is file-backed (its
/// head in memory, the body read in blocks), any other is read whole ([`read_path`]).
pub(crate) fn open_file(path: &Path) -> Result<CsvSource> {
    open_file_backed_from(path, FILE_BACKED_MIN)
}

/// [`open_file`], file-backing plain files of at least `min_len` bytes.
pub(crate) fn open_file_backed_from(path: &Path, min_len: u64) -> Result<CsvSource> {
    #[cfg(unix)]
    {
        let file = File::open(path).map_err(|e| Error::io(Some(path), e))?;
        let len = file.metadata().map_err(|e| Error::io(Some(path), e))?.len();
        if len >= min_len.max(1) {
            let mut head = vec![0u8; usize::try_from(HEAD_BYTES.min(len)).unwrap_or(0)];
            read_exact_at(&file, &mut head, 0).map_err(|e| Error::io(Some(path), e))?;
            // The reader sees the head as the whole input: keep whole lines only.
            let lines = memchr::memrchr(b'\n', &head).map(|p| p + 1);
            if let (false, Some(end)) = (head.starts_with(&[0x1f, 0x8b]), lines) {
                head.truncate(end);
                let mut src = open_bytes(Some(path), head)?;
                src.file = Some(Box::new(FileBacking {
                    file,
                    path: path.to_path_buf(),
                    len,
                }));
                return Ok(src);
            }
        }
    }
    open_bytes(Some(path), read_path(path)?)
}

/// Reads a CSV stream into memory and parses its header. `path` is only used in messages.
pub(crate) fn open_csv(path: Option<&Path>, mut input: Box<dyn Read + Send>) -> Result<CsvSource> {
    let mut data = Vec::new();
    input
        .read_to_end(&mut data)
        .map_err(|e| Error::io(path, e))?;
    open_bytes(path, data)
}

/// Parses the header of the CSV text `data`. `path` is only used in messages.
pub(crate) fn open_bytes(path: Option<&Path>, data: Vec<u8>) -> Result<CsvSource> {
    let loc = Location::file(path);
    // Skip a UTF-8 BOM.
    let origin = if data.starts_with(&[0xEF, 0xBB, 0xBF]) {
        3
    } else {
        0
    };
    let head = &data[origin..data.len().min(origin + (1 << 16))];
    if head.is_empty() {
        return Err(Error::input(
            loc,
            "the file is empty (expected a CSV header row)",
        ));
    }
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or(head);
    if first_line.contains(&0)
        || std::str::from_utf8(first_line).is_err() && head.len() > first_line.len()
    {
        return Err(Error::parse(
            loc.at_line(1),
            "this is not a text CSV file (binary data in the header)",
        ));
    }
    let delimiter = sniff_delimiter(first_line);
    let mut cursor = Cursor::new(data);
    cursor.set_position(origin as u64);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(cursor);
    let header = reader
        .byte_headers()
        .map_err(|e| csv_error(&loc, &e))?
        .clone();
    let mut headers = Vec::with_capacity(header.len());
    for (i, h) in header.iter().enumerate() {
        let s = std::str::from_utf8(h).map_err(|_| {
            Error::parse(
                loc.at_field(1, i + 1, "?"),
                "the header is not UTF-8 text (is this a CSV file?)",
            )
        })?;
        if s.chars().any(|c| c.is_control() && c != '\t') {
            return Err(Error::parse(
                loc.at_line(1),
                "this is not a text CSV file (control characters in the header)",
            ));
        }
        headers.push(s.trim().to_owned());
    }
    if headers.iter().all(String::is_empty) {
        return Err(Error::parse(loc.at_line(1), "the header row is empty"));
    }
    Ok(CsvSource {
        reader,
        headers,
        loc,
        delimiter,
        origin,
        file: None,
    })
}

/// The delimiter with the most occurrences in the header line (`,` when none occurs).
fn sniff_delimiter(line: &[u8]) -> u8 {
    let count = |d: u8| bytecount(line, d);
    let mut best = (b',', count(b','));
    for d in [b';', b'\t'] {
        let c = count(d);
        if c > best.1 {
            best = (d, c);
        }
    }
    best.0
}

/// Occurrences of `d` in `line`.
fn bytecount(line: &[u8], d: u8) -> usize {
    line.iter().fold(0, |n, &b| n + usize::from(b == d))
}

/// Converts a csv crate error to ours, keeping its position.
pub(crate) fn csv_error(loc: &Location, e: &csv::Error) -> Error {
    if let csv::ErrorKind::Io(io) = e.kind() {
        return Error::io(
            loc.path.as_deref(),
            std::io::Error::new(io.kind(), io.to_string()),
        );
    }
    let mut l = loc.clone();
    if let Some(p) = e.position() {
        l.line = Some(p.line());
    }
    Error::parse(l, format!("malformed CSV: {e}"))
}

/// The index of the column named `name` (compared normalised, [`normalise`]), or an error at
/// line 1 listing the header.
pub(crate) fn column_named(src: &CsvSource, name: &str) -> Result<usize> {
    let want = normalise(name);
    src.headers
        .iter()
        .position(|h| normalise(h) == want)
        .ok_or_else(|| {
            Error::input(
                src.loc.at_line(1),
                format!(
                    "no column named `{name}` in the header ({})",
                    src.headers.join(", ")
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &'static [u8]) -> Result<Vec<String>> {
        open_csv(Some(Path::new("t.csv")), Box::new(text)).map(|s| s.headers)
    }

    #[test]
    fn sniffs_delimiters_and_strips_bom() {
        assert_eq!(
            src(b"\xEF\xBB\xBFtime_s;left\r\n0;1\r\n").unwrap(),
            vec!["time_s", "left"]
        );
        assert_eq!(src(b"a\tb\tc\n1\t2\t3\n").unwrap().len(), 3);
    }

    #[test]
    fn record_lines_are_right_after_crlf_and_empty_lines() {
        let text: &'static [u8] = b"a,b\r\n1,2\r\n\r\n3,4\r\n";
        let mut s = open_csv(None, Box::new(text)).unwrap();
        let mut r = csv::ByteRecord::new();
        assert_eq!(s.next_record(&mut r).unwrap(), Some(2));
        assert_eq!(s.next_record(&mut r).unwrap(), Some(4));
        assert_eq!(s.next_record(&mut r).unwrap(), None);
    }

    #[test]
    fn rejects_empty_and_binary() {
        assert!(src(b"").unwrap_err().to_string().contains("empty"));
        assert!(
            src(b"\x00\x01\x02garbage\n\x00")
                .unwrap_err()
                .to_string()
                .contains("not a text CSV")
        );
    }
}
