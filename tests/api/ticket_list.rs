//! The ticket list: filters, sorting, pagination, its fixed query count; and the dashboard.

use serde_json::{Value, json};

use crate::{both_databases, support::TestApp};

both_databases!(
    list_defaults_to_newest_first_with_meta_and_summaries,
    each_filter_narrows_and_filters_combine,
    search_matches_every_word_as_a_prefix_or_the_reference,
    search_treats_query_syntax_as_plain_text,
    search_without_indexable_words_looks_in_subjects,
    search_bad_input_is_422_on_search,
    the_search_index_follows_every_change_the_server_numbers,
    search_reads_the_full_text_index,
    a_common_word_is_read_in_list_order_with_the_same_result,
    a_status_and_priority_search_walks_their_own_index_on_mariadb,
    sort_by_priority_is_by_severity,
    pagination_edges,
    bad_list_parameters_are_422_naming_the_parameter,
    boolean_filters_off_do_not_invert,
    list_runs_a_fixed_number_of_queries_whatever_the_page_size,
    dashboard_counts_and_lists,
    totals_follow_every_write_at_once,
    totals_stay_remembered_through_writes_that_move_no_ticket,
);

// The database's full-text index alone answers every search (no search index in memory).
both_databases!(
    config = |config| config.tickets.search_index = false;
    search_index_follows_edits_and_deletes,
    full_text_search_matches_every_word_as_a_prefix_or_the_reference,
    full_text_search_treats_query_syntax_as_plain_text,
    full_text_list_runs_a_fixed_number_of_queries,
);

async fn full_text_search_matches_every_word_as_a_prefix_or_the_reference(app: TestApp) {
    search_matches_every_word_as_a_prefix_or_the_reference(app).await
}

async fn full_text_search_treats_query_syntax_as_plain_text(app: TestApp) {
    search_treats_query_syntax_as_plain_text(app).await
}

async fn full_text_list_runs_a_fixed_number_of_queries(app: TestApp) {
    list_runs_a_fixed_number_of_queries_whatever_the_page_size(app).await
}

// `slow_count_ms = 0`: every count counts as slow.
both_databases!(
    config = |config| config.database.slow_count_ms = 0;
    a_slow_total_is_served_while_it_is_counted_again,
);

