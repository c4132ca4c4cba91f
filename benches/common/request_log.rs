//! The broker's request log (`Kafka::start_logging_requests`): one
//! "<unix ms> Completed request:{json}" line per request, read into per-window counts by
//! API key, client id and broker time, and printed as markdown.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

use serde::Deserialize;

/// One completed request from a client listener (the controller listener's own traffic,
/// the broker's heartbeats to itself, is left out when reading).
#[derive(Debug, Clone)]
pub struct Request {
    /// When the broker logged it (after sending the response).
    pub at_ms: u64,
    pub api: String,
    pub client_id: String,
    /// "broker:port-client:port-n-m": one client connection.
    pub connection: String,
    pub total_ms: f64,
    /// Length of the logged line: the request and response rendered as JSON by the broker.
    /// Grows with what was asked and answered; not the bytes on the wire.
    pub json_bytes: usize,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Line {
    request_header: Header,
    connection: String,
    total_time_ms: f64,
    listener: String,
    // The request and response bodies are skipped unparsed (serde ignores unknown fields).
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    request_api_key_name: String,
    #[serde(default)]
    client_id: String,
}

const MARK: &str = " Completed request:";

/// Every client request in the log (streamed: a line can be megabytes). Panics saying which
/// line could not be read: a changed log format must not give silently wrong figures.
pub fn read(path: &Path) -> Vec<Request> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| {
        panic!(
            "no request log at {}: {e} (was the broker started with start_logging_requests?)",
            path.display()
        )
    });
    let mut out = Vec::new();
    for (n, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.unwrap_or_else(|e| panic!("request log line {}: {e}", n + 1));
        let Some((at, json)) = line.split_once(MARK) else {
            continue;
        };
        let parsed: Line = serde_json::from_str(json).unwrap_or_else(|e| {
            panic!(
                "request log line {}: {e}: {}",
                n + 1,
                &line[..line.len().min(300)]
            )
        });
        if parsed.listener == "CONTROLLER" {
            continue;
        }
        out.push(Request {
            at_ms: at
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("request log line {}: no time: {at}", n + 1)),
            api: parsed.request_header.request_api_key_name,
            client_id: parsed.request_header.client_id,
            connection: parsed.connection,
            total_ms: parsed.total_time_ms,
            json_bytes: line.len(),
        });
    }
    out
}

/// The requests of one tool's window.
pub struct Window {
    pub requests: Vec<Request>,
    pub seconds: f64,
    pub broker_cpu_ms: f64,
}

impl Window {
    pub fn new(mut requests: Vec<Request>, seconds: f64, broker_cpu_ms: f64) -> Window {
        requests.sort_by_key(|r| r.at_ms);
        Window {
            requests,
            seconds,
            broker_cpu_ms,
        }
    }

    pub fn total(&self) -> usize {
        self.requests.len()
    }

    fn per_min(&self, x: f64) -> f64 {
        x * 60.0 / self.seconds
    }

    /// Client ids seen, most requests first.
    pub fn client_ids(&self) -> Vec<String> {
        let mut n: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &self.requests {
            *n.entry(&r.client_id).or_default() += 1;
        }
        let mut v: Vec<(&str, usize)> = n.into_iter().collect();
        v.sort_by_key(|c| std::cmp::Reverse(c.1));
        v.into_iter().map(|(c, _)| c.to_string()).collect()
    }

    fn connections(&self) -> usize {
        let mut c: Vec<&str> = self
            .requests
            .iter()
            .map(|r| r.connection.as_str())
            .collect();
        c.sort();
        c.dedup();
        c.len()
    }

    fn by_api(&self) -> BTreeMap<String, (usize, f64)> {
        by_api(&self.requests)
    }
}

fn by_api(rs: &[Request]) -> BTreeMap<String, (usize, f64)> {
    let mut m: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    for r in rs {
        let e = m.entry(r.api.clone()).or_default();
        e.0 += 1;
        e.1 += r.total_ms;
    }
    m
}

fn sum_ms(rs: &[Request]) -> f64 {
    rs.iter().map(|r| r.total_ms).sum()
}

