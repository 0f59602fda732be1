//! The pacing benchmark of issue 11: the engine against the simulated Foundry of the native
//! tests (`tests/support/foundry.rs`, a rolling window answering 429) on a simulated clock,
//! driven by the tests' own loop (`support::drive_engines`), so an hour of syncing takes well
//! under a second. It prints one Markdown row per scenario and asserts nothing: it is how the
//! engine's pacing is judged, not a test.
//!
//!     cargo run --release --example bench_pacing -- [--seed N] [--seeds FROM..TO]
//!
//! prints the table for seed N (11), then each row's efficiency (min / median / max), time
//! and most 429 bursts over seeds FROM to TO (1..20; `--seeds 1..0` skips it). The older
//! form `bench_pacing SEED SEEDS` (seeds 1 to SEEDS) still works. `PACING_TRACE=<part of a scenario's name>` also prints, to stderr, that scenario's
//! requests as the platform saw them, one line per stretch: where the time goes.
//!
//! Every run is reproducible: the engines' jitter is seeded, and each round trip is drawn
//! from 20 to 80 ms by a seeded generator. The engines run with their defaults (concurrency 4,
//! backoff from 1 s doubling to 60 s). The platform holds 1,400 users; a sync changes the last
//! name of 190 of them (a PATCH each) after a token request and the listing (15 pages, and
//! one of inactive users): 206 requests, the issue's "~206"; all count against the window.
//!
//! - **requests**, **429s**: what each client sent, and how many the platform refused.
//! - **429 bursts**: runs of 429s with no accepted request of the same client between them
//!   (the 429s of one pause, and of probes after it that fail again, are one burst). Beside
//!   it the bursts allowed: one per drop of the budget the client can use (the platform
//!   enforcing less than configured from the start, a mid-run drop, another client), as
//!   issue 11's target has it.
//! - **time**: simulated seconds from the start until the run (both runs) finished.
//! - **ideal**: the accepted requests at min(platform rate, configured rate), rate = limit ÷
//!   window, summed over the phases of a budget that changes; for two syncs, both syncs'
//!   requests at min(platform rate, the sum of their configured rates); beside a steady third
//!   party, the sync's requests at the rate the third party leaves it.
//! - **efficiency** = ideal ÷ time: accepted requests per second ÷ that rate. A rolling window
//!   lets a client send a whole window's limit at once, so a client that sends in bursts can
//!   finish up to one window sooner than the ideal and beat 100% (row 4 with Retry-After: 206
//!   accepted requests fit in a burst and three 12 s windows of 60, 36 s against an ideal of
//!   41.2 s); a sync that takes another client's share beats it by more (row 8).
//!
//! What follows is of the engine before issue 11's pacing (the README's baseline table; a
//! rolling window adapting a count): against issue 11's table, measured with the CLI on the
//! real clock against the JS simulator (the same window rules): rows 1 to 4 without Retry-After agree within 2%: 301.1 s here
//! against 301 s, 20.5 against 20.7, 41.4 against 41.6, 57.8 against 58.2. They agree because
//! today's times are set by whole windows, not by round trips: row 1 is five 60 s windows of
//! about 40 requests (the three 429s of the first burst each cut the count, 200 → 100 → 50 →
//! 38, while the window stays 60 s; it climbs one per window and meets a 429 again at 41). So
//! row 1 moves in steps of 60 s with the request count: with 190 users (197 requests) it
//! takes 241 s. What remains is round trips (20-80 ms here, a few ms on loopback) and which
//! requests meet a 429. Row 4 with Retry-After: 38.0 s against 41.0; over seeds 1-20 it is
//! 37.8-41.8 s, and once (seed 4) 68.7 s, when the 429s of three pauses cut the count to 7
//! per 4 s and it climbed back one per window.
//!
//! Row 7: the issue's "default each" (29.3 s and 54.0 s, the loser "climbed 16→21 per window
//! while 40 were free") fits clients configured 40/4 s, since a default client climbs once
//! per 60 s: both are printed. 40/4 s each gives 33.4 and 49.4 s here (33-54 s over the
//! seeds), the loser climbing 17 → 19 per window once alone while 40 were free. Two default
//! clients take 600 s: the 429s of their first bursts cut each to about 20 per 60 s (its
//! floor is a tenth, 20), so together they send the platform's 40 in the first second of
//! every 60 s and wait out the rest on their own windows. Row 8: 25.3 s and 72 of 127
//! refused here against 29.4 s and 68 of 150: the issue's third party sent 150 requests (30 s
//! at 5/s), so it did not start and stop with the sync as it does here; the 4 s between the
//! two times is not explained by anything this benchmark can check.

