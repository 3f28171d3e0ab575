//! Purposes beyond cookies: what a signed-in person may agree to (e-mail offers, say) with
//! the same proof as a cookie decision.

use super::{Category, Text};

/// A purpose a person can consent to that is not a cookie category, such as
/// `email_marketing`. Declared on the [`Policy`](super::Policy) with
/// [`Policy::purpose`](super::Policy::purpose); decisions are recorded through
/// [`Purposes`](crate::Purposes).
///
/// The id follows the rule of category ids (1–32 characters of `a-z`, `0-9`, `_`, `-`) and
/// may not repeat a category's id, so a record's name means one thing.
///
/// ```
/// use consentry::{Policy, PurposeDef};
///
/// let policy = Policy::new(1).purpose(PurposeDef::new(
///     "email_marketing",
///     "Offers by email",
///     "We send you our offers by email, at most twice a month.",
/// ));
/// assert_eq!(policy.purposes()[0].id(), "email_marketing");
/// assert_eq!(policy.purposes()[0].text().label, "Offers by email");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurposeDef {
    id: String,
    text: Text,
}

impl PurposeDef {
    /// A purpose with its label and a description of what agreeing means.
    pub fn new(
        id: impl Into<String>,
        label: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            text: Text {
                label: label.into(),
                description: description.into(),
            },
        }
    }

    /// The purpose's id, as recorded in the ledger.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its label and description.
    pub fn text(&self) -> &Text {
        &self.text
    }

    /// Whether `id` is usable as a purpose id (the category id rule).
    pub(crate) fn is_valid_id(id: &str) -> bool {
        Category::is_valid_id(id)
    }
}
