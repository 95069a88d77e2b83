//! Work the service does on its own, not asked by a request: the sweep
//! (compile clocks as the year begins, overdue and due-soon deadlines,
//! expired uploads and the bytes no upload names).

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::{db, services};

/// What one sweep did.
#[derive(Debug, Default)]
pub struct Swept {
    /// Branches' yearly visit-plan clocks started (the year turned).
    pub compile_clocks: usize,
    pub deadlines: crate::kit::deadlines::SweepReport,
    /// Unattached uploads past their time, removed.
    pub uploads_removed: usize,
    /// Files no upload named any more, removed from the store.
    pub files_removed: usize,
}

/// One sweep, as the built-in sweeper and `aftercare sweep` run it: once a
/// year has begun, each branch's clock to compile its yearly visit plan
/// starts; passed deadlines become overdue and are escalated; unattached uploads past
/// their 24 hours are removed, and with them the bytes no other upload
/// shares. Safe beside other instances.
pub async fn sweep(state: &AppState) -> AppResult<Swept> {
    let now = state.clock.now_naive();
    let config = state.config.clone();
    let (compile_clocks, deadlines) = state
        .db(move |conn| {
            // before the pass below, so a clock already past due escalates at once
            let started = services::visit_plans::start_yearly_compile_clocks(conn, &config, now)?;
            let report = crate::kit::deadlines::sweep(conn, now)?;
            db::optimize(conn)?;
            Ok((started, report))
        })
        .await?;
    let mut swept = Swept {
        compile_clocks,
        deadlines,
        ..Default::default()
    };
    // removals a stopped sweeper left half done: their bytes go now
    let abandoned = state
        .db(move |conn| crate::kit::attachments::reclaim_abandoned_removals(conn, now, 200))
        .await?;
    for (sha256, until) in abandoned {
        remove_bytes(state, sha256, until).await?;
    }
    loop {
        let expired = state
            .db(move |conn| crate::kit::attachments::expired_uploads(conn, now, 200))
            .await?;
        if expired.is_empty() {
            break;
        }
        for (id, sha256) in expired {
            let removed = state
                .db(move |conn| crate::kit::attachments::remove_upload(conn, id, now))
                .await?;
            let Some(orphaned) = removed else {
                continue;
            };
            swept.uploads_removed += 1;
            if !orphaned {
                continue;
            }
            // decided and committed in the database first; the store is
            // touched with no transaction open
            let sha = sha256.clone();
            let claim = state
                .db(move |conn| crate::kit::attachments::claim_removal(conn, &sha, now))
                .await?;
            if let Some(until) = claim {
                remove_bytes(state, sha256, until).await?;
                swept.files_removed += 1;
            }
        }
    }
    Ok(swept)
}

/// Deletes a claimed file's bytes from the store, then ends the removal. A
/// failure leaves the claim to run out and the next sweep to try again.
async fn remove_bytes(
    state: &AppState,
    sha256: String,
    until: chrono::NaiveDateTime,
) -> AppResult<()> {
    state
        .storage
        .delete_file(&sha256)
        .await
        .map_err(|e| AppError::StorageUnavailable(e.to_string()))?;
    state
        .db(move |conn| crate::kit::attachments::finish_removal(conn, &sha256, until))
        .await
}
