//! A worker process that serves three structures at once on tokio, with no thread per structure
//! and no polling: a task queue, a control event and a shutdown latch.
//!
//! * `tasks` — an MPMC queue of task numbers; the worker runs 64 tasks concurrently, each awaiting
//!   `tasks.pop_async()` on the same shared handle;
//! * `control` — an auto-reset event the driver sets to ask for a progress report;
//! * `shutdown` — a latch of one the driver opens when it has pushed everything;
//! * `done` — an MPSC queue on which the worker sends each task's result back.
//!
//! The driver (the parent process) pushes 20 000 tasks, pulses `control` a few times, opens
//! `shutdown` once every result is back, and checks that every task was done exactly once.
//!
//! ```sh
//! cargo run -p zipc-examples --bin async_workers
//! ```

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use zipc::{Event, Latch, Mpmc, Mpsc, Queue, ResetMode, Segment};
use zipc_examples::{role, thousands, unique_name, BoxError, Peer, Unlink};

const TASKS: u64 = 20_000;
const CONCURRENCY: usize = 64;
const PULSES: u64 = 3;
/// Hang guard for the driver's waits.
const LIMIT: Duration = Duration::from_secs(120);

fn main() -> Result<(), BoxError> {
    match role() {
        Some((role, args)) if role == "worker" => worker(&args[0]),
        _ => driver(),
    }
}

/// The work: something a driver can check.
fn work(task: u64) -> u64 {
    task.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17)
}

fn driver() -> Result<(), BoxError> {
    let name = unique_name("/async-workers");
    let _cleanup = Unlink::new(&name);
    let seg = Segment::create(&name, 4 << 20)?;
    let tasks = Queue::<u64, Mpmc>::create(&seg, "tasks", 1024)?;
    let done = Queue::<[u64; 2], Mpsc>::create(&seg, "done", 1024)?;
    let control = Event::create(&seg, "control", ResetMode::Auto, false)?;
    let shutdown = Latch::create(&seg, "shutdown", 1)?;
    let mut results = done.consumer()?;
    let worker = Peer::spawn("worker", &[&name])?;

    let pusher = {
        let tasks = tasks.clone();
        std::thread::spawn(move || -> zipc::Result<()> {
            for t in 0..TASKS {
                tasks.push(t, Some(LIMIT))?;
            }
            Ok(())
        })
    };
    let mut seen = vec![false; TASKS as usize];
    for n in 0..TASKS {
        if n % (TASKS / PULSES) == TASKS / PULSES / 2 {
            control.set(); // "report your progress"
        }
        let [task, result] = results.pop(Some(LIMIT))?;
        if task >= TASKS || seen[task as usize] || result != work(task) {
            return Err(format!("task {task}: bad or repeated result {result}").into());
        }
        seen[task as usize] = true;
    }
    pusher.join().map_err(|_| "the pusher panicked")??;
    shutdown.count_down(1);
    worker.wait()?;
    println!("[driver] every one of {} tasks done exactly once", thousands(TASKS));
    println!("ok: one worker served a queue, an event and a latch from {CONCURRENCY} tasks");
    Ok(())
}

fn worker(name: &str) -> Result<(), BoxError> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build()?;
    rt.block_on(async {
        let seg = Segment::open(name)?;
        let tasks = Queue::<u64, Mpmc>::open(&seg, "tasks")?;
        let done = Queue::<[u64; 2], Mpsc>::open(&seg, "done")?;
        let control = Event::open(&seg, "control")?;
        let shutdown = Latch::open(&seg, "shutdown")?;
        let finished = Arc::new(AtomicU64::new(0));
        let mut runners: Vec<tokio::task::JoinHandle<zipc::Result<()>>> = Vec::new();
        for _ in 0..CONCURRENCY {
            let (tasks, done, shutdown, finished) = (tasks.clone(), done.clone(), shutdown.clone(), finished.clone());
            runners.push(tokio::spawn(async move {
                let mut tx = done.producer()?;
                loop {
                    tokio::select! {
                        task = tasks.pop_async() => {
                            let task = task?;
                            tx.push_async([task, work(task)]).await?;
                            finished.fetch_add(1, Relaxed);
                        }
                        opened = shutdown.wait_async() => { opened?; break }
                    }
                }
                zipc::Result::Ok(())
            }));
        }
        let mut reports = 0;
        loop {
            tokio::select! {
                r = control.wait_async() => {
                    r?;
                    reports += 1;
                    println!("[worker] progress report: {} tasks done", thousands(finished.load(Relaxed)));
                }
                r = shutdown.wait_async() => { r?; break }
            }
        }
        for r in runners {
            r.await??;
        }
        println!("[worker] {} tasks done, {reports} progress reports, shut down", thousands(finished.load(Relaxed)));
        Ok::<(), BoxError>(())
    })
}
