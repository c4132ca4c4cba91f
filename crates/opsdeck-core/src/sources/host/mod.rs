//! The host under the console: CPU (total and per core), load, memory, disks, network rates
//! and the top processes, from sysinfo. Refreshes only what it shows, on a blocking thread
//! (sysinfo reads /proc synchronously); the process table (the one costly walk) only while a
//! top-processes tab is on screen (`Poller::visible`), and only CPU and memory of each
//! process.

use std::sync::{Arc, Mutex};

use serde::Serialize;
use std::time::Instant;

use sysinfo::{
    CpuRefreshKind, DiskRefreshKind, Disks, MemoryRefreshKind, ProcessRefreshKind,
    ProcessesToUpdate, RefreshKind, System,
};

/// The tabs that show the process table: it is walked only while one of them is open.
pub const PROCESS_TABS: &[&str] = &["Top CPU", "Top memory"];
/// The mount list is re-read every this many polls (a new or removed mount shows then).
pub const MOUNTS_EVERY: u64 = 30;
/// Rows of each top-processes table.
pub const TOP_N: usize = 8;

mod events;
mod netdev;
mod system;

use crate::sources::onscreen::OnScreen;
use crate::sources::system::{NoOp, Poller};

use crate::views::{Cell, Column, Level, PaneModel, Row, Summary, Table, fmt};
pub use system::{Host, HostSpec, HostSwitch};

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
    /// Usage of each core, percent, in core order.
    pub cpus: Vec<f32>,
    /// Per-interface rates (bytes per second) since the previous poll; loopback left out.
    pub networks: Vec<NetInfo>,
    /// Top processes by CPU and by resident memory, from this poll's process walk.
    pub top_cpu: Vec<ProcInfo>,
    pub top_memory: Vec<ProcInfo>,
    /// The process table was not walked this poll: it is walked only while a top-processes
    /// tab is open (always in `check` and `snapshot`), so `top_cpu` and `top_memory` are
    /// empty.
    pub processes_skipped: bool,
    /// Seconds since the process table was last walked (0: this poll); `None`: never.
    pub processes_age_secs: Option<u64>,
    /// Time to full of each disk, from this console's history (and Prometheus if set).
    pub capacity: Vec<crate::capacity::Forecast>,
    /// What the capacity forecasts could not read (Prometheus trouble).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct NetInfo {
    pub interface: String,
    pub rx_bytes_per_sec: f64,
    pub tx_bytes_per_sec: f64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ProcInfo {
    pub pid: u32,
    pub name: String,
    /// Percent of one core (can exceed 100 on several cores).
    pub cpu_percent: f32,
    /// Resident memory in bytes.
    pub memory: u64,
}

/// The `n` processes with the highest `key`, highest first (ties by pid for stable rows).
pub fn top_by<K: PartialOrd>(
    procs: &[ProcInfo],
    n: usize,
    key: impl Fn(&ProcInfo) -> K,
) -> Vec<ProcInfo> {
    let mut v: Vec<&ProcInfo> = procs.iter().collect();
    v.sort_by(|a, b| {
        key(b)
            .partial_cmp(&key(a))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.pid.cmp(&b.pid))
    });
    v.into_iter().take(n).cloned().collect()
}

