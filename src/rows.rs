//! The Data Sources table's rows, made with the DOM's own calls, as a plain-JavaScript page makes
//! them. Through the view renderer, each of 1,000 rows took ~245 µs to build (its generic code, an
//! effect and marker nodes per row, a call per node to place it); this is the table's hot path, so
//! it is drawn by hand and the rest of the page stays Leptos.
//!
//! Each connection's `<tr>` is made once and kept. A connection that changed gets new cells in the
//! same `<tr>` (with focus back on the button it was on); the rows are put in order with one
//! `replaceChildren`, and only when the order changed. The buttons say what they do in
//! `data-action`: the table answers their clicks with one listener (`pages/connections.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use connections_wire::{ConnectionStatus, ConnectionView};
use wasm_bindgen::{intern, JsCast, JsValue};
use web_sys::{Document, Element};

use crate::components::status_look;
use crate::i18n::{td_string, Locale};
use crate::messages;
use crate::table::{self, Column};

/// What a row's button does: its `data-action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowAction {
    /// Reauthenticate (access lapsed or revoked) or reconnect (disconnected): the connect flow again.
    Reconnect,
    Check,
    Disconnect,
}

impl RowAction {
    pub fn as_str(self) -> &'static str {
        match self {
            RowAction::Reconnect => "reconnect",
            RowAction::Check => "check",
            RowAction::Disconnect => "disconnect",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [RowAction::Reconnect, RowAction::Check, RowAction::Disconnect].into_iter().find(|action| action.as_str() == value)
    }
}

/// The buttons a connection in `status` has, in their order: reconnect when there is no working
/// access, check while there are tokens to try, disconnect unless already disconnected.
pub fn actions_for(status: ConnectionStatus) -> Vec<RowAction> {
    let reconnect = matches!(status, ConnectionStatus::ReauthenticationRequired | ConnectionStatus::Revoked | ConnectionStatus::Disconnected);
    let check = matches!(status, ConnectionStatus::Connected | ConnectionStatus::ReauthenticationRequired);
    let disconnect = status != ConnectionStatus::Disconnected;
    [(reconnect, RowAction::Reconnect), (check, RowAction::Check), (disconnect, RowAction::Disconnect)]
        .into_iter()
        .filter_map(|(shown, action)| shown.then_some(action))
        .collect()
}

/// A button's text and its accessible name (which names the account). A key-based source's
/// reauthentication is a new key: "Replace key".
pub fn action_labels(locale: Locale, action: RowAction, status: ConnectionStatus, account: &str, key_based: bool) -> (&'static str, String) {
    match (action, status) {
        (RowAction::Reconnect, ConnectionStatus::Disconnected) => {
            (td_string!(locale, table.reconnect), td_string!(locale, table.reconnect_named, account).to_string())
        }
        (RowAction::Reconnect, _) if key_based => (td_string!(locale, table.replace_key), td_string!(locale, table.replace_key_named, account).to_string()),
        (RowAction::Reconnect, _) => (td_string!(locale, table.reauthenticate), td_string!(locale, table.reauthenticate_named, account).to_string()),
        (RowAction::Check, _) => (td_string!(locale, table.check), td_string!(locale, table.check_named, account).to_string()),
        (RowAction::Disconnect, _) => (td_string!(locale, table.disconnect), td_string!(locale, table.disconnect_named, account).to_string()),
    }
}

/// What every row needs to draw itself, fixed for as long as the table is shown.
pub struct RowLook {
    pub locale: Locale,
    pub show_mode: bool,
    /// The language tags dates are formatted for.
    pub format_tags: Arc<[String]>,
    /// A provider's display name by id.
    pub provider_name: Box<dyn Fn(&str) -> String>,
    /// Whether a provider (by id) is connected with a pasted key.
    pub key_based: Box<dyn Fn(&str) -> bool>,
    /// A connection's details page by id.
    pub detail_href: Box<dyn Fn(&str) -> String>,
}

/// The rows drawn so far, by connection id, with the connection each shows.
pub struct Rows {
    document: Document,
    look: RowLook,
    drawn: HashMap<String, (ConnectionView, Element)>,
    /// The ids in the order the body has them.
    order: Vec<String>,
    highlighted: Option<String>,
}

impl Rows {
    pub fn new(look: RowLook) -> Option<Self> {
        let document = web_sys::window()?.document()?;
        Some(Rows { document, look, drawn: HashMap::new(), order: Vec::new(), highlighted: None })
    }

