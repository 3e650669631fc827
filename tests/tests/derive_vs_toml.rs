//! Both ways of declaring a segment describe the same segment. For every schema in `schemas/`
//! and `schemas/fixtures/` (a test checks that none is missing), a hand-written
//! `#[derive(ShmSegment)]` declaration of the same segment, written from the TOML as the
//! derive's documentation teaches, has the same `LAYOUT` structure by structure (names, docs,
//! kinds, element types, canonical layout strings and fingerprints, parameters) and the same
//! `SIZE` as the Rust that `zipc_schema::Builder` generated from the TOML (and as the TOML model).
//! For three of them — every kind with every parameter (`schemas/fixtures/all_kinds.toml`), the
//! task scheduler and the sensor pipeline — a segment created by either declaration also opens
//! with the other, in this process and in another one, with the values each wrote readable
//! through the other's handles.

use std::time::Duration;

use zipc::zerocopy::{FromBytes, Immutable, IntoBytes};
use zipc::{ResetMode, RingMode, Side};
use zipc_schema::{Arena, Schema};
use zipc_tests::schemas::{self, generated};
use zipc_tests::{child_args, spawn_role, wait_bounded, ShmName};

/// The declarations, by hand.
mod hand {
    use zipc::{Array, Atomic, Barrier, Condvar, Endpoint, Event, Latch, Mpmc, Mpsc, Mutex, Pool, Queue, Ring};
    use zipc::{Future, Lossless, Lossy, Map, Once, RwLock, Set, Stack, Topic};
    use zipc::{Semaphore, Spsc};
    use zipc::{ShmSegment, ShmType};

