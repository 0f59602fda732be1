//! The native side of the benchmark (js/bench/bench.js): times the same path as the wasm
//! build, "response bytes in, plan out", on files the benchmark wrote.
//!
//!     cargo run --release --example bench_native -- DIR REPS
//!
//! DIR holds source.csv and target-*.json (one Foundry page each). Prints one JSON line:
//! the median and every run in milliseconds, with the phases of the median run.

use std::time::Instant;

use learner_sync::{PlanOptions, Planner, Platform, SourceFormat, TargetFormat};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: bench_native DIR REPS");
    let reps: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(5);
    let source = std::fs::read(format!("{dir}/source.csv")).expect("source.csv");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.starts_with("target-"))
        .collect();
    names.sort_by_key(|n| n.trim_start_matches("target-").trim_end_matches(".json").parse::<u32>().unwrap_or(0));
    let pages: Vec<Vec<u8>> = names.iter().map(|n| std::fs::read(format!("{dir}/{n}")).expect("page")).collect();

    let mut runs = Vec::new();
    for _ in 0..reps + 1 {
        let t0 = Instant::now();
        let mut planner = Planner::new(PlanOptions::new(Platform::Foundry)).expect("options");
        planner.add_source(&source, SourceFormat::Csv, "source.csv").expect("source");
        let t1 = Instant::now();
        for p in &pages {
            planner.add_target(p, TargetFormat::Foundry, "").expect("page");
        }
        let t2 = Instant::now();
        let json = planner.finish().to_json();
        let t3 = Instant::now();
        std::hint::black_box(&json);
        let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1000.0;
        runs.push((ms(t0, t3), ms(t0, t1), ms(t1, t2), ms(t2, t3)));
    }
    runs.remove(0); // warm-up
    let mut sorted = runs.clone();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let m = sorted[sorted.len() / 2];
    println!(
        "{{\"medianMs\":{:.3},\"sourceMs\":{:.3},\"targetMs\":{:.3},\"finishMs\":{:.3},\"runsMs\":[{}]}}",
        m.0,
        m.1,
        m.2,
        m.3,
        runs.iter().map(|r| format!("{:.3}", r.0)).collect::<Vec<_>>().join(",")
    );
}
