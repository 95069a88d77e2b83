//! `aftercare backup` / `restore`: a copy taken under write load restores
//! whole — the integrity check ok, every record acknowledged before the
//! backup began, every attachment's bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aftercare::db::DbTarget;
use aftercare::storage::StorageTarget;
use common::*;
use serde_json::json;

fn pdf(i: usize) -> Vec<u8> {
    format!("%PDF-1.4\n% handover record {i}\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")
        .into_bytes()
}

#[actix_rt::test]
async fn a_backup_taken_under_write_load_restores_every_acknowledged_record_and_file() {
    let app = spawn().await;
    let DbTarget::Sqlite(_) = &app.state.config.database else {
        // PostgreSQL: the command points to pg_dump instead of half doing it
        let refused = aftercare::backup::backup(&app.state.config, std::path::Path::new("/tmp/x"));
        assert!(refused.unwrap_err().contains("pg_dump"));
        return;
    };
    if !matches!(app.state.config.storage, StorageTarget::Local(_)) {
        return; // the S3 runs: the bucket's versioning keeps the files
    }
    let desk = east_desk(&app).await;
    let project = app
        .project(&desk.admin, "BK-1", desk.org.east_pd, desk.customer)
        .await["id"]
        .as_i64()
        .unwrap();
    let mut customers = vec![];
    let mut files = vec![];
    for i in 0..5 {
        customers.push(
            app.customer(&desk.admin, &format!("业主 {i}"), desk.org.east)
                .await,
        );
        let up = app
            .upload(&desk.pm, &format!("record-{i}.pdf"), &pdf(i))
            .await;
        up.expect(201);
        let added = app
            .post(
                &format!("/api/v1/projects/{project}/attachments"),
                &desk.pm,
                json!({"upload_id": up.body["id"], "caption": format!("record {i}")}),
            )
            .await;
        added.expect(201);
        files.push((added.body["id"].as_i64().unwrap(), pdf(i)));
    }

    let folder = tempfile::tempdir().unwrap();
    let into = folder.path().join("backup");
    let config = app.state.config.clone();
    let target = into.clone();
    let copying = std::thread::spawn(move || aftercare::backup::backup(&config, &target));
    // writes go on while it copies
    let mut during = 0;
    while !copying.is_finished() || during < 3 {
        app.customer(&desk.admin, &format!("during {during}"), desk.org.east)
            .await;
        during += 1;
    }
    let report = copying.join().unwrap().unwrap();
    assert_eq!(report.files, 5);
    assert_eq!(report.files_copied, 5);
    assert!(report.missing.is_empty());
    // again into the same folder: only what is new is copied
    let again = aftercare::backup::backup(&app.state.config, &into).unwrap();
    assert_eq!(again.files_copied, 0);

    // restore into an empty data folder and serve from it
    let restored_db = folder.path().join("data").join("aftercare.db");
    let restored_store = folder.path().join("data").join("files");
    let mut config = (*app.state.config).clone();
    config.database = DbTarget::Sqlite(restored_db.clone());
    config.storage = StorageTarget::Local(restored_store.clone());
    let r = aftercare::backup::restore(&config, &into).unwrap();
    assert_eq!(r.files_copied, 5);
    assert_eq!(aftercare::backup::integrity(&restored_db).unwrap(), "ok");
    // a second restore over it is refused: nothing is overwritten
    let twice = aftercare::backup::restore(&config, &into).unwrap_err();
    assert!(twice.contains("empty"), "{twice}");

    let back = spawn_with(move |c| {
        c.database = DbTarget::Sqlite(restored_db);
        c.storage = StorageTarget::Local(restored_store);
    })
    .await;
    let admin = back.admin().await;
    for id in &customers {
        back.get(&format!("/api/v1/customers/{id}"), &admin)
            .await
            .expect(200);
    }
    for (id, bytes) in &files {
        let (r, got) = back
            .get_raw(&format!("/api/v1/attachments/{id}/content"), &admin, &[])
            .await;
        r.expect(200);
        assert_eq!(&got, bytes);
    }
}

#[actix_rt::test]
async fn a_restore_refuses_a_folder_that_is_no_backup() {
    let app = spawn().await;
    let folder = tempfile::tempdir().unwrap();
    let mut config = (*app.state.config).clone();
    config.database = DbTarget::Sqlite(folder.path().join("new.db"));
    let refused = aftercare::backup::restore(&config, folder.path()).unwrap_err();
    assert!(
        refused.contains("aftercare.db") || refused.contains("pg_dump"),
        "{refused}"
    );
}
