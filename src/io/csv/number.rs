//! Numeric cells of a CSV file: the plain-decimal fast path, and every other number.
//!
//! **What it computes.** [`parse_number`]: a cell as an `f64` (`Ok(None)` for an empty
//! cell or `NaN`, a gap), with an error naming the file, line, column and field for text
//! or an infinite value; in a `;`- or tab-delimited file one `,` may stand for the decimal
//! point (`-12,5`, as European-locale exports write it). [`plain_decimal`]: the same value
//! for the plain decimals that make up a signal file.
//!
//! **Why it is fast.** Signal files are millions of cells like `12.345` or `-0.003906`, and
//! [`plain_decimal`] is [Clinger's fast path](https://doi.org/10.1145/93548.93557): the
//! digits `m` (< 2⁵³) and `10^f` (f ≤ 15 fraction digits) are exact doubles, so the one
//! IEEE division `m / 10^f` is correctly rounded. With no exponent, special-value or
//! long-mantissa case to look for, it is about twice as fast as the general parser.
//!
//! **Tested against** fast-float2 and `str::parse` (both correctly rounded): bit for bit
//! on edge cases and on arbitrary digit strings (a property test below); every other cell
//! goes to fast-float2 itself.

use crate::error::{Error, Location, Result, shorten};

/// Powers of ten up to 10¹⁵, all exactly representable.
const EXACT_POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// Most significant digits [`plain_decimal`] takes: 10¹⁵ < 2⁵³, so the digits form an
/// integer that a `f64` holds exactly.
const PLAIN_MAX_DIGITS: usize = 15;

/// A plain decimal — an optional sign, digits, an optional point (`.`, or `,` when
/// `comma` allows decimal commas) and digits; at least one and at most 15 digits; nothing
/// else, not even spaces — as the nearest `f64`; `None` for any other text, which
/// [`fast_float2`] then reads.
///
/// Signal files are millions of such cells (`12.345`, `-0.003906`), and this is
/// [Clinger's fast path](https://doi.org/10.1145/93548.93557): the digits `m` (< 2⁵³) and
/// `10^f` (f ≤ 15 fraction digits) are exact doubles, so the one IEEE division `m / 10^f`
/// is correctly rounded — the value `str::parse` and fast-float2 give, bit for bit (a test
/// compares them). It is about twice as fast as the general parser here because it has
/// no exponent, special-value or long-mantissa cases to look for.
#[inline]
pub(crate) fn plain_decimal(cell: &[u8], comma: bool) -> Option<f64> {
    plain_decimal_prefix(cell, comma).and_then(|(v, len)| (len == cell.len()).then_some(v))
}

/// [`plain_decimal`] of the longest prefix of `text` made of a sign, digits and one point:
/// the value and that prefix's length, which the caller checks is followed by a delimiter
/// or a line end. The row parser reads a line's cells in one pass this way.
///
/// The sign is taken without a branch and the digit count is checked once at the end
/// (the accumulator wraps harmlessly past 15 digits, and the cell is then refused): the
/// branches left are the ones a signal file's regular layout makes predictable.
#[inline]
pub(crate) fn plain_decimal_prefix(text: &[u8], comma: bool) -> Option<(f64, usize)> {
    let first = *text.first()?;
    let negative = first == b'-';
    let sign = usize::from(negative || first == b'+');
    let mut mantissa = 0u64;
    let mut count = 0usize;
    let mut point = None;
    let mut end = text.len();
    for (i, &b) in text.iter().enumerate().skip(sign) {
        let d = b.wrapping_sub(b'0');
        if d < 10 {
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d));
            count += 1;
        } else if (b == b'.' || comma && b == b',') && point.is_none() {
            point = Some(i);
        } else {
            end = i;
            break;
        }
    }
    if count == 0 || count > PLAIN_MAX_DIGITS {
        return None;
    }
    let fraction = point.map_or(0, |p| end - p - 1);
    // At most 15 digits, so the mantissa is below 2⁶³ and converts as a signed integer
    // (one instruction; unsigned needs several).
    let v = i64::try_from(mantissa).map_or(f64::NAN, |m| m as f64) / EXACT_POW10[fraction];
    // `v` is positive (or +0), so setting the sign bit negates it exactly, `-0` included;
    // a branch here would be mispredicted on every other cell of a signal.
    Some((
        f64::from_bits(v.to_bits() | (u64::from(negative) << 63)),
        end,
    ))
}

