//! A session record packed into one allocation, for the in-memory store: for each field in
//! key order, the key and the value, each as a `u32` length (little-endian) and its bytes.
//! A record with one small value costs its bytes plus 16, instead of a map's node.

use super::{Changes, Record};

/// A [`Record`], packed.
pub(super) struct Packed(Box<[u8]>);

impl Packed {
    pub(super) fn pack(record: &Record) -> Self {
        let len = record.iter().map(|(k, v)| 8 + k.len() + v.len()).sum();
        let mut bytes = Vec::with_capacity(len);
        for (key, value) in record {
            for part in [key, value] {
                // A field of 4 GiB or more cannot be stored; the session layer never
                // writes one (a session's value is bounded by what a handler serializes).
                let part_len = u32::try_from(part.len()).unwrap_or(u32::MAX);
                bytes.extend_from_slice(&part_len.to_le_bytes());
                bytes.extend_from_slice(&part.as_bytes()[..part_len as usize]);
            }
        }
        Self(bytes.into_boxed_slice())
    }

    pub(super) fn unpack(&self) -> Record {
        let mut record = Record::new();
        let mut rest = &self.0[..];
        while let (Some(key), Some(value)) = (take(&mut rest), take(&mut rest)) {
            record.insert(key, value);
        }
        record
    }

    /// Applies `changes`, repacking the record.
    pub(super) fn apply(&mut self, changes: &Changes) {
        if changes.is_empty() {
            return;
        }
        let mut record = self.unpack();
        changes.apply_to(&mut record);
        *self = Self::pack(&record);
    }
}

/// The next length-prefixed string of `rest`. Only `pack` writes these bytes, so they are
/// whole and UTF-8; anything else reads as the end.
fn take(rest: &mut &[u8]) -> Option<String> {
    let (len, tail) = rest.split_first_chunk::<4>()?;
    let len = u32::from_le_bytes(*len) as usize;
    let (text, tail) = tail.split_at_checked(len)?;
    *rest = tail;
    String::from_utf8(text.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_changes_apply() {
        let mut record = Record::new();
        assert_eq!(Packed::pack(&record).unpack(), record);
        record.insert("cart".into(), "[1,2]".into());
        record.insert("name".into(), "\"Zoë ☃\"".into());
        record.insert(String::new(), String::new());
        record.insert("big".into(), "x".repeat(70_000));
        let mut packed = Packed::pack(&record);
        assert_eq!(packed.unpack(), record);
        let mut changes = Changes::default();
        changes.insert("cart", "[]");
        changes.remove("name");
        packed.apply(&changes);
        changes.apply_to(&mut record);
        assert_eq!(packed.unpack(), record);
    }
}
