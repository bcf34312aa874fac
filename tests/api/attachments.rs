//! Attachments (contract §9.5): upload, limits, type refusal, storage once per content,
//! download with `Range`, who may read, attaching on create and reply, and the purge job.

use escalated::jobs::{self, Job};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{
    both_databases,
    support::{Reply, TestApp},
};

both_databases!(
    an_upload_is_stored_and_downloaded_whole,
    ranges_give_206_and_416,
    identical_files_are_stored_once,
    executables_and_unlisted_types_are_refused,
    an_unattached_upload_is_the_uploaders_alone,
    uploads_attach_on_create_and_reply,
    attachment_ids_are_checked,
    a_form_creates_and_replies_with_files,
    a_deleted_tickets_files_are_gone,
    the_purge_job_deletes_orphans_and_deleted_tickets_files,
);

both_databases!(
    config = |c| c.attachments.max_bytes = 1000;
    a_file_over_the_limit_is_413_and_leaves_nothing,
);

both_databases!(
    config = |c| c.server.max_body_bytes = 1024;
    an_upload_larger_than_a_body_passes_the_idempotency_key,
);

pub const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

/// A `multipart/form-data` body: `(name, file name, content)` per part.
pub fn form(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "escalated-test-boundary-7MA4YWxk";
    let mut body = Vec::new();
    for (name, filename, content) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub async fn send_form(
    app: &TestApp,
    path: &str,
    token: &str,
    parts: &[(&str, Option<&str>, &[u8])],
) -> Reply {
    let (content_type, body) = form(parts);
    let response = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    Reply {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

pub async fn upload(app: &TestApp, token: &str, name: &str, content: &[u8]) -> Reply {
    send_form(app, "/attachments", token, &[("file", Some(name), content)]).await
}

/// A download: status, headers, bytes.
pub async fn download(
    app: &TestApp,
    token: &str,
    id: i64,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = app
        .client
        .get(app.url(&format!("/attachments/{id}")))
        .bearer_auth(token);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let response = req.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

/// The stored objects of the test's local store.
pub fn stored_objects(app: &TestApp) -> Vec<std::path::PathBuf> {
    let dir = app
        .config
        .attachments
        .store
        .strip_prefix("file://")
        .unwrap()
        .to_string();
    let mut found = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(dir).join("sha256")];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                found.push(e.path());
            }
        }
    }
    found
}

fn text(n: usize) -> Vec<u8> {
    (0..n).map(|i| b'a' + (i % 26) as u8).collect()
}

async fn ticket(app: &TestApp, token: &str, extra: Value) -> String {
    let mut body = json!({"subject": "Printer on fire", "description": "Smoke everywhere."});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    app.post("/tickets/create", token, body)
        .await
        .expect(201)
        .data()["reference"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn an_upload_is_stored_and_downloaded_whole(app: TestApp) {
    let token = app.admin_token.clone();
    let content = [PNG, &text(5000)].concat();
    let r = upload(&app, &token, "../../etc/screen shot é.png", &content)
        .await
        .expect(201);
    let d = r.data().clone();
    assert_eq!(d["filename"], "screen shot é.png", "no path survives");
    assert_eq!(
        d["mime_type"], "image/png",
        "sniffed, not taken from the client"
    );
    assert_eq!(d["size"], content.len() as u64);
    assert_eq!(d["sha256"], hex::encode(Sha256::digest(&content)));
    let id = d["id"].as_i64().unwrap();
    assert_eq!(r.header("location"), d["url"].as_str());
    assert!(
        d["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/attachments/{id}"))
    );

    let (status, headers, bytes) = download(&app, &token, id, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, content);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename*=UTF-8''screen%20shot%20%C3%A9.png"
    );
    let etag = headers["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, format!("\"{}\"", d["sha256"].as_str().unwrap()));
    let (status, _, bytes) = download(&app, &token, id, &[("if-none-match", &etag)]).await;
    assert_eq!(status, 304);
    assert!(bytes.is_empty());

    assert_eq!(download(&app, &token, id + 100, &[]).await.0, 404);
    let r = send_form(&app, "/attachments", &token, &[("other", None, b"x")]).await;
    r.expect_invalid("other");
    let r = send_form(&app, "/attachments", &token, &[]).await;
    r.expect_invalid("file");
}

