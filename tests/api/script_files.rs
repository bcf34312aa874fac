//! Script files (`[scripts] dir`): macros, custom actions and automations read from
//! `macros/`, `actions/`, `automations/`; listed with `origin: "file"`, read-only, run like
//! database ones, reloaded when the folder changes; and the four examples shipped in the
//! repository's `scripts/` folder, end to end.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use escalated::jobs::{self, Job};
use serde_json::{Value, json};

use crate::{both_databases, support::TestApp};

both_databases!(
    config = |c| c.scripts.dir = scratch_scripts(STARTERS);
    file_scripts_are_listed_read_only_and_run_like_database_ones,
    file_scripts_reload_when_the_folder_changes,
);

both_databases!(
    config = |c| c.scripts.dir = shipped_scripts();
    the_shipped_examples_work_end_to_end,
);

/// The repository's own `scripts/` folder.
fn shipped_scripts() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts")
        .display()
        .to_string()
}

const GREET: &str = "// name: Greet\n// description: Says hello.\n// order: 5\n//\n// Prose: not a field.\nadd_note(\"Hello {{requester.name}}\");\nadd_tag(\"greeted\");\n";

/// Files in a fresh scripts folder for each test; paths relative to it.
const STARTERS: &[(&str, &str)] = &[
    ("macros/greet.rhai", GREET),
    // Skipped, each for its own reason; the others still load.
    ("macros/broken.rhai", "// name: Broken\nlet x = ;\n"),
    ("macros/nameless.rhai", "add_tag(\"x\");\n"),
    ("macros/typo.rhai", "// nmae: Typo\nadd_tag(\"x\");\n"),
    (
        "macros/Bad Name.rhai",
        "// name: Bad name\nadd_tag(\"x\");\n",
    ),
    ("macros/notes.txt", "not a script"),
    (
        "actions/wave.rhai",
        "// label: Wave\nfn visible(t, u) { !(\"hidden\" in t.tags) }\nfn enabled(t, u) { !(\"waved\" in t.tags) }\nfn run(t, u) { add_tag(\"waved\"); }\n",
    ),
    (
        "actions/half.rhai",
        "// label: Half\nfn visible(t, u) { true }\n",
    ),
    (
        "automations/tag-new.rhai",
        "// name: Tag new\n// trigger: ticket.created\nadd_tag(\"new\");\n",
    ),
    (
        "automations/nudge.rhai",
        "// name: Nudge\n// trigger: schedule\n// interval_minutes: 60\nif ticket.subject.contains(\"nudge\") { add_note(\"nudged\"); }\n",
    ),
    (
        "automations/no-period.rhai",
        "// name: No period\n// trigger: schedule\nadd_tag(\"x\");\n",
    ),
];

/// A fresh folder holding `files`.
fn scratch_scripts(files: &[(&str, &str)]) -> String {
    let dir = std::env::temp_dir().join(format!(
        "escalated-scripts-{}",
        uuid::Uuid::new_v4().simple()
    ));
    for (path, text) in files {
        write(&dir, path, text);
    }
    dir.display().to_string()
}

fn write(dir: &Path, path: &str, text: &str) {
    let path = dir.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn scripts_dir(app: &TestApp) -> PathBuf {
    PathBuf::from(&app.config.scripts.dir)
}

/// The item of `list` whose `field` is `value`.
fn item<'a>(list: &'a Value, field: &str, value: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|m| m[field] == value)
}

