//! The order of the top-level modules, checked: a module may use only the modules below it, so
//! every arrow points down (api → domain → store) and no two modules can form a loop. The test
//! reads the `crate::` paths of every file under `core/src`; a new top-level module must be
//! given its place in [`LAYERS`] before the test passes.

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
        collections::BTreeSet,
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
                if used_rank > my_rank {
                    let shown = file.strip_prefix(&src).unwrap_or(file).display();
                    wrong.push(format!("{shown} uses {used}, a layer above {me}"));
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

    #[test]
    fn the_reader_sees_groups_and_paths() {
        let found = used_modules(&code(
            "use crate::{\n    api::{self, errors},\n    store::Tx, // crate::cli\n};\nlet x = crate::time::now();\n$crate::error::Error",
        ));
        let names: Vec<&str> = found.iter().map(String::as_str).collect();
        assert_eq!(names, ["api", "store", "time"]);
    }
}