/// A numeric cell: `Ok(None)` for an empty cell or `NaN` (a gap), an error for text or an
/// infinite value. With `comma` (see [`super::source::CsvSource::comma_decimals`]) one `,` may stand for
/// the decimal point (`-12,5`, `1,5e-3`).
pub(crate) fn parse_number(
    bytes: &[u8],
    comma: bool,
    loc: &Location,
    line: u64,
    col: usize,
    field: &str,
) -> Result<Option<f64>> {
    let bytes = bytes.trim_ascii();
    if bytes.is_empty() || bytes.eq_ignore_ascii_case(b"nan") {
        return Ok(None);
    }
    if let Some(v) = plain_decimal(bytes, comma) {
        return Ok(Some(v));
    }
    // A decimal comma in a cell the plain path could not read (an exponent, a long
    // mantissa): the same cell with a point. Cells are short; longer ones are not numbers.
    let cell = bytes;
    let mut pointed = [0u8; 64];
    let bytes = match cell.iter().position(|&b| b == b',') {
        Some(i)
            if comma
                && cell.len() <= pointed.len()
                && !cell.contains(&b'.')
                && !cell[i + 1..].contains(&b',') =>
        {
            let text = &mut pointed[..cell.len()];
            text.copy_from_slice(cell);
            text[i] = b'.';
            &*text
        }
        _ => cell,
    };
    // fast-float2 rounds correctly (the same values as `str::parse`) and reads bytes
    // directly; it wins the `csv_parse` bench.
    match fast_float2::parse::<f64, _>(bytes) {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        Ok(_) => Err(Error::parse(
            loc.at_field(line, col, field),
            format!(
                "`{}` is infinite (use an empty cell or NaN for a gap)",
                shorten(&String::from_utf8_lossy(cell))
            ),
        )),
        Err(_) => {
            let text = std::str::from_utf8(cell).map_err(|_| {
                Error::parse(loc.at_field(line, col, field), "the cell is not UTF-8 text")
            })?;
            Err(Error::parse(
                loc.at_field(line, col, field),
                format!("`{}` is not a number", shorten(text)),
            ))
        }
    }
}

/// A required numeric cell (no gaps allowed), for event lists.
pub(crate) fn require_number(
    record: &csv::ByteRecord,
    col: usize,
    comma: bool,
    loc: &Location,
    line: u64,
    field: &str,
) -> Result<f64> {
    let cell = record.get(col).ok_or_else(|| {
        Error::parse(
            loc.at_field(line, col + 1, field),
            format!("missing field: the row has {} field(s)", record.len()),
        )
    })?;
    parse_number(cell, comma, loc, line, col + 1, field)?
        .ok_or_else(|| Error::parse(loc.at_field(line, col + 1, field), "empty value"))
}

