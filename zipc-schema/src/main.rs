//! The `zipc-schema` command line: check TOML schemas, generate Rust, C and Python from them, and
//! print a segment's memory map.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
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

Exit status: 0 on success, 1 if a schema is invalid (or a file cannot be written), 2 on
command-line errors.";

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
unknown keys, wrong value types, names that are not identifiers in Rust, C, C++ and Python, and
kinds this version of zipc does not implement yet.

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
    // Later: inspect SEGMENT [--json], list, rm SEGMENT (live segments).
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