    /// A unit of work.
    #[derive(
        Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
    )]
    #[zerocopy(crate = "zipc::zerocopy")]
    #[repr(C)]
    pub struct Job {
        pub id: u64,
        pub cost: f32,
        pub worker: u16,
        pub flags: u16,
    }

    /// `schemas/fixtures/all_kinds.toml`.
    #[derive(ShmSegment)]
    #[zipc(name = "/zipc_fixture_all_kinds", max_entries = 26, max_processes = 16)]
    pub struct AllKinds {
        #[zipc(capacity = 8)]
        pub table: Array<Job>,
        #[zipc(initial = -7)]
        pub counter: Atomic<i64>,
        #[zipc(capacity = 16)]
        pub inbox: Queue<u64, Spsc>,
        #[zipc(capacity = 8)]
        pub results: Queue<Job, Mpsc>,
        #[zipc(capacity = 32)]
        pub jobs: Queue<Job, Mpmc>,
        /// The newest 64 jobs; older ones are overwritten.
        #[zipc(capacity = 64, overwrite = true)]
        pub log: Ring<Job>,
        #[zipc(capacity = 10)]
        pub samples: Ring<f64>,
        #[zipc(capacity = 12)]
        pub objects: Pool<Job>,
        /// Jobs to undo, the newest first.
        #[zipc(capacity = 6)]
        pub undo: Stack<Job>,
        /// The job of each session, by session id.
        #[zipc(capacity = 8)]
        pub sessions: Map<[u8; 16], Job>,
        #[zipc(capacity = 16)]
        pub visited: Set<u64>,
        #[zipc(initial = 2, max = 4)]
        pub slots: Semaphore,
        /// Unbounded: no `max`.
        #[zipc(initial = 3)]
        pub permits: Semaphore,
        #[zipc(participants = 3)]
        pub start: Barrier,
        #[zipc(count = 2)]
        pub done: Latch,
        pub lock: Mutex,
        /// Notified when what `lock` protects changes.
        pub changed: Condvar,
        /// The one-time set-up of the segment, run by whichever process gets there first.
        pub setup: Once,
        /// Many readers of the segment's configuration at once, or one writer changing it.
        #[zipc(max_readers = 8)]
        pub config_lock: RwLock,
        /// The job every worker starts from, set once by whichever process computes it first.
        pub plan: Future<Job>,
        #[zipc(manual_reset = true, initially_set = true)]
        pub go: Event,
        pub tick: Event,
        #[zipc(capacity = 4)]
        pub rpc: Endpoint<Job>,
        /// Jobs for up to three subscribers; a late one first gets the newest two.
        #[zipc(capacity = 8, max_subscribers = 3, history = 2)]
        pub frames: Topic<Job, Lossless>,
        #[zipc(capacity = 4, max_subscribers = 2)]
        pub ticks: Topic<u64, Lossy>,
    }

    #[derive(
        Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
    )]
    #[zerocopy(crate = "zipc::zerocopy")]
    #[repr(C)]
    pub struct Task {
        pub task_id: u64,
        pub kind: u32,
        pub _pad12: u32,
        pub parameters: [u8; 256],
    }

    #[derive(
        Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
    )]
    #[zerocopy(crate = "zipc::zerocopy")]
    #[repr(C)]
    pub struct TaskResult {
        pub task_id: u64,
        pub worker_id: u32,
        /// 1 if the task succeeded.
        pub success: u32,
        pub output: [u8; 1024],
    }

    /// `schemas/task_scheduler.toml`.
    #[derive(ShmSegment)]
    #[zipc(name = "/task_scheduler", max_entries = 8)]
    pub struct TaskScheduler {
        #[zipc(capacity = 1024)]
        pub tasks: Queue<Task, Mpmc>,
        #[zipc(capacity = 1024)]
        pub results: Queue<TaskResult, Mpsc>,
        /// Each worker counts down once when it has attached: the master waits for all four.
        #[zipc(count = 4)]
        pub ready: Latch,
        /// The master and four workers meet here before the first task.
        #[zipc(participants = 5)]
        pub start: Barrier,
        /// Each worker counts down once when it has drained the queue.
        #[zipc(count = 4)]
        pub finished: Latch,
        pub workers_ready: Atomic<u32>,
        #[zipc(manual_reset = true)]
        pub shutdown: Event,
    }

    /// One sample of eight channels.
    #[derive(
        Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
    )]
    #[zerocopy(crate = "zipc::zerocopy")]
    #[repr(C)]
    pub struct SensorReading {
        pub timestamp_ns: u64,
        /// One value per channel.
        pub values: [f32; 8],
        pub status: u16,
        pub sensor_id: u16,
        /// Explicit: the struct is 8-aligned.
        pub _pad44: u32,
    }

    #[derive(
        Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
    )]
    #[zerocopy(crate = "zipc::zerocopy")]
    #[repr(C)]
    pub struct ProcessedData {
        pub timestamp_ns: u64,
        pub mean: f32,
        pub rms: f32,
        pub peak: [f32; 8],
    }

    /// `schemas/sensor_pipeline.toml`.
    #[derive(ShmSegment)]
    #[zipc(name = "/sensor_pipeline", max_entries = 8)]
    pub struct SensorPipeline {
        /// Raw samples; when the processor falls behind the oldest are overwritten.
        #[zipc(capacity = 65536, overwrite = true)]
        pub readings: Ring<SensorReading>,
        #[zipc(capacity = 4096)]
        pub processed: Ring<ProcessedData>,
        pub total: Atomic<u64>,
        pub dropped: Atomic<u64>,
    }

    /// `schemas/game_server.toml`.
    pub mod game_server {
        use zipc::{Array, Atomic, Mpmc, Mpsc, Pool, Queue, Ring};
        use zipc::{ShmSegment, ShmType};

        /// A connected player.
        #[derive(
            Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
        )]
        #[zerocopy(crate = "zipc::zerocopy")]
        #[repr(C)]
        pub struct Player {
            pub id: u32,
            pub team: u32,
            /// World coordinates.
            pub position: [f32; 3],
            pub health: f32,
            pub score: u64,
            /// UTF-8, NUL-padded.
            pub name: [u8; 16],
        }

        /// A monster driven by the AI process.
        #[derive(
            Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
        )]
        #[zerocopy(crate = "zipc::zerocopy")]
        #[repr(C)]
        pub struct Monster {
            pub kind: u32,
            /// Handle of the player it chases.
            pub target: u32,
            pub position: [f32; 3],
            pub health: f32,
        }

        #[derive(
            Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
        )]
        #[zerocopy(crate = "zipc::zerocopy")]
        #[repr(C)]
        pub struct Projectile {
            pub owner: u32,
            pub damage: f32,
            pub position: [f32; 3],
            pub velocity: [f32; 3],
        }

        /// Damage dealt, from the simulation to the scoring system.
        #[derive(
            Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
        )]
        #[zerocopy(crate = "zipc::zerocopy")]
        #[repr(C)]
        pub struct DamageEvent {
            pub tick: u64,
            pub source: u32,
            pub target: u32,
            pub amount: f32,
            pub _pad20: u32,
        }

        /// A request from the AI process to spawn a monster.
        #[derive(
            Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
        )]
        #[zerocopy(crate = "zipc::zerocopy")]
        #[repr(C)]
        pub struct SpawnRequest {
            pub kind: u32,
            pub x: f32,
            pub y: f32,
            pub z: f32,
        }

        #[derive(
            Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
        )]
        #[zerocopy(crate = "zipc::zerocopy")]
        #[repr(C)]
        pub struct NetworkMessage {
            pub player: u32,
            pub len: u32,
            pub payload: [u8; 56],
        }

        /// Timing of one simulated frame.
        #[derive(
            Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
        )]
        #[zerocopy(crate = "zipc::zerocopy")]
        #[repr(C)]
        pub struct FrameStats {
            pub tick: u64,
            pub frame_ns: u64,
            pub entities: u32,
            pub messages: u32,
        }

        #[derive(
            Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
        )]
        #[zerocopy(crate = "zipc::zerocopy")]
        #[repr(C)]
        pub struct ScoreEntry {
            pub name: [u8; 16],
            pub player: u32,
            pub _pad20: u32,
            pub score: u64,
        }

        /// Game server state shared by the simulation, AI, network and analytics processes.
        #[allow(dead_code)] // only its LAYOUT and SIZE are compared
        #[derive(ShmSegment)]
        #[zipc(name = "/game_server", max_entries = 16)]
        pub struct GameServer {
            #[zipc(capacity = 100)]
            pub players: Pool<Player>,
            #[zipc(capacity = 1000)]
            pub monsters: Pool<Monster>,
            #[zipc(capacity = 500)]
            pub projectiles: Pool<Projectile>,
            /// 256 × 256 spatial grid: entity count per cell.
            #[zipc(capacity = 65536)]
            pub collision: Array<u32>,
            #[zipc(capacity = 1024)]
            pub damage_queue: Queue<DamageEvent, Mpsc>,
            #[zipc(capacity = 128)]
            pub spawn_queue: Queue<SpawnRequest, Mpsc>,
            #[zipc(capacity = 4096)]
            pub network_queue: Queue<NetworkMessage, Mpmc>,
            /// The last minute of frames at 60 fps; old frames are overwritten.
            #[zipc(capacity = 4096, overwrite = true)]
            pub frame_stats: Ring<FrameStats>,
            pub tick: Atomic<u64>,
            pub players_online: Atomic<u32>,
            /// 1 while a match runs (zipc has no bool: it is not a fixed-width type everywhere).
            pub match_active: Atomic<u32>,
            #[zipc(capacity = 10)]
            pub leaderboard: Array<ScoreEntry>,
        }
    }

    /// `schemas/particle_sim.toml`.
    pub mod particle_sim {
        use zipc::{Array, Atomic, Pool};
        use zipc::{ShmSegment, ShmType};

        /// One particle.
        #[derive(
            Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
        )]
        #[zerocopy(crate = "zipc::zerocopy")]
        #[repr(C)]
        pub struct Particle {
            pub position: [f32; 3],
            pub velocity: [f32; 3],
            pub mass: f32,
            /// Seconds left; the particle dies at 0.
            pub lifetime: f32,
            pub kind: u32,
            pub flags: u32,
        }

        /// Particle simulation shared between the simulation core and a renderer.
        #[allow(dead_code)] // only its LAYOUT and SIZE are compared
        #[derive(ShmSegment)]
        #[zipc(name = "/particle_sim", max_entries = 8)]
        pub struct ParticleSim {
            #[zipc(capacity = 10000)]
            pub particles: Pool<Particle>,
            /// Handles of the live particles; the first `active` are valid.
            #[zipc(capacity = 10000)]
            pub active_list: Array<u32>,
            /// Frame counter: the renderer redraws when it changes.
            pub frame: Atomic<u64>,
            pub active: Atomic<u32>,
        }
    }

    /// `schemas/producer_consumer.toml`.
    pub mod producer_consumer {
        use zipc::{Atomic, Queue, Spsc};
        use zipc::{ShmSegment, ShmType};

        #[derive(
            Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
        )]
        #[zerocopy(crate = "zipc::zerocopy")]
        #[repr(C)]
        pub struct Message {
            pub timestamp: u64,
            pub producer_id: i32,
            /// C would insert these 4 bytes silently; zipc makes them explicit.
            pub _pad12: u32,
            pub value: f64,
        }

        #[allow(dead_code)] // only its LAYOUT and SIZE are compared
        #[derive(ShmSegment)]
        #[zipc(name = "/producer_consumer", max_entries = 4)]
        pub struct ProducerConsumer {
            #[zipc(capacity = 128)]
            pub messages: Queue<Message, Spsc>,
            pub produced: Atomic<u64>,
            pub consumed: Atomic<u64>,
        }
    }

    /// `schemas/telemetry.toml`.
    pub mod telemetry {
        use zipc::{Array, Atomic, Queue, Spsc};
        use zipc::{ShmSegment, ShmType};

        /// One sample of a sensor.
        #[derive(
            Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
        )]
        #[zerocopy(crate = "zipc::zerocopy")]
        #[repr(C)]
        pub struct Reading {
            /// Sequence number, from 0, over all sensors.
            pub seq: u64,
            /// One value per channel.
            pub vals: [f32; 8],
            /// The sensor that took it, 0..8.
            pub sensor: u32,
            /// Explicit: C would pad the struct to 48 bytes silently.
            pub _pad44: u32,
        }

        /// What the monitor has seen of one sensor.
        #[derive(
            Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
        )]
        #[zerocopy(crate = "zipc::zerocopy")]
        #[repr(C)]
        pub struct SensorStats {
            /// Readings received.
            pub count: u64,
            /// Sum of channel 0 over those readings.
            pub sum: f64,
            /// Smallest channel-0 value.
            pub min: f32,
            /// Largest channel-0 value.
            pub max: f32,
            /// Sequence number of the newest reading.
            pub last_seq: u64,
        }

        /// Sensor telemetry: the README's running example and the demo's segment.
        #[allow(dead_code)] // only its LAYOUT and SIZE are compared
        #[derive(ShmSegment)]
        #[zipc(name = "/telemetry", max_entries = 8)]
        pub struct Telemetry {
            /// Sensor process → monitor process.
            #[zipc(capacity = 1024)]
            pub readings: Queue<Reading, Spsc>,
            /// The newest reading of each sensor, written by the monitor.
            #[zipc(capacity = 8)]
            pub latest: Array<Reading>,
            /// Running statistics per sensor, written by the monitor.
            #[zipc(capacity = 8)]
            pub stats: Array<SensorStats>,
            pub produced: Atomic<u64>,
            pub consumed: Atomic<u64>,
            /// Bumped by every program that reads the segment from another language.
            pub visits: Atomic<u32>,
        }
    }

    /// `schemas/fixtures/arrays.toml`: no `[segment]` table, so no default name and the default
    /// table sizes.
    pub mod arrays {
        use zipc::Array;
        use zipc::{ShmSegment, ShmType};

        /// Arrays of every shape a field can have.
        #[derive(
            Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
        )]
        #[zerocopy(crate = "zipc::zerocopy")]
        #[repr(C)]
        pub struct Grid {
            /// Row-major 3 × 3.
            pub matrix: [[f32; 3]; 3],
            pub ids: [u16; 5],
            pub tag: [u8; 2],
            pub cube: [[[i8; 2]; 2]; 2],
            pub _pad56: [u8; 8],
            pub wide: [u64; 2],
        }

        #[allow(dead_code)] // only its LAYOUT and SIZE are compared
        #[derive(ShmSegment)]
        pub struct Arrays {
            #[zipc(capacity = 4)]
            pub grids: Array<Grid>,
            /// Elements that are themselves arrays.
            #[zipc(capacity = 6)]
            pub vectors: Array<[f32; 8]>,
            #[zipc(capacity = 3)]
            pub planes: Array<[[u16; 3]; 2]>,
        }
    }

    /// `schemas/fixtures/explicit_padding.toml`: no `[segment]` table either.
    pub mod explicit_padding {
        use zipc::Array;
        use zipc::{ShmSegment, ShmType};

        #[derive(
            Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
        )]
        #[zerocopy(crate = "zipc::zerocopy")]
        #[repr(C)]
        pub struct Packet {
            pub tag: u8,
            pub _pad1: [u8; 3],
            pub len: u32,
            pub stamp: u64,
            pub kind: u16,
            pub _pad18: [u8; 6],
        }

        /// Alignment 2: a single byte of padding at the end.
        #[derive(
            Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
        )]
        #[zerocopy(crate = "zipc::zerocopy")]
        #[repr(C)]
        pub struct Small {
            pub a: u16,
            pub b: u8,
            pub _pad3: u8,
        }

        #[allow(dead_code)] // only its LAYOUT and SIZE are compared
        #[derive(ShmSegment)]
        pub struct ExplicitPadding {
            #[zipc(capacity = 3)]
            pub packets: Array<Packet>,
            #[zipc(capacity = 5)]
            pub smalls: Array<Small>,
        }
    }

    /// `schemas/fixtures/full_table.toml`: 4 entries, one of them zipc's, hold the 3 structures.
    pub mod full_table {
        use zipc::ShmSegment;
        use zipc::{Array, Atomic};

        #[allow(dead_code)] // only its LAYOUT and SIZE are compared
        #[derive(ShmSegment)]
        #[zipc(name = "/zipc_fixture_full_table", max_entries = 4, max_processes = 2)]
        pub struct FullTable {
            #[zipc(initial = 1)]
            pub first: Atomic<i32>,
            #[zipc(capacity = 2)]
            pub second: Array<i64>,
            #[zipc(initial = 3)]
            pub third: Atomic<u32>,
        }
    }

    /// `schemas/fixtures/nested.toml`: its `[segment]` table gives only the name, so the default
    /// table sizes.
    pub mod nested {
        use zipc::{Array, Atomic};
        use zipc::{ShmSegment, ShmType};

        #[derive(
            Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
        )]
        #[zerocopy(crate = "zipc::zerocopy")]
        #[repr(C)]
        pub struct Vec3 {
            pub x: f32,
            pub y: f32,
            pub z: f32,
        }

        /// Position, rotation (a quaternion) and scale.
        #[derive(
            Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
        )]
        #[zerocopy(crate = "zipc::zerocopy")]
        #[repr(C)]
        pub struct Transform {
            pub position: Vec3,
            pub rotation: [f32; 4],
            pub scale: Vec3,
        }

        #[derive(
            Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
        )]
        #[zerocopy(crate = "zipc::zerocopy")]
        #[repr(C)]
        pub struct Body {
            pub id: u64,
            pub transform: Transform,
            pub mass: f32,
            /// An array of structs inside a struct.
            pub hull: [Vec3; 4],
            pub _pad92: u32,
        }

        #[allow(dead_code)] // only its LAYOUT and SIZE are compared
        #[derive(ShmSegment)]
        #[zipc(name = "/zipc_fixture_nested")]
        pub struct Nested {
            #[zipc(capacity = 3)]
            pub bodies: Array<Body>,
            #[zipc(capacity = 4)]
            pub points: Array<Vec3>,
            /// An array whose elements are arrays of structs.
            #[zipc(capacity = 2)]
            pub quads: Array<[Vec3; 4]>,
            #[zipc(initial = 1)]
            pub generation: Atomic<u64>,
        }
    }

    /// `schemas/fixtures/primitives.toml`.
    pub mod primitives {
        use zipc::{Array, Atomic};
        use zipc::{ShmSegment, ShmType};

        /// One field of each primitive, widest first so that no padding is needed until the end.
        #[derive(
            Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
        )]
        #[zerocopy(crate = "zipc::zerocopy")]
        #[repr(C)]
        pub struct AllPrimitives {
            pub f64_: f64,
            pub u64_: u64,
            pub i64_: i64,
            pub f32_: f32,
            pub u32_: u32,
            pub i32_: i32,
            pub u16_: u16,
            pub i16_: i16,
            pub u8_: u8,
            pub i8_: i8,
            /// Explicit tail padding to the 8-byte alignment.
            pub _pad42: [u8; 6],
        }

        #[allow(dead_code)] // only its LAYOUT and SIZE are compared
        #[derive(ShmSegment)]
        #[zipc(name = "/zipc_fixture_primitives", max_entries = 20)]
        pub struct Primitives {
            #[zipc(capacity = 5)]
            pub all: Array<AllPrimitives>,
            #[zipc(capacity = 3)]
            pub a_u8: Array<u8>,
            #[zipc(capacity = 3)]
            pub a_i8: Array<i8>,
            #[zipc(capacity = 3)]
            pub a_u16: Array<u16>,
            #[zipc(capacity = 3)]
            pub a_i16: Array<i16>,
            #[zipc(capacity = 3)]
            pub a_u32: Array<u32>,
            #[zipc(capacity = 3)]
            pub a_i32: Array<i32>,
            #[zipc(capacity = 3)]
            pub a_u64: Array<u64>,
            #[zipc(capacity = 3)]
            pub a_i64: Array<i64>,
            #[zipc(capacity = 3)]
            pub a_f32: Array<f32>,
            #[zipc(capacity = 3)]
            pub a_f64: Array<f64>,
            #[zipc(initial = 4000000000)]
            pub c_u32: Atomic<u32>,
            #[zipc(initial = -7)]
            pub c_i32: Atomic<i32>,
            #[zipc(initial = 1234567890123)]
            pub c_u64: Atomic<u64>,
            #[zipc(initial = -9000000000)]
            pub c_i64: Atomic<i64>,
        }
    }
}