/// Bytes per second over `secs`, zero when no time passed.
pub fn per_sec(bytes: u64, secs: f64) -> f64 {
    if secs <= 0.0 {
        0.0
    } else {
        bytes as f64 / secs
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DiskInfo {
    pub mount: String,
    pub total: u64,
    pub available: u64,
    /// Used reached 90% and has not yet fallen under 85.5%: kept by the poller across
    /// samples, so a disk hovering at the threshold is one crossing on the timeline.
    pub full: bool,
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
    networks: netdev::NetRates,
    polls: u64,
    history: Vec<u64>,
    /// The poll of the latest process walk (a process's CPU share is measured between two
    /// walks).
    walked: Option<u64>,
    /// Mounts over the disk threshold (`DiskInfo::full`).
    full: std::collections::HashSet<String>,
}

pub struct HostPoller {
    state: Arc<Mutex<Option<HostState>>>,
    processes: OnScreen,
    capacity: crate::capacity::CapacitySpec,
    tracker: crate::capacity::Tracker,
    backfill: crate::capacity::prometheus::Backfill,
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
            processes: OnScreen::new(PROCESS_TABS),
            capacity: Default::default(),
            tracker: Default::default(),
            backfill: Default::default(),
        }
    }

    /// Forecasts over `[capacity]`'s window, backfilled from its Prometheus if set.
    pub fn with_capacity(mut self, spec: crate::capacity::CapacitySpec) -> Self {
        self.tracker = crate::capacity::Tracker::new(spec.window_secs());
        self.capacity = spec;
        self
    }

    /// Each disk's time to full, from the history including this sample.
    async fn forecast(&mut self, s: &mut HostSample) {
        let figures: Vec<crate::capacity::Figure> = s
            .disks
            .iter()
            .map(|d| crate::capacity::Figure {
                kind: "host.disk",
                subject: d.mount.clone(),
                what: format!("disk {}", d.mount),
                used: d.total.saturating_sub(d.available) as f64,
                limit: Some(d.total as f64),
                unit: crate::metrics::Unit::Bytes,
                table: "Disks",
                key: d.mount.clone(),
            })
            .collect();
        let now = crate::capacity::now_secs();
        s.notes = self
            .backfill
            .run(&self.capacity, &mut self.tracker, &figures, "host", now)
            .await;
        s.capacity = self.tracker.observe(now, &figures);
    }
}

impl Poller for HostPoller {
    type Sample = HostSample;
    type Op = NoOp;

    async fn poll(&mut self) -> Result<HostSample, String> {
        let mut s = self.read().await?;
        self.forecast(&mut s).await;
        Ok(s)
    }

    fn visible(&mut self, tab: Option<&str>) -> bool {
        self.processes.tell(tab)
    }
}

impl HostPoller {
    async fn read(&mut self) -> Result<HostSample, String> {
        let state = self.state.clone();
        let walk = self.processes.wanted();
        let mut sample = tokio::task::spawn_blocking(move || {
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
                let mut networks = netdev::NetRates::default();
                networks.read();
                *guard = Some(HostState {
                    sys,
                    disks,
                    networks,
                    polls: 0,
                    history: Vec::new(),
                    walked: None,
                    full: Default::default(),
                });
            }
            let Some(st) = guard.as_mut() else {
                return Err("host state missing".to_string());
            };
            st.sys.refresh_cpu_usage();
            st.sys.refresh_memory();
            // Re-reading the mount table every poll was the host source's main idle cost:
            // refresh the known disks' space each poll and the mount list every 30th.
            if st.polls % MOUNTS_EVERY == 0 {
                st.disks.refresh(true);
            } else {
                for d in st.disks.iter_mut() {
                    d.refresh_specifics(DiskRefreshKind::nothing().with_storage());
                }
            }
            let networks: Vec<NetInfo> = st
                .networks
                .read()
                .into_iter()
                .map(|(interface, rx, tx)| NetInfo {
                    interface,
                    rx_bytes_per_sec: rx,
                    tx_bytes_per_sec: tx,
                })
                .collect();
            // The costly walk, only CPU and memory of each process, and only while its tab is
            // shown. A process's CPU share is measured between two walks: after a pause (the
            // tab was closed) two walks a moment apart, so the figures are of now.
            let (top_cpu, top_memory) = if walk {
                if st.walked.is_none_or(|w| w + 1 != st.polls) {
                    walk_processes(&mut st.sys);
                    std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
                }
                walk_processes(&mut st.sys);
                st.walked = Some(st.polls);
                let procs: Vec<ProcInfo> = st
                    .sys
                    .processes()
                    .values()
                    .map(|p| ProcInfo {
                        pid: p.pid().as_u32(),
                        name: p.name().to_string_lossy().into_owned(),
                        cpu_percent: p.cpu_usage(),
                        memory: p.memory(),
                    })
                    .collect();
                (
                    top_by(&procs, TOP_N, |p| p.cpu_percent),
                    top_by(&procs, TOP_N, |p| p.memory),
                )
            } else {
                (Vec::new(), Vec::new())
            };
            st.polls += 1;
            let cpu = st.sys.global_cpu_usage();
            st.history.push(cpu.round() as u64);
            if st.history.len() > 120 {
                st.history.remove(0);
            }
            let load = System::load_average()
                .map(|l| [l.one, l.five, l.fifteen])
                .unwrap_or_default();
            let mut disks: Vec<DiskInfo> = st
                .disks
                .iter()
                .filter(|d| d.total_space() > 0)
                .map(|d| DiskInfo {
                    mount: d.mount_point().display().to_string(),
                    total: d.total_space(),
                    available: d.available_space(),
                    full: false,
                })
                .collect();
            for d in &mut disks {
                d.full = events::full(st.full.contains(&d.mount), d.used_ratio());
            }
            st.full = disks
                .iter()
                .filter(|d| d.full)
                .map(|d| d.mount.clone())
                .collect();
            Ok(HostSample {
                hostname: System::host_name().unwrap_or_default(),
                cpu_percent: cpu,
                cpu_history: st.history.clone(),
                load,
                mem_used: st.sys.used_memory(),
                mem_total: st.sys.total_memory(),
                swap_used: st.sys.used_swap(),
                swap_total: st.sys.total_swap(),
                disks,
                cpus: st.sys.cpus().iter().map(|c| c.usage()).collect(),
                networks,
                top_cpu,
                top_memory,
                processes_skipped: !walk,
                processes_age_secs: None,
                ..Default::default()
            })
        })
        .await
        .map_err(|e| e.to_string())??;
        let now = Instant::now();
        if walk {
            self.processes.listed(now);
        }
        sample.processes_age_secs = self.processes.age(now).map(|d| d.as_secs());
        Ok(sample)
    }
}

