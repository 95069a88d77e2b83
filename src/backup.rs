//! `aftercare backup <dir>` and `aftercare restore <dir>`, for SQLite with
//! the local file store: a consistent copy taken while the service runs.
//!
//! The database is copied first, with SQLite's online `VACUUM INTO` (one
//! read transaction: a snapshot of every committed write, writers going on
//! meanwhile); then the original bytes of every file that snapshot names,
//! those not yet in the folder (files are kept by their SHA-256 and never
//! change, so a folder backed up into again only gains the new ones).
//! Bytes are stored before their rows commit, so every file the snapshot
//! names is in the store. Thumbnails and previews are not copied: they are
//! made again when first asked for.
//!
//! On PostgreSQL the database's own tools do this better (`pg_dump`, or
//! continuous archiving), and an S3-compatible store keeps its objects'
//! versions itself: the command says so instead of half doing it.

use std::fs;
use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel::SqliteConnection;

use crate::config::Config;
use crate::db::DbTarget;
use crate::storage::StorageTarget;

/// The database's file name inside a backup folder.
pub const DATABASE_FILE: &str = "aftercare.db";

/// What a backup or a restore did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub database_bytes: u64,
    /// Files the database names.
    pub files: usize,
    /// Of them, copied now (the others were there already).
    pub files_copied: usize,
    /// Files the database names whose bytes were not found (a restore
    /// refuses; a backup says which).
    pub missing: Vec<String>,
}

const PG_ADVICE: &str = "on PostgreSQL, back up with the database's own tools: `pg_dump --format=custom` (or continuous WAL archiving for point-in-time recovery), restored with `pg_restore`; see the README's Backups section";
const S3_ADVICE: &str = "the file store is S3-compatible: turn on the bucket's versioning (and replication) instead; this command copies only the database then";

/// Copies the SQLite database and the local store's new files into `dir`.
pub fn backup(config: &Config, dir: &Path) -> Result<Report, String> {
    let DbTarget::Sqlite(db_path) = &config.database else {
        return Err(PG_ADVICE.to_string());
    };
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let target = dir.join(DATABASE_FILE);
    let partial = dir.join(format!("{DATABASE_FILE}.partial"));
    let _ = fs::remove_file(&partial);
    let mut live = open(db_path)?;
    live.batch_execute("PRAGMA busy_timeout = 10000;")
        .map_err(|e| e.to_string())?;
    live.batch_execute(&format!("VACUUM INTO {}", quoted(&partial)))
        .map_err(|e| format!("the online copy failed: {e}"))?;
    drop(live);
    // the previous backup stays whole until the new one is
    fs::rename(&partial, &target).map_err(|e| e.to_string())?;
    let mut report = Report {
        database_bytes: fs::metadata(&target).map_or(0, |m| m.len()),
        ..Report::default()
    };
    let names = file_names(&target)?;
    report.files = names.len();
    let StorageTarget::Local(store) = &config.storage else {
        log::warn!("{S3_ADVICE}");
        return Ok(report);
    };
    for sha in names {
        let (from, to) = (original(store, &sha), original(dir, &sha));
        if to.exists() {
            continue;
        }
        if !from.exists() {
            report.missing.push(sha);
            continue;
        }
        copy(&from, &to)?;
        report.files_copied += 1;
    }
    Ok(report)
}

/// Restores a backup folder into an empty data folder: the database where
/// `DATABASE_URL` says (no file may be there yet) and the files into the
/// local store (which must hold no files yet). Checks the copy's integrity
/// and that every file it names came along.
pub fn restore(config: &Config, dir: &Path) -> Result<Report, String> {
    let DbTarget::Sqlite(db_path) = &config.database else {
        return Err(PG_ADVICE.to_string());
    };
    let source = dir.join(DATABASE_FILE);
    if !source.is_file() {
        return Err(format!("{} holds no {DATABASE_FILE}", dir.display()));
    }
    for taken in [db_path.clone(), with_suffix(db_path, "-wal")] {
        if taken.exists() {
            return Err(format!(
                "{} exists: restore into an empty data folder (move the old one aside first)",
                taken.display()
            ));
        }
    }
    let names = file_names(&source)?;
    let mut report = Report {
        files: names.len(),
        ..Report::default()
    };
    let store = match &config.storage {
        StorageTarget::Local(store) => {
            if fs::read_dir(store.join("files")).is_ok_and(|mut d| d.next().is_some()) {
                return Err(format!(
                    "{} already holds files: restore into an empty file store",
                    store.join("files").display()
                ));
            }
            Some(store)
        }
        StorageTarget::S3 { .. } => None,
    };
    if let Some(store) = store {
        for sha in &names {
            let from = original(dir, sha);
            if !from.exists() {
                report.missing.push(sha.clone());
            }
        }
        if !report.missing.is_empty() {
            return Err(format!(
                "the backup lacks the bytes of {} file(s) its database names, e.g. {}",
                report.missing.len(),
                report.missing[0]
            ));
        }
        for sha in &names {
            copy(&original(dir, sha), &original(store, sha))?;
            report.files_copied += 1;
        }
    }
    if let Some(parent) = db_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    copy(&source, db_path)?;
    report.database_bytes = fs::metadata(db_path).map_or(0, |m| m.len());
    let verdict = integrity(db_path)?;
    if verdict != "ok" {
        return Err(format!(
            "the restored database fails its integrity check: {verdict}"
        ));
    }
    Ok(report)
}

/// SQLite's `PRAGMA integrity_check` of the database at `path`: `ok`, or
/// what is wrong.
pub fn integrity(path: &Path) -> Result<String, String> {
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = Text)]
        integrity_check: String,
    }
    let mut conn = open(path)?;
    let lines: Vec<Line> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .map_err(|e| e.to_string())?;
    Ok(lines
        .into_iter()
        .map(|l| l.integrity_check)
        .collect::<Vec<_>>()
        .join("; "))
}

fn open(path: &Path) -> Result<SqliteConnection, String> {
    if !path.is_file() {
        return Err(format!("no database at {}", path.display()));
    }
    SqliteConnection::establish(&path.to_string_lossy())
        .map_err(|e| format!("cannot open {}: {e}", path.display()))
}

/// The files the database at `path` names.
fn file_names(path: &Path) -> Result<Vec<String>, String> {
    use crate::db::schema::stored_files;
    let mut conn = open(path)?;
    stored_files::table
        .select(stored_files::sha256)
        .order(stored_files::sha256.asc())
        .load(&mut conn)
        .map_err(|e| e.to_string())
}

/// Where a file's original bytes lie under a store or backup folder (the
/// store's own layout, `files/ab/abcdef…`).
fn original(root: &Path, sha256: &str) -> PathBuf {
    root.join(crate::storage::Storage::original_key(sha256).as_ref())
}

/// Copies through a partial file, so that a copy cut short is never taken
/// for a whole one.
fn copy(from: &Path, to: &Path) -> Result<(), String> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let partial = with_suffix(to, ".partial");
    fs::copy(from, &partial).map_err(|e| format!("copying {}: {e}", from.display()))?;
    fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(|e| e.to_string())?;
    fs::rename(&partial, to).map_err(|e| e.to_string())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// A path as an SQL string literal.
fn quoted(path: &Path) -> String {
    format!("'{}'", path.to_string_lossy().replace('\'', "''"))
}
