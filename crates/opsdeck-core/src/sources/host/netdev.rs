//! Interface byte counters from `/proc/net/dev`: one file for every interface, where
//! sysinfo opens about ten files under `/sys/class/net` per interface each poll (that was
//! most of the host source's idle cost).

use std::collections::HashMap;
use std::time::Instant;

/// Received and transmitted bytes of each interface, as the kernel counts them.
pub type Counters = HashMap<String, (u64, u64)>;

/// Parses `/proc/net/dev`: two header lines, then `name: rx_bytes … (8 fields) tx_bytes …`.
pub fn parse(text: &str) -> Counters {
    text.lines()
        .skip(2)
        .filter_map(|line| {
            let (name, rest) = line.split_once(':')?;
            let mut fields = rest.split_whitespace().map(|f| f.parse::<u64>().ok());
            let rx = fields.next()??;
            let tx = fields.nth(7)??;
            Some((name.trim().to_string(), (rx, tx)))
        })
        .collect()
}

/// Rates since the previous read: each interface's bytes per second.
#[derive(Debug, Default)]
pub struct NetRates {
    last: Option<(Instant, Counters)>,
}

impl NetRates {
    /// Reads the counters now and returns (interface, rx/s, tx/s) for every interface but
    /// loopback, sorted by name; zero rates on the first read and for a new interface.
    pub fn read(&mut self) -> Vec<(String, f64, f64)> {
        let now = Instant::now();
        let counters = std::fs::read_to_string("/proc/net/dev")
            .map(|t| parse(&t))
            .unwrap_or_default();
        let mut out = self.rates(now, counters);
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    fn rates(&mut self, now: Instant, counters: Counters) -> Vec<(String, f64, f64)> {
        let prev = self.last.take();
        let secs = prev
            .as_ref()
            .map(|(t, _)| now.duration_since(*t).as_secs_f64())
            .unwrap_or(0.0);
        let out = counters
            .iter()
            .filter(|(name, _)| name.as_str() != "lo")
            .map(|(name, &(rx, tx))| {
                let (prx, ptx) = prev
                    .as_ref()
                    .and_then(|(_, p)| p.get(name).copied())
                    .unwrap_or((rx, tx));
                (
                    name.clone(),
                    super::per_sec(rx.saturating_sub(prx), secs),
                    super::per_sec(tx.saturating_sub(ptx), secs),
                )
            })
            .collect();
        self.last = Some((now, counters));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const DEV: &str = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 9422424805 15328597    0    0    0     0          0         0 9422424805 15328597    0    0    0     0       0          0
  eth0: 639575931   28843    0    0    0     0          0         0  2250375   21924    0    0    0     0       0          0
";

    #[test]
    fn reads_bytes_of_each_interface() {
        let c = parse(DEV);
        assert_eq!(c["eth0"], (639_575_931, 2_250_375));
        assert_eq!(c["lo"], (9_422_424_805, 9_422_424_805));
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn rates_are_deltas_over_time_without_loopback() {
        let mut r = NetRates::default();
        let t0 = Instant::now();
        let first = r.rates(t0, parse(DEV));
        assert_eq!(first, vec![("eth0".to_string(), 0.0, 0.0)]);
        let mut later = parse(DEV);
        later.insert("eth0".into(), (639_575_931 + 4_000, 2_250_375 + 1_000));
        let next = r.rates(t0 + Duration::from_secs(2), later);
        assert_eq!(next, vec![("eth0".to_string(), 2_000.0, 500.0)]);
    }

    #[test]
    fn a_counter_that_went_back_reads_zero_not_a_huge_rate() {
        let mut r = NetRates::default();
        let t0 = Instant::now();
        r.rates(t0, parse(DEV));
        let mut reset = parse(DEV);
        reset.insert("eth0".into(), (10, 10));
        let next = r.rates(t0 + Duration::from_secs(2), reset);
        assert_eq!(next, vec![("eth0".to_string(), 0.0, 0.0)]);
    }

    #[test]
    fn this_machine_has_counters() {
        // Linux always has /proc/net/dev with loopback at least.
        let text = std::fs::read_to_string("/proc/net/dev").expect("/proc/net/dev");
        assert!(parse(&text).contains_key("lo"), "{text}");
    }
}
