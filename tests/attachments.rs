//! Photos and documents: upload first, attach in the step (or after it),
//! download with the right headers, thumbnails without metadata, hide
//! without losing anything, and unattached uploads swept after 24 hours.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use aftercare::storage::{Derived, Storage};
use chrono::Duration;
use common::*;
use serde_json::json;

/// A JPEG `width` × `height` whose EXIF says "rotate 90° to view" and
/// carries a GPS latitude: what a phone held upright sends.
fn phone_photo(width: u32, height: u32) -> Vec<u8> {
    let picture =
        image::RgbImage::from_fn(width, height, |x, _| image::Rgb([(x % 256) as u8, 120, 40]));
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80)
        .encode_image(&picture)
        .unwrap();
    // TIFF, little-endian: IFD0 with Orientation = 6 and a GPS IFD pointer;
    // the GPS IFD with GPSLatitudeRef = "N"
    let mut tiff: Vec<u8> = vec![b'I', b'I', 0x2A, 0, 8, 0, 0, 0];
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
    tiff.extend_from_slice(&[0x25, 0x88, 4, 0, 1, 0, 0, 0, 38, 0, 0, 0]);
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&[0x01, 0x00, 2, 0, 2, 0, 0, 0, b'N', 0, 0, 0]);
    tiff.extend_from_slice(&0u32.to_le_bytes());
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
    app1.extend_from_slice(b"Exif\0\0");
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn pdf(pages_of_text: usize) -> Vec<u8> {
    let mut body = b"%PDF-1.4\n".to_vec();
    for i in 0..pages_of_text {
        body.extend_from_slice(format!("% line {i} of a scanned reply letter\n").as_bytes());
    }
    body.extend_from_slice(b"%%EOF\n");
    body
}

/// Project P-1 of the east department and its customer; answers its id.
async fn east_project<S, B>(app: &TestApp<S>, desk: &EastDesk) -> i64
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    app.project(&desk.admin, "P-1", desk.org.east_pd, desk.customer)
        .await["id"]
        .as_i64()
        .unwrap()
}

