//! The text side of the annotation readers: scoring exports as lines of text.
//!
//! Exports come from Windows software: UTF-8 with or without a byte-order mark, UTF-16
//! (RemLogic can write it) or a single-byte code page (Latin-1 is assumed where the bytes
//! are not UTF-8: names are ASCII, and a stray `µ` or `ä` in a patient field must not
//! reject the file). Lines end in LF or CRLF.

/// The text of `data`, decoded as the module docs say.
pub(crate) fn decode(data: &[u8]) -> String {
    if let Some(rest) = data.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    let utf16 = |rest: &[u8], le: bool| -> String {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|p| {
                if le {
                    u16::from_le_bytes([p[0], p[1]])
                } else {
                    u16::from_be_bytes([p[0], p[1]])
                }
            })
            .collect();
        String::from_utf16_lossy(&units)
    };
    if let Some(rest) = data.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, true);
    }
    if let Some(rest) = data.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, false);
    }
    // UTF-16 without a mark: every other byte of ASCII text is zero.
    let head = &data[..data.len().min(256)];
    if head.len() >= 4 && head.iter().skip(1).step_by(2).all(|&b| b == 0) {
        return utf16(data, true);
    }
    match std::str::from_utf8(data) {
        Ok(s) => s.to_owned(),
        Err(_) => data.iter().map(|&b| char::from(b)).collect(),
    }
}

/// The lines of `text` with their 1-based numbers, without line ends.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = (u64, &str)> {
    text.split('\n')
        .enumerate()
        .map(|(i, l)| (i as u64 + 1, l.strip_suffix('\r').unwrap_or(l)))
}

/// `Key: value` (or `Key:\tvalue`) → the trimmed key and value.
pub(crate) fn key_value(line: &str) -> Option<(&str, &str)> {
    let (k, v) = line.split_once(':')?;
    let k = k.trim();
    (!k.is_empty() && k.len() <= 40 && !k.contains('\t')).then(|| (k, v.trim()))
}

/// The value of the header line `key` among the first lines of `text`.
pub(crate) fn header_value<'a>(text: &'a str, key: &str, within: usize) -> Option<(u64, &'a str)> {
    lines(text).take(within).find_map(|(n, l)| {
        key_value(l)
            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| (n, v))
    })
}

/// A number of seconds, with a decimal point or comma.
pub(crate) fn seconds(cell: &str) -> Option<f64> {
    let t = cell.trim();
    let t = t.strip_suffix('s').unwrap_or(t).trim();
    let v: f64 = t.replace(',', ".").parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_latin1_and_bom_become_the_same_text() {
        let text = "Patient:\tMüller\r\nTime [hh:mm:ss]\tEvent\tDuration[s]\r\n";
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        let unmarked: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let latin1: Vec<u8> = text.chars().map(|c| c as u8).collect();
        let bom = [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat();
        for data in [le, be, unmarked, latin1, bom] {
            assert_eq!(decode(&data), text);
        }
        let l: Vec<(u64, &str)> = lines(text).collect();
        assert_eq!(l[1], (2, "Time [hh:mm:ss]\tEvent\tDuration[s]"));
        assert_eq!(
            key_value("Recording Date:\t26/07/2013"),
            Some(("Recording Date", "26/07/2013"))
        );
        assert_eq!(seconds("1,5"), Some(1.5));
        assert_eq!(seconds("30 s"), Some(30.0));
        assert_eq!(seconds("-1"), None);
    }
}
