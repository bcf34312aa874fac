//! The SLA clock (contract §6, §8): due times in business hours (schedule, timezone, holidays),
//! recomputed with the priority, and paused while the ticket waits on the customer.

use chrono::{DateTime, Datelike, Days, NaiveDate, Weekday};
use escalated::{
    config::Config,
    jobs::{self, Job},
};
use serde_json::{Value, json};

use crate::{
    both_databases,
    support::{Backend, TestApp},
};

both_databases!(
    due_times_count_business_hours_across_holidays_a_weekend_and_a_timezone,
    due_times_follow_the_priority_in_business_hours,
    waiting_on_the_customer_pauses_the_clock,
    a_pause_in_business_hours_counts_open_time_only,
    a_paused_ticket_is_not_breached_until_it_resumes,
    an_unknown_timezone_is_refused,
);

const HOUR: i64 = 3600;

/// Hours per priority, low to critical.
fn hours(h: [f64; 5]) -> Value {
    json!({"low": h[0], "medium": h[1], "high": h[2], "urgent": h[3], "critical": h[4]})
}

/// Monday to Friday, 09:00 to 17:00 in `timezone`.
fn office(timezone: &str, holidays: &[String]) -> Value {
    let day = json!(["09:00", "17:00"]);
    json!({
        "timezone": timezone,
        "schedule": {"monday": day, "tuesday": day, "wednesday": day, "thursday": day, "friday": day},
        "holidays": holidays,
    })
}

/// Creates a policy (first response: low 4, medium 2, high 1 ...; resolution: low 40, medium
/// 10, high 6 ...) and returns its id.
async fn policy(app: &TestApp, name: &str, business_hours: Value, is_default: bool) -> i64 {
    app.post(
        "/admin/sla-policies/create",
        &app.admin_token,
        json!({
            "name": name,
            "is_default": is_default,
            "first_response_hours": hours([4.0, 2.0, 1.0, 0.5, 0.25]),
            "resolution_hours": hours([40.0, 10.0, 6.0, 4.0, 2.0]),
            "business_hours": business_hours,
        }),
    )
    .await
    .expect(201)
    .data()["id"]
        .as_i64()
        .unwrap()
}

fn at(text: &str) -> i64 {
    DateTime::parse_from_rfc3339(text).unwrap().timestamp()
}

