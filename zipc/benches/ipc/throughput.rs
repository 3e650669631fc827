//! Throughput: a producer sends `plan.messages` u64 values (0, 1, 2, ...) as fast as it can, a
//! consumer receives them all and checks their sum; messages per second from start to the last
//! receive. Both sides spin when the queue is full or empty.

use std::sync::Arc;
use std::time::Instant;

use crate::report::Measurement;
use crate::Plan;

/// Slots of every queue in the throughput benchmarks, so that all mechanisms get the same room.
pub const CAPACITY: usize = 4096;

pub fn expected_sum(n: u64) -> u64 {
    n.wrapping_mul(n.wrapping_sub(1)) / 2
}

pub fn measurement(name: &'static str, messages: u64, secs: f64, how: &str) -> Measurement {
    Measurement {
        name,
        unit: "msg/s",
        value: messages as f64 / secs,
        params: vec![("messages", messages.to_string()), ("capacity", CAPACITY.to_string()), ("setup", how.to_owned())],
    }
}

/// rtrb's SPSC ring on two threads of one process (reference).
pub fn rtrb(plan: &Plan) -> Measurement {
    let n = plan.messages;
    let (mut tx, mut rx) = rtrb::RingBuffer::<u64>::new(CAPACITY);
    let start = Arc::new(std::sync::Barrier::new(2));
    let s2 = start.clone();
    let pin = plan.pair;
    let producer = std::thread::spawn(move || {
        if let Some((_, b)) = pin {
            crate::machine::pin(b);
        }
        s2.wait();
        for i in 0..n {
            let mut v = i;
            while let Err(rtrb::PushError::Full(back)) = tx.push(v) {
                v = back;
                std::hint::spin_loop();
            }
        }
    });
    start.wait();
    let t0 = Instant::now();
    let mut sum = 0u64;
    for _ in 0..n {
        loop {
            if let Ok(v) = rx.pop() {
                sum = sum.wrapping_add(v);
                break;
            }
            std::hint::spin_loop();
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    producer.join().unwrap();
    assert_eq!(sum, expected_sum(n));
    measurement("throughput_rtrb_msgs", n, secs, "rtrb 0.4, two threads of one process")
}

/// crossbeam's ArrayQueue (MPMC) on two threads of one process, one producer and one consumer.
pub fn crossbeam(plan: &Plan) -> Measurement {
    let n = plan.messages;
    let q = Arc::new(crossbeam_queue::ArrayQueue::<u64>::new(CAPACITY));
    let start = Arc::new(std::sync::Barrier::new(2));
    let (q2, s2) = (q.clone(), start.clone());
    let pin = plan.pair;
    let producer = std::thread::spawn(move || {
        if let Some((_, b)) = pin {
            crate::machine::pin(b);
        }
        s2.wait();
        for i in 0..n {
            let mut v = i;
            while let Err(back) = q2.push(v) {
                v = back;
                std::hint::spin_loop();
            }
        }
    });
    start.wait();
    let t0 = Instant::now();
    let mut sum = 0u64;
    for _ in 0..n {
        loop {
            if let Some(v) = q.pop() {
                sum = sum.wrapping_add(v);
                break;
            }
            std::hint::spin_loop();
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    producer.join().unwrap();
    assert_eq!(sum, expected_sum(n));
    measurement("throughput_crossbeam_msgs", n, secs, "crossbeam-queue 0.3 ArrayQueue, 1 producer / 1 consumer thread")
}
