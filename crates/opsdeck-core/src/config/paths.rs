//! Where opsdeck keeps its files, from `directories` (XDG on Linux).

use std::path::PathBuf;

fn dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "opsdeck")
}

pub fn config_dir() -> PathBuf {
    dirs()
        .map(|d| d.config_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".opsdeck"))
}

pub fn data_dir() -> PathBuf {
    dirs()
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".opsdeck"))
}

/// `--config`, then `OPSDECK_CONFIG` (both handled by clap), then the config dir.
pub fn default_config_file() -> PathBuf {
    config_dir().join("config.toml")
}

pub fn default_log_file() -> PathBuf {
    data_dir().join("opsdeck.log")
}

pub fn default_audit_log() -> PathBuf {
    data_dir().join("audit.jsonl")
}
