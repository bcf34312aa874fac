//! The plugin SDK: see docs/plugins.md (the ABI arrives with the plugins issue).