    /// The connection a row shows.
    pub fn connection(&self, id: &str) -> Option<&ConnectionView> {
        self.drawn.get(id).map(|(view, _)| view)
    }

    /// Puts `shown` into `body`, in order, drawing only what is new or changed.
    pub fn draw(&mut self, body: &Element, shown: &[ConnectionView]) {
        for connection in shown {
            match self.drawn.get_mut(&connection.id) {
                Some((drawn, _)) if drawn == connection => {}
                Some((drawn, tr)) => {
                    let focused = focused_action(&self.document, tr);
                    fill(&self.document, &self.look, tr, connection, self.highlighted.as_deref() == Some(&connection.id));
                    *drawn = connection.clone();
                    if let Some(action) = focused {
                        refocus(tr, action);
                    }
                }
                None => {
                    let tr = self.element("tr");
                    let _ = tr.set_attribute(intern("data-connection-id"), &connection.id);
                    fill(&self.document, &self.look, &tr, connection, self.highlighted.as_deref() == Some(&connection.id));
                    self.drawn.insert(connection.id.clone(), (connection.clone(), tr));
                }
            }
        }
        if !self.order.iter().map(String::as_str).eq(shown.iter().map(|c| c.id.as_str())) {
            let rows: js_sys::Array = shown.iter().filter_map(|c| self.drawn.get(&c.id)).map(|(_, tr)| JsValue::from(tr)).collect();
            body.replace_children_with_node(&rows);
            self.order = shown.iter().map(|c| c.id.clone()).collect();
        }
    }

    /// Marks the row of `id` as just connected (and no other).
    pub fn highlight(&mut self, id: Option<String>) {
        if self.highlighted == id {
            return;
        }
        for (old, on) in [(self.highlighted.clone(), false), (id.clone(), true)] {
            if let Some((connection, tr)) = old.as_deref().and_then(|id| self.drawn.get(id)) {
                fill(&self.document, &self.look, tr, connection, on);
            }
        }
        self.highlighted = id;
    }

    fn element(&self, tag: &str) -> Element {
        self.document.create_element(tag).expect("a known tag name")
    }
}

/// The row's cells, replacing any it had, one per column of `table::columns`: the account's name (a
/// link to its page, with the "New" tag when just connected), provider, mode, status, the last data
/// point, and the buttons its status allows.
fn fill(document: &Document, look: &RowLook, tr: &Element, connection: &ConnectionView, new: bool) {
    let locale = look.locale;
    // Tag and attribute names, labels and classes are the same on every row: `intern` hands each
    // to the page once, instead of decoding it again for every cell (most of a row's cost).
    let element = |tag: &str, class: Option<&str>, text: Option<&str>| {
        let element = document.create_element(intern(tag)).expect("a known tag name");
        if let Some(class) = class {
            element.set_class_name(intern(class));
        }
        if let Some(text) = text {
            element.set_text_content(Some(text));
        }
        element
    };
    // `data-label`: the column's name, shown beside the value when rows are cards.
    let cell = |column: Column, class: Option<&str>, text: Option<&str>| {
        let td = element("td", class, text);
        let _ = td.set_attribute(intern("data-label"), intern(column.label(locale)));
        td
    };
    let _ = tr.class_list().toggle_with_force("cx-row-new", new);
    let cells: js_sys::Array = table::columns(look.show_mode)
        .map(|column| {
            let filled = match column {
                Column::Account => {
                    let name = element("th", None, None);
                    let _ = name.set_attribute(intern("scope"), intern("row"));
                    let link = element("a", None, Some(&connection.account_name));
                    let _ = link.set_attribute(intern("href"), &(look.detail_href)(&connection.id));
                    let _ = name.append_child(&link);
                    if new {
                        let _ = name.append_child(&element("span", Some("cx-tag"), Some(td_string!(locale, table.new))));
                    }
                    name
                }
                Column::Provider => cell(column, None, Some(&(look.provider_name)(&connection.provider))),
                Column::Mode => cell(column, None, Some(intern(connection.shown_mode().map_or("—", |mode| messages::mode_label(locale, mode))))),
                Column::Status => {
                    let (icon, class) = status_look(connection.status);
                    let badge = element("span", Some(class), None);
                    let icon = element("span", None, Some(intern(icon)));
                    let _ = icon.set_attribute(intern("aria-hidden"), intern("true"));
                    let _ = badge.append_child(&icon);
                    let _ = badge.append_child(&element("span", None, Some(intern(messages::status_label(locale, connection.status)))));
                    let td = cell(column, Some("cx-cell-status"), None);
                    let _ = td.append_child(&badge);
                    td
                }
                Column::LastData => {
                    let td = cell(column, None, None);
                    let when = match connection.last_data_at {
                        Some(at) => {
                            let time = element("time", None, Some(&crate::browser::local_datetime(&look.format_tags, &at)));
                            let _ = time.set_attribute(intern("datetime"), &at.to_string());
                            time
                        }
                        None => element("span", None, Some(intern("—"))),
                    };
                    let _ = td.append_child(&when);
                    td
                }
                Column::Actions => {
                    let actions = element("td", Some("cx-row-actions"), None);
                    for action in actions_for(connection.status) {
                        let class = if action == RowAction::Reconnect { "cx-button cx-button-small cx-button-primary" } else { "cx-button cx-button-small" };
                        let key_based = (look.key_based)(&connection.provider);
                        let (text, name) = action_labels(locale, action, connection.status, &connection.account_name, key_based);
                        let button = element("button", Some(class), Some(intern(text)));
                        let _ = button.set_attribute(intern("type"), intern("button"));
                        let _ = button.set_attribute(intern("data-action"), intern(action.as_str()));
                        let _ = button.set_attribute(intern("aria-label"), &name);
                        let _ = actions.append_child(&button);
                    }
                    actions
                }
                // Only sorts, not columns (`table::columns` never gives them).
                Column::AccountId | Column::Scope | Column::ConnectedBy | Column::ConnectedAt | Column::LastChecked => cell(column, None, None),
            };
            JsValue::from(filled)
        })
        .collect();
    tr.replace_children_with_node(&cells);
}

