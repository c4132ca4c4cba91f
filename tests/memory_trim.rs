//! The heap is trimmed when freeing moved it, not after every sample: alone in its binary,
//! so no other test allocates between the looks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use opsdeck::memory::{Trimmer, trim};

/// 16 MiB in small blocks (below the mmap threshold: inside the heap), every other one
/// freed: holes a free at the heap's top cannot give back by itself. Returns what is kept.
fn free_holes() -> Vec<Vec<u8>> {
    let mut blocks: Vec<Vec<u8>> = (0..8192).map(|i| vec![i as u8; 4096]).collect();
    let kept: Vec<Vec<u8>> = blocks
        .iter_mut()
        .skip(1)
        .step_by(2)
        .map(std::mem::take)
        .collect();
    drop(blocks);
    kept
}

#[test]
fn a_trim_is_due_after_a_big_free_and_not_again_until_the_next() {
    let t = Trimmer::default();
    trim();
    t.trimmed();
    assert!(!t.due(), "due with nothing freed since the trim");
    let kept = free_holes();
    assert!(t.due(), "16 MiB freed inside the heap, yet no trim due");
    trim();
    t.trimmed();
    assert!(!t.due(), "due again right after a trim");
    assert!(kept.iter().all(|b| b.len() == 4096));
    drop(kept);

    // The console's path: a sample applied after a big free trims on a blocking thread.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let t = Arc::new(t);
    assert!(t.due(), "the other 8 MiB freed, yet no trim due");
    rt.block_on(async {
        t.after_sample();
        let deadline = Instant::now() + Duration::from_secs(10);
        while t.due() {
            assert!(Instant::now() < deadline, "no trim 10 s after the sample");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
}
