-- Each plugin's key/value store (the `kv_*` host calls of the plugin ABI). Values are JSON.
-- Keys compare byte for byte (SQLite's default BINARY collation), as on MySQL below.

CREATE TABLE plugin_kv (
    plugin      TEXT    NOT NULL,          -- the plugin's slug
    kv_key      TEXT    NOT NULL,
    value       TEXT    NOT NULL,          -- JSON
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (plugin, kv_key)
);
