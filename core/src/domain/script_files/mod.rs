//! Script files: macros, custom ticket actions and automations read from the folder
//! `[scripts] dir` (`macros/*.rhai`, `actions/*.rhai`, `automations/*.rhai`), one per file.
//!
//! A file's metadata is a header of `// key: value` comment lines naming the same fields as the
//! admin API ([`header`]); the whole file is the script. Each file goes through the same checks
//! as an admin API write (`macros::from_file`, ...), and a file that fails them is skipped with
//! a warning naming the file, the line and the problem.
//!
//! File scripts are read-only through the API (`origin: "file"`). They are identified by their
//! folder and file name: a negative `id` ([`super::scripts::file_id`]; database ids are positive) and, for
//! actions, the key `file:{name}` (database keys cannot hold `:`). The set is loaded at start
//! ([`start`]) and loaded again whenever the folder changes ([`watch`]); each load replaces the
//! whole set at once (`Scripts::replace_files`).

mod header;
mod load;
mod watch;

use std::path::Path;

pub use load::load;
pub use watch::watch;

/// The runtime the files are loaded into (its home is `domain::scripts`; named here too for the
/// callers that load the folder themselves).
pub use super::scripts::Scripts;

/// Most files read from one folder; the rest (by name) are skipped with a warning.
pub const MAX_FILES: usize = 1000;

/// Loads the script files of `dir` into `scripts`, then watches the folder and loads it again
/// on every change. A missing folder is fine: no files.
pub async fn start(scripts: &Scripts, dir: &Path) {
    let loaded = {
        let (scripts, dir) = (scripts.clone(), dir.to_path_buf());
        tokio::task::spawn_blocking(move || load(&scripts, &dir)).await
    };
    match loaded {
        Ok(set) => scripts.replace_files(set),
        Err(err) => tracing::warn!(error = %err, "loading the script files failed"),
    }
    watch(scripts.clone(), dir.to_path_buf());
}

#[cfg(test)]
mod tests {
    use rhai::Map;
    use serde_json::json;

    use super::*;
    use crate::{
        config::ScriptsConfig,
        domain::scripts::FileSet,
        scripting::{Entry, values},
    };

    fn shipped() -> (Scripts, FileSet) {
        let scripts = Scripts::new(&ScriptsConfig::default());
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts");
        let set = load(&scripts, &dir);
        (scripts, set)
    }

    #[test]
    fn the_shipped_examples_load() {
        let (_, set) = shipped();
        let names: Vec<&str> = set.automations.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(set.macros[0].name, "Close as duplicate");
        assert_eq!(set.actions[0].key, "file:escalate-vip");
        assert_eq!(
            names,
            [
                "Auto-close waiting on customer after 5 days",
                "Urgent on keyword"
            ]
        );
    }

    #[test]
    fn urgent_on_keyword_matches_whole_words() {
        let (scripts, set) = shipped();
        let source = &set.automations[1].script;
        let changes = |subject: &str, priority: &str| {
            let ticket = json!({"subject": subject, "description": "x".repeat(70_000),
                "priority": priority});
            scripts
                .run_blocking(source, &Entry::Main, values::to_map(&ticket), Map::new())
                .unwrap()
                .changes
                .len()
        };
        assert_eq!(changes("Site DOWN!", "low"), 2);
        assert_eq!(changes("(outage) in EU", "medium"), 2);
        assert_eq!(changes("Download page", "low"), 0);
        assert_eq!(changes("Site down", "critical"), 0);
    }
}