use generated::all_kinds as gen_all;

/// The same bytes as another type of the same layout.
fn convert<A: IntoBytes + Immutable, B: FromBytes>(a: A) -> B {
    B::read_from_bytes(a.as_bytes()).expect("same size")
}

fn job(i: u64) -> hand::Job {
    hand::Job { id: i, cost: i as f32 * 0.5, worker: (i % 7) as u16, flags: 0x8000 | i as u16 }
}

/// `hand` and the generated declaration of schema `stem` have identical layouts and sizes, and
/// both equal the TOML model's.
fn assert_same_declaration(stem: &str, hand: (zipc::layout::SegmentLayout<'static>, u64)) {
    let side = schemas::rust_side(stem).unwrap();
    let differences = schemas::layout_differences(&hand.0, &side.layout);
    assert!(differences.is_empty(), "{stem}: hand-written vs generated:\n{}", differences.join("\n"));
    assert_eq!(hand.1, side.size, "{stem}: SIZE");
    let arena = Arena::new();
    let root = zipc_tests::workspace_root();
    let file = [format!("schemas/{stem}.toml"), format!("schemas/fixtures/{stem}.toml")]
        .into_iter()
        .map(|f| root.join(f))
        .find(|f| f.is_file())
        .unwrap_or_else(|| panic!("{stem}: no schemas/{stem}.toml nor schemas/fixtures/{stem}.toml"));
    let schema = Schema::load(&file, &arena).unwrap();
    let differences = schemas::layout_differences(&hand.0, &schema.layout);
    assert!(differences.is_empty(), "{stem}: hand-written vs TOML:\n{}", differences.join("\n"));
    assert_eq!(hand.1, schema.size, "{stem}: SIZE vs the TOML model");
    // Element fingerprints, as the segment stores them.
    for (h, g) in hand.0.structures.iter().zip(side.layout.structures) {
        let fp = |s: &zipc::layout::StructureLayout<'_>| s.elem.as_ref().map(zipc::layout::fingerprint);
        assert_eq!(fp(h), fp(g), "{stem}: {}", h.name);
    }
}

#[test]
fn all_kinds_declarations_are_identical() {
    assert_same_declaration("all_kinds", (hand::AllKinds::LAYOUT, hand::AllKinds::SIZE));
    assert_eq!(hand::AllKinds::NAME, gen_all::AllKinds::NAME);
}

#[test]
fn task_scheduler_declarations_are_identical() {
    assert_same_declaration("task_scheduler", (hand::TaskScheduler::LAYOUT, hand::TaskScheduler::SIZE));
}

#[test]
fn sensor_pipeline_declarations_are_identical() {
    assert_same_declaration("sensor_pipeline", (hand::SensorPipeline::LAYOUT, hand::SensorPipeline::SIZE));
}

#[test]
fn game_server_declarations_are_identical() {
    assert_same_declaration(
        "game_server",
        (hand::game_server::GameServer::LAYOUT, hand::game_server::GameServer::SIZE),
    );
}

#[test]
fn particle_sim_declarations_are_identical() {
    assert_same_declaration(
        "particle_sim",
        (hand::particle_sim::ParticleSim::LAYOUT, hand::particle_sim::ParticleSim::SIZE),
    );
}

#[test]
fn producer_consumer_declarations_are_identical() {
    assert_same_declaration(
        "producer_consumer",
        (hand::producer_consumer::ProducerConsumer::LAYOUT, hand::producer_consumer::ProducerConsumer::SIZE),
    );
}

#[test]
fn telemetry_declarations_are_identical() {
    assert_same_declaration("telemetry", (hand::telemetry::Telemetry::LAYOUT, hand::telemetry::Telemetry::SIZE));
}

#[test]
fn arrays_declarations_are_identical() {
    assert_same_declaration("arrays", (hand::arrays::Arrays::LAYOUT, hand::arrays::Arrays::SIZE));
}

#[test]
fn explicit_padding_declarations_are_identical() {
    assert_same_declaration(
        "explicit_padding",
        (hand::explicit_padding::ExplicitPadding::LAYOUT, hand::explicit_padding::ExplicitPadding::SIZE),
    );
}

#[test]
fn full_table_declarations_are_identical() {
    assert_same_declaration("full_table", (hand::full_table::FullTable::LAYOUT, hand::full_table::FullTable::SIZE));
}

#[test]
fn nested_declarations_are_identical() {
    assert_same_declaration("nested", (hand::nested::Nested::LAYOUT, hand::nested::Nested::SIZE));
}

#[test]
fn primitives_declarations_are_identical() {
    assert_same_declaration("primitives", (hand::primitives::Primitives::LAYOUT, hand::primitives::Primitives::SIZE));
}

/// The schemas that have a hand-written declaration above, each with its test.
const COVERED: &[&str] = &[
    "all_kinds",
    "arrays",
    "explicit_padding",
    "full_table",
    "game_server",
    "nested",
    "particle_sim",
    "primitives",
    "producer_consumer",
    "sensor_pipeline",
    "task_scheduler",
    "telemetry",
];

/// Every schema file in `schemas/` and `schemas/fixtures/` (and every schema the build generated
/// Rust from) has a hand-written declaration compared above.
#[test]
fn every_schema_has_a_hand_written_declaration() {
    let root = zipc_tests::workspace_root();
    let mut on_disk = Vec::new();
    for dir in ["schemas", "schemas/fixtures"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                on_disk.push(path.file_stem().unwrap().to_string_lossy().into_owned());
            }
        }
    }
    on_disk.sort();
    assert_eq!(on_disk, COVERED, "schema files vs hand-written declarations");
    let mut generated: Vec<_> = schemas::rust_sides().iter().map(|s| s.stem).collect();
    generated.sort();
    assert_eq!(generated, COVERED, "generated schemas vs hand-written declarations");
}

