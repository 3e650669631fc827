//! A camera publishing 1 MiB frames to three processes at once, none of which copies a frame: a
//! renderer (draws a thumbnail), a logger (one line per frame, checked), a statistics process
//! (brightness over time).
//!
//! The segment is declared in Rust with `#[derive(ShmSegment)]`: a lossless `Topic` of frames
//! with four slots and room for three subscribers, and a `Latch` the subscribers count down once
//! joined, so that the camera starts only when all three will see the first frame. The camera
//! *loans* a slot, draws the frame straight into shared memory and sends it; each subscriber
//! *receives* it in place and reads it where the camera wrote it. A slot is reused only when all
//! three have dropped their sample, so the slowest subscriber paces the camera and nobody misses
//! a frame.
//!
//! ```sh
//! cargo run --release -p zipc-examples --bin camera_frames
//! ```

use std::time::Duration;

use zipc::{Latch, Lossless, ShmSegment, ShmType, Topic};
use zipc_examples::{role, thousands, wait_all, BoxError, Peer, Unlink};

const WIDTH: usize = 1024;
const HEIGHT: usize = 1024;
const FRAMES: u64 = 60;
const LIMIT: Duration = Duration::from_secs(60);

/// What every frame says about itself.
#[derive(Clone, Copy, Debug, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
struct FrameHeader {
    seq: u64,
    width: u32,
    height: u32,
    /// Sum of every pixel, as the camera computed it: subscribers check they read that frame.
    checksum: u64,
}

/// One 8-bit grey frame of 1 MiB and its header.
#[derive(Clone, Copy, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
struct Frame {
    header: FrameHeader,
    pixels: [u8; WIDTH * HEIGHT],
}

/// The shared state.
#[derive(ShmSegment)]
#[zipc(name = "/camera_frames", max_entries = 4)]
struct Camera {
    #[zipc(capacity = 4, max_subscribers = 3)]
    frames: Topic<Frame, Lossless>,
    /// Counted down by each subscriber once joined.
    #[zipc(count = 3)]
    joined: Latch,
}

fn main() -> Result<(), BoxError> {
    match role() {
        Some((role, args)) if role == "camera" => camera(&args[0]),
        Some((role, args)) => subscriber(&role, &args[0]),
        None => parent(),
    }
}

fn parent() -> Result<(), BoxError> {
    let name = zipc_examples::unique_name(Camera::NAME);
    let _cleanup = Unlink::new(&name);
    let seg = Camera::create(&name)?;
    println!(
        "created {name}: {} bytes; a topic of {} frames of {} bytes for {} subscribers",
        thousands(Camera::SIZE),
        seg.frames.capacity(),
        thousands(size_of::<Frame>() as u64),
        seg.frames.max_subscribers()
    );
    let mut peers = Vec::new();
    for r in ["renderer", "logger", "statistics"] {
        peers.push(Peer::spawn(r, &[&name])?);
    }
    peers.push(Peer::spawn("camera", &[&name])?);
    wait_all(peers)?;
    println!(
        "ok: {} frames of {} bytes published, each received by 3 processes in place; {} subscribers left joined",
        seg.frames.published(),
        thousands(size_of::<Frame>() as u64),
        seg.frames.subscribers()
    );
    if seg.frames.published() != FRAMES {
        return Err("the camera did not publish every frame".into());
    }
    Ok(())
}

fn camera(name: &str) -> Result<(), BoxError> {
    let seg = Camera::open(name)?;
    seg.joined.wait_timeout(LIMIT)?; // all three subscribers are in
    let mut tx = seg.frames.publisher()?;
    for seq in 0..FRAMES {
        let mut frame = tx.loan(Some(LIMIT))?; // the slot in shared memory, ours until sent
        draw(seq, &mut frame.pixels);
        let checksum = frame.pixels.iter().map(|&p| u64::from(p)).sum();
        frame.header = FrameHeader { seq, width: WIDTH as u32, height: HEIGHT as u32, checksum };
        frame.send();
    }
    println!("[camera] published {FRAMES} frames, drawn in place");
    Ok(())
}

/// A bright disc moving across a dark gradient.
fn draw(seq: u64, pixels: &mut [u8; WIDTH * HEIGHT]) {
    let (cx, cy) = ((seq as usize * 13) % WIDTH, HEIGHT / 2);
    for (y, row) in pixels.chunks_exact_mut(WIDTH).enumerate() {
        for (x, p) in row.iter_mut().enumerate() {
            let (dx, dy) = (x.abs_diff(cx), y.abs_diff(cy));
            *p = if dx * dx + dy * dy < 120 * 120 { 250 } else { ((x + y) / 16) as u8 };
        }
    }
}

fn subscriber(role: &str, name: &str) -> Result<(), BoxError> {
    let seg = Camera::open(name)?;
    let mut rx = seg.frames.subscriber()?;
    seg.joined.count_down(1);
    let mut brightness = Vec::new();
    for expected in 0..FRAMES {
        let frame = rx.receive(Some(LIMIT))?; // a reference into the slot the camera wrote
        let h = frame.header;
        let sum: u64 = frame.pixels.iter().map(|&p| u64::from(p)).sum();
        if h.seq != expected || sum != h.checksum {
            return Err(
                format!("[{role}] frame {expected}: got seq {} with sum {sum} (header {})", h.seq, h.checksum).into()
            );
        }
        match role {
            "logger" if expected % 20 == 0 => {
                println!("[logger] frame {} ({}x{}): checksum {} ok", h.seq, h.width, h.height, h.checksum)
            }
            "statistics" => brightness.push(sum as f64 / (WIDTH * HEIGHT) as f64),
            "renderer" if expected == FRAMES - 1 => thumbnail(&frame.pixels),
            _ => {}
        }
        // `frame` drops here: this subscriber is done with the slot.
    }
    if role == "statistics" {
        let (lo, hi) = brightness.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &b| (lo.min(b), hi.max(b)));
        println!("[statistics] {} frames, mean brightness from {lo:.1} to {hi:.1}", brightness.len());
    }
    println!("[{role}] received {} frames in place, none missed ({} missed)", rx.received(), rx.missed());
    Ok(())
}

/// Prints the frame shrunk to 32 x 12 characters (in one write, so other processes' lines do not
/// land inside it).
fn thumbnail(pixels: &[u8; WIDTH * HEIGHT]) {
    const SHADES: &[u8] = b" .:-=+*#%@";
    let mut out = String::from("[renderer] the last frame:\n");
    for ty in 0..12 {
        out.push_str("  |");
        for tx in 0..32 {
            let p = pixels[(ty * HEIGHT / 12) * WIDTH + tx * WIDTH / 32];
            out.push(SHADES[p as usize * (SHADES.len() - 1) / 255] as char);
        }
        out.push_str("|\n");
    }
    print!("{out}");
}
