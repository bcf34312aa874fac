//! The OpenAPI document: generated from the endpoints, served without a token, and committed
//! as openapi/escalated.json (this test fails when the two drift apart).

use std::path::PathBuf;

use escalated::config::Config;

use crate::{both_databases, support::TestApp};

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi/escalated.json")
}

fn generated() -> String {
    escalated::api::spec_json(&Config::default().api.prefix) + "\n"
}

#[test]
fn committed_document_matches_the_endpoints() {
    let generated = generated();
    if std::env::var("ESCALATED_UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(committed_path(), &generated).unwrap();
    }
    let committed = std::fs::read_to_string(committed_path()).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/escalated.json is out of date; regenerate it with \
         `ESCALATED_UPDATE_OPENAPI=1 cargo test --test api openapi` (or `cargo run -- openapi > openapi/escalated.json`)"
    );
}

#[test]
fn document_declares_bearer_auth_on_every_operation() {
    let spec: serde_json::Value = serde_json::from_str(&generated()).unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(
        spec["components"]["securitySchemes"]["bearerAuth"]["scheme"],
        "bearer"
    );
    let paths = spec["paths"].as_object().unwrap();
    assert!(!paths.is_empty());
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            // The inbound email route takes its own shared secret, also a bearer scheme.
            let scheme = if path == "/inbound/email" {
                "inboundSecret"
            } else {
                "bearerAuth"
            };
            assert!(
                op["security"].to_string().contains(scheme),
                "{method} {path} lacks bearer security"
            );
            assert!(
                op["responses"]["401"].is_object(),
                "{method} {path} does not document 401"
            );
            assert!(
                op["responses"]["422"].is_object(),
                "{method} {path} does not document 422"
            );
        }
    }
}

both_databases!(served_document_and_docs_need_no_token);

async fn served_document_and_docs_need_no_token(app: TestApp) {
    let reply = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    assert!(
        reply.headers().get("x-ratelimit-limit").is_none(),
        "the document counts against no bucket"
    );
    let served: serde_json::Value = reply.json().await.unwrap();
    let expected: serde_json::Value = serde_json::from_str(&generated()).unwrap();
    assert_eq!(served, expected);
    let docs = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    let page = docs.text().await.unwrap();
    assert!(page.contains("rapi-doc"));
    // Titled for the product, and nothing fetched from another host: no stylesheet link out,
    // RapiDoc's own font download off, system fonts.
    assert!(page.contains("<title>Escalated API</title>"));
    assert!(!page.contains("<link"), "no outside stylesheet");
    assert!(page.contains(r#"load-fonts="false""#));
    assert!(!page.contains(r#"regular-font="Open Sans""#));
    assert!(!page.contains(r#"mono-font = "Roboto Mono""#));
}

#[test]
fn every_request_body_has_an_example() {
    let spec: serde_json::Value = serde_json::from_str(&generated()).unwrap();
    let schemas = &spec["components"]["schemas"];
    let mut bodies = 0;
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let Some(content) = op["requestBody"]["content"].as_object() else {
                continue;
            };
            for media in content.values() {
                // A raw body (an email message) is an inline binary string with its example.
                if media["schema"]["format"] == "binary" {
                    assert!(media["schema"]["example"].is_string(), "{method} {path}");
                    bodies += 1;
                    continue;
                }
                let reference = media["schema"]["$ref"].as_str().unwrap_or_default();
                let name = reference.rsplit('/').next().unwrap_or_default();
                assert!(
                    schemas[name]["example"].is_object(),
                    "{method} {path}: the request body {name} has no example"
                );
                bodies += 1;
            }
        }
    }
    assert!(bodies > 20, "found {bodies} request bodies");
}

/// Every success answer has an example (a real answer, recorded by `try_it`), and one in JSON
/// fits its schema; only what `try_it` cannot ask for has none.
#[test]
fn every_success_answer_has_an_example_of_its_schema() {
    let spec: serde_json::Value = serde_json::from_str(&generated()).unwrap();
    let mut examples = 0;
    for (id, (method, path, operation)) in crate::try_it::operations(&spec) {
        for (status, response) in operation["responses"].as_object().unwrap() {
            let Some(content) = response["content"].as_object().filter(|c| !c.is_empty()) else {
                continue;
            };
            let skipped = [id.clone(), format!("{id} {status}")];
            let not_run = crate::try_it::NOT_RUN
                .iter()
                .any(|(skipped_id, _)| skipped.iter().any(|s| s == skipped_id));
            if !status.starts_with('2') || not_run {
                continue;
            }
            let shown: Vec<_> = content
                .iter()
                .filter(|(_, media)| media.get("example").is_some())
                .collect();
            assert!(!shown.is_empty(), "{method} {path} {status} has no example");
            for (media, documented) in shown {
                if media.starts_with("application/json") {
                    let problems =
                        crate::conformance::problems(&documented["schema"], &documented["example"]);
                    assert!(
                        problems.is_empty(),
                        "{method} {path} {status}: the example is unlike its schema: {problems:?}"
                    );
                }
                examples += 1;
            }
        }
    }
    assert!(examples > 60, "{examples} examples");
}
