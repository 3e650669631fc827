//! Results: the printed table with ratios, the JSON file, and the SVG latency chart.

use std::fmt::Write as _;

/// One measured figure.
#[derive(Clone, Debug)]
pub struct Measurement {
    pub name: &'static str,
    pub unit: &'static str,
    pub value: f64,
    /// Extra figures (p99, samples, sizes), printed and written to the JSON.
    pub params: Vec<(&'static str, String)>,
}

/// Parameters that tell apart the measurements of one benchmark (`topic_latency_ns` per
/// payload size, `throughput_*_topic_msgs` per subscriber count).
pub const VARIANT_PARAMS: &[&str] = &["payload_bytes", "subscribers"];

impl Measurement {
    /// The benchmark's name, with the value of its variant parameter if it has one:
    /// `topic_latency_ns[4096]`, `throughput_zipc_topic_msgs[3]`. Ratios name measurements so.
    pub fn key(&self) -> String {
        match self.params.iter().find(|(k, _)| VARIANT_PARAMS.contains(k)) {
            Some((_, v)) => format!("{}[{v}]", self.name),
            None => self.name.to_owned(),
        }
    }
}

/// Median and 99th percentile of samples (sorted in place).
pub fn percentiles(samples: &mut [f64]) -> (f64, f64) {
    assert!(!samples.is_empty(), "no samples");
    samples.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
}

/// One result from the rounds of a benchmark: the median of their values, the median of each
/// numeric parameter that varies (p99), and the rounds' spread.
pub fn combine(mut rounds: Vec<Measurement>) -> Measurement {
    if rounds.len() == 1 {
        return rounds.pop().unwrap();
    }
    let mut values: Vec<f64> = rounds.iter().map(|m| m.value).collect();
    let (median, _) = percentiles(&mut values);
    let (lo, hi) = (values[0], values[values.len() - 1]);
    let mut m = rounds[0].clone();
    m.value = median;
    for (k, v) in m.params.iter_mut() {
        let mut xs: Vec<f64> = rounds
            .iter()
            .filter_map(|r| r.params.iter().find(|(rk, _)| rk == k).and_then(|(_, rv)| rv.parse().ok()))
            .collect();
        if *k == "p99_ns" && xs.len() == rounds.len() {
            *v = format!("{:.1}", percentiles(&mut xs).0);
        } else if xs.len() == rounds.len() && k.ends_with("trips") | k.ends_with("messages") | k.ends_with("wakeups") {
            *v = format!("{}", xs.iter().sum::<f64>() as u64);
        }
    }
    m.params.push(("rounds", format!("{} (median; range {} .. {})", rounds.len(), fmt_value(lo), fmt_value(hi))));
    m
}

/// The measurement `key` names (see [`Measurement::key`]).
pub fn find<'a>(results: &'a [Measurement], key: &str) -> Option<&'a Measurement> {
    results.iter().find(|m| m.key() == key)
}

