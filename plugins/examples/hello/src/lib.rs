//! The smallest useful plugin, and the one the server's tests drive: a greeting kept in the
//! plugin's key/value store, the caller as the plugin sees it, a handler that panics on purpose,
//! a slow one, and an echo of the events it has received.

use std::time::Duration;

use escalated_plugin_sdk::{
    Endpoint, Event, Host, Level, Plugin, Request, Response, export_plugin,
};
use serde_json::{Value, json};

/// Events kept for `GET /events`, newest last.
const EVENTS_KEPT: usize = 100;

fn plugin() -> Plugin {
    Plugin::new("hello", "Hello", env!("CARGO_PKG_VERSION"))
        .description("Says hello to the caller; echoes the events it receives.")
        .host_versions(">=0.1, <1")
        .endpoint(
            Endpoint::get("/hello", "Greet the caller")
                .description("Answers the greeting (default `Hello`) and the caller's name.")
                .response_schema(json!({
                    "type": "object",
                    "properties": { "message": { "type": "string", "example": "Hello, Ada" } },
                    "required": ["message"]
                })),
            hello,
        )
        .endpoint(
            Endpoint::get("/whoami", "The caller, as plugins see it")
                .description("The token's owner and abilities; touches nothing else.")
                .response_schema(json!({
                    "type": "object",
                    "properties": {
                        "user": { "type": "object" },
                        "abilities": { "type": "array", "items": { "type": "string" } }
                    }
                })),
            |_, request| {
                Response::ok(json!({ "user": request.user, "abilities": request.abilities }))
            },
        )
        .endpoint(
            Endpoint::new("PUT", "/greeting", "Change the greeting")
                .ability(Some("admin"))
                .request_schema(json!({
                    "type": "object",
                    "properties": { "greeting": { "type": "string", "maxLength": 50 } },
                    "required": ["greeting"]
                }))
                .response_schema(json!({
                    "type": "object",
                    "properties": { "greeting": { "type": "string" } }
                })),
            set_greeting,
        )
        .endpoint(
            Endpoint::get("/events", "Events received")
                .description("The last events delivered to this plugin, oldest first.")
                .response_schema(json!({ "type": "array", "items": { "type": "object" } })),
            events,
        )
        .endpoint(
            Endpoint::get("/panic", "Panic on purpose").description(
                "Always fails: shows that a panicking handler is a 500, nothing more.",
            ),
            |_, _| panic!("the hello plugin panics on purpose"),
        )
        .endpoint(
            Endpoint::get("/sleep/:ms", "Answer after a delay")
                .description("Sleeps `ms` milliseconds (at most 10000) before answering."),
            sleep,
        )
        .endpoint(
            Endpoint::new(
                "POST",
                "/tickets/:reference/note",
                "Add a note through the host",
            )
            .description("Adds `body` as an internal note, through the host's ticket rules.")
            .request_schema(json!({
                "type": "object",
                "properties": { "body": { "type": "string" } },
                "required": ["body"]
            })),
            add_note,
        )
        .on_events(&["ticket.created", "ticket.status_changed"], record)
}

fn add_note(host: &Host, request: Request) -> Response {
    let reference = request.param("reference").unwrap_or_default();
    let body = request
        .body
        .get("body")
        .and_then(Value::as_str)
        .unwrap_or_default();
    // Errors of the host (unknown ticket, blank body) come back as a message for the client.
    let added = host
        .add_note(reference, body)
        .and_then(|_| host.ticket(reference));
    match added {
        Ok(ticket) => Response::ok(json!({ "replies": ticket["replies"] })),
        Err(err) => Response::invalid([("body", err.0.as_str())]),
    }
}

export_plugin!(plugin);

fn hello(host: &Host, request: Request) -> Response {
    let greeting = host.kv_get::<String>("greeting");
    match greeting {
        Ok(greeting) => {
            let greeting = greeting.unwrap_or_else(|| "Hello".into());
            Response::ok(json!({ "message": format!("{greeting}, {}", request.user.name) }))
        }
        Err(err) => Response::internal(&err.0),
    }
}

fn set_greeting(host: &Host, request: Request) -> Response {
    let greeting = match request.body.get("greeting").and_then(Value::as_str) {
        None => return Response::invalid([("greeting", "The greeting field is required.")]),
        Some(g) if g.trim().is_empty() || g.chars().count() > 50 => {
            return Response::invalid([("greeting", "The greeting must be 1 to 50 characters.")]);
        }
        Some(g) => g.trim().to_string(),
    };
    match host.kv_set("greeting", &greeting) {
        Ok(()) => Response::ok(json!({ "greeting": greeting })).with_message("Greeting updated."),
        Err(err) => Response::internal(&err.0),
    }
}

fn events(host: &Host, _: Request) -> Response {
    match host.kv_get::<Vec<Value>>("events") {
        Ok(events) => Response::ok(Value::Array(events.unwrap_or_default())),
        Err(err) => Response::internal(&err.0),
    }
}

fn sleep(_: &Host, request: Request) -> Response {
    let ms = request.param("ms").and_then(|ms| ms.parse::<u64>().ok());
    let Some(ms) = ms.filter(|ms| *ms <= 10_000) else {
        return Response::invalid([("ms", "The ms must be a whole number up to 10000.")]);
    };
    std::thread::sleep(Duration::from_millis(ms));
    Response::ok(json!({ "slept_ms": ms }))
}

/// Events arrive one at a time, so this read-modify-write has no concurrent writer.
fn record(host: &Host, event: Event) -> Result<(), String> {
    let mut events: Vec<Value> = host.kv_get("events").map_err(|e| e.0)?.unwrap_or_default();
    events.push(json!({ "name": event.name, "payload": event.payload }));
    if events.len() > EVENTS_KEPT {
        events.drain(..events.len() - EVENTS_KEPT);
    }
    host.kv_set("events", &events).map_err(|e| e.0)?;
    host.log(Level::Info, &format!("hello received {}", event.name));
    Ok(())
}
