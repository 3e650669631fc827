//! [`Builder`]: generates Rust from TOML schemas in a build script, like prost-build.

use std::path::{Path, PathBuf};

use crate::{rust, Arena, Schema};

/// Turns TOML schemas into Rust modules at build time.
///
/// In `build.rs`:
///
/// ```no_run
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     zipc_schema::Builder::new().schema("schemas/telemetry.toml").compile()?;
///     Ok(())
/// }
/// ```
///
/// and in the crate, `zipc::include_schema!("telemetry");` (the schema's file stem) brings in
/// the generated types and segment struct. The schemas become `cargo:rerun-if-changed` inputs;
/// an invalid schema fails the build with every problem listed as `file:line:column`.
#[derive(Clone, Debug, Default)]
pub struct Builder {
    schemas: Vec<PathBuf>,
    out_dir: Option<PathBuf>,
    emit_rerun: bool,
}

/// Why [`Builder::compile`] failed.
#[derive(Debug)]
pub enum BuildError {
    /// A schema is invalid; the message lists every problem.
    Invalid(crate::Diagnostics),
    /// Neither [`Builder::out_dir`] nor the `OUT_DIR` environment variable is set.
    NoOutDir,
    /// Writing a generated file failed.
    Io(PathBuf, std::io::Error),
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::Invalid(d) => write!(f, "invalid zipc schema:\n{d}"),
            BuildError::NoOutDir => {
                f.write_str("no output directory: call out_dir(...) or run from a build script (OUT_DIR)")
            }
            BuildError::Io(p, e) => write!(f, "cannot write {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for BuildError {}

impl Builder {
    /// A builder with no schemas, writing to `OUT_DIR` and emitting `cargo:rerun-if-changed`.
    pub fn new() -> Self {
        Builder { schemas: Vec::new(), out_dir: None, emit_rerun: true }
    }

    /// Adds a schema file.
    pub fn schema(mut self, path: impl AsRef<Path>) -> Self {
        self.schemas.push(path.as_ref().to_path_buf());
        self
    }

    /// Adds several schema files.
    pub fn schemas<P: AsRef<Path>>(mut self, paths: impl IntoIterator<Item = P>) -> Self {
        self.schemas.extend(paths.into_iter().map(|p| p.as_ref().to_path_buf()));
        self
    }

    /// Writes to `dir` instead of `OUT_DIR`.
    pub fn out_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.out_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Whether to print `cargo:rerun-if-changed=SCHEMA` lines (default true; turn off outside
    /// build scripts).
    pub fn emit_rerun_if_changed(mut self, yes: bool) -> Self {
        self.emit_rerun = yes;
        self
    }

    /// Checks every schema, then writes `STEM.rs` for each. Returns the files written.
    pub fn compile(self) -> Result<Vec<PathBuf>, BuildError> {
        let out = match self.out_dir.clone().or_else(|| std::env::var_os("OUT_DIR").map(PathBuf::from)) {
            Some(d) => d,
            None => return Err(BuildError::NoOutDir),
        };
        let arena = Arena::new();
        let mut problems = Vec::new();
        let mut schemas = Vec::new();
        for path in &self.schemas {
            if self.emit_rerun {
                println!("cargo:rerun-if-changed={}", path.display());
            }
            match Schema::load(path, &arena) {
                Ok(s) => schemas.push(s),
                Err(d) => problems.extend(d.0),
            }
        }
        if !problems.is_empty() {
            return Err(BuildError::Invalid(crate::Diagnostics(problems)));
        }
        std::fs::create_dir_all(&out).map_err(|e| BuildError::Io(out.clone(), e))?;
        let mut written = Vec::new();
        for s in &schemas {
            let file = out.join(format!("{}.rs", s.stem));
            std::fs::write(&file, rust::generate(s)).map_err(|e| BuildError::Io(file.clone(), e))?;
            written.push(file);
        }
        Ok(written)
    }
}
