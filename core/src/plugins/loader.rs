//! Finding plugin libraries and checking them: the ABI version and entry size first, before
//! any plugin code runs, then the manifest. Libraries are never unloaded.

use std::path::{Path, PathBuf};

use escalated_plugin_sdk::{
    Manifest,
    abi::{ABI_VERSION, ENTRY_SYMBOL, Header, PluginEntry},
};
use libloading::Library;

use super::{check, ffi};

/// The file name endings of dynamic libraries.
const EXTENSIONS: [&str; 3] = ["so", "dylib", "dll"];

/// A library that passed every check, not yet instantiated.
pub struct Candidate {
    pub entry: PluginEntry,
    pub manifest: Manifest,
    pub routes: Vec<check::Route>,
}

/// The dynamic libraries directly in `dir`, by name. A missing folder holds none.
pub fn discover(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let listing = match std::fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(format!("cannot read {}: {err}", dir.display())),
    };
    let mut files: Vec<PathBuf> = listing
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.is_file()
                && path
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| EXTENSIONS.contains(&e))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Opens `path` and checks it for this server (`host_version`).
pub fn open(path: &Path, host_version: &str) -> Result<Candidate, String> {
    // Loading runs the library's initialisers: a native plugin is trusted code (docs/plugins.md).
    let library = unsafe { Library::new(path) }
        .map_err(|e| format!("cannot be opened: {}", with_sources(&e)))?;
    // Never unloaded: its functions and data may be in use until the process ends.
    let library: &'static Library = Box::leak(Box::new(library));
    let address = unsafe { library.get::<*const PluginEntry>(ENTRY_SYMBOL) }
        .map(|symbol| *symbol)
        .map_err(|_| {
            format!("exports no {ENTRY_SYMBOL}: not an Escalated plugin (see docs/plugins.md)")
        })?;
    if address.is_null() {
        return Err(format!("its {ENTRY_SYMBOL} is null"));
    }
    // Only the two leading fields are read until they are known to fit.
    let header = unsafe { std::ptr::read(address as *const Header) };
    if header.abi_version != ABI_VERSION {
        return Err(format!(
            "built for plugin ABI version {}, but this server speaks version {ABI_VERSION}: \
             rebuild it against escalated-plugin-sdk {}",
            header.abi_version,
            env!("CARGO_PKG_VERSION")
        ));
    }
    let needed = std::mem::size_of::<PluginEntry>();
    if (header.size as usize) < needed {
        return Err(format!(
            "its entry is {} bytes, plugin ABI version {ABI_VERSION} needs {needed}",
            header.size
        ));
    }
    let entry = unsafe { std::ptr::read(address) };
    if entry.create.is_none() || entry.handle.is_none() || entry.free.is_none() {
        return Err("its entry lacks create, handle or free".into());
    }
    let bytes = unsafe { ffi::manifest(&entry) }.map_err(|e| format!("manifest {e}"))?;
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| format!("its manifest is not valid: {e}"))?;
    let routes = check::manifest(&manifest, host_version)
        .map_err(|e| format!("plugin {:?}: {e}", manifest.slug))?;
    if !manifest.events.is_empty() && entry.on_event.is_none() {
        return Err(format!(
            "plugin {:?} subscribes to events but exports no on_event",
            manifest.slug
        ));
    }
    Ok(Candidate {
        entry,
        manifest,
        routes,
    })
}

/// `dlopen failed: file too short`: libloading keeps the system's reason as the source.
fn with_sources(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// Every library of `dir`, checked, with the slugs made unique (a later duplicate is refused).
pub fn check_all(dir: &Path, host_version: &str) -> Vec<(PathBuf, Result<Candidate, String>)> {
    let files = match discover(dir) {
        Ok(files) => files,
        Err(err) => return vec![(dir.to_path_buf(), Err(err))],
    };
    let mut slugs = std::collections::HashSet::new();
    files
        .into_iter()
        .map(|path| {
            let checked = open(&path, host_version).and_then(|candidate| {
                if slugs.insert(candidate.manifest.slug.clone()) {
                    Ok(candidate)
                } else {
                    Err(format!(
                        "another library already provides the plugin {:?}",
                        candidate.manifest.slug
                    ))
                }
            });
            (path, checked)
        })
        .collect()
}
