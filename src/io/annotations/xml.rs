//! The XML side of the annotation readers: the records of an XML file (`<ScoredEvent>`,
//! `<Event>`, `<SleepStage>` …), each with the texts of the child elements asked for and
//! the line it starts on, parsed with quick-xml.
//!
//! A file cut short (ending inside a record, or before its root element closes) is
//! refused, not read in part. Errors name the file and the line.

use quick_xml::events::Event;

use crate::error::{Error, Location, Result, shorten};

/// Whether `data` (after a BOM and white space) starts like XML.
pub(crate) fn looks_like_xml(data: &[u8]) -> bool {
    let data = data.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(data);
    data.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
}

/// One record: which of the specs it matched, its line, its fields' texts (in the spec's
/// order; empty when absent) and its own text.
#[derive(Debug, Clone, Default)]
pub(crate) struct Record {
    pub(crate) spec: usize,
    pub(crate) line: u64,
    pub(crate) fields: Vec<String>,
    pub(crate) text: String,
}

/// The name of the root element, if the file starts with one.
pub(crate) fn root_name(data: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(data.get(..data.len().min(1 << 16))?)
        .or_else(|e| std::str::from_utf8(&data[..e.valid_up_to()]))
        .ok()?;
    let mut reader = quick_xml::Reader::from_str(text);
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) | Event::Empty(e) => {
                return Some(String::from_utf8_lossy(e.name().as_ref()).into_owned());
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// The records of `data`: elements named `specs[i].0` (not inside another record), each
/// with the texts of its descendants named in `specs[i].1`.
pub(crate) fn records(
    data: &[u8],
    loc: &Location,
    specs: &[(&str, &[&str])],
) -> Result<Vec<Record>> {
    let mut lines = Lines::default();
    let text = std::str::from_utf8(data).map_err(|e| {
        Error::parse(
            loc.at_line(lines.at(data, e.valid_up_to())),
            "not UTF-8 text",
        )
    })?;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut out = Vec::new();
    // The record being read, the depth it opened at, and the field being read.
    let mut current: Option<(Record, usize)> = None;
    let mut field: Option<usize> = None;
    let mut depth = 0usize;
    let mut root: Option<String> = None;
    loop {
        let at = reader.buffer_position() as usize;
        let event = reader.read_event().map_err(|e| {
            Error::parse(
                loc.at_line(lines.at(data, reader.error_position() as usize)),
                format!("malformed XML: {e}"),
            )
        })?;
        let mut text_piece: Option<String> = None;
        match event {
            Event::Start(e) => {
                let name = e.name();
                if root.is_none() {
                    root = Some(String::from_utf8_lossy(name.as_ref()).into_owned());
                }
                depth += 1;
                match &current {
                    None => {
                        if let Some(i) = specs.iter().position(|s| s.0.as_bytes() == name.as_ref())
                        {
                            let rec = Record {
                                spec: i,
                                line: lines.at(data, at),
                                fields: vec![String::new(); specs[i].1.len()],
                                text: String::new(),
                            };
                            current = Some((rec, depth));
                        }
                    }
                    Some((rec, _)) => {
                        field = specs[rec.spec]
                            .1
                            .iter()
                            .position(|f| f.as_bytes() == name.as_ref());
                    }
                }
            }
            Event::Empty(e) if current.is_none() => {
                if let Some(i) = specs
                    .iter()
                    .position(|s| s.0.as_bytes() == e.name().as_ref())
                {
                    out.push(Record {
                        spec: i,
                        line: lines.at(data, at),
                        fields: vec![String::new(); specs[i].1.len()],
                        text: String::new(),
                    });
                }
            }
            Event::End(_) => {
                if current.as_ref().is_some_and(|(_, d)| *d == depth) {
                    if let Some((rec, _)) = current.take() {
                        out.push(rec);
                    }
                }
                depth = depth.saturating_sub(1);
                field = None;
            }
            Event::Text(t) => {
                text_piece = Some(
                    t.decode()
                        .map_err(|e| Error::parse(loc.at_line(lines.at(data, at)), e.to_string()))?
                        .into_owned(),
                );
            }
            Event::CData(t) => {
                text_piece = Some(
                    t.decode()
                        .map_err(|e| Error::parse(loc.at_line(lines.at(data, at)), e.to_string()))?
                        .into_owned(),
                );
            }
            Event::GeneralRef(r) => {
                let resolved = match &*r {
                    b"amp" => Some('&'),
                    b"lt" => Some('<'),
                    b"gt" => Some('>'),
                    b"quot" => Some('"'),
                    b"apos" => Some('\''),
                    _ => r.resolve_char_ref().ok().flatten(),
                };
                text_piece = resolved.map(String::from);
            }
            Event::Eof => break,
            _ => {}
        }
        if let (Some(piece), Some((rec, _))) = (text_piece, current.as_mut()) {
            match field {
                Some(f) => rec.fields[f].push_str(&piece),
                None => rec.text.push_str(&piece),
            }
        }
    }
    if let Some((rec, _)) = current {
        return Err(Error::parse(
            loc.at_line(lines.at(data, data.len())),
            format!(
                "the XML ends inside a <{}> (from line {}): the file is cut short",
                specs[rec.spec].0, rec.line
            ),
        ));
    }
    if depth > 0 {
        return Err(Error::parse(
            loc.at_line(lines.at(data, data.len())),
            format!(
                "the XML ends before </{}>: the file is cut short",
                shorten(root.as_deref().unwrap_or("?"))
            ),
        ));
    }
    Ok(out)
}

/// A non-negative number of seconds in a record's field, or an error naming the record's
/// line and the event.
pub(crate) fn seconds(text: &str, what: &str, event: &str, at: &Location) -> Result<f64> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| {
            Error::parse(
                at.clone(),
                format!(
                    "scored event `{}`: {what} `{}` is not a non-negative number of seconds",
                    shorten(event.trim()),
                    shorten(text.trim())
                ),
            )
        })
}

