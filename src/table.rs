//! The Data Sources table's one list of columns and sorts, and its filtering, search and sorting.

use connections_wire::{ConnectionStatus, ConnectionView};

use crate::i18n::{td_string, Locale};
use crate::text::lowercase;

/// The table's one list: everything it shows or sorts by, in the table's order. Each entry gives
/// whether it is a column (a header, and a cell per row; the rest of a connection is on its own page,
/// and the table still sorts by it through the sort control), its sort (the `<select>` value and the
/// first click's direction) if it sorts, and its label (the header, the sort control's option, and
/// the `data-label` of its cell when rows are cards). Adding one is an entry here, its cell in
/// `rows::fill`, its comparison in `apply` and its text in locales/.
macro_rules! columns {
    ($($name:ident: column $column:literal, sort $sort:expr, label $($label:ident).+;)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Column {
            $($name,)*
        }

        const ALL: &[Column] = &[$(Column::$name,)*];

        impl Column {
            /// A column of the table (rather than only a sort of the sort control).
            const fn is_column(self) -> bool {
                match self {
                    $(Column::$name => $column,)*
                }
            }

            /// Its sort: the `<select>` value, and whether the first click sorts descending.
            const fn sorting(self) -> Option<(&'static str, bool)> {
                match self {
                    $(Column::$name => $sort,)*
                }
            }

            pub fn label(self, locale: Locale) -> &'static str {
                match self {
                    $(Column::$name => td_string!(locale, $($label).+),)*
                }
            }
        }
    };
}

columns! {
    Account: column true, sort Some(("account", false)), label columns.account;
    AccountId: column false, sort Some(("account_id", false)), label columns.account_id;
    Provider: column true, sort None, label columns.provider;
    Mode: column true, sort Some(("mode", false)), label columns.mode;
    Scope: column false, sort Some(("scope", false)), label columns.scope;
    Status: column true, sort Some(("status", false)), label columns.status;
    ConnectedBy: column false, sort Some(("connected_by", false)), label columns.connected_by;
    ConnectedAt: column false, sort Some(("connected_at", true)), label columns.connected_at;
    LastChecked: column false, sort Some(("last_checked", true)), label columns.last_checked;
    LastData: column true, sort Some(("last_data", true)), label columns.last_data;
    Actions: column true, sort None, label table.actions;
}

/// What the table sorts by: an entry of the list that has a sort.
pub type SortKey = Column;

/// The list's columns, or its sorts, in its order (the length is checked when compiling).
const fn pick<const N: usize>(sorts: bool) -> [Column; N] {
    let mut picked = [Column::Account; N];
    let (mut i, mut n) = (0, 0);
    while i < ALL.len() {
        if (sorts && ALL[i].sorting().is_some()) || (!sorts && ALL[i].is_column()) {
            picked[n] = ALL[i];
            n += 1;
        }
        i += 1;
    }
    assert!(n == N);
    picked
}

/// The Data Sources table's columns, in its order: what an admin scans.
pub const COLUMNS: [Column; 6] = pick(false);

/// Every sort, in the table's order.
pub const SORT_KEYS: [SortKey; 9] = pick(true);

impl Column {
    /// What clicking its header sorts by, if it sorts.
    pub fn sort(self) -> Option<SortKey> {
        self.sorting().map(|_| self)
    }

    fn as_str(self) -> &'static str {
        self.sorting().map_or("", |(value, _)| value)
    }
}

/// Mode only where some provider has test and live accounts.
fn shown(show_mode: bool, column: Column) -> bool {
    show_mode || column != Column::Mode
}

/// The columns shown.
pub fn columns(show_mode: bool) -> impl Iterator<Item = Column> {
    COLUMNS.into_iter().filter(move |column| shown(show_mode, *column))
}

/// The sorts offered by the sort control.
pub fn sort_keys(show_mode: bool) -> impl Iterator<Item = SortKey> {
    SORT_KEYS.into_iter().filter(move |key| shown(show_mode, *key))
}

/// A sort as one `<select>` value, e.g. `connected_at:desc`.
pub fn sort_value(key: SortKey, descending: bool) -> String {
    format!("{}:{}", key.as_str(), if descending { "desc" } else { "asc" })
}

