//! PostgreSQL's capacity figures: each database's size against the space left where the
//! data directory lives, the data directory's filesystem itself, and client connections
//! against the usable slots. The data directory's disk is known only when the server runs
//! on this machine and the role may read `data_directory` (superuser or
//! pg_read_all_settings); otherwise databases show their growth without a time to full.

use super::model::{DataDisk, PgSample};
use crate::capacity::Figure;
use crate::metrics::Unit;

/// Whether a connection's host is this machine (a Unix socket or loopback).
pub fn local_host(host: &str) -> bool {
    host.starts_with('/')
        || host == "localhost"
        || host.starts_with("127.")
        || host == "::1"
        || host == "[::1]"
}

/// The disk holding `path` (the mount with the longest matching prefix); blocking.
pub fn disk_of(path: &str) -> Option<DataDisk> {
    let p = std::path::Path::new(path);
    if !p.exists() {
        return None;
    }
    let disks = sysinfo::Disks::new_with_refreshed_list().ok()?;
    disks
        .iter()
        .filter(|d| p.starts_with(d.mount_point()))
        .max_by_key(|d| d.mount_point().as_os_str().len())
        .map(|d| DataDisk {
            data_directory: path.to_string(),
            mount: d.mount_point().display().to_string(),
            total_bytes: d.total_space(),
            available_bytes: d.available_space(),
        })
}

/// This sample's figures.
pub fn figures(s: &PgSample, disk: Option<&DataDisk>) -> Vec<Figure> {
    let mut out = vec![Figure {
        kind: "postgres.connections",
        subject: String::new(),
        what: "connections".into(),
        used: s.connections.total as f64,
        limit: Some(s.usable_connections as f64),
        unit: Unit::Count,
        table: "Connections",
        key: String::new(),
    }];
    let free = disk.map(|d| d.available_bytes as f64);
    let mut total = 0.0;
    for d in &s.maintenance.databases {
        let Some(size) = d.size_bytes else { continue };
        total += size as f64;
        out.push(Figure {
            kind: "postgres.database",
            subject: d.database.clone(),
            what: format!("database {}", d.database),
            used: size as f64,
            // Alone, at its own rate, it may grow into the space left on the disk.
            limit: free.map(|f| f + size as f64),
            unit: Unit::Bytes,
            table: "Databases",
            key: d.database.clone(),
        });
    }
    match disk {
        Some(d) => out.push(Figure {
            kind: "postgres.data_directory",
            subject: "data_directory".into(),
            what: format!("data directory ({})", d.mount),
            used: d.total_bytes.saturating_sub(d.available_bytes) as f64,
            limit: Some(d.total_bytes as f64),
            unit: Unit::Bytes,
            table: "Capacity",
            key: "postgres.data_directory:data_directory".into(),
        }),
        None if total > 0.0 => out.push(Figure {
            kind: "postgres.data_directory",
            subject: "data_directory".into(),
            what: "all databases".into(),
            used: total,
            limit: None,
            unit: Unit::Bytes,
            table: "Capacity",
            key: "postgres.data_directory:data_directory".into(),
        }),
        None => {}
    }
    out
}
