//! The policy vocabulary every part shares: [`Category`], [`CategoryDef`], [`Policy`],
//! [`Text`] and [`DeclaredCookie`]. This module imports nothing of the crate, so every
//! other module can use it without a cycle.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use sha2::{Digest as _, Sha256};

mod cookie;
mod purpose;

pub use cookie::DeclaredCookie;
pub use purpose::PurposeDef;

/// A setting of the policy vocabulary that cannot work, found when the layer is built.
/// The part that owns the setting turns it into a [`ConfigError`](crate::ConfigError).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    /// The setting, as its builder method is named.
    pub(crate) setting: &'static str,
    /// What is wrong and how to fix it.
    pub(crate) reason: String,
}

impl Invalid {
    pub(crate) fn new(setting: &'static str, reason: impl Into<String>) -> Self {
        Self {
            setting,
            reason: reason.into(),
        }
    }
}

/// The categories a visitor granted, read against the policy that numbers them.
#[derive(Clone, Copy)]
pub(crate) struct Granted<'p> {
    policy: &'p Policy,
    mask: u64,
}

impl<'p> Granted<'p> {
    pub(crate) fn new(policy: &'p Policy, mask: u64) -> Self {
        Self { policy, mask }
    }

    /// The granted set as a bitmask in policy order.
    pub(crate) fn mask(&self) -> u64 {
        self.mask
    }

    /// Whether `category` is granted. An unknown category never is.
    pub(crate) fn allows(&self, category: &Category) -> bool {
        self.policy
            .bit(category)
            .is_some_and(|bit| self.mask & bit != 0)
    }

    /// The granted categories' definitions, in policy order.
    pub(crate) fn definitions(self) -> impl Iterator<Item = &'p CategoryDef> {
        let mask = self.mask;
        self.policy
            .categories
            .iter()
            .enumerate()
            .filter(move |(index, _)| mask & (1u64 << index) != 0)
            .map(|(_, def)| def)
    }
}

/// A purpose cookies and third parties are grouped under, by its slug id.
///
/// ```
/// use consentry::Category;
///
/// assert_eq!(Category::ANALYTICS.as_str(), "analytics");
/// assert_eq!(Category::new("ab_testing").as_str(), "ab_testing");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Category(Cow<'static, str>);

impl Category {
    /// Strictly necessary: always on, cannot be refused.
    pub const NECESSARY: Self = Self(Cow::Borrowed("necessary"));
    /// Preferences (language, region, remembered choices).
    pub const PREFERENCES: Self = Self(Cow::Borrowed("preferences"));
    /// Analytics (audience measurement).
    pub const ANALYTICS: Self = Self(Cow::Borrowed("analytics"));
    /// Marketing (advertising, partner referral).
    pub const MARKETING: Self = Self(Cow::Borrowed("marketing"));

    /// A category by id: 1–32 characters of `a-z`, `0-9`, `_`, `-`, checked when the layer
    /// is built.
    pub fn new(id: impl Into<Cow<'static, str>>) -> Self {
        Self(id.into())
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn is_valid_id(id: &str) -> bool {
        (1..=32).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    }
}

impl fmt::Debug for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Category({})", self.0)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A label and description in one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    /// Short name shown beside the switch.
    pub label: String,
    /// One or two sentences saying what the category is for.
    pub description: String,
}

/// One category of a [`Policy`], with its texts and the third-party origins it needs.
///
/// ```
/// use consentry::{Category, CategoryDef};
///
/// let analytics = CategoryDef::new(Category::ANALYTICS, "Analytics", "Counts visits, in aggregate.")
///     .translation("de", "Statistik", "Zählt Besuche, zusammengefasst.")
///     .allow_origin("https://stats.example");
/// assert_eq!(analytics.text_for("de-AT").label, "Statistik");
/// assert_eq!(analytics.text_for("fr").label, "Analytics");
/// ```
#[derive(Debug, Clone)]
pub struct CategoryDef {
    pub(crate) category: Category,
    pub(crate) text: Text,
    pub(crate) translations: Vec<(String, Text)>,
    pub(crate) origins: Vec<String>,
}

