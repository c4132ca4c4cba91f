//! Eviction advice: which `maxmemory-policy` fits this data, from the share of keys with a
//! TTL, the key-space hit ratio, evictions and whether maxmemory is set. It says why; the
//! Policy tab's guarded action applies it.

pub use super::model::EvictionAdvice;
use super::model::NodeInfo;

/// Advice over the reachable masters (replicas follow their master's data).
pub fn advise(nodes: &[NodeInfo], current: &str) -> Option<EvictionAdvice> {
    let masters: Vec<&NodeInfo> = nodes
        .iter()
        .filter(|n| n.error.is_none() && n.is_master())
        .collect();
    if masters.is_empty() {
        return None;
    }
    let keys: u64 = masters.iter().map(|n| n.keys).sum();
    let expiring: u64 = masters.iter().map(|n| n.expiring_keys).sum();
    let (hits, misses) = masters.iter().fold((0u64, 0u64), |(h, m), n| {
        (h + n.keyspace_hits, m + n.keyspace_misses)
    });
    let hit_ratio = masters
        .iter()
        .filter_map(|n| n.hit_ratio)
        .fold(None, |acc: Option<(f64, usize)>, r| {
            Some(acc.map_or((r, 1), |(s, c)| (s + r, c + 1)))
        })
        .map(|(s, c)| s / c as f64)
        .or_else(|| (hits + misses > 0).then(|| hits as f64 / (hits + misses) as f64));
    let evicting = masters
        .iter()
        .any(|n| n.evicted_per_sec.unwrap_or(0.0) > 0.0);
    let mut a = EvictionAdvice {
        current: current.to_string(),
        keys,
        expiring_keys: expiring,
        hit_ratio,
        evicting,
        ..Default::default()
    };
    if masters.iter().all(|n| n.maxmemory == 0) {
        a.why = "maxmemory is 0: Redis grows until the machine runs out of memory and no \
                 policy ever applies; set maxmemory first (CONFIG SET maxmemory), then a policy"
            .into();
        return Some(a);
    }
    if keys == 0 {
        a.why = "no keys yet: nothing to judge the data by".into();
        return Some(a);
    }
    let share = expiring as f64 / keys as f64;
    let pct = crate::views::fmt::pct(share);
    // A hot set (most reads hit) is kept better by LFU under pressure than by LRU.
    let hot = hit_ratio.is_some_and(|r| r >= 0.9) && evicting;
    let lru_or_lfu = |prefix: &str| {
        if hot {
            format!("{prefix}-lfu")
        } else {
            format!("{prefix}-lru")
        }
    };
    let (policy, mut why) = if expiring == 0 {
        if current.starts_with("volatile-") {
            (
                lru_or_lfu("allkeys"),
                format!(
                    "no key has a TTL (0 of {keys}): {current} can evict nothing, so writes fail \
                     at maxmemory as with noeviction; allkeys-* evicts if this is a cache \
                     (noeviction if the data must not be lost)"
                ),
            )
        } else if current == "noeviction" {
            (
                "noeviction".to_string(),
                format!(
                    "no key has a TTL (0 of {keys}): this looks like data, not a cache, and \
                     noeviction refuses writes rather than lose keys; if it is a cache, \
                     allkeys-lru"
                ),
            )
        } else {
            (
                current.to_string(),
                format!(
                    "no key has a TTL (0 of {keys}): an allkeys policy is the one that can evict"
                ),
            )
        }
    } else if share >= 0.95 {
        (
            lru_or_lfu("allkeys"),
            format!(
                "{pct} of keys have a TTL: a cache; allkeys-* evicts the same keys volatile-* \
                 would and still works when a key without TTL slips in"
            ),
        )
    } else {
        (
            lru_or_lfu("volatile"),
            format!(
                "{pct} of keys have a TTL and the rest do not: volatile-* evicts only the \
                 expiring (cache) keys and keeps the others, which allkeys-* would evict too"
            ),
        )
    };
    if hot && policy.ends_with("-lfu") {
        why.push_str(&format!(
            "; {} of reads hit while keys are evicted: LFU keeps the hot keys better than LRU",
            crate::views::fmt::pct(hit_ratio.unwrap_or(0.0))
        ));
    } else if hit_ratio.is_some_and(|r| r < 0.5) && evicting {
        why.push_str(
            "; most reads miss while keys are evicted: the working set is bigger than memory, \
             and more maxmemory helps more than any policy",
        );
    }
    a.fits = current == policy;
    a.policy = Some(policy);
    a.why = why;
    Some(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master(keys: u64, expiring: u64, policy: &str) -> NodeInfo {
        NodeInfo {
            addr: "r:6379".into(),
            role: "master".into(),
            keys,
            expiring_keys: expiring,
            maxmemory: 1 << 30,
            maxmemory_policy: policy.into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_policy_follows_the_ttls() {
        let a = advise(&[master(100, 0, "volatile-lru")], "volatile-lru").unwrap();
        assert_eq!(a.policy.as_deref(), Some("allkeys-lru"));
        assert!(a.why.contains("can evict nothing"), "{}", a.why);
        assert!(!a.fits);
        let a = advise(&[master(100, 40, "allkeys-lru")], "allkeys-lru").unwrap();
        assert_eq!(a.policy.as_deref(), Some("volatile-lru"));
        assert!(a.why.starts_with("40% of keys have a TTL"), "{}", a.why);
        let a = advise(&[master(100, 100, "allkeys-lru")], "allkeys-lru").unwrap();
        assert!(a.fits);
        let a = advise(&[master(100, 0, "noeviction")], "noeviction").unwrap();
        assert_eq!(a.policy.as_deref(), Some("noeviction"));
    }

    #[test]
    fn a_hot_set_under_eviction_wants_lfu_and_no_maxmemory_wants_none() {
        let mut n = master(100, 100, "allkeys-lru");
        n.hit_ratio = Some(0.97);
        n.evicted_per_sec = Some(12.0);
        let a = advise(&[n], "allkeys-lru").unwrap();
        assert_eq!(a.policy.as_deref(), Some("allkeys-lfu"));
        assert!(a.why.contains("LFU keeps the hot keys"), "{}", a.why);
        let mut n = master(100, 0, "noeviction");
        n.maxmemory = 0;
        let a = advise(&[n], "noeviction").unwrap();
        assert_eq!(a.policy, None);
        assert!(a.why.starts_with("maxmemory is 0"));
    }
}