/// How many uploads are recorded.
async fn upload_rows<S>(app: &TestApp<S>) -> i64 {
    app.state
        .db(|conn| {
            use aftercare::db::schema::uploads;
            use diesel::prelude::*;
            Ok(uploads::table.count().get_result(conn)?)
        })
        .await
        .unwrap()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[actix_rt::test]
async fn a_photo_is_uploaded_attached_listed_downloaded_thumbnailed_and_hidden_without_loss() {
    let app = spawn().await;
    let desk = east_desk(&app).await;
    let project = east_project(&app, &desk).await;
    let photo = phone_photo(400, 200);

    let up = app.upload(&desk.pm, "墙面裂缝.jpg", &photo).await;
    up.expect(201);
    assert_eq!(up.body["media_type"], "image/jpeg");
    assert_eq!(up.body["size_bytes"], photo.len() as i64);
    assert_eq!(up.body["file_name"], "墙面裂缝.jpg");
    assert_eq!(up.body["previews_available"], true);
    assert!(up.body["attached_at"].is_null());
    let sha = up.body["sha256"].as_str().unwrap().to_string();
    assert_eq!(sha.len(), 64);
    let upload_id = up.body["id"].as_i64().unwrap();

    let added = app
        .post(
            &format!("/api/v1/projects/{project}/attachments"),
            &desk.pm,
            json!({"upload_id": upload_id, "caption": "crack in the stair wall", "taken_at": "2026-03-01T08:00:00Z"}),
        )
        .await;
    added.expect(201);
    let id = added.body["id"].as_i64().unwrap();
    assert_eq!(added.body["subject_type"], "project");
    assert_eq!(added.body["caption"], "crack in the stair wall");
    assert_eq!(
        added.body["thumbnail_url"],
        format!("/api/v1/attachments/{id}/content?size=thumbnail")
    );

    let list = app
        .get(&format!("/api/v1/projects/{project}/attachments"), &desk.pm)
        .await;
    list.expect(200);
    assert_eq!(list.item_ids(), vec![id]);

    // the original, every byte, EXIF included
    let (r, bytes) = app
        .get_raw(&format!("/api/v1/attachments/{id}/content"), &desk.pm, &[])
        .await;
    r.expect(200);
    assert_eq!(bytes, photo);
    assert_eq!(r.header("content-type").as_deref(), Some("image/jpeg"));
    assert_eq!(r.header("etag"), Some(format!("\"{sha}\"")));
    assert!(r
        .header("content-disposition")
        .unwrap()
        .contains("filename*=UTF-8''%E5%A2%99%E9%9D%A2%E8%A3%82%E7%BC%9D.jpg"));

    // the thumbnail: upright (the EXIF said to turn it), at most 320 px, no metadata
    let (r, thumb) = app
        .get_raw(
            &format!("/api/v1/attachments/{id}/content?size=thumbnail"),
            &desk.pm,
            &[],
        )
        .await;
    r.expect(200);
    assert_eq!(r.header("content-type").as_deref(), Some("image/jpeg"));
    let picture = image::load_from_memory(&thumb).unwrap();
    assert_eq!((picture.width(), picture.height()), (160, 320));
    assert!(
        !contains(&thumb, b"Exif"),
        "no EXIF (and so no GPS) in a thumbnail"
    );
    // made once and kept
    assert!(app
        .state
        .storage
        .exists(&Storage::derived_key(&sha, Derived::Thumbnail))
        .await
        .unwrap());
    let (r, preview) = app
        .get_raw(
            &format!("/api/v1/attachments/{id}/content?size=preview"),
            &desk.pm,
            &[],
        )
        .await;
    r.expect(200);
    let picture = image::load_from_memory(&preview).unwrap();
    assert_eq!((picture.width(), picture.height()), (200, 400));

    // hidden: gone from lists, kept for administrators and in the trail
    app.delete(
        &format!("/api/v1/attachments/{id}?reason=wrong%20project"),
        &desk.pm,
    )
    .await
    .expect(204);
    let list = app
        .get(&format!("/api/v1/projects/{project}/attachments"), &desk.pm)
        .await;
    assert!(list.item_ids().is_empty());
    app.get(&format!("/api/v1/attachments/{id}"), &desk.pm)
        .await
        .expect_problem(404, "not_found");
    app.get(
        &format!("/api/v1/projects/{project}/attachments?include_hidden=true"),
        &desk.pm,
    )
    .await
    .expect_problem(403, "forbidden");
    let all = app
        .get(
            &format!("/api/v1/projects/{project}/attachments?include_hidden=true"),
            &desk.admin,
        )
        .await;
    assert_eq!(all.item_ids(), vec![id]);
    let items = all.body["items"].as_array().unwrap();
    assert_eq!(items[0]["hidden_reason"], "wrong project");
    let (r, bytes) = app
        .get_raw(
            &format!("/api/v1/attachments/{id}/content"),
            &desk.admin,
            &[],
        )
        .await;
    r.expect(200);
    assert_eq!(bytes, photo, "the bytes of a hidden attachment are kept");
    let events = app
        .get(
            &format!("/api/v1/events?subject_type=project&subject_id={project}"),
            &desk.admin,
        )
        .await;
    let actions = events.item_strs("action");
    assert!(actions.contains(&"attachment.added") && actions.contains(&"attachment.hidden"));
}

#[actix_rt::test]
async fn the_type_is_decided_by_the_content_not_the_name_or_the_claimed_type() {
    let app = spawn().await;
    let desk = east_desk(&app).await;
    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00".to_vec();
    exe.extend_from_slice(&[0u8; 60]);
    exe[0x3c] = 0x40;
    exe.extend_from_slice(b"PE\0\0");
    exe.extend_from_slice(&[0u8; 200]);
    let r = app
        .upload_with(&desk.pm, "photo.jpg", "image/jpeg", &exe, None)
        .await;
    r.expect_problem(415, "unsupported_media_type");
    assert!(
        r.body["detail"].as_str().unwrap().contains("application/"),
        "names the detected type: {}",
        r.body
    );
    let r = app
        .upload_with(
            &desk.pm,
            "notes.txt",
            "text/plain",
            b"just some words",
            None,
        )
        .await;
    r.expect_problem(415, "unsupported_media_type");
    assert!(r.body["detail"].as_str().unwrap().contains("unknown"));

    // a phone's HEIC photo is kept, without previews
    let mut heic = vec![0, 0, 0, 0x18];
    heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
    heic.extend_from_slice(&[0u8; 64]);
    let r = app
        .upload_with(&desk.pm, "IMG_0001.HEIC", "image/heic", &heic, None)
        .await;
    r.expect(201);
    assert_eq!(r.body["media_type"], "image/heic");
    assert_eq!(r.body["previews_available"], false);

    // a PDF sent as an octet stream with no extension is a PDF
    let r = app
        .upload_with(&desk.pm, "reply", "application/octet-stream", &pdf(3), None)
        .await;
    r.expect(201);
    assert_eq!(r.body["media_type"], "application/pdf");
    assert_eq!(r.body["previews_available"], false);
}

#[actix_rt::test]
async fn a_file_over_the_limit_is_413_and_nothing_is_stored() {
    let app = spawn().await;
    let desk = east_desk(&app).await;
    let mut big = phone_photo(16, 16);
    big.resize(21 * 1024 * 1024, 0);
    let r = app.upload(&desk.pm, "big.jpg", &big).await;
    r.expect_problem(413, "payload_too_large");
    let uploads = upload_rows(&app).await;
    assert_eq!(uploads, 0);
    let spooled = std::fs::read_dir(app.state.storage.spool())
        .unwrap()
        .count();
    assert_eq!(spooled, 0, "the spool file is removed");
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&big))
    };
    assert!(
        !app.state
            .storage
            .exists(&Storage::original_key(&sha))
            .await
            .unwrap(),
        "nothing reaches the store"
    );

    // a large scan goes to the store in parts (5 MiB each) and comes back whole
    let project = east_project(&app, &desk).await;
    let mut scan = pdf(10);
    scan.resize(11 * 1024 * 1024 + 17, b'%');
    let up = app.upload(&desk.pm, "竣工图.pdf", &scan).await;
    up.expect(201);
    let id = app
        .post(
            &format!("/api/v1/projects/{project}/attachments"),
            &desk.pm,
            json!({"upload_id": up.body["id"]}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let (r, bytes) = app
        .get_raw(&format!("/api/v1/attachments/{id}/content"), &desk.pm, &[])
        .await;
    r.expect(200);
    assert!(bytes == scan, "the large file comes back byte for byte");

    // just under the limit is stored
    let app = spawn_with(|c| c.max_upload_bytes = 64 * 1024).await;
    let desk = east_desk(&app).await;
    let mut fits = phone_photo(16, 16);
    fits.resize(64 * 1024, 0);
    app.upload(&desk.pm, "fits.jpg", &fits).await.expect(201);
    fits.push(0);
    app.upload(&desk.pm, "over.jpg", &fits)
        .await
        .expect_problem(413, "payload_too_large");
}

#[actix_rt::test]
async fn an_attachment_is_seen_exactly_where_its_subject_is() {
    let app = spawn().await;
    let desk = east_desk(&app).await;
    let project = east_project(&app, &desk).await;
    let upload = app.upload(&desk.pm, "a.jpg", &phone_photo(40, 20)).await;
    let added = app
        .post(
            &format!("/api/v1/projects/{project}/attachments"),
            &desk.pm,
            json!({"upload_id": upload.body["id"]}),
        )
        .await;
    added.expect(201);
    let id = added.body["id"].as_i64().unwrap();

    app.user(
        &desk.admin,
        "north.eng",
        "branch_engineer",
        Some(desk.org.north),
    )
    .await;
    let north = app.token("north.eng", PASSWORD).await;
    for path in [
        format!("/api/v1/attachments/{id}"),
        format!("/api/v1/attachments/{id}/content"),
        format!("/api/v1/attachments/{id}/content?size=thumbnail"),
        format!("/api/v1/projects/{project}/attachments"),
    ] {
        app.get(&path, &north)
            .await
            .expect_problem(404, "not_found");
    }
    app.delete(&format!("/api/v1/attachments/{id}"), &north)
        .await
        .expect_problem(404, "not_found");
    app.patch(
        &format!("/api/v1/attachments/{id}"),
        &north,
        json!({"caption": "mine now"}),
    )
    .await
    .expect_problem(404, "not_found");
    let theirs = app.upload(&north, "n.jpg", &phone_photo(30, 30)).await;
    app.post(
        &format!("/api/v1/projects/{project}/attachments"),
        &north,
        json!({"upload_id": theirs.body["id"]}),
    )
    .await
    .expect_problem(404, "not_found");
    // someone else's upload, or one that does not exist, cannot be attached
    for upload_id in [theirs.body["id"].as_i64().unwrap(), 987_654] {
        let r = app
            .post(
                &format!("/api/v1/projects/{project}/attachments"),
                &desk.pm,
                json!({ "upload_id": upload_id }),
            )
            .await;
        r.expect_problem(422, "upload_unavailable");
        assert_eq!(r.fields(), vec!["upload_id"]);
    }
    app.get(&format!("/api/v1/uploads/{}", theirs.body["id"]), &desk.pm)
        .await
        .expect_problem(404, "not_found");
}

#[actix_rt::test]
async fn a_customer_sees_the_attachments_of_their_projects_but_not_internal_ones() {
    let app = spawn().await;
    let desk = east_desk(&app).await;
    let project = east_project(&app, &desk).await;
    let mut ids = vec![];
    for internal in [false, true] {
        let upload = app.upload(&desk.pm, "a.jpg", &phone_photo(40, 20)).await;
        let added = app
            .post(
                &format!("/api/v1/projects/{project}/attachments"),
                &desk.pm,
                json!({"upload_id": upload.body["id"], "internal": internal}),
            )
            .await;
        added.expect(201);
        assert_eq!(added.body["internal"], internal);
        ids.push(added.body["id"].as_i64().unwrap());
    }
    let r = app
        .post(
            "/api/v1/users",
            &desk.admin,
            json!({"username": "owner.one", "display_name": "Owner", "role": "customer",
                   "customer_id": desk.customer, "password": PASSWORD}),
        )
        .await;
    r.expect(201);
    let owner = app.token("owner.one", PASSWORD).await;
    let list = app
        .get(&format!("/api/v1/projects/{project}/attachments"), &owner)
        .await;
    assert_eq!(list.item_ids(), vec![ids[0]]);
    app.get(&format!("/api/v1/attachments/{}/content", ids[1]), &owner)
        .await
        .expect_problem(404, "not_found");
    app.get(&format!("/api/v1/attachments/{}/content", ids[0]), &owner)
        .await
        .expect(200);
    // staff see both, and may lift the mark once the judgment is made
    let list = app
        .get(&format!("/api/v1/projects/{project}/attachments"), &desk.pm)
        .await;
    assert_eq!(list.item_ids(), ids);
    let stale = app
        .send(
            actix_web::test::TestRequest::patch()
                .uri(&format!("/api/v1/attachments/{}", ids[1]))
                .insert_header(("Authorization", format!("Bearer {}", desk.pm)))
                .insert_header(("If-Match", "\"7\""))
                .set_json(json!({"internal": false})),
        )
        .await;
    stale.expect_problem(412, "version_mismatch");
    let changed = app
        .send(
            actix_web::test::TestRequest::patch()
                .uri(&format!("/api/v1/attachments/{}", ids[1]))
                .insert_header(("Authorization", format!("Bearer {}", desk.pm)))
                .insert_header(("If-Match", "\"1\""))
                .set_json(json!({"internal": false})),
        )
        .await;
    changed.expect(200);
    assert_eq!(changed.header("etag").as_deref(), Some("\"2\""));
    let list = app
        .get(&format!("/api/v1/projects/{project}/attachments"), &owner)
        .await;
    assert_eq!(list.item_ids(), ids);
}

#[actix_rt::test]
async fn if_none_match_is_304_and_a_range_is_206() {
    let app = spawn().await;
    let desk = east_desk(&app).await;
    let project = east_project(&app, &desk).await;
    let letter = pdf(2000);
    let upload = app.upload(&desk.pm, "回复函.pdf", &letter).await;
    let id = app
        .post(
            &format!("/api/v1/projects/{project}/attachments"),
            &desk.pm,
            json!({"upload_id": upload.body["id"]}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/attachments/{id}/content");
    let (r, _) = app.get_raw(&path, &desk.pm, &[]).await;
    let etag = r.header("etag").unwrap();
    assert_eq!(r.header("accept-ranges").as_deref(), Some("bytes"));
    assert_eq!(r.header("content-type").as_deref(), Some("application/pdf"));

    let (r, body) = app
        .get_raw(&path, &desk.pm, &[("If-None-Match", &etag)])
        .await;
    r.expect(304);
    assert!(body.is_empty());
    let (r, _) = app
        .get_raw(&path, &desk.pm, &[("If-None-Match", "\"something-else\"")])
        .await;
    r.expect(200);

    let (r, part) = app
        .get_raw(&path, &desk.pm, &[("Range", "bytes=100-199")])
        .await;
    r.expect(206);
    assert_eq!(part, letter[100..200]);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 100-199/{}", letter.len()))
    );
    let (r, tail) = app
        .get_raw(&path, &desk.pm, &[("Range", "bytes=-10")])
        .await;
    r.expect(206);
    assert_eq!(tail, letter[letter.len() - 10..]);
    let beyond = format!("bytes={}-", letter.len());
    let (r, _) = app.get_raw(&path, &desk.pm, &[("Range", &beyond)]).await;
    r.expect_problem(416, "range_not_satisfiable");
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes */{}", letter.len()))
    );
    // a last byte past what the server can count is refused, not a panic
    let (r, _) = app
        .get_raw(
            &path,
            &desk.pm,
            &[("Range", "bytes=0-18446744073709551615")],
        )
        .await;
    r.expect_problem(416, "range_not_satisfiable");
    // one the file merely ends before is the rest of the file
    let (r, whole) = app
        .get_raw(
            &path,
            &desk.pm,
            &[("Range", "bytes=0-18446744073709551614")],
        )
        .await;
    r.expect(206);
    assert_eq!(whole, letter);
    // a PDF has no thumbnail
    app.get(&format!("{path}?size=thumbnail"), &desk.pm)
        .await
        .expect_problem(422, "preview_unavailable");
}

#[actix_rt::test]
async fn an_unattached_upload_is_removed_after_24_hours_and_its_bytes_unless_shared() {
    let app = spawn().await;
    let desk = east_desk(&app).await;
    let project = east_project(&app, &desk).await;
    let shared = phone_photo(50, 50);
    let alone = phone_photo(60, 60);
    let kept = app.upload(&desk.pm, "kept.jpg", &shared).await;
    let same = app.upload(&desk.admin, "same.jpg", &shared).await;
    let lone = app.upload(&desk.pm, "lone.jpg", &alone).await;
    assert_eq!(
        kept.body["sha256"], same.body["sha256"],
        "stored once by content"
    );
    app.post(
        &format!("/api/v1/projects/{project}/attachments"),
        &desk.pm,
        json!({"upload_id": kept.body["id"]}),
    )
    .await
    .expect(201);
    let key = |r: &Resp| Storage::original_key(r.body["sha256"].as_str().unwrap());

    // a minute short of 24 hours: nothing goes
    app.clock
        .advance(Duration::hours(24) - Duration::minutes(1));
    let swept = aftercare::sweep(&app.state).await.unwrap();
    assert_eq!(swept.uploads_removed, 0);
    let admin = app.admin().await;
    app.get(&format!("/api/v1/uploads/{}", same.body["id"]), &admin)
        .await
        .expect(200);

    // at 24 hours the two unattached uploads go; the lone file's bytes go with
    // them, the shared file's stay for the attachment
    app.clock.advance(Duration::minutes(1));
    let swept = aftercare::sweep(&app.state).await.unwrap();
    assert_eq!((swept.uploads_removed, swept.files_removed), (2, 1));
    let admin = app.admin().await;
    let pm = app.token("east.pm", PASSWORD).await;
    app.get(&format!("/api/v1/uploads/{}", same.body["id"]), &admin)
        .await
        .expect_problem(404, "not_found");
    app.get(&format!("/api/v1/uploads/{}", lone.body["id"]), &pm)
        .await
        .expect_problem(404, "not_found");
    assert!(!app.state.storage.exists(&key(&lone)).await.unwrap());
    assert!(app.state.storage.exists(&key(&kept)).await.unwrap());
    let attached = app
        .get(&format!("/api/v1/uploads/{}", kept.body["id"]), &pm)
        .await;
    attached.expect(200);
    assert!(attached.body["attached_at"].is_string());

    // an expired upload cannot be attached
    let late = app.upload(&pm, "late.jpg", &alone).await;
    app.clock.advance(Duration::hours(25));
    let pm = app.token("east.pm", PASSWORD).await;
    app.post(
        &format!("/api/v1/projects/{project}/attachments"),
        &pm,
        json!({"upload_id": late.body["id"]}),
    )
    .await
    .expect_problem(422, "upload_unavailable");
}

#[actix_rt::test]
async fn a_ledger_submission_attaches_its_documents_in_its_own_transaction() {
    let app = spawn().await;
    let desk = east_desk(&app).await;
    let project = east_project(&app, &desk).await;
    let certificate = app.upload(&desk.pm, "保修证书.pdf", &pdf(5)).await;
    let photo = app
        .upload(&desk.pm, "handover.jpg", &phone_photo(64, 48))
        .await;
    let ids = json!([certificate.body["id"], photo.body["id"]]);

    // refused (contacts missing): nothing is attached
    app.post(
        &format!("/api/v1/projects/{project}/ledger/submission"),
        &desk.pm,
        json!({"attachment_ids": ids}),
    )
    .await
    .expect_problem(422, "ledger_incomplete");
    let list = app
        .get(&format!("/api/v1/projects/{project}/attachments"), &desk.pm)
        .await;
    assert!(list.item_ids().is_empty());

    // someone else's upload in the list refuses the whole step
    let other = app.upload(&desk.admin, "x.jpg", &phone_photo(10, 10)).await;
    app.complete_contacts(&desk.pm, project).await;
    let r = app
        .post(
            &format!("/api/v1/projects/{project}/ledger/submission"),
            &desk.pm,
            json!({"attachment_ids": [certificate.body["id"], other.body["id"]]}),
        )
        .await;
    r.expect_problem(422, "upload_unavailable");
    assert_eq!(r.fields(), vec!["attachment_ids[1]"]);
    let p = app
        .get(&format!("/api/v1/projects/{project}"), &desk.pm)
        .await;
    assert_eq!(p.body["ledger"]["status"], "draft");

    let r = app
        .post(
            &format!("/api/v1/projects/{project}/ledger/submission"),
            &desk.pm,
            json!({"attachment_ids": ids}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["ledger"]["status"], "submitted");
    let list = app
        .get(&format!("/api/v1/projects/{project}/attachments"), &desk.pm)
        .await;
    assert_eq!(
        list.item_strs("file_name"),
        vec!["保修证书.pdf", "handover.jpg"]
    );
}

#[actix_rt::test]
async fn a_subject_keeps_at_most_the_configured_number_of_attachments() {
    let app = spawn_with(|c| c.max_attachments = 2).await;
    let desk = east_desk(&app).await;
    let project = east_project(&app, &desk).await;
    let mut ids = vec![];
    for i in 0..3 {
        let upload = app
            .upload(&desk.pm, "a.jpg", &phone_photo(20 + i, 20))
            .await;
        let r = app
            .post(
                &format!("/api/v1/projects/{project}/attachments"),
                &desk.pm,
                json!({"upload_id": upload.body["id"]}),
            )
            .await;
        if i < 2 {
            r.expect(201);
            ids.push(r.body["id"].as_i64().unwrap());
        } else {
            r.expect_problem(422, "too_many_attachments");
            // hiding one makes room
            app.delete(&format!("/api/v1/attachments/{}", ids[0]), &desk.pm)
                .await
                .expect(204);
            app.post(
                &format!("/api/v1/projects/{project}/attachments"),
                &desk.pm,
                json!({"upload_id": upload.body["id"]}),
            )
            .await
            .expect(201);
        }
    }
}

#[actix_rt::test]
async fn a_retried_upload_with_the_same_key_is_stored_once() {
    let app = spawn().await;
    let desk = east_desk(&app).await;
    let photo = phone_photo(30, 30);
    let first = app
        .upload_with(&desk.pm, "a.jpg", "image/jpeg", &photo, Some("phone-42"))
        .await;
    first.expect(201);
    let again = app
        .upload_with(&desk.pm, "a.jpg", "image/jpeg", &photo, Some("phone-42"))
        .await;
    again.expect(201);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.body["id"], first.body["id"]);
    // the same key with another file is a different request
    let other = app
        .upload_with(
            &desk.pm,
            "b.jpg",
            "image/jpeg",
            &phone_photo(31, 30),
            Some("phone-42"),
        )
        .await;
    other.expect_problem(422, "idempotency_key_reused");
}

#[actix_rt::test]
async fn an_upload_without_a_file_part_or_not_multipart_is_refused_clearly() {
    let app = spawn().await;
    let desk = east_desk(&app).await;
    app.post("/api/v1/uploads", &desk.pm, json!({"file": "abc"}))
        .await
        .expect_problem(415, "unsupported_media_type");
    let r = app.upload(&desk.pm, "empty.jpg", b"").await;
    r.expect_problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["file"]);
}

