//! What a bridge forwards and how it reaches its peers: [`BridgeConfig`], built in code or from
//! the `zipc-bridge run` command line.

use std::time::Duration;

use crate::BridgeError;

/// How this bridge joins Zenoh.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// A peer: talks to the endpoints it connects to and accepts on the ones it listens on
    /// (the default; two bridges need nothing else).
    #[default]
    Peer,
    /// A client of a Zenoh router (`zenohd`), for deployments of many hosts.
    Client,
}

impl Mode {
    fn label(self) -> &'static str {
        match self {
            Mode::Peer => "peer",
            Mode::Client => "client",
        }
    }
}

/// Everything a [`Bridge`](crate::Bridge) needs.
///
/// ```
/// use zipc_bridge::BridgeConfig;
/// let config = BridgeConfig::new("/hostA", "lab/robot1")
///     .export("frames")
///     .import("commands")
///     .listen("tcp/127.0.0.1:7447");
/// assert_eq!(config.key("frames"), "lab/robot1/frames");
/// ```
#[derive(Clone, Debug)]
pub struct BridgeConfig {
    /// The local segment, e.g. `/hostA`.
    pub segment: String,
    /// Key prefix: stream `jobs` travels on key `<prefix>/jobs`.
    pub prefix: String,
    /// Structures read here and published.
    pub exports: Vec<String>,
    /// Structures written here from what is published.
    pub imports: Vec<String>,
    /// Peer or client.
    pub mode: Mode,
    /// Zenoh endpoints to listen on (`tcp/0.0.0.0:7447`).
    pub listen: Vec<String>,
    /// Zenoh endpoints to connect to (retried until they answer, and again after a loss).
    pub connect: Vec<String>,
    /// Zenoh's multicast scouting (finding peers on the LAN without endpoints). Off unless
    /// asked for: a bridge talks to the endpoints it is given.
    pub multicast_scouting: bool,
    /// Largest payload of one Zenoh sample; a batch holds at least one element.
    pub max_batch_bytes: usize,
    /// Most payload bytes of a lossless stream published and not yet acknowledged by the
    /// importer: kept by the exporter to be sent again, and the bound on what is in flight
    /// (when it is reached the exporter stops taking until acknowledgements come).
    pub max_unacked_bytes: usize,
    /// Wait this long for the local segment to be created before giving up (`None`: fail at
    /// once if it is missing).
    pub wait_for_segment: Option<Duration>,
}

impl BridgeConfig {
    /// A bridge of segment `segment` under key prefix `prefix`, forwarding nothing yet.
    pub fn new(segment: &str, prefix: &str) -> BridgeConfig {
        BridgeConfig {
            segment: segment.to_owned(),
            prefix: prefix.trim_end_matches('/').to_owned(),
            exports: Vec::new(),
            imports: Vec::new(),
            mode: Mode::Peer,
            listen: Vec::new(),
            connect: Vec::new(),
            multicast_scouting: false,
            max_batch_bytes: 64 << 10,
            max_unacked_bytes: 4 << 20,
            wait_for_segment: None,
        }
    }

    /// Adds a structure to export.
    pub fn export(mut self, name: &str) -> Self {
        self.exports.push(name.to_owned());
        self
    }

    /// Adds a structure to import.
    pub fn import(mut self, name: &str) -> Self {
        self.imports.push(name.to_owned());
        self
    }

    /// Adds an endpoint to listen on.
    pub fn listen(mut self, endpoint: &str) -> Self {
        self.listen.push(endpoint.to_owned());
        self
    }

    /// Adds an endpoint to connect to.
    pub fn connect(mut self, endpoint: &str) -> Self {
        self.connect.push(endpoint.to_owned());
        self
    }

    /// The Zenoh key stream `name` travels on.
    pub fn key(&self, name: &str) -> String {
        format!("{}/{name}", self.prefix)
    }