/// The other two schemas, in this process: created by the generated struct, opened by the
/// hand-written one (and the other way round), values passing between their handles.
#[test]
fn task_scheduler_and_sensor_pipeline_open_across_declarations() {
    use generated::sensor_pipeline as gs;
    use generated::task_scheduler as gt;
    let name = ShmName::new("twin-tasks");
    let g = gt::TaskScheduler::create(&name).unwrap();
    let h = hand::TaskScheduler::open(&name).expect("the hand-written declaration opens the generated segment");
    let mut task = hand::Task { task_id: 9, kind: 2, _pad12: 0, parameters: [0; 256] };
    task.parameters[255] = 0xAB;
    assert!(h.tasks.try_push(task).unwrap());
    let got: gt::Task = g.tasks.try_pop().unwrap().expect("the task crosses declarations");
    assert_eq!((got.task_id, got.kind, got.parameters[255]), (9, 2, 0xAB));
    assert_eq!((h.start.participants(), h.finished.count(), h.shutdown.mode()), (5, 4, ResetMode::Manual));
    assert_eq!(g.ready.count_down(1), 3);
    assert_eq!(h.ready.count(), 3, "a count-down through one declaration is seen through the other");
    g.workers_ready.store(4);
    assert_eq!(h.workers_ready.load(), 4);
    let mut result = hand::TaskResult { task_id: 9, worker_id: 3, success: 1, output: [0; 1024] };
    result.output[1023] = 0xCD;
    assert!(h.results.try_push(result).unwrap());
    let got: gt::TaskResult = g.results.consumer().unwrap().try_pop().unwrap().expect("the result crosses");
    assert_eq!((got.task_id, got.worker_id, got.success, got.output[1023]), (9, 3, 1, 0xCD));
    drop((g, h));

    let name = ShmName::new("twin-sensors");
    let h = hand::SensorPipeline::create(&name).unwrap();
    let g = gs::SensorPipeline::open(&name).expect("the generated declaration opens the hand-written segment");
    assert_eq!((g.readings.mode(), g.processed.mode()), (RingMode::Overwrite, RingMode::Lossless));
    let reading = hand::SensorReading { timestamp_ns: 5, values: [1.5; 8], status: 1, sensor_id: 7, _pad44: 0 };
    assert!(h.readings.producer().unwrap().try_push(reading));
    let got: gs::SensorReading = g.readings.consumer().unwrap().try_pop().expect("the reading crosses declarations");
    assert_eq!(got, convert(reading));
    let processed = gs::ProcessedData { timestamp_ns: 6, mean: 0.25, rms: 0.5, peak: [2.0; 8] };
    assert!(g.processed.producer().unwrap().try_push(processed));
    assert_eq!(h.processed.consumer().unwrap().try_pop(), Some(convert(processed)));
    h.total.store(10);
    h.dropped.store(1);
    assert_eq!((g.total.load(), g.dropped.load()), (10, 1));
}

