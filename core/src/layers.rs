//! The order of the top-level modules, checked: a module may use only the modules below it, so
//! every arrow points down (api → domain → store) and no two modules can form a loop. The test
//! reads the `crate::` paths of every file under `core/src`; a new top-level module must be
//! given its place in [`LAYERS`] before the test passes.
//!
//! Inside `domain`, which is too large for one list, the modules are kept free of loops
//! instead: every file under `src/domain` is a module (`tickets::editing`,
//! `scripts::macro_record`), the `crate::domain::..` and `super::..` paths it names are its
//! arrows (to the deepest module the path names, so `tickets::Actor` points at `tickets`, `tickets::editing::Editing` at
//! `tickets::editing`), and a module's `pub use child::..` re-exports are arrows to that child.
//! A module may use its own parents (a child of `script_files` uses its `Scripts`); any other
//! circle fails the test, which names it. Taken whole, the top-level modules (`tickets`,
//! `macros`, `events`, ...) form no circle either: the ticket rules sit below the kinds that
//! script them.

/// Bottom first. Each entry may use the entries before it, never those after it.
pub const LAYERS: &[(&str, &str)] = &[
    (
        "conflicts",
        "which of a request's transactions met a serialization conflict",
    ),
    ("error", "the error type every layer returns"),
    ("time", "timestamps and the server's clock"),
    ("metrics", "counters any layer bumps"),
    ("config", "the settings, as plain values"),
    ("blobs", "attachment bytes (file system or S3)"),
    ("store", "the only SQL"),
    (
        "scripting",
        "the Rhai runtime: runs a script, knows no ticket",
    ),
    ("domain", "the rules"),
    (
        "auth",
        "tokens, abilities and rate limits (the guard itself is HTTP: api::guard)",
    ),
    ("outbox_worker", "the leased loop the outbox senders share"),
    ("webhooks", "webhook delivery"),
    ("email", "email delivery"),
    ("events", "the event bus over the outbox"),
    ("plugins", "native plugins and the host functions they call"),
    ("app", "the state every endpoint and job receives"),
    ("jobs", "the scheduler"),
    ("api", "the HTTP endpoints and the guard"),
    ("telemetry", "logging set-up and the request log"),
    ("server", "assembles and serves the application"),
    ("seed", "demo data"),
    ("cli", "the command line"),
];

#[cfg(test)]
mod tests {
    use std::{
        collections::{BTreeMap, BTreeSet},
        fs,
        path::{Path, PathBuf},
    };

    use super::LAYERS;

    /// The top-level module a file under `src` belongs to (`api` for `src/api/tickets.rs`);
    /// `None` for the crate root files and this one.
    fn owner(src: &Path, file: &Path) -> Option<String> {
        let relative = file.strip_prefix(src).ok()?;
        let first = relative.components().next()?.as_os_str().to_str()?;
        let name = first.strip_suffix(".rs").unwrap_or(first);
        (!matches!(name, "lib" | "main" | "layers")).then(|| name.to_string())
    }

    fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).expect("read src") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                rust_files(&path, into);
            } else if path.extension().is_some_and(|e| e == "rs") {
                into.push(path);
            }
        }
    }

    /// The text without `//` comments (doc comments name other modules freely).
    fn code(text: &str) -> String {
        text.lines()
            .map(|line| line.find("//").map_or(line, |at| &line[..at]))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The first segments after every `crate::` in `code`, including each branch of a
    /// `use crate::{a::.., b}` tree.
    fn used_modules(code: &str) -> BTreeSet<String> {
        let mut used = BTreeSet::new();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let macro_path = rest[..at].ends_with('$');
            rest = &rest[at + "crate::".len()..];
            if macro_path {
                continue;
            }
            let tail = rest.trim_start();
            if let Some(group) = tail.strip_prefix('{') {
                // Top-level branches of the group: split on commas outside nested braces.
                let (mut depth, mut start) = (0, 0);
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => {
                            used.extend(first_segment(&group[start..i]));
                            break;
                        }
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            used.extend(first_segment(&group[start..i]));
                            start = i + 1;
                        }
                        _ => {}
                    }
                }
            } else {
                used.extend(first_segment(tail));
            }
        }
        used
    }

    fn first_segment(path: &str) -> Option<String> {
        let name: String = path
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        (!name.is_empty() && name != "self").then_some(name)
    }

    #[test]
    fn every_import_points_down_the_layers() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let rank = |name: &str| LAYERS.iter().position(|(layer, _)| *layer == name);
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        files.sort();
        let mut wrong = Vec::new();
        for file in &files {
            let Some(me) = owner(&src, file) else {
                continue;
            };
            let Some(my_rank) = rank(&me) else {
                wrong.push(format!("{me} has no place in layers::LAYERS"));
                continue;
            };
            let text = fs::read_to_string(file).expect("read source");
            for used in used_modules(&code(&text)) {
                // Items of the crate root (`crate::ALLOCATOR`) and the module itself are fine.
                let Some(used_rank) = rank(&used) else {
                    continue;
                };
                let shown = file.strip_prefix(&src).unwrap_or(file).display();
                if used_rank > my_rank {
                    wrong.push(format!("{shown} uses {used}, a layer above {me}"));
                }
                // Endpoints reach the store through the domain only.
                if me == "api" && used == "store" {
                    wrong.push(format!("{shown} uses store past the domain"));
                }
            }
        }
        wrong.dedup();
        assert!(
            wrong.is_empty(),
            "imports pointing up:\n{}",
            wrong.join("\n")
        );
    }

    /// The paths a `use` tree (or a plain path) at the start of `text` names, as segments:
    /// `{a::{self as b, C}, d}` gives `a::self`, `a::C` and `d`.
    fn tree_paths(text: &str) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        walk_tree(text, &mut Vec::new(), &mut out);
        out
    }

    /// Reads one tree from the start of `text` below `prefix`; answers how much it read.
    fn walk_tree(text: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
        let blank = |at: usize| text[at..].len() - text[at..].trim_start().len();
        let mut read = blank(0);
        if text[read..].starts_with('{') {
            read += 1;
            loop {
                read += walk_tree(&text[read..], prefix, out);
                read += blank(read);
                match text[read..].chars().next() {
                    Some(',') => read += 1,
                    Some('}') => return read + 1,
                    _ => return read,
                }
            }
        }
        let ident = |at: usize| -> String {
            text[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        };
        let name = ident(read);
        if name.is_empty() {
            return read;
        }
        read += name.len();
        prefix.push(name);
        if text[read..].starts_with("::") {
            read += 2 + walk_tree(&text[read + 2..], prefix, out);
        } else {
            out.push(prefix.clone());
            // `self as db`: the alias names nothing new.
            let after = read + blank(read);
            if text[after..].starts_with("as ") {
                let alias = after + 3 + blank(after + 3);
                read = alias + ident(alias).len();
            }
        }
        prefix.pop();
        read
    }

    /// The module of a file under `src/domain`, as a path below `domain`: `tickets::editing` for
    /// `tickets/editing.rs`, `tickets` for `tickets/mod.rs`, `` for `mod.rs` itself.
    fn domain_module(domain: &Path, file: &Path) -> String {
        let relative = file.strip_prefix(domain).unwrap_or(file).with_extension("");
        let mut parts: Vec<String> = relative
            .components()
            .filter_map(|c| c.as_os_str().to_str().map(str::to_string))
            .collect();
        if parts.last().is_some_and(|last| last == "mod") {
            parts.pop();
        }
        parts.join("::")
    }

    /// The domain modules `code` (of the module `me`) points at, by the rules of the module
    /// doc; paths that name no module below `domain` are left out.
    fn domain_arrows(me: &str, code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
        let here: Vec<String> = me
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let mut named: Vec<Vec<String>> = Vec::new();
        let starts = |pattern: &str| -> Vec<usize> {
            code.match_indices(pattern)
                .filter(|(at, _)| {
                    !code[..*at].ends_with(|c: char| {
                        c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '$'
                    })
                })
                .map(|(at, _)| at + pattern.len())
                .collect()
        };
        for at in starts("crate::") {
            for path in tree_paths(&code[at..]) {
                if path.first().is_some_and(|first| first == "domain") {
                    named.push(path[1..].to_vec());
                }
            }
        }
        for at in starts("super::") {
            let mut ups = 1;
            let mut rest = &code[at..];
            while let Some(after) = rest.strip_prefix("super::") {
                ups += 1;
                rest = after;
            }
            let Some(base) = here.len().checked_sub(ups) else {
                continue;
            };
            for path in tree_paths(rest) {
                named.push([&here[..base], &path[..]].concat());
            }
        }
        for at in starts("pub use ") {
            for path in tree_paths(&code[at..]) {
                if !matches!(path[0].as_str(), "crate" | "super" | "self" | "std") {
                    named.push([&here[..], &path[..]].concat());
                }
            }
        }
        named
            .iter()
            .filter_map(|path| {
                (1..=path.len())
                    .map(|len| path[..len].join("::"))
                    .take_while(|prefix| modules.contains(prefix))
                    .last()
            })
            .filter(|to| to != me && !me.starts_with(&format!("{to}::")))
            .collect()
    }

    /// One circle in `arrows`, as the modules along it, if there is any.
    fn find_circle(arrows: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
        fn visit(
            at: &str,
            arrows: &BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) -> Option<Vec<String>> {
            if let Some(from) = path.iter().position(|m| m == at) {
                let mut circle = path[from..].to_vec();
                circle.push(at.to_string());
                return Some(circle);
            }
            if done.contains(at) {
                return None;
            }
            path.push(at.to_string());
            for next in arrows.get(at).into_iter().flatten() {
                if let Some(circle) = visit(next, arrows, path, done) {
                    return Some(circle);
                }
            }
            path.pop();
            done.insert(at.to_string());
            None
        }
        let mut done = BTreeSet::new();
        arrows
            .keys()
            .find_map(|start| visit(start, arrows, &mut Vec::new(), &mut done))
    }

    /// Every arrow between the files of the domain, by the rules of the module doc.
    fn domain_file_arrows() -> BTreeMap<String, BTreeSet<String>> {
        let domain = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domain");
        let mut files = Vec::new();
        rust_files(&domain, &mut files);
        let modules: BTreeSet<String> = files.iter().map(|f| domain_module(&domain, f)).collect();
        let mut arrows: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for file in &files {
            let me = domain_module(&domain, file);
            let text = fs::read_to_string(file).expect("read source");
            let to = domain_arrows(&me, &code(&text), &modules);
            arrows.entry(me).or_default().extend(to);
        }
        arrows
    }

    #[test]
    fn no_loop_between_the_modules_of_the_domain() {
        assert_eq!(
            find_circle(&domain_file_arrows()),
            None,
            "modules of the domain that use each other in a circle"
        );
    }

    /// The same with each top-level domain module (`tickets`, `macros`, ...) taken whole: a
    /// kind's rules may use the ticket rules, so the ticket rules must not use the kind.
    #[test]
    fn no_loop_between_the_top_level_modules_of_the_domain() {
        let top = |module: &str| module.split("::").next().unwrap_or_default().to_string();
        let mut arrows: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in domain_file_arrows() {
            let from = top(&from);
            let to: BTreeSet<String> = to
                .iter()
                .map(|t| top(t))
                .filter(|t| *t != from && !t.is_empty())
                .collect();
            arrows.entry(from).or_default().extend(to);
        }
        assert_eq!(
            find_circle(&arrows),
            None,
            "top-level modules of the domain that use each other in a circle"
        );
    }

    #[test]
    fn the_domain_reader_follows_trees_super_and_re_exports() {
        let modules: BTreeSet<String> = [
            "",
            "tickets",
            "tickets::apply",
            "tickets::bulk",
            "macros",
            "macros::record",
        ]
        .into_iter()
        .map(str::to_string)
        .collect();
        let arrows = domain_arrows(
            "tickets::bulk",
            "use super::{Actor, apply::{self as a, Run}};\nuse crate::{domain::{macros::prepare}, store::Tx};\nsuper::super::macros::record::Macro",
            &modules,
        );
        assert_eq!(
            arrows.into_iter().collect::<Vec<_>>(),
            ["macros", "macros::record", "tickets::apply"],
            "a parent (`tickets`) is no arrow"
        );
        let facade = domain_arrows("macros", "pub use record::{Macro, MacroBody};", &modules);
        assert_eq!(facade.into_iter().collect::<Vec<_>>(), ["macros::record"]);
        let circle: BTreeMap<String, BTreeSet<String>> = [("a", "b"), ("b", "c"), ("c", "a")]
            .into_iter()
            .map(|(from, to)| (from.to_string(), BTreeSet::from([to.to_string()])))
            .collect();
        assert_eq!(
            find_circle(&circle).expect("a circle"),
            ["a", "b", "c", "a"]
        );
    }

    #[test]
    fn the_reader_sees_groups_and_paths() {
        let found = used_modules(&code(
            "use crate::{\n    api::{self, errors},\n    store::Tx, // crate::cli\n};\nlet x = crate::time::now();\n$crate::error::Error",
        ));
        let names: Vec<&str> = found.iter().map(String::as_str).collect();
        assert_eq!(names, ["api", "store", "time"]);
    }
}
