//! The change feed `GET /tickets/changes` (contract §9.3): a client that follows it while
//! tickets change holds the server's state of every ticket at the end.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

use serde_json::{Value, json};

use crate::{both_databases, support::TestApp};

both_databases!(
    a_follower_of_the_feed_ends_with_the_servers_state,
    the_feed_starts_at_the_beginning_and_resumes_where_it_ended,
    feed_pages_run_a_fixed_number_of_queries,
);

// A page of the feed carries at most six replies, notes and activities, all its tickets together.
both_databases!(
    config = |config| config.api.feed_page_entries = 6;
    a_page_ends_before_the_ticket_that_would_carry_too_much,
);

/// A client's copy of the tickets: the ticket as the feed showed it, or `None` once deleted.
type Copy = HashMap<String, Option<Value>>;

/// Reads the feed from `cursor` to its end into `copy`; returns the cursor to resume from.
async fn follow(app: &TestApp, token: &str, cursor: Option<String>, copy: &mut Copy) -> String {
    let mut cursor = cursor;
    loop {
        let path = match &cursor {
            Some(c) => format!("/tickets/changes?per_page=7&cursor={c}"),
            None => "/tickets/changes?per_page=7".to_string(),
        };
        let reply = app.get(&path, token).await.expect(200);
        let next = reply.body["meta"]["next_cursor"]
            .as_str()
            .expect("next_cursor is never null")
            .to_string();
        let items = reply.data().as_array().unwrap().clone();
        for item in &items {
            let reference = item["reference"].as_str().unwrap().to_string();
            if item["deleted"] == true {
                copy.insert(reference, None);
            } else {
                copy.insert(reference, Some(item.clone()));
            }
        }
        cursor = Some(next.clone());
        if items.is_empty() {
            return next;
        }
    }
}

async fn a_follower_of_the_feed_ends_with_the_servers_state(app: TestApp) {
    let token = app.admin_token.clone();
    let tag = app.tag("synced").await;
    let mut references = Vec::new();
    for i in 0..12 {
        let t = app.ticket(&token, &format!("Synced {i}"), json!({})).await;
        references.push(t["reference"].as_str().unwrap().to_string());
    }
    let app = Arc::new(app);
    let done = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let (app, done, token, references, written) = (
                app.clone(),
                done.clone(),
                token.clone(),
                references.clone(),
                written.clone(),
            );
            tokio::spawn(async move {
                let mut n = 0usize;
                while !done.load(Ordering::SeqCst) {
                    let r = &references[(n * 5 + w * 3) % references.len()];
                    let path = |what: &str| format!("/tickets/{r}/{what}");
                    // Some answers are 404 (deleted meanwhile) or 422 (a transition the
                    // state machine refuses): whatever the outcome, the copy must agree.
                    match (n + w) % 7 {
                        0 => drop(
                            app.post(&path("reply"), &token, json!({"body": format!("r{n}")}))
                                .await,
                        ),
                        1 => drop(
                            app.patch(
                                &path("priority"),
                                &token,
                                json!({"priority": (["low", "high", "urgent"][n % 3])}),
                            )
                            .await,
                        ),
                        2 => drop(
                            app.patch(
                                &path("status"),
                                &token,
                                json!({"status": (["in_progress", "resolved", "open"][n % 3])}),
                            )
                            .await,
                        ),
                        3 => drop(
                            app.post(
                                &path("tags"),
                                &token,
                                json!({"tag_ids": if n.is_multiple_of(2) { vec![tag] } else { vec![] }}),
                            )
                            .await,
                        ),
                        4 => drop(app.post(&path("follow"), &token, json!({})).await),
                        5 if n.is_multiple_of(5) => drop(app.delete(&format!("/tickets/{r}"), &token).await),
                        _ => drop(app.ticket(&token, &format!("New {w}-{n}"), json!({})).await),
                    }
                    n += 1;
                    written.fetch_add(1, Ordering::SeqCst);
                }
                n
            })
        })
        .collect();
    let mut copy = Copy::new();
    let mut cursor = None;
    // The client follows the feed while the writers write, some 60 writes long.
    while written.load(Ordering::SeqCst) < 60 {
        cursor = Some(follow(&app, &token, cursor, &mut copy).await);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    done.store(true, Ordering::SeqCst);
    let mut writes = 0;
    for writer in writers {
        writes += writer.await.unwrap();
    }
    assert!(
        writes > 20,
        "the writers wrote while the feed was read ({writes})"
    );
    follow(&app, &token, cursor, &mut copy).await;

    // Ticket by ticket, the copy is what the server shows now.
    let live = app
        .get("/tickets?per_page=100", &token)
        .await
        .expect(200)
        .body["meta"]["total"]
        .as_i64()
        .unwrap();
    assert_eq!(
        copy.values().filter(|t| t.is_some()).count() as i64,
        live,
        "every live ticket is in the copy"
    );
    let mut deleted = 0;
    for (reference, held) in &copy {
        let reply = app.get(&format!("/tickets/{reference}"), &token).await;
        match held {
            Some(ticket) => assert_eq!(reply.expect(200).data(), ticket, "{reference}"),
            None => {
                reply.expect(404);
                deleted += 1;
            }
        }
    }
    assert!(deleted > 0, "some tickets were deleted meanwhile");
}

