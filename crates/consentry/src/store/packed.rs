//! A session record as the in-memory store keeps it: its packed form
//! ([`Record::as_packed`]), inside the store's entry when it is short (a session holding a
//! user id or a counter), else in one allocation of its length.

use smol_str::SmolStr;

use super::{Changes, Record, StoreError};

/// A [`Record`], packed. A short one (up to 23 bytes) is kept in place: nothing is
/// allocated to store it or freed when it goes, and an evicted record's memory, seldom in
/// the cache, is not touched to free it.
pub(super) struct Packed(SmolStr);

impl Packed {
    pub(super) fn pack(record: &Record) -> Self {
        Self(SmolStr::new(record.as_packed()))
    }

    /// Whether the record is kept in place.
    #[cfg(test)]
    fn is_inline(&self) -> bool {
        !self.0.is_heap_allocated()
    }

    /// The record again: one copy of its bytes.
    ///
    /// # Errors
    /// Never in practice: only `pack` writes the bytes. A failure would be a
    /// [`StoreError::Corrupt`].
    pub(super) fn unpack(&self) -> Result<Record, StoreError> {
        Record::from_packed(self.0.as_str().to_owned())
    }

    /// Applies `changes`, repacking the record.
    pub(super) fn apply(&mut self, changes: &Changes) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut record = self.unpack()?;
        changes.apply_to(&mut record);
        *self = Self::pack(&record);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_records_are_kept_in_place_and_longer_ones_boxed() {
        assert!(
            std::mem::size_of::<Packed>() <= 24,
            "no larger than a boxed string and a tag"
        );
        let mut record = Record::new();
        record.insert("count", "42");
        assert!(Packed::pack(&record).is_inline());
        let mut packed = Packed::pack(&record);
        let mut changes = Changes::default();
        changes.insert("user", "\"a longer value than fits\"");
        packed.apply(&changes).unwrap();
        assert!(!packed.is_inline());
        changes.apply_to(&mut record);
        assert_eq!(packed.unpack().unwrap(), record);
        let mut changes = Changes::default();
        changes.remove("user");
        packed.apply(&changes).unwrap();
        assert!(packed.is_inline(), "back in place once short");
        changes.apply_to(&mut record);
        assert_eq!(packed.unpack().unwrap(), record);
        // The longest that fits, and one byte more.
        for (value, inline) in [("x".repeat(20), true), ("x".repeat(21), false)] {
            let record = Record::from([("k", value.as_str())]);
            assert_eq!(record.as_packed().len() <= 23, inline);
            let packed = Packed::pack(&record);
            assert_eq!(packed.is_inline(), inline);
            assert_eq!(packed.unpack().unwrap(), record);
        }
    }

    #[test]
    fn records_round_trip_and_changes_apply() {
        let mut record = Record::new();
        assert_eq!(Packed::pack(&record).unpack().unwrap(), record);
        record.insert("cart", "[1,2]");
        record.insert("name", "\"Zoë ☃\"");
        record.insert("", "");
        record.insert("big", &"x".repeat(70_000));
        let mut packed = Packed::pack(&record);
        assert_eq!(packed.unpack().unwrap(), record);
        let mut changes = Changes::default();
        changes.insert("cart", "[]");
        changes.remove("name");
        packed.apply(&changes).unwrap();
        changes.apply_to(&mut record);
        assert_eq!(packed.unpack().unwrap(), record);
    }
}
