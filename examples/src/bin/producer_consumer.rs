//! One queue, two processes: the first program of the tutorial.
//!
//! The segment is declared in `schemas/producer_consumer.toml` — an SPSC queue of `Message`s and
//! two counters — and turned into Rust by `build.rs`. The parent creates it, starts a producer
//! and a consumer process, and checks their counters when both are done.
//!
//! ```sh
//! cargo run -p zipc-examples --bin producer_consumer
//! ```

use std::time::Instant;

use zipc_examples::{role, thousands, wait_all, BoxError, Peer, Unlink};

// `Message` and `ProducerConsumer` (the segment: `messages`, `produced`, `consumed`), generated
// from schemas/producer_consumer.toml.
mod schema {
    zipc::include_schema!("producer_consumer");
}
use schema::{Message, ProducerConsumer};

const MESSAGES: u64 = 100_000;

fn main() -> Result<(), BoxError> {
    match role() {
        Some((role, args)) if role == "producer" => producer(&args[0]),
        Some((role, args)) if role == "consumer" => consumer(&args[0]),
        _ => parent(),
    }
}

fn parent() -> Result<(), BoxError> {
    let name = zipc_examples::unique_name(ProducerConsumer::NAME);
    let _cleanup = Unlink::new(&name);
    // Sized exactly for the declaration; every structure exists before anyone can open it.
    let seg = ProducerConsumer::create(&name)?;
    println!("created {name}: {} bytes, queue of {} messages", ProducerConsumer::SIZE, seg.messages.capacity());

    let start = Instant::now();
    let peers = vec![Peer::spawn("consumer", &[&name])?, Peer::spawn("producer", &[&name])?];
    wait_all(peers)?;
    let elapsed = start.elapsed();

    let (produced, consumed) = (seg.produced.load(), seg.consumed.load());
    println!("produced {produced}, consumed {consumed}, {} left in the queue", seg.messages.len());
    if produced != MESSAGES || consumed != MESSAGES || !seg.messages.is_empty() {
        return Err("messages were lost".into());
    }
    println!(
        "ok: {} messages from one process to another in {:.2?} (processes included)",
        thousands(MESSAGES),
        elapsed
    );
    Ok(())
}

fn producer(name: &str) -> Result<(), BoxError> {
    let seg = ProducerConsumer::open(name)?; // checks every structure against the declaration
                                             // An SPSC queue has one producer: claiming the role makes a second one an error.
    let mut tx = seg.messages.producer()?;
    for i in 0..MESSAGES {
        let msg = Message { timestamp: i, producer_id: 1, _pad12: 0, value: i as f64 * 0.5 };
        tx.push(msg, None)?; // blocks while the queue is full
        seg.produced.fetch_add(1);
    }
    println!("[producer] pushed {} messages", thousands(MESSAGES));
    Ok(())
}

fn consumer(name: &str) -> Result<(), BoxError> {
    let seg = ProducerConsumer::open(name)?;
    let mut rx = seg.messages.consumer()?;
    let mut sum = 0.0;
    for i in 0..MESSAGES {
        let msg = rx.pop(None)?; // sleeps on a futex while the queue is empty
        if msg.timestamp != i || msg.producer_id != 1 {
            return Err(format!("message {i} arrived as {msg:?}").into());
        }
        sum += msg.value;
        seg.consumed.fetch_add(1);
    }
    println!("[consumer] received {} messages in order, sum of values {sum}", thousands(MESSAGES));
    Ok(())
}
