//! Database access: one diesel `MultiConnection` over PostgreSQL and SQLite,
//! an r2d2 pool that picks the backend from the URL, and embedded migrations.

pub mod condition;
pub mod schema;

use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, Pool, PooledConnection, R2D2Connection};
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::AppError;

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

pub type DbPool = Pool<Manager>;
pub type PooledConn = PooledConnection<Manager>;

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Where the data lives, decided from the URL scheme: `postgres://` or
/// `postgresql://` is PostgreSQL; anything else is a SQLite file path
/// (an optional `sqlite://` prefix is removed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbTarget {
    Postgres(String),
    Sqlite(PathBuf),
}

impl DbTarget {
    pub fn parse(url: &str) -> DbTarget {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            DbTarget::Postgres(url.to_string())
        } else {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url);
            DbTarget::Sqlite(PathBuf::from(path))
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, DbTarget::Postgres(_))
    }

    /// A description safe for logs (no password).
    pub fn describe(&self) -> String {
        match self {
            DbTarget::Postgres(url) => match url.split_once('@') {
                Some((_, host)) => format!("PostgreSQL at {host}"),
                None => "PostgreSQL".to_string(),
            },
            DbTarget::Sqlite(path) => format!("SQLite at {}", path.display()),
        }
    }
}

/// r2d2 manager that opens the backend named by the URL and nothing else
/// (`MultiConnection::establish` would try each backend in turn, and SQLite
/// accepts any string as a file name).
#[derive(Debug)]
pub struct Manager {
    target: DbTarget,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        match &self.target {
            DbTarget::Postgres(url) => PgConnection::establish(url)
                .map(DbConn::Pg)
                .map_err(r2d2::Error::ConnectionError),
            DbTarget::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())
                    .map_err(r2d2::Error::ConnectionError)?;
                // the busy timeout makes writers queue instead of failing at
                // once; WAL itself is switched on once, in `connect`. Temporary
                // B-trees (a sort or a set a statement needs) stay in memory:
                // in files, every such statement created, wrote and deleted
                // one, five system calls and a write for nothing
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        // r2d2 asks on the thread that used the connection, as it goes back
        std::thread::panicking() || conn.is_broken() || CONNECTION_LOST.with(|c| c.replace(false))
    }
}

/// Opens the pool; creates the SQLite file's folder when needed.
pub fn connect(target: &DbTarget, max_size: u32) -> Result<DbPool, String> {
    if let DbTarget::Sqlite(path) = target {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
    }
    if let DbTarget::Sqlite(path) = target {
        // WAL lets readers run beside the writer. The mode is stored in the
        // file; set it once here, as several pooled connections switching it
        // at the same moment would lock each other out.
        let mut conn = SqliteConnection::establish(&path.to_string_lossy()).map_err(|e| {
            // SQLite says only "unable to open database file"; the OS says why
            let why = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .err()
                .map(|os| format!(" ({os})"))
                .unwrap_or_default();
            format!("cannot open {}: {e}{why}", target.describe())
        })?;
        conn.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;")
            .map_err(|e| format!("cannot set WAL mode on {}: {e}", target.describe()))?;
    }
    Pool::builder()
        .max_size(max_size)
        // a one-connection pool is a command's that runs once and exits:
        // no connection may still be opening in the background at exit
        // (libpq torn down under it crashes the process)
        .min_idle(Some(u32::from(max_size > 1)))
        .connection_timeout(Duration::from_secs(10))
        // no `SELECT 1` round trip at every check-out: a broken connection
        // fails its query, diesel marks it broken and r2d2 drops it
        .test_on_check_out(false)
        .build(Manager {
            target: target.clone(),
        })
        .map_err(|e| format!("cannot open {}: {e}", target.describe()))
}

/// Applies the pending migrations of the connection's backend; returns their names.
pub fn run_migrations(conn: &mut DbConn) -> Result<Vec<String>, String> {
    let source = match conn {
        DbConn::Pg(_) => PG_MIGRATIONS,
        DbConn::Sqlite(_) => SQLITE_MIGRATIONS,
    };
    let done: Vec<String> = conn
        .run_pending_migrations(source)
        .map(|done| done.iter().map(|v| v.to_string()).collect())
        .map_err(|e| format!("migration failed: {e}"))?;
    if let (false, DbConn::Sqlite(c)) = (done.is_empty(), &mut *conn) {
        // new tables and indexes: give the planner statistics at once, as
        // SQLite never gathers them by itself. (PostgreSQL's autovacuum
        // analyses new and changed tables on its own; a plain ANALYZE there
        // would also walk every other schema of the database.)
        c.batch_execute("ANALYZE")
            .map_err(|e| format!("ANALYZE after migrating failed: {e}"))?;
    }
    Ok(done)
}

