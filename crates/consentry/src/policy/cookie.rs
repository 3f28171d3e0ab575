//! [`DeclaredCookie`]: a cookie the site may set, under a category.

use super::{Category, Invalid, Policy};

/// A cookie the site, or a third party on it, may set — by exact name or name prefix.
///
/// ```
/// use consentry::{Category, DeclaredCookie};
///
/// let ga = DeclaredCookie::prefix("_ga", Category::ANALYTICS)
///     .provider("Google Analytics")
///     .purpose("Distinguishes visitors")
///     .duration("13 months")
///     .domain("shop.example");
/// # let _ = ga;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredCookie {
    pub(crate) name: String,
    pub(crate) prefix: bool,
    pub(crate) category: Category,
    pub(crate) provider: String,
    pub(crate) purpose: String,
    pub(crate) duration: String,
    pub(crate) domain: Option<String>,
    pub(crate) path: String,
}

impl DeclaredCookie {
    /// The cookie called exactly `name`.
    pub fn exact(name: impl Into<String>, category: Category) -> Self {
        Self::new(name.into(), false, category)
    }

    /// Every cookie whose name starts with `prefix` (for example `_ga` covers `_ga` and
    /// `_ga_XYZ`).
    pub fn prefix(prefix: impl Into<String>, category: Category) -> Self {
        Self::new(prefix.into(), true, category)
    }

    fn new(name: String, prefix: bool, category: Category) -> Self {
        Self {
            name,
            prefix,
            category,
            provider: "This site".into(),
            purpose: String::new(),
            duration: String::new(),
            domain: None,
            path: "/".into(),
        }
    }

    /// Who sets it (shown in the declaration).
    #[must_use]
    pub fn provider(mut self, provider: impl Into<String>) -> Self {
        self.provider = provider.into();
        self
    }

    /// What it is for (shown in the declaration).
    #[must_use]
    pub fn purpose(mut self, purpose: impl Into<String>) -> Self {
        self.purpose = purpose.into();
        self
    }

    /// How long it lives, as text (shown in the declaration).
    #[must_use]
    pub fn duration(mut self, duration: impl Into<String>) -> Self {
        self.duration = duration.into();
        self
    }

    /// The `Domain` it is set with, needed to delete it (host-only when unset).
    #[must_use]
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// The `Path` it is set with (default `/`), needed to delete it.
    #[must_use]
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// The category.
    pub fn category(&self) -> &Category {
        &self.category
    }

    /// The name, or the prefix for a prefix declaration.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn matches(&self, name: &str) -> bool {
        if self.prefix {
            name.starts_with(&self.name)
        } else {
            name == self.name
        }
    }
}

impl DeclaredCookie {
    /// Checks the declaration against the policy it names a category of.
    pub(crate) fn validate(&self, policy: &Policy) -> Result<(), Invalid> {
        let valid_name = !self.name.is_empty()
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b));
        if !valid_name {
            return Err(Invalid::new(
                "declare",
                format!("{:?} is not a cookie name", self.name),
            ));
        }
        if policy.get(&self.category).is_none() {
            return Err(Invalid::new(
                "declare",
                format!(
                    "cookie {:?} names unknown category {}",
                    self.name, self.category
                ),
            ));
        }
        if !self.path.starts_with('/') {
            return Err(Invalid::new(
                "declare",
                format!("cookie {:?}: path must start with /", self.name),
            ));
        }
        Ok(())
    }
}
