//! Where the bytes of the Kafka source go at 10,000 partitions and 1,000 groups: the size of
//! each structure kept per partition or per group partition, and of the decoded answers a
//! poll holds for a moment. `cargo test -p opsdeck-core --lib kafka::sizes_tests --
//! --nocapture` prints them; the test fails only if a kept structure grows past its budget.

use std::mem::size_of;

use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartitions, OffsetFetchResponseTopics,
};

use super::{GroupPartition, PartitionInfo, compact, lag};

#[test]
fn sizes_of_what_is_kept_and_what_a_poll_decodes() {
    let (hwm_point, commit_point) = lag::POINT_BYTES;
    let rows = [
        (
            "row kept per group partition (compact::Rec)",
            compact::ROW_BYTES,
        ),
        ("row as shown (GroupPartition)", size_of::<GroupPartition>()),
        (
            "track per group partition (lag::Track)",
            size_of::<lag::Track>(),
        ),
        ("commit point in a track", commit_point),
        ("watermark point (60 per partition)", hwm_point),
        (
            "watermark table head (lag::HwmTable)",
            size_of::<lag::HwmTable>(),
        ),
        (
            "partition in the sample (PartitionInfo)",
            size_of::<PartitionInfo>(),
        ),
        (
            "raw committed entry ((String, i32), i64) before its string",
            size_of::<((String, i32), i64)>(),
        ),
        (
            "decoded OffsetFetch partition (kafka-protocol)",
            size_of::<OffsetFetchResponsePartitions>(),
        ),
        (
            "decoded OffsetFetch topic (kafka-protocol)",
            size_of::<OffsetFetchResponseTopics>(),
        ),
        (
            "decoded OffsetFetch group (kafka-protocol)",
            size_of::<OffsetFetchResponseGroup>(),
        ),
    ];
    for (what, n) in rows {
        println!("{n:>5} B  {what}");
    }
    const { assert!(compact::ROW_BYTES <= 120, "a row grew past 120 bytes") };
    assert!(size_of::<lag::Track>() <= 88);
    assert!(hwm_point <= 12 && commit_point <= 16);
}
