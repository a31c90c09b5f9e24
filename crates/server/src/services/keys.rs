//! Connecting a key-based source (design.md, "Key-based sources"): the key an administrator pasted
//! reaches the server once, over the admin's session, and is tested before anything is stored: its
//! form, the account it belongs to (where the source names one), and one page of each data table. A
//! key refused, or reading none of the tables, is not stored, and the answer says per table what
//! failed; a key reading some is stored encrypted, the others shown as Permission missing. The same
//! account again replaces the key ("Replace key" is this way in's reauthentication).
//!
//! The key is never in an answer, a log line, an audit line or an outgoing event: the account id is
//! the provider's, or a fingerprint (a hash, never the key).

use chrono::Utc;
use connections_wire::{ApiKey, GrantOutcome, KeyConnectResponse, TableAccess, TableCheck};
use sha2::{Digest, Sha256};

use super::connect::{ConnectError, ThroughLink};
use super::data_access::read_tables;
use super::Core;
use crate::crypto::TokenKind;
use crate::providers::{AccountInfo, Provider, ProviderError};
use crate::secret::Secret;
use crate::session::CurrentUser;
use crate::storage::{NewConnection, StoredTable};

#[derive(Debug, thiserror::Error)]
pub(crate) enum KeyError {
    #[error("{0}")]
    Invalid(&'static str),
    /// Nothing stored; `tables` says what the key could read, in our words.
    #[error("{detail}")]
    Refused { detail: String, tables: Vec<TableCheck> },
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// Through a connect link: the link can no longer be used, or the key is another account's than
    /// the connection a reconnect link is for.
    #[error(transparent)]
    Link(ConnectError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// The most of a name the administrator may give the account.
const MAX_NAME_CHARS: usize = 80;

/// Tests `key` and stores it for `provider` (see the module's words).
pub(crate) async fn connect_key(
    state: &Core,
    provider: &Provider,
    user: &CurrentUser,
    key: &ApiKey,
    name: Option<&str>,
) -> Result<KeyConnectResponse, KeyError> {
    connect_key_as(state, provider, user, key, name, None).await
}

/// [`connect_key`], or with `link` the same through a connect link, which storing uses up.
pub(crate) async fn connect_key_as(
    state: &Core,
    provider: &Provider,
    user: &CurrentUser,
    key: &ApiKey,
    name: Option<&str>,
    link: Option<ThroughLink<'_>>,
) -> Result<KeyConnectResponse, KeyError> {
    let pasted = provider.pasted_key().ok_or(KeyError::Invalid("this data source connects through its own consent page, not with a key"))?;
    let name = name.map(str::trim).filter(|name| !name.is_empty());
    if name.is_some_and(|name| name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control)) {
        return Err(KeyError::Invalid("name must be at most 80 characters on one line"));
    }
    let provider_name = provider.name();
    let livemode =
        pasted.check_form(key.secret()).map_err(|detail| KeyError::Refused { detail: format!("{detail}; nothing was stored"), tables: Vec::new() })?;
    let key = Secret::new(key.secret().to_owned());

    let account = if pasted.reads_account() { read_account(provider, &key).await? } else { None };
    let mut tables = read_tables(provider, &key).await;
    for table in &mut tables {
        if table.access == TableAccess::TokenRefused {
            table.reason = Some(format!("{provider_name} refused the key"));
        }
    }
    let readable = tables.iter().filter(|t| t.access == TableAccess::Readable).count();
    let checkable = tables.iter().filter(|t| t.access != TableAccess::NotCheckable).count();
    if readable == 0 && checkable > 0 {
        if tables.iter().any(|t| t.access == TableAccess::Unavailable) && !tables.iter().any(|t| t.access == TableAccess::TokenRefused) {
            return Err(KeyError::Provider(ProviderError::Unavailable {
                provider: provider_name.to_owned(),
                reason: "its data could not be read".into(),
                source: None,
            }));
        }
        let detail = if tables.iter().any(|t| t.access == TableAccess::TokenRefused) {
            format!("{provider_name} refused the key; nothing was stored")
        } else {
            format!("The key can read none of the data listed; nothing was stored. Give it read access to {}", list(&tables))
        };
        return Err(KeyError::Refused { detail, tables });
    }
    if checkable == 0 && account.is_none() {
        return Err(KeyError::Refused { detail: "The key could not be tested: nothing was stored".into(), tables });
    }

    let (account_id, account_name) = match account {
        Some(AccountInfo { id, display_name }) => (id, display_name),
        None => (fingerprint(provider.id(), &key), name.map_or_else(|| format!("{provider_name} account"), str::to_owned)),
    };
    if link.as_ref().and_then(|link| link.account_id).is_some_and(|expected| expected != account_id) {
        return Err(KeyError::Link(ConnectError::LinkWrongAccount { provider: provider_name.to_owned() }));
    }
    let now = Utc::now().timestamp();
    let through = link.as_ref().map(|link| format!(" {}", link.detail)).unwrap_or_default();
    let detail = match livemode {
        Some(true) => format!("Connected with a {provider_name} key (live mode){through}"),
        Some(false) => format!("Connected with a {provider_name} key (test mode){through}"),
        None => format!("Connected with a {provider_name} key{through}"),
    };
    let scope = provider.scope();
    let new = NewConnection {
        workspace: &user.workspace,
        provider: provider.id(),
        account_id: &account_id,
        account_name: &account_name,
        livemode,
        mode: None,
        scope: &scope,
        access_token: state.cipher.seal(provider.id(), &account_id, TokenKind::Access, &key),
        refresh_token: None,
        access_expires_at: None,
        publishable_key: None,
        connected_by_subject: &user.subject,
        connected_by_name: &user.name,
        now,
    };
    let (connection, renewed) = match link {
        None => state.db.upsert_connection(new, &detail, super::connect::CONNECTED).await?,
        // Used up in the same transaction; one used, revoked or expired meanwhile stores nothing.
        Some(link) => state
            .db
            .upsert_connection_through_link(new, &detail, super::connect::CONNECTED, link.id)
            .await?
            .ok_or(KeyError::Link(ConnectError::LinkClosed(crate::storage::LinkState::Used)))?,
    };
    let stored: Vec<StoredTable> = tables.iter().map(StoredTable::from).collect();
    state.db.store_data_check(&connection.id, &stored, now, None).await?;
    let connection = state.db.connection(&connection.id).await?.map_or(connection, |record| record.view);
    tracing::info!(connection = %connection.id, provider = provider.id(), by = %user.subject, renewed, readable, "connected with a key");
    Ok(KeyConnectResponse { connection: connection.into(), outcome: if renewed { GrantOutcome::Renewed } else { GrantOutcome::Created }, tables })
}

/// The account the key names: `None` when the key may not read it (a restricted key without that
/// permission). A key refused outright is refused here.
async fn read_account(provider: &Provider, key: &Secret<String>) -> Result<Option<AccountInfo>, KeyError> {
    match provider.fetch_account(key).await {
        Ok(account) if provider.is_account_id(&account.id) => Ok(Some(account)),
        Ok(_) => Err(KeyError::Provider(ProviderError::Malformed { provider: provider.name().to_owned(), detail: "an account id we do not take".into() })),
        Err(ProviderError::TokenRefused { .. }) => Err(KeyError::Refused {
            detail: format!("{} refused the key; nothing was stored", provider.name()),
            tables: provider
                .data_tables()
                .into_iter()
                .map(|table| TableCheck {
                    table: table.name,
                    access: TableAccess::TokenRefused,
                    reason: Some(format!("{} refused the key", provider.name())),
                    newest_at: None,
                })
                .collect(),
        }),
        Err(error @ (ProviderError::Unavailable { .. } | ProviderError::Malformed { .. })) => Err(error.into()),
        Err(error) => {
            crate::observability::log_chain(&error);
            Ok(None)
        }
    }
}

/// "Customers, Charges".
fn list(tables: &[TableCheck]) -> String {
    tables.iter().map(|t| t.table.as_str()).collect::<Vec<_>>().join(", ")
}

/// Whether an account id is a key's [`fingerprint`]: the account is known here only by that key.
pub(crate) fn is_fingerprint(account_id: &str) -> bool {
    account_id.strip_prefix("key_").is_some_and(|hash| hash.len() == 24 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The account id of a key whose account cannot be read: a hash of the source and the key, which
/// names the key without revealing it.
fn fingerprint(provider: &str, key: &Secret<String>) -> String {
    let digest = Sha256::new().chain_update(provider.as_bytes()).chain_update(b"\n").chain_update(key.expose().as_bytes()).finalize();
    format!("key_{}", &hex::encode(digest)[..24])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_names_the_key_without_showing_it() {
        let key = Secret::new("rk_test_51SecretSecretSecret".to_owned());
        let print = fingerprint("stripe-key", &key);
        assert_eq!(print, fingerprint("stripe-key", &Secret::new("rk_test_51SecretSecretSecret".to_owned())));
        assert_ne!(print, fingerprint("other", &key));
        assert!(print.starts_with("key_") && print.len() == 28 && !print.contains("Secret"));
        assert!(is_fingerprint(&print) && !is_fingerprint("key_account") && !is_fingerprint("pl-3001"));
    }
}
