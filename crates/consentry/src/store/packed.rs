//! A session record as the in-memory store keeps it: its packed form
//! ([`Record::as_packed`]) in one allocation of exactly its length, without the spare
//! capacity a `String` may carry.

use super::{Changes, Record, StoreError};

/// A [`Record`], packed.
pub(super) struct Packed(Box<str>);

impl Packed {
    pub(super) fn pack(record: &Record) -> Self {
        Self(record.as_packed().into())
    }

    /// The record again: one copy of its bytes.
    ///
    /// # Errors
    /// Never in practice: only `pack` writes the bytes. A failure would be a
    /// [`StoreError::Corrupt`].
    pub(super) fn unpack(&self) -> Result<Record, StoreError> {
        Record::from_packed(self.0.as_ref().to_owned())
    }

    /// Applies `changes`, repacking the record.
    pub(super) fn apply(&mut self, changes: &Changes) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut record = self.unpack()?;
        changes.apply_to(&mut record);
        self.0 = record.into_packed().into_boxed_str();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
