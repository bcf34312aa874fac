-- Each plugin's key/value store (the `kv_*` host calls of the plugin ABI). Values are JSON.
-- Keys use a binary collation so that they compare byte for byte, as on SQLite: `Key` and
-- `key` are two keys on both.

CREATE TABLE plugin_kv (
    plugin      VARCHAR(64)     NOT NULL,          -- the plugin's slug
    kv_key      VARCHAR(191)    CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    value       MEDIUMTEXT      NOT NULL,          -- JSON
    updated_at  BIGINT          NOT NULL,
    PRIMARY KEY (plugin, kv_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
