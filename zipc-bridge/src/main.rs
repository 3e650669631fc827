//! `zipc-bridge`: forwards a segment's structures to and from other hosts over Zenoh.
//!
//! ```text
//! zipc-bridge run --segment /hostA --prefix lab --export jobs --listen tcp/0.0.0.0:7447
//! zipc-bridge run --schema sensors.toml      # the schema's [bridge] table says what to forward
//! zipc-bridge run --segment /hostB --prefix lab --import jobs --connect tcp/hostA:7447 --stats-every 5
//! zipc-bridge status /hostB
//! ```
//!
//! `run` forwards until SIGINT or SIGTERM, then stops cleanly (prints the final books); SIGUSR1
//! prints a status line per stream at any time, `--stats-every` every so many seconds. `status`
//! reads the books a bridge keeps in `/dev/shm`, running or not.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use nix::sys::signal::{SigSet, Signal};
use zipc_bridge::books::{books_name, Books, C};
use zipc_bridge::{Bridge, BridgeConfig, Mode};

#[derive(Parser)]
#[command(name = "zipc-bridge", version, about = "Forward zipc queues, rings and topics between hosts over Zenoh")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Bridge a segment's structures until SIGINT or SIGTERM.
    Run(RunArgs),
    /// Print the books of every stream bridged from or into SEGMENT.
    Status {
        /// The segment, e.g. /hostB.
        segment: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Peer,
    Client,
}

#[derive(clap::Args)]
struct RunArgs {
    /// The segment's TOML schema: its [bridge] table says what to forward (added to the flags
    /// below), and every bridged structure is checked against its declaration.
    #[arg(long, value_name = "FILE")]
    schema: Option<std::path::PathBuf>,
    /// The local segment (created by the local processes); default: the schema's segment name.
    #[arg(long)]
    segment: Option<String>,
    /// Key prefix: structure NAME travels on PREFIX/NAME (default: the schema's, or "zipc").
    #[arg(long)]
    prefix: Option<String>,
    /// A structure to read here and publish (repeatable).
    #[arg(long = "export", value_name = "NAME")]
    exports: Vec<String>,
    /// A structure to write here from what is published (repeatable).
    #[arg(long = "import", value_name = "NAME")]
    imports: Vec<String>,
    /// A Zenoh endpoint to listen on, e.g. tcp/0.0.0.0:7447 (repeatable).
    #[arg(long, value_name = "ENDPOINT")]
    listen: Vec<String>,
    /// A Zenoh endpoint to connect to, e.g. tcp/10.0.0.1:7447 (repeatable; retried until it answers).
    #[arg(long, value_name = "ENDPOINT")]
    connect: Vec<String>,
    /// Peer (the default), or client of a Zenoh router.
    #[arg(long, value_enum)]
    mode: Option<ModeArg>,
    /// Also find peers by Zenoh's multicast scouting.
    #[arg(long)]
    multicast_scouting: bool,
    /// Largest payload of one Zenoh sample.
    #[arg(long, default_value_t = 64 << 10)]
    max_batch_bytes: usize,
    /// Most bytes of a lossless stream in flight and kept for sending again.
    #[arg(long, default_value_t = 4 << 20)]
    max_unacked_bytes: usize,
    /// Print a status line per stream every SECONDS.
    #[arg(long, value_name = "SECONDS")]
    stats_every: Option<f64>,
    /// Wait up to SECONDS for the segment to be created.
    #[arg(long, value_name = "SECONDS")]
    wait_for_segment: Option<f64>,
}

fn print_status(bridge: &Bridge) {
    for s in bridge.status() {
        println!("zipc-bridge: {s}");
    }
}

fn seconds(what: &str, s: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(s).map_err(|_| format!("--{what} {s}: give a number of seconds ≥ 0"))
}

