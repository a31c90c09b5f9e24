//! The providers the server offers (`/api/providers`), on plain types: finding one by id, the
//! gallery's search and category filter, and the initials shown when a provider has no icon.

use connections_wire::ProviderInfo;

use crate::text::{is_alphanumeric, lowercase, uppercase};

/// The server's providers, in the server's order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Catalog(Vec<ProviderInfo>);

impl Catalog {
    pub fn new(providers: Vec<ProviderInfo>) -> Self {
        Catalog(providers)
    }

    pub fn providers(&self) -> &[ProviderInfo] {
        &self.0
    }

    /// Only a provider the server lists: an id from the address bar is never trusted on its own.
    pub fn get(&self, id: &str) -> Option<&ProviderInfo> {
        self.0.iter().find(|p| p.id == id)
    }

    /// The display name, or the id itself for a provider the server no longer lists.
    /// Whether the provider's way in is a pasted key (its "Reauthenticate" is "Replace key").
    pub fn key_based(&self, id: &str) -> bool {
        self.get(id).is_some_and(|p| p.key.is_some())
    }

    pub fn name(&self, id: &str) -> String {
        self.get(id).map_or_else(|| id.to_owned(), |p| p.name.clone())
    }

    /// Whether the Mode column means anything: some provider has test and live accounts.
    pub fn has_modes(&self) -> bool {
        self.0.iter().any(|p| p.has_modes)
    }

    /// Every category once, sorted, for the gallery's filter.
    pub fn categories(&self) -> Vec<String> {
        let mut categories: Vec<String> = self.0.iter().flat_map(|p| p.categories.iter().cloned()).collect();
        categories.sort_by_key(|c| lowercase(c));
        categories.dedup_by(|a, b| lowercase(a) == lowercase(b));
        categories
    }
}

/// What the gallery's search box and category filter say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GalleryQuery {
    /// Matches the name or a category, case-insensitively.
    pub search: String,
    pub category: Option<String>,
}

/// The providers the gallery shows, in the server's order.
pub fn filter<'a>(catalog: &'a Catalog, query: &GalleryQuery) -> Vec<&'a ProviderInfo> {
    let needle = lowercase(query.search.trim());
    let wanted = query.category.as_deref().map(lowercase);
    catalog
        .providers()
        .iter()
        .filter(|p| wanted.as_ref().is_none_or(|w| p.categories.iter().any(|c| lowercase(c) == *w)))
        .filter(|p| needle.is_empty() || lowercase(&p.name).contains(&needle) || p.categories.iter().any(|c| lowercase(c).contains(&needle)))
        .collect()
}

/// Up to two letters standing for the name when there is no icon: "Northwind CRM" → "NC".
pub fn initials(name: &str) -> String {
    let words = name.split(|c: char| c.is_whitespace() || c == '-' || c == '_');
    let firsts: Vec<char> = words.filter_map(|w| w.chars().next()).filter(|c| is_alphanumeric(*c)).collect();
    let chosen = match firsts.as_slice() {
        [] => return "?".into(),
        [only] => vec![*only],
        [first, second, ..] => vec![*first, *second],
    };
    uppercase(&chosen.into_iter().collect::<String>())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use connections_wire::Dialect;

    pub(crate) fn provider(id: &str, name: &str, categories: &[&str]) -> ProviderInfo {
        ProviderInfo {
            id: id.into(),
            name: name.into(),
            dialect: Dialect::Oauth2,
            categories: categories.iter().map(|c| c.to_string()).collect(),
            icon_url: None,
            scope: "read".into(),
            access_summary: "Read access".into(),
            data_synced: vec![],
            docs_url: None,
            has_modes: false,
            modes: Vec::new(),
            uninstall_url: None,
            redirect_uri: format!("https://bi.example.com/connections/{id}/callback"),
            redirect_uris: vec![],
            key: None,
        }
    }

    fn catalog() -> Catalog {
        let mut stripe = provider("stripe", "Stripe", &["payments"]);
        stripe.has_modes = true;
        Catalog::new(vec![
            stripe,
            provider("northwind-crm", "Northwind CRM", &["crm", "Sales"]),
            provider("adpulse-ads", "Adpulse", &["advertising"]),
            provider("paddle", "Paddle", &["Payments", "billing"]),
        ])
    }

    fn ids(shown: &[&ProviderInfo]) -> Vec<String> {
        shown.iter().map(|p| p.id.clone()).collect()
    }

    #[test]
    fn everything_in_the_servers_order_without_a_query() {
        assert_eq!(ids(&filter(&catalog(), &GalleryQuery::default())), ["stripe", "northwind-crm", "adpulse-ads", "paddle"]);
    }

    #[test]
    fn search_matches_the_name_or_a_category_ignoring_case() {
        let search = |text: &str| ids(&filter(&catalog(), &GalleryQuery { search: text.into(), category: None }));
        assert_eq!(search("  NORTH "), ["northwind-crm"]);
        assert_eq!(search("pay"), ["stripe", "paddle"], "by category");
        assert_eq!(search("sales"), ["northwind-crm"]);
        assert!(search("nothing like it").is_empty());
    }

    #[test]
    fn the_category_filter_keeps_only_that_category_and_combines_with_search() {
        let query = |search: &str, category: &str| GalleryQuery { search: search.into(), category: Some(category.into()) };
        assert_eq!(ids(&filter(&catalog(), &query("", "payments"))), ["stripe", "paddle"]);
        assert_eq!(ids(&filter(&catalog(), &query("strip", "payments"))), ["stripe"]);
        assert!(filter(&catalog(), &query("north", "payments")).is_empty());
    }

    #[test]
    fn categories_are_listed_once_and_sorted() {
        assert_eq!(catalog().categories(), ["advertising", "billing", "crm", "payments", "Sales"]);
    }

    #[test]
    fn providers_are_found_only_by_a_listed_id() {
        let catalog = catalog();
        assert_eq!(catalog.get("northwind-crm").map(|p| p.name.as_str()), Some("Northwind CRM"));
        assert!(catalog.get("../stripe").is_none());
        assert!(catalog.get("").is_none());
        assert_eq!(catalog.name("stripe"), "Stripe");
        assert_eq!(catalog.name("gone"), "gone", "a provider no longer configured shows its id");
        assert!(catalog.has_modes());
        assert!(!Catalog::new(vec![provider("a", "A", &[])]).has_modes());
    }

    #[test]
    fn initials_stand_for_the_name() {
        assert_eq!(initials("Northwind CRM"), "NC");
        assert_eq!(initials("Adpulse"), "A");
        assert_eq!(initials("acme books ltd"), "AB");
        assert_eq!(initials("Procter & Gamble"), "PG");
        assert_eq!(initials("  "), "?");
        assert_eq!(initials("éclair-shop"), "ÉS");
    }
}
