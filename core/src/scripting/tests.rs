use rhai::Map;
use serde_json::json;

use super::*;

/// The runtime without script files: this module knows no file set.
type Scripts = super::Scripts<()>;

fn scripts() -> Scripts {
    Scripts::new(&ScriptsConfig::default())
}

fn run(source: &str) -> Result<Outcome, ScriptError> {
    let ticket = values::to_map(&json!({"status": "open", "subject": "Hello", "tags": ["a"]}));
    scripts().run_blocking(source, &Entry::Main, ticket, Map::new())
}

#[test]
fn changes_are_recorded_in_order() {
    let out = run(r#"if ticket.status == "open" { set_status("resolved"); add_tag("done"); assign(3); unassign(); follow(); }"#).unwrap();
    let kinds: Vec<_> = out.changes.iter().map(|c| c.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["set_status", "add_tag", "assign", "unassign", "follow"]
    );
    assert_eq!(out.changes[2].value, json!(3));
}

#[test]
fn compile_errors_name_line_and_column() {
    let err = scripts().compile("let x = ;").unwrap_err();
    assert!(err.0.contains("line 1, column"), "{err}");
    let err = scripts().compile("\nexplode(1);").unwrap_err();
    assert!(
        err.0.contains("unknown function 'explode'") && err.0.contains("line 2"),
        "{err}"
    );
    let err = scripts().compile("set_status(nope);").unwrap_err();
    assert!(err.0.contains("nope"), "{err}");
    assert!(scripts().compile("eval(\"1\")").is_err());
    assert!(scripts().compile("import \"x\" as y;").is_err());
    assert!(
        scripts()
            .compile("fn f(t, u) { t.status.len() } f(ticket, user)")
            .is_ok()
    );
}

#[test]
fn limits_are_named() {
    let err = run("loop { }").unwrap_err();
    assert!(err.0.contains("max_operations"), "{err}");
    let err = run("fn f(x) { f(x + 1) } f(0)").unwrap_err();
    assert!(err.0.contains("max_call_levels"), "{err}");
    let err = run(r#"let s = "xxxxxxxxxx"; loop { s += s; }"#).unwrap_err();
    assert!(err.0.contains("max_string_size"), "{err}");
    let err = run("let a = []; loop { a.push(1); }").unwrap_err();
    assert!(
        err.0.contains("max_array_size") || err.0.contains("max_operations"),
        "{err}"
    );
}

#[test]
fn the_deadline_stops_a_slow_script() {
    let limits = ScriptsConfig {
        max_operations: u64::MAX,
        timeout_ms: 50,
        ..ScriptsConfig::default()
    };
    let started = Instant::now();
    let err = Scripts::new(&limits)
        .run_blocking("loop {}", &Entry::Main, Map::new(), Map::new())
        .unwrap_err();
    assert!(err.0.contains("timeout_ms"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn functions_are_called_with_ticket_and_user() {
    let source =
        r#"fn visible(t, u) { u.role == "admin" } fn run(t, u) { add_note("by " + u.name); }"#;
    let s = scripts();
    assert!(s.defines(source, "visible", 2).unwrap());
    assert!(!s.defines(source, "enabled", 2).unwrap());
    let user = values::to_map(&json!({"name": "Ann", "role": "admin"}));
    let out = s
        .run_blocking(
            source,
            &Entry::Function("visible"),
            Map::new(),
            user.clone(),
        )
        .unwrap();
    assert!(out.value.as_bool().unwrap());
    let out = s
        .run_blocking(source, &Entry::Function("run"), Map::new(), user)
        .unwrap();
    assert_eq!(out.changes[0].value, json!("by Ann"));
}

#[test]
fn map_size_is_bounded_where_maps_grow_through_functions() {
    // Rhai checks map sizes on function results (`+=`, `mixin`), not on `m[k] = v`; growth by
    // indexing is bounded by max_operations instead.
    let limits = ScriptsConfig {
        max_map_size: 10,
        ..ScriptsConfig::default()
    };
    let err = Scripts::new(&limits)
        .run_blocking(
            "let m = #{}; for i in 0..20 { let n = #{}; n[i.to_string()] = i; m += n; }",
            &Entry::Main,
            Map::new(),
            Map::new(),
        )
        .unwrap_err();
    assert!(err.0.contains("max_map_size"), "{err}");
}

/// `cargo test -p escalated --lib scripting::tests::bench -- --ignored --nocapture`
#[test]
#[ignore = "benchmark"]
fn bench_typical_macro_evaluations_per_second() {
    let s = scripts();
    let source = r#"
        if ticket.priority == "medium" && ticket.subject.contains("refund") { set_priority("high"); }
        if !("billing" in ticket.tags) { add_tag("billing"); }
        set_status("in_progress");
        add_reply("Hello " + ticket.requester.name + ", we are on " + ticket.reference + ".");
    "#;
    let ticket = json!({"priority": "medium", "subject": "A refund", "tags": ["a", "b"],
        "requester": {"name": "Ann"}, "reference": "ESC-00001"});
    s.compile(source).unwrap();
    let runs = 20_000;
    let started = Instant::now();
    for _ in 0..runs {
        let out = s
            .run_blocking(source, &Entry::Main, values::to_map(&ticket), Map::new())
            .unwrap();
        assert_eq!(out.changes.len(), 4);
    }
    let per_second = runs as f64 / started.elapsed().as_secs_f64();
    eprintln!("{per_second:.0} evaluations per second (compile cached)");
}

/// Fills a map by index with ~90 KB strings: each under `max_string_size`, the map under
/// `max_map_size`, together about 900 MB.
pub const MAP_FILLER: &str = r#"
let s = "";
s.pad(90000, 'x');
let m = #{};
let i = 0;
loop { m[`k${i}`] = s + i; i += 1; }
"#;

fn bounded(max_memory_bytes: u64) -> Scripts {
    Scripts::new(&ScriptsConfig {
        max_memory_bytes,
        max_operations: 10_000_000,
        timeout_ms: 20_000,
        ..ScriptsConfig::default()
    })
}

#[test]
fn memory_is_bounded_across_maps_arrays_and_strings() {
    let scripts = bounded(8 << 20);
    let strings_in_variables = (0..200).fold(
        String::from(r#"let s = ""; s.pad(90000, 'v');"#),
        |script, i| script + format!(" let v{i} = s + {i};").as_str(),
    );
    for source in [
        MAP_FILLER,
        // An array of maps, filled by index.
        r#"let s = ""; s.pad(90000, 'y'); let a = []; a.pad(5000, ()); let i = 0;
           loop { a[i] = #{ v: s + i }; i += 1; }"#,
        // Maps of arrays of maps.
        r#"let s = ""; s.pad(40000, 'z'); let m = #{}; let i = 0;
           loop { m[`${i}`] = [#{ v: s + i }, #{ w: s + i }]; i += 1; }"#,
        // Strings only, one variable each.
        strings_in_variables.as_str(),
    ] {
        let started = Instant::now();
        let err = scripts
            .run_blocking(source, &Entry::Main, Map::new(), Map::new())
            .unwrap_err();
        assert!(
            err.0.contains("max_memory_bytes = 8388608"),
            "{source}: {err}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }
    // A script under the bound (~4.5 MB) runs as before, again and again: the bound is per run.
    for _ in 0..3 {
        let out = scripts
            .run_blocking(
                r#"let s = ""; s.pad(90000, 'x'); let m = #{}; let i = 0;
                   while i < 50 { m[`k${i}`] = s + i; i += 1; } i"#,
                &Entry::Main,
                Map::new(),
                Map::new(),
            )
            .unwrap();
        assert_eq!(out.value.as_int().unwrap(), 50);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_max_concurrent_runs_execute_at_once() {
    // Each run spins until its 300 ms time limit; two places for six runs: three rounds.
    let scripts = Scripts::new(&ScriptsConfig {
        max_operations: u64::MAX,
        timeout_ms: 300,
        max_concurrent: 2,
        ..ScriptsConfig::default()
    });
    let started = Instant::now();
    let runs: Vec<_> = (0..6)
        .map(|_| {
            let scripts = scripts.clone();
            tokio::spawn(async move {
                scripts
                    .run("loop {}".into(), Entry::Main, Map::new(), Map::new())
                    .await
            })
        })
        .collect();
    for run in runs {
        let err = run.await.unwrap().unwrap_err();
        assert!(err.0.contains("timeout_ms"), "{err}");
    }
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(took < Duration::from_millis(5000), "{took:?}");
}