/// The child: opens the parent's segment (made by the hand-written declaration) with the
/// generated one, checks what the parent put in every structure, and answers.
fn all_kinds_child(name: &str, pool_handle: u64) {
    let s = gen_all::AllKinds::open(name).expect("the generated declaration opens the hand-written segment");
    let j = |i| -> gen_all::Job { convert(job(i)) };
    assert_eq!(s.table.get(3), Some(j(3)));
    assert_eq!(s.counter.load(), -7, "the initial value the declaration gives");
    let mut inbox = s.inbox.consumer().unwrap();
    assert_eq!(
        (inbox.try_pop().unwrap(), inbox.try_pop().unwrap(), inbox.try_pop().unwrap()),
        (Some(11), Some(12), None)
    );
    assert_eq!(s.results.consumer().unwrap().try_pop().unwrap(), Some(j(20)));
    assert_eq!((s.jobs.try_pop().unwrap(), s.jobs.try_pop().unwrap()), (Some(j(30)), Some(j(31))));
    // The overwriting ring kept the newest 64 of 70 and counts the 6 it lost.
    assert_eq!(s.log.mode(), RingMode::Overwrite);
    let mut log = s.log.consumer().unwrap();
    let mut seen = Vec::new();
    while let Some(v) = log.try_pop() {
        seen.push(v.id);
    }
    assert_eq!(seen, (106..170).collect::<Vec<_>>());
    assert_eq!((log.delivered(), log.missed()), (64, 6));
    let mut samples = s.samples.consumer().unwrap();
    assert_eq!((samples.try_pop(), samples.try_pop(), samples.try_pop()), (Some(1.5), Some(2.5), None));
    let h = zipc::Handle::from_bits(pool_handle);
    assert_eq!(s.objects.read(h).unwrap(), j(40));
    // The stack gives the newest first.
    assert_eq!((s.undo.capacity(), s.undo.len()), (6, 2));
    assert_eq!((s.undo.try_pop().unwrap(), s.undo.pop(None).unwrap()), (Some(j(71)), j(70)));
    assert_eq!(s.undo.try_pop().unwrap(), None);
    // The map finds the parent's entries by key, updates one and removes another; the set has
    // the parent's keys and not others.
    assert_eq!((s.sessions.capacity(), s.sessions.len()), (8, 2));
    assert_eq!(
        (s.sessions.get(&[1; 16]), s.sessions.get(&[2; 16]), s.sessions.get(&[3; 16])),
        (Some(j(80)), Some(j(81)), None)
    );
    assert_eq!(
        s.sessions
            .update(&[1; 16], |mut job| {
                job.cost = 9.5;
                job
            })
            .map(|job| job.cost),
        Some(9.5)
    );
    assert_eq!(s.sessions.remove(&[2; 16]), Some(j(81)));
    assert_eq!((s.visited.capacity(), s.visited.len()), (16, 3));
    assert!(s.visited.contains(&5) && s.visited.contains(&u64::MAX) && !s.visited.contains(&6));
    assert!(!s.visited.insert(5).unwrap(), "the key is already there");
    assert!(s.visited.insert(7).unwrap());
    assert_eq!((s.slots.count(), s.slots.max(), s.permits.count(), s.permits.max()), (2, Some(4), 3, None));
    assert_eq!((s.start.participants(), s.done.count(), s.done.initial()), (3, 1, 2));
    assert!(s.lock.try_lock().unwrap().is_some());
    // The condvar counts the parent's notification but has no memory of it: a wait times out.
    assert_eq!((s.changed.notifications(), s.changed.waiters()), (1, 0));
    let (g, notified) = s.changed.wait_timeout(s.lock.lock().unwrap(), Duration::from_millis(1)).unwrap();
    assert!(!notified && !g.owner_died());
    drop(g);
    // Nobody ran the once: this call runs it, and a second finds it done.
    assert!(!s.setup.is_completed());
    assert!(s.setup.call_once(|| {}).unwrap(), "nobody had run it");
    assert!(!s.setup.call_once(|| panic!("run twice")).unwrap());
    // The parent holds the rwlock for reading: readers share it, a writer waits.
    assert_eq!((s.config_lock.max_readers(), s.config_lock.readers()), (8, 1));
    assert!(!s.config_lock.try_read().expect("readers share it").writer_died());
    assert!(s.config_lock.try_write().is_none(), "the parent reads");
    assert!(matches!(s.config_lock.write_timeout(Duration::from_millis(1)), Err(zipc::Error::Timeout)));
    // The parent set the future: its value, and a second set changes nothing.
    assert!(s.plan.is_ready());
    assert_eq!((s.plan.try_get(), s.plan.wait(Some(Duration::ZERO)).unwrap()), (Some(j(90)), j(90)));
    assert!(!s.plan.set(j(91)).unwrap());
    assert_eq!(s.plan.get_or_init(|| panic!("set by the parent")).unwrap(), j(90));
    // The manual-reset event stays set through waits; the auto-reset one is consumed by one.
    assert_eq!((s.go.mode(), s.tick.mode()), (ResetMode::Manual, ResetMode::Auto));
    assert!(s.go.try_wait() && s.go.try_wait() && s.go.is_set());
    assert!(s.tick.try_wait() && !s.tick.try_wait());
    let mut b = s.rpc.side(Side::B).unwrap();
    assert_eq!(b.recv(Some(Duration::from_secs(10))).unwrap(), j(50));
    // A late subscriber gets the frames topic's history (the newest two of three) and nothing of
    // the lossy ticks (history 0), which counts all six published.
    assert_eq!((s.frames.history(), s.frames.max_subscribers(), s.frames.published()), (2, 3, 3));
    let mut frames = s.frames.subscriber().unwrap();
    assert_eq!((frames.receive_copy(None).unwrap(), frames.try_receive_copy()), (j(61), Some(j(62))));
    assert_eq!(frames.try_receive_copy(), None);
    assert_eq!((s.ticks.published(), s.ticks.subscriber().unwrap().try_receive_copy()), (6, None));
    // Answers.
    assert!(b.try_send(j(51)).unwrap());
    s.table.set(4, j(44)).unwrap();
    s.counter.store(200);
    s.go.reset();
    s.changed.notify_all();
}

