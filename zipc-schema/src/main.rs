//! The `zipc-schema` command line.

fn main() {
    eprintln!(
        "zipc-schema: no verbs are implemented yet.\n\
         Planned (see docs/ARCHITECTURE.md): gen, check, layout, inspect, list, rm."
    );
    std::process::exit(2);
}
