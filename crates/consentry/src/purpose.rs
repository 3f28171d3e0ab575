//! Consent to purposes beyond cookies ([`Purposes`]): what a signed-in person agrees to,
//! such as offers by email, recorded in the consent ledger with the same proof as a cookie
//! decision, and read back from it.

use std::sync::Arc;

use crate::clock::Clock;
use crate::consent::{Consent, ConsentPart};
use crate::error::{LedgerError, PurposeError};
use crate::ledger::{ConsentLedger, LedgerRecord, Source};
use crate::policy::PurposeDef;

/// Records and reads consent to the policy's purposes ([`Policy::purpose`](crate::Policy::purpose))
/// for signed-in accounts. Get it from the built layer with
/// [`ConsentryLayer::purposes`](crate::ConsentryLayer::purposes) and keep it in the app's
/// state; clones share the ledger.
///
/// The ledger is the only place a purpose decision lives: [`Purposes::current`] reads the
/// latest record, so what the app shows is always what the proof says. Giving and
/// withdrawing are the same call ([`Purposes::decide`]) with `granted` true or false.
///
/// The subject is the app's own opaque id for the account (for example `account-41`),
/// never an email address: the ledger holds no personal data, and an account deleted from
/// the app leaves records no one can tie to a person.
///
/// ```
/// use consentry::ledger::MemoryLedger;
/// use consentry::{ConsentConfig, Consentry, Key, Keyring, Policy, PurposeChange, PurposeDef};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let policy = Policy::new(1)
///     .purpose(PurposeDef::new("email_marketing", "Offers by email", "Our offers, twice a month."));
/// let layer = Consentry::builder(Keyring::new(1, Key::generate()))
///     .consent(ConsentConfig::new(policy).ledger(MemoryLedger::new()))
///     .build()?;
/// let purposes = layer.purposes().expect("consent is configured");
///
/// // At registration, the box was left unticked: that is a decision too.
/// purposes.decide(PurposeChange::new("account-41", "email_marketing", false)).await?;
/// assert!(!purposes.allows("account-41", "email_marketing").await?);
///
/// // Later, from the account page.
/// let decision = purposes.decide(PurposeChange::new("account-41", "email_marketing", true)).await?;
/// assert!(decision.recorded && decision.granted);
/// assert!(purposes.allows("account-41", "email_marketing").await?);
/// assert_eq!(purposes.history("account-41").await?.len(), 2);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Purposes {
    consent: Arc<ConsentPart>,
    ledger: Arc<dyn ConsentLedger>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Purposes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Purposes")
            .field("declared", &self.declared())
            .finish_non_exhaustive()
    }
}

/// One purpose decision to record: who, which purpose, given or withdrawn, and where it
/// came from.
///
/// ```
/// use consentry::PurposeChange;
/// use consentry::ledger::Source;
///
/// let change = PurposeChange::new("account-41", "email_marketing", true).source(Source::Api);
/// # let _ = change;
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct PurposeChange {
    subject: String,
    purpose: String,
    granted: bool,
    source: Source,
    consent_id: String,
    gpc: bool,
}

impl PurposeChange {
    /// `subject` (the app's opaque account id) gives (`granted`) or withdraws consent to
    /// `purpose`. The source defaults to [`Source::Form`].
    pub fn new(subject: impl Into<String>, purpose: impl Into<String>, granted: bool) -> Self {
        Self {
            subject: subject.into(),
            purpose: purpose.into(),
            granted,
            source: Source::Form,
            consent_id: String::new(),
            gpc: false,
        }
    }

    /// Where the decision came from.
    pub fn source(mut self, source: Source) -> Self {
        self.source = source;
        self
    }

    /// Links the record to the browser the decision was made in: its consent id (when it
    /// has one) and whether it sent Global Privacy Control. Then the browser's own records
    /// include it.
    pub fn browser(mut self, consent: &Consent) -> Self {
        self.consent_id = consent.state().id().unwrap_or_default();
        self.gpc = consent.state().gpc();
        self
    }
}

/// A purpose decision, as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PurposeDecision {
    /// The purpose.
    pub purpose: String,
    /// Given (`true`) or withdrawn / refused (`false`).
    pub granted: bool,
    /// When it was recorded, in unix seconds.
    pub time: u64,
    /// The policy revision in force then.
    pub revision: u32,
    /// Where it came from.
    pub source: Source,
    /// From [`Purposes::decide`]: whether this call added a record. The same decision
    /// again is answered with the standing record and adds nothing.
    pub recorded: bool,
}

impl PurposeDecision {
    fn from_record(record: &LedgerRecord, purpose: &str, recorded: bool) -> Self {
        Self {
            purpose: purpose.to_owned(),
            granted: record.grants(purpose),
            time: record.time,
            revision: record.revision,
            source: record.source,
            recorded,
        }
    }
}