/// Every kind across two processes and two declarations: the parent creates `all_kinds` with
/// the hand-written struct and fills each structure; a child opens it with the struct generated
/// from the TOML, finds everything (including the overwrite ring's and manual-reset event's
/// behaviour, which their value-level flags select) and answers; the parent reads the answers.
#[test]
fn all_kinds_across_processes_and_declarations() {
    if let Some(args) = child_args("all_kinds_across_processes_and_declarations") {
        return all_kinds_child(&args[0], args[1].parse().unwrap());
    }
    let name = ShmName::new("twin-all");
    let s = hand::AllKinds::create(&name).unwrap();
    s.table.set(3, job(3)).unwrap();
    let mut inbox = s.inbox.producer().unwrap();
    assert!(inbox.try_push(11).unwrap() && inbox.try_push(12).unwrap());
    drop(inbox);
    assert!(s.results.try_push(job(20)).unwrap());
    assert!(s.jobs.try_push(job(30)).unwrap() && s.jobs.try_push(job(31)).unwrap());
    let mut log = s.log.producer().unwrap();
    for i in 100..170 {
        assert!(log.try_push(job(i)), "an overwriting ring always takes the element");
    }
    drop(log);
    let mut samples = s.samples.producer().unwrap();
    assert!(samples.try_push(1.5) && samples.try_push(2.5));
    drop(samples);
    let h = s.objects.try_acquire().unwrap().unwrap();
    s.objects.write(h, job(40)).unwrap();
    assert!(s.undo.try_push(job(70)).unwrap() && s.undo.try_push(job(71)).unwrap());
    assert_eq!(
        (s.sessions.insert([1; 16], job(80)).unwrap(), s.sessions.insert([2; 16], job(81)).unwrap()),
        (None, None)
    );
    for key in [5, 0, u64::MAX] {
        assert!(s.visited.insert(key).unwrap());
    }
    s.done.count_down(1);
    s.tick.set();
    s.changed.notify_one(); // nobody waits: only counted
    assert!(!s.setup.is_completed(), "left for the child to run");
    let reading = s.config_lock.read().unwrap();
    assert!(s.plan.try_get().is_none());
    assert!(s.plan.set(job(90)).unwrap());
    let mut a = s.rpc.side(Side::A).unwrap();
    assert!(a.try_send(job(50)).unwrap());
    let mut frames = s.frames.publisher().unwrap();
    for i in 60..63 {
        frames.send_copy(&job(i), None).unwrap();
    }
    let mut ticks = s.ticks.publisher().unwrap();
    for i in 0..6 {
        ticks.send_copy(&i, None).unwrap();
    }

    assert_eq!((s.slots.count(), s.permits.count(), s.start.participants()), (2, 3, 3));

    let mut child = spawn_role("all_kinds_across_processes_and_declarations", &[&name, &h.to_bits().to_string()]);
    assert!(wait_bounded(&mut child, Duration::from_secs(60)), "the child found everything (see its output)");

    assert_eq!(a.try_recv().unwrap(), Some(job(51)));
    assert_eq!(s.table.get(4), Some(job(44)));
    assert_eq!(s.counter.load(), 200);
    assert_eq!(s.sessions.get(&[1; 16]), Some(hand::Job { cost: 9.5, ..job(80) }), "the child's update");
    assert_eq!((s.sessions.get(&[2; 16]), s.sessions.len()), (None, 1), "the child's removal");
    let mut visited = s.visited.keys();
    visited.sort_unstable();
    assert_eq!(visited, [0, 5, 7, u64::MAX]);
    assert!(!s.go.is_set(), "the child reset the manual-reset event");
    assert!(s.lock.try_lock().unwrap().is_some(), "the child's lock was released when its guard dropped");
    assert_eq!((s.changed.notifications(), s.changed.waiters()), (2, 0), "the child's notification");
    assert!(s.setup.is_completed(), "the child ran the once");
    assert!(!s.setup.call_once(|| panic!("run twice")).unwrap());
    assert_eq!(s.setup.takeovers(), 0);
    assert_eq!(s.config_lock.readers(), 1, "the child's read lock was released when its guard dropped");
    drop(reading);
    assert!(!s.config_lock.try_write().expect("nobody reads now").writer_died());
    assert_eq!((s.config_lock.writer_deaths(), s.config_lock.reader_deaths()), (0, 0));
    assert_eq!((s.plan.try_get(), s.plan.takeovers()), (Some(job(90)), 0), "the child's set changed nothing");
}