/// Reads CPU time and memory of every process (threads are not listed: a JVM alone has a
/// hundred of them).
fn walk_processes(sys: &mut System) {
    sys.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        ProcessRefreshKind::nothing()
            .with_cpu()
            .with_memory()
            .without_tasks(),
    );
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
        m.tables.push(Table {
            title: "Network".into(),
            columns: vec![
                Column::left("INTERFACE", 16),
                Column::right("RX/s", 10),
                Column::right("TX/s", 10),
            ],
            rows: self
                .networks
                .iter()
                .map(|n| {
                    Row::new(
                        n.interface.clone(),
                        vec![
                            Cell::new(n.interface.clone()),
                            Cell::new(fmt::bytes(n.rx_bytes_per_sec as u64)),
                            Cell::new(fmt::bytes(n.tx_bytes_per_sec as u64)),
                        ],
                    )
                })
                .collect(),
            empty: "no interfaces".into(),
        });
        for (title, procs) in [("Top CPU", &self.top_cpu), ("Top memory", &self.top_memory)] {
            m.tables.push(Table {
                title: title.into(),
                columns: vec![
                    Column::right("PID", 8),
                    Column::right("CPU", 6),
                    Column::right("MEM", 10),
                    Column::left("NAME", 20),
                ],
                rows: procs
                    .iter()
                    .map(|p| {
                        Row::new(
                            p.pid.to_string(),
                            vec![
                                Cell::new(p.pid.to_string()),
                                Cell::new(format!("{:.0}%", p.cpu_percent)),
                                Cell::new(fmt::bytes(p.memory)),
                                Cell::new(p.name.clone()),
                            ],
                        )
                    })
                    .collect(),
                empty: if self.processes_skipped {
                    crate::sources::onscreen::not_listed(self.processes_age_secs)
                } else {
                    "no processes".into()
                },
            });
        }
        for n in &self.notes {
            m.summary
                .push(Summary::line(format!("hint: {n}"), Level::Info));
        }
        m.tables.push(Table {
            title: "Cores".into(),
            columns: vec![Column::left("CORE", 6), Column::right("USE", 6)],
            rows: self
                .cpus
                .iter()
                .enumerate()
                .map(|(i, u)| {
                    let level = if *u >= 90.0 {
                        Level::Warn
                    } else {
                        Level::Normal
                    };
                    Row::new(
                        i.to_string(),
                        vec![
                            Cell::new(format!("cpu{i}")),
                            Cell::level(format!("{u:.0}%"), level),
                        ],
                    )
                })
                .collect(),
            empty: String::new(),
        });
        m.tables.push(crate::capacity::table(&self.capacity));
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: u32, cpu: f32, mem: u64) -> ProcInfo {
        ProcInfo {
            pid,
            name: format!("p{pid}"),
            cpu_percent: cpu,
            memory: mem,
        }
    }

    #[test]
    fn top_processes_by_cpu_and_memory() {
        let procs = vec![
            p(1, 5.0, 900),
            p(2, 50.0, 100),
            p(3, 50.0, 500),
            p(4, 0.0, 1000),
        ];
        let cpu: Vec<u32> = top_by(&procs, 3, |p| p.cpu_percent)
            .iter()
            .map(|p| p.pid)
            .collect();
        assert_eq!(cpu, vec![2, 3, 1]);
        let mem: Vec<u32> = top_by(&procs, 2, |p| p.memory)
            .iter()
            .map(|p| p.pid)
            .collect();
        assert_eq!(mem, vec![4, 1]);
    }

    #[test]
    fn rates_and_disk_colours() {
        assert_eq!(per_sec(2000, 2.0), 1000.0);
        assert_eq!(per_sec(5, 0.0), 0.0);
        let s = HostSample {
            disks: vec![DiskInfo {
                mount: "/data".into(),
                total: 100,
                available: 3,
                ..Default::default()
            }],
            cpus: vec![10.0, 95.0],
            ..Default::default()
        };
        let m = s.model();
        assert_eq!(m.level, Level::Crit);
        let disks = m.tables.iter().find(|t| t.title == "Disks").unwrap();
        assert_eq!(disks.rows[0].cells[3].level, Level::Crit);
        let cores = m.tables.iter().find(|t| t.title == "Cores").unwrap();
        assert_eq!(cores.rows[1].cells[1].level, Level::Warn);
        assert_eq!(cores.rows[1].cells[1].text, "95%");
    }

    #[tokio::test]
    async fn polls_read_this_host() {
        let mut h = HostPoller::new();
        let s = h.poll().await.unwrap();
        assert!(s.mem_total > 0);
        assert!(!s.cpus.is_empty());
        assert!(
            !s.top_memory.is_empty() && !s.processes_skipped,
            "until told what is shown (check, snapshot), the processes are walked"
        );
        assert!(s.top_memory[0].memory >= s.top_memory.last().unwrap().memory);
        assert_eq!(s.processes_age_secs, Some(0));
    }

    /// Keeps one core of this process busy while the test runs.
    struct Spin(Arc<std::sync::atomic::AtomicBool>);
    impl Spin {
        fn start() -> Spin {
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let s = stop.clone();
            std::thread::spawn(move || {
                while !s.load(std::sync::atomic::Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            });
            Spin(stop)
        }
    }
    impl Drop for Spin {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    #[tokio::test]
    async fn processes_are_walked_only_while_their_tab_is_shown() {
        let _busy = Spin::start();
        let mut h = HostPoller::new();
        assert!(!h.visible(None));
        let s = h.poll().await.unwrap();
        assert!(s.processes_skipped);
        assert!(s.top_cpu.is_empty() && s.top_memory.is_empty());
        assert_eq!(s.processes_age_secs, None, "never walked");
        let m = s.model();
        let top = m.tables.iter().find(|t| t.title == "Top CPU").unwrap();
        assert_eq!(top.empty, "listed while this tab is open");
        assert!(!h.visible(Some("Disks")));
        assert!(h.poll().await.unwrap().processes_skipped);

        assert!(h.visible(Some("Top CPU")), "opening the tab asks a poll");
        let s = h.poll().await.unwrap();
        assert!(!s.processes_skipped);
        assert!(!s.top_memory.is_empty());
        // Two walks a moment apart: this process's busy thread shows at once, where a single
        // walk gives every process 0%.
        assert!(
            s.top_cpu.iter().any(|p| p.cpu_percent > 0.0),
            "{:?}",
            s.top_cpu
        );
        assert!(!h.visible(Some("Top memory")), "still a process tab");
        assert!(!h.poll().await.unwrap().processes_skipped);

        assert!(!h.visible(Some("Cores")));
        let s = h.poll().await.unwrap();
        assert!(s.processes_skipped);
        assert_eq!(s.processes_age_secs, Some(0), "walked a moment ago");
        assert!(s.top_cpu.is_empty());
    }
}
