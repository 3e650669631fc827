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
    /// Two schemas have the same file stem, so both would be `STEM.rs`.
    DuplicateStem {
        /// The stem.
        stem: String,
        /// The schemas.
        files: (PathBuf, PathBuf),
    },
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
            BuildError::DuplicateStem { stem, files } => write!(
                f,
                "{} and {} would both be {stem}.rs (a schema's file stem names its module): rename one",
                files.0.display(),
                files.1.display()
            ),
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
        for (i, s) in schemas.iter().enumerate() {
            if let Some(first) = schemas[..i].iter().find(|f| f.stem == s.stem) {
                return Err(BuildError::DuplicateStem {
                    stem: s.stem.clone(),
                    files: (PathBuf::from(&first.file), PathBuf::from(&s.file)),
                });
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system's temporary directory, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("zipc-builder-{tag}-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn write(&self, name: &str, text: &str) -> PathBuf {
            let path = self.0.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const TELEMETRY: &str = "[[structures]]\nname = \"seq\"\nkind = \"atomic\"\ntype = \"u64\"\n";
    const QUEUE: &str =
        "[[structures]]\nname = \"q\"\nkind = \"queue\"\npolicy = \"mpsc\"\ntype = \"u32\"\ncapacity = 8\n";

    #[test]
    fn writes_one_module_per_schema() {
        let dir = TempDir::new("ok");
        let a = dir.write("schemas/telemetry.toml", TELEMETRY);
        let b = dir.write("schemas/work_queue.toml", QUEUE);
        let out = dir.0.join("out");
        let written = Builder::new().schemas([&a, &b]).out_dir(&out).emit_rerun_if_changed(false).compile().unwrap();
        assert_eq!(written, [out.join("telemetry.rs"), out.join("work_queue.rs")]);
        let arena = Arena::new();
        for (file, schema) in written.iter().zip([&a, &b]) {
            let expected = rust::generate(&Schema::load(schema, &arena).unwrap());
            assert_eq!(std::fs::read_to_string(file).unwrap(), expected);
        }
        assert!(std::fs::read_to_string(&written[1]).unwrap().contains("pub struct WorkQueue {"));
    }

    #[test]
    fn reports_every_problem_of_every_schema_and_writes_nothing() {
        let dir = TempDir::new("invalid");
        let a = dir.write("a.toml", "[[structures]]\nname = \"xs\"\nkind = \"array\"\ntype = \"u32\"\n");
        let b = dir.write(
            "b.toml",
            "[[structures]]\nname = \"q\"\nkind = \"queue\"\ntype = \"u32\"\npolicy = \"mpmc\"\ncapacity = 100\n",
        );
        let good = dir.write("good.toml", TELEMETRY);
        let out = dir.0.join("out");
        let err = Builder::new().schema(&a).schema(&good).schema(&b).out_dir(&out).compile().unwrap_err();
        let BuildError::Invalid(d) = &err else { panic!("{err}") };
        assert_eq!(d.0.len(), 2, "{err}");
        let text = err.to_string();
        assert!(text.contains("a.toml:1:1: error:") && text.contains("needs `capacity`"), "{text}");
        assert!(text.contains("b.toml:6:12: error:") && text.contains("power of two"), "{text}");
        assert!(!out.exists(), "nothing is written when a schema is invalid");
    }

    #[test]
    fn refuses_two_schemas_with_one_stem() {
        let dir = TempDir::new("dup");
        let a = dir.write("one/telemetry.toml", TELEMETRY);
        let b = dir.write("two/telemetry.toml", QUEUE);
        let err = Builder::new().schemas([&a, &b]).out_dir(dir.0.join("out")).compile().unwrap_err();
        assert!(matches!(&err, BuildError::DuplicateStem { stem, .. } if stem == "telemetry"), "{err}");
        assert!(err
            .to_string()
            .ends_with("would both be telemetry.rs (a schema's file stem names its module): rename one"));
    }

    #[test]
    fn needs_an_output_directory() {
        if std::env::var_os("OUT_DIR").is_none() {
            let err = Builder::new().compile().unwrap_err();
            assert!(matches!(err, BuildError::NoOutDir), "{err}");
        }
    }
}