use learner_sync::sync::{Request, Response, SyncEngine, SyncOptions, TransportError};
use learner_sync::{PlanOptions, SourceFormat};
use serde_json::json;
use std::ops::Range;

#[path = "../tests/support/mod.rs"]
mod support;

use support::foundry::{user, FoundrySim, BASE};
use support::{drive_engines, Run};

/// A request budget: `limit` requests in any `window_ms`.
#[derive(Clone, Copy)]
struct Limit {
    limit: u32,
    window_ms: u64,
}

const fn per(limit: u32, window_s: u64) -> Limit {
    Limit { limit, window_ms: window_s * 1000 }
}

/// Foundry's documented budget, and the engine's default for it.
const FOUNDRY: Limit = per(200, 60);

impl Limit {
    /// Requests per second.
    fn rate(self) -> f64 {
        self.limit as f64 * 1000.0 / self.window_ms as f64
    }

    fn label(self) -> String {
        format!("{}/{} s", self.limit, self.window_ms / 1000)
    }
}

struct Scenario {
    row: &'static str,
    name: &'static str,
    platform: Limit,
    /// The platform's limit once the syncs have had half their changes' worth of requests
    /// accepted.
    then: Option<Limit>,
    /// The client's configured budget; `None` is the engine's default (Foundry's 200/60 s).
    client: Option<Limit>,
    retry_after: bool,
    /// Changes per sync.
    changes: usize,
    /// Users on the platform, listed 100 a page by every sync.
    population: usize,
    /// Syncs of the same organisation running at once, each on its own users.
    syncs: usize,
    /// A third-party client sending one request every this many ms, refused or not.
    steady_every_ms: Option<u64>,
    /// Drops of the budget each client can use: the 429 bursts issue 11 allows it.
    budget_drops: u32,
}

const fn scenario(row: &'static str, name: &'static str, platform: Limit, client: Option<Limit>) -> Scenario {
    Scenario {
        row,
        name,
        platform,
        then: None,
        client,
        retry_after: false,
        changes: 190,
        population: 1_400,
        syncs: 1,
        steady_every_ms: None,
        budget_drops: 0,
    }
}

fn scenarios() -> Vec<Scenario> {
    let tight = Some(per(40, 4));
    vec![
        Scenario { budget_drops: 1, ..scenario("1", "platform stricter than the default", per(40, 4), None) },
        Scenario {
            retry_after: true,
            budget_drops: 1,
            ..scenario("1", "platform stricter than the default, Retry-After", per(40, 4), None)
        },
        scenario("2", "configured as enforced", per(40, 4), tight),
        Scenario { budget_drops: 1, ..scenario("3", "platform half the configured", per(20, 4), tight) },
        Scenario {
            retry_after: true,
            budget_drops: 1,
            ..scenario("3", "platform half the configured, Retry-After", per(20, 4), tight)
        },
        Scenario { budget_drops: 1, ..scenario("4", "longer platform window", per(60, 12), tight) },
        Scenario {
            retry_after: true,
            budget_drops: 1,
            ..scenario("4", "longer platform window, Retry-After", per(60, 12), tight)
        },
        Scenario { changes: 1_000, ..scenario("5", "platform looser than configured", per(400, 60), None) },
        Scenario {
            then: Some(per(100, 60)),
            changes: 1_000,
            budget_drops: 1,
            ..scenario("6", "budget halves mid-run", FOUNDRY, None)
        },
        Scenario { syncs: 2, budget_drops: 1, ..scenario("7", "two syncs, default each", per(40, 4), None) },
        Scenario { syncs: 2, budget_drops: 1, ..scenario("7", "two syncs, 40/4 s each", per(40, 4), tight) },
        Scenario {
            steady_every_ms: Some(200),
            budget_drops: 1,
            ..scenario("8", "a third party steady at 5/s", per(40, 4), tight)
        },
        Scenario {
            changes: 10_000,
            population: 10_000,
            ..scenario("H", "10,000 changes, Foundry's budget", FOUNDRY, None)
        },
    ]
}

