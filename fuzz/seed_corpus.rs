//! Writes the seed inputs of the `segment` fuzz target: real segments holding every kind of
//! structure in several states, and one made to ZeroIPC's rules (`zipc::fuzzing::seeds`).
//!
//! Usage: cargo run --manifest-path fuzz/Cargo.toml --example seed_corpus -- fuzz/seeds

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "seeds".to_owned());
    std::fs::create_dir_all(&dir).expect("creating the seed directory");
    for (i, seed) in zipc::fuzzing::seeds().expect("building the seed segments").iter().enumerate() {
        let path = std::path::Path::new(&dir).join(format!("seed-{i}.bin"));
        std::fs::write(&path, seed).expect("writing a seed");
        println!("wrote {} ({} bytes)", path.display(), seed.len());
    }
}
