//! [`Record`]: a session's fields packed into one string.

use std::cmp::Ordering;
use std::fmt;
use std::ops::Range;

use crate::StoreError;

/// The data of one session: keys to JSON-encoded values, in key order, each key once.
///
/// A record is one string: for each field, in ascending key order, the key's length, the
/// key, the value's length and the value, each length written in ASCII digits of six bits
/// ([`Record::as_packed`]). Loading it from a store that keeps that string is one copy, and
/// it is freed at once; a map of strings would cost three allocations per field. It is
/// built for a session's handful of fields: a lookup walks the fields, and an insert moves
/// the fields after it.
///
/// ```
/// use consentry_store::Record;
///
/// let mut record = Record::from([("theme", "\"dark\""), ("cart", "[]")]);
/// record.insert("user", "42");
/// assert_eq!(record.get("theme"), Some("\"dark\""));
/// assert!(record.remove("cart"));
/// assert_eq!(record.keys().collect::<Vec<_>>(), ["theme", "user"]);
///
/// // A store may keep the packed form and read it back.
/// let again = Record::from_packed(record.as_packed().to_owned())?;
/// assert_eq!(again, record);
/// # Ok::<(), consentry_store::StoreError>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Record {
    packed: String,
}

/// Bits of a length per byte; the seventh bit marks that more bytes follow. Every byte is
/// ASCII, so the packed form is UTF-8 throughout.
const BITS: u32 = 6;
const MORE: u8 = 1 << BITS;
const DIGIT: u8 = MORE - 1;

