//! Request/response over a duplex endpoint: a client process asks, a server process answers.
//!
//! An `Endpoint<T>` is two SPSC queues in one structure; each of its two sides sends on one and
//! receives on the other. A process claims a side (`endpoint.side(Side::A)`), which makes it the
//! only sender and receiver of that side until it drops the handle — a second claim, from any
//! process or thread, is an error. The segment is declared with `#[derive(ShmSegment)]`.
//!
//! The client first makes calls one at a time (each waits for its answer: a round trip through
//! two queues and two futex wake-ups when the peer sleeps), then pipelines a batch.
//!
//! ```sh
//! cargo run -p zipc-examples --bin endpoint_ping
//! ```

use std::time::{Duration, Instant};

use zipc::{Endpoint, ShmSegment, ShmType, Side};
use zipc_examples::{role, thousands, wait_all, BoxError, Peer, Unlink};

/// A request or a response: the same element type travels both ways.
#[derive(
    Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
struct Call {
    /// Matches a response to its request.
    id: u64,
    /// What to do: `OP_*`.
    op: u32,
    _pad: u32,
    /// Arguments (requests) or the result in `a` (responses).
    a: f64,
    b: f64,
}

const OP_ADD: u32 = 1;
const OP_MUL: u32 = 2;
const OP_QUIT: u32 = 99;

#[derive(ShmSegment)]
#[zipc(name = "/endpoint_ping", max_entries = 4)]
struct Rpc {
    /// Side A is the client, side B the server.
    #[zipc(capacity = 64)]
    calls: Endpoint<Call>,
}

const ROUND_TRIPS: u64 = 2_000;
const PIPELINED: u64 = 20_000;

fn main() -> Result<(), BoxError> {
    match role() {
        Some((role, args)) if role == "server" => server(&args[0]),
        Some((role, args)) if role == "client" => client(&args[0]),
        _ => parent(),
    }
}

fn parent() -> Result<(), BoxError> {
    let name = zipc_examples::unique_name(Rpc::NAME);
    let _cleanup = Unlink::new(&name);
    let seg = Rpc::create(&name)?;
    println!("created {name}: an endpoint with {} slots per direction", seg.calls.capacity());
    wait_all(vec![Peer::spawn("server", &[&name])?, Peer::spawn("client", &[&name])?])?;
    println!("ok: every response matched its request");
    Ok(())
}

fn server(name: &str) -> Result<(), BoxError> {
    let seg = Rpc::open(name)?;
    let mut me = seg.calls.side(Side::B)?; // claims side B in the segment
    let mut served = 0u64;
    loop {
        let req = me.recv(None)?; // sleeps until a request arrives
        let result = match req.op {
            OP_ADD => req.a + req.b,
            OP_MUL => req.a * req.b,
            OP_QUIT => break,
            other => return Err(format!("unknown operation {other}").into()),
        };
        me.send(Call { a: result, b: 0.0, ..req }, None)?;
        served += 1;
    }
    println!("[server] answered {} requests", thousands(served));
    Ok(())
}

fn request(id: u64) -> Call {
    Call { id, op: if id % 2 == 0 { OP_ADD } else { OP_MUL }, _pad: 0, a: id as f64, b: 3.0 }
}

fn check(req: &Call, resp: &Call) -> Result<(), BoxError> {
    let expected = if req.op == OP_ADD { req.a + req.b } else { req.a * req.b };
    if resp.id != req.id || resp.a != expected {
        return Err(format!("request {req:?} got {resp:?}").into());
    }
    Ok(())
}

fn client(name: &str) -> Result<(), BoxError> {
    let seg = Rpc::open(name)?;
    let mut me = seg.calls.side(Side::A)?;
    // The side is ours alone: claiming it again, even in this process, is refused.
    if let Err(e) = seg.calls.side(Side::A) {
        println!("[client] a second claim of side A is refused: {e}");
    }

    // One call at a time.
    let mut rtts = Vec::with_capacity(ROUND_TRIPS as usize);
    for id in 0..ROUND_TRIPS {
        let req = request(id);
        let start = Instant::now();
        me.send(req, None)?;
        let resp = me.recv(Some(Duration::from_secs(30)))?;
        rtts.push(start.elapsed());
        check(&req, &resp)?;
    }
    rtts.sort();
    println!(
        "[client] {} calls one at a time: median round trip {:.1?}, 99th percentile {:.1?}",
        thousands(ROUND_TRIPS),
        rtts[rtts.len() / 2],
        rtts[rtts.len() * 99 / 100]
    );

    // Pipelined: keep sending while answers come back, never more in flight than fit.
    let start = Instant::now();
    let (mut sent, mut received) = (ROUND_TRIPS, ROUND_TRIPS);
    let end = ROUND_TRIPS + PIPELINED;
    while received < end {
        while sent < end && sent - received < me.capacity() as u64 && me.try_send(request(sent))? {
            sent += 1;
        }
        let resp = me.recv(Some(Duration::from_secs(30)))?;
        check(&request(received), &resp)?;
        received += 1;
    }
    let elapsed = start.elapsed();
    println!(
        "[client] {} calls pipelined in {:.2?}: {} calls/s",
        thousands(PIPELINED),
        elapsed,
        thousands((PIPELINED as f64 / elapsed.as_secs_f64()) as u64)
    );
    me.send(Call { op: OP_QUIT, ..request(end) }, None)?;
    Ok(())
}