#[actix_rt::test]
async fn taken_at_may_not_lie_more_than_five_minutes_ahead_of_the_server() {
    let app = spawn().await;
    let desk = east_desk(&app).await;
    let project = east_project(&app, &desk).await;
    let now = app.clock.now();
    let attach = |minutes: i64| {
        let taken_at = (now + Duration::minutes(minutes)).to_rfc3339();
        let (app, pm) = (&app, &desk.pm);
        async move {
            let upload = app
                .upload(pm, "a.jpg", &phone_photo(20 + minutes as u32, 20))
                .await;
            app.post(
                &format!("/api/v1/projects/{project}/attachments"),
                pm,
                json!({"upload_id": upload.body["id"], "taken_at": taken_at}),
            )
            .await
        }
    };
    attach(5).await.expect(201);
    let r = attach(6).await;
    r.expect_problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["taken_at"]);
}

#[actix_rt::test]
async fn a_store_that_cannot_be_written_is_503_and_nothing_is_recorded() {
    let store = tempfile::tempdir().unwrap();
    let folder = store.path().join("files");
    let target = folder.clone();
    let app = spawn_with(move |c| {
        c.storage = aftercare::storage::StorageTarget::Local(target);
    })
    .await;
    let desk = east_desk(&app).await;
    // the store's folder is gone and a file stands in its place
    std::fs::remove_dir_all(&folder).unwrap();
    std::fs::write(&folder, b"not a folder").unwrap();
    app.upload(&desk.pm, "a.jpg", &phone_photo(20, 20))
        .await
        .expect_problem(503, "storage_unavailable");
    let uploads = upload_rows(&app).await;
    assert_eq!(uploads, 0);
}