impl CategoryDef {
    /// A category with English (or default-language) texts.
    pub fn new(
        category: Category,
        label: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self {
            category,
            text: Text {
                label: label.into(),
                description: description.into(),
            },
            translations: Vec::new(),
            origins: Vec::new(),
        }
    }

    /// Texts for another language (a BCP 47 primary tag such as `de`).
    #[must_use]
    pub fn translation(
        mut self,
        language: impl Into<String>,
        label: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        self.translations.push((
            language.into().to_ascii_lowercase(),
            Text {
                label: label.into(),
                description: description.into(),
            },
        ));
        self
    }

    /// A third-party origin (`https://host[:port]`) this category loads scripts, images,
    /// frames or requests from. With the CSP enabled, the origin is allowed only for
    /// visitors who granted the category.
    #[must_use]
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.origins.push(origin.into());
        self
    }

    /// The category.
    pub fn category(&self) -> &Category {
        &self.category
    }

    /// The origins this category needs.
    pub fn origins(&self) -> &[String] {
        &self.origins
    }

    /// The texts for a language tag (`de-AT` falls back to `de`, then to the default).
    pub fn text_for(&self, language: &str) -> &Text {
        let primary = language
            .split('-')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        self.translations
            .iter()
            .find(|(lang, _)| *lang == primary)
            .map_or(&self.text, |(_, text)| text)
    }
}

/// What visitors are asked to consent to: categories, a revision and a maximum age.
///
/// Bump the revision whenever the policy changes materially: every visitor becomes
/// undecided again and is asked anew. Adding, removing or reordering categories re-asks
/// automatically.
///
/// ```
/// use std::time::Duration;
/// use consentry::{Category, CategoryDef, Policy};
///
/// let policy = Policy::new(3)
///     .category(CategoryDef::new(Category::new("ab_testing"), "Experiments", "Try new designs."))
///     .max_age(Duration::from_secs(90 * 24 * 3600));
/// assert_eq!(policy.categories().len(), 5);
///
/// // A site that only measures visits asks about nothing else:
/// let analytics_only = Policy::necessary_only(1).standard_category(Category::ANALYTICS);
/// assert_eq!(analytics_only.categories().len(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) revision: u32,
    pub(crate) max_age: Duration,
    pub(crate) categories: Vec<CategoryDef>,
    /// Set by [`Policy::gpc_denies`]; by default, `marketing` when the policy has it.
    pub(crate) gpc_denies: Option<Vec<Category>>,
    /// What changed in each revision, oldest first.
    pub(crate) notes: Vec<RevisionNote>,
    /// Purposes beyond cookies, in declaration order.
    pub(crate) purposes: Vec<PurposeDef>,
    /// A builder call that cannot work, reported when the layer is built.
    invalid: Option<Invalid>,
}

/// What changed in one revision of the policy ([`Policy::revision_note`]).
///
/// ```
/// use consentry::Policy;
///
/// let policy = Policy::new(2).revision_note(2, "2026-11-30", "Analytics now runs on our own server.");
/// let note = &policy.revision_notes()[0];
/// assert_eq!((note.revision(), note.date()), (2, "2026-11-30"));
/// assert_eq!(note.text(), "Analytics now runs on our own server.");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionNote {
    revision: u32,
    date: String,
    text: String,
}

impl RevisionNote {
    /// The revision.
    pub fn revision(&self) -> u32 {
        self.revision
    }

    /// When it took effect, `YYYY-MM-DD`.
    pub fn date(&self) -> &str {
        &self.date
    }

    /// What changed, in plain words.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl Policy {
    /// Default lifetime of a decision: 182 days.
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(182 * 24 * 3600);
    /// Most categories a policy can hold.
    pub const MAX_CATEGORIES: usize = 64;

    /// The standard four categories (necessary, preferences, analytics, marketing) with
    /// English texts, at `revision`. A site that does not use all of them builds its policy
    /// from [`Policy::necessary_only`] instead, so visitors are asked only about purposes it
    /// has.
    pub fn new(revision: u32) -> Self {
        Self {
            categories: consentry_banner::markup::STANDARD_CATEGORIES
                .iter()
                .map(|(id, label, description)| {
                    CategoryDef::new(Category::new(*id), *label, *description)
                })
                .collect(),
            ..Self::necessary_only(revision)
        }
    }