    /// Checks the configuration: a prefix, at least one stream, no stream both ways or twice.
    pub fn validate(&self) -> Result<(), BridgeError> {
        let bad = |m: String| Err(BridgeError::Config(m));
        zipc::check_segment_name(&self.segment)?;
        if self.prefix.is_empty() || self.prefix.contains(['*', '$', '?', '#']) || self.prefix.starts_with('/') {
            return bad(format!(
                "key prefix {:?}: give one or more '/'-separated words without wildcards, e.g. lab/robot1",
                self.prefix
            ));
        }
        if self.exports.is_empty() && self.imports.is_empty() {
            return bad("nothing to bridge: name at least one structure to export or import".to_owned());
        }
        let mut seen = std::collections::HashSet::new();
        for name in self.exports.iter().chain(&self.imports) {
            if !seen.insert(name) {
                return bad(format!("structure {name:?} is named twice: a stream is exported or imported, once"));
            }
        }
        if self.max_batch_bytes == 0 || self.max_unacked_bytes == 0 {
            return bad("the batch size and the unacknowledged bytes are at least 1 byte".to_owned());
        }
        Ok(())
    }

    /// Adds what a schema's `[bridge]` table says to this configuration: its streams and
    /// endpoints after the ones already named, its prefix and mode unless `keep_prefix` /
    /// `keep_mode` (set on the command line).
    pub fn with_schema(mut self, section: &zipc_schema::BridgeSection, keep_prefix: bool, keep_mode: bool) -> Self {
        if let (Some(p), false) = (&section.prefix, keep_prefix) {
            self.prefix = p.trim_end_matches('/').to_owned();
        }
        if let (Some(m), false) = (&section.mode, keep_mode) {
            self.mode = if m == "client" { Mode::Client } else { Mode::Peer };
        }
        for (to, from) in [
            (&mut self.exports, &section.export),
            (&mut self.imports, &section.import),
            (&mut self.listen, &section.listen),
            (&mut self.connect, &section.connect),
        ] {
            to.extend(from.iter().cloned());
        }
        self
    }

    /// Checks every bridged structure of `segment` against its declaration in `schema` (kind,
    /// element layout, capacity, parameters), with the errors `open` gives.
    pub fn check_schema(&self, segment: &zipc::Segment, schema: &zipc_schema::Schema<'_>) -> Result<(), BridgeError> {
        use zipc::dynamic::{check, Declaration, ElementSpec};
        for name in self.exports.iter().chain(&self.imports) {
            let Some(s) = schema.layout.structures.iter().find(|s| s.name == name) else {
                return Err(BridgeError::Config(format!(
                    "{name:?} is bridged but {} does not declare it",
                    schema.file
                )));
            };
            let canonical = s.elem.map(|t| zipc::layout::canonical(&t));
            let elem = s.elem.zip(canonical.as_deref()).map(|(t, c)| ElementSpec::with_layout(t.size() as usize, c));
            let decl =
                Declaration { name, kind: s.kind, elem, capacity: s.capacity, flags: s.flags, maximum: s.maximum };
            check(segment, &decl)?;
        }
        Ok(())
    }

    /// The Zenoh configuration this asks for.
    pub(crate) fn zenoh(&self) -> Result<zenoh::Config, BridgeError> {
        let mut c = zenoh::Config::default();
        let json = |v: &[String]| format!("[{}]", v.iter().map(|e| format!("{e:?}")).collect::<Vec<_>>().join(","));
        let mut set = |key: &str, value: String| {
            c.insert_json5(key, &value).map_err(|e| BridgeError::Config(format!("Zenoh setting {key} = {value}: {e}")))
        };
        set("mode", format!("{:?}", self.mode.label()))?;
        set("scouting/multicast/enabled", self.multicast_scouting.to_string())?;
        if !self.listen.is_empty() {
            set("listen/endpoints", json(&self.listen))?;
        }
        if !self.connect.is_empty() {
            set("connect/endpoints", json(&self.connect))?;
        }
        // Start even when no peer answers yet, and keep trying: the peer bridge may start later,
        // or restart.
        set("connect/timeout_ms", "-1".to_owned())?;
        set("connect/exit_on_failure", "false".to_owned())?;
        set("connect/retry", r#"{ "period_init_ms": 100, "period_max_ms": 1000 }"#.to_owned())?;
        Ok(c)
    }
}