impl Record {
    /// An empty record. Allocates nothing.
    pub const fn new() -> Self {
        Self {
            packed: String::new(),
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter()
            .find(|(field, _)| *field == key)
            .map(|(_, value)| value)
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key` to `value`, replacing its old value.
    pub fn insert(&mut self, key: &str, value: &str) {
        match self.find(key) {
            // After the last key (a record built in order, or a first field): in place.
            Err(at) if at == self.packed.len() => push_field(&mut self.packed, key, value),
            // The old field, or the empty place where the new one belongs.
            found => {
                let mut encoded = String::with_capacity(field_len(key, value));
                push_field(&mut encoded, key, value);
                self.packed
                    .replace_range(found.unwrap_or_else(|at| at..at), &encoded);
            }
        }
    }

    /// Removes `key`; whether it was there.
    pub fn remove(&mut self, key: &str) -> bool {
        match self.find(key) {
            Ok(field) => {
                self.packed.replace_range(field, "");
                true
            }
            Err(_) => false,
        }
    }

    /// How many fields the record holds (counted by walking them).
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether the record holds no field.
    pub fn is_empty(&self) -> bool {
        self.packed.is_empty()
    }

    /// The fields, in key order.
    pub fn iter(&self) -> Fields<'_> {
        Fields { rest: &self.packed }
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.iter().map(|(key, _)| key)
    }

    /// The values, in key order.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.iter().map(|(_, value)| value)
    }

    /// The packed form: what a store may keep as one string and give back to
    /// [`Record::from_packed`].
    pub fn as_packed(&self) -> &str {
        &self.packed
    }

    /// The packed form, without a copy.
    pub fn into_packed(self) -> String {
        self.packed
    }

    /// A record from its packed form ([`Record::as_packed`]), checked whole.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when `packed` is not a record's packed form: a length that
    /// runs past the end, or keys out of order or repeated.
    ///
    /// ```
    /// use consentry_store::Record;
    ///
    /// assert!(Record::from_packed("not a record".to_owned()).is_err());
    /// assert_eq!(Record::from_packed(String::new())?, Record::new());
    /// # Ok::<(), consentry_store::StoreError>(())
    /// ```
    pub fn from_packed(packed: String) -> Result<Self, StoreError> {
        let mut fields = Fields { rest: &packed };
        let mut last: Option<&str> = None;
        let ordered = fields.by_ref().all(|(key, _)| {
            let after = last.is_none_or(|last| last < key);
            last = Some(key);
            after
        });
        // Fields stop early at a length that does not read.
        if !ordered || !fields.rest.is_empty() {
            return Err(corrupt());
        }
        Ok(Self { packed })
    }

    /// The bytes of `key`'s field, or the offset where it belongs.
    fn find(&self, key: &str) -> Result<Range<usize>, usize> {
        let mut fields = self.iter();
        let mut start = 0;
        while let Some((field, _)) = fields.next() {
            let end = self.packed.len() - fields.rest.len();
            match field.cmp(key) {
                Ordering::Less => start = end,
                Ordering::Equal => return Ok(start..end),
                Ordering::Greater => return Err(start),
            }
        }
        Err(start)
    }
}

fn corrupt() -> StoreError {
    StoreError::Corrupt("not a packed session record".to_owned())
}

fn push_field(packed: &mut String, key: &str, value: &str) {
    // One allocation for the field: without it, pushing piece by piece into a fresh
    // string grows it several times.
    packed.reserve(field_len(key, value));
    push_len(packed, key.len());
    packed.push_str(key);
    push_len(packed, value.len());
    packed.push_str(value);
}

/// How many bytes [`push_field`] writes for `key` and `value`.
fn field_len(key: &str, value: &str) -> usize {
    len_digits(key.len()) + key.len() + len_digits(value.len()) + value.len()
}

/// How many digits [`push_len`] writes for `len`.
fn len_digits(len: usize) -> usize {
    (usize::BITS - len.leading_zeros()).div_ceil(BITS).max(1) as usize
}

/// Six bits per byte, lowest first; every byte but the last carries [`MORE`].
fn push_len(packed: &mut String, mut len: usize) {
    loop {
        let digit = (len & usize::from(DIGIT)).to_le_bytes()[0];
        len >>= BITS;
        if len == 0 {
            packed.push(char::from(digit));
            return;
        }
        packed.push(char::from(digit | MORE));
    }
}

/// The next length-prefixed string of `rest`, and what follows it; `None` when the length
/// is not ASCII, overflows, or runs past the end.
fn take(rest: &str) -> Option<(&str, &str)> {
    let bytes = rest.as_bytes();
    let mut len = 0usize;
    let mut shift = 0u32;
    let mut at = 0;
    loop {
        let byte = *bytes.get(at)?;
        if byte >= 0x80 || shift >= usize::BITS {
            return None;
        }
        let digit = usize::from(byte & DIGIT);
        // A digit whose high bits would fall off the top is an overflow, not a length.
        let part = digit.checked_shl(shift)?;
        if part >> shift != digit {
            return None;
        }
        len |= part;
        at += 1;
        if byte & MORE == 0 {
            // The shortest writing only: a last digit of zero after others is padding,
            // and two writings of one record would compare unequal.
            if digit == 0 && at > 1 {
                return None;
            }
            break;
        }
        shift += BITS;
    }
    let end = at.checked_add(len)?;
    Some((rest.get(at..end)?, rest.get(end..)?))
}

/// The fields of a [`Record`], in key order ([`Record::iter`]).
///
/// ```
/// use consentry_store::{Fields, Record};
///
/// let record = Record::from([("b", "2"), ("a", "1")]);
/// let fields: Fields<'_> = record.iter();
/// assert_eq!(fields.collect::<Vec<_>>(), [("a", "1"), ("b", "2")]);
/// ```
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Fields<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let (key, value_and_rest) = take(self.rest)?;
        let (value, rest) = take(value_and_rest)?;
        self.rest = rest;
        Some((key, value))
    }
}

impl std::iter::FusedIterator for Fields<'_> {}

impl<'a> IntoIterator for &'a Record {
    type Item = (&'a str, &'a str);
    type IntoIter = Fields<'a>;