    /// Only `necessary` (always on), at `revision`: add exactly the categories the site
    /// uses with [`Policy::standard_category`] or [`Policy::category`]. "Accept all" then
    /// grants those and nothing else.
    ///
    /// ```
    /// use consentry::{Category, CategoryDef, Policy};
    ///
    /// let policy = Policy::necessary_only(1)
    ///     .standard_category(Category::ANALYTICS)
    ///     .category(CategoryDef::new(Category::new("chat"), "Live chat", "Loads the chat widget."));
    /// let ids: Vec<&str> = policy.categories().iter().map(|c| c.category().as_str()).collect();
    /// assert_eq!(ids, ["necessary", "analytics", "chat"]);
    /// ```
    pub fn necessary_only(revision: u32) -> Self {
        let (id, label, description) = consentry_banner::markup::STANDARD_CATEGORIES[0];
        Self {
            revision,
            max_age: Self::DEFAULT_MAX_AGE,
            categories: vec![CategoryDef::new(Category::new(id), label, description)],
            gpc_denies: None,
            notes: Vec::new(),
            purposes: Vec::new(),
            invalid: None,
        }
    }

    /// Adds one of the standard categories (`preferences`, `analytics`, `marketing`) with
    /// its standard English texts (translate or reword it with [`Policy::category`]). Any
    /// other category is a [`ConfigError`](crate::ConfigError) when the layer is built.
    #[must_use]
    pub fn standard_category(self, category: Category) -> Self {
        let standard = consentry_banner::markup::STANDARD_CATEGORIES
            .iter()
            .find(|(id, _, _)| *id == category.as_str());
        match standard {
            Some((_, label, description)) => {
                self.category(CategoryDef::new(category, *label, *description))
            }
            None => Self {
                invalid: Some(Invalid::new(
                    "standard_category",
                    format!(
                        "{:?} is not a standard category (preferences, analytics, marketing); add it with Policy::category(CategoryDef::new(…))",
                        category.as_str()
                    ),
                )),
                ..self
            },
        }
    }

    /// Adds a category, or replaces the one with the same id (to change texts or origins).
    #[must_use]
    pub fn category(mut self, def: CategoryDef) -> Self {
        match self
            .categories
            .iter_mut()
            .find(|c| c.category == def.category)
        {
            Some(existing) => *existing = def,
            None => self.categories.push(def),
        }
        self
    }

    /// How long a decision lasts before the visitor is asked again.
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Says what changed in `revision`, which took effect on `date` (`YYYY-MM-DD`). When a
    /// revision bump asks a visitor again, the banner shows the notes of every revision
    /// since their last decision; [`Page::revision_history_html`](crate::Page::revision_history_html)
    /// lists them all for the privacy page. Works without JavaScript (the server renders it).
    ///
    /// ```
    /// use consentry::Policy;
    ///
    /// let policy = Policy::new(2)
    ///     .revision_note(1, "2026-01-15", "First version.")
    ///     .revision_note(2, "2026-11-30", "We now measure visits with our own analytics.");
    /// assert_eq!(policy.revision_notes().len(), 2);
    /// ```
    #[must_use]
    pub fn revision_note(
        mut self,
        revision: u32,
        date: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        self.notes.retain(|note| note.revision != revision);
        self.notes.push(RevisionNote {
            revision,
            date: date.into(),
            text: text.into(),
        });
        self.notes.sort_by_key(|note| note.revision);
        self
    }

    /// What changed in each revision, oldest first.
    pub fn revision_notes(&self) -> &[RevisionNote] {
        &self.notes
    }

    /// Declares a purpose beyond cookies (see [`PurposeDef`]) that signed-in people can
    /// agree to and withdraw from through [`Purposes`](crate::Purposes). Purposes are not
    /// part of the banner: they are asked where they apply (a registration form, an account
    /// page), and a purpose decision never changes a cookie decision.
    ///
    /// ```
    /// use consentry::{Policy, PurposeDef};
    ///
    /// let policy = Policy::new(1)
    ///     .purpose(PurposeDef::new("email_marketing", "Offers by email", "Our offers, twice a month."));
    /// assert!(policy.purpose_def("email_marketing").is_some());
    /// assert!(policy.purpose_def("sms_marketing").is_none());
    /// ```
    #[must_use]
    pub fn purpose(mut self, def: PurposeDef) -> Self {
        self.purposes.push(def);
        self
    }

