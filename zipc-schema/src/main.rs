//! The `zipc-schema` command line: check TOML schemas, generate Rust, C and Python from them, and
//! print a segment's memory map; inspect, list and remove live segments.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use zipc::shm_dir::{self, Removed};
use zipc_schema::ops::{self, Plan};
use zipc_schema::{c, memory_map, python, rust, Arena, Diagnostics, Schema};

const ABOUT: &str =
    "Declare zipc shared-memory segments in TOML and generate Rust, C and Python that agree byte for byte.";

const LONG_ABOUT: &str = "\
Declare zipc shared-memory segments in TOML and generate Rust, C and Python that agree byte for byte.

A schema names a segment, its element types (structs of fixed-width fields) and its structures
(arrays, atomics, queues, ...). The format is documented in docs/SCHEMA.md; a small one:

    [segment]
    name = \"/telemetry\"

    [types.Reading]
    doc = \"One sample.\"
    fields = [
        { name = \"ts\",   type = \"u64\" },
        { name = \"vals\", type = \"[f32; 8]\" },
        { name = \"id\",   type = \"u32\" },
        { name = \"_pad\", type = \"u32\" },
    ]

    [[structures]]
    name = \"readings\"
    kind = \"array\"
    type = \"Reading\"
    capacity = 1024

Typical use:

    zipc-schema check schemas/*.toml                  # every problem, as file:line:column
    zipc-schema layout schemas/telemetry.toml         # where each structure lives
    zipc-schema gen schemas/telemetry.toml --out gen  # telemetry.rs, telemetry.h, telemetry.py

Live segments (in /dev/shm):

    zipc-schema list                                  # every segment, who uses it
    zipc-schema inspect /telemetry                    # header, structures, fill levels, owners
    zipc-schema rm --stale                            # remove segments nobody alive uses

Exit status: 0 on success, 1 if a schema is invalid, a file cannot be written, a segment cannot
be read or removed; 2 on command-line errors.";

#[derive(Parser)]
#[command(name = "zipc-schema", version, about = ABOUT, long_about = LONG_ABOUT)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate code from schemas: STEM.rs, STEM.h (+ zipc.h), STEM.py (+ zipc_runtime.py).
    #[command(long_about = "\
Generate code from schemas into DIR, one file per schema and language, named after the schema's
file stem:

  rust    STEM.rs   element types with #[derive(ShmType)] and the segment struct with
                    #[derive(ShmSegment)]; include it with zipc::include_schema!, or generate it
                    in build.rs with zipc_schema::Builder
  c       STEM.h    structs with static assertions on every size, offset and alignment,
                    constants, and typed inline wrappers (open, check, push/pop, ...);
                    plus zipc.h, the header of libzipc it includes (link with -lzipc:
                    cargo build --release -p libzipc; see docs/C.md)
  python  STEM.py   numpy dtypes asserted at import and open(name) returning the structures;
                    plus zipc_runtime.py, which loads libzipc with ctypes (numpy and libzipc)

Every schema is checked first; if any is invalid nothing is written and the exit status is 1.

Example:
  zipc-schema gen schemas/game_server.toml schemas/sensor_pipeline.toml --out gen --lang c,python")]
    Gen {
        /// Schema files (TOML).
        #[arg(required = true, value_name = "SCHEMA")]
        schemas: Vec<PathBuf>,
        /// Output directory (created if missing).
        #[arg(long, short, value_name = "DIR")]
        out: PathBuf,
        /// Languages to generate, comma-separated.
        #[arg(long, short, value_enum, value_delimiter = ',', default_values = ["rust", "c", "python"])]
        lang: Vec<Lang>,
    },
    /// Check schemas and report every problem as file:line:column with a suggestion.
    #[command(long_about = "\
Check schemas: parse them, resolve every type and structure into zipc's layout model, and report
every problem at once as `file:line:column: error: message` followed by a suggestion. Checks
include unknown types and kinds, recursive types, implicit padding (with the field that fills
it), names longer than 31 bytes, duplicates, more structures than max_entries, zero capacities,
unknown keys, wrong value types, and names that are not identifiers in Rust, C, C++ and Python.

Example:
  zipc-schema check schemas/*.toml")]
    Check {
        /// Schema files (TOML).
        #[arg(required = true, value_name = "SCHEMA")]
        schemas: Vec<PathBuf>,
    },
    /// Print the memory map of a schema's segment: offset, size, kind, element, name.
    #[command(long_about = "\
Print the memory map of the segment a schema declares, as zipc lays it out when every structure is
created in order: the ZeroIPC header and table, zipc's self-description, then each structure's
region (with alignment padding and its type record). Offsets are from the start of the segment.

Example:
  zipc-schema layout schemas/game_server.toml")]
    Layout {
        /// Schema file (TOML).
        #[arg(value_name = "SCHEMA")]
        schema: PathBuf,
    },
    /// Show a live segment: header, every structure with its live state, attached processes.
    #[command(long_about = "\
Show a live segment: its header and size, zipc's self-description (creator, table lock), the
processes attached to it (with liveness), and every structure with kind, element type,
capacity, region and live state: queue depth and ring occupancy as fill bars, pool usage and
who holds the objects, semaphore counts, barrier generation, latch count, event state, mutex
holder (and whether it is alive), atomic values, array lengths. Impossible values found in the
live state are shown as problems. A segment made by ZeroIPC is shown untyped (name, offset,
size).

The segment is opened without attaching, so inspecting it does not make it look used. Values are
read once, while other processes may change them.

SEGMENT is a name as given to zipc (\"/telemetry\"); \"telemetry\" and \"/dev/shm/telemetry\"
work too. With --json the same facts are printed as one JSON object whose fields are documented
in the zipc::inspect module (docs/OPERATIONS.md).

Examples:
  zipc-schema inspect /telemetry
  zipc-schema inspect telemetry --json | jq '.entries[] | {name, len: .state.len}'")]
    Inspect {
        /// The segment (/NAME, NAME or /dev/shm/NAME).
        #[arg(value_name = "SEGMENT")]
        segment: String,
        /// Print JSON instead of the report.
        #[arg(long)]
        json: bool,
    },
    /// List the zipc and ZeroIPC segments in /dev/shm, marking those no live process uses.
    #[command(long_about = "\
List the shared-memory segments in /dev/shm that zipc or ZeroIPC made, with size, number of
structures, the processes attached (from the segment's process registry: alive or dead), and a
status. UNUSED marks a zipc segment no live process is attached to, and leftovers of segment
creations whose process died: `zipc-schema rm --stale` removes exactly those. ZeroIPC segments
keep no registry, so their usage is unknown. Segments that fail validation are shown as corrupt,
with the reason; other objects in /dev/shm (other programs' shared memory, POSIX semaphores) are
only counted.

Readers generated for C and Python, and inspection tools, do not attach: they do not count as
users.

PATTERN restricts the list to matching names (shell wildcards * and ?; quote them).

Examples:
  zipc-schema list
  zipc-schema list '/telemetry-*'")]
    List {
        /// Only names matching one of these patterns (* and ? wildcards).
        #[arg(value_name = "PATTERN")]
        patterns: Vec<String>,
    },
    /// Remove segments: named ones, or (--stale) every one that no live process uses.
    #[command(long_about = "\
Remove segments from /dev/shm.

  rm SEGMENT...        removes each named segment, but refuses one that a live process is
                       attached to (exit status 1; --force removes it anyway: processes that have
                       it mapped keep using it, new ones no longer find it). A ZeroIPC segment
                       keeps no registry and is removed when named. Something that is not a valid
                       segment is refused unless --force.
  rm --stale [PATTERN...]
                       removes every zipc segment that no live process is attached to (the
                       processes recorded in its registry have all died or detached), and the
                       leftovers of segment creations whose process died (/.zipc-tmp-PID-...).
                       Segments in use are never removed. ZeroIPC segments (usage unknown) and
                       corrupt ones are kept unless --force. PATTERN restricts it to matching
                       names (* and ? wildcards; quote them).

The check and the removal are made safe against a process attaching at the same moment: the
registry is checked again after the name is removed, and the name is restored if a live process
attached meanwhile.

Examples:
  zipc-schema rm /telemetry
  zipc-schema rm --stale --dry-run
  zipc-schema rm --stale '/myapp-*'")]
    Rm {
        /// Segments to remove; with --stale, patterns restricting what is considered.
        #[arg(value_name = "SEGMENT", required_unless_present = "stale")]
        segments: Vec<String>,
        /// Remove every segment that no live process uses.
        #[arg(long)]
        stale: bool,
        /// Also remove segments in use (named ones only), ZeroIPC and corrupt segments.
        #[arg(long, short)]
        force: bool,
        /// Only say what would be removed.
        #[arg(long, short = 'n')]
        dry_run: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Lang {
    Rust,
    C,
    Python,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Gen { schemas, out, lang } => gen(&schemas, &out, &lang),
        Command::Check { schemas } => check(&schemas),
        Command::Layout { schema } => layout(&schema),
        Command::Inspect { segment, json } => inspect(&segment, json),
        Command::List { patterns } => list(&patterns),
        Command::Rm { segments, stale: true, force, dry_run } => rm_stale(&segments, force, dry_run),
        Command::Rm { segments, stale: false, force, dry_run } => rm(&segments, force, dry_run),
    }
}

/// Loads every schema, printing all problems of all of them; `None` if any is invalid.
fn load_all<'a>(paths: &[PathBuf], arena: &'a Arena) -> Option<Vec<Schema<'a>>> {
    let mut ok = Vec::new();
    let mut problems = Vec::new();
    for p in paths {
        match Schema::load(p, arena) {
            Ok(s) => ok.push(s),
            Err(d) => problems.extend(d.0),
        }
    }
    if problems.is_empty() {
        Some(ok)
    } else {
        let n = problems.len();
        eprintln!("{}", Diagnostics(problems));
        eprintln!("{n} error{} found", if n == 1 { "" } else { "s" });
        None
    }
}

fn check(paths: &[PathBuf]) -> ExitCode {
    let arena = Arena::new();
    match load_all(paths, &arena) {
        Some(schemas) => {
            for s in &schemas {
                println!(
                    "{}: ok ({} types, {} structures, {} bytes)",
                    s.file,
                    s.types.len(),
                    s.layout.structures.len(),
                    s.size
                );
            }
            ExitCode::SUCCESS
        }
        None => ExitCode::from(1),
    }
}

fn layout(path: &Path) -> ExitCode {
    let arena = Arena::new();
    match load_all(std::slice::from_ref(&path.to_path_buf()), &arena) {
        Some(schemas) => {
            print!("{}", memory_map::render(&schemas[0]));
            ExitCode::SUCCESS
        }
        None => ExitCode::from(1),
    }
}

fn gen(paths: &[PathBuf], out: &Path, langs: &[Lang]) -> ExitCode {
    let arena = Arena::new();
    let Some(schemas) = load_all(paths, &arena) else {
        return ExitCode::from(1);
    };
    for (i, s) in schemas.iter().enumerate() {
        if let Some(other) = schemas[..i].iter().find(|o| o.stem == s.stem) {
            eprintln!(
                "error: {} and {} both generate {}.*: rename one of them (the file stem names the outputs)",
                other.file, s.file, s.stem
            );
            return ExitCode::from(1);
        }
    }
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    if langs.contains(&Lang::C) {
        files.push((out.join(c::RUNTIME_HEADER), c::runtime_header()));
    }
    if langs.contains(&Lang::Python) {
        files.push((out.join(python::RUNTIME_MODULE), python::runtime_module()));
    }
    for s in &schemas {
        for lang in langs {
            let (ext, text) = match lang {
                Lang::Rust => ("rs", rust::generate(s)),
                Lang::C => ("h", c::generate(s)),
                Lang::Python => ("py", python::generate(s)),
            };
            files.push((out.join(format!("{}.{ext}", s.stem)), text));
        }
    }
    if let Err(e) = std::fs::create_dir_all(out) {
        eprintln!("error: cannot create {}: {e}", out.display());
        return ExitCode::from(1);
    }
    for (path, text) in &files {
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(1);
        }
        println!("wrote {}", path.display());
    }
    ExitCode::SUCCESS
}

fn inspect(segment: &str, json: bool) -> ExitCode {
    match zipc::inspect::inspect(&ops::segment_name(segment)) {
        Ok(snapshot) if json => {
            println!("{}", snapshot.to_json());
            ExitCode::SUCCESS
        }
        Ok(snapshot) => {
            print!("{snapshot}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn list(patterns: &[String]) -> ExitCode {
    match shm_dir::list() {
        Ok(all) => {
            let shown: Vec<_> = all.into_iter().filter(|o| ops::selected(patterns, &o.name)).collect();
            print!("{}", ops::render_list(&shown));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn describe(removed: &Removed) -> String {
    match removed {
        Removed::Unused { dead: 0 } => "no process attached".to_owned(),
        Removed::Unused { dead } => format!("no live process attached ({dead} dead)"),
        Removed::Forced { pids } => format!("forced: still in use by pid {pids:?}"),
        Removed::UsageUnknown => "made by ZeroIPC, usage unknown".to_owned(),
        Removed::NotASegment(why) => format!("forced: not a valid segment ({why})"),
        Removed::Leftover => "leftover of an unfinished creation".to_owned(),
    }
}

fn rm(segments: &[String], force: bool, dry_run: bool) -> ExitCode {
    let mut failed = false;
    for arg in segments {
        let name = ops::segment_name(arg);
        if dry_run {
            match shm_dir::examine(&name) {
                Ok(obj) => match ops::plan_remove(&obj, force) {
                    Plan::Remove(why) => println!("would remove {name}: {why}"),
                    Plan::Keep(why) => println!("would keep {name}: {why}"),
                    Plan::Skip => println!("would keep {name}"),
                },
                Err(e) => {
                    eprintln!("error: {e}");
                    failed = true;
                }
            }
            continue;
        }
        match shm_dir::remove(&name, force) {
            Ok(how) => println!("removed {name} ({})", describe(&how)),
            Err(e @ (zipc::Error::Corrupt { .. } | zipc::Error::InUse { .. })) => {
                eprintln!("error: {e}\n  (--force removes it anyway)");
                failed = true;
            }
            Err(e) => {
                eprintln!("error: {e}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn rm_stale(patterns: &[String], force: bool, dry_run: bool) -> ExitCode {
    let all = match shm_dir::list() {
        Ok(all) => all,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let (mut removed, mut failed) = (0, false);
    for obj in all.iter().filter(|o| ops::selected(patterns, &o.name)) {
        match ops::plan_stale(obj, force) {
            Plan::Skip => {}
            Plan::Keep(why) => println!("kept {}: {why}", obj.name),
            Plan::Remove(why) if dry_run => {
                println!("would remove {}: {why}", obj.name);
                removed += 1;
            }
            // Never forced here: a zipc segment someone attached to since the listing is kept.
            Plan::Remove(why) => match shm_dir::remove(&obj.name, force && obj.in_use().is_none()) {
                Ok(_) => {
                    println!("removed {}: {why}", obj.name);
                    removed += 1;
                }
                Err(zipc::Error::InUse { pids, .. }) => println!("kept {}: in use by pid {pids:?} now", obj.name),
                Err(zipc::Error::NotFound { .. }) => {} // removed by someone else meanwhile
                Err(e) => {
                    eprintln!("error: {e}");
                    failed = true;
                }
            },
        }
    }
    if removed == 0 {
        println!("nothing {}removed: no stale segments", if dry_run { "would be " } else { "" });
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