/// The action of the row's button that has focus, if one has.
fn focused_action(document: &Document, tr: &Element) -> Option<RowAction> {
    let active = document.active_element()?;
    if !tr.contains(Some(&active)) {
        return None;
    }
    RowAction::parse(&active.get_attribute("data-action")?)
}

fn refocus(tr: &Element, action: RowAction) {
    let selector = format!("button[data-action=\"{}\"]", action.as_str());
    if let Some(button) = tr.query_selector(&selector).ok().flatten().and_then(|b| b.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = button.focus();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_status_has_the_buttons_it_allows() {
        use RowAction::*;
        assert_eq!(actions_for(ConnectionStatus::Connected), [Check, Disconnect]);
        assert_eq!(actions_for(ConnectionStatus::ReauthenticationRequired), [Reconnect, Check, Disconnect]);
        assert_eq!(actions_for(ConnectionStatus::Revoked), [Reconnect, Disconnect]);
        assert_eq!(actions_for(ConnectionStatus::Disconnected), [Reconnect]);
    }

    #[test]
    fn an_action_reads_back_from_its_data_attribute() {
        for action in [RowAction::Reconnect, RowAction::Check, RowAction::Disconnect] {
            assert_eq!(RowAction::parse(action.as_str()), Some(action));
        }
        assert_eq!(RowAction::parse("delete"), None);
    }

    #[test]
    fn the_buttons_name_the_account_and_say_reconnect_only_when_disconnected() {
        let (text, name) = action_labels(Locale::en, RowAction::Reconnect, ConnectionStatus::Disconnected, "Acme", false);
        assert_eq!((text, name.as_str()), ("Reconnect", "Reconnect Acme"));
        let (text, name) = action_labels(Locale::en, RowAction::Reconnect, ConnectionStatus::Revoked, "Acme", false);
        assert_eq!((text, name.as_str()), ("Reauthenticate", "Reauthenticate Acme"));
        assert_eq!(action_labels(Locale::en, RowAction::Check, ConnectionStatus::Connected, "Acme", false).1, "Check Acme");
        assert_eq!(action_labels(Locale::en, RowAction::Disconnect, ConnectionStatus::Connected, "Acme", false).1, "Disconnect Acme");
        // A key-based source's reauthentication is a new key; reconnecting is still reconnecting.
        let (text, name) = action_labels(Locale::en, RowAction::Reconnect, ConnectionStatus::ReauthenticationRequired, "Initech", true);
        assert_eq!((text, name.as_str()), ("Replace key", "Replace the key of Initech"));
        assert_eq!(action_labels(Locale::en, RowAction::Reconnect, ConnectionStatus::Disconnected, "Initech", true).0, "Reconnect");
        assert_eq!(action_labels(Locale::de, RowAction::Reconnect, ConnectionStatus::Revoked, "Initech", true).0, "Schlüssel ersetzen");
    }
}
