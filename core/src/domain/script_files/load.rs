//! Reading the three folders of script files into a [`FileSet`]. Every file goes through the
//! same checks as an admin API write of its kind; one that fails is skipped with a warning,
//! and the others load.

use std::{
    collections::HashSet,
    fs, io,
    path::{Path, PathBuf},
    time::UNIX_EPOCH,
};

use super::{
    MAX_FILES,
    header::{FileError, Header},
};
use crate::{
    domain::{
        automations::{self, AutomationInput},
        macros::{self, MacroInput},
        scripts::{FileScript, FileSet, Scripts, file_id},
        ticket_actions::{self, ActionInput},
    },
    time,
};

/// Largest file read: a script has at most 65,535 characters (checked exactly by the domain),
/// and a character takes at most 4 bytes.
const MAX_FILE_BYTES: u64 = 4 * 65_535;

#[derive(Debug, Clone, Copy)]
enum Kind {
    Macros,
    Actions,
    Automations,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Macros, Kind::Actions, Kind::Automations];

    fn folder(self) -> &'static str {
        match self {
            Kind::Macros => "macros",
            Kind::Actions => "actions",
            Kind::Automations => "automations",
        }
    }

    /// The header fields: those of the admin API's create body, less the script (the file) and
    /// the identity (the file name; a file macro is always shared).
    fn fields(self) -> &'static [&'static str] {
        match self {
            Kind::Macros => &["name", "description", "order"],
            Kind::Actions => &["label", "is_active"],
            Kind::Automations => &["name", "trigger", "interval_minutes", "is_active"],
        }
    }
}

/// Reads every folder of `dir` (see the module doc of `script_files`), logging what loaded
/// and each file skipped.
pub fn load(scripts: &Scripts, dir: &Path) -> FileSet {
    let mut set = FileSet::default();
    if !dir.is_dir() {
        tracing::debug!(dir = %dir.display(), "no scripts folder; no script files loaded");
        return set;
    }
    let mut skipped = 0;
    for kind in Kind::ALL {
        let mut ids = HashSet::new();
        for path in list(&dir.join(kind.folder())) {
            let shown = path.display();
            match read(scripts, kind, &path) {
                Ok(id) if !ids.insert(id.0) => {
                    skipped += 1;
                    tracing::warn!(file = %shown, "skipped script file {shown}: its id collides with another file's; rename it");
                }
                Ok((_, item)) => item.put(&mut set),
                Err(err) => {
                    skipped += 1;
                    let at = err.line.map(|l| format!(":{l}")).unwrap_or_default();
                    tracing::warn!(file = %shown, line = err.line, "skipped script file {shown}{at}: {}", err.problem);
                }
            }
        }
    }
    tracing::info!(
        dir = %dir.display(),
        macros = set.macros.len(),
        actions = set.actions.len(),
        automations = set.automations.len(),
        skipped,
        "script files loaded"
    );
    set
}

/// The `.rhai` files of `folder` by name (at most [`MAX_FILES`]); hidden files (editors'
/// temporary ones) are left out. A missing folder has none.
fn list(folder: &Path) -> Vec<PathBuf> {
    let entries = match fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            tracing::debug!(folder = %folder.display(), "no such scripts folder");
            return Vec::new();
        }
        Err(err) => {
            tracing::warn!(folder = %folder.display(), error = %err, "cannot read the scripts folder");
            return Vec::new();
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or(".");
            !name.starts_with('.')
                && path.extension().is_some_and(|ext| ext == "rhai")
                && path.is_file()
        })
        .collect();
    paths.sort();
    if paths.len() > MAX_FILES {
        tracing::warn!(
            folder = %folder.display(),
            files = paths.len(),
            "more than {MAX_FILES} script files in one folder; only the first {MAX_FILES} by name are loaded"
        );
        paths.truncate(MAX_FILES);
    }
    paths
}

/// What one file became.
enum Item {
    Macro(macros::Macro),
    Action(ticket_actions::TicketAction),
    Automation(automations::Automation),
}

impl Item {
    fn put(self, set: &mut FileSet) {
        match self {
            Item::Macro(m) => set.macros.push(m),
            Item::Action(a) => set.actions.push(a),
            Item::Automation(a) => set.automations.push(a),
        }
    }
}

/// Reads and checks one file: its id and what it defines.
fn read(scripts: &Scripts, kind: Kind, path: &Path) -> Result<(i64, Item), FileError> {
    let io_error = |err: io::Error| FileError::whole(format!("cannot read the file: {err}"));
    let meta = fs::metadata(path).map_err(io_error)?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(FileError::whole(format!(
            "the file has {} bytes; a script may have at most 65535 characters",
            meta.len()
        )));
    }
    let source = String::from_utf8(fs::read(path).map_err(io_error)?)
        .map_err(|_| FileError::whole("the file is not UTF-8 text"))?;
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    ticket_actions::check_key(&name)
        .map_err(|message| FileError::whole(format!("the file name: {message}")))?;
    let file = FileScript {
        id: file_id(kind.folder(), &name),
        path: format!("{}/{name}.rhai", kind.folder()),
        name,
        modified: meta
            .modified()
            .ok()
            .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
            .map_or_else(time::now, |d| d.as_secs() as i64),
    };
    let header = Header::parse(&source, kind.fields())?;
    let explain = |err| header.explain(err);
    let item = match kind {
        Kind::Macros => {
            let input = MacroInput {
                name: Some(header.text("name").unwrap_or_default()),
                description: Some(header.text("description")),
                is_shared: Some(true),
                order: header.integer("order")?,
                actions: None,
                script: Some(source),
            };
            Item::Macro(macros::from_file(scripts, &file, input).map_err(explain)?)
        }
        Kind::Actions => {
            let input = ActionInput {
                key: Some(file.name.clone()),
                label: Some(header.text("label").unwrap_or_default()),
                script: Some(source),
                is_active: header.boolean("is_active")?,
            };
            Item::Action(ticket_actions::from_file(scripts, &file, input).map_err(explain)?)
        }
        Kind::Automations => {
            let input = AutomationInput {
                name: Some(header.text("name").unwrap_or_default()),
                script: Some(source),
                trigger: Some(header.text("trigger").unwrap_or_default()),
                interval_minutes: header.integer("interval_minutes")?,
                is_active: header.boolean("is_active")?,
            };
            Item::Automation(automations::from_file(scripts, &file, input).map_err(explain)?)
        }
    };
    Ok((file.id, item))
}