fn run(args: RunArgs) -> Result<(), String> {
    let arena = zipc_schema::Arena::new();
    let schema = match &args.schema {
        Some(path) => Some(zipc_schema::Schema::load(path, &arena).map_err(|d| d.to_string())?),
        None => None,
    };
    let segment = match (&args.segment, schema.as_ref().and_then(|s| s.layout.name)) {
        (Some(s), _) => s.clone(),
        (None, Some(s)) => s.to_owned(),
        (None, None) => return Err("name the segment: --segment NAME (or a schema whose [segment] has a name)".into()),
    };
    let mut config = BridgeConfig::new(&segment, args.prefix.as_deref().unwrap_or("zipc"));
    config.exports = args.exports;
    config.imports = args.imports;
    config.listen = args.listen;
    config.connect = args.connect;
    config.mode = match args.mode {
        Some(ModeArg::Client) => Mode::Client,
        _ => Mode::Peer,
    };
    if let Some(section) = schema.as_ref().and_then(|s| s.bridge.as_ref()) {
        config = config.with_schema(section, args.prefix.is_some(), args.mode.is_some());
    }
    config.multicast_scouting = args.multicast_scouting;
    config.max_batch_bytes = args.max_batch_bytes;
    config.max_unacked_bytes = args.max_unacked_bytes;
    config.wait_for_segment = args.wait_for_segment.map(|s| seconds("wait-for-segment", s)).transpose()?;
    let every = args.stats_every.map(|s| seconds("stats-every", s)).transpose()?;

    // Signals are taken by this thread with sigwait: blocked before any other thread (Zenoh's
    // among them) exists, so that every thread inherits the mask.
    let mut signals = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGUSR1] {
        signals.add(s);
    }
    signals.thread_block().map_err(|e| format!("cannot block signals: {e}"))?;

    if let Some(schema) = &schema {
        config.validate().map_err(|e| e.to_string())?;
        let seg = zipc::Segment::open(&config.segment).map_err(|e| e.to_string())?;
        config.check_schema(&seg, schema).map_err(|e| e.to_string())?;
    }
    let bridge = Arc::new(Mutex::new(Some(Bridge::start(config).map_err(|e| e.to_string())?)));
    println!("zipc-bridge: running on {segment} (pid {})", std::process::id());
    if let Some(every) = every {
        let b = Arc::clone(&bridge);
        std::thread::spawn(move || loop {
            std::thread::sleep(every);
            match &*b.lock().unwrap_or_else(|e| e.into_inner()) {
                Some(bridge) => print_status(bridge),
                None => return,
            }
        });
    }
    loop {
        match signals.wait() {
            Ok(Signal::SIGUSR1) => {
                if let Some(b) = &*bridge.lock().unwrap_or_else(|e| e.into_inner()) {
                    print_status(b);
                }
            }
            Ok(signal) => {
                println!("zipc-bridge: {signal}: stopping");
                break;
            }
            Err(e) => return Err(format!("waiting for signals: {e}")),
        }
    }
    let bridge = bridge.lock().unwrap_or_else(|e| e.into_inner()).take().expect("started");
    print_status(&bridge);
    bridge.stop().map_err(|e| e.to_string())
}

fn status(segment: &str) -> Result<(), String> {
    zipc::check_segment_name(segment).map_err(|e| e.to_string())?;
    let prefix = books_name(segment, "");
    let mut found = 0;
    let mut listed = zipc::shm_dir::list().map_err(|e| e.to_string())?;
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    for obj in listed {
        let Some(stream) = obj.name.strip_prefix(&prefix) else { continue };
        let books = Books::open(&obj.name).map_err(|e| format!("{}: {e}", obj.name))?;
        found += 1;
        let role = books.role();
        let mut line = format!("{} {stream}:", role.map_or("unknown", |r| r.label()));
        for (name, value) in [
            ("elements", books.get(C::Elements)),
            ("bytes", books.get(C::Bytes)),
            ("batches", books.get(C::Batches)),
            ("dropped", role.map_or(0, |r| books.dropped(r))),
            ("repeated", books.get(C::Repeated)),
            ("refused", books.get(C::Refused)),
            ("resent", books.get(C::Resent)),
        ] {
            line.push_str(&format!(" {name}={value}"));
        }
        println!("{line}");
    }
    if found == 0 {
        return Err(format!("no bridge has kept books for {segment} (no {prefix}* in /dev/shm)"));
    }
    Ok(())
}

fn main() -> ExitCode {
    // A bridge's threads go to sleep at every lull in a stream, and with membarrier registration
    // each sleep sends an IPI to every CPU running a registered process — its own Zenoh threads
    // among them, in the middle of moving the data. Without registration its fast paths take a
    // real fence instead, which costs it nothing measurable next to the network and spares the
    // IPIs (docs/BRIDGE.md, "Performance"). Set before any thread or queue exists; an explicit
    // ZIPC_NO_MEMBARRIER in the environment wins.
    if std::env::var_os("ZIPC_NO_MEMBARRIER").is_none() {
        std::env::set_var("ZIPC_NO_MEMBARRIER", "1");
    }
    let cli = Cli::parse();
    let r = match cli.command {
        Command::Run(args) => run(args),
        Command::Status { segment } => status(&segment),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zipc-bridge: {e}");
            ExitCode::FAILURE
        }
    }
}