/// 1-based lines of byte positions, counted on from the last position asked (positions
/// come in increasing order while a file is parsed): linear in the file, not quadratic.
#[derive(Default)]
struct Lines {
    pos: usize,
    line: u64,
}

impl Lines {
    /// The 1-based line of byte `pos` of `data`.
    fn at(&mut self, data: &[u8], pos: usize) -> u64 {
        let pos = pos.min(data.len());
        if pos < self.pos {
            *self = Self::default();
        }
        self.line += memchr::memchr_iter(b'\n', &data[self.pos..pos]).count() as u64;
        self.pos = pos;
        self.line + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_fields_and_cut_files() {
        let loc = Location::default();
        let x = b"<R>\n<E><A>1</A><B>x &amp; y</B></E>\n<S>2</S><E/>\n</R>";
        let r = records(x, &loc, &[("E", &["A", "B"]), ("S", &[])]).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(
            (r[0].line, r[0].fields.clone()),
            (2, vec!["1".into(), "x & y".into()])
        );
        assert_eq!((r[1].spec, r[1].text.as_str()), (1, "2"));
        let e = records(b"<R><E><A>1</A>", &loc, &[("E", &["A"])]).unwrap_err();
        assert!(e.to_string().contains("ends inside a <E>"), "{e}");
        let e = records(b"<R><E></E>", &loc, &[("E", &["A"])]).unwrap_err();
        assert!(e.to_string().contains("ends before </R>"), "{e}");
        assert_eq!(
            root_name(b"<?xml version=\"1.0\"?>\n<CMPStudyConfig>").as_deref(),
            Some("CMPStudyConfig")
        );
        assert!(looks_like_xml(b"\xEF\xBB\xBF  \n<?xml"));
        assert!(!looks_like_xml(b"epoch_start_s,stage\n"));
    }
}
