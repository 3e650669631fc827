//! A particle fountain: a simulation process and a renderer process sharing the particles.
//!
//! The segment is declared in Rust with `#[derive(ShmSegment)]` (no schema): a `Pool` of
//! particles, an `Array` of the pool handles that are live in the current frame, and `Atomic`s
//! for the frame handshake. Pool handles are plain data (`{index, generation}`), so the
//! simulation can hand them to the renderer through the array, and a handle to a particle that
//! has since died is refused instead of reading a recycled slot.
//!
//! The two processes run in lockstep: the simulation publishes frame `k` by storing it in
//! `frame`; the renderer, asleep on `frame` (a futex), wakes, draws the frame and stores `k` in
//! `drawn`, which the simulation waits on before it changes anything again.
//!
//! ```sh
//! cargo run -p zipc-examples --bin particle_sim
//! ```

use zipc::{Array, Atomic, Handle, Pool, ShmSegment, ShmType};
use zipc_examples::{role, thousands, wait_all, BoxError, Peer, Unlink};

/// One particle.
#[derive(
    Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
struct Particle {
    position: [f32; 3],
    velocity: [f32; 3],
    /// Seconds left; the particle dies at 0.
    lifetime: f32,
    /// The frame it was born in.
    born: u32,
}

/// The shared state.
#[derive(ShmSegment)]
#[zipc(name = "/particle_sim", max_entries = 8)]
struct ParticleSim {
    #[zipc(capacity = 2048)]
    particles: Pool<Particle>,
    /// Handles of the particles alive in the current frame; the first `live_count` are valid.
    #[zipc(capacity = 2048)]
    live: Array<Handle>,
    live_count: Atomic<u32>,
    /// The newest published frame (the renderer sleeps on it).
    frame: Atomic<u32>,
    /// The newest frame the renderer has drawn (the simulation sleeps on it).
    drawn: Atomic<u32>,
    /// Sum of every coordinate of the frame, as the simulation computed it (`f64` bits): the
    /// renderer checks that it saw exactly what was simulated.
    checksum: Atomic<u64>,
}

const FRAMES: u32 = 120;
const DT: f32 = 1.0 / 60.0;
const SPAWN_PER_FRAME: u32 = 24;

fn main() -> Result<(), BoxError> {
    match role() {
        Some((role, args)) if role == "simulation" => simulation(&args[0]),
        Some((role, args)) if role == "renderer" => renderer(&args[0]),
        _ => parent(),
    }
}

fn parent() -> Result<(), BoxError> {
    let name = zipc_examples::unique_name(ParticleSim::NAME);
    let _cleanup = Unlink::new(&name);
    let seg = ParticleSim::create(&name)?;
    println!(
        "created {name}: {} bytes; pool of {} particles ({} bytes each)",
        thousands(ParticleSim::SIZE),
        seg.particles.capacity(),
        size_of::<Particle>()
    );
    wait_all(vec![Peer::spawn("renderer", &[&name])?, Peer::spawn("simulation", &[&name])?])?;

    println!(
        "ok: {FRAMES} frames simulated and drawn; {} particles alive at the end, {} pool slots in use",
        seg.live_count.load(),
        seg.particles.num_allocated()
    );
    if seg.drawn.load() != FRAMES || seg.particles.num_allocated() != u64::from(seg.live_count.load()) {
        return Err("the renderer did not draw every frame, or pool slots leaked".into());
    }
    Ok(())
}

/// A tiny deterministic random number generator (xorshift), so that every run is the same.
struct Rng(u32);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        (self.0 >> 8) as f32 / (1 << 24) as f32 // in [0, 1)
    }
}