async fn ranges_give_206_and_416(app: TestApp) {
    let token = app.admin_token.clone();
    let content = text(1000);
    let id = upload(&app, &token, "notes.txt", &content)
        .await
        .expect(201)
        .data()["id"]
        .as_i64()
        .unwrap();
    let (status, headers, bytes) = download(&app, &token, id, &[("range", "bytes=10-19")]).await;
    assert_eq!(status, 206);
    assert_eq!(bytes, &content[10..20]);
    assert_eq!(headers["content-range"], "bytes 10-19/1000");
    let (status, _, bytes) = download(&app, &token, id, &[("range", "bytes=-5")]).await;
    assert_eq!(status, 206);
    assert_eq!(bytes, &content[995..]);
    let (status, _, bytes) = download(&app, &token, id, &[("range", "bytes=990-")]).await;
    assert_eq!((status, bytes.as_slice()), (206, &content[990..]));
    let (status, headers, _) = download(&app, &token, id, &[("range", "bytes=1000-")]).await;
    assert_eq!(status, 416);
    assert_eq!(headers["content-range"], "bytes */1000");
    // Several ranges are not served as such: the whole file, as HTTP allows.
    let (status, _, bytes) = download(&app, &token, id, &[("range", "bytes=0-1,5-6")]).await;
    assert_eq!((status, bytes.len()), (200, 1000));
}

async fn identical_files_are_stored_once(app: TestApp) {
    let token = app.admin_token.clone();
    let a = upload(&app, &token, "a.txt", &text(3000)).await.expect(201);
    let b = upload(&app, &token, "b.txt", &text(3000)).await.expect(201);
    assert_ne!(a.data()["id"], b.data()["id"]);
    assert_eq!(a.data()["sha256"], b.data()["sha256"]);
    assert_eq!(stored_objects(&app).len(), 1);
    upload(&app, &token, "c.txt", &text(3001)).await.expect(201);
    assert_eq!(stored_objects(&app).len(), 2);
    let (_, _, bytes) = download(&app, &token, b.data()["id"].as_i64().unwrap(), &[]).await;
    assert_eq!(bytes, text(3000));
}

async fn a_file_over_the_limit_is_413_and_leaves_nothing(app: TestApp) {
    let token = app.admin_token.clone();
    upload(&app, &token, "ok.txt", &text(1000))
        .await
        .expect(201);
    let r = upload(&app, &token, "big.txt", &text(1001)).await;
    assert_eq!(r.status, 413, "{}", r.body);
    // Far over the limit: refused from the declared length, before the body is read.
    let r = upload(&app, &token, "huge.txt", &text(200_000)).await;
    assert_eq!(r.status, 413);
    assert_eq!(stored_objects(&app).len(), 1, "only the first file is kept");
}

async fn executables_and_unlisted_types_are_refused(app: TestApp) {
    let token = app.admin_token.clone();
    let elf = [b"\x7fELF\x02\x01\x01\0".as_slice(), &[0u8; 64]].concat();
    let message = upload(&app, &token, "photo.png", &elf)
        .await
        .expect_invalid("file");
    assert!(message.contains("Executable"), "{message}");
    let exe = [b"MZ".as_slice(), &[0x90u8; 200]].concat();
    upload(&app, &token, "x.pdf", &exe)
        .await
        .expect_invalid("file");
    for script in [
        &b"#!/bin/sh\nrm -rf /\n"[..],
        b"#!/usr/bin/env python3\nprint(1)\n",
    ] {
        let message = upload(&app, &token, "run.txt", script)
            .await
            .expect_invalid("file");
        assert_eq!(message, "Executable files are not accepted.");
    }
    // Binary content of no known type is not on the default list.
    let message = upload(&app, &token, "blob.png", &[0u8, 1, 2, 3, 255, 254])
        .await
        .expect_invalid("file");
    assert!(message.contains("application/octet-stream"), "{message}");
    upload(&app, &token, "doc.pdf", b"%PDF-1.7\n%\xe2\xe3\n1 0 obj\n")
        .await
        .expect(201);
    assert_eq!(stored_objects(&app).len(), 1);
}

async fn an_unattached_upload_is_the_uploaders_alone(app: TestApp) {
    let (_, mine) = app.agent(&["agent"]).await;
    let (_, other) = app.agent(&["agent"]).await;
    let id = upload(&app, &mine, "a.txt", b"hello")
        .await
        .expect(201)
        .data()["id"]
        .as_i64()
        .unwrap();
    assert_eq!(download(&app, &mine, id, &[]).await.0, 200);
    assert_eq!(download(&app, &other, id, &[]).await.0, 404);
    // Nor can another agent attach it.
    let r = app
        .post(
            "/tickets/create",
            &other,
            json!({"subject": "s", "description": "d", "attachment_ids": [id]}),
        )
        .await;
    r.expect_invalid("attachment_ids");
    // Once attached, whoever may read the ticket may read it; internal notes' files too,
    // since every caller of this API is an agent or an admin.
    let reference = ticket(&app, &mine, json!({})).await;
    app.post(
        &format!("/tickets/{reference}/reply"),
        &mine,
        json!({"body": "see file", "is_internal_note": true, "attachment_ids": [id]}),
    )
    .await
    .expect(201);
    assert_eq!(download(&app, &other, id, &[]).await.0, 200);
    let (_, read_only) = app.agent(&["tickets:write"]).await;
    assert_eq!(download(&app, &read_only, id, &[]).await.0, 403);
}