async fn a_slow_total_is_served_while_it_is_counted_again(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let total = || async {
        app.get("/tickets", &token).await.expect(200).body["meta"]["total"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(total().await, 0);
    app.ticket(&token, "Counted later", json!({})).await;
    // The page is read as it is; its total is the remembered one, and one recount starts.
    let page = app.get("/tickets", &token).await.expect(200).body;
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert_eq!(page["meta"]["total"], 0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while total().await != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the recount never landed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn totals_follow_every_write_at_once(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let total = |q: &'static str| {
        let (app, token) = (&app, &token);
        async move {
            app.get(q, token).await.expect(200).body["meta"]["total"]
                .as_i64()
                .unwrap()
        }
    };
    assert_eq!(total("/tickets").await, 0);
    let t = app.ticket(&token, "Counted", json!({})).await;
    assert_eq!(
        total("/tickets").await,
        1,
        "a cached count is dropped by the next write"
    );
    assert_eq!(total("/tickets?status=resolved").await, 0);
    app.patch(
        &format!("/tickets/{}/status", t["reference"].as_str().unwrap()),
        &token,
        json!({"status": "resolved"}),
    )
    .await
    .expect(200);
    assert_eq!(total("/tickets?status=resolved").await, 1);
    app.delete(
        &format!("/tickets/{}", t["reference"].as_str().unwrap()),
        &app.admin_token.clone(),
    )
    .await
    .expect(200);
    assert_eq!(total("/tickets").await, 0);
}

async fn totals_stay_remembered_through_writes_that_move_no_ticket(app: TestApp) {
    // A stopped clock: no remembered figure ages out while the test runs.
    app.clock.stop();
    let (_, token) = app.agent(&["agent"]).await;
    let t = app.ticket(&token, "Counted once", json!({})).await;
    let reference = t["reference"].as_str().unwrap().to_owned();
    // Whether the list counted its total, and the total it answered.
    let list = |q: &'static str| {
        let (app, token) = (&app, &token);
        async move {
            let (reply, statements) = app.get_recording_queries(q, token).await;
            let total = reply.expect(200).body["meta"]["total"].as_i64().unwrap();
            (kinds(&statements).contains(&"total".to_string()), total)
        }
    };
    assert_eq!(list("/tickets?status=open").await, (true, 1));
    assert_eq!(list("/tickets?status=open").await, (false, 1));
    assert_eq!(list("/tickets?following=true").await, (true, 0));

    for internal in [false, true] {
        app.post(
            &format!("/tickets/{reference}/reply"),
            &token,
            json!({"body": "Looking into it", "is_internal_note": internal}),
        )
        .await
        .expect(201);
    }
    app.tag("beside-tickets").await;
    assert_eq!(
        list("/tickets?status=open").await,
        (false, 1),
        "a reply, a note and an admin item move no ticket between lists"
    );

    app.post(&format!("/tickets/{reference}/follow"), &token, json!({}))
        .await
        .expect(200);
    assert_eq!(
        list("/tickets?following=true").await,
        (true, 1),
        "following moves the ticket into the follower's list"
    );
    app.patch(
        &format!("/tickets/{reference}/status"),
        &token,
        json!({"status": "in_progress"}),
    )
    .await
    .expect(200);
    assert_eq!(list("/tickets?status=open").await, (true, 0));
}

fn refs(reply: &crate::support::Reply) -> Vec<String> {
    reply
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["reference"].as_str().unwrap().to_string())
        .collect()
}

async fn list_defaults_to_newest_first_with_meta_and_summaries(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    for i in 1..=3 {
        app.ticket(&token, &format!("T{i}"), json!({})).await;
    }
    let reply = app.get("/tickets", &token).await.expect(200);
    assert_eq!(refs(&reply), ["ESC-00003", "ESC-00002", "ESC-00001"]);
    assert_eq!(
        reply.body["meta"],
        json!({"current_page": 1, "last_page": 1, "per_page": 25, "total": 3, "next_cursor": null})
    );
    let first = &reply.data()[0];
    for absent in ["description", "replies", "activities"] {
        assert!(first.get(absent).is_none(), "list items leave out {absent}");
    }
    for present in [
        "sla",
        "tags",
        "allowed_transitions",
        "followers_count",
        "is_following",
        "requester",
    ] {
        assert!(first.get(present).is_some(), "list items have {present}");
    }
}

async fn each_filter_narrows_and_filters_combine(app: TestApp) {
    let (me, token) = app.agent(&["agent"]).await;
    let dept = app.department("Support").await;
    let a = app
        .ticket(
            &token,
            "A",
            json!({"priority": "high", "ticket_type": "incident", "department_id": dept}),
        )
        .await;
    let b = app.ticket(&token, "B", json!({"priority": "high"})).await;
    let c = app
        .ticket(
            &token,
            "C",
            json!({"priority": "low", "ticket_type": "incident"}),
        )
        .await;
    let r = |t: &Value| t["reference"].as_str().unwrap().to_string();
    app.post(
        &format!("/tickets/{}/assign", r(&a)),
        &token,
        json!({"agent_id": me}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("/tickets/{}/status", r(&b)),
        &token,
        json!({"status": "resolved"}),
    )
    .await
    .expect(200);
    app.post(&format!("/tickets/{}/follow", r(&c)), &token, json!({}))
        .await
        .expect(200);
    app.exec("UPDATE tickets SET sla_breached = 1 WHERE reference = 'ESC-00003'")
        .await;
    let cases: Vec<(String, Vec<String>)> = vec![
        ("status=resolved".into(), vec![r(&b)]),
        ("priority=high".into(), vec![r(&b), r(&a)]),
        (format!("department_id={dept}"), vec![r(&a)]),
        (format!("assigned_to={me}"), vec![r(&a)]),
        ("unassigned=1".into(), vec![r(&c), r(&b)]),
        ("unassigned=true".into(), vec![r(&c), r(&b)]),
        ("ticket_type=incident".into(), vec![r(&c), r(&a)]),
        ("sla_breached=1".into(), vec![r(&c)]),
        ("following=true".into(), vec![r(&c)]),
        ("priority=high&unassigned=1".into(), vec![r(&b)]),
        (
            "ticket_type=incident&priority=low&following=1".into(),
            vec![r(&c)],
        ),
        ("status=open&priority=high".into(), vec![r(&a)]),
    ];
    for (query, expected) in cases {
        let reply = app
            .get(&format!("/tickets?{query}"), &token)
            .await
            .expect(200);
        assert_eq!(refs(&reply), expected, "{query}");
        assert_eq!(reply.body["meta"]["total"], expected.len(), "{query}");
    }
}

/// `text` percent-encoded for a query string (every byte but letters and digits).
fn encoded(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The references `GET /tickets?search={text}` lists, newest first.
async fn found(app: &TestApp, token: &str, text: &str) -> Vec<String> {
    refs(
        &app.get(&format!("/tickets?search={}", encoded(text)), token)
            .await
            .expect(200),
    )
}

/// Five tickets the search tests look for (ESC-00001 .. ESC-00005, oldest first).
async fn searchable(app: &TestApp, token: &str) {
    for (subject, description) in [
        ("Printer on fire", "Smoke from room 12, it is on fire"),
        ("Café crème", "Naïve résumé for the Ünïcode team"),
        ("Login broken", "50% of users affected; see ops/foo_bar"),
        ("To do it", "an it thing"),
        ("Refund order 2017", "The customer wants a refund"),
    ] {
        app.ticket(token, subject, json!({"description": description}))
            .await;
    }
}

async fn search_matches_every_word_as_a_prefix_or_the_reference(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    searchable(&app, &token).await;
    let none: Vec<&str> = Vec::new();
    for (text, expected) in [
        ("print", vec!["ESC-00001"]),
        ("printer", vec!["ESC-00001"]),
        ("fire PRINT", vec!["ESC-00001"]),
        ("smoke room", vec!["ESC-00001"]),
        ("printer smoke", vec!["ESC-00001"]),
        ("printer scanner", none.clone()),
        ("rinter", none.clone()),
        ("cafe", vec!["ESC-00002"]),
        ("CRÈME naive RESUME", vec!["ESC-00002"]),
        ("unicode", vec!["ESC-00002"]),
        ("foo_bar", vec!["ESC-00003"]),
        ("foo", vec!["ESC-00003"]),
        ("refund 2017", vec!["ESC-00005"]),
        ("ord", vec!["ESC-00005"]),
        ("ESC-00003", vec!["ESC-00003"]),
        ("esc-00003", vec!["ESC-00003"]),
        ("ESC-0000", none.clone()),
        ("ESC-00009", none.clone()),
        ("esc", none.clone()),
        ("nothing-like-this", none.clone()),
    ] {
        assert_eq!(found(&app, &token, text).await, expected, "search {text:?}");
    }
    // Several matches come newest first, and the total counts the same rows.
    app.ticket(&token, "Printer jam", json!({})).await;
    let reply = app.get("/tickets?search=printer", &token).await.expect(200);
    assert_eq!(refs(&reply), ["ESC-00006", "ESC-00001"]);
    assert_eq!(reply.body["meta"]["total"], 2);
    let reply = app
        .get("/tickets?search=printer&per_page=1&page=2", &token)
        .await
        .expect(200);
    assert_eq!(refs(&reply), ["ESC-00001"]);
    assert_eq!(reply.body["meta"]["total"], 2);
    // The search combines with the other filters.
    assert_eq!(
        refs(
            &app.get("/tickets?search=printer&priority=urgent", &token)
                .await
                .expect(200)
        ),
        none
    );
}

async fn search_treats_query_syntax_as_plain_text(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    searchable(&app, &token).await;
    // Operator characters of FTS5 and of InnoDB's boolean mode separate words and do nothing
    // else: no negation, no phrase, no column filter, no error.
    for text in [
        "\"printer\"",
        "\"printer",
        "printer*",
        "*printer",
        "-printer",
        "+printer",
        "+fire -printer",
        "(printer",
        "printer)",
        "(printer OR fire",
        "printer:fire",
        "^printer",
        "~printer @8",
        "printer% fire!",
        "'printer' & \"fire\" | <>",
    ] {
        assert_eq!(
            found(&app, &token, text).await,
            ["ESC-00001"],
            "search {text:?}"
        );
    }
    // Operator words are words that must match like any other.
    for text in [
        "printer AND fire",
        "NEAR(printer fire)",
        "printer NOT fire",
        "subject:scanner",
        "\"",
        "*",
        "-",
        "+",
        "(",
        ")",
        ":",
        "\"\" * - + ( ) :",
        "NEAR",
        "AND",
        "%",
        "!",
        "\\",
        "';--",
    ] {
        assert_eq!(
            found(&app, &token, text).await,
            Vec::<String>::new(),
            "search {text:?}"
        );
    }
    // `OR` alone is a short word like any other (see the next test): "Refund order 2017".
    assert_eq!(found(&app, &token, "OR").await, ["ESC-00005"]);
}

async fn search_without_indexable_words_looks_in_subjects(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    searchable(&app, &token).await;
    // Words under 3 characters and stopwords are not in MariaDB's full-text index: beside other
    // words they are ignored...
    for text in [
        "printer on",
        "the printer",
        "printer 99",
        "it is the printer",
    ] {
        assert_eq!(
            found(&app, &token, text).await,
            ["ESC-00001"],
            "search {text:?}"
        );
    }
    // ...and alone, each must occur in the subject (anywhere in it).
    for (text, expected) in [
        ("it", vec!["ESC-00004"]),
        ("to do", vec!["ESC-00004"]),
        ("TO", vec!["ESC-00004"]),
        ("on", vec!["ESC-00001"]),
        ("in", vec!["ESC-00003", "ESC-00001"]),
        ("12", vec![]),
        ("20", vec!["ESC-00005"]),
        ("is", vec![]),
        ("the", vec![]),
    ] {
        assert_eq!(found(&app, &token, text).await, expected, "search {text:?}");
    }
}

async fn search_bad_input_is_422_on_search(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    searchable(&app, &token).await;
    let message = app
        .get(&format!("/tickets?search={}", "x".repeat(256)), &token)
        .await
        .expect_invalid("search");
    assert!(message.contains("255"), "{message}");
    let message = app
        .get(
            &format!("/tickets?search={}", encoded("a b c d e f g h i")),
            &token,
        )
        .await
        .expect_invalid("search");
    assert!(message.contains('8'), "{message}");
    // At the limits it is fine; a very long word still matches as its prefix.
    app.get(&format!("/tickets?search={}", "x".repeat(255)), &token)
        .await
        .expect(200);
    assert_eq!(
        found(&app, &token, "printer on fire from room it is smoke").await,
        ["ESC-00001"]
    );
    app.ticket(&token, &"y".repeat(60), json!({})).await;
    assert_eq!(found(&app, &token, &"y".repeat(50)).await, ["ESC-00006"]);
    // Blank is no search at all.
    assert_eq!(found(&app, &token, "   ").await.len(), 6);
}

async fn search_index_follows_edits_and_deletes(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    searchable(&app, &token).await;
    assert_eq!(found(&app, &token, "printer").await, ["ESC-00001"]);
    // No endpoint edits a subject; the index must follow whoever writes the row.
    app.exec("UPDATE tickets SET subject = 'Scanner on fire' WHERE reference = 'ESC-00001'")
        .await;
    assert_eq!(found(&app, &token, "printer").await, Vec::<String>::new());
    assert_eq!(found(&app, &token, "scanner").await, ["ESC-00001"]);
    assert_eq!(found(&app, &token, "smoke").await, ["ESC-00001"]);
    // Status changes write the row back without touching the text.
    app.patch(
        "/tickets/ESC-00001/status",
        &token,
        json!({"status": "in_progress"}),
    )
    .await
    .expect(200);
    assert_eq!(found(&app, &token, "scanner").await, ["ESC-00001"]);
    app.delete("/tickets/ESC-00005", &app.admin_token.clone())
        .await
        .expect(200);
    assert_eq!(found(&app, &token, "refund").await, Vec::<String>::new());
    assert_eq!(found(&app, &token, "ESC-00005").await, Vec::<String>::new());
    // A row removed outright leaves the index too: otherwise the old words would still find a
    // new row that takes its id.
    app.exec("DELETE FROM tickets WHERE reference = 'ESC-00002'")
        .await;
    app.exec(
        "INSERT INTO tickets (id, reference, subject, description, status, priority, \
         ticket_type, channel, requester_id, created_at, updated_at) \
         SELECT 2, 'ESC-00002', 'Replacement', 'Nothing here', 'open', 2, 'question', 'api', \
         MIN(id), 0, 0 FROM users",
    )
    .await;
    assert_eq!(found(&app, &token, "cafe").await, Vec::<String>::new());
    assert_eq!(found(&app, &token, "replacement").await, ["ESC-00002"]);
}

/// `meta.total` and the references of a search.
async fn found_total(app: &TestApp, token: &str, query: &str) -> (i64, Vec<String>) {
    let reply = app
        .get(&format!("/tickets?{query}"), token)
        .await
        .expect(200);
    (reply.body["meta"]["total"].as_i64().unwrap(), refs(&reply))
}

/// The search index in memory follows every write that takes a change number (every write of
/// the server, on any node), and only reads the database for the changes and the page: a
/// status change moves a ticket between filtered totals, a delete takes it out, and a subject
/// changed by another node (here by hand, numbered as a node numbers it) is found by its new
/// words only.
async fn the_search_index_follows_every_change_the_server_numbers(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    app.search_index_built().await;
    searchable(&app, &token).await;
    let one = |r: &str| (1, vec![r.to_string()]);
    let none = (0, Vec::<String>::new());
    let (reply, statements) = app
        .get_recording_queries("/tickets?search=fire&status=open", &token)
        .await;
    assert_eq!(refs(&reply.expect(200)), ["ESC-00001"]);
    assert!(
        !statements
            .iter()
            .any(|sql| sql.contains("MATCH") || sql.starts_with("SELECT COUNT(*)")),
        "answered from the index, not the full-text index: {statements:?}"
    );
    app.patch(
        "/tickets/ESC-00001/status",
        &token,
        json!({"status": "in_progress"}),
    )
    .await
    .expect(200);
    assert_eq!(
        found_total(&app, &token, "search=fire&status=open").await,
        none
    );
    assert_eq!(
        found_total(&app, &token, "search=fire&status=in_progress").await,
        one("ESC-00001")
    );
    app.delete("/tickets/ESC-00005", &app.admin_token.clone())
        .await
        .expect(200);
    assert_eq!(found_total(&app, &token, "search=refund").await, none);
    app.exec("UPDATE change_sequence SET seq = seq + 1 WHERE id = 1")
        .await;
    app.exec(
        "UPDATE tickets SET subject = 'Scanner on fire', \
         change_seq = (SELECT seq FROM change_sequence WHERE id = 1) \
         WHERE reference = 'ESC-00001'",
    )
    .await;
    assert_eq!(found_total(&app, &token, "search=printer").await, none);
    assert_eq!(
        found_total(&app, &token, "search=scanner%20smoke").await,
        one("ESC-00001")
    );
    assert_eq!(
        found_total(&app, &token, "search=cafe").await,
        one("ESC-00002")
    );
}

/// (table, access type, key) of every table in a MariaDB `EXPLAIN FORMAT=JSON` document.
fn tables(plan: &Value, out: &mut Vec<(String, String, String)>) {
    match plan {
        Value::Object(fields) => {
            if let Some(Value::String(name)) = fields.get("table_name") {
                let text = |key: &str| fields.get(key).and_then(Value::as_str).unwrap_or("");
                out.push((name.clone(), text("access_type").into(), text("key").into()));
            }
            fields.values().for_each(|v| tables(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| tables(v, out)),
        _ => {}
    }
}

async fn search_reads_the_full_text_index(app: TestApp) {
    use escalated::{domain::tickets::search, store::tickets};
    let (_, token) = app.agent(&["agent"]).await;
    searchable(&app, &token).await;
    let store = app.store().await;
    let mut conn = store.conn().await.unwrap();
    for text in ["printer fire", "ESC-00003"] {
        let filter = tickets::TicketFilter {
            search: Some(search::parse(text).unwrap()),
            status: Some("open".into()),
            ..Default::default()
        };
        let plan = tickets::explain_page(&mut conn, &filter).await.unwrap();
        let plan = plan.join("\n");
        match store.dialect() {
            escalated::store::Dialect::Sqlite => {
                assert!(plan.contains("SCAN tickets_fts VIRTUAL TABLE"), "{plan}");
                assert!(
                    plan.contains("SEARCH t USING INTEGER PRIMARY KEY"),
                    "tickets are read by id, not scanned: {plan}"
                );
                assert!(
                    !plan.contains("SCAN t\n") && !plan.ends_with("SCAN t"),
                    "{plan}"
                );
            }
            escalated::store::Dialect::MySql => {
                let plan: Value = serde_json::from_str(&plan).unwrap();
                let mut access = Vec::new();
                tables(&plan, &mut access);
                assert!(
                    access
                        .iter()
                        .any(|(_, how, key)| how == "fulltext" && key == "tickets_search"),
                    "{plan:#}"
                );
                // No ticket table is read whole (tiny user tables may be).
                for (table, how, _) in &access {
                    assert!(
                        how != "ALL" || !matches!(table.as_str(), "t" | "tickets"),
                        "{plan:#}"
                    );
                }
            }
        }
    }
    drop(conn);
    store.close().await;
}

/// The walk (the list order, ids only, keeping the search's matches) is what a page uses once
/// a search matches many tickets (thousands: too many to create here, so it is called
/// directly). It must give exactly the pages the match-first
/// plan gives, including pages that need more than one chunk of the walk.
/// A page of the search index's matches walks a list order. With a status and a priority its
/// own index holds every column the walk reads, so on MariaDB it walks that order rather than
/// every live ticket's (which reads ~15× the entries at a million tickets,
/// docs/performance.md); with a priority alone it has no such index and walks every live
/// ticket's. SQLite reads rows from its file cache and walks every live ticket's order here.
async fn a_status_and_priority_search_walks_their_own_index_on_mariadb(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    // 60 tickets, 12 of them high, 10 of those about a printer: too many matches to read a
    // page of one by id on either walk (see `page_from_index`).
    for i in 0..60 {
        let high = i % 5 == 0;
        let subject = if high && i >= 10 {
            "Printer jam"
        } else {
            "Scanner jam"
        };
        let priority = if high { "high" } else { "low" };
        app.ticket(
            &token,
            &format!("{subject} {i}"),
            json!({"priority": priority}),
        )
        .await;
    }
    app.search_index_built().await;
    let mysql = app.store().await.dialect() == escalated::store::Dialect::MySql;
    for (query, walks_its_filter) in [
        ("status=open&priority=high", mysql),
        ("priority=high", false),
    ] {
        let (reply, statements) = app
            .get_recording_queries(
                &format!("/tickets?{query}&search=printer&per_page=1"),
                &token,
            )
            .await;
        let reply = reply.expect(200);
        assert_eq!(refs(&reply), ["ESC-00056"], "{query}");
        assert_eq!(reply.body["meta"]["total"], 10, "{query}");
        let walks: Vec<&String> = statements
            .iter()
            .filter(|s| s.to_lowercase().contains("select group_concat("))
            .collect();
        assert_eq!(walks.len(), 1, "{query}: one chunk walked: {statements:?}");
        assert_eq!(
            walks[0].contains("t.priority = "),
            walks_its_filter,
            "{query}: {}",
            walks[0]
        );
        assert_eq!(
            walks[0].contains("FORCE INDEX (tickets_created_order)"),
            mysql && !walks_its_filter,
            "{query}: {}",
            walks[0]
        );
    }
}

async fn a_common_word_is_read_in_list_order_with_the_same_result(app: TestApp) {
    use std::collections::HashSet;

    use escalated::{
        domain::tickets::search,
        store::{
            keyset::Window,
            tickets::{self, SortColumn},
        },
    };
    let (_, token) = app.agent(&["agent"]).await;
    for i in 0..12 {
        let subject = if i % 3 == 0 {
            "Scanner jam"
        } else {
            "Printer jam"
        };
        let priority = if i % 2 == 0 { "high" } else { "low" };
        app.ticket(
            &token,
            &format!("{subject} {i}"),
            json!({"priority": priority}),
        )
        .await;
    }
    let store = app.store().await;
    let mut conn = store.conn().await.unwrap();
    for (text, priority) in [("print", None), ("jam", Some(3)), ("printer jam", Some(1))] {
        let filter = tickets::TicketFilter {
            search: Some(search::parse(text).unwrap()),
            priority,
            ..Default::default()
        };
        let search = filter.search.as_ref().unwrap();
        assert!(tickets::can_walk(search));
        let matches: HashSet<i64> = tickets::match_ids(&mut conn, search)
            .await
            .unwrap()
            .into_iter()
            .collect();
        for (sort, descending, limit, offset) in [
            (SortColumn::CreatedAt, true, 25, 0),
            (SortColumn::CreatedAt, false, 3, 2),
            (SortColumn::Priority, true, 4, 1),
        ] {
            let window = Window::Offset { limit, offset };
            let first = tickets::page(&mut conn, &filter, sort, descending, &window)
                .await
                .unwrap();
            // A first chunk of 2 ids makes the walk take several chunks.
            let holds = |id: i64| matches.contains(&id);
            let among = tickets::Among {
                holds: &holds,
                first_chunk: 2,
            };
            let walked = tickets::page_among(&mut conn, &filter, among, sort, descending, &window)
                .await
                .unwrap();
            // And from a cursor's position: after the first row of the page.
            let after = Window::After {
                limit,
                after: Some(sort.position(&first[0])),
            };
            let keyset = tickets::page(&mut conn, &filter, sort, descending, &after)
                .await
                .unwrap();
            let walked_after =
                tickets::page_among(&mut conn, &filter, among, sort, descending, &after)
                    .await
                    .unwrap();
            // And the few matches read by id (what the search index does for a rare word).
            let ids: Vec<i64> = matches.iter().copied().collect();
            let by_id = tickets::page_of(&mut conn, &filter, &ids, sort, descending, &window)
                .await
                .unwrap();
            let by_id_after = tickets::page_of(&mut conn, &filter, &ids, sort, descending, &after)
                .await
                .unwrap();
            let refs = |rows: Vec<tickets::TicketRow>| {
                rows.into_iter().map(|t| t.reference).collect::<Vec<_>>()
            };
            let (first, walked) = (refs(first), refs(walked));
            assert!(!first.is_empty(), "{text}: {first:?}");
            assert_eq!(
                walked, first,
                "{text} {sort:?} {descending} {limit} {offset}"
            );
            assert_eq!(refs(by_id), first, "{text} {sort:?} {descending} by id");
            assert_eq!(
                refs(by_id_after),
                refs(keyset.clone()),
                "{text} {sort:?} {descending} by id after"
            );
            let (keyset, walked_after) = (refs(keyset), refs(walked_after));
            assert_eq!(
                keyset[..first.len() - 1],
                first[1..],
                "{text} {sort:?} {descending}"
            );
            assert_eq!(walked_after, keyset, "{text} {sort:?} {descending}");
        }
    }
    drop(conn);
    store.close().await;
}

async fn sort_by_priority_is_by_severity(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    for (subject, priority) in [
        ("b", "medium"),
        ("c", "critical"),
        ("a", "low"),
        ("d", "urgent"),
        ("e", "high"),
    ] {
        app.ticket(&token, subject, json!({"priority": priority}))
            .await;
    }
    let priorities = |reply: crate::support::Reply| -> Vec<String> {
        reply
            .data()
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["priority"].as_str().unwrap().to_string())
            .collect()
    };
    let asc = priorities(
        app.get("/tickets?sort_by=priority&sort_dir=asc", &token)
            .await
            .expect(200),
    );
    assert_eq!(asc, ["low", "medium", "high", "urgent", "critical"]);
    let desc = priorities(
        app.get("/tickets?sort_by=priority", &token)
            .await
            .expect(200),
    );
    assert_eq!(desc, ["critical", "urgent", "high", "medium", "low"]);
    let subjects: Vec<String> = app
        .get("/tickets?sort_by=subject&sort_dir=asc", &token)
        .await
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["subject"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(subjects, ["a", "b", "c", "d", "e"]);
    let oldest = refs(
        &app.get("/tickets?sort_by=created_at&sort_dir=asc", &token)
            .await,
    );
    assert_eq!(
        oldest[0], "ESC-00001",
        "ties on created_at break by id in the same direction"
    );
}

async fn pagination_edges(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    for i in 0..5 {
        app.ticket(&token, &format!("P{i}"), json!({})).await;
    }
    let page2 = app
        .get("/tickets?per_page=2&page=2", &token)
        .await
        .expect(200);
    assert_eq!(refs(&page2), ["ESC-00003", "ESC-00002"]);
    let mut meta = page2.body["meta"].clone();
    assert!(meta["next_cursor"].is_string(), "a third page follows");
    meta.as_object_mut().unwrap().remove("next_cursor");
    assert_eq!(
        meta,
        json!({"current_page": 2, "last_page": 3, "per_page": 2, "total": 5})
    );
    let last = app
        .get("/tickets?per_page=2&page=3", &token)
        .await
        .expect(200);
    assert_eq!(refs(&last), ["ESC-00001"]);
    let past = app
        .get("/tickets?per_page=2&page=9", &token)
        .await
        .expect(200);
    assert_eq!(past.data(), &json!([]));
    assert_eq!(past.body["meta"]["total"], 5);
    let empty = app.get("/tickets?status=closed", &token).await.expect(200);
    assert_eq!(
        empty.body["meta"],
        json!({"current_page": 1, "last_page": 1, "per_page": 25, "total": 0, "next_cursor": null})
    );
    assert_eq!(
        app.get("/tickets?per_page=100", &token)
            .await
            .expect(200)
            .body["meta"]["per_page"],
        100
    );
}

async fn bad_list_parameters_are_422_naming_the_parameter(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    for (query, field) in [
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("per_page=ten", "per_page"),
        ("page=0", "page"),
        ("page=abc", "page"),
        ("status=pending", "status"),
        ("priority=extreme", "priority"),
        ("ticket_type=bug", "ticket_type"),
        ("sort_by=id;DROP TABLE tickets", "sort_by"),
        ("sort_dir=up", "sort_dir"),
        ("unassigned=yes", "unassigned"),
        ("sla_breached=2", "sla_breached"),
        ("following=on", "following"),
        ("department_id=x", "department_id"),
    ] {
        let reply = app
            .get(&format!("/tickets?{query}"), &token)
            .await
            .expect(422);
        assert!(
            reply.field_error(field).is_some(),
            "{query}: {}",
            reply.body
        );
    }
}

async fn boolean_filters_off_do_not_invert(app: TestApp) {
    let (me, token) = app.agent(&["agent"]).await;
    let t = app.ticket(&token, "Mine", json!({})).await;
    app.ticket(&token, "Nobody's", json!({})).await;
    app.post(
        &format!("/tickets/{}/assign", t["reference"].as_str().unwrap()),
        &token,
        json!({"agent_id": me}),
    )
    .await
    .expect(200);
    for query in [
        "unassigned=0",
        "unassigned=false",
        "sla_breached=0",
        "following=false",
    ] {
        assert_eq!(
            app.get(&format!("/tickets?{query}"), &token).await.body["meta"]["total"],
            2,
            "{query}"
        );
    }
}

/// What a statement of a list request is for, from its SQL (the statement itself when it is
/// none of these).
fn kind(sql: &str) -> String {
    let kind = if sql.starts_with("SELECT COUNT(*) FROM tickets_fts WHERE")
        || sql.starts_with("SELECT COUNT(*) FROM tickets WHERE MATCH")
    {
        "matches"
    } else if sql.starts_with("SELECT COUNT(*)") {
        "total"
    } else if sql.contains("WHERE change_seq > ?") {
        "changes"
    } else if sql.starts_with("SELECT t.id FROM tickets t") {
        "ids"
    } else if sql.starts_with("SELECT t.id,") {
        "page"
    } else if sql.contains("FROM ticket_tags") {
        "tags"
    } else if sql.starts_with("SELECT ticket_id, COUNT(*) AS followers") {
        "followers"
    } else {
        sql
    };
    kind.to_string()
}

fn kinds(statements: &[String]) -> Vec<String> {
    statements.iter().map(|sql| kind(sql)).collect()
}

/// `kinds` without the total: a list may find it remembered, or count it again when it aged.
fn without_total(kinds: &[String]) -> Vec<String> {
    kinds.iter().filter(|k| *k != "total").cloned().collect()
}

async fn list_runs_a_fixed_number_of_queries_whatever_the_page_size(app: TestApp) {
    // Remembered figures age by the server's clock: stopped, none of them goes out of date and is
    // counted again inside a measured request, however slowly the machine runs the test.
    app.clock.stop();
    let (_, token) = app.agent(&["agent"]).await;
    let tag = app.tag("counted").await;
    for i in 0..25 {
        let t = app
            .ticket(&token, &format!("Q{i}"), json!({"tags": [tag]}))
            .await;
        app.post(
            &format!("/tickets/{}/follow", t["reference"].as_str().unwrap()),
            &token,
            json!({}),
        )
        .await
        .expect(200);
    }
    let (one, small) = app
        .get_recording_queries("/tickets?per_page=1", &token)
        .await;
    let (full, large) = app
        .get_recording_queries("/tickets?per_page=25", &token)
        .await;
    assert_eq!(one.data().as_array().unwrap().len(), 1);
    assert_eq!(full.data().as_array().unwrap().len(), 25);
    let (small, large) = (kinds(&small), kinds(&large));
    assert_eq!(
        small,
        ["total", "page", "tags", "followers"],
        "one statement each, the total first"
    );
    assert_eq!(
        without_total(&large),
        without_total(&small),
        "statements do not grow with the page size: {large:?}"
    );
    assert!(
        large.iter().filter(|k| *k == "total").count() <= 1,
        "at most one recount of the total: {large:?}"
    );
    if app.config.tickets.search_index {
        // The search index answers a search by words: the tickets changed since it last
        // looked (none), then the page; its total is the count of its matches.
        app.search_index_built().await;
        let (searched, statements) = app
            .get_recording_queries("/tickets?search=q10", &token)
            .await;
        assert_eq!(refs(&searched.expect(200)), ["ESC-00011"]);
        assert_eq!(
            kinds(&statements),
            ["changes", "ids", "page", "tags", "followers"]
        );
        // On MariaDB the matches are ordered from the narrow index of sort keys, not the rows.
        if app.server().store.dialect() == escalated::store::Dialect::MySql {
            assert!(statements[1].contains("FORCE INDEX (tickets_sort_keys)"));
        }
    } else {
        // A search adds no statement of its own; a search by words asks how many tickets its
        // words match (remembered), to choose how to read them, side by side with its total.
        let (searched, statements) = app
            .get_recording_queries("/tickets?search=ESC-00003%20q", &token)
            .await;
        assert_eq!(refs(&searched.expect(200)), Vec::<String>::new());
        let mut counts = kinds(&statements);
        let page = counts.pop();
        counts.sort();
        assert_eq!(
            (counts, page.as_deref()),
            (
                vec!["matches".to_string(), "total".to_string()],
                Some("page")
            )
        );
    }
    let (searched, statements) = app
        .get_recording_queries("/tickets?search=ESC-00003", &token)
        .await;
    assert_eq!(refs(&searched.expect(200)), ["ESC-00003"]);
    assert_eq!(kinds(&statements), ["total", "page", "tags", "followers"]);
}

async fn dashboard_counts_and_lists(app: TestApp) {
    let (me, token) = app.agent(&["agent"]).await;
    let mine = app.ticket(&token, "Mine", json!({})).await;
    let urgent = app
        .ticket(&token, "Urgent nobody", json!({"priority": "urgent"}))
        .await;
    let done = app.ticket(&token, "Done", json!({})).await;
    let r = |t: &Value| t["reference"].as_str().unwrap().to_string();
    app.post(
        &format!("/tickets/{}/assign", r(&mine)),
        &token,
        json!({"agent_id": me}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("/tickets/{}/status", r(&done)),
        &token,
        json!({"status": "resolved"}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("/tickets/{}/status", r(&done)),
        &token,
        json!({"status": "closed"}),
    )
    .await
    .expect(200);
    app.exec("UPDATE tickets SET sla_breached = 1 WHERE reference = 'ESC-00002'")
        .await;
    let reply = app.get("/dashboard", &token).await.expect(200);
    let d = reply.data();
    assert_eq!(
        d["stats"],
        json!({"open": 2, "assigned": 1, "unassigned": 1, "sla_breached": 1, "resolved_today": 1})
    );
    let recent: Vec<&str> = d["recent_tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["reference"].as_str().unwrap())
        .collect();
    assert_eq!(recent, ["ESC-00003", "ESC-00002", "ESC-00001"]);
    assert_eq!(
        d["needs_attention"]["unassigned_urgent"][0]["reference"],
        r(&urgent)
    );
    assert_eq!(
        d["needs_attention"]["sla_breaching"][0]["reference"],
        r(&urgent)
    );
    // Another agent has nothing assigned.
    let (_, other) = app.agent(&["tickets:read"]).await;
    assert_eq!(
        app.get("/dashboard", &other).await.expect(200).data()["stats"]["assigned"],
        0
    );
    let realtime = app.get("/realtime/config", &other).await.expect(200);
    assert_eq!(realtime.data()["transport"], "sse");
    // The contract's 13 (§7), then email's 3 (§9.7).
    let events = realtime.data()["events"].as_array().unwrap();
    assert_eq!(events.len(), 16);
    assert_eq!(events[0], "ticket.created");
    assert_eq!(events[12], "macro.applied");
    assert_eq!(
        events[13..],
        [
            json!("email.received"),
            json!("email.sent"),
            json!("email.failed")
        ]
    );
    assert!(realtime.data()["url"].as_str().unwrap().starts_with("http"));
    assert_eq!(realtime.data()["enabled"], true);
}
