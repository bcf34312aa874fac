//! Cursor pagination (contract §9.3): `cursor` instead of `page` on the ticket list and the
//! admin lists, `meta.next_cursor`, the `Link` header, and walks that neither repeat nor skip
//! while tickets are created.

use std::{
    collections::HashSet,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use serde_json::{Value, json};

use crate::{
    both_databases,
    support::{Reply, TestApp},
};

both_databases!(
    a_walk_by_cursor_while_tickets_are_created_shows_each_once,
    every_sort_walks_by_cursor_as_the_pages_list_it,
    the_link_header_leads_to_the_next_page,
    cursor_pages_read_a_range_not_an_offset,
    bad_cursors_are_422_on_cursor,
    admin_lists_walk_by_cursor,
);

fn refs(reply: &Reply) -> Vec<String> {
    reply
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["reference"].as_str().unwrap().to_string())
        .collect()
}

fn next_cursor(reply: &Reply) -> Option<String> {
    reply.body["meta"]["next_cursor"]
        .as_str()
        .map(str::to_string)
}

/// Every reference of `query` (a ticket list query, without `page`), walked by cursor
/// `per_page` at a time.
async fn walk(app: &TestApp, token: &str, query: &str, per_page: i64) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let mut path = format!("/tickets?{query}&per_page={per_page}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let reply = app.get(&path, token).await.expect(200);
        if cursor.is_some() {
            assert_eq!(reply.body["meta"]["current_page"], Value::Null);
        }
        seen.extend(refs(&reply));
        match next_cursor(&reply) {
            Some(next) => cursor = Some(next),
            None => return seen,
        }
    }
    panic!("the walk never ended");
}

async fn a_walk_by_cursor_while_tickets_are_created_shows_each_once(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    for i in 0..30 {
        app.ticket(&token, &format!("Before {i}"), json!({})).await;
    }
    let existing: HashSet<String> = walk(&app, &token, "sort_dir=desc", 100)
        .await
        .into_iter()
        .collect();
    assert_eq!(existing.len(), 30);

    // Writers create tickets for as long as the walks last.
    let app = Arc::new(app);
    let done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let (app, done, token) = (app.clone(), done.clone(), token.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !done.load(Ordering::SeqCst) {
                    app.ticket(&token, &format!("During {w}-{n}"), json!({}))
                        .await;
                    n += 1;
                }
                n
            })
        })
        .collect();
    for order in [
        "sort_dir=desc",
        "sort_dir=asc",
        "sort_by=subject&sort_dir=asc",
    ] {
        let seen = walk(&app, &token, order, 4).await;
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{order}: a ticket shown twice");
        for reference in &existing {
            assert!(seen.contains(reference), "{order}: {reference} skipped");
        }
    }
    done.store(true, Ordering::SeqCst);
    let mut created = 0;
    for writer in writers {
        created += writer.await.unwrap();
    }
    assert!(created > 0, "the writers created tickets during the walks");
}

async fn every_sort_walks_by_cursor_as_the_pages_list_it(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    // Ties in every column (the same second, priority, status and subject, the subject also
    // in another case), broken by id.
    let subjects = [
        "beta", "Alpha", "alpha", "gamma", "beta", "Émile", "delta", "beta",
    ];
    let priorities = [
        "low", "high", "urgent", "high", "low", "medium", "critical", "high",
    ];
    for (i, (subject, priority)) in subjects.iter().zip(priorities).enumerate() {
        let t = app
            .ticket(&token, subject, json!({"priority": priority}))
            .await;
        if i % 3 == 0 {
            let path = format!("/tickets/{}/status", t["reference"].as_str().unwrap());
            app.patch(&path, &token, json!({"status": "in_progress"}))
                .await
                .expect(200);
        }
    }
    for sort in ["created_at", "updated_at", "priority", "status", "subject"] {
        for dir in ["asc", "desc"] {
            for filter in ["", "&priority=high", "&search=beta"] {
                let query = format!("sort_by={sort}&sort_dir={dir}{filter}");
                let listed = refs(
                    &app.get(&format!("/tickets?{query}&per_page=100"), &token)
                        .await
                        .expect(200),
                );
                for per_page in [1, 3] {
                    assert_eq!(
                        walk(&app, &token, &query, per_page).await,
                        listed,
                        "{query}, {per_page} a page"
                    );
                }
            }
        }
    }
}

async fn the_link_header_leads_to_the_next_page(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    for i in 0..5 {
        app.ticket(&token, &format!("L{i}"), json!({})).await;
    }
    // A page asked for by number gives a cursor too.
    let first = app
        .get("/tickets?per_page=2&page=1&status=open", &token)
        .await
        .expect(200);
    assert_eq!(refs(&first), ["ESC-00005", "ESC-00004"]);
    assert_eq!(first.body["meta"]["current_page"], 1);
    let cursor = next_cursor(&first).expect("more follow");
    let link = first.header("link").expect("a Link header").to_string();
    let target = link
        .strip_prefix('<')
        .and_then(|l| l.strip_suffix(">; rel=\"next\""))
        .unwrap_or_else(|| panic!("not a next link: {link}"));
    assert!(target.starts_with("/support/api/v1/tickets?"), "{target}");
    assert!(target.contains(&format!("cursor={cursor}")), "{target}");
    assert!(
        target.contains("status=open") && !target.contains("page=1"),
        "{target}"
    );

    let second = app
        .raw(
            reqwest::Method::GET,
            &format!("{}{target}", app.origin),
            &[("authorization", &format!("Bearer {token}"))],
            "",
        )
        .await
        .expect(200);
    assert_eq!(refs(&second), ["ESC-00003", "ESC-00002"]);
    assert_eq!(second.body["meta"]["total"], 5);
    assert_eq!(second.body["meta"]["per_page"], 2);
    let last = app
        .get(
            &format!(
                "/tickets?per_page=2&cursor={}",
                next_cursor(&second).unwrap()
            ),
            &token,
        )
        .await
        .expect(200);
    assert_eq!(refs(&last), ["ESC-00001"]);
    assert_eq!(last.body["meta"]["next_cursor"], Value::Null);
    assert!(last.header("link").is_none(), "no next page, no link");
}