fn time(ticket: &Value, key: &str) -> i64 {
    at(ticket["sla"][key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {ticket}")))
}

fn reference(ticket: &Value) -> String {
    ticket["reference"].as_str().unwrap().to_string()
}

async fn show(app: &TestApp, token: &str, reference: &str) -> Value {
    app.get(&format!("/tickets/{reference}"), token)
        .await
        .expect(200)
        .data()
        .clone()
}

async fn set_status(app: &TestApp, token: &str, reference: &str, status: &str) -> Value {
    app.patch(
        &format!("/tickets/{reference}/status"),
        token,
        json!({ "status": status }),
    )
    .await
    .expect(200)
    .data()
    .clone()
}

async fn set_priority(app: &TestApp, token: &str, reference: &str, priority: &str) -> Value {
    app.patch(
        &format!("/tickets/{reference}/priority"),
        token,
        json!({ "priority": priority }),
    )
    .await
    .expect(200)
    .data()
    .clone()
}

async fn check_sla(app: &TestApp, at: i64) -> String {
    let store = app.store().await;
    let outcome = jobs::run(Job::CheckSla, &store, &Config::default(), at)
        .await
        .unwrap()
        .unwrap();
    store.close().await;
    outcome
}

async fn due_times_count_business_hours_across_holidays_a_weekend_and_a_timezone(app: TestApp) {
    // Every day from today (in Tokyo) to the coming Friday is a holiday, so the clock starts
    // on the Monday after: 09:00 in Tokyo, 00:00 UTC. Today is a Tuesday, by the server's clock.
    let now = at("2025-03-04T03:00:00Z");
    app.clock.set(now);
    let tokyo = chrono_tz::Asia::Tokyo;
    let today = DateTime::from_timestamp(now, 0)
        .unwrap()
        .with_timezone(&tokyo)
        .date_naive();
    let mut holidays = Vec::new();
    let mut day = today;
    loop {
        holidays.push(day.format("%Y-%m-%d").to_string());
        if day.weekday() == Weekday::Fri {
            break;
        }
        day = day + Days::new(1);
    }
    let monday: NaiveDate = day + Days::new(3);
    let policy_id = policy(&app, "Tokyo office", office("Asia/Tokyo", &holidays), false).await;
    let department = app
        .post(
            "/admin/departments/create",
            &app.admin_token,
            json!({"name": "Tokyo", "sla_policy_id": policy_id}),
        )
        .await
        .expect(201)
        .data()["id"]
        .as_i64()
        .unwrap();
    let (_, token) = app.agent(&["agent"]).await;
    let t = app
        .ticket(&token, "Konnichiwa", json!({"department_id": department}))
        .await;
    assert_eq!(t["sla"]["policy_id"], policy_id);
    let monday_utc = at(&format!("{monday}T00:00:00Z"));
    // Medium: 2 h from the Monday opening; 10 h is 8 on Monday and 2 on Tuesday.
    assert_eq!(time(&t, "first_response_due_at"), monday_utc + 2 * HOUR);
    assert_eq!(
        time(&t, "resolution_due_at"),
        monday_utc + 24 * HOUR + 2 * HOUR
    );

    // A ticket outside the department gets the default policy, in calendar hours.
    let other = app.ticket(&token, "Elsewhere", json!({})).await;
    let created = at(other["created_at"].as_str().unwrap());
    assert_eq!(time(&other, "first_response_due_at"), created + 8 * HOUR);
}

async fn due_times_follow_the_priority_in_business_hours(app: TestApp) {
    let policy_id = policy(&app, "Tokyo office", office("Asia/Tokyo", &[]), true).await;
    let (_, token) = app.agent(&["agent"]).await;
    // Opened on Friday 2025-03-07 at 16:00 in Tokyo (07:00 UTC): one open hour that day.
    app.clock.set(at("2025-03-07T07:00:00Z"));
    let t = app.ticket(&token, "Moving", json!({})).await;
    assert_eq!(t["sla"]["policy_id"], policy_id);
    let reference = reference(&t);

    let t = set_priority(&app, &token, &reference, "high").await;
    // 1 h: Friday 17:00 Tokyo. 6 h: 1 on Friday, 5 on Monday, to 14:00 Tokyo.
    assert_eq!(t["sla"]["first_response_due_at"], "2025-03-07T08:00:00Z");
    assert_eq!(t["sla"]["resolution_due_at"], "2025-03-10T05:00:00Z");

    let t = set_priority(&app, &token, &reference, "low").await;
    // 4 h: 1 on Friday, 3 on Monday. 40 h: 1 + 8 × 4 + 7, to Friday 16:00 Tokyo.
    assert_eq!(t["sla"]["first_response_due_at"], "2025-03-10T03:00:00Z");
    assert_eq!(t["sla"]["resolution_due_at"], "2025-03-14T07:00:00Z");
}

async fn waiting_on_the_customer_pauses_the_clock(app: TestApp) {
    app.clock.stop();
    let (_, token) = app.agent(&["agent"]).await;
    let t = app.ticket(&token, "Need your logs", json!({})).await; // Standard, calendar
    let reference = reference(&t);
    let (first, resolution) = (
        time(&t, "first_response_due_at"),
        time(&t, "resolution_due_at"),
    );
    assert!(t["sla"]["paused_at"].is_null(), "the clock runs");

    let waiting = set_status(&app, &token, &reference, "waiting_on_customer").await;
    assert!(
        waiting["sla"]["paused_at"].is_string(),
        "{}",
        waiting["sla"]
    );
    assert_eq!(
        time(&waiting, "first_response_due_at"),
        first,
        "not yet moved"
    );
    // The customer takes three hours to answer.
    app.clock
        .advance(std::time::Duration::from_secs(3 * HOUR as u64));

    let back = set_status(&app, &token, &reference, "open").await;
    assert!(back["sla"]["paused_at"].is_null(), "the clock runs again");
    for (key, before) in [
        ("first_response_due_at", first),
        ("resolution_due_at", resolution),
    ] {
        assert_eq!(time(&back, key) - before, 3 * HOUR, "{key}");
    }

    // A priority change afterwards keeps the paused time.
    let high = set_priority(&app, &token, &reference, "high").await;
    let created = at(high["created_at"].as_str().unwrap());
    assert_eq!(
        time(&high, "first_response_due_at") - (created + 4 * HOUR),
        3 * HOUR
    );

    // A second pause, of an hour, adds to the first.
    set_status(&app, &token, &reference, "waiting_on_customer").await;
    let before = time(&show(&app, &token, &reference).await, "resolution_due_at");
    app.clock
        .advance(std::time::Duration::from_secs(HOUR as u64));
    let resolved = set_status(&app, &token, &reference, "resolved").await;
    assert_eq!(time(&resolved, "resolution_due_at") - before, HOUR);
}

async fn a_pause_in_business_hours_counts_open_time_only(app: TestApp) {
    // Open around the clock in UTC except one holiday: open time is calendar time less that day.
    let day = json!(["00:00", "24:00"]);
    let always = json!({
        "timezone": "UTC",
        "schedule": {"monday": day, "tuesday": day, "wednesday": day, "thursday": day,
                     "friday": day, "saturday": day, "sunday": day},
        "holidays": ["2025-03-05"],
    });
    policy(&app, "Almost always", always, true).await;
    let (_, token) = app.agent(&["agent"]).await;
    app.clock.set(at("2025-03-04T09:00:00Z"));
    let t = app.ticket(&token, "Holiday pause", json!({})).await;
    let reference = reference(&t);
    // Medium: 10 open hours from Tuesday 09:00.
    assert_eq!(t["sla"]["resolution_due_at"], "2025-03-04T19:00:00Z");
    // Paused from Tuesday 12:00 to Thursday 12:00: 24 open hours (12 on Tuesday, 12 on
    // Thursday; the holiday between does not count).
    app.clock.set(at("2025-03-04T12:00:00Z"));
    set_status(&app, &token, &reference, "waiting_on_customer").await;
    app.clock.set(at("2025-03-06T12:00:00Z"));
    let back = set_status(&app, &token, &reference, "in_progress").await;
    // 10 + 24 open hours from Tuesday 09:00: 15 on Tuesday, none on the holiday, 19 on Thursday.
    assert_eq!(back["sla"]["resolution_due_at"], "2025-03-06T19:00:00Z");
}

async fn a_paused_ticket_is_not_breached_until_it_resumes(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let t = app.ticket(&token, "Waiting", json!({})).await; // medium: 8 h / 48 h
    let reference = reference(&t);
    let created = at(t["created_at"].as_str().unwrap());
    set_status(&app, &token, &reference, "waiting_on_customer").await;
    assert_eq!(
        check_sla(&app, created + 7 * HOUR + 45 * 60).await,
        "0 breaches marked, 0 warnings sent",
        "no warning while paused"
    );
    assert_eq!(
        check_sla(&app, created + 9 * HOUR).await,
        "0 breaches marked, 0 warnings sent",
        "no breach while paused"
    );
    let shown = show(&app, &token, &reference).await;
    assert_eq!(shown["sla"]["first_response_breached"], false);

    // Back from a pause of a few seconds, the clock runs on: 9 h in, the first response is late.
    set_status(&app, &token, &reference, "in_progress").await;
    assert_eq!(
        check_sla(&app, created + 9 * HOUR).await,
        "1 breaches marked, 0 warnings sent"
    );
}

async fn an_unknown_timezone_is_refused(app: TestApp) {
    let reply = app
        .post(
            "/admin/sla-policies/create",
            &app.admin_token,
            json!({
                "name": "Atlantis",
                "first_response_hours": hours([4.0, 2.0, 1.0, 0.5, 0.25]),
                "resolution_hours": hours([40.0, 10.0, 6.0, 4.0, 2.0]),
                "business_hours": office("Atlantis/Poseidonia", &[]),
            }),
        )
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("business_hours.timezone"),
        Some("Unknown timezone: use an IANA name like Europe/Paris.")
    );
}

/// With `sla.pause_while_waiting_on_customer = false` the clock runs on while waiting.
async fn without_the_pause_the_clock_runs_while_waiting(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.sla.pause_while_waiting_on_customer = false;
    })
    .await
    else {
        return;
    };
    let (_, token) = app.agent(&["agent"]).await;
    let t = app.ticket(&token, "No pause", json!({})).await;
    let reference = reference(&t);
    let created = at(t["created_at"].as_str().unwrap());
    let waiting = set_status(&app, &token, &reference, "waiting_on_customer").await;
    assert!(waiting["sla"]["paused_at"].is_null());
    assert_eq!(
        check_sla(&app, created + 9 * HOUR).await,
        "1 breaches marked, 0 warnings sent"
    );
}

mod without_the_pause {
    use crate::support::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::without_the_pause_the_clock_runs_while_waiting(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mysql() {
        super::without_the_pause_the_clock_runs_while_waiting(Backend::MySql).await;
    }
}