    fn into_iter(self) -> Fields<'a> {
        self.iter()
    }
}

/// Fields in any order; a key given twice keeps its last value.
impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for Record {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(fields: I) -> Self {
        let mut fields: Vec<(K, V)> = fields.into_iter().collect();
        // Stable, so the last of equal keys stays last and wins.
        fields.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
        let mut record = Self::new();
        let len = fields
            .iter()
            .map(|(k, v)| field_len(k.as_ref(), v.as_ref()))
            .sum();
        record.packed.reserve(len);
        let mut fields = fields.iter().peekable();
        while let Some((key, value)) = fields.next() {
            let key = key.as_ref();
            if fields.peek().is_some_and(|(next, _)| next.as_ref() == key) {
                continue;
            }
            push_field(&mut record.packed, key, value.as_ref());
        }
        record
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> From<[(K, V); N]> for Record {
    fn from(fields: [(K, V); N]) -> Self {
        fields.into_iter().collect()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Extend<(K, V)> for Record {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, fields: I) {
        for (key, value) in fields {
            self.insert(key.as_ref(), value.as_ref());
        }
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_field_is_written_in_the_space_reserved_for_it() {
        for len in [0, 1, 63, 64, 4095, 4096, 262_143, 262_144, usize::MAX] {
            let mut digits = String::new();
            push_len(&mut digits, len);
            assert_eq!(len_digits(len), digits.len(), "{len}");
        }
        // Grown piece by piece, the string would double past the field's 9 bytes.
        let mut packed = String::new();
        push_field(&mut packed, "user", "abc");
        assert_eq!(
            packed.capacity(),
            packed.len(),
            "one allocation, exactly the field"
        );
    }

    #[test]
    fn lengths_take_as_many_digits_as_they_need() {
        for len in [0, 1, 63, 64, 4095, 4096, 70_000, 1 << 30] {
            let mut packed = String::new();
            push_len(&mut packed, len);
            assert!(packed.is_ascii());
            let digits = packed.len();
            packed.push_str(&"x".repeat(len.min(100_000)));
            match take(&packed) {
                Some((text, rest)) => {
                    assert_eq!((text.len(), rest), (len, ""));
                }
                None => assert!(len > 100_000, "{len} did not read back"),
            }
            assert_eq!(digits, (1..=11).find(|d| len >> (6 * d) == 0).unwrap());
        }
    }

    #[test]
    fn packed_forms_that_are_not_records_are_refused() {
        let good = Record::from([("a", "1"), ("b", "2")]).into_packed();
        assert!(Record::from_packed(good.clone()).is_ok());
        // Cut inside a field, a record no longer reads; cut between fields, it is the
        // fields before the cut.
        for end in 1..good.len() {
            let cut = Record::from_packed(good[..end].to_owned());
            match end {
                4 => assert_eq!(cut.unwrap(), Record::from([("a", "1")])),
                _ => assert!(cut.is_err(), "{end}"),
            }
        }
        let backwards = [("b", "2"), ("a", "1")]
            .iter()
            .fold(String::new(), |mut p, (k, v)| {
                push_field(&mut p, k, v);
                p
            });
        assert!(Record::from_packed(backwards).is_err());
        let twice = [("a", "1"), ("a", "2")]
            .iter()
            .fold(String::new(), |mut p, (k, v)| {
                push_field(&mut p, k, v);
                p
            });
        assert!(Record::from_packed(twice).is_err());
        // A length padded with a zero digit: the shortest writing is the only one.
        assert!(Record::from_packed("\u{41}\u{0}a\u{1}1".to_owned()).is_err());
        assert!(Record::from_packed("\u{1}a\u{1}1".to_owned()).is_ok());
        // A length whose digits never end, or that overflows.
        assert!(Record::from_packed("\u{7f}".repeat(20)).is_err());
        let mut beyond = "\u{40}".repeat(usize::BITS.div_ceil(6) as usize - 1);
        beyond.push('\u{10}');
        assert!(take(&beyond).is_none(), "bits above the word are refused");
        // A length that would cut a character in two.
        let mut split = String::new();
        push_len(&mut split, 1);
        split.push('é');
        push_len(&mut split, 0);
        assert!(Record::from_packed(split).is_err());
    }

    #[test]
    fn the_last_of_a_repeated_key_wins() {
        let record = Record::from([("k", "1"), ("j", "0"), ("k", "2")]);
        assert_eq!(record.iter().collect::<Vec<_>>(), [("j", "0"), ("k", "2")]);
    }

    /// An operation on a record and on a map that stands for it.
    #[derive(Debug, Clone)]
    enum Op {
        Insert(String, String),
        Remove(String),
    }

    fn op() -> impl Strategy<Value = Op> {
        // Few distinct keys, so operations meet; any text, long values sometimes.
        let key = prop_oneof![Just(String::new()), "[a-c]{1,2}", "\\PC{0,3}"];
        let value = prop_oneof!["\\PC{0,8}", "x{60,70}", "y{4090,4100}"];
        prop_oneof![
            (key.clone(), value).prop_map(|(k, v)| Op::Insert(k, v)),
            key.prop_map(Op::Remove),
        ]
    }

    proptest! {
        #[test]
        fn a_record_behaves_as_a_sorted_map(ops in proptest::collection::vec(op(), 0..40)) {
            let mut record = Record::new();
            let mut map = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => {
                        record.insert(&k, &v);
                        map.insert(k, v);
                    }
                    Op::Remove(k) => {
                        prop_assert_eq!(record.remove(&k), map.remove(&k).is_some());
                    }
                }
                let fields: Vec<(&str, &str)> = record.iter().collect();
                let expected: Vec<(&str, &str)> =
                    map.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                prop_assert_eq!(&fields, &expected);
                prop_assert_eq!(record.len(), map.len());
                for (k, v) in &map {
                    prop_assert_eq!(record.get(k), Some(v.as_str()));
                }
                let again = Record::from_packed(record.as_packed().to_owned()).ok();
                prop_assert_eq!(again, Some(record.clone()));
                prop_assert_eq!(&map.iter().collect::<Record>(), &record);
            }
        }

        #[test]
        fn only_the_one_writing_of_a_record_is_accepted(
            fields in proptest::collection::vec(
                ("[a-c]{0,2}", "x{0,70}", any::<bool>(), any::<bool>()),
                0..5,
            )
        ) {
            // Fields in any order, some lengths padded with a zero digit.
            let mut text = String::new();
            let mut padded = false;
            for (key, value, pad_key, pad_value) in &fields {
                for (part, pad) in [(key, pad_key), (value, pad_value)] {
                    let mut digits = String::new();
                    push_len(&mut digits, part.len());
                    if *pad {
                        let last = digits.pop().unwrap_or('\0');
                        digits.push(char::from(last as u8 | MORE));
                        digits.push('\0');
                        padded = true;
                    }
                    text.push_str(&digits);
                    text.push_str(part);
                }
            }
            let ordered = fields.windows(2).all(|pair| pair[0].0 < pair[1].0);
            let read = Record::from_packed(text.clone());
            prop_assert_eq!(read.is_ok(), ordered && !padded);
            if let Ok(record) = read {
                let again: Record = record.iter().collect();
                prop_assert_eq!(again.as_packed(), text.as_str());
            }
        }

        #[test]
        fn no_text_panics_as_a_packed_record(
            text in prop_oneof!["\\PC{0,40}", "[\\x00-\\x7f]{0,40}"]
        ) {
            if let Ok(record) = Record::from_packed(text.clone()) {
                // Accepted only in its one writing: its fields, packed again, are the text.
                let again: Record = record.iter().collect();
                prop_assert_eq!(again.as_packed(), text.as_str());
            }
        }
    }
}