    /// The purposes beyond cookies, in declaration order.
    pub fn purposes(&self) -> &[PurposeDef] {
        &self.purposes
    }

    /// The definition of the purpose `id`.
    pub fn purpose_def(&self, id: &str) -> Option<&PurposeDef> {
        self.purposes.iter().find(|def| def.id() == id)
    }

    /// The notes of the revisions after `since`, up to this one, joined for the banner.
    pub(crate) fn changes_since(&self, since: u32) -> Option<String> {
        let texts: Vec<&str> = self
            .notes
            .iter()
            .filter(|note| note.revision > since && note.revision <= self.revision)
            .map(|note| note.text.as_str())
            .collect();
        (!texts.is_empty()).then(|| texts.join(" "))
    }

    /// The categories a `Sec-GPC: 1` signal denies until explicitly granted (default:
    /// marketing, when the policy has it). Each must be in the policy.
    #[must_use]
    pub fn gpc_denies(mut self, categories: impl IntoIterator<Item = Category>) -> Self {
        self.gpc_denies = Some(categories.into_iter().collect());
        self
    }

    /// The revision.
    pub fn revision(&self) -> u32 {
        self.revision
    }

    /// The categories, necessary first.
    pub fn categories(&self) -> &[CategoryDef] {
        &self.categories
    }

    /// The definition of `category`.
    pub fn get(&self, category: &Category) -> Option<&CategoryDef> {
        self.categories.iter().find(|c| &c.category == category)
    }

    pub(crate) fn bit(&self, category: &Category) -> Option<u64> {
        self.categories
            .iter()
            .position(|c| &c.category == category)
            .map(|index| 1u64 << index)
    }

    pub(crate) fn bit_of(&self, id: &str) -> Option<u64> {
        self.categories
            .iter()
            .position(|c| c.category.as_str() == id)
            .map(|index| 1u64 << index)
    }

    pub(crate) fn necessary_mask(&self) -> u64 {
        self.bit(&Category::NECESSARY).unwrap_or(0)
    }

    pub(crate) fn all_mask(&self) -> u64 {
        if self.categories.len() >= 64 {
            u64::MAX
        } else {
            (1u64 << self.categories.len()) - 1
        }
    }

    /// The categories that allow third-party origins (the only ones that change the CSP).
    pub(crate) fn origins_mask(&self) -> u64 {
        self.categories
            .iter()
            .enumerate()
            .filter(|(_, def)| !def.origins.is_empty())
            .fold(0, |mask, (index, _)| mask | (1u64 << index))
    }

    pub(crate) fn gpc_mask(&self) -> u64 {
        const DEFAULT: &[Category] = &[Category::MARKETING];
        self.gpc_denies
            .as_deref()
            .unwrap_or(DEFAULT)
            .iter()
            .filter_map(|c| self.bit(c))
            .fold(0, |mask, bit| mask | bit)
            & !self.necessary_mask()
    }