/// Keeps SQLite's planner statistics fresh as the data grows (`PRAGMA
/// optimize` analyses only what changed enough); run by the sweeper.
/// PostgreSQL's autovacuum does this by itself.
pub fn optimize(conn: &mut DbConn) -> Result<(), AppError> {
    if let DbConn::Sqlite(c) = conn {
        c.batch_execute("PRAGMA optimize")?;
    }
    Ok(())
}

/// Runs `f` in a transaction meant to write. On SQLite it starts with
/// `BEGIN IMMEDIATE`, taking the write lock up front: a deferred transaction
/// that reads and then writes fails with SQLITE_BUSY when another writer got
/// in between, which the busy timeout cannot cure. Nested calls use savepoints.
pub fn write_tx<T, F>(conn: &mut DbConn, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConn) -> Result<T, AppError>,
{
    if matches!(conn, DbConn::Pg(_)) {
        conn.transaction(f)
    } else {
        sqlite_write_tx(conn, f)
    }
}

static SQLITE_WRITER: parking_lot::FairMutex<()> = parking_lot::const_fair_mutex(());

fn sqlite_write_tx<T, F>(conn: &mut DbConn, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConn) -> Result<T, AppError>,
{
    let depth = match conn {
        DbConn::Sqlite(c) => {
            AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()?
        }
        DbConn::Pg(_) => None,
    };
    if depth.is_some() {
        return conn.transaction(f);
    }
    // One writer at a time inside the process, in arrival order: queued
    // writers wait on a fair mutex instead of spinning in SQLite's busy
    // handler, and no newcomer overtakes them (an unfair lock let some wait
    // half a second under 16 writers). The busy timeout still covers writers
    // in other processes (`aftercare sweep` from cron).
    let waited = std::time::Instant::now();
    let _writer = SQLITE_WRITER.lock();
    if let DbConn::Sqlite(c) = conn {
        AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
    }
    crate::metrics::writer_wait(waited.elapsed());
    match f(conn) {
        Ok(value) => {
            <DbConn as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(err) => {
            // the original error matters more than a failed rollback
            let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
            Err(err)
        }
    }
}

thread_local! {
    /// Set while this thread works with a pooled connection (see [`with_conn`]).
    static HOLDING_CONNECTION: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Set when the connection this thread holds was found cut (the server
    /// restarted): it must not go back to the pool. diesel marks a
    /// connection broken only inside a transaction; one cut between
    /// transactions would otherwise be handed out again and again.
    static CONNECTION_LOST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The connection this thread holds was cut: drop it when it is returned.
pub fn mark_connection_lost() {
    CONNECTION_LOST.with(|c| c.set(true));
}

/// Runs `f` with a connection from the pool. While it runs the thread is
/// marked as holding a connection, so that slow work which must not keep
/// one from other requests (password hashing) can check that it does not.
pub fn with_conn<T>(
    pool: &DbPool,
    f: impl FnOnce(&mut DbConn) -> Result<T, AppError>,
) -> Result<T, AppError> {
    struct Held;
    impl Drop for Held {
        fn drop(&mut self) {
            HOLDING_CONNECTION.with(|h| h.set(false));
        }
    }
    CONNECTION_LOST.with(|c| c.set(false));
    let waited = std::time::Instant::now();
    let mut conn = pool.get()?;
    crate::metrics::pool_wait(waited.elapsed());
    HOLDING_CONNECTION.with(|h| h.set(true));
    let _held = Held;
    f(&mut conn)
}

/// The database answers a trivial query (`/readyz`).
pub fn ping(conn: &mut DbConn) -> Result<(), AppError> {
    conn.batch_execute("SELECT 1")
        .map_err(|_| AppError::Unavailable)
}

/// True while the current thread holds a pooled connection in [`with_conn`].
pub fn holding_connection() -> bool {
    HOLDING_CONNECTION.with(|h| h.get())
}

/// The default SQLite location when `DATABASE_URL` is unset.
pub fn default_sqlite_path() -> PathBuf {
    Path::new("data").join("aftercare.db")
}