/// The comparison above sees small differences: a declaration that differs from the TOML only
/// in a structure's docs and an event's reset mode is reported with exactly those two.
#[test]
fn a_near_twin_is_told_apart() {
    #[allow(dead_code)] // only its LAYOUT is compared
    mod near {
        use super::hand::{Task, TaskResult};
        use zipc::{Atomic, Barrier, Event, Latch, Mpmc, Mpsc, Queue, ShmSegment};

        #[derive(ShmSegment)]
        #[zipc(name = "/task_scheduler", max_entries = 8)]
        pub struct TaskScheduler {
            #[zipc(capacity = 1024)]
            pub tasks: Queue<Task, Mpmc>,
            #[zipc(capacity = 1024)]
            pub results: Queue<TaskResult, Mpsc>,
            /// Each worker counts down once when it has attached: the master waits for all four.
            #[zipc(count = 4)]
            pub ready: Latch,
            /// Everyone meets here.
            #[zipc(participants = 5)]
            pub start: Barrier,
            /// Each worker counts down once when it has drained the queue.
            #[zipc(count = 4)]
            pub finished: Latch,
            pub workers_ready: Atomic<u32>,
            pub shutdown: Event,
        }
    }
    let side = schemas::rust_side("task_scheduler").unwrap();
    let differences = schemas::layout_differences(&near::TaskScheduler::LAYOUT, &side.layout);
    assert_eq!(differences.len(), 2, "{differences:#?}");
    assert!(differences[0].starts_with("structure #3 (start) doc"), "{differences:#?}");
    assert!(differences[1].starts_with("structure #6 (shutdown) flags: 0 != 1"), "{differences:#?}");
    assert_eq!(near::TaskScheduler::SIZE, side.size, "docs and flags do not change the size");
}