impl Purposes {
    /// Most bytes of a subject.
    pub const MAX_SUBJECT_LEN: usize = 128;

    pub(crate) fn new(
        consent: Arc<ConsentPart>,
        ledger: Arc<dyn ConsentLedger>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            consent,
            ledger,
            clock,
        }
    }

    /// The purposes the policy declares.
    pub fn declared(&self) -> &[PurposeDef] {
        self.consent.policy().purposes()
    }

    /// Records a decision, once it is durable in the ledger; the same decision as the
    /// standing one is answered without a new record.
    ///
    /// # Errors
    /// [`PurposeError::UnknownPurpose`], [`PurposeError::InvalidSubject`], or
    /// [`PurposeError::Ledger`] when the ledger cannot read or record: then nothing
    /// changed, and the app should say so and let the person try again.
    pub async fn decide(&self, change: PurposeChange) -> Result<PurposeDecision, PurposeError> {
        self.check(&change.subject, &change.purpose)?;
        let standing = match self.latest(&change.subject, &change.purpose).await {
            Ok(standing) => standing,
            // A ledger that cannot look up still records; only the repeat check is lost.
            Err(PurposeError::Ledger(LedgerError::Unsupported(_))) => None,
            Err(error) => return Err(error),
        };
        if let Some(standing) = standing.filter(|s| s.granted == change.granted) {
            return Ok(standing);
        }
        let name = vec![change.purpose.clone()];
        let (granted, denied) = if change.granted {
            (name, Vec::new())
        } else {
            (Vec::new(), name)
        };
        let record = LedgerRecord {
            consent_id: change.consent_id,
            time: self.clock.now(),
            granted,
            denied,
            revision: self.consent.policy().revision(),
            source: change.source,
            gpc: change.gpc,
            ip: None,
            purpose: Some(change.purpose),
            subject: Some(change.subject),
        };
        self.ledger.append(&record).await?;
        let purpose = record.purpose.as_deref().unwrap_or_default();
        Ok(PurposeDecision::from_record(&record, purpose, true))
    }

    /// The standing decision of `subject` on `purpose`; `None` if they never decided.
    ///
    /// # Errors
    /// As [`Purposes::decide`]; a ledger without lookups gives
    /// [`LedgerError::Unsupported`].
    pub async fn current(
        &self,
        subject: &str,
        purpose: &str,
    ) -> Result<Option<PurposeDecision>, PurposeError> {
        self.check(subject, purpose)?;
        self.latest(subject, purpose).await
    }

    /// Whether `subject` currently agrees to `purpose`. Never deciding is no.
    ///
    /// # Errors
    /// As [`Purposes::current`].
    pub async fn allows(&self, subject: &str, purpose: &str) -> Result<bool, PurposeError> {
        Ok(self
            .current(subject, purpose)
            .await?
            .is_some_and(|decision| decision.granted))
    }

    /// Every purpose decision of `subject`, oldest first: the proof to show them or a
    /// regulator.
    ///
    /// # Errors
    /// [`PurposeError::InvalidSubject`] or [`PurposeError::Ledger`].
    pub async fn history(&self, subject: &str) -> Result<Vec<LedgerRecord>, PurposeError> {
        check_subject(subject)?;
        Ok(self.ledger.subject_history(subject).await?)
    }

    async fn latest(
        &self,
        subject: &str,
        purpose: &str,
    ) -> Result<Option<PurposeDecision>, PurposeError> {
        let records = self.ledger.subject_history(subject).await?;
        Ok(records
            .iter()
            .rev()
            .find(|record| record.purpose.as_deref() == Some(purpose))
            .map(|record| PurposeDecision::from_record(record, purpose, false)))
    }

    fn check(&self, subject: &str, purpose: &str) -> Result<(), PurposeError> {
        check_subject(subject)?;
        if self.consent.policy().purpose_def(purpose).is_none() {
            return Err(PurposeError::UnknownPurpose(purpose.to_owned()));
        }
        Ok(())
    }
}

/// A subject is an opaque id: 1–128 of `A-Z a-z 0-9 . _ : -`. No `@`, so an email address
/// is refused rather than written into the proof.
fn check_subject(subject: &str) -> Result<(), PurposeError> {
    let valid = (1..=Purposes::MAX_SUBJECT_LEN).contains(&subject.len())
        && subject
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(PurposeError::InvalidSubject)
    }
}

#[cfg(test)]
mod tests {
    use super::check_subject;

    #[test]
    fn subjects_are_opaque_ids_never_addresses() {
        for ok in ["account-41", "u:7315604229", "A.b_c-d", &"x".repeat(128)] {
            assert!(check_subject(ok).is_ok(), "{ok}");
        }
        for bad in ["", "demo@example.com", "a b", "a\"b", "ä", &"x".repeat(129)] {
            assert!(check_subject(bad).is_err(), "{bad}");
        }
    }
}