async fn uploads_attach_on_create_and_reply(app: TestApp) {
    let token = app.admin_token.clone();
    let first = upload(&app, &token, "a.png", PNG)
        .await
        .expect(201)
        .data()
        .clone();
    let second = upload(&app, &token, "b.txt", b"log")
        .await
        .expect(201)
        .data()
        .clone();
    let reference = ticket(&app, &token, json!({"attachment_ids": [first["id"]]})).await;
    let r = app
        .post(
            &format!("/tickets/{reference}/reply"),
            &token,
            json!({"body": "logs attached", "attachment_ids": [second["id"]]}),
        )
        .await
        .expect(201);
    assert_eq!(r.data()["attachments"][0]["id"], second["id"]);
    assert_eq!(r.data()["attachments"][0]["filename"], "b.txt");

    let shown = app
        .get(&format!("/tickets/{reference}"), &token)
        .await
        .expect(200);
    let t = shown.data();
    assert_eq!(t["attachments"].as_array().unwrap().len(), 1);
    assert_eq!(t["attachments"][0], first);
    let reply = &t["replies"][0];
    assert_eq!(reply["attachments"][0], second);
    // The history (and so the events) carry the metadata, never the content.
    let replied = t["activities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["type"] == "replied")
        .unwrap();
    let meta = &replied["properties"]["attachments"][0];
    assert_eq!(meta["sha256"], second["sha256"]);
    assert_eq!(meta["size"], 3);
    assert!(meta.get("content").is_none());

    // An upload is attached once.
    app.post(
        &format!("/tickets/{reference}/reply"),
        &token,
        json!({"body": "again", "attachment_ids": [second["id"]]}),
    )
    .await
    .expect_invalid("attachment_ids");
}

async fn attachment_ids_are_checked(app: TestApp) {
    let token = app.admin_token.clone();
    let create = |ids: Value| json!({"subject": "s", "description": "d", "attachment_ids": ids});
    app.post("/tickets/create", &token, create(json!([999])))
        .await
        .expect_invalid("attachment_ids");
    let mut ids = Vec::new();
    for i in 0..11 {
        let r = upload(&app, &token, "f.txt", format!("file {i}").as_bytes()).await;
        ids.push(r.expect(201).data()["id"].clone());
    }
    app.post("/tickets/create", &token, create(json!(ids)))
        .await
        .expect_invalid("attachment_ids");
    app.post("/tickets/create", &token, create(json!([ids[0], ids[0]])))
        .await
        .expect_invalid("attachment_ids");
    app.post("/tickets/create", &token, create(json!(["x"])))
        .await
        .expect_invalid("attachment_ids.0");
    // A refused create attaches nothing: the upload can still be used.
    app.post(
        "/tickets/create",
        &token,
        json!({"subject": " ", "description": "d", "attachment_ids": [ids[0]]}),
    )
    .await
    .expect_invalid("subject");
    app.post("/tickets/create", &token, create(json!(ids[..10])))
        .await
        .expect(201);
    // Older than 24 hours: no longer attachable.
    let store = app.store().await;
    sqlx::query("UPDATE attachments SET created_at = created_at - 90000 WHERE id = ?")
        .bind(ids[10].as_i64().unwrap())
        .execute(store.pool())
        .await
        .unwrap();
    app.post("/tickets/create", &token, create(json!([ids[10]])))
        .await
        .expect_invalid("attachment_ids");
}

async fn a_form_creates_and_replies_with_files(app: TestApp) {
    let token = app.admin_token.clone();
    let r = send_form(
        &app,
        "/tickets/create",
        &token,
        &[
            ("subject", None, b"12345"),
            ("description", None, b"Screenshot attached."),
            ("priority", None, b"high"),
            ("attachments[]", Some("shot.png"), PNG),
            ("attachments[]", Some("log.txt"), b"line 1\n"),
        ],
    )
    .await
    .expect(201);
    let t = r.data();
    assert_eq!(t["subject"], "12345", "a string field stays a string");
    assert_eq!(t["priority"], "high");
    let files: Vec<&str> = t["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["filename"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["shot.png", "log.txt"]);
    let reference = t["reference"].as_str().unwrap().to_string();
    let r = send_form(
        &app,
        &format!("/tickets/{reference}/reply"),
        &token,
        &[
            ("body", None, b"note with file"),
            ("is_internal_note", None, b"true"),
            ("attachments[]", Some("trace.txt"), b"trace"),
        ],
    )
    .await
    .expect(201);
    assert_eq!(r.message(), "Note added.");
    assert_eq!(r.data()["attachments"][0]["filename"], "trace.txt");
    // The form's fields are judged as the JSON ones.
    send_form(
        &app,
        "/tickets/create",
        &token,
        &[("subject", None, b"s"), ("prioritee", None, b"high")],
    )
    .await
    .expect_invalid("prioritee");
    let r = send_form(
        &app,
        &format!("/tickets/{reference}/reply"),
        &token,
        &[
            ("body", None, b"x"),
            ("attachments[]", Some("a.exe"), b"MZ\x90\x00\x03"),
        ],
    )
    .await;
    r.expect_invalid("attachments");
}

async fn a_deleted_tickets_files_are_gone(app: TestApp) {
    let token = app.admin_token.clone();
    let id = upload(&app, &token, "a.txt", b"secret")
        .await
        .expect(201)
        .data()["id"]
        .clone();
    let reference = ticket(&app, &token, json!({"attachment_ids": [id]})).await;
    let id = id.as_i64().unwrap();
    assert_eq!(download(&app, &token, id, &[]).await.0, 200);
    app.delete(&format!("/tickets/{reference}"), &token)
        .await
        .expect(200);
    assert_eq!(download(&app, &token, id, &[]).await.0, 404);
}

async fn the_purge_job_deletes_orphans_and_deleted_tickets_files(app: TestApp) {
    let token = app.admin_token.clone();
    let kept = upload(&app, &token, "kept.txt", b"shared content")
        .await
        .expect(201);
    let orphan = upload(&app, &token, "orphan.txt", b"shared content")
        .await
        .expect(201);
    let lonely = upload(&app, &token, "lonely.txt", b"only here")
        .await
        .expect(201);
    let doomed = upload(&app, &token, "doomed.txt", b"of a deleted ticket")
        .await
        .expect(201);
    ticket(&app, &token, json!({"attachment_ids": [kept.data()["id"]]})).await;
    let deleted = ticket(
        &app,
        &token,
        json!({"attachment_ids": [doomed.data()["id"]]}),
    )
    .await;
    app.delete(&format!("/tickets/{deleted}"), &token)
        .await
        .expect(200);
    assert_eq!(stored_objects(&app).len(), 3);

    let store = app.store().await;
    let now = escalated::time::now();
    // Within 24 hours the unattached uploads stay; the deleted ticket's file goes.
    let report = jobs::run(Job::PurgeAttachments, &store, &app.config, now)
        .await
        .unwrap()
        .unwrap();
    assert!(
        report.starts_with("1 attachments purged, 1 stored files"),
        "{report}"
    );
    assert_eq!(stored_objects(&app).len(), 2);
    assert_eq!(
        download(&app, &token, lonely.data()["id"].as_i64().unwrap(), &[])
            .await
            .0,
        200
    );
    // A day later the never-attached uploads go; content another row refers to stays.
    let report = jobs::run(Job::PurgeAttachments, &store, &app.config, now + 25 * 3600)
        .await
        .unwrap()
        .unwrap();
    assert!(
        report.starts_with("2 attachments purged, 1 stored files"),
        "{report}"
    );
    assert_eq!(stored_objects(&app).len(), 1);
    let kept_id = kept.data()["id"].as_i64().unwrap();
    let (status, _, bytes) = download(&app, &token, kept_id, &[]).await;
    assert_eq!(
        (status, bytes.as_slice()),
        (200, b"shared content".as_slice())
    );
    let orphan_id = orphan.data()["id"].as_i64().unwrap();
    assert_eq!(download(&app, &token, orphan_id, &[]).await.0, 404);
}

/// The Idempotency-Key middleware reads a body only up to `server.max_body_bytes`: an upload
/// larger than that streams through to storage whole, and a retry with the same key is
/// answered from the first one.
async fn an_upload_larger_than_a_body_passes_the_idempotency_key(app: TestApp) {
    let token = app.admin_token.clone();
    let content = [PNG, &text(5000)].concat();
    let (content_type, body) = form(&[("file", Some("big.png"), &content)]);
    let send = || async {
        let response = app
            .client
            .post(app.url("/attachments"))
            .bearer_auth(&token)
            .header("content-type", content_type.clone())
            .header("idempotency-key", "upload-once")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let replayed = response.headers().get("idempotent-replayed").is_some();
        let status = response.status().as_u16();
        let value: Value = response.json().await.unwrap();
        (status, replayed, value)
    };
    let (status, replayed, first) = send().await;
    assert_eq!(status, 201, "{first}");
    assert!(!replayed);
    assert_eq!(first["data"]["size"], content.len());
    let (status, replayed, again) = send().await;
    assert_eq!(status, 201, "{again}");
    assert!(replayed, "the retry is answered from the first request");
    assert_eq!(again["data"]["id"], first["data"]["id"]);
    let id = first["data"]["id"].as_i64().unwrap();
    let (status, _, bytes) = download(&app, &token, id, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, content, "stored whole");
}