/// Requests/min by API key (with broker ms/min) for each window, then the totals and the
/// same per refresh (`per` = the window's refreshes or runs).
pub fn table(cols: &[(String, &Window, f64)]) -> String {
    let mut apis: Vec<String> = cols
        .iter()
        .flat_map(|(_, w, _)| w.by_api().into_keys())
        .collect();
    apis.sort();
    apis.dedup();
    let mut s = String::from("| per minute |");
    for (name, _, _) in cols {
        s += &format!(" {name} |");
    }
    s += "\n|---|";
    s += &"---|".repeat(cols.len());
    s += "\n";
    let cell = |w: &Window, n: usize, ms: f64| {
        if n == 0 {
            "–".to_string()
        } else {
            format!("{:.1} ({:.0} ms)", w.per_min(n as f64), w.per_min(ms))
        }
    };
    for api in &apis {
        s += &format!("| {api} requests (broker ms) |");
        for (_, w, _) in cols {
            let (n, ms) = w.by_api().get(api).copied().unwrap_or_default();
            s += &format!(" {} |", cell(w, n, ms));
        }
        s += "\n";
    }
    let row = |label: &str, f: &dyn Fn(&Window, f64) -> String| {
        let mut r = format!("| {label} |");
        for (_, w, per) in cols {
            r += &format!(" {} |", f(w, *per));
        }
        r + "\n"
    };
    s += &row("**requests/min**", &|w, _| {
        format!("**{:.1}**", w.per_min(w.total() as f64))
    });
    s += &row("**broker time ms/min** (sum of totalTimeMs)", &|w, _| {
        format!("**{:.0}**", w.per_min(sum_ms(&w.requests)))
    });
    s += &row(
        "broker process CPU ms/min (all of it, logging included)",
        &|w, _| format!("{:.0}", w.per_min(w.broker_cpu_ms)),
    );
    s += &row("logged request + response JSON KiB/min", &|w, _| {
        let b: usize = w.requests.iter().map(|r| r.json_bytes).sum();
        format!("{:.0}", w.per_min(b as f64) / 1024.0)
    });
    s += &row("client connections opened in the window", &|w, _| {
        w.connections().to_string()
    });
    s += &row(
        "per refresh (opsdeck: poll; tool: run): requests",
        &|w, per| format!("{:.1}", w.total() as f64 / per.max(1.0)),
    );
    s += &row("per refresh: broker ms", &|w, per| {
        format!("{:.1}", sum_ms(&w.requests) / per.max(1.0))
    });
    s
}

/// The console's polls, told apart by the quiet between them (a gap of more than
/// `GAP_MS` between two completed requests starts a new poll): the first poll against the
/// median of the others, by API key.
pub fn polls(w: &Window) -> String {
    const GAP_MS: u64 = 700;
    let mut bursts: Vec<Vec<Request>> = Vec::new();
    let mut last = None;
    for r in &w.requests {
        if last.is_none_or(|l| r.at_ms > l + GAP_MS) {
            bursts.push(Vec::new());
        }
        last = Some(r.at_ms);
        if let Some(b) = bursts.last_mut() {
            b.push(r.clone());
        }
    }
    if bursts.len() < 3 {
        return format!(
            "\nopsdeck's polls could not be told apart ({} bursts of requests).\n",
            bursts.len()
        );
    }
    let describe = |b: &[Request]| {
        by_api(b)
            .iter()
            .map(|(k, (n, _))| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let rest = &bursts[1..];
    let mut sizes: Vec<usize> = rest.iter().map(Vec::len).collect();
    sizes.sort();
    let med = sizes[sizes.len() / 2];
    let mut ms: Vec<f64> = rest.iter().map(|b| sum_ms(b)).collect();
    ms.sort_by(f64::total_cmp);
    let typical = rest
        .iter()
        .find(|b| b.len() == med)
        .map(|b| describe(b))
        .unwrap_or_default();
    let mut shapes: BTreeMap<String, usize> = BTreeMap::new();
    for b in rest {
        *shapes.entry(describe(b)).or_default() += 1;
    }
    let mut s = format!(
        "\nopsdeck's polls (requests grouped by the quiet between them: {} polls in {:.0} s):\n\n\
         | poll | requests | broker ms | of which |\n|---|---|---|---|\n\
         | first (connections opened) | {} | {:.1} | {} |\n\
         | later, median | {med} | {:.1} | {typical} |\n\
         | later, largest | {} | {:.1} | |\n",
        bursts.len(),
        w.seconds,
        bursts[0].len(),
        sum_ms(&bursts[0]),
        describe(&bursts[0]),
        ms[ms.len() / 2],
        sizes[sizes.len() - 1],
        ms[ms.len() - 1],
    );
    if shapes.len() > 1 {
        s += "\nLater polls by shape: ";
        s += &shapes
            .iter()
            .map(|(k, n)| format!("{n}× [{k}]"))
            .collect::<Vec<_>>()
            .join("; ");
        s += "\n";
    }
    s
}