fn simulation(name: &str) -> Result<(), BoxError> {
    let seg = ParticleSim::open(name)?;
    let mut rng = Rng(2463534242);
    let mut live: Vec<Handle> = Vec::new();
    let (mut born, mut died, mut pool_full) = (0u64, 0u64, 0u64);
    for frame in 1..=FRAMES {
        // Move every particle; release the ones whose time is up.
        let mut still_live = Vec::with_capacity(live.len());
        for &h in &live {
            let mut p = seg.particles.read(h)?;
            p.lifetime -= DT;
            if p.lifetime <= 0.0 {
                seg.particles.release(h)?; // the handle is now stale in every process
                died += 1;
                continue;
            }
            p.velocity[1] -= 9.81 * DT;
            for axis in 0..3 {
                p.position[axis] += p.velocity[axis] * DT;
            }
            seg.particles.write(h, p)?;
            still_live.push(h);
        }
        live = still_live;
        // Emit new ones from the nozzle.
        for _ in 0..SPAWN_PER_FRAME {
            let Some(h) = seg.particles.try_acquire()? else {
                pool_full += 1; // every slot in use: skip this one
                continue;
            };
            let velocity = [rng.next() - 0.5, 4.0 + rng.next(), rng.next() - 0.5];
            let p = Particle { position: [0.0; 3], velocity, lifetime: 0.5 + rng.next(), born: frame };
            seg.particles.write(h, p)?;
            live.push(h);
            born += 1;
        }
        // Publish the frame: its handles, their count and checksum, then the frame number.
        seg.live.write_at(0, &live)?;
        seg.live_count.store(live.len() as u32);
        seg.checksum.store(checksum(&seg.particles, &live)?.to_bits());
        seg.frame.store(frame);
        seg.frame.wake_all(); // a system call only if the renderer sleeps
                              // Wait until it is drawn before touching the particles again.
        loop {
            let drawn = seg.drawn.load();
            if drawn == frame {
                break;
            }
            seg.drawn.wait(drawn, None)?; // sleeps while `drawn` still equals `drawn`
        }
    }
    println!(
        "[simulation] {FRAMES} frames: {} particles born, {} died, {} emissions skipped (pool full)",
        thousands(born),
        thousands(died),
        thousands(pool_full)
    );
    Ok(())
}

fn checksum(particles: &Pool<Particle>, live: &[Handle]) -> zipc::Result<f64> {
    let mut sum = 0.0f64;
    for &h in live {
        sum += particles.read(h)?.position.iter().map(|&c| f64::from(c)).sum::<f64>();
    }
    Ok(sum)
}

fn renderer(name: &str) -> Result<(), BoxError> {
    let seg = ParticleSim::open(name)?;
    let mut handles = vec![Handle { index: 0, generation: 0 }; seg.live.len()];
    let mut last = 0;
    while last < FRAMES {
        seg.frame.wait(last, None)?; // sleeps until a new frame is published
        let frame = seg.frame.load();
        // Read the frame: the live handles, then each particle through its handle.
        let count = seg.live_count.load() as usize;
        seg.live.read_at(0, &mut handles[..count])?;
        let sum = checksum(&seg.particles, &handles[..count])?;
        if sum.to_bits() != seg.checksum.load() {
            return Err(format!(
                "frame {frame}: drew {sum}, the simulation had {}",
                f64::from_bits(seg.checksum.load())
            )
            .into());
        }
        if frame % 30 == 0 {
            println!("[renderer] frame {frame}: {count} particles, checksum matches");
        }
        if frame == FRAMES {
            draw(&seg.particles, &handles[..count])?;
        }
        seg.drawn.store(frame);
        seg.drawn.wake_all();
        last = frame;
    }
    Ok(())
}

/// Prints the particles seen from the side: x across, height up.
fn draw(particles: &Pool<Particle>, live: &[Handle]) -> zipc::Result<()> {
    const W: usize = 48;
    const H: usize = 12;
    let mut grid = [[0u32; W]; H];
    for &h in live {
        let p = particles.read(h)?;
        let col = ((p.position[0] + 0.6) / 1.2 * W as f32) as isize;
        let row = (p.position[1] / 1.2 * H as f32) as isize;
        if (0..W as isize).contains(&col) && (0..H as isize).contains(&row) {
            grid[row as usize][col as usize] += 1;
        }
    }
    println!("[renderer] the last frame, seen from the side:");
    for row in grid.iter().rev() {
        let line: String = row
            .iter()
            .map(|&n| match n {
                0 => ' ',
                1..=2 => '.',
                3..=5 => ':',
                6..=9 => '*',
                _ => '#',
            })
            .collect();
        println!("[renderer]   |{line}|");
    }
    Ok(())
}