/// The ratios the project's performance goals are stated in: (label, numerator, denominator,
/// target, whether higher is better). Numerator and denominator are measurement keys
/// ([`Measurement::key`]): a name, with `[value]` for one variant of a benchmark.
pub const RATIOS: &[(&str, &str, &str, f64, bool)] = &[
    ("zipc SPSC / raw limit (latency)", "pingpong_zipc_spsc_ns", "pingpong_raw_atomic_ns", 1.5, false),
    ("zipc MPMC / raw limit (latency)", "pingpong_zipc_mpmc_ns", "pingpong_raw_atomic_ns", 2.0, false),
    ("UDS / zipc SPSC (latency)", "pingpong_uds_ns", "pingpong_zipc_spsc_ns", 0.0, true),
    ("pipe / zipc SPSC (latency)", "pingpong_pipe_ns", "pingpong_zipc_spsc_ns", 0.0, true),
    ("zipc SPSC / rtrb (throughput)", "throughput_zipc_spsc_msgs", "throughput_rtrb_msgs", 1.0, true),
    ("zipc MPMC / crossbeam (throughput)", "throughput_zipc_mpmc_msgs", "throughput_crossbeam_msgs", 1.0, true),
    ("ring bulk / ring single (throughput)", "throughput_zipc_ring_bulk_msgs", "throughput_zipc_ring_msgs", 3.0, true),
    ("array write / memcpy (bandwidth)", "array_write_gbps", "memcpy_gbps", 0.8, true),
    ("zipc topic / raw limit (latency)", "pingpong_zipc_topic_ns", "pingpong_raw_atomic_ns", 1.6, false),
    ("WaitSet of 32 / futex (wake-up)", "wake_waitset_ns", "wake_futex_ns", 1.2, false),
    ("async (tokio) / futex (wake-up)", "wake_async_ns", "wake_futex_ns", 1.5, false),
    ("readiness fd / futex (wake-up)", "wake_fd_ns", "wake_futex_ns", 0.0, false),
    ("topic 4 MiB / 8 B (latency)", "topic_latency_ns[4194304]", "topic_latency_ns[8]", 1.5, false),
    ("topic / iceoryx2, 8 B (latency)", "topic_latency_ns[8]", "iceoryx2_latency_ns[8]", 0.5, false),
    ("topic / iceoryx2, 4 KiB (latency)", "topic_latency_ns[4096]", "iceoryx2_latency_ns[4096]", 0.5, false),
    ("topic / iceoryx2, 64 KiB (latency)", "topic_latency_ns[65536]", "iceoryx2_latency_ns[65536]", 0.5, false),
    ("topic / iceoryx2, 1 MiB (latency)", "topic_latency_ns[1048576]", "iceoryx2_latency_ns[1048576]", 0.5, false),
    ("topic / iceoryx2, 4 MiB (latency)", "topic_latency_ns[4194304]", "iceoryx2_latency_ns[4194304]", 0.5, false),
    ("bridge / raw Zenoh (throughput)", "bridge_throughput_msgs", "zenoh_raw_throughput_msgs", 0.8, true),
    ("bridge / raw Zenoh (latency)", "bridge_latency_ns", "zenoh_raw_latency_ns", 1.3, false),
    ("zipc map / dashmap (get)", "map_get_ns", "dashmap_get_ns", 1.0, false),
    ("zipc map / dashmap (get, absent key)", "map_miss_ns", "dashmap_miss_ns", 0.0, false),
    ("zipc map / Mutex<HashMap> (get)", "map_get_ns", "mutex_hashmap_get_ns", 0.0, false),
    ("zipc map / dashmap (insert)", "map_insert_ns", "dashmap_insert_ns", 0.0, false),
];

/// A ratio of two benchmarks, measured per round (the two run back to back, so a machine that
/// changes speed between rounds affects both) and reported as the median over the rounds.
pub struct Ratio {
    pub label: &'static str,
    pub numerator: &'static str,
    pub denominator: &'static str,
    pub value: f64,
    pub low: f64,
    pub high: f64,
    pub target: f64,
    pub higher_is_better: bool,
}

impl Ratio {
    pub fn verdict(&self) -> &'static str {
        let met = if self.higher_is_better { self.value >= self.target } else { self.value <= self.target };
        if self.target == 0.0 {
            ""
        } else if met {
            "met"
        } else {
            "MISSED"
        }
    }
}

/// The [`RATIOS`] over the rounds' results (`rounds[r]` holds round `r`'s measurements).
pub fn ratios(rounds: &[Vec<Measurement>]) -> Vec<Option<Ratio>> {
    RATIOS
        .iter()
        .map(|&(label, num, den, target, higher_is_better)| {
            let mut per_round: Vec<f64> = rounds
                .iter()
                .filter_map(|r| Some(find(r, num)?.value / find(r, den)?.value))
                .filter(|v| v.is_finite())
                .collect();
            if per_round.is_empty() {
                return None;
            }
            let (value, _) = percentiles(&mut per_round);
            Some(Ratio {
                label,
                numerator: num,
                denominator: den,
                value,
                low: per_round[0],
                high: per_round[per_round.len() - 1],
                target,
                higher_is_better,
            })
        })
        .collect()
}

pub fn print_table(results: &[Measurement], ratios: &[Option<Ratio>]) {
    println!();
    println!("{:<34} {:>14} {:<8} details", "benchmark", "value", "unit");
    println!("{}", "-".repeat(96));
    for m in results {
        let details: Vec<String> = m.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("{:<34} {:>14} {:<8} {}", m.key(), fmt_value(m.value), m.unit, details.join(" "));
    }
    println!();
    println!(
        "{:<40} {:>8} {:>10}  {:<7} rounds' range",
        "ratio (median of per-round ratios)", "measured", "target", "verdict"
    );
    println!("{}", "-".repeat(90));
    for (r, (label, ..)) in ratios.iter().zip(RATIOS) {
        let Some(r) = r else {
            println!("{label:<40} {:>8} {:>10}  (not measured in this run)", "-", "-");
            continue;
        };
        let target = if r.target == 0.0 {
            "-".to_owned()
        } else if r.higher_is_better {
            format!(">= {}", r.target)
        } else {
            format!("<= {}", r.target)
        };
        println!("{:<40} {:>8.2} {target:>10}  {:<7} {:.2} .. {:.2}", r.label, r.value, r.verdict(), r.low, r.high);
    }
}