/// One request as the platform saw it.
struct Arrival {
    client: usize,
    at: u64,
    accepted: bool,
}

/// xorshift64, for the round trips.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A sync whose source changes the last name of users `changed` and leaves users `kept` as
/// they are; any other user on the platform is an orphan it only reviews (no request).
fn engine(changed: Range<usize>, kept: Range<usize>, client: Option<Limit>, seed: u64) -> SyncEngine {
    let mut config = json!({"baseUrl": BASE, "credentials": FoundrySim::credentials(), "seed": seed});
    if let Some(c) = client {
        config["rate"] = json!({"limit": c.limit, "windowMs": c.window_ms});
    }
    let mut source = String::from("ssoId,firstName,lastName,email,active\n");
    for (i, last) in changed.map(|i| (i, "New")).chain(kept.map(|i| (i, "Old"))) {
        source.push_str(&format!("{i},F{i},{last},p{i}@example.org,true\n"));
    }
    let options = PlanOptions::from_json(br#"{"platform":"foundry"}"#).unwrap();
    let config = SyncOptions::from_json(config.to_string().as_bytes()).unwrap();
    let mut sync = SyncEngine::new(options, config).unwrap();
    sync.add_source(source.as_bytes(), SourceFormat::Auto, "source.csv").unwrap();
    sync
}

/// A third-party client of the organisation sending one request every `every_ms`, whatever
/// the answers. It does not react to them, so its requests are played lazily: those due by
/// the time a sync's request arrives go first, which is the order they arrive in.
struct ThirdParty {
    every_ms: u64,
    next_at: u64,
    sent: u32,
    refused: u32,
}

impl ThirdParty {
    /// Sends what is due before `until` (and at it, when `inclusive`).
    fn play(&mut self, sim: &mut FoundrySim, until: u64, inclusive: bool) {
        while self.next_at < until || (inclusive && self.next_at == until) {
            self.sent += 1;
            self.refused += u32::from(!sim.other_client_request(self.next_at));
            self.next_at += self.every_ms;
        }
    }
}

/// What a run measured, as the platform and the engines saw it.
struct Measured {
    runs: Vec<Run>,
    arrivals: Vec<Arrival>,
    /// Sync requests accepted before the platform's limit changed, if it did.
    accepted_before_change: Option<usize>,
    /// The third party, after the sync finished.
    third_party: Option<ThirdParty>,
}

fn run(s: &Scenario, seed: u64) -> Measured {
    let changed = s.changes * s.syncs;
    let users = (0..s.population.max(changed)).map(|i| user(i, "Old", true)).collect();
    let mut sim = FoundrySim::new(users, seed);
    sim.limit = s.platform.limit;
    sim.window_ms = s.platform.window_ms;
    sim.faults.retry_after = s.retry_after;
    // Each sync changes its own users and keeps the users no sync changes.
    let syncs = (0..s.syncs)
        .map(|c| engine(c * s.changes..(c + 1) * s.changes, changed..s.population, s.client, seed + c as u64))
        .collect();
    let mut arrivals = Vec::new();
    let mut accepted = 0;
    let mut accepted_before_change = None;
    let mut third_party = s.steady_every_ms.map(|every_ms| ThirdParty { every_ms, next_at: 0, sent: 0, refused: 0 });
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let handle = |client: usize, req: &Request, now: u64| -> Result<Response, TransportError> {
        if let (Some(then), None) = (s.then, accepted_before_change) {
            if accepted >= s.changes * s.syncs / 2 {
                sim.limit = then.limit;
                sim.window_ms = then.window_ms;
                accepted_before_change = Some(accepted);
            }
        }
        if let Some(t) = &mut third_party {
            t.play(&mut sim, now, true);
        }
        let answer = sim.handle(req, now);
        let ok = !matches!(&answer, Ok(r) if r.status == 429);
        accepted += ok as usize;
        arrivals.push(Arrival { client, at: now, accepted: ok });
        answer
    };
    let runs = drive_engines(syncs, || 20 + rng.below(61), handle);
    if let Some(t) = &mut third_party {
        // Its requests while the sync ran.
        t.play(&mut sim, runs[0].now, false);
    }
    Measured { runs, arrivals, accepted_before_change, third_party }
}

/// One client's figures from the platform's side.
struct Client {
    requests: usize,
    refused: usize,
    bursts: u32,
}

fn client(arrivals: &[Arrival], c: usize) -> Client {
    let mut m = Client { requests: 0, refused: 0, bursts: 0 };
    let mut in_burst = false;
    for a in arrivals.iter().filter(|a| a.client == c) {
        m.requests += 1;
        if !a.accepted {
            m.refused += 1;
            m.bursts += u32::from(!in_burst);
        }
        in_burst = !a.accepted;
    }
    m
}

/// A scenario's figures for one seed.
struct Row {
    /// The table's row, in Markdown.
    line: String,
    efficiency: f64,
    time_s: f64,
    /// The most 429 bursts any one client met.
    bursts: u32,
    /// The smallest share of the accepted requests any client had while all of them ran (two
    /// syncs, or a sync and the third party).
    least_share: Option<f64>,
}

fn row(s: &Scenario, m: &Measured) -> Row {
    let configured = s.client.unwrap_or(FOUNDRY);
    let clients: Vec<Client> = (0..s.syncs).map(|c| client(&m.arrivals, c)).collect();
    let accepted: usize = clients.iter().map(|c| c.requests - c.refused).sum();
    let end = m.runs.iter().map(|r| r.now).max().unwrap_or(0);
    let mut notes = Vec::new();
    let mut least_share = None;
    let ideal_s = match (s.then, m.accepted_before_change) {
        (Some(then), Some(before)) => {
            before as f64 / s.platform.rate().min(configured.rate())
                + (accepted - before) as f64 / then.rate().min(configured.rate())
        }
        _ if s.syncs > 1 => accepted as f64 / s.platform.rate().min(configured.rate() * s.syncs as f64),
        _ => {
            let left = s.platform.rate() - s.steady_every_ms.map_or(0.0, |every| 1000.0 / every as f64);
            accepted as f64 / left.min(configured.rate())
        }
    };
    if s.syncs > 1 {
        // Shares while every sync ran: a sync alone at the end has the whole budget.
        let all_ran = m.runs.iter().map(|r| r.now).min().unwrap_or(0);
        let during: Vec<usize> = (0..s.syncs)
            .map(|c| m.arrivals.iter().filter(|a| a.client == c && a.accepted && a.at < all_ran).count())
            .collect();
        let total = during.iter().sum::<usize>().max(1) as f64;
        let shares: Vec<f64> = during.iter().map(|&d| d as f64 / total).collect();
        least_share = shares.iter().copied().reduce(f64::min);
        let shares: Vec<String> = shares.iter().map(|s| format!("{:.0}%", s * 100.0)).collect();
        let done: Vec<String> = m.runs.iter().map(|r| format!("{:.1}", r.now as f64 / 1000.0)).collect();
        notes.push(format!("done at {} s; shares while both ran {}", done.join(" and "), shares.join(" / ")));
    }
    if let Some(t) = &m.third_party {
        let (ok, sync) = ((t.sent - t.refused) as f64, (clients[0].requests - clients[0].refused) as f64);
        let share = ok / (ok + sync).max(1.0);
        least_share = Some(share.min(1.0 - share));
        notes.push(format!("third party: {} of its {} refused, its share {:.0}%", t.refused, t.sent, share * 100.0));
    }
    for r in &m.runs {
        let c = r.report.counts;
        if !r.report.finished || c.done as usize != s.changes {
            notes.push(format!("NOT DONE: {} done, {} failed, error {:?}", c.done, c.failed, r.report.error));
        }
    }
    let each = |f: &dyn Fn(&Client) -> String| clients.iter().map(f).collect::<Vec<_>>().join(" + ");
    let platform = match s.then {
        Some(then) => format!("{} → {}", s.platform.label(), then.label()),
        None => s.platform.label(),
    };
    let client = match s.client {
        Some(c) => c.label(),
        None => format!("default {}", FOUNDRY.label()),
    };
    let each_of = if s.syncs > 1 { format!("{} × ", s.syncs) } else { String::new() };
    let time_s = end as f64 / 1000.0;
    let efficiency = ideal_s / time_s.max(0.001);
    let line = format!(
        "| {} | {} | {platform} | {each_of}{client} | {} | {each_of}{} | {} | {} | {} ({}) | {time_s:.1} | {ideal_s:.1} | \
         {:.0}% | {} |",
        s.row,
        s.name,
        if s.retry_after { "yes" } else { "no" },
        s.changes,
        each(&|c| c.requests.to_string()),
        each(&|c| c.refused.to_string()),
        each(&|c| c.bursts.to_string()),
        each(&|_| format!("≤ {}", s.budget_drops)),
        efficiency * 100.0,
        notes.join("; ")
    );
    let bursts = clients.iter().map(|c| c.bursts).max().unwrap_or(0);
    Row { line, efficiency, time_s, bursts, least_share }
}

/// With `PACING_TRACE` set to part of a scenario's name: the platform's view of its run, one
/// line per stretch of requests (a gap of a second or more starts a new one), to stderr.
fn trace(s: &Scenario, arrivals: &[Arrival]) {
    if !std::env::var("PACING_TRACE").is_ok_and(|t| !t.is_empty() && s.name.contains(&t)) {
        return;
    }
    eprintln!("{} {}: from-to s, accepted and refused per client", s.row, s.name);
    let (mut from, mut ok, mut refused) = (0, vec![0; s.syncs], vec![0; s.syncs]);
    for (k, a) in arrivals.iter().enumerate() {
        let tally = if a.accepted { &mut ok } else { &mut refused };
        tally[a.client] += 1;
        let next = arrivals.get(k + 1);
        if next.is_none_or(|b| b.at >= a.at + 1000) {
            eprintln!("{:>9.3} {:>9.3}  ok {ok:?}  429 {refused:?}", from as f64 / 1000.0, a.at as f64 / 1000.0);
            (ok, refused) = (vec![0; s.syncs], vec![0; s.syncs]);
            from = next.map_or(0, |b| b.at);
        }
    }
}

fn main() {
    let usage = "usage: bench_pacing [--seed N] [--seeds FROM..TO] (or [SEED] [SEEDS], seeds 1 to SEEDS)";
    let number = |a: &str| a.parse::<u64>().unwrap_or_else(|_| panic!("{usage}: {a:?} is not a number"));
    let (mut seed, mut seeds) = (11, 1..=20);
    let mut args = std::env::args().skip(1);
    let mut positional = 0;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seed" => seed = number(&args.next().expect(usage)),
            "--seeds" => {
                let range = args.next().expect(usage);
                let (from, to) = range.split_once("..").unwrap_or_else(|| panic!("{usage}: {range:?}"));
                seeds = number(from)..=number(to.trim_start_matches('='));
            }
            _ if positional == 0 => (seed, positional) = (number(&arg), 1),
            _ => seeds = 1..=number(&arg),
        }
    }
    println!("Pacing benchmark: seed {seed}, simulated clock, round trips 20-80 ms, concurrency 4\n");
    println!(
        "| # | scenario | platform | client | Retry-After | changes | requests | 429s | 429 bursts (allowed) | \
         time s | ideal s | efficiency | notes |"
    );
    println!("|---|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|---|");
    let scenarios = scenarios();
    for s in &scenarios {
        let measured = run(s, seed);
        trace(s, &measured.arrivals);
        println!("{}", row(s, &measured).line);
    }
    if seeds.is_empty() {
        return;
    }
    println!("\nOver seeds {} to {}:\n", seeds.start(), seeds.end());
    println!("| # | scenario | efficiency min / median / max | time s min-max | most 429 bursts | least share |");
    println!("|---|---|--:|--:|--:|--:|");
    for s in &scenarios {
        let mut rows: Vec<Row> = seeds.clone().map(|seed| row(s, &run(s, seed))).collect();
        rows.sort_by(|a, b| a.efficiency.total_cmp(&b.efficiency));
        let pct = |r: &Row| format!("{:.0}%", r.efficiency * 100.0);
        let times = rows.iter().map(|r| r.time_s);
        let least = rows.iter().filter_map(|r| r.least_share).reduce(f64::min);
        println!(
            "| {} | {} | {} / {} / {} | {:.1}-{:.1} | {} | {} |",
            s.row,
            s.name,
            pct(&rows[0]),
            pct(&rows[rows.len() / 2]),
            pct(&rows[rows.len() - 1]),
            times.clone().reduce(f64::min).unwrap_or(0.0),
            times.reduce(f64::max).unwrap_or(0.0),
            rows.iter().map(|r| r.bursts).max().unwrap_or(0),
            least.map_or("".into(), |l| format!("{:.0}%", l * 100.0)),
        );
    }
}