/// A cursor page starts at its position in an index; no statement skips rows by OFFSET.
async fn cursor_pages_read_a_range_not_an_offset(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    for i in 0..6 {
        app.ticket(&token, &format!("R{i}"), json!({})).await;
    }
    let first = app.get("/tickets?per_page=2", &token).await.expect(200);
    let mysql = app.store().await.dialect() == escalated::store::Dialect::MySql;
    for (sort, index) in [
        ("", "tickets_created_order"),
        ("&sort_by=subject", "tickets_subject_order"),
        ("&sort_by=priority&sort_dir=asc", "tickets_priority_order"),
        ("&sort_by=updated_at&status=open", ""),
    ] {
        let first = app
            .get(&format!("/tickets?per_page=2{sort}"), &token)
            .await
            .expect(200);
        let path = format!(
            "/tickets?per_page=2{sort}&cursor={}",
            next_cursor(&first).unwrap()
        );
        let (reply, statements) = app.get_recording_queries(&path, &token).await;
        assert_eq!(reply.expect(200).data().as_array().unwrap().len(), 2);
        let page: Vec<&String> = statements
            .iter()
            .filter(|s| s.contains("ORDER BY") && s.contains("FROM tickets t"))
            .collect();
        assert_eq!(page.len(), 1, "{statements:?}");
        assert!(!page[0].contains("OFFSET"), "{}", page[0]);
        // On MariaDB an unfiltered seek names its order's index (migration 0020); a filtered
        // one is left to the optimizer.
        let named = format!("FORCE INDEX ({index})");
        assert_eq!(
            page[0].contains(&named),
            mysql && !index.is_empty(),
            "{}",
            page[0]
        );
        if index.is_empty() {
            assert!(!page[0].contains("FORCE INDEX"), "{}", page[0]);
        }
    }
    drop(first);
}

async fn bad_cursors_are_422_on_cursor(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    for i in 0..3 {
        app.ticket(&token, &format!("B{i}"), json!({})).await;
    }
    let by_subject = app
        .get("/tickets?per_page=1&sort_by=subject", &token)
        .await
        .expect(200);
    let cursor = next_cursor(&by_subject).unwrap();
    let long = "A".repeat(3000);
    for bad in ["x", "%7B%7D", "eyJsIjoidGlja2V0cyJ9", long.as_str()] {
        let message = app
            .get(&format!("/tickets?cursor={bad}"), &token)
            .await
            .expect_invalid("cursor");
        assert_eq!(message, "The cursor is invalid.");
    }
    // Another order's cursor.
    let message = app
        .get(
            &format!("/tickets?sort_by=subject&sort_dir=asc&cursor={cursor}"),
            &token,
        )
        .await
        .expect_invalid("cursor");
    assert_eq!(message, "The cursor belongs to another list or order.");
    app.get(&format!("/tickets?sort_by=subject&cursor={cursor}"), &token)
        .await
        .expect(200);
    // Not with a page; and another list's cursor.
    app.get(
        &format!("/tickets?sort_by=subject&page=1&cursor={cursor}"),
        &token,
    )
    .await
    .expect_invalid("cursor");
    app.get(&format!("/admin/tags?cursor={cursor}"), &app.admin_token)
        .await
        .expect_invalid("cursor");
}

async fn admin_lists_walk_by_cursor(app: TestApp) {
    let mut made = Vec::new();
    for i in 0..7 {
        made.push(app.tag(&format!("tag-{i}")).await);
    }
    let mut seen = Vec::new();
    let mut path = "/admin/tags?per_page=3".to_string();
    loop {
        let reply = app.get(&path, &app.admin_token).await.expect(200);
        assert_eq!(reply.body["meta"]["total"], made.len());
        seen.extend(
            reply
                .data()
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_i64().unwrap()),
        );
        match next_cursor(&reply) {
            Some(cursor) => {
                assert!(reply.header("link").unwrap().contains(&cursor));
                path = format!("/admin/tags?per_page=3&cursor={cursor}");
                // A tag created mid-walk comes last, by id.
                if seen.len() == 3 {
                    made.push(app.tag("tag-late").await);
                }
            }
            None => break,
        }
    }
    assert_eq!(seen, made);

    // API tokens too: the bootstrap admin's and one more.
    let (_, _) = app.agent(&["agent"]).await;
    let first = app
        .get("/admin/api-tokens?per_page=1", &app.admin_token)
        .await
        .expect(200);
    let second = app
        .get(
            &format!(
                "/admin/api-tokens?per_page=1&cursor={}",
                next_cursor(&first).unwrap()
            ),
            &app.admin_token,
        )
        .await
        .expect(200);
    assert!(second.data()[0]["id"].as_i64() > first.data()[0]["id"].as_i64());
    assert_eq!(second.body["meta"]["next_cursor"], Value::Null);
}
