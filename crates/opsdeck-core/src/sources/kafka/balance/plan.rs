//! The rebalance planner: pure. Greedy, as an operator would do it by hand: move one replica
//! from the broker holding the most to the one holding the fewest while that lowers the
//! spread (counts apart by two or more), choosing among the candidate partitions the one whose
//! size best evens the two brokers' bytes (smallest first on ties), never onto a broker that
//! already holds the partition and never so that the partition spans fewer racks than
//! before; then reorder replica lists (no data moves) so preferred leaders are even too.
//! Each step lowers the sum of squared counts, so it ends, and it stops at counts within one
//! of each other: no move more than needed.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// Valid candidates weighed per step, and replicas looked at to find them.
const WINDOW: usize = 64;
const LOOK: usize = 4096;

/// A broker the plan may use.
#[derive(Debug, Clone, PartialEq, Hash)]
pub struct Broker {
    pub id: i32,
    pub rack: Option<String>,
}

/// A partition as the plan sees it.
#[derive(Debug, Clone, PartialEq, Hash)]
pub struct Part {
    pub topic: String,
    pub partition: i32,
    /// In order: the first is the preferred leader.
    pub replicas: Vec<i32>,
    /// Size of the partition (its largest replica), when the log dirs were read.
    pub bytes: Option<i64>,
    /// Internal topics are counted but never moved.
    pub movable: bool,
}

/// Max over mean of each figure across brokers (1.00 is even).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Skew {
    pub replicas: f64,
    pub leaders: f64,
    /// None when no size is known.
    pub bytes: Option<f64>,
}

impl Skew {
    pub fn text(&self) -> String {
        let mut s = format!("replicas {:.2}, leaders {:.2}", self.replicas, self.leaders);
        if let Some(b) = self.bytes {
            s.push_str(&format!(", bytes {b:.2}"));
        }
        s
    }
}

/// One replica moved from a broker to another.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Move {
    pub topic: String,
    pub partition: i32,
    pub from: i32,
    pub to: i32,
    pub bytes: Option<i64>,
}

/// A partition whose replica list changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub topic: String,
    pub partition: i32,
    /// The replicas the plan was made from (checked again before it is applied).
    pub current: Vec<i32>,
    pub target: Vec<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub partitions: Vec<Target>,
    pub moves: Vec<Move>,
    /// Bytes the moves copy (of the partitions whose size is known).
    pub bytes: i64,
    /// Moves of partitions of unknown size.
    pub unknown_size: usize,
    pub before: Skew,
    pub after: Skew,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.partitions.is_empty()
    }
}

/// Per broker: replicas, preferred leaders (first replica) and bytes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Load {
    pub replicas: usize,
    pub leaders: usize,
    pub bytes: i64,
}

pub fn loads(brokers: &[Broker], parts: &[Part]) -> BTreeMap<i32, Load> {
    loads_of(
        brokers,
        parts,
        &parts.iter().map(|p| p.replicas.clone()).collect::<Vec<_>>(),
    )
}

fn loads_of(brokers: &[Broker], parts: &[Part], assign: &[Vec<i32>]) -> BTreeMap<i32, Load> {
    let mut m: BTreeMap<i32, Load> = brokers.iter().map(|b| (b.id, Load::default())).collect();
    for (p, rs) in parts.iter().zip(assign) {
        for (i, b) in rs.iter().enumerate() {
            let l = m.entry(*b).or_default();
            l.replicas += 1;
            l.bytes += p.bytes.unwrap_or(0);
            if i == 0 {
                l.leaders += 1;
            }
        }
    }
    m
}

/// max / mean of `values` (1.0 when all are zero).
pub fn skew_of(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let n = values.clone().count();
    let sum: f64 = values.clone().sum();
    if n == 0 || sum <= 0.0 {
        return 1.0;
    }
    let max = values.fold(0.0, f64::max);
    max / (sum / n as f64)
}

pub fn skew(loads: &BTreeMap<i32, Load>, sizes_known: bool) -> Skew {
    Skew {
        replicas: skew_of(loads.values().map(|l| l.replicas as f64)),
        leaders: skew_of(loads.values().map(|l| l.leaders as f64)),
        bytes: sizes_known.then(|| skew_of(loads.values().map(|l| l.bytes as f64))),
    }
}

