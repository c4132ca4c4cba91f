//! The blocking tree: who blocks whom, built from `pg_blocking_pids` (pure).

use std::collections::{BTreeMap, BTreeSet};

use super::model::{LockNode, Session};

/// One waiting session, the pids it waits for and how long it has waited.
#[derive(Debug, Clone, Default)]
pub struct Waiter {
    pub pid: i32,
    pub blocked_by: Vec<i32>,
    /// From `pg_locks.waitstart` (PG 14+); None falls back to the query's running time.
    pub wait_seconds: Option<f64>,
    /// `waitstart` as Unix seconds.
    pub waiting_since: Option<f64>,
}

/// Flattens the wait-for graph into a tree, depth first: root blockers (blocking, not
/// waiting themselves, or chosen to break a cycle) first, the one with most waiters first.
/// A waiter blocked by several sessions appears under its first blocker only.
pub fn build_tree(waiters: &[Waiter], sessions: &[Session]) -> Vec<LockNode> {
    let info: BTreeMap<i32, &Session> = sessions.iter().map(|s| (s.pid, s)).collect();
    let blocked_by: BTreeMap<i32, Vec<i32>> = waiters
        .iter()
        .filter(|w| !w.blocked_by.is_empty())
        .map(|w| (w.pid, w.blocked_by.clone()))
        .collect();
    // children: blocker -> sessions waiting directly on it (first blocker wins).
    let mut children: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    for (pid, by) in &blocked_by {
        if let Some(first) = by.first() {
            children.entry(*first).or_default().push(*pid);
        }
    }
    let waiting: BTreeMap<i32, &Waiter> = waiters.iter().map(|w| (w.pid, w)).collect();
    // The wait itself where the server says when it began, else the query's running time.
    let wait_of = |pid: i32| {
        waiting
            .get(&pid)
            .and_then(|w| w.wait_seconds)
            .or_else(|| info.get(&pid).and_then(|s| s.query_seconds))
            .unwrap_or(0.0)
    };
    // Transitive waiters and their longest wait (guarded against cycles).
    fn below(
        pid: i32,
        children: &BTreeMap<i32, Vec<i32>>,
        seen: &mut BTreeSet<i32>,
        out: &mut Vec<i32>,
    ) {
        for c in children.get(&pid).into_iter().flatten() {
            if seen.insert(*c) {
                out.push(*c);
                below(*c, children, seen, out);
            }
        }
    }
    let stats = |pid: i32| {
        let mut seen = BTreeSet::from([pid]);
        let mut out = Vec::new();
        below(pid, &children, &mut seen, &mut out);
        let longest = out.iter().map(|p| wait_of(*p)).fold(0.0, f64::max);
        (out.len(), longest)
    };
    let mut roots: Vec<i32> = children
        .keys()
        .copied()
        .filter(|p| !blocked_by.contains_key(p))
        .collect();
    // Cycles (deadlocks about to be detected): every member waits; pick the lowest pid.
    let mut covered = BTreeSet::new();
    for r in &roots {
        let mut out = Vec::new();
        below(*r, &children, &mut BTreeSet::from([*r]), &mut out);
        covered.insert(*r);
        covered.extend(out);
    }
    for p in blocked_by.keys() {
        if !covered.contains(p) {
            roots.push(*p);
            let mut out = Vec::new();
            below(*p, &children, &mut BTreeSet::from([*p]), &mut out);
            covered.insert(*p);
            covered.extend(out);
        }
    }
    roots.sort_by(|a, b| {
        let (wa, la) = stats(*a);
        let (wb, lb) = stats(*b);
        wb.cmp(&wa).then(lb.total_cmp(&la)).then(a.cmp(b))
    });
    let mut out = Vec::new();
    let mut emitted = BTreeSet::new();
    fn emit(
        pid: i32,
        depth: usize,
        ctx: &Ctx<'_>,
        emitted: &mut BTreeSet<i32>,
        out: &mut Vec<LockNode>,
    ) {
        if !emitted.insert(pid) {
            return;
        }
        let (waiters, longest) = (ctx.stats)(pid);
        let s = ctx.info.get(&pid);
        let w = ctx.waiting.get(&pid);
        let own_wait = (ctx.wait_of)(pid);
        out.push(LockNode {
            pid,
            depth,
            blocked_by: ctx.blocked_by.get(&pid).cloned().unwrap_or_default(),
            waiters,
            longest_wait_seconds: if depth == 0 {
                longest
            } else {
                longest.max(own_wait)
            },
            wait_seconds: w.map(|_| own_wait),
            waiting_since: w.and_then(|w| w.waiting_since),
            state: s.map(|s| s.state.clone()).unwrap_or_default(),
            user: s.map(|s| s.user.clone()).unwrap_or_default(),
            database: s.map(|s| s.database.clone()).unwrap_or_default(),
            query: s.map(|s| s.query.clone()).unwrap_or_default(),
        });
        for c in ctx.children.get(&pid).into_iter().flatten() {
            emit(*c, depth + 1, ctx, emitted, out);
        }
    }
    struct Ctx<'a> {
        info: &'a BTreeMap<i32, &'a Session>,
        children: &'a BTreeMap<i32, Vec<i32>>,
        blocked_by: &'a BTreeMap<i32, Vec<i32>>,
        waiting: &'a BTreeMap<i32, &'a Waiter>,
        stats: &'a dyn Fn(i32) -> (usize, f64),
        wait_of: &'a dyn Fn(i32) -> f64,
    }
    let ctx = Ctx {
        info: &info,
        children: &children,
        blocked_by: &blocked_by,
        waiting: &waiting,
        stats: &stats,
        wait_of: &wait_of,
    };
    for r in roots {
        emit(r, 0, &ctx, &mut emitted, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(pid: i32, secs: f64) -> Session {
        Session {
            pid,
            query_seconds: Some(secs),
            state: "active".into(),
            ..Default::default()
        }
    }
    fn w(pid: i32, by: &[i32]) -> Waiter {
        Waiter {
            pid,
            blocked_by: by.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn root_first_with_transitive_waiters() {
        // 10 blocks 11 and 12; 12 blocks 13. 20 blocks 21.
        let sessions = [
            s(10, 100.0),
            s(11, 5.0),
            s(12, 7.0),
            s(13, 9.0),
            s(20, 1.0),
            s(21, 50.0),
        ];
        let tree = build_tree(
            &[w(11, &[10]), w(12, &[10]), w(13, &[12]), w(21, &[20])],
            &sessions,
        );
        let pids: Vec<(i32, usize)> = tree.iter().map(|n| (n.pid, n.depth)).collect();
        assert_eq!(
            pids,
            vec![(10, 0), (11, 1), (12, 1), (13, 2), (20, 0), (21, 1)]
        );
        assert_eq!(tree[0].waiters, 3);
        assert_eq!(tree[0].longest_wait_seconds, 9.0);
        assert_eq!(tree[4].waiters, 1);
        assert_eq!(tree[4].longest_wait_seconds, 50.0);
        assert_eq!(tree[3].blocked_by, vec![12]);
    }

    #[test]
    fn a_cycle_still_shows() {
        let sessions = [s(1, 1.0), s(2, 2.0)];
        let tree = build_tree(&[w(1, &[2]), w(2, &[1])], &sessions);
        assert_eq!(tree.len(), 2);
        assert_eq!(tree[0].pid, 1);
        assert_eq!(tree[1].depth, 1);
    }

    #[test]
    fn waits_come_from_waitstart_when_the_server_has_it() {
        // 11 ran for 100 s but has waited on 10 for 4 s only.
        let sessions = [s(10, 1.0), s(11, 100.0)];
        let waiter = Waiter {
            wait_seconds: Some(4.0),
            waiting_since: Some(1_700_000_000.5),
            ..w(11, &[10])
        };
        let tree = build_tree(&[waiter], &sessions);
        assert_eq!(tree[0].longest_wait_seconds, 4.0);
        assert_eq!(tree[0].wait_seconds, None);
        assert_eq!(tree[1].wait_seconds, Some(4.0));
        assert_eq!(tree[1].waiting_since, Some(1_700_000_000.5));
        // Without waitstart (before 14): the query's running time.
        let tree = build_tree(&[w(11, &[10])], &sessions);
        assert_eq!(tree[0].longest_wait_seconds, 100.0);
    }

    #[test]
    fn no_waiters_no_tree() {
        assert!(build_tree(&[], &[s(1, 1.0)]).is_empty());
    }
}
