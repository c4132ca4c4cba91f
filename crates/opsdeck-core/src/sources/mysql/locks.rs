//! The lock-wait tree: who blocks whom, from (waiter, blocker) pairs (pure).

use std::collections::{BTreeMap, BTreeSet};

use super::model::{LockNode, Thread};

/// One row of the lock-wait view.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Wait {
    pub waiter: u64,
    pub blocker: u64,
    pub seconds: f64,
    /// "X on `shop`.`orders` (PRIMARY)".
    pub lock: String,
}

/// Flattens the wait-for graph depth first: root blockers (blocking without waiting, or
/// the lowest id of a cycle) first, the one with most waiters first. A thread waiting on
/// several appears under one only: a blocker that holds its lock without waiting itself
/// (InnoDB also lists the requests queued ahead of it, which wait on the same holder).
pub fn build_tree(waits: &[Wait], threads: &[Thread]) -> Vec<LockNode> {
    let info: BTreeMap<u64, &Thread> = threads.iter().map(|t| (t.id, t)).collect();
    let mut blocked_by: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    let mut own_wait: BTreeMap<u64, (f64, String)> = BTreeMap::new();
    for w in waits {
        let by = blocked_by.entry(w.waiter).or_default();
        if !by.contains(&w.blocker) {
            by.push(w.blocker);
        }
        own_wait
            .entry(w.waiter)
            .or_insert_with(|| (w.seconds, w.lock.clone()));
    }
    let waiting: BTreeSet<u64> = blocked_by.keys().copied().collect();
    for by in blocked_by.values_mut() {
        by.sort_by_key(|b| waiting.contains(b));
    }
    let mut children: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for (id, by) in &blocked_by {
        if let Some(first) = by.first() {
            children.entry(*first).or_default().push(*id);
        }
    }
    fn below(id: u64, children: &BTreeMap<u64, Vec<u64>>, seen: &mut BTreeSet<u64>) {
        for c in children.get(&id).into_iter().flatten() {
            if seen.insert(*c) {
                below(*c, children, seen);
            }
        }
    }
    let behind = |id: u64| {
        let mut seen = BTreeSet::from([id]);
        below(id, &children, &mut seen);
        seen.remove(&id);
        seen
    };
    let wait_of = |id: u64| own_wait.get(&id).map(|w| w.0).unwrap_or(0.0);
    let mut roots: Vec<u64> = children
        .keys()
        .copied()
        .filter(|id| !blocked_by.contains_key(id))
        .collect();
    let mut covered: BTreeSet<u64> = BTreeSet::new();
    for r in &roots {
        covered.insert(*r);
        covered.extend(behind(*r));
    }
    // A cycle (a deadlock InnoDB is about to break): every member waits; start at the lowest.
    for id in blocked_by.keys() {
        if !covered.contains(id) {
            roots.push(*id);
            covered.insert(*id);
            covered.extend(behind(*id));
        }
    }
    let stats = |id: u64| {
        let b = behind(id);
        let longest = b.iter().map(|i| wait_of(*i)).fold(0.0, f64::max);
        (b.len(), longest)
    };
    roots.sort_by(|a, b| {
        let (wa, la) = stats(*a);
        let (wb, lb) = stats(*b);
        wb.cmp(&wa).then(lb.total_cmp(&la)).then(a.cmp(b))
    });
    let mut out = Vec::new();
    let mut emitted = BTreeSet::new();
    let mut stack: Vec<(u64, usize)> = roots.iter().rev().map(|r| (*r, 0)).collect();
    while let Some((id, depth)) = stack.pop() {
        if !emitted.insert(id) {
            continue;
        }
        let (waiters, longest) = stats(id);
        let t = info.get(&id);
        let (wait, lock) = own_wait.get(&id).cloned().unwrap_or_default();
        out.push(LockNode {
            id,
            depth,
            blocked_by: blocked_by.get(&id).cloned().unwrap_or_default(),
            waiters,
            wait_seconds: if depth == 0 { longest } else { wait },
            lock,
            user: t.map(|t| t.user.clone()).unwrap_or_default(),
            host: t.map(|t| t.host.clone()).unwrap_or_default(),
            label: t.map(|t| t.label.clone()).unwrap_or_default(),
            trx_seconds: t.and_then(|t| t.trx_seconds),
            info: t.map(|t| t.info.clone()).unwrap_or_default(),
        });
        for c in children.get(&id).into_iter().flatten().rev() {
            stack.push((*c, depth + 1));
        }
    }
    out
}