/// The plan that evens `parts` over `brokers` (only brokers listed are used).
pub fn plan(brokers: &[Broker], parts: &[Part]) -> Plan {
    // Racks as numbers (a broker without one is a rack of its own).
    let names: BTreeMap<i32, String> = brokers
        .iter()
        .map(|b| {
            let r = match &b.rack {
                Some(r) => format!("rack {r}"),
                None => format!("broker {}", b.id),
            };
            (b.id, r)
        })
        .collect();
    let index: BTreeMap<&String, usize> = names
        .values()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .enumerate()
        .map(|(i, r)| (r, i))
        .collect();
    let racks: BTreeMap<i32, usize> = names.iter().map(|(b, r)| (*b, index[r])).collect();
    let rack = |b: i32| {
        racks
            .get(&b)
            .copied()
            .unwrap_or(usize::MAX - b.unsigned_abs() as usize)
    };
    let ids: Vec<i32> = brokers.iter().map(|b| b.id).collect();
    let sizes_known = parts.iter().any(|p| p.bytes.is_some());
    let mut assign: Vec<Vec<i32>> = parts.iter().map(|p| p.replicas.clone()).collect();
    let before = skew(&loads_of(brokers, parts, &assign), sizes_known);

    // Replicas: each step lowers the sum of squared counts by at least 2.
    let limit = parts.iter().map(|p| p.replicas.len()).sum::<usize>() + 1;
    // Loads are kept up to date move by move (recounting them each step is quadratic).
    let mut l = loads_of(brokers, parts, &assign);
    // Per broker, its movable replicas by (size, partition index).
    let mut held: BTreeMap<i32, BTreeSet<(i64, usize)>> = BTreeMap::new();
    for (i, (p, rs)) in parts.iter().zip(&assign).enumerate() {
        if p.movable {
            for b in rs {
                held.entry(*b)
                    .or_default()
                    .insert((p.bytes.unwrap_or(0), i));
            }
        }
    }
    for _ in 0..limit {
        let load = |b: &i32| l.get(b).cloned().unwrap_or_default();
        let mut from: Vec<i32> = ids.clone();
        from.sort_by_key(|b| {
            (
                std::cmp::Reverse(load(b).replicas),
                std::cmp::Reverse(load(b).bytes),
                *b,
            )
        });
        let mut to: Vec<i32> = ids.clone();
        to.sort_by_key(|b| (load(b).replicas, load(b).bytes, *b));
        let mut step = None;
        'pairs: for hi in &from {
            for lo in &to {
                let (h, w) = (load(hi), load(lo));
                if h.replicas < w.replicas + 2 {
                    continue;
                }
                // The candidates nearest in size to half the bytes gap, from both sides
                // (the broker's replicas sorted by size): a bounded window, so a step
                // costs no more than a look around the ideal size.
                let want = (h.bytes - w.bytes) / 2;
                let Some(set) = held.get(hi) else { continue };
                let mut up = set.range((want, 0)..);
                let mut down = set.range(..(want, 0)).rev();
                let mut found = Vec::new();
                let mut looked = 0;
                while found.len() < WINDOW && looked < LOOK {
                    let (a, b) = (up.next(), down.next());
                    if a.is_none() && b.is_none() {
                        break;
                    }
                    for &(sz, i) in a.into_iter().chain(b) {
                        looked += 1;
                        if assign[i].contains(lo) {
                            continue;
                        }
                        // Racks spanned after the move minus before, without building it.
                        let (rh, rl) = (rack(*hi), rack(*lo));
                        let others = || assign[i].iter().filter(|b| *b != hi).map(|b| rack(*b));
                        let lost = !others().any(|r| r == rh);
                        let gained = rl != rh && !others().any(|r| r == rl);
                        if lost && !gained {
                            continue;
                        }
                        let more = usize::from(gained && !lost);
                        let gap = ((h.bytes - sz) - (w.bytes + sz)).abs();
                        // More racks first, then the evener bytes, then the smaller copy
                        // (then the first partition: they come sorted by topic).
                        found.push((std::cmp::Reverse(more), gap, sz, i));
                    }
                }
                let best = found.into_iter().min();
                if let Some((.., i)) = best {
                    let moved: Vec<i32> = assign[i]
                        .iter()
                        .map(|b| if b == hi { *lo } else { *b })
                        .collect();
                    step = Some((i, *hi, *lo, moved));
                    break 'pairs;
                }
            }
        }
        match step {
            Some((i, hi, lo, moved)) => {
                let size = parts[i].bytes.unwrap_or(0);
                let lead = assign[i].first() == Some(&hi);
                for (b, sign) in [(hi, -1i64), (lo, 1)] {
                    let e = l.entry(b).or_default();
                    e.replicas = (e.replicas as i64 + sign).max(0) as usize;
                    e.bytes += sign * size;
                    if lead {
                        e.leaders = (e.leaders as i64 + sign).max(0) as usize;
                    }
                }
                if let Some(set) = held.get_mut(&hi) {
                    set.remove(&(size, i));
                }
                held.entry(lo).or_default().insert((size, i));
                assign[i] = moved;
            }
            None => break,
        }
    }

    // Preferred leaders: swap a replica to the front, which copies nothing.
    let mut lead: BTreeMap<i32, usize> = loads_of(brokers, parts, &assign)
        .into_iter()
        .map(|(b, x)| (b, x.leaders))
        .collect();
    for _ in 0..parts.len() + 1 {
        let leaders = |b: &i32| lead.get(b).copied().unwrap_or(0);
        let mut from: Vec<i32> = ids.clone();
        from.sort_by_key(|b| (std::cmp::Reverse(leaders(b)), *b));
        let mut to: Vec<i32> = ids.clone();
        to.sort_by_key(|b| (leaders(b), *b));
        let mut step = None;
        'lead: for hi in &from {
            for lo in &to {
                if leaders(hi) < leaders(lo) + 2 {
                    continue;
                }
                if let Some(i) = (0..parts.len()).find(|i| {
                    parts[*i].movable && assign[*i].first() == Some(hi) && assign[*i].contains(lo)
                }) {
                    step = Some((i, *lo));
                    break 'lead;
                }
            }
        }
        match step {
            Some((i, lo)) => {
                if let Some(pos) = assign[i].iter().position(|b| *b == lo) {
                    if let Some(n) = lead.get_mut(&assign[i][0]) {
                        *n = n.saturating_sub(1);
                    }
                    *lead.entry(lo).or_default() += 1;
                    assign[i].swap(0, pos);
                }
            }
            None => break,
        }
    }

    let after = skew(&loads_of(brokers, parts, &assign), sizes_known);
    let mut out = Plan {
        partitions: Vec::new(),
        moves: Vec::new(),
        bytes: 0,
        unknown_size: 0,
        before,
        after,
    };
    for (p, target) in parts.iter().zip(assign) {
        if target == p.replicas {
            continue;
        }
        let gone: Vec<i32> = p
            .replicas
            .iter()
            .filter(|b| !target.contains(b))
            .copied()
            .collect();
        let new: Vec<i32> = target
            .iter()
            .filter(|b| !p.replicas.contains(b))
            .copied()
            .collect();
        for (from, to) in gone.into_iter().zip(new) {
            match p.bytes {
                Some(b) => out.bytes += b,
                None => out.unknown_size += 1,
            }
            out.moves.push(Move {
                topic: p.topic.clone(),
                partition: p.partition,
                from,
                to,
                bytes: p.bytes,
            });
        }
        out.partitions.push(Target {
            topic: p.topic.clone(),
            partition: p.partition,
            current: p.replicas.clone(),
            target,
        });
    }
    out
}