/// Polls `GET path` (as the admin) until `done` holds of its `data`, for up to 5 s.
async fn eventually_listed(app: &TestApp, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let data = app
            .get(path, &app.admin_token)
            .await
            .expect(200)
            .data()
            .clone();
        if done(&data) || Instant::now() > deadline {
            return data;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls the ticket until `done` holds (event automations run in the background).
async fn eventually_ticket(app: &TestApp, reference: &str, done: impl Fn(&Value) -> bool) -> Value {
    eventually_listed(app, &format!("/tickets/{reference}"), done).await
}

fn reference(ticket: &Value) -> String {
    ticket["reference"].as_str().unwrap().to_string()
}

fn tag_names(ticket: &Value) -> Vec<String> {
    ticket["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

async fn file_scripts_are_listed_read_only_and_run_like_database_ones(app: TestApp) {
    let admin = &app.admin_token;
    let (_, agent) = app.agent(&["agent"]).await;

    // Macros: only the good file loads; it is shared, read-only, with a negative id.
    let listed = app.get("/macros", &agent).await.expect(200).data().clone();
    let greet = item(&listed, "name", "Greet")
        .expect("Greet is listed")
        .clone();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(greet["origin"], "file");
    assert_eq!(greet["file"], "macros/greet.rhai");
    assert_eq!(greet["description"], "Says hello.");
    assert_eq!(greet["order"], 5);
    assert_eq!(greet["is_shared"], true);
    assert_eq!(greet["kind"], "script");
    assert!(
        greet["script"]
            .as_str()
            .unwrap()
            .starts_with("// name: Greet")
    );
    let id = greet["id"].as_i64().unwrap();
    assert!(id < 0, "file ids are negative: {id}");

    // Beside a database macro: files first in the admin list, the total counts both.
    let db_macro = app
        .post(
            "/admin/macros/create",
            admin,
            json!({"name": "From the API", "actions": [{"type": "add_tag", "value": "api"}]}),
        )
        .await
        .expect(201);
    assert_eq!(db_macro.data()["origin"], "database");
    assert_eq!(db_macro.data()["file"], Value::Null);
    let page = app.get("/admin/macros?per_page=1", admin).await.expect(200);
    assert_eq!(page.body["meta"]["total"], 2);
    assert_eq!(page.data()[0]["id"], id);
    let page = app
        .get("/admin/macros?per_page=1&page=2", admin)
        .await
        .expect(200);
    assert_eq!(page.data()[0]["name"], "From the API");
    app.get(&format!("/admin/macros/{id}"), admin)
        .await
        .expect(200);
    app.get("/admin/macros/-1", admin).await.expect(404);

    // Read-only: 403 naming the file, before the body is judged; nothing changes.
    for reply in [
        app.patch(
            &format!("/admin/macros/{id}/update"),
            admin,
            json!({"name": ""}),
        )
        .await,
        app.delete(&format!("/admin/macros/{id}/delete"), admin)
            .await,
    ] {
        let reply = reply.expect(403);
        assert!(
            reply.message().contains("macros/greet.rhai"),
            "{}",
            reply.body
        );
        assert_eq!(reply.body["code"], "forbidden");
        assert_eq!(reply.body.as_object().unwrap().len(), 2, "{}", reply.body);
    }
    app.patch("/admin/macros/-1/update", admin, json!({}))
        .await
        .expect(404);

    // Applied like a database macro, placeholders filled.
    let ticket = app.ticket(&agent, "A question", json!({})).await;
    let r = reference(&ticket);
    let applied = app
        .post(
            &format!("/tickets/{r}/macro"),
            &agent,
            json!({"macro_id": id}),
        )
        .await
        .expect(200);
    assert_eq!(applied.message(), "Macro \"Greet\" applied.");
    assert_eq!(applied.data()["changes"][1]["value"], "greeted");
    let notes = applied.data()["ticket"]["replies"].to_string();
    assert!(notes.contains("Hello "), "{notes}");

    // Actions: key `file:{name}`, listed per ticket, run, read-only.
    let actions = app.get("/admin/actions", admin).await.expect(200);
    let wave = actions.data()[0].clone();
    assert_eq!(actions.body["meta"]["total"], 1, "half.rhai lacks run");
    assert_eq!(wave["key"], "file:wave");
    assert_eq!(wave["origin"], "file");
    assert_eq!(wave["file"], "actions/wave.rhai");
    let listed = app
        .get(&format!("/tickets/{r}/actions"), &agent)
        .await
        .expect(200);
    assert_eq!(
        listed.data(),
        &json!([{"key": "file:wave", "label": "Wave", "enabled": true}])
    );
    let ran = app
        .post(
            &format!("/tickets/{r}/actions/file:wave"),
            &agent,
            json!({}),
        )
        .await
        .expect(200);
    assert!(tag_names(&ran.data()["ticket"]).contains(&"waved".to_string()));
    app.post(
        &format!("/tickets/{r}/actions/file:wave"),
        &agent,
        json!({}),
    )
    .await
    .expect(403);
    app.post(&format!("/tickets/{r}/actions/wave"), &agent, json!({}))
        .await
        .expect(404);
    let wave_id = wave["id"].as_i64().unwrap();
    app.patch(
        &format!("/admin/actions/{wave_id}/update"),
        admin,
        json!({"label": "Changed"}),
    )
    .await
    .expect(403);
    app.delete(&format!("/admin/actions/{wave_id}/delete"), admin)
        .await
        .expect(403);

    // Automations: the event one runs on ticket.created, the schedule one once per period.
    let automations = app.get("/admin/automations", admin).await.expect(200);
    assert_eq!(
        automations.body["meta"]["total"], 2,
        "no-period.rhai lacks its interval"
    );
    let tag_new = item(automations.data(), "name", "Tag new").unwrap().clone();
    assert_eq!(tag_new["origin"], "file");
    assert_eq!(tag_new["trigger"], "ticket.created");
    let tag_new_id = tag_new["id"].as_i64().unwrap();
    app.delete(&format!("/admin/automations/{tag_new_id}/delete"), admin)
        .await
        .expect(403);
    let fresh = app.ticket(&agent, "Please nudge me", json!({})).await;
    let fresh = eventually_ticket(&app, &reference(&fresh), |t| {
        tag_names(t).contains(&"new".to_string())
    })
    .await;
    assert!(tag_names(&fresh).contains(&"new".to_string()), "{fresh}");

    let store = app.store().await;
    let start = (escalated::time::now() / 3600 + 1) * 3600;
    let mut summaries = Vec::new();
    for at in [start + 10, start + 1800, start + 3600] {
        let summary = jobs::run(Job::RunAutomations, &store, &app.config, at)
            .await
            .unwrap()
            .unwrap();
        summaries.push(summary);
    }
    store.close().await;
    assert_eq!(
        summaries,
        [1, 0, 1].map(|n| format!("{n} automation applications"))
    );
    let runs = app
        .scalar("SELECT COUNT(*) FROM automation_runs WHERE automation_id < 0")
        .await;
    // Two scheduled periods, plus the claim of each ticket.created event by `Tag new`.
    assert_eq!(runs, 2 + 2);
}

async fn file_scripts_reload_when_the_folder_changes(app: TestApp) {
    let dir = scripts_dir(&app);
    let names = |data: &Value| -> Vec<String> {
        data.as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_string())
            .collect()
    };
    let listed = app.get("/macros", &app.admin_token).await.expect(200);
    assert_eq!(names(listed.data()), ["Greet"]);
    let id = listed.data()[0]["id"].clone();

    // Changed: the same file keeps its id.
    write(
        &dir,
        "macros/greet.rhai",
        &GREET.replace("Greet", "Greet warmly"),
    );
    let data = eventually_listed(&app, "/macros", |d| names(d) == ["Greet warmly"]).await;
    assert_eq!(names(&data), ["Greet warmly"]);
    assert_eq!(data[0]["id"], id);

    // Added: a good file loads, a broken one beside it is skipped.
    write(
        &dir,
        "macros/another.rhai",
        "// name: Another\n// order: 1\nadd_tag(\"a\");\n",
    );
    write(
        &dir,
        "macros/also-broken.rhai",
        "// name: Also broken\nexplode();\n",
    );
    let data = eventually_listed(&app, "/macros", |d| names(d).len() == 2).await;
    assert_eq!(names(&data), ["Another", "Greet warmly"]);

    // Fixed: the broken one loads once it compiles.
    write(
        &dir,
        "macros/also-broken.rhai",
        "// name: Also broken\n// order: 9\nadd_tag(\"b\");\n",
    );
    let data = eventually_listed(&app, "/macros", |d| names(d).len() == 3).await;
    assert_eq!(names(&data), ["Another", "Greet warmly", "Also broken"]);

    // Removed: gone from the list, and no longer applicable.
    std::fs::remove_file(dir.join("macros/greet.rhai")).unwrap();
    let data = eventually_listed(&app, "/macros", |d| names(d).len() == 2).await;
    assert_eq!(names(&data), ["Another", "Also broken"]);
    let ticket = app.ticket(&app.admin_token, "Hello", json!({})).await;
    app.post(
        &format!("/tickets/{}/macro", reference(&ticket)),
        &app.admin_token,
        json!({"macro_id": id}),
    )
    .await
    .expect_invalid("macro_id");

    // Actions and automations reload too.
    write(
        &dir,
        "actions/wave.rhai",
        "// label: Wave again\nfn visible(t, u) { true }\nfn enabled(t, u) { true }\nfn run(t, u) { add_tag(\"w\"); }\n",
    );
    std::fs::remove_file(dir.join("automations/nudge.rhai")).unwrap();
    let actions =
        eventually_listed(&app, "/admin/actions", |d| d[0]["label"] == "Wave again").await;
    assert_eq!(actions[0]["label"], "Wave again");
    let automations = eventually_listed(&app, "/admin/automations", |d| {
        d.as_array().unwrap().len() == 1
    })
    .await;
    assert_eq!(automations[0]["name"], "Tag new");
    let _ = std::fs::remove_dir_all(dir);
}

async fn the_shipped_examples_work_end_to_end(app: TestApp) {
    let admin = &app.admin_token;
    let (agent_id, agent) = app.agent(&["agent"]).await;

    // Everything in the repository's scripts/ folder loads.
    let macros = app.get("/macros", &agent).await.expect(200);
    let close = item(macros.data(), "name", "Close as duplicate")
        .expect("close-as-duplicate.rhai loads")
        .clone();
    assert_eq!(close["file"], "macros/close-as-duplicate.rhai");
    let actions = app.get("/admin/actions", admin).await.expect(200);
    assert_eq!(actions.data()[0]["key"], "file:escalate-vip");
    let automations = app.get("/admin/automations", admin).await.expect(200);
    assert_eq!(automations.body["meta"]["total"], 2, "{}", automations.body);

    // close-as-duplicate: answers, tags, closes.
    let dup = app
        .ticket(
            &agent,
            "Printer jams again",
            json!({"requester": {"name": "Grace", "email": "grace@example.com"}}),
        )
        .await;
    let r = reference(&dup);
    let applied = app
        .post(
            &format!("/tickets/{r}/macro"),
            &agent,
            json!({"macro_id": close["id"]}),
        )
        .await
        .expect(200);
    let t = &applied.data()["ticket"];
    assert_eq!(t["status"], "closed", "{t}");
    assert!(tag_names(t).contains(&"duplicate".to_string()));
    let replies = t["replies"].as_array().unwrap();
    let reply = replies
        .iter()
        .find(|x| x["is_internal_note"] == false)
        .unwrap();
    let body = reply["body"].as_str().unwrap();
    assert!(body.contains("Hello Grace") && body.contains(&r), "{body}");
    assert!(
        replies.iter().any(|x| x["is_internal_note"] == true
            && x["body"].as_str().unwrap().contains("grace@example.com")),
        "{t}"
    );

    // escalate-vip: only on VIP tickets; enabled until urgent.
    let plain = app
        .ticket(
            &agent,
            "Invoice question",
            json!({"requester": {"name": "Pat", "email": "pat@example.com"}}),
        )
        .await;
    let plain_ref = reference(&plain);
    let listed = app
        .get(&format!("/tickets/{plain_ref}/actions"), &agent)
        .await
        .expect(200);
    assert_eq!(listed.data(), &json!([]));
    app.post(
        &format!("/tickets/{plain_ref}/actions/file:escalate-vip"),
        &agent,
        json!({}),
    )
    .await
    .expect(404);
    let vip = app
        .ticket(
            &agent,
            "Invoice question",
            json!({"requester": {"name": "Boss", "email": "boss@vip.example"}}),
        )
        .await;
    let vip_ref = reference(&vip);
    let listed = app
        .get(&format!("/tickets/{vip_ref}/actions"), &agent)
        .await
        .expect(200);
    assert_eq!(
        listed.data(),
        &json!([{"key": "file:escalate-vip", "label": "Escalate VIP customer", "enabled": true}])
    );
    let ran = app
        .post(
            &format!("/tickets/{vip_ref}/actions/file:escalate-vip"),
            &agent,
            json!({}),
        )
        .await
        .expect(200);
    let t = &ran.data()["ticket"];
    assert_eq!(t["priority"], "urgent", "{t}");
    assert_eq!(t["status"], "escalated", "{t}");
    assert_eq!(t["assignee"]["id"], agent_id, "{t}");
    assert!(
        t["replies"].to_string().contains("VIP escalation by"),
        "{t}"
    );
    let listed = app
        .get(&format!("/tickets/{vip_ref}/actions"), &agent)
        .await
        .expect(200);
    assert_eq!(listed.data()[0]["enabled"], false);
    app.post(
        &format!("/tickets/{vip_ref}/actions/file:escalate-vip"),
        &agent,
        json!({}),
    )
    .await
    .expect(403);
    // A `vip` tag makes any requester a VIP.
    let tag = app
        .post("/admin/tags/create", admin, json!({"name": "vip"}))
        .await
        .expect(201);
    let tagged = app
        .ticket(
            &agent,
            "Invoice question",
            json!({"tags": [tag.data()["id"]]}),
        )
        .await;
    let listed = app
        .get(&format!("/tickets/{}/actions", reference(&tagged)), &agent)
        .await
        .expect(200);
    assert_eq!(listed.data()[0]["key"], "file:escalate-vip");

    // urgent-on-keyword: whole words only; runs on ticket.created.
    let calm = app
        .ticket(&agent, "The download page is slow", json!({}))
        .await;
    let hot = app
        .ticket(&agent, "Outage: the EU region is down", json!({}))
        .await;
    let hot = eventually_ticket(&app, &reference(&hot), |t| t["priority"] == "urgent").await;
    assert_eq!(hot["priority"], "urgent", "{hot}");
    assert!(tag_names(&hot).contains(&"urgent-keyword".to_string()));
    // Events run in order, so the earlier ticket has had its turn.
    let calm = app
        .get(&format!("/tickets/{}", reference(&calm)), &agent)
        .await
        .expect(200);
    assert_ne!(calm.data()["priority"], "urgent");

    // auto-close-waiting-on-customer: after five days waiting, a reply and closed.
    let waiting = app.ticket(&agent, "Any news?", json!({})).await;
    let waiting_ref = reference(&waiting);
    app.patch(
        &format!("/tickets/{waiting_ref}/status"),
        &agent,
        json!({"status": "waiting_on_customer"}),
    )
    .await
    .expect(200);
    let store = app.store().await;
    let now = escalated::time::now();
    for (at, applied) in [(now + 4 * 86_400, 0), (now + 6 * 86_400, 1)] {
        let summary = jobs::run(Job::RunAutomations, &store, &app.config, at)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(summary, format!("{applied} automation applications"));
    }
    store.close().await;
    let shown = app
        .get(&format!("/tickets/{waiting_ref}"), &agent)
        .await
        .expect(200);
    assert_eq!(shown.data()["status"], "closed", "{}", shown.data());
    let last = shown.data()["replies"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert!(
        last["body"]
            .as_str()
            .unwrap()
            .contains("we have not heard back from you for five days"),
        "{last}"
    );
}