pub fn parse_sort_value(value: &str) -> Option<(SortKey, bool)> {
    let (key, direction) = value.split_once(':')?;
    let key = SORT_KEYS.into_iter().find(|k| k.as_str() == key)?;
    match direction {
        "asc" => Some((key, false)),
        "desc" => Some((key, true)),
        _ => None,
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableQuery {
    /// Matches the account name or id, case-insensitively.
    pub search: String,
    pub status: Option<ConnectionStatus>,
    pub sort: SortKey,
    pub descending: bool,
}

impl Default for TableQuery {
    fn default() -> Self {
        TableQuery { search: String::new(), status: None, sort: SortKey::ConnectedAt, descending: true }
    }
}

impl TableQuery {
    /// Clicking a header: sort by it, or flip the direction if it already sorts.
    pub fn toggle_sort(&mut self, key: SortKey) {
        if self.sort == key {
            self.descending = !self.descending;
        } else {
            self.sort = key;
            self.descending = key.sorting().is_some_and(|(_, descending_first)| descending_first);
        }
    }

    /// Choosing a sort outright (the sort control shown instead of the headers).
    pub fn sort_by(&mut self, key: SortKey, descending: bool) {
        self.sort = key;
        self.descending = descending;
    }
}

fn mode_rank(connection: &ConnectionView) -> Option<u8> {
    use connections_wire::Mode;
    connection.shown_mode().map(|mode| match mode {
        Mode::Test => 0,
        Mode::Sandbox => 1,
        Mode::Live => 2,
    })
}

fn status_rank(status: ConnectionStatus) -> u8 {
    // Most in need of attention first when sorted ascending.
    match status {
        ConnectionStatus::ReauthenticationRequired => 0,
        ConnectionStatus::Revoked => 1,
        ConnectionStatus::Connected => 2,
        ConnectionStatus::Disconnected => 3,
    }
}

pub fn apply(rows: &[ConnectionView], query: &TableQuery) -> Vec<ConnectionView> {
    let needle = lowercase(query.search.trim());
    let mut shown: Vec<ConnectionView> = rows
        .iter()
        .filter(|row| query.status.is_none_or(|status| row.status == status))
        .filter(|row| needle.is_empty() || lowercase(&row.account_name).contains(&needle) || lowercase(&row.account_id).contains(&needle))
        .cloned()
        .collect();
    shown.sort_by(|a, b| {
        let order = match query.sort {
            SortKey::Account => lowercase(&a.account_name).cmp(&lowercase(&b.account_name)),
            SortKey::AccountId => a.account_id.cmp(&b.account_id),
            // Test, then sandboxes, then live.
            SortKey::Mode => mode_rank(a).cmp(&mode_rank(b)),
            SortKey::Scope => a.scope.cmp(&b.scope),
            SortKey::Status => status_rank(a.status).cmp(&status_rank(b.status)),
            SortKey::ConnectedBy => lowercase(&a.connected_by).cmp(&lowercase(&b.connected_by)),
            SortKey::ConnectedAt => a.connected_at.cmp(&b.connected_at),
            SortKey::LastChecked => a.last_checked_at.cmp(&b.last_checked_at),
            SortKey::LastData => a.last_data_at.cmp(&b.last_data_at),
            // Not sorts (`parse_sort_value` never gives them).
            Column::Provider | Column::Actions => std::cmp::Ordering::Equal,
        };
        // Ties keep a stable, predictable order.
        let order = order.then_with(|| a.id.cmp(&b.id));
        let order = if query.descending { order.reverse() } else { order };
        // Rows of providers without modes have none to sort by: last, either way.
        let blanks_last = match query.sort {
            SortKey::Mode => a.shown_mode().is_none().cmp(&b.shown_mode().is_none()),
            // Never checked, or nothing read: last, either way.
            SortKey::LastData => a.last_data_at.is_none().cmp(&b.last_data_at.is_none()),
            _ => std::cmp::Ordering::Equal,
        };
        blanks_last.then(order)
    });
    shown
}

#[cfg(test)]
mod tests {
    use super::*;
    use connections_wire::Timestamp;

    fn row(id: &str, name: &str, status: ConnectionStatus, minute: i64) -> ConnectionView {
        ConnectionView {
            id: id.into(),
            provider: "stripe".into(),
            account_id: format!("acct_{id}"),
            account_name: name.into(),
            livemode: Some(false),
            mode: None,
            scope: "read_only".into(),
            status,
            connected_by: "Ada".into(),
            connected_at: Timestamp::from_timestamp(1_795_341_600 + 60 * minute),
            last_checked_at: None,
            last_data_at: None,
        }
    }

    fn rows() -> Vec<ConnectionView> {
        vec![
            row("1", "acme books", ConnectionStatus::Connected, 1),
            row("2", "Globex", ConnectionStatus::Revoked, 3),
            row("3", "Initech", ConnectionStatus::ReauthenticationRequired, 2),
        ]
    }

    fn ids(rows: &[ConnectionView]) -> Vec<&str> {
        rows.iter().map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn newest_first_by_default() {
        assert_eq!(ids(&apply(&rows(), &TableQuery::default())), ["2", "3", "1"]);
    }

    #[test]
    fn search_matches_name_or_account_id_ignoring_case() {
        let query = TableQuery { search: "  ACME ".into(), ..TableQuery::default() };
        assert_eq!(ids(&apply(&rows(), &query)), ["1"]);
        let query = TableQuery { search: "acct_3".into(), ..TableQuery::default() };
        assert_eq!(ids(&apply(&rows(), &query)), ["3"]);
        let query = TableQuery { search: "nothing".into(), ..TableQuery::default() };
        assert!(apply(&rows(), &query).is_empty());
    }

    #[test]
    fn filters_by_status() {
        let query = TableQuery { status: Some(ConnectionStatus::Revoked), ..TableQuery::default() };
        assert_eq!(ids(&apply(&rows(), &query)), ["2"]);
    }

    #[test]
    fn sorts_by_any_column_and_flips_on_a_second_click() {
        let mut query = TableQuery::default();
        query.toggle_sort(SortKey::Account);
        assert_eq!(ids(&apply(&rows(), &query)), ["1", "2", "3"], "case-insensitive A to Z");
        query.toggle_sort(SortKey::Account);
        assert_eq!(ids(&apply(&rows(), &query)), ["3", "2", "1"]);
        query.toggle_sort(SortKey::Status);
        assert_eq!(ids(&apply(&rows(), &query)), ["3", "2", "1"], "needs attention first");
    }

    #[test]
    fn sorting_by_mode_puts_test_before_live_and_rows_without_a_mode_last() {
        let mut rows = rows();
        rows[0].livemode = Some(true);
        rows[1].livemode = None;
        rows[2].livemode = Some(false);
        let mut query = TableQuery::default();
        query.toggle_sort(SortKey::Mode);
        assert_eq!(ids(&apply(&rows, &query)), ["3", "1", "2"]);
        query.toggle_sort(SortKey::Mode);
        assert_eq!(ids(&apply(&rows, &query)), ["1", "3", "2"], "descending: live first, still no mode last");
    }

    #[test]
    fn sorting_by_last_data_point_puts_newest_first_and_never_read_last() {
        let mut rows = rows();
        rows[0].last_data_at = Some(Timestamp::from_timestamp(100));
        rows[2].last_data_at = Some(Timestamp::from_timestamp(200));
        let mut query = TableQuery::default();
        query.toggle_sort(SortKey::LastData);
        assert_eq!(ids(&apply(&rows, &query)), ["3", "1", "2"], "newest first on the first click");
        query.toggle_sort(SortKey::LastData);
        assert_eq!(ids(&apply(&rows, &query)), ["1", "3", "2"], "oldest first, still never read last");
    }

    #[test]
    fn the_table_shows_what_an_admin_scans_and_mode_only_where_there_are_modes() {
        use Column::*;
        assert_eq!(columns(true).collect::<Vec<_>>(), [Account, Provider, Mode, Status, LastData, Actions]);
        assert_eq!(columns(false).collect::<Vec<_>>(), [Account, Provider, Status, LastData, Actions]);
        let sorts: Vec<SortKey> = COLUMNS.into_iter().filter_map(Column::sort).collect();
        assert_eq!(sorts, [SortKey::Account, SortKey::Mode, SortKey::Status, SortKey::LastData]);
        assert!(sorts.iter().all(|key| SORT_KEYS.contains(key)), "every header's sort is offered by the sort control too");
    }

    #[test]
    fn a_sort_round_trips_through_its_select_value() {
        for key in SORT_KEYS {
            for descending in [false, true] {
                assert_eq!(parse_sort_value(&sort_value(key, descending)), Some((key, descending)));
            }
        }
        assert_eq!(sort_value(SortKey::ConnectedAt, true), "connected_at:desc");
        assert_eq!(parse_sort_value("account:sideways"), None);
        assert_eq!(parse_sort_value("nothing:asc"), None);
    }
}
