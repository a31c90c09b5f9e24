//! A database made by the previous release (Stripe only: no expiry, no token version, mode required)
//! migrates in place and keeps its connection usable. On SQLite, and on PostgreSQL with
//! `TEST_DATABASE_URL`.

use crate::support;

use connections_server::crypto::{TokenCipher, TokenKind};
use connections_server::secret::Secret;
use connections_server::storage::{Backend, Db};

/// The last migration of the release before data sources became configuration.
fn previous_release(backend: Backend) -> (sqlx::migrate::Migrator, i64) {
    match backend {
        Backend::Sqlite => (sqlx::migrate!("./migrations/sqlite"), 4),
        Backend::Postgres => (sqlx::migrate!("./migrations/postgres"), 2),
    }
}

#[tokio::test]
async fn a_connection_made_before_providers_survives_the_migration() {
    let dir = tempfile::tempdir().unwrap();
    let url = support::fresh_database_url(dir.path()).await;
    let backend = Backend::of(&url).unwrap();
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
    let (mut migrator, last) = previous_release(backend);
    migrator.migrations = std::borrow::Cow::Owned(migrator.migrations.iter().filter(|m| m.version <= last).cloned().collect());
    migrator.run(&pool).await.unwrap();

    // A connection and an unfinished attempt, written as the previous release wrote them.
    let cipher = TokenCipher::new(&[Secret::new([42u8; 32])]);
    let access = cipher.encrypt("sk_test_previousAccessToken", "stripe:acct_1Previous000:access");
    let refresh = cipher.encrypt("rt_previousRefreshToken", "stripe:acct_1Previous000:refresh");
    sqlx::query(
        "INSERT INTO connections (id, provider, account_id, account_name, livemode, scope, status, access_token, refresh_token,
            publishable_key, connected_by_subject, connected_by_name, connected_at, updated_at, last_checked_at)
         VALUES ('conn_previous', 'stripe', 'acct_1Previous000', 'Previous Ltd', 1, 'read_only', 'connected', $1, $2, 'pk_live_x',
            'admin-1', 'Ada', 1700000000, 1700000000, 1700000100)",
    )
    .bind(access)
    .bind(refresh)
    .execute(&pool)
    .await
    .unwrap();
    let now = chrono::Utc::now().timestamp();
    sqlx::query("INSERT INTO connect_attempts (state, provider, session_subject, code_challenge, created_at, expires_at) VALUES ('s1', 'stripe', 'admin-1', 'c1', $1, $2)")
        .bind(now)
        .bind(now + 600)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let db = Db::connect(&url).await.expect("the migration runs");
    let listed = db.list_connections("default").await.unwrap();
    assert_eq!(listed.len(), 1);
    let view = &listed[0];
    assert_eq!((view.id.as_str(), view.account_name.as_str(), view.livemode), ("conn_previous", "Previous Ltd", Some(true)));
    let record = db.connection("conn_previous").await.unwrap().unwrap();
    assert_eq!((record.access_expires_at, record.token_version, record.renewing_until), (None, 0, None));
    assert_eq!(record.workspace, "default", "rows from before belong to the default workspace");
    let token = cipher.open("stripe", "acct_1Previous000", TokenKind::Access, record.access_token.as_deref().unwrap()).unwrap();
    assert_eq!(token.expose(), "sk_test_previousAccessToken");
    let attempt = db.consume_attempt("default", "stripe", "s1", "admin-1", now).await.unwrap().unwrap();
    assert_eq!((attempt.code_challenge.as_str(), attempt.redirect_uri), ("c1", None), "an attempt begun before the upgrade finishes after it");
    // The renewal lease works on migrated rows.
    assert!(db.claim_renewal("conn_previous", 0, "renewal_first", 60).await.unwrap());
    assert!(!db.claim_renewal("conn_previous", 0, "renewal_second", 60).await.unwrap(), "one renewal at a time");
}