/// A text cell, trimmed.
pub(crate) fn text_cell<'a>(
    record: &'a csv::ByteRecord,
    col: usize,
    loc: &Location,
    line: u64,
    field: &str,
) -> Result<&'a str> {
    let cell = record.get(col).ok_or_else(|| {
        Error::parse(
            loc.at_field(line, col + 1, field),
            format!("missing field: the row has {} field(s)", record.len()),
        )
    })?;
    std::str::from_utf8(cell).map(str::trim).map_err(|_| {
        Error::parse(
            loc.at_field(line, col + 1, field),
            "the cell is not UTF-8 text",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the general parser makes of `cell`, as bits (`None` when it refuses it).
    fn general(cell: &[u8]) -> Option<u64> {
        let v = fast_float2::parse::<f64, _>(cell).ok()?;
        let text = std::str::from_utf8(cell).ok()?;
        assert_eq!(
            text.parse::<f64>().ok().map(f64::to_bits),
            Some(v.to_bits())
        );
        Some(v.to_bits())
    }

    #[test]
    fn plain_decimals_are_read_exactly_and_the_rest_left_to_the_general_parser() {
        for cell in [
            "0",
            "-0",
            "+7",
            "12.345",
            "-13.859",
            "0.003906",
            "3906.242188",
            "5.",
            ".5",
            "-.5",
            "999999999999999",
            "0.00000000000001",
            "123456789.012345",
            "28799.996094",
            "0.1",
            "0.2",
            "0.3",
            "1.7976931348623",
            "-0.000",
        ] {
            let v = plain_decimal(cell.as_bytes(), false).unwrap_or_else(|| panic!("{cell}"));
            assert_eq!(Some(v.to_bits()), general(cell.as_bytes()), "{cell}");
        }
        assert!(plain_decimal(b"-0", false).unwrap().is_sign_negative());
        for cell in [
            "",
            "-",
            "+",
            ".",
            "-.",
            "1e3",
            "1E-2",
            "nan",
            "inf",
            " 1",
            "1 ",
            "1,5",
            "1..2",
            "1.2.3",
            "--1",
            "0x10",
            "1234567890123456",
            "0.0000000000000001",
            "١",
            // Once overflowed the digit accumulator (found by the property test below).
            "2000000000.0000000000",
            "123456789012345678901234567890",
        ] {
            assert_eq!(plain_decimal(cell.as_bytes(), false), None, "{cell}");
        }
    }

    proptest::proptest! {
        #[test]
        fn plain_decimals_equal_the_general_parser(
            cell in "[+-]?[0-9]{0,17}(\\.[0-9]{0,17})?",
        ) {
            if let Some(v) = plain_decimal(cell.as_bytes(), false) {
                proptest::prop_assert_eq!(Some(v.to_bits()), general(cell.as_bytes()));
            } else {
                let digits = cell.bytes().filter(u8::is_ascii_digit).count();
                proptest::prop_assert!(digits == 0 || digits > PLAIN_MAX_DIGITS);
            }
        }
    }

    #[test]
    fn numbers_gaps_and_errors() {
        let loc = Location::file(Some(std::path::Path::new("f.csv")));
        assert_eq!(
            parse_number(b" 1.5 ", false, &loc, 2, 1, "x").unwrap(),
            Some(1.5)
        );
        assert_eq!(parse_number(b"", false, &loc, 2, 1, "x").unwrap(), None);
        assert_eq!(parse_number(b"NaN", false, &loc, 2, 1, "x").unwrap(), None);
        let e = parse_number(b"abc", false, &loc, 7, 3, "right")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "f.csv, line 7, column 3 (right): `abc` is not a number");
        assert!(
            parse_number(b"inf", false, &loc, 2, 1, "x")
                .unwrap_err()
                .to_string()
                .contains("infinite")
        );
    }

    #[test]
    fn decimal_commas_only_where_the_delimiter_allows_them() {
        let loc = Location::file(Some(std::path::Path::new("f.csv")));
        let read = |cell: &[u8], comma| parse_number(cell, comma, &loc, 2, 1, "x");
        for (cell, v) in [
            (&b"-12,5"[..], -12.5),
            (b"0,003906", 0.003_906),
            (b"1,5e-3", 1.5e-3),
            (b"1234567890,1234567", 1_234_567_890.123_456_7),
            (b",25", 0.25),
            (b"7,", 7.0),
        ] {
            assert_eq!(read(cell, true).unwrap(), Some(v), "{cell:?}");
            let pointed: Vec<u8> = cell
                .iter()
                .map(|&b| if b == b',' { b'.' } else { b })
                .collect();
            assert_eq!(read(cell, true).unwrap(), read(&pointed, false).unwrap());
        }
        // Points still read; two separators, or a comma where commas delimit, do not.
        assert_eq!(read(b"1.5", true).unwrap(), Some(1.5));
        for cell in [&b"1,234.5"[..], b"1.234,5", b"1,2,3", b","] {
            let e = read(cell, true).unwrap_err().to_string();
            let shown = String::from_utf8_lossy(cell);
            assert!(e.ends_with(&format!("`{shown}` is not a number")), "{e}");
        }
        assert!(read(b"28,800", false).is_err());
    }
}