    /// Categories in a mask, in policy order.
    pub(crate) fn names(&self, mask: u64) -> impl Iterator<Item = &Category> + '_ {
        self.categories
            .iter()
            .enumerate()
            .filter(move |(index, _)| mask & (1u64 << index) != 0)
            .map(|(_, c)| &c.category)
    }

    /// A short hash of the category list, so changing it re-asks every visitor.
    pub(crate) fn fingerprint(&self) -> u32 {
        let mut hash = Sha256::new();
        for def in &self.categories {
            hash.update(def.category.as_str().as_bytes());
            hash.update([0]);
        }
        let digest = hash.finalize();
        u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
    }

    pub(crate) fn validate(&self) -> Result<(), Invalid> {
        if let Some(invalid) = &self.invalid {
            return Err(invalid.clone());
        }
        if self.categories.len() > Self::MAX_CATEGORIES {
            return Err(Invalid::new(
                "category",
                "a policy holds at most 64 categories",
            ));
        }
        if self.categories.first().map(|c| &c.category) != Some(&Category::NECESSARY) {
            return Err(Invalid::new(
                "category",
                "the first category must be `necessary`",
            ));
        }
        for (index, def) in self.categories.iter().enumerate() {
            let id = def.category.as_str();
            if !Category::is_valid_id(id) {
                return Err(Invalid::new(
                    "category",
                    format!("category id {id:?} must be 1-32 characters of a-z, 0-9, _ and -"),
                ));
            }
            if self.categories[..index]
                .iter()
                .any(|c| c.category == def.category)
            {
                return Err(Invalid::new(
                    "category",
                    format!("category {id:?} appears twice"),
                ));
            }
            for origin in &def.origins {
                if !is_origin(origin) {
                    return Err(Invalid::new(
                        "allow_origin",
                        format!(
                            "category {id:?}: {origin:?} is not an origin like https://host[:port]"
                        ),
                    ));
                }
            }
        }
        for category in self.gpc_denies.iter().flatten() {
            if self.get(category).is_none() {
                return Err(Invalid::new(
                    "gpc_denies",
                    format!("names unknown category {category}"),
                ));
            }
        }
        for note in &self.notes {
            let date = note.date.as_bytes();
            let date_ok = date.len() == 10
                && date[4] == b'-'
                && date[7] == b'-'
                && date
                    .iter()
                    .enumerate()
                    .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
            if note.revision == 0 || note.revision > self.revision {
                return Err(Invalid::new(
                    "revision_note",
                    format!(
                        "revision {} is not between 1 and the policy's revision {}",
                        note.revision, self.revision
                    ),
                ));
            }
            if !date_ok || note.text.trim().is_empty() {
                return Err(Invalid::new(
                    "revision_note",
                    format!(
                        "revision {}: give a date as YYYY-MM-DD and a text",
                        note.revision
                    ),
                ));
            }
        }
        self.validate_purposes()?;
        if self.max_age.as_secs() == 0 {
            return Err(Invalid::new(
                "max_age",
                "a decision must last at least one second",
            ));
        }
        Ok(())
    }

    fn validate_purposes(&self) -> Result<(), Invalid> {
        for (index, def) in self.purposes.iter().enumerate() {
            let id = def.id();
            if !PurposeDef::is_valid_id(id) {
                return Err(Invalid::new(
                    "purpose",
                    format!("purpose id {id:?} must be 1-32 characters of a-z, 0-9, _ and -"),
                ));
            }
            if self.purposes[..index].iter().any(|p| p.id() == id)
                || self.categories.iter().any(|c| c.category.as_str() == id)
            {
                return Err(Invalid::new(
                    "purpose",
                    format!("purpose {id:?} repeats the id of another purpose or a category"),
                ));
            }
            if def.text().label.trim().is_empty() {
                return Err(Invalid::new(
                    "purpose",
                    format!("purpose {id:?} needs a label"),
                ));
            }
        }
        Ok(())
    }
}

fn is_origin(origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_is_valid_and_masks_line_up() {
        let policy = Policy::new(1);
        policy.validate().unwrap();
        assert_eq!(policy.necessary_mask(), 1);
        assert_eq!(policy.all_mask(), 0b1111);
        assert_eq!(policy.gpc_mask(), 0b1000);
        let names: Vec<_> = policy.names(0b1010).map(Category::as_str).collect();
        assert_eq!(names, ["preferences", "marketing"]);
    }

    #[test]
    fn bad_policies_are_config_errors() {
        let bad = [
            Policy::new(1).category(CategoryDef::new(Category::new("Bad Id"), "x", "y")),
            Policy::new(1).category(
                CategoryDef::new(Category::new("x"), "x", "y").allow_origin("javascript:alert(1)"),
            ),
            Policy::new(1).gpc_denies([Category::new("nope")]),
            Policy::new(1).max_age(Duration::ZERO),
        ];
        for policy in bad {
            assert!(policy.validate().is_err(), "{policy:?}");
        }
        let mut reordered = Policy::new(1);
        reordered.categories.swap(0, 1);
        assert!(reordered.validate().is_err(), "necessary must stay first");
    }

    #[test]
    fn fingerprint_follows_the_category_list() {
        let base = Policy::new(1).fingerprint();
        assert_eq!(base, Policy::new(2).fingerprint());
        let extra = Policy::new(1).category(CategoryDef::new(Category::new("x"), "x", "y"));
        assert_ne!(base, extra.fingerprint());
    }
}