fn fmt_value(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.3e}", v)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `{"machine": {...}, "results": [{"name", "unit", "value", "params": {...}}, ...],
/// "ratios": [{"label", "numerator", "denominator", "value", "low", "high", "target", "verdict"},
/// ...]}` (numerator and denominator are measurement keys: `topic_latency_ns[4096]`)
pub fn json(results: &[Measurement], ratios: &[Option<Ratio>], machine: &[(&str, String)]) -> String {
    let mut s = String::from("{\n  \"machine\": {");
    let fields: Vec<String> = machine.iter().map(|(k, v)| format!("{}: {}", json_str(k), json_str(v))).collect();
    s.push_str(&fields.join(", "));
    s.push_str("},\n  \"results\": [\n");
    let rows: Vec<String> = results
        .iter()
        .map(|m| {
            let params: Vec<String> =
                m.params.iter().map(|(k, v)| format!("{}: {}", json_str(k), json_str(v))).collect();
            format!(
                "    {{\"name\": {}, \"unit\": {}, \"value\": {}, \"params\": {{{}}}}}",
                json_str(m.name),
                json_str(m.unit),
                if m.value.is_finite() { format!("{}", m.value) } else { "null".to_owned() },
                params.join(", ")
            )
        })
        .collect();
    s.push_str(&rows.join(",\n"));
    s.push_str("\n  ],\n  \"ratios\": [\n");
    let rows: Vec<String> = ratios
        .iter()
        .flatten()
        .map(|r| {
            format!(
                "    {{\"label\": {}, \"numerator\": {}, \"denominator\": {}, \"value\": {}, \"low\": {}, \"high\": {}, \"target\": {}, \"verdict\": {}}}",
                json_str(r.label),
                json_str(r.numerator),
                json_str(r.denominator),
                r.value,
                r.low,
                r.high,
                if r.target == 0.0 { "null".to_owned() } else { format!("{}", r.target) },
                json_str(r.verdict())
            )
        })
        .collect();
    s.push_str(&rows.join(",\n"));
    s.push_str("\n  ]\n}\n");
    s
}

/// A horizontal bar chart of one-way latency per mechanism (median bar, p99 tick), log scale.
pub fn latency_svg(results: &[Measurement], title: &str) -> String {
    let rows: Vec<(&str, f64, f64)> = results
        .iter()
        .filter(|m| m.name.starts_with("pingpong_") || m.name.starts_with("wake_"))
        .map(|m| {
            let p99 =
                m.params.iter().find(|(k, _)| *k == "p99_ns").and_then(|(_, v)| v.parse().ok()).unwrap_or(m.value);
            (m.name, m.value, p99)
        })
        .collect();
    let (w, row_h, left, top) = (760.0, 34.0, 220.0, 50.0);
    let h = top + row_h * rows.len() as f64 + 40.0;
    let max = rows.iter().map(|r| r.2).fold(10.0f64, f64::max);
    let (lo, hi) = (10f64.log10(), max.log10().ceil().max(2.0));
    let x = |v: f64| left + (v.max(10.0).log10() - lo) / (hi - lo) * (w - left - 30.0);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"13\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{left}\" y=\"24\" font-size=\"15\">{title}</text>\n"
    );
    for d in (lo as i32)..=(hi as i32) {
        let v = 10f64.powi(d);
        let _ = writeln!(
            s,
            "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#ddd\"/><text x=\"{0}\" y=\"{3}\" text-anchor=\"middle\" fill=\"#666\">{4}</text>",
            x(v),
            top - 8.0,
            h - 30.0,
            h - 14.0,
            if v >= 1000.0 { format!("{} µs", v / 1000.0) } else { format!("{v} ns") }
        );
    }
    for (i, (name, median, p99)) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        let label = name.trim_end_matches("_ns").replace('_', " ");
        let (ty, bar_w, tick, text_x) = (y + 14.0, (x(*median) - left).max(1.0), x(*p99), x(*p99) + 6.0);
        let (tick_top, tick_bottom, label_x) = (y - 2.0, y + 20.0, left - 8.0);
        let _ = writeln!(
            s,
            "<text x=\"{label_x}\" y=\"{ty}\" text-anchor=\"end\">{label}</text>\
             <rect x=\"{left}\" y=\"{y}\" width=\"{bar_w}\" height=\"18\" fill=\"#4a7ab5\"/>\
             <line x1=\"{tick}\" y1=\"{tick_top}\" x2=\"{tick}\" y2=\"{tick_bottom}\" stroke=\"#c33\" stroke-width=\"2\"/>\
             <text x=\"{text_x}\" y=\"{ty}\" fill=\"#222\">{median:.0} ns (p99 {p99:.0})</text>"
        );
    }
    s.push_str("</svg>\n");
    s
}
