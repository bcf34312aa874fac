//! Customer satisfaction: agents record a customer's rating (1 to 5, with an optional comment)
//! of a ticket; the plugin keeps one rating per ticket in its key/value store and reports
//! statistics. When a ticket is resolved it records a rating request for it, which rating the
//! ticket fulfils.
//!
//! Keys: `rating:{reference}` and `request:{reference}`.

use std::{
    collections::BTreeMap,
    time::{SystemTime, UNIX_EPOCH},
};

use escalated_plugin_sdk::{
    Endpoint, Event, Host, Level, Plugin, Request, Response, export_plugin,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const COMMENT_MAX: usize = 2000;
const REFERENCE_MAX: usize = 32;

#[derive(Debug, Serialize, Deserialize)]
struct Rating {
    ticket: String,
    score: i64,
    comment: Option<String>,
    rated_by: i64,
    rated_at: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct RatingRequest {
    ticket: String,
    requested_at: i64,
}

fn plugin() -> Plugin {
    let rating_schema = json!({
        "type": "object",
        "properties": {
            "ticket": { "type": "string", "example": "ESC-00042" },
            "score": { "type": "integer", "minimum": 1, "maximum": 5 },
            "comment": { "type": "string", "nullable": true },
            "rated_by": { "type": "integer", "description": "The id of the agent who recorded it." },
            "rated_at": { "type": "integer", "description": "Unix seconds." }
        },
        "required": ["ticket", "score", "rated_by", "rated_at"]
    });
    Plugin::new("csat", "Customer satisfaction", env!("CARGO_PKG_VERSION"))
        .description("Satisfaction ratings of tickets (1 to 5), with statistics; asks for a rating when a ticket is resolved.")
        .host_versions(">=0.1, <1")
        .endpoint(
            Endpoint::post("/ratings", "Record a rating")
                .description("One rating per ticket: rating again replaces the earlier one.")
                .request_schema(json!({
                    "type": "object",
                    "properties": {
                        "ticket": { "type": "string", "maxLength": REFERENCE_MAX },
                        "score": { "type": "integer", "minimum": 1, "maximum": 5 },
                        "comment": { "type": "string", "maxLength": COMMENT_MAX, "nullable": true }
                    },
                    "required": ["ticket", "score"]
                }))
                .response_schema(rating_schema.clone())
                .success_status(201),
            rate,
        )
        .endpoint(
            Endpoint::get("/ratings/:ticket", "Show a ticket's rating").response_schema(rating_schema),
            show,
        )
        .endpoint(
            Endpoint::get("/stats", "Rating statistics").response_schema(json!({
                "type": "object",
                "properties": {
                    "count": { "type": "integer" },
                    "average": { "type": "number", "nullable": true },
                    "distribution": { "type": "object", "additionalProperties": { "type": "integer" } },
                    "pending_requests": { "type": "integer" }
                }
            })),
            stats,
        )
        .endpoint(
            Endpoint::get("/requests", "Tickets awaiting a rating").response_schema(json!({
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": { "ticket": { "type": "string" }, "requested_at": { "type": "integer" } }
                }
            })),
            requests,
        )
        .on_events(&["ticket.status_changed"], on_status_changed)
}

export_plugin!(plugin);

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn rate(host: &Host, request: Request) -> Response {
    let body = &request.body;
    let mut errors = BTreeMap::new();
    let ticket = match body.get("ticket") {
        None | Some(Value::Null) => {
            errors.insert("ticket", "The ticket field is required.".to_string());
            None
        }
        Some(Value::String(t)) if t.trim().is_empty() || t.chars().count() > REFERENCE_MAX => {
            errors.insert(
                "ticket",
                format!("The ticket must be 1 to {REFERENCE_MAX} characters."),
            );
            None
        }
        Some(Value::String(t)) => Some(t.trim().to_string()),
        Some(_) => {
            errors.insert("ticket", "The ticket field must be a string.".to_string());
            None
        }
    };
    let score = match body.get("score") {
        None | Some(Value::Null) => {
            errors.insert("score", "The score field is required.".to_string());
            None
        }
        Some(score) => match score.as_i64().filter(|s| (1..=5).contains(s)) {
            Some(s) => Some(s),
            None => {
                errors.insert(
                    "score",
                    "The score must be an integer between 1 and 5.".to_string(),
                );
                None
            }
        },
    };
    let comment = match body.get("comment") {
        None | Some(Value::Null) => None,
        Some(Value::String(c)) if c.chars().count() > COMMENT_MAX => {
            errors.insert(
                "comment",
                format!("The comment may not be longer than {COMMENT_MAX} characters."),
            );
            None
        }
        Some(Value::String(c)) => Some(c.clone()).filter(|c| !c.trim().is_empty()),
        Some(_) => {
            errors.insert("comment", "The comment field must be a string.".to_string());
            None
        }
    };
    let (Some(ticket), Some(score)) = (ticket, score) else {
        return Response::invalid(errors);
    };
    if !errors.is_empty() {
        return Response::invalid(errors);
    }
    let rating = Rating {
        ticket,
        score,
        comment,
        rated_by: request.user.id,
        rated_at: now(),
    };
    let stored = host
        .kv_set(&format!("rating:{}", rating.ticket), &rating)
        .and_then(|()| host.kv_delete(&format!("request:{}", rating.ticket)));
    match stored {
        Ok(_) => Response::created(json!(rating), "Rating recorded."),
        Err(err) => Response::internal(&err.0),
    }
}

fn show(host: &Host, request: Request) -> Response {
    let ticket = request.param("ticket").unwrap_or_default();
    match host.kv_get::<Rating>(&format!("rating:{ticket}")) {
        Ok(Some(rating)) => Response::ok(json!(rating)),
        Ok(None) => Response::not_found("Rating"),
        Err(err) => Response::internal(&err.0),
    }
}

fn stats(host: &Host, _: Request) -> Response {
    let (ratings, pending) = match (host.kv_list("rating:"), host.kv_list("request:")) {
        (Ok(r), Ok(p)) => (r, p),
        (Err(err), _) | (_, Err(err)) => return Response::internal(&err.0),
    };
    let scores: Vec<i64> = ratings
        .iter()
        .filter_map(|(_, v)| v["score"].as_i64())
        .collect();
    let mut distribution: BTreeMap<String, i64> = (1..=5).map(|s| (s.to_string(), 0)).collect();
    for score in &scores {
        *distribution.entry(score.to_string()).or_default() += 1;
    }
    let average = (!scores.is_empty()).then(|| {
        let mean = scores.iter().sum::<i64>() as f64 / scores.len() as f64;
        (mean * 100.0).round() / 100.0
    });
    Response::ok(json!({
        "count": scores.len(),
        "average": average,
        "distribution": distribution,
        "pending_requests": pending.len(),
    }))
}

fn requests(host: &Host, _: Request) -> Response {
    match host.kv_list("request:") {
        Ok(entries) => Response::ok(Value::Array(entries.into_iter().map(|(_, v)| v).collect())),
        Err(err) => Response::internal(&err.0),
    }
}

/// `payload.data.ticket.reference` and the new status in `payload.data.new` (or, failing that,
/// `payload.data.ticket.status`).
fn on_status_changed(host: &Host, event: Event) -> Result<(), String> {
    let data = &event.payload["data"];
    let status = data["new"]
        .as_str()
        .or_else(|| data["ticket"]["status"].as_str());
    let reference = data["ticket"]["reference"]
        .as_str()
        .or_else(|| data["reference"].as_str());
    let (Some("resolved"), Some(reference)) = (status, reference) else {
        return Ok(());
    };
    let already_rated = host
        .kv_get::<Value>(&format!("rating:{reference}"))
        .map_err(|e| e.0)?;
    if already_rated.is_some() {
        return Ok(());
    }
    let request = RatingRequest {
        ticket: reference.to_string(),
        requested_at: now(),
    };
    host.kv_set(&format!("request:{reference}"), &request)
        .map_err(|e| e.0)?;
    host.log(Level::Info, &format!("rating requested for {reference}"));
    Ok(())
}
