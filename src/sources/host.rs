//! The host under the console: CPU, load, memory and disks from sysinfo. Refreshes only what
//! it shows, on a blocking thread (sysinfo reads /proc synchronously).

use std::sync::{Arc, Mutex};

use serde::Serialize;
use sysinfo::{CpuRefreshKind, Disks, MemoryRefreshKind, RefreshKind, System};

use crate::sources::{Poller, Sample};
use crate::views::{Cell, Column, Level, PaneModel, Row, Summary, Table, fmt};

#[derive(Debug, Clone, Default, Serialize)]
pub struct HostSample {
    pub hostname: String,
    pub cpu_percent: f32,
    pub cpu_history: Vec<u64>,
    pub load: [f64; 3],
    pub mem_used: u64,
    pub mem_total: u64,
    pub swap_used: u64,
    pub swap_total: u64,
    pub disks: Vec<DiskInfo>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DiskInfo {
    pub mount: String,
    pub total: u64,
    pub available: u64,
}

impl DiskInfo {
    pub fn used_ratio(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            1.0 - self.available as f64 / self.total as f64
        }
    }
}

struct HostState {
    sys: System,
    disks: Disks,
    history: Vec<u64>,
}

pub struct HostPoller {
    state: Arc<Mutex<Option<HostState>>>,
}

impl Default for HostPoller {
    fn default() -> Self {
        Self::new()
    }
}

impl HostPoller {
    pub fn new() -> Self {
        Self {
            state: Arc::new(Mutex::new(None)),
        }
    }
}

impl Poller for HostPoller {
    async fn poll(&mut self) -> Result<Sample, String> {
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = state
                .lock()
                .map_err(|_| "host poller poisoned".to_string())?;
            if guard.is_none() {
                // Only CPU usage and memory: no process table walk.
                let refresh = RefreshKind::nothing()
                    .with_cpu(CpuRefreshKind::everything().without_frequency())
                    .with_memory(MemoryRefreshKind::everything());
                let sys = System::new_with_specifics(refresh).map_err(|e| e.to_string())?;
                let disks = Disks::new_with_refreshed_list().map_err(|e| e.to_string())?;
                *guard = Some(HostState {
                    sys,
                    disks,
                    history: Vec::new(),
                });
            }
            let Some(st) = guard.as_mut() else {
                return Err("host state missing".to_string());
            };
            st.sys.refresh_cpu_usage();
            st.sys.refresh_memory();
            st.disks.refresh(true);
            let cpu = st.sys.global_cpu_usage();
            st.history.push(cpu.round() as u64);
            if st.history.len() > 120 {
                st.history.remove(0);
            }
            let load = System::load_average()
                .map(|l| [l.one, l.five, l.fifteen])
                .unwrap_or_default();
            let disks = st
                .disks
                .iter()
                .filter(|d| d.total_space() > 0)
                .map(|d| DiskInfo {
                    mount: d.mount_point().display().to_string(),
                    total: d.total_space(),
                    available: d.available_space(),
                })
                .collect();
            Ok(Sample::Host(Box::new(HostSample {
                hostname: System::host_name().unwrap_or_default(),
                cpu_percent: cpu,
                cpu_history: st.history.clone(),
                load,
                mem_used: st.sys.used_memory(),
                mem_total: st.sys.total_memory(),
                swap_used: st.sys.used_swap(),
                swap_total: st.sys.total_swap(),
                disks,
            })))
        })
        .await
        .map_err(|e| e.to_string())?
    }
}

fn disk_level(ratio: f64) -> Level {
    if ratio >= 0.95 {
        Level::Crit
    } else if ratio >= 0.9 {
        Level::Warn
    } else {
        Level::Normal
    }
}

impl HostSample {
    pub fn model(&self) -> PaneModel {
        let mem_ratio = if self.mem_total > 0 {
            self.mem_used as f64 / self.mem_total as f64
        } else {
            0.0
        };
        let mem_text = format!(
            "{} / {}",
            fmt::bytes(self.mem_used),
            fmt::bytes(self.mem_total)
        );
        let cpu_text = format!(
            "{:.0}%  load {:.2} {:.2} {:.2}",
            self.cpu_percent, self.load[0], self.load[1], self.load[2]
        );
        let worst_disk = self
            .disks
            .iter()
            .map(|d| d.used_ratio())
            .fold(0.0, f64::max);
        let mut m = PaneModel {
            level: disk_level(worst_disk),
            ..Default::default()
        };
        m.tile.push(Summary::Spark {
            label: "cpu".into(),
            data: self.cpu_history.clone(),
            text: cpu_text.clone(),
        });
        m.tile.push(Summary::Gauge {
            label: "mem".into(),
            ratio: mem_ratio,
            text: mem_text.clone(),
            level: Level::Normal,
        });
        if let Some(d) = self
            .disks
            .iter()
            .max_by(|a, b| a.used_ratio().total_cmp(&b.used_ratio()))
        {
            m.tile.push(Summary::Gauge {
                label: "disk".into(),
                ratio: d.used_ratio(),
                text: format!("{} {}", d.mount, fmt::pct(d.used_ratio())),
                level: disk_level(d.used_ratio()),
            });
        }
        m.summary
            .push(Summary::line(self.hostname.to_string(), Level::Normal));
        m.summary.push(Summary::Spark {
            label: "cpu".into(),
            data: self.cpu_history.clone(),
            text: cpu_text,
        });
        m.summary.push(Summary::Gauge {
            label: "mem".into(),
            ratio: mem_ratio,
            text: mem_text,
            level: Level::Normal,
        });
        if self.swap_total > 0 {
            m.summary.push(Summary::Gauge {
                label: "swap".into(),
                ratio: self.swap_used as f64 / self.swap_total as f64,
                text: format!(
                    "{} / {}",
                    fmt::bytes(self.swap_used),
                    fmt::bytes(self.swap_total)
                ),
                level: Level::Normal,
            });
        }
        m.tables.push(Table {
            title: "Disks".into(),
            columns: vec![
                Column::left("MOUNT", 24),
                Column::right("SIZE", 10),
                Column::right("FREE", 10),
                Column::right("USED", 6),
            ],
            rows: self
                .disks
                .iter()
                .map(|d| {
                    Row::new(
                        d.mount.clone(),
                        vec![
                            Cell::new(d.mount.clone()),
                            Cell::new(fmt::bytes(d.total)),
                            Cell::new(fmt::bytes(d.available)),
                            Cell::level(fmt::pct(d.used_ratio()), disk_level(d.used_ratio())),
                        ],
                    )
                })
                .collect(),
            empty: "no disks".into(),
        });
        m
    }
}
