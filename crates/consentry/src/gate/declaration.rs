//! The cookie declaration, as JSON and as an HTML table, from the same registry.

use std::fmt::Write as _;

use super::CookieRegistry;
use crate::html::escape;
use crate::policy::{Category, Policy};

impl CookieRegistry {
    /// `{revision, categories: [{id, label, description, always_on, origins, cookies: [...]}]}`
    pub(super) fn declaration_json(&self, policy: &Policy, language: &str) -> serde_json::Value {
        let categories: Vec<_> = policy
            .categories()
            .iter()
            .map(|def| {
                let text = def.text_for(language);
                let cookies: Vec<_> = self
                    .cookies()
                    .filter(|entry| entry.category == def.category)
                    .map(|entry| {
                        serde_json::json!({
                            "name": entry.name,
                            "match": if entry.prefix { "prefix" } else { "exact" },
                            "provider": entry.provider,
                            "purpose": entry.purpose,
                            "duration": entry.duration,
                            "domain": entry.domain,
                            "path": entry.path,
                        })
                    })
                    .collect();
                serde_json::json!({
                    "id": def.category.as_str(),
                    "label": text.label,
                    "description": text.description,
                    "always_on": def.category == Category::NECESSARY,
                    "origins": def.origins,
                    "cookies": cookies,
                })
            })
            .collect();
        serde_json::json!({ "revision": policy.revision(), "categories": categories })
    }

    /// An HTML table of every declared cookie, grouped by category.
    pub(super) fn declaration_html(&self, policy: &Policy, language: &str) -> String {
        let mut html = String::from(
            "<table class=\"consentry-declaration\">\n<caption>Cookies used on this site</caption>\n\
             <thead><tr><th scope=\"col\">Cookie</th><th scope=\"col\">Category</th><th scope=\"col\">Provider</th>\
             <th scope=\"col\">Purpose</th><th scope=\"col\">Duration</th></tr></thead>\n<tbody>\n",
        );
        for def in policy.categories() {
            let label = &def.text_for(language).label;
            for entry in self.cookies().filter(|e| e.category == def.category) {
                let name = if entry.prefix {
                    format!("{}*", entry.name)
                } else {
                    entry.name.clone()
                };
                let _ = writeln!(
                    html,
                    "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&name),
                    escape(label),
                    escape(&entry.provider),
                    escape(&entry.purpose),
                    escape(&entry.duration),
                );
            }
        }
        html.push_str("</tbody>\n</table>\n");
        html
    }
}
