//! Is the data the authorization page promised actually readable with the access granted? One page
//! of each data table the provider lists is read with the connection's (fresh) token, after
//! connecting and on demand, and the result kept per table with the newest object's time.

use chrono::Utc;
use connections_wire::{AuditAction, DataCheck, TableAccess, TableCheck, Timestamp};

use super::tokens::{self, TokenError};
use super::Core;
use crate::providers::{DataTable, Provider, ProviderError};
use crate::secret::Secret;
use crate::storage::{AuditEntry, Connection, ConnectionRecord, StoredTable};

/// Who asked for a check: an administrator's checks are in the audit trail, the automatic one after
/// connecting is not (the connect line already is).
pub(crate) enum Requester<'a> {
    Admin { subject: &'a str, name: &'a str },
    AfterConnecting,
}

/// Reads each table, stores the outcome and answers it. Only a connection that holds no usable
/// token fails as a whole; a table that cannot be read is a result, not an error.
pub(crate) async fn check(state: &Core, provider: &Provider, record: ConnectionRecord, requester: Requester<'_>) -> Result<DataCheck, TokenError> {
    let (id, workspace, account_id) = (record.view.id.clone(), record.workspace.clone(), record.view.account_id.clone());
    let fresh = tokens::fresh_access_token(state, provider, record).await?;
    let tables = read_tables(provider, &fresh.access_token).await;
    let now = Utc::now().timestamp();
    let detail = summary(&tables);
    let event = match requester {
        Requester::Admin { subject, name } => Some(AuditEntry {
            workspace: &workspace,
            provider: provider.id(),
            account_id: &account_id,
            action: AuditAction::DataCheck,
            success: tables.iter().all(|t| matches!(t.access, TableAccess::Readable | TableAccess::NotCheckable)),
            actor_subject: subject,
            actor_name: name,
            detail: &detail,
            at: now,
        }),
        Requester::AfterConnecting => None,
    };
    let stored: Vec<StoredTable> = tables.iter().map(StoredTable::from).collect();
    state.db.store_data_check(&id, &stored, now, event).await?;
    Ok(DataCheck { checked_at: Timestamp::from_timestamp(now), tables })
}

/// One page of each table the provider lists, read with `credential` (a token, or a pasted key
/// before it is stored), in the provider's order.
pub(crate) async fn read_tables(provider: &Provider, credential: &Secret<String>) -> Vec<TableCheck> {
    let reads = provider.data_tables().into_iter().map(|table| async move {
        let result = match &table.url {
            Some(url) => Some(provider.read_table(credential, url).await),
            None => None,
        };
        table_check(provider, &table, result)
    });
    futures_util::future::join_all(reads).await
}

/// One table's result in our words; the provider's own text goes to the log only.
fn table_check(provider: &Provider, table: &DataTable, result: Option<Result<Option<i64>, ProviderError>>) -> TableCheck {
    let provider_name = provider.name();
    let (access, reason, newest) = match result {
        None => (TableAccess::NotCheckable, Some("No list endpoint is configured for this table".to_owned()), None),
        Some(Ok(newest)) => (TableAccess::Readable, None, newest),
        Some(Err(error)) => {
            crate::observability::log_chain(&error);
            match error {
                ProviderError::PermissionMissing { error, .. } => (
                    TableAccess::PermissionMissing,
                    Some(format!("{provider_name} refused to list {}: the access granted does not include it ({error})", table.name)),
                    None,
                ),
                ProviderError::TokenRefused { .. } => (TableAccess::TokenRefused, Some(format!("{provider_name} refused the connection's token")), None),
                ProviderError::Rejected { error, .. } => {
                    (TableAccess::PermissionMissing, Some(format!("{provider_name} refused to list {} ({error})", table.name)), None)
                }
                ProviderError::Unavailable { reason, .. } => (TableAccess::Unavailable, Some(format!("{provider_name} could not be reached: {reason}")), None),
                ProviderError::Malformed { .. } => (TableAccess::Unavailable, Some(format!("{provider_name}'s answer could not be read")), None),
            }
        }
    };
    TableCheck { table: table.name.clone(), access, reason, newest_at: newest.map(Timestamp::from_timestamp) }
}

/// "6 of 7 data tables readable; not readable: Charges".
fn summary(tables: &[TableCheck]) -> String {
    let readable = tables.iter().filter(|t| t.access == TableAccess::Readable).count();
    let mut detail = format!("{readable} of {} data tables readable", tables.len());
    let refused: Vec<&str> = tables.iter().filter(|t| !matches!(t.access, TableAccess::Readable)).map(|t| t.table.as_str()).collect();
    if !refused.is_empty() {
        detail.push_str("; not readable: ");
        detail.push_str(&refused.join(", "));
    }
    detail
}

/// How long a grant waits for the check after connecting; a slower provider finishes it in the
/// background, and the table shows it at its next refresh.
const AFTER_CONNECTING_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Right after a connection is made, before the grant is answered (so the answer already shows the
/// last data point, and the table does not change under it a moment later), for at most
/// [`AFTER_CONNECTING_WAIT`]. Failures are logged and leave the connection as it is; the admin can
/// run the check again from the details page.
pub(crate) async fn after_connecting(state: &Core, provider: &Provider, connection: Connection) -> Connection {
    let (Some(provider), Ok(Some(record))) = (state.providers.get(provider.id()), state.db.connection(&connection.id).await) else {
        return connection;
    };
    let id = connection.id.clone();
    let task = state.tasks.spawn({
        let state = state.clone();
        async move { check(&state, &provider, record, Requester::AfterConnecting).await }
    });
    match tokio::time::timeout(AFTER_CONNECTING_WAIT, task).await {
        Ok(Ok(Ok(report))) => tracing::info!(connection = %id, summary = %summary(&report.tables), "data access checked"),
        Ok(Ok(Err(error))) => {
            tracing::warn!(connection = %id, %error, "data access check failed");
            return connection;
        }
        Ok(Err(error)) => {
            tracing::error!(connection = %id, %error, "data access check stopped");
            return connection;
        }
        Err(_) => {
            tracing::info!(connection = %id, "data access check still running; it finishes in the background");
            return connection;
        }
    }
    match state.db.connection(&id).await {
        Ok(Some(record)) => record.view,
        _ => connection,
    }
}
