//! Small text helpers that avoid the formatting machinery (it would weigh kilobytes in the
//! WebAssembly).

/// The part of `text` before the first `byte` (ASCII) and the part after it. Byte-wise:
/// `str::split_once` with a `char` brings a general searcher the WebAssembly would carry.
pub(crate) fn split_once_byte(text: &str, byte: u8) -> Option<(&str, &str)> {
    let at = text.bytes().position(|b| b == byte)?;
    Some((&text[..at], &text[at + 1..]))
}

/// The pieces of a text between each `byte` (ASCII), as `str::split` gives them.
#[derive(Debug, Clone)]
pub(crate) struct SplitByte<'a> {
    rest: Option<&'a str>,
    byte: u8,
}

impl<'a> Iterator for SplitByte<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        if let Some((head, tail)) = split_once_byte(rest, self.byte) {
            self.rest = Some(tail);
            Some(head)
        } else {
            self.rest = None;
            Some(rest)
        }
    }
}

/// `text` split at every `byte` (ASCII).
pub(crate) fn split_byte(text: &str, byte: u8) -> SplitByte<'_> {
    SplitByte {
        rest: Some(text),
        byte,
    }
}

/// Appends `text` escaped for HTML content and double- or single-quoted attributes. Runs
/// of plain text are copied whole: every byte escaped is ASCII, so the runs are whole
/// characters.
pub(crate) fn push_html(out: &mut String, text: &str) {
    push_escaped(out, text, |bytes, at| {
        Some(match bytes[at] {
            b'&' => Escape::Text("&amp;"),
            b'<' => Escape::Text("&lt;"),
            b'>' => Escape::Text("&gt;"),
            b'"' => Escape::Text("&quot;"),
            b'\'' => Escape::Text("&#39;"),
            _ => return None,
        })
    });
}

/// How [`push_escaped`] replaces a byte.
enum Escape {
    /// By this text.
    Text(&'static str),
    /// By `\uXXXX`, skipping this many bytes (the character's length).
    Unicode(u32, usize),
}

/// Appends `text`, with the bytes `escape` names replaced; the rest is copied in runs.
fn push_escaped(out: &mut String, text: &str, escape: impl Fn(&[u8], usize) -> Option<Escape>) {
    let bytes = text.as_bytes();
    let (mut plain, mut at) = (0, 0);
    while at < bytes.len() {
        let Some(replacement) = escape(bytes, at) else {
            at += 1;
            continue;
        };
        out.push_str(&text[plain..at]);
        match replacement {
            Escape::Text(replacement) => {
                out.push_str(replacement);
                at += 1;
            }
            Escape::Unicode(code, len) => {
                out.push_str("\\u");
                push_hex(out, code, 4);
                at += len;
            }
        }
        plain = at;
    }
    out.push_str(&text[plain..]);
}

/// Appends `text` as a JSON string literal, quotes included. `<` is escaped too, so the
/// JSON can sit inside a `<script>` element.
pub(crate) fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    push_escaped(out, text, |bytes, at| {
        Some(match bytes[at] {
            b'"' => Escape::Text("\\\""),
            b'\\' => Escape::Text("\\\\"),
            b'<' => Escape::Text("\\u003c"),
            b'\n' => Escape::Text("\\n"),
            b'\r' => Escape::Text("\\r"),
            b'\t' => Escape::Text("\\t"),
            byte if byte < 0x20 => Escape::Unicode(u32::from(byte), 1),
            // U+2028 and U+2029 (E2 80 A8, E2 80 A9): line ends to JavaScript.
            0xE2 if bytes.get(at + 1) == Some(&0x80)
                && matches!(bytes.get(at + 2), Some(0xA8 | 0xA9)) =>
            {
                Escape::Unicode(0x2000 + u32::from(bytes[at + 2] - 0x80), 3)
            }
            _ => return None,
        })
    });
    out.push('"');
}

/// The digits [`push_hex`] and [`push_u64`] write, as text: pushing a slice of it keeps
/// the UTF-8 encoder of `String::push` out of the WebAssembly.
const DIGITS: &str = "0123456789abcdef";

/// Appends one digit (`0..16`).
fn push_digit(out: &mut String, digit: usize) {
    out.push_str(&DIGITS[digit..=digit]);
}

/// Appends the low `digits` hex digits of `n`, lowercase.
pub(crate) fn push_hex(out: &mut String, n: u32, digits: u32) {
    for digit in (0..digits).rev() {
        push_digit(out, ((n >> (4 * digit)) & 0xF) as usize);
    }
}

