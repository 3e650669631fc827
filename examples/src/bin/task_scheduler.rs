//! A master and four worker processes: tasks out on one queue, results back on another.
//!
//! The segment is declared in `schemas/task_scheduler.toml`:
//!
//! * `tasks` — an MPMC queue: the master pushes, every worker pops (each task goes to exactly one);
//! * `results` — an MPSC queue: every worker pushes, the master alone pops;
//! * `ready` — a latch of four: each worker counts it down once it is attached, and the master
//!   waits for it before handing out work;
//! * `start` — a barrier of five: then everybody starts together;
//! * `finished` — a latch of four: each worker counts it down as it leaves;
//! * `workers_ready` — a counter; `shutdown` — a manual-reset event: the run is over.
//!
//! The master checks every result against its own computation, and that each task was done
//! exactly once.
//!
//! ```sh
//! cargo run -p zipc-examples --bin task_scheduler
//! ```

use std::time::Duration;

use zipc_examples::{role, thousands, wait_all, BoxError, Peer, Unlink};

mod schema {
    zipc::include_schema!("task_scheduler");
}
use schema::{Task, TaskResult, TaskScheduler};

const WORKERS: u32 = 4; // the schema's barrier counts them (participants = 5, with the master)
const TASKS: u64 = 3_000;
/// Task kinds. `KIND_NONE` carries no work: it wakes a worker blocked in `pop` at shutdown.
const KIND_NONE: u32 = 0;
const KIND_SORT: u32 = 1;
const KIND_CHECKSUM: u32 = 2;

fn main() -> Result<(), BoxError> {
    match role() {
        Some((role, args)) if role == "worker" => worker(&args[0], args[1].parse()?),
        _ => master(),
    }
}

/// The task with id `id`: a kind and 256 bytes of input.
fn make_task(id: u64) -> Task {
    let mut parameters = [0u8; 256];
    for (i, b) in parameters.iter_mut().enumerate() {
        *b = (id.wrapping_mul(2654435761).wrapping_add(i as u64 * 40503) >> 7) as u8;
    }
    Task { task_id: id, kind: if id % 3 == 0 { KIND_CHECKSUM } else { KIND_SORT }, _pad12: 0, parameters }
}

/// What a task computes: the sorted bytes, or their FNV-1a hash in the first 8 bytes.
fn run(task: &Task) -> [u8; 1024] {
    let mut output = [0u8; 1024];
    match task.kind {
        KIND_SORT => {
            let mut sorted = task.parameters;
            sorted.sort_unstable();
            output[..256].copy_from_slice(&sorted);
        }
        _ => {
            let hash = task
                .parameters
                .iter()
                .fold(0xcbf29ce484222325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3));
            output[..8].copy_from_slice(&hash.to_le_bytes());
        }
    }
    output
}

fn master() -> Result<(), BoxError> {
    let name = zipc_examples::unique_name(TaskScheduler::NAME);
    let _cleanup = Unlink::new(&name);
    let seg = TaskScheduler::create(&name)?;
    println!("created {name}: {} bytes", thousands(TaskScheduler::SIZE));
    let ids: Vec<String> = (0..WORKERS).map(|i| i.to_string()).collect();
    let workers = ids.iter().map(|id| Peer::spawn("worker", &[&name, id])).collect::<Result<Vec<_>, _>>()?;

    // The readiness latch opens once every worker has attached; then everyone meets at the
    // barrier and the work starts.
    seg.ready.wait_timeout(Duration::from_secs(60))?;
    println!("{} workers ready", seg.workers_ready.load());
    seg.start.wait_timeout(Duration::from_secs(60))?;

    // Hand out tasks while collecting results: push as many as fit, then take one result.
    let mut results = seg.results.consumer()?; // the single consumer of an MPSC queue
    let mut done = vec![false; TASKS as usize];
    let mut per_worker = vec![0u64; WORKERS as usize];
    let (mut next, mut received) = (0u64, 0u64);
    while received < TASKS {
        while next < TASKS && seg.tasks.try_push(make_task(next))? {
            next += 1;
        }
        let r: TaskResult = results.pop(Some(Duration::from_secs(60)))?;
        let id = r.task_id as usize;
        if id >= done.len() || done[id] || r.success != 1 || r.output != run(&make_task(r.task_id)) {
            return Err(format!("task {id}: wrong or duplicate result from worker {}", r.worker_id).into());
        }
        done[id] = true;
        per_worker[r.worker_id as usize] += 1;
        received += 1;
    }
    println!("all {} results received and checked; tasks per worker: {per_worker:?}", thousands(TASKS));

    // Shut down: set the flag, then wake every worker blocked in pop with an empty task.
    seg.shutdown.set();
    for _ in 0..WORKERS {
        seg.tasks.push(Task { task_id: u64::MAX, kind: KIND_NONE, _pad12: 0, parameters: [0; 256] }, None)?;
    }
    seg.finished.wait_timeout(Duration::from_secs(60))?; // every worker has counted down
    wait_all(workers)?;
    println!("ok: {} tasks done exactly once by {WORKERS} workers, every result correct", thousands(TASKS));
    Ok(())
}

fn worker(name: &str, id: u32) -> Result<(), BoxError> {
    let seg = TaskScheduler::open(name)?;
    seg.workers_ready.fetch_add(1);
    seg.ready.count_down(1);
    seg.start.wait_timeout(Duration::from_secs(60))?;
    let mut count = 0u64;
    loop {
        let task = seg.tasks.pop(None)?; // sleeps until a task arrives
        if seg.shutdown.is_set() {
            break;
        }
        if task.kind == KIND_NONE {
            return Err("an empty task before shutdown".into());
        }
        let result = TaskResult { task_id: task.task_id, worker_id: id, success: 1, output: run(&task) };
        seg.results.push(result, None)?; // any number of workers push to the MPSC queue
        count += 1;
    }
    println!("[worker {id}] did {} tasks", thousands(count));
    seg.finished.count_down(1);
    Ok(())
}
