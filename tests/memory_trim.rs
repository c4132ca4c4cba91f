//! The heap is trimmed when freeing moved it, not on every tick: alone in its binary, so no
//! other test allocates between the looks.

use opsdeck::memory::{Trimmer, trim};

#[test]
fn a_trim_is_due_after_a_big_free_and_not_again_until_the_next() {
    let t = Trimmer::default();
    trim();
    t.trimmed();
    assert!(!t.due(), "due with nothing freed since the trim");
    // 16 MiB in small blocks (below the mmap threshold: inside the heap), every other one
    // freed: holes a free at the heap's top cannot give back by itself.
    let mut blocks: Vec<Vec<u8>> = (0..8192).map(|i| vec![i as u8; 4096]).collect();
    let kept: Vec<Vec<u8>> = blocks
        .iter_mut()
        .skip(1)
        .step_by(2)
        .map(std::mem::take)
        .collect();
    drop(blocks);
    assert!(t.due(), "16 MiB freed inside the heap, yet no trim due");
    trim();
    t.trimmed();
    assert!(!t.due(), "due again right after a trim");
    assert!(kept.iter().all(|b| b.len() == 4096));
}