/// "X on `shop`.`orders` (PRIMARY)" from the lock columns; "" when the lock row is gone.
pub fn describe_lock(mode: &str, table: &str, index: &str) -> String {
    match (mode.is_empty(), table.is_empty(), index.is_empty()) {
        (true, true, _) => String::new(),
        (_, _, true) => format!("{mode} on {table}").trim().to_string(),
        _ => format!("{mode} on {table} ({index})").trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(waiter: u64, blocker: u64, secs: f64) -> Wait {
        Wait {
            waiter,
            blocker,
            seconds: secs,
            lock: format!("X on t{blocker}"),
        }
    }

    fn t(id: u64) -> Thread {
        Thread {
            id,
            user: format!("u{id}"),
            ..Default::default()
        }
    }

    #[test]
    fn roots_first_with_transitive_waiters() {
        // 10 blocks 11 and 12; 12 blocks 13; 20 blocks 21.
        let threads: Vec<Thread> = [10, 11, 12, 13, 20, 21].map(t).to_vec();
        let tree = build_tree(
            &[
                w(11, 10, 5.0),
                w(12, 10, 7.0),
                w(13, 12, 9.0),
                w(21, 20, 50.0),
            ],
            &threads,
        );
        let ids: Vec<(u64, usize)> = tree.iter().map(|n| (n.id, n.depth)).collect();
        assert_eq!(
            ids,
            vec![(10, 0), (11, 1), (12, 1), (13, 2), (20, 0), (21, 1)]
        );
        assert_eq!(tree[0].waiters, 3);
        assert_eq!(tree[0].wait_seconds, 9.0);
        assert_eq!(tree[0].user, "u10");
        assert_eq!(tree[3].blocked_by, vec![12]);
        assert_eq!(tree[3].lock, "X on t12");
        assert_eq!(tree[5].wait_seconds, 50.0);
    }

    #[test]
    fn a_queued_waiter_sits_under_the_holder() {
        // 2 and 3 want the row 1 holds; 3 also queues behind 2's request.
        let tree = build_tree(&[w(2, 1, 5.0), w(3, 2, 4.0), w(3, 1, 4.0)], &[]);
        let ids: Vec<(u64, usize)> = tree.iter().map(|n| (n.id, n.depth)).collect();
        assert_eq!(ids, vec![(1, 0), (2, 1), (3, 1)]);
        assert_eq!(tree[2].blocked_by, vec![1, 2]);
        assert_eq!(tree[0].waiters, 2);
    }

    #[test]
    fn a_cycle_still_shows_and_duplicates_collapse() {
        let tree = build_tree(&[w(1, 2, 1.0), w(2, 1, 2.0), w(2, 1, 2.0)], &[]);
        assert_eq!(tree.len(), 2);
        assert_eq!((tree[0].id, tree[1].id, tree[1].depth), (1, 2, 1));
        assert_eq!(tree[1].blocked_by, vec![1]);
    }

    #[test]
    fn lock_text() {
        assert_eq!(
            describe_lock("X", "`a`.`b`", "PRIMARY"),
            "X on `a`.`b` (PRIMARY)"
        );
        assert_eq!(describe_lock("IX", "`a`.`b`", ""), "IX on `a`.`b`");
        assert_eq!(describe_lock("", "", ""), "");
    }
}