#[actix_rt::test]
async fn uploads_not_yet_attached_are_held_to_a_quota_per_user() {
    let app = spawn_with(|c| {
        c.upload_quota_bytes = 100 * 1024;
        c.access_token_ttl_secs = 86_400;
    })
    .await;
    let desk = east_desk(&app).await;
    let project = east_project(&app, &desk).await;
    let photo = |fill: u8| {
        let mut p = phone_photo(16, 16);
        p.resize(60 * 1024, fill);
        p
    };
    let first = app.upload(&desk.pm, "one.jpg", &photo(1)).await;
    first.expect(201);
    app.clock.advance(Duration::hours(1));
    let r = app.upload(&desk.pm, "two.jpg", &photo(2)).await;
    r.expect_problem(429, "upload_quota_exceeded");
    // the first expires in 23 hours: then the quota frees
    assert_eq!(r.header("retry-after").as_deref(), Some("82800"));
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(photo(2)))
    };
    assert!(
        !app.state
            .storage
            .exists(&Storage::original_key(&sha))
            .await
            .unwrap(),
        "nothing over the quota reaches the store"
    );
    // another user has a quota of their own
    app.upload(&desk.admin, "two.jpg", &photo(2))
        .await
        .expect(201);
    // attached, the first no longer counts
    app.post(
        &format!("/api/v1/projects/{project}/attachments"),
        &desk.pm,
        json!({"upload_id": first.body["id"]}),
    )
    .await
    .expect(201);
    app.upload(&desk.pm, "two.jpg", &photo(2)).await.expect(201);
}