/// A decimal number of at most `u32::MAX`, digits only (no sign, no spaces).
pub(crate) fn parse_u32(text: &str) -> Option<u32> {
    if text.is_empty() {
        return None;
    }
    text.bytes().try_fold(0u32, |n, byte| {
        let digit = char::from(byte).to_digit(10)?;
        n.checked_mul(10)?.checked_add(digit)
    })
}

/// Appends a number in decimal.
pub(crate) fn push_u32(out: &mut String, n: u32) {
    push_u64(out, u64::from(n));
}

/// Appends a number in decimal.
pub(crate) fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut len = 0;
    loop {
        digits[len] = (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &digit in digits[..len].iter().rev() {
        push_digit(out, usize::from(digit));
    }
}

/// Appends a JSON array of strings.
pub(crate) fn push_json_strings<S: AsRef<str>>(out: &mut String, items: &[S]) {
    out.push('[');
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        push_json_string(out, item.as_ref());
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_as_digits_only() {
        for (text, number) in [
            ("0", Some(0)),
            ("007", Some(7)),
            ("4294967295", Some(u32::MAX)),
            ("4294967296", None),
            ("", None),
            ("+1", None),
            ("-1", None),
            (" 1", None),
            ("1a", None),
            ("١", None),
        ] {
            assert_eq!(parse_u32(text), number, "{text:?}");
        }
        for n in [0, 9, 10, 1_800_000_000, u32::MAX] {
            let mut out = String::new();
            push_u32(&mut out, n);
            assert_eq!(parse_u32(&out), Some(n));
            assert_eq!(out, n.to_string());
        }
    }

    #[test]
    fn byte_splits_match_the_standard_ones() {
        for text in ["", "a", ";", "a;b", ";a;;b;", "é;ü"] {
            let ours: Vec<&str> = split_byte(text, b';').collect();
            let std: Vec<&str> = text.split(';').collect();
            assert_eq!(ours, std, "{text:?}");
            assert_eq!(
                split_once_byte(text, b';'),
                text.split_once(';'),
                "{text:?}"
            );
        }
    }

    proptest::proptest! {
        /// The byte-wise escaper agrees with a plain character-by-character one.
        #[test]
        fn html_escaping_matches_a_char_by_char_reference(text in "\\PC*") {
            let mut reference = String::new();
            for c in text.chars() {
                match c {
                    '&' => reference.push_str("&amp;"),
                    '<' => reference.push_str("&lt;"),
                    '>' => reference.push_str("&gt;"),
                    '"' => reference.push_str("&quot;"),
                    '\'' => reference.push_str("&#39;"),
                    c => reference.push(c),
                }
            }
            let mut out = String::new();
            push_html(&mut out, &text);
            proptest::prop_assert_eq!(out, reference);
        }

        /// Any text comes back from a JSON parser unchanged, and nothing in the literal
        /// could end a `<script>` element or a JavaScript line.
        #[test]
        fn json_strings_round_trip_and_stay_script_safe(text in proptest::prelude::any::<String>()) {
            let mut out = String::new();
            push_json_string(&mut out, &text);
            let back: String = serde_json::from_str(&out).expect("valid JSON");
            proptest::prop_assert_eq!(back, text);
            let safe = !out.contains(['<', '\u{2028}', '\u{2029}']);
            proptest::prop_assert!(safe, "{}", out);
        }
    }

    #[test]
    fn hex_digits() {
        let mut out = String::new();
        push_hex(&mut out, 0xab, 2);
        push_hex(&mut out, 5, 2);
        push_hex(&mut out, 0x2028, 4);
        assert_eq!(out, "ab052028");
    }

    #[test]
    fn html_escaping() {
        let mut out = String::new();
        push_html(&mut out, r#"<a href="x">'&'</a>"#);
        assert_eq!(out, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn json_strings_are_valid_and_script_safe() {
        let mut out = String::new();
        push_json_string(&mut out, "a\"b\\c</script>\n\u{1}\u{2028}é");
        assert_eq!(out, r#""a\"b\\c\u003c/script>\n\u0001\u2028é""#);
    }

    #[test]
    fn numbers() {
        for n in [0, 7, 10, 4_294_967_295] {
            let mut out = String::new();
            push_u32(&mut out, n);
            assert_eq!(out, n.to_string());
        }
        let mut out = String::new();
        push_u64(&mut out, u64::MAX);
        assert_eq!(out, u64::MAX.to_string());
    }
}
