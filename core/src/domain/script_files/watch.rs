//! Loading the script files again when their folder changes: a filesystem watcher (`notify`:
//! inotify, FSEvents, ...) wakes a task, which waits for the burst of changes an editor's save
//! makes to settle, then loads the whole folder and puts the new set in place at once.

use std::{path::PathBuf, time::Duration};

use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::Scripts;
use super::load;

/// Quiet time after a change before loading, so one save is one load.
const SETTLE: Duration = Duration::from_millis(200);

/// Watches `dir` (and the folders in it) and loads it into `scripts` after each change, for
/// as long as the runtime runs. A missing folder is not watched: create it, then restart.
pub fn watch(scripts: Scripts, dir: PathBuf) {
    if !dir.is_dir() {
        tracing::debug!(dir = %dir.display(), "no scripts folder to watch");
        return;
    }
    // One slot: changes made while a load is pending are covered by that load.
    let (changed, mut changes) = mpsc::channel::<()>(1);
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        match event {
            // Our own reads of the files are not changes.
            Ok(event) if matches!(event.kind, EventKind::Access(_)) => {}
            Ok(_) => {
                let _ = changed.try_send(());
            }
            Err(err) => tracing::warn!(error = %err, "watching the script files failed"),
        }
    });
    let mut watcher = match watcher {
        Ok(watcher) => watcher,
        Err(err) => {
            tracing::warn!(error = %err, "cannot watch the script files; changes need a restart");
            return;
        }
    };
    if let Err(err) = watcher.watch(&dir, RecursiveMode::Recursive) {
        tracing::warn!(dir = %dir.display(), error = %err, "cannot watch the scripts folder; changes need a restart");
        return;
    }
    tokio::spawn(async move {
        // The watcher stops when dropped, so this task keeps it.
        let _watcher = watcher;
        while changes.recv().await.is_some() {
            tokio::time::sleep(SETTLE).await;
            while changes.try_recv().is_ok() {}
            let (scripts, dir) = (scripts.clone(), dir.clone());
            let loaded = tokio::task::spawn_blocking(move || {
                let set = load(&scripts, &dir);
                scripts.replace_files(set);
            })
            .await;
            if let Err(err) = loaded {
                tracing::warn!(error = %err, "loading the script files failed");
            }
        }
    });
}