async fn the_feed_starts_at_the_beginning_and_resumes_where_it_ended(app: TestApp) {
    let (_, token) = app.agent(&["tickets:read", "tickets:write"]).await;
    let a = app.ticket(&token, "First", json!({})).await;
    let b = app.ticket(&token, "Second", json!({})).await;
    let reference = |t: &Value| t["reference"].as_str().unwrap().to_string();
    let page = app.get("/tickets/changes", &token).await.expect(200);
    let refs: Vec<&str> = page
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["reference"].as_str().unwrap())
        .collect();
    assert_eq!(refs, [reference(&a), reference(&b)]);
    assert_eq!(page.data()[0]["description"], "About First");
    let end = page.body["meta"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();

    // At the end: nothing, and the same point to resume from.
    let empty = app
        .get(&format!("/tickets/changes?cursor={end}"), &token)
        .await
        .expect(200);
    assert_eq!(empty.data(), &json!([]));
    assert_eq!(empty.body["meta"]["next_cursor"], end.as_str());

    // The first ticket changes twice and the second is deleted: each shows once, as it is now.
    let path = format!("/tickets/{}", reference(&a));
    app.patch(
        &format!("{path}/priority"),
        &token,
        json!({"priority": "high"}),
    )
    .await
    .expect(200);
    app.post(&format!("{path}/reply"), &token, json!({"body": "Hello"}))
        .await
        .expect(201);
    app.delete(&format!("/tickets/{}", reference(&b)), &app.admin_token)
        .await
        .expect(200);
    let next = app
        .get(&format!("/tickets/changes?cursor={end}"), &token)
        .await
        .expect(200);
    let shown = app.get(&path, &token).await.expect(200);
    assert_eq!(
        next.data(),
        &json!([shown.data(), {"reference": reference(&b), "deleted": true}])
    );

    // Limits and bad cursors.
    app.get("/tickets/changes?per_page=1001", &token)
        .await
        .expect_invalid("per_page");
    app.get("/tickets/changes?per_page=1000", &token)
        .await
        .expect(200);
    app.get("/tickets/changes?cursor=nope", &token)
        .await
        .expect_invalid("cursor");
    let list_cursor = app
        .get("/admin/api-tokens?per_page=1", &app.admin_token)
        .await
        .expect(200)
        .body["meta"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    app.get(&format!("/tickets/changes?cursor={list_cursor}"), &token)
        .await
        .expect_invalid("cursor");
    // Reading needs tickets:read.
    let (_, writer) = app.agent(&["tickets:write"]).await;
    app.get("/tickets/changes", &writer).await.expect(403);
}

async fn feed_pages_run_a_fixed_number_of_queries(app: TestApp) {
    app.clock.stop();
    let token = app.admin_token.clone();
    let tag = app.tag("counted").await;
    for i in 0..12 {
        let t = app
            .ticket(&token, &format!("Q{i}"), json!({"tags": [tag]}))
            .await;
        let r = t["reference"].as_str().unwrap();
        app.post(
            &format!("/tickets/{r}/reply"),
            &token,
            json!({"body": "hi"}),
        )
        .await
        .expect(201);
        app.post(&format!("/tickets/{r}/follow"), &token, json!({}))
            .await
            .expect(200);
    }
    let (small, few) = app
        .get_recording_queries("/tickets/changes?per_page=1", &token)
        .await;
    let (large, many) = app
        .get_recording_queries("/tickets/changes?per_page=12", &token)
        .await;
    assert_eq!(small.expect(200).data().as_array().unwrap().len(), 1);
    assert_eq!(large.expect(200).data().as_array().unwrap().len(), 12);
    assert_eq!(few.len(), many.len(), "{few:#?}\n{many:#?}");
    assert!(many.len() <= 7, "{many:#?}");
}

async fn a_page_ends_before_the_ticket_that_would_carry_too_much(app: TestApp) {
    let token = app.admin_token.clone();
    let mut references = Vec::new();
    for i in 0..5 {
        let t = app.ticket(&token, &format!("Sized {i}"), json!({})).await;
        references.push(t["reference"].as_str().unwrap().to_string());
    }
    // The second ticket alone carries more than a page may.
    for i in 0..4 {
        app.post(
            &format!("/tickets/{}/reply", references[1]),
            &token,
            json!({"body": format!("Long thread {i}")}),
        )
        .await
        .expect(201);
    }
    // It moved to the end of the feed; the others keep their order.
    let long = references.remove(1);
    references.push(long);
    let entries = |t: &Value| {
        let count = |field: &str| t[field].as_array().map_or(0, Vec::len);
        1 + count("replies") + count("activities")
    };
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut pages = Vec::new();
    loop {
        let page = app
            .get(&format!("/tickets/changes?per_page=100{cursor}"), &token)
            .await
            .expect(200);
        let items = page.data().as_array().unwrap().clone();
        if items.is_empty() {
            break;
        }
        let carried: usize = items.iter().map(entries).sum();
        assert!(items.len() == 1 || carried <= 6, "{items:#?}");
        pages.push(items.len());
        seen.extend(
            items
                .iter()
                .map(|t| t["reference"].as_str().unwrap().to_string()),
        );
        cursor = format!(
            "&cursor={}",
            page.body["meta"]["next_cursor"].as_str().unwrap()
        );
    }
    // Every ticket once, in change order, over pages that ended early although 100 were asked.
    assert_eq!(seen, references);
    assert!(pages.len() > 1, "{pages:?}");
    assert_eq!(
        pages.last(),
        Some(&1),
        "the long thread is a page of its own: {pages:?}"
    );
}