/// The plan as `kafka-reassign-partitions --reassignment-json-file` reads it.
pub fn reassignment_json(partitions: &[Target]) -> String {
    let doc = serde_json::json!({
        "version": 1,
        "partitions": partitions
            .iter()
            .map(|t| serde_json::json!({
                "topic": t.topic,
                "partition": t.partition,
                "replicas": t.target,
                "log_dirs": t.target.iter().map(|_| "any").collect::<Vec<_>>(),
            }))
            .collect::<Vec<_>>(),
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brokers(n: i32) -> Vec<Broker> {
        (1..=n).map(|id| Broker { id, rack: None }).collect()
    }

    fn part(topic: &str, p: i32, replicas: &[i32], bytes: Option<i64>) -> Part {
        Part {
            topic: topic.into(),
            partition: p,
            replicas: replicas.to_vec(),
            bytes,
            movable: true,
        }
    }

    fn counts(b: &[Broker], parts: &[Part], plan: &Plan) -> Vec<usize> {
        let assign: Vec<Vec<i32>> = parts
            .iter()
            .map(|p| {
                plan.partitions
                    .iter()
                    .find(|t| t.topic == p.topic && t.partition == p.partition)
                    .map(|t| t.target.clone())
                    .unwrap_or_else(|| p.replicas.clone())
            })
            .collect();
        loads_of(b, parts, &assign)
            .values()
            .map(|l| l.replicas)
            .collect()
    }

    #[test]
    fn replicas_on_two_of_three_brokers_spread_with_the_fewest_moves() {
        let b = brokers(3);
        let parts: Vec<Part> = (0..6).map(|p| part("t", p, &[1, 2], None)).collect();
        let plan = plan(&b, &parts);
        // 6/6/0 → 4/4/4: four replicas must move, and no more do.
        assert_eq!(plan.moves.len(), 4, "{:?}", plan.moves);
        assert!(plan.moves.iter().all(|m| m.to == 3));
        assert_eq!(counts(&b, &parts, &plan), vec![4, 4, 4]);
        for t in &plan.partitions {
            let set: BTreeSet<_> = t.target.iter().collect();
            assert_eq!(
                set.len(),
                t.target.len(),
                "two replicas on one broker: {t:?}"
            );
            assert_eq!(t.current, vec![1, 2]);
        }
        assert!((plan.before.replicas - 1.5).abs() < 1e-9);
        assert!((plan.after.replicas - 1.0).abs() < 1e-9);
        // Leaders were all on broker 1 (6/0/0): evened by reordering too.
        assert!(plan.after.leaders <= 1.0 + 1e-9, "{:?}", plan.after);
        assert_eq!(plan.unknown_size, 4);
    }

    #[test]
    fn balanced_cluster_needs_nothing() {
        let b = brokers(3);
        let parts = vec![
            part("t", 0, &[1, 2], Some(10)),
            part("t", 1, &[2, 3], Some(10)),
            part("t", 2, &[3, 1], Some(10)),
        ];
        let plan = plan(&b, &parts);
        assert!(plan.is_empty(), "{plan:?}");
        assert_eq!(plan.before, plan.after);
    }

    #[test]
    fn nearly_balanced_moves_one_replica() {
        let b = brokers(3);
        // 3/2/1 → 2/2/2.
        let parts = vec![
            part("t", 0, &[1], None),
            part("t", 1, &[1], None),
            part("t", 2, &[1], None),
            part("t", 3, &[2], None),
            part("t", 4, &[2], None),
            part("t", 5, &[3], None),
        ];
        let plan = plan(&b, &parts);
        assert_eq!(plan.moves.len(), 1, "{:?}", plan.moves);
        assert_eq!((plan.moves[0].from, plan.moves[0].to), (1, 3));
    }

    #[test]
    fn racks_are_spanned_and_never_collapsed() {
        let b = vec![
            Broker {
                id: 1,
                rack: Some("a".into()),
            },
            Broker {
                id: 2,
                rack: Some("a".into()),
            },
            Broker {
                id: 3,
                rack: Some("b".into()),
            },
            Broker {
                id: 4,
                rack: Some("b".into()),
            },
        ];
        let parts: Vec<Part> = (0..4).map(|p| part("t", p, &[1, 2], None)).collect();
        let plan = plan(&b, &parts);
        assert_eq!(counts(&b, &parts, &plan), vec![2, 2, 2, 2]);
        let rack = |id: i32| if id <= 2 { "a" } else { "b" };
        for t in &plan.partitions {
            let rs: BTreeSet<_> = t.target.iter().map(|x| rack(*x)).collect();
            assert_eq!(rs.len(), 2, "a partition left in one rack: {t:?}");
        }
    }

    #[test]
    fn bytes_choose_which_partition_moves() {
        let b = brokers(2);
        // Broker 1 holds 3 replicas (40, 10, 10 bytes), broker 2 one empty one: moving the
        // 40-byte one leaves 20 / 40, moving a 10-byte one 50 / 10.
        let parts = vec![
            part("t", 0, &[1], Some(40)),
            part("t", 1, &[1], Some(10)),
            part("t", 2, &[1], Some(10)),
            part("t", 3, &[2], Some(0)),
        ];
        let plan = plan(&b, &parts);
        assert_eq!(plan.moves.len(), 1);
        assert_eq!(plan.moves[0].partition, 0);
        assert_eq!(plan.bytes, 40);
        assert!(plan.after.bytes.unwrap() < plan.before.bytes.unwrap());
    }

    #[test]
    fn internal_topics_count_but_stay() {
        let b = brokers(2);
        let mut parts = vec![part("__consumer_offsets", 0, &[1], None)];
        parts[0].movable = false;
        parts.push(part("__consumer_offsets", 1, &[1], None));
        parts[1].movable = false;
        let plan = plan(&b, &parts);
        assert!(plan.is_empty());
    }

    #[test]
    fn json_is_what_kafka_reassign_partitions_reads() {
        let t = vec![Target {
            topic: "orders".into(),
            partition: 2,
            current: vec![1, 2],
            target: vec![3, 2],
        }];
        let v: serde_json::Value = serde_json::from_str(&reassignment_json(&t)).unwrap();
        assert_eq!(v["version"], 1);
        assert_eq!(v["partitions"][0]["topic"], "orders");
        assert_eq!(v["partitions"][0]["partition"], 2);
        assert_eq!(v["partitions"][0]["replicas"], serde_json::json!([3, 2]));
    }
}