#[actix_rt::test]
async fn a_form_part_other_than_the_file_is_refused_unread() {
    let app = spawn().await;
    let desk = east_desk(&app).await;
    let send = |note_len: usize| {
        let boundary = "----aftercare-test-boundary-9c2e";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n")
                .as_bytes(),
        );
        body.resize(body.len() + note_len, b'n');
        body.extend_from_slice(
            format!(
                "\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(&phone_photo(16, 16));
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        actix_web::test::TestRequest::post()
            .uri("/api/v1/uploads")
            .insert_header(("Authorization", format!("Bearer {}", desk.pm)))
            .insert_header((
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            ))
            .set_payload(body)
    };
    let r = app.send(send(64 * 1024 + 1)).await;
    r.expect_problem(400, "invalid_field");
    assert_eq!(r.fields(), vec!["note"]);
    assert_eq!(upload_rows(&app).await, 0);
}

/// The sweeper's removal as three steps, each run here by hand: the
/// decision committed in the database, the bytes deleted with no
/// transaction open, the removal ended.
#[actix_rt::test]
async fn a_sweep_stopped_between_its_decision_and_the_store_leaves_bytes_the_next_sweep_removes() {
    use aftercare::kit::attachments as files;
    let app = spawn_with(|c| c.access_token_ttl_secs = 86_400).await;
    let desk = east_desk(&app).await;
    let photo = phone_photo(40, 40);
    let up = app.upload(&desk.pm, "a.jpg", &photo).await;
    let sha = up.body["sha256"].as_str().unwrap().to_string();
    let key = Storage::original_key(&sha);
    app.clock.advance(Duration::hours(24));
    let now = app.clock.now_naive();
    {
        let mut conn = app.state.pool.get().unwrap();
        let id = up.body["id"].as_i64().unwrap();
        assert_eq!(
            files::remove_upload(&mut conn, id, now).unwrap(),
            Some(true)
        );
        // decided and committed; then the process stops
        assert!(files::claim_removal(&mut conn, &sha, now)
            .unwrap()
            .is_some());
    }
    // no row names the bytes, which are still in the store: never the reverse
    assert!(app.state.storage.exists(&key).await.unwrap());
    // a sweep within the lease leaves the claim to its holder
    aftercare::sweep(&app.state).await.unwrap();
    assert!(app.state.storage.exists(&key).await.unwrap());
    // once the lease has run out, the next sweep finishes the removal
    app.clock
        .advance(Duration::minutes(files::REMOVAL_LEASE_MINUTES) + Duration::seconds(1));
    aftercare::sweep(&app.state).await.unwrap();
    assert!(!app.state.storage.exists(&key).await.unwrap());
    let mut conn = app.state.pool.get().unwrap();
    let left =
        files::reclaim_abandoned_removals(&mut conn, app.clock.now_naive() + Duration::days(1), 10)
            .unwrap();
    assert!(left.is_empty(), "the removal ended: {left:?}");
}

#[actix_rt::test]
async fn an_upload_of_bytes_a_sweep_is_removing_waits_and_an_abandoned_removal_is_taken_over() {
    use aftercare::kit::attachments as files;
    let app = spawn_with(|c| c.access_token_ttl_secs = 86_400).await;
    let desk = east_desk(&app).await;
    let photo = phone_photo(44, 44);
    let up = app.upload(&desk.pm, "a.jpg", &photo).await;
    let sha = up.body["sha256"].as_str().unwrap().to_string();
    let key = Storage::original_key(&sha);
    app.clock.advance(Duration::hours(24));
    let now = app.clock.now_naive();
    let until = {
        let mut conn = app.state.pool.get().unwrap();
        files::remove_upload(&mut conn, up.body["id"].as_i64().unwrap(), now).unwrap();
        files::claim_removal(&mut conn, &sha, now).unwrap().unwrap()
    };
    // a sweeper holds a live lease: the same file uploaded now waits, then
    // is told to come back (the store may lose the bytes any moment)
    let pm = app.token("east.pm", PASSWORD).await;
    app.upload(&pm, "again.jpg", &photo)
        .await
        .expect_problem(503, "storage_unavailable");
    // the sweeper ends: the bytes are gone, and the next upload brings them back
    app.state.storage.delete_file(&sha).await.unwrap();
    {
        let mut conn = app.state.pool.get().unwrap();
        files::finish_removal(&mut conn, &sha, until).unwrap();
    }
    let back = app.upload(&pm, "again.jpg", &photo).await;
    back.expect(201);
    assert!(app.state.storage.exists(&key).await.unwrap());

    // a removal abandoned (its lease run out) is taken over by an upload,
    // which puts the bytes back; no later sweep removes them
    app.clock.advance(Duration::hours(24));
    let now = app.clock.now_naive();
    {
        let mut conn = app.state.pool.get().unwrap();
        files::remove_upload(&mut conn, back.body["id"].as_i64().unwrap(), now).unwrap();
        files::claim_removal(&mut conn, &sha, now).unwrap().unwrap();
    }
    app.state.storage.delete_file(&sha).await.unwrap();
    app.clock
        .advance(Duration::minutes(files::REMOVAL_LEASE_MINUTES) + Duration::seconds(1));
    let pm = app.token("east.pm", PASSWORD).await;
    let revived = app.upload(&pm, "revived.jpg", &photo).await;
    revived.expect(201);
    aftercare::sweep(&app.state).await.unwrap();
    assert!(app.state.storage.exists(&key).await.unwrap());
    let id = revived.body["id"].as_i64().unwrap();
    app.get(&format!("/api/v1/uploads/{id}"), &pm)
        .await
        .expect(200);
}
