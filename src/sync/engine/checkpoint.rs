//! Checkpoints: a run saved as compact, versioned JSON between invocations, and resumed.
//!
//! ```text
//! invocation 1: SyncEngine::new(plan_options, sync_options{budget}) -> add_source.. -> start(now) -> ..
//!               -> is_suspended() -> checkpoint(now)          (the host stores it: KV, a file)
//! invocation 2: SyncEngine::resume(checkpoint, sync_options{baseUrl, credentials, budget}, Some(&plan_options))
//!               -> add_source.. if needs_source() -> abandon_in_flight(now) -> start(now) -> ..
//! ```
//!
//! A checkpoint holds where the listing is and the users read so far (in the normalised
//! form, so the planner reads them back), or the plan and every action's state, the job
//! queues, the rate bucket, the backoff generator and the counters. It never holds a
//! credential or an access token: the resumed run is given credentials and fetches a token.
//!
//! **Durable runs** (`claimBatch`): before the first of a batch of writes is sent, the engine
//! marks the batch claimed and asks for a checkpoint ([`SyncEngine::wants_checkpoint`]). A run
//! killed before its next checkpoint is resumed from that one: its claimed writes may have been
//! sent, so a claimed create is looked up by key before it is sent again (nobody is created
//! twice), a claimed delete that meets 404 is done, and updates are sent again (they are
//! idempotent). Requests that were in flight when the checkpoint was taken are handed back as
//! lost by [`SyncEngine::abandon_in_flight`], with the same effect.
//!
//! **A checkpoint is hostile input**: it lives in the host's storage (KV, a low-code state
//! field), where it can be edited. Where the platform is (`baseUrl`) and how requests are signed
//! (`hostAuth`, credentials) are never read from it: the host names them at every resume, and a
//! checkpoint for another base URL is a mismatch. The rest is re-validated against the run's
//! own invariants on [`SyncEngine::resume`] (see `check_counters`, `check_jobs`, `check_waits`
//! and `TokenBucket::unsound`): a checkpoint that would wedge the run, send a write twice or one
//! the plan does not send is `INVALID_CHECKPOINT`. No secret is available to sign it with, so a
//! plan edited consistently (other users' IDs) is not detected.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::jobs::{ActionState, Counters, Job, JobKind};
use super::state::Stage;
use super::{Phase, SyncEngine};
use crate::error::Error;
use crate::options::PlanOptions;
use crate::planner::{Action, ActionKind, Held, Plan, Summary, Withheld};
use crate::platform::TargetFormat;
use crate::sync::http::{RequestId, TransportError};
use crate::sync::options::SyncOptions;
use crate::sync::pace::{Backoff, TokenBucket};
use crate::sync::report::{Outcome, RunError, State};
use crate::time::{Duration, Instant};

/// The version of the checkpoint format; a checkpoint of another version is refused.
/// Format 2: the rate is a token bucket with an adapting rate (issue 11), not a window.
pub const CHECKPOINT_FORMAT: u32 = 2;

/// How far past the resuming host's clock a checkpoint's waits may end (at least).
const DAY: Duration = Duration::from_secs(24 * 3_600);

/// Request ids go to JavaScript as numbers: above 2^53 they are no longer exact.
const MAX_REQUEST_ID: u64 = (1 << 53) - 1;

/// Sync options a resumed run may change (the rest must match the checkpoint's).
const MAY_CHANGE: [&str; 7] = ["credentials", "hostAuth", "budget", "claimBatch", "concurrency", "rate", "retry"];

/// What the platform listing has read so far.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SavedListing {
    /// The platform users read so far, as a normalised JSON array.
    users: Box<RawValue>,
    /// A plan made earlier, to apply once the listing is complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pinned: Option<Plan<'static>>,
}

/// The plan being applied.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SavedPlan {
    actions: Vec<Action<'static>>,
    summary: Summary,
    fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    held: Option<Held>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    withheld: Option<Withheld>,
    /// Per action, in order.
    states: Vec<SavedAction>,
    /// Temporary values that break swap cycles: `[action, the parking update]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    parks: Vec<(usize, Action<'static>)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    park_dependents: Vec<(usize, Vec<usize>)>,
}

/// An action's state, and its outcome without what the action itself says.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SavedAction {
    #[serde(flatten)]
    progress: ActionState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state: Option<State>,
    /// The user acted on, where it differs from the action's (a created user's new ID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    platform_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// Actions that wait for this one's write.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    dependents: Vec<usize>,
}

/// A saved run.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Saved {
    /// The format version; its name says what the document is.
    learner_sync_checkpoint: u32,
    #[serde(rename = "options")]
    plan_options: PlanOptions,
    /// The [`SyncOptions`], without credentials (saved under `config`, the format's key).
    #[serde(rename = "config")]
    sync_options: Value,
    phase: Phase,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    listing: Option<SavedListing>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    plan: Option<SavedPlan>,
    ready: Vec<Job>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    delayed: Vec<(Instant, Job)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    in_flight: Vec<(RequestId, Job)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rate: Option<TokenBucket>,
    backoff: Backoff,
    counters: Counters,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<RunError>,
}

impl SyncEngine {
    /// The run as checkpoint JSON, to store and [`resume`](Self::resume) from. Take it when
    /// [`is_suspended`](Self::is_suspended) or [`wants_checkpoint`](Self::wants_checkpoint)
    /// says so, or between any two calls (requests in flight are saved as in flight).
    pub fn checkpoint(&self) -> Vec<u8> {
        let listing = self.stage.planner().map(|planner| {
            let users = String::from_utf8(planner.users_json()).expect("JSON is UTF-8");
            SavedListing {
                users: RawValue::from_string(users).expect("users are JSON"),
                pinned: self.stage.pinned().cloned(),
            }
        });
        let plan = self.plan_summary.as_ref().map(|summary| SavedPlan {
            actions: self.actions.clone(),
            summary: summary.clone(),
            fingerprint: self.fingerprint.clone(),
            held: self.held.clone(),
            withheld: self.withheld.clone(),
            states: self
                .states
                .iter()
                .zip(&self.actions)
                .zip(&self.dependents)
                .map(|((s, a), d)| save_action(s, a, d))
                .collect(),
            parks: sorted(self.parks.iter().map(|(i, a)| (*i, a.clone()))),
            park_dependents: sorted(self.park_dependents.iter().map(|(i, d)| (*i, d.clone()))),
        });
        let mut delayed: Vec<(Instant, u64, Job)> = self.delayed.iter().map(|d| (d.0.at, d.0.seq, d.0.job)).collect();
        // `seq` is unique, so an unstable sort gives the one order (and links no stable sort).
        delayed.sort_unstable_by_key(|d| (d.0, d.1));
        let saved = Saved {
            learner_sync_checkpoint: CHECKPOINT_FORMAT,
            plan_options: self.plan_options.clone(),
            sync_options: serde_json::to_value(&self.options).expect("sync options serialise"),
            phase: self.stage.phase(),
            listing,
            plan,
            ready: self.ready.iter().copied().collect(),
            delayed: delayed.into_iter().map(|(at, _, job)| (at, job)).collect(),
            in_flight: sorted(self.in_flight.iter().map(|(id, (job, _))| (*id, *job))),
            rate: self.rate.clone(),
            backoff: self.backoff.clone(),
            counters: self.counters.clone(),
            error: self.error.clone(),
        };
        serde_json::to_vec(&saved).expect("a checkpoint serialises")
    }

    /// A run carried on from a checkpoint. `sync_options` is a JSON object of [`SyncOptions`]
    /// for this invocation: `baseUrl` (required, and equal to the checkpoint's), `credentials` and
    /// `hostAuth` (never taken from the checkpoint), `budget`, `claimBatch`, `concurrency`,
    /// `rate`, `retry`; any other setting it gives (`mode`…) must equal the checkpoint's. With
    /// `plan_options`, they must equal the checkpoint's too. Every other value is
    /// checked against the run's invariants (`INVALID_CHECKPOINT`).
    /// Requests the checkpoint has in flight stay in flight: hand back their answers, or call
    /// [`abandon_in_flight`](Self::abandon_in_flight) when they will never come.
    pub fn resume(
        checkpoint: &[u8],
        sync_options: &Value,
        plan_options: Option<&PlanOptions>,
    ) -> Result<SyncEngine, Error> {
        let bad = |m: String| Error::InvalidCheckpoint(m);
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Head {
            learner_sync_checkpoint: Option<Value>,
        }
        let head: Head = serde_json::from_slice(checkpoint).map_err(|e| bad(format!("not JSON: {e}")))?;
        match head.learner_sync_checkpoint.as_ref().and_then(Value::as_u64) {
            Some(v) if v == CHECKPOINT_FORMAT as u64 => {}
            Some(v) => {
                return Err(bad(format!("format {v}; this version of learner-sync reads format {CHECKPOINT_FORMAT}")))
            }
            None => return Err(bad("not a learner-sync checkpoint (no learnerSyncCheckpoint format number)".into())),
        }
        let saved: Saved = serde_json::from_slice(checkpoint).map_err(|e| bad(e.to_string()))?;
        if let Some(given) = plan_options {
            if *given != saved.plan_options {
                return Err(Error::CheckpointMismatch(
                    "the plan options differ from the ones the run was started with".into(),
                ));
            }
        }
        let options = merge_sync_options(&saved.sync_options, sync_options)?;
        let mut engine = SyncEngine::new(saved.plan_options, options)?;
        engine.restore(saved.phase, saved.listing, saved.plan)?;
        engine.ready = saved.ready.into_iter().collect();
        for (at, job) in saved.delayed {
            engine.later(job, at);
        }
        let in_flight_count = saved.in_flight.len();
        engine.in_flight = saved.in_flight.into_iter().map(|(id, job)| (id, (job, 0))).collect();
        if engine.in_flight.len() != in_flight_count {
            return Err(Error::InvalidCheckpoint("two requests in flight have the same id".into()));
        }
        if let Some(rate) = saved.rate {
            if let Some(why) = rate.unsound(in_flight_count) {
                return Err(Error::InvalidCheckpoint(why.into()));
            }
            // A resumed run given another budget (`rate` overridden) starts afresh at it.
            if engine.rate.as_ref().is_some_and(|fresh| fresh.same_budget(&rate)) {
                engine.rate = Some(rate);
            }
        }
        engine.backoff = saved.backoff;
        engine.counters = saved.counters;
        engine.error = saved.error;
        engine.check_counters()?;
        engine.check_jobs()?;
        engine.check_waits()?;
        engine.settle_claims();
        Ok(engine)
    }

    /// Hands back every request in flight as lost: the run that sent them stopped before their
    /// answers came (a Worker invocation killed after its last checkpoint). A create among them
    /// is looked up before it is sent again.
    pub fn abandon_in_flight(&mut self, now: u64) {
        let mut ids: Vec<RequestId> = self.in_flight.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            self.handle_response(
                id,
                now,
                Err(TransportError::Network("no answer: the run that sent it stopped".into())),
            );
        }
    }

    /// Refuses a resumed run whose waits end where no run of these settings could have put
    /// them, measured from `now` (the host's clock as it resumes): a token request or a queued
    /// retry held past both the 429 pause and a day (or twice the longest backoff or rate
    /// window), or a rate-window slot freeing past that bound, would hold the run still forever
    /// (or overflow the host's timer). A 429 pause itself may be long, the platform's word (a
    /// run resumed within it suspends again, `RATE_LIMITED`), but not past 2^53 ms. Call it
    /// after [`resume`](Self::resume).
    pub fn check_clock(&self, now: u64) -> Result<(), Error> {
        let now = Instant::from_ms(now);
        let window = self.rate.as_ref().map_or(Duration::ZERO, TokenBucket::window);
        let longest_backoff = Duration::from_ms(self.options.retry.max_ms);
        let ahead = DAY.max(window.saturating_mul(2)).max(longest_backoff.saturating_mul(2));
        let limit = now + ahead;
        let paused = self.counters.paused_until;
        if paused > Instant::LATEST_EXACT {
            return Err(Error::InvalidCheckpoint("the pause after a 429 ends past 2^53 ms".into()));
        }
        let waits = [
            ("the next token request", self.counters.token_not_before, limit.max(paused)),
            ("a queued retry", self.delayed.iter().map(|d| d.0.at).max().unwrap_or_default(), limit.max(paused)),
            ("the rate bucket", self.rate.as_ref().map_or(Instant::ZERO, TokenBucket::latest_wait), limit),
        ];
        for (what, at, bound) in waits {
            if at > bound {
                return Err(Error::InvalidCheckpoint(format!(
                    "{what} waits until {at}, past the 429 pause and more than {} hours past now ({now})",
                    ahead.as_ms() / 3_600_000
                )));
            }
        }
        Ok(())
    }

    /// Whether `id` is a request sent and not yet answered: an answer to any other is not
    /// for this run (the stateless step API refuses it rather than drop it unseen).
    pub fn is_in_flight(&self, id: RequestId) -> bool {
        self.in_flight.contains_key(&id)
    }

    fn restore(&mut self, phase: Phase, listing: Option<SavedListing>, plan: Option<SavedPlan>) -> Result<(), Error> {
        let bad = |m: &str| Error::InvalidCheckpoint(m.into());
        match phase {
            Phase::Reading => {}
            Phase::Listing => {
                let listing = listing.ok_or_else(|| bad("listing, but no users were saved"))?;
                let Stage::Reading { mut planner, .. } = std::mem::replace(&mut self.stage, Stage::Done) else {
                    unreachable!("a new engine is reading")
                };
                planner.add_target(
                    listing.users.get().as_bytes(),
                    TargetFormat::Normalised,
                    "users read before the checkpoint",
                )?;
                self.stage = Stage::Listing { planner, pinned: listing.pinned };
            }
            Phase::Applying | Phase::Done => {
                self.stage = if phase == Phase::Done { Stage::Done } else { Stage::Applying };
                let Some(plan) = plan else {
                    // A run that stopped before it planned (credentials refused).
                    return if phase == Phase::Done { Ok(()) } else { Err(bad("applying, but no plan was saved")) };
                };
                if plan.states.len() != plan.actions.len() {
                    return Err(bad("the action states do not match the plan's actions"));
                }
                let n = plan.actions.len();
                let in_range = |i: &usize| *i < n;
                if !plan.parks.iter().all(|(i, _)| in_range(i))
                    || !plan.park_dependents.iter().all(|(i, d)| in_range(i) && d.iter().all(in_range))
                    || !plan.states.iter().all(|s| s.dependents.iter().all(in_range))
                {
                    return Err(bad("an action index is out of range"));
                }
                self.plan_summary = Some(plan.summary);
                self.fingerprint = plan.fingerprint;
                self.held = plan.held;
                self.withheld = plan.withheld;
                self.dependents = Vec::with_capacity(n);
                self.states = Vec::with_capacity(n);
                for (s, a) in plan.states.into_iter().zip(&plan.actions) {
                    if s.status.is_some_and(|st| !(100..=599).contains(&st)) {
                        return Err(bad("an action's HTTP status is outside 100-599"));
                    }
                    let blocked = self.held.is_some() || a.withheld || self.options.dry_run;
                    if s.progress.queued && (blocked || self.wire.write_request(a).is_none()) {
                        return Err(bad(
                            "an action that sends nothing (held, withheld, a dry run) is marked as queued",
                        ));
                    }
                    let (state, dependents) = restore_action(s, a);
                    self.states.push(state);
                    self.dependents.push(dependents);
                }
                self.actions = plan.actions;
                self.parks = plan.parks.into_iter().collect();
                self.park_dependents = plan.park_dependents.into_iter().collect();
            }
        }
        Ok(())
    }

    /// Refuses counters that disagree with the run, or would wedge or mislead it: progress
    /// figures other than the action states say, and request ids JavaScript cannot hold
    /// exactly or that a new request would reuse (its answer would go to another job).
    fn check_counters(&mut self) -> Result<(), Error> {
        let bad = |m: &str| Err(Error::InvalidCheckpoint(m.into()));
        let queued = self.states.iter().filter(|s| s.queued).count();
        let settled = self.states.iter().filter(|s| s.queued && s.outcome.is_some()).count();
        if self.counters.writes_total as usize != queued || self.counters.writes_settled as usize != settled {
            return bad("the write counts disagree with the actions' states");
        }
        let highest = self.in_flight.keys().copied().max().unwrap_or(0);
        if self.counters.next_id > MAX_REQUEST_ID || highest >= MAX_REQUEST_ID {
            return bad("a request id is beyond 2^53 (JavaScript numbers cannot hold it exactly)");
        }
        // The next id follows every id in flight, so no answer can be taken for another's.
        self.counters.next_id = self.counters.next_id.max(highest + 1).max(1);
        Ok(())
    }

    /// Refuses job queues that name actions the plan does not have, or would send what the
    /// run did not queue: a write or lookup for an action that is not queued (skipped, held,
    /// withheld, a dry run) or already settled, two jobs for one action (a create sent twice),
    /// or a listing request outside the listing.
    fn check_jobs(&self) -> Result<(), Error> {
        let n = self.actions.len();
        let open = |i: usize| i < n && self.states[i].queued && self.states[i].outcome.is_none();
        let ok = |job: &Job, in_flight: bool| match job.kind {
            JobKind::Token => in_flight,
            JobKind::List(_) => matches!(self.stage, Stage::Listing { .. }),
            // An answer in flight may come for an action a stop settled since.
            JobKind::Write(i) | JobKind::Lookup(i) => i < n && self.states[i].queued && (in_flight || open(i)),
            JobKind::Park(i) => self.parks.contains_key(&i),
        };
        let all = self
            .ready
            .iter()
            .map(|j| (j, false))
            .chain(self.delayed.iter().map(|d| (&d.0.job, false)))
            .chain(self.in_flight.values().map(|(j, _)| (j, true)));
        let mut seen = rustc_hash::FxHashSet::default();
        for (job, in_flight) in all {
            let twice = match job.kind {
                JobKind::Token => false,
                JobKind::List(_) => !seen.insert((0, 0)),
                JobKind::Write(i) | JobKind::Lookup(i) => !seen.insert((1, i)),
                JobKind::Park(i) => !seen.insert((2, i)),
            };
            if twice {
                return Err(Error::InvalidCheckpoint(format!("a request ({:?}) is queued twice", job.kind)));
            }
            if !ok(job, in_flight) {
                return Err(Error::InvalidCheckpoint(format!(
                    "a queued request ({:?}) names nothing the run would send",
                    job.kind
                )));
            }
        }
        Ok(())
    }

    /// Refuses waits that could never end: an action waiting for more writes than name it as
    /// their dependent (it would never be sent, and the run never finish).
    fn check_waits(&self) -> Result<(), Error> {
        let mut named = vec![0u32; self.actions.len()];
        let lists = self.dependents.iter().chain(self.park_dependents.values());
        for d in lists.flatten() {
            named[*d] = named[*d].saturating_add(1);
        }
        for (i, s) in self.states.iter().enumerate() {
            if s.outcome.is_none() && s.waiting != named[i] {
                return Err(Error::InvalidCheckpoint(format!(
                    "action {i} waits for {} writes, but {} name it",
                    s.waiting, named[i]
                )));
            }
        }
        Ok(())
    }

    /// Claimed writes not in flight may have been sent by the run that saved the checkpoint:
    /// a create is looked up before it is sent again; a delete that meets 404 is done.
    fn settle_claims(&mut self) {
        let in_flight: Vec<usize> = self
            .in_flight
            .values()
            .filter_map(|(j, _)| match j.kind {
                JobKind::Write(i) | JobKind::Park(i) => Some(i),
                _ => None,
            })
            .collect();
        for i in 0..self.states.len() {
            let s = &mut self.states[i];
            if !s.claimed || s.outcome.is_some() || in_flight.contains(&i) {
                continue;
            }
            s.claimed = false;
            match self.actions[i].action {
                ActionKind::Create => {
                    s.uncertain = true;
                    for job in self.ready.iter_mut() {
                        if job.kind == JobKind::Write(i) {
                            job.kind = JobKind::Lookup(i);
                        }
                    }
                    let delayed = std::mem::take(&mut self.delayed).into_vec();
                    for mut d in delayed {
                        if d.0.job.kind == JobKind::Write(i) {
                            d.0.job.kind = JobKind::Lookup(i);
                        }
                        self.delayed.push(d);
                    }
                }
                ActionKind::Delete => s.uncertain = true,
                _ => {}
            }
        }
    }
}

/// Pairs in the order of their first element (hash maps iterate in no fixed order, and a
/// checkpoint of the same run should be the same bytes). The keys come from a map, so they are
/// unique and an unstable sort gives the one order.
fn sorted<K: Ord + Copy, T>(items: impl Iterator<Item = (K, T)>) -> Vec<(K, T)> {
    let mut v: Vec<(K, T)> = items.collect();
    v.sort_unstable_by_key(|p| p.0);
    v
}

fn save_action(s: &ActionState, a: &Action, dependents: &[usize]) -> SavedAction {
    let o = s.outcome.as_ref();
    SavedAction {
        progress: ActionState { outcome: None, ..s.clone() },
        state: o.map(|o| o.state),
        platform_id: o.and_then(|o| o.platform_id.clone()).filter(|id| Some(id.as_str()) != a.platform_id.as_deref()),
        status: o.and_then(|o| o.status),
        error: o.and_then(|o| o.error.clone()),
        reason: o.and_then(|o| o.reason.clone()),
        dependents: dependents.to_vec(),
    }
}

fn restore_action(s: SavedAction, a: &Action) -> (ActionState, Vec<usize>) {
    let mut state = s.progress;
    state.outcome = s.state.map(|st| {
        let outcome = Outcome::of(a, st, state.attempts);
        let platform_id = s.platform_id.or(outcome.platform_id.clone());
        Outcome { platform_id, status: s.status, error: s.error, reason: s.reason, ..outcome }
    });
    (state, s.dependents)
}

/// The saved sync options with this invocation's; one that is not allowed to change must
/// not.
///
/// Where the platform is and how requests are signed come from the host, never from the
/// checkpoint (which may have been edited to send the credentials elsewhere): `baseUrl` must
/// be given and equal the checkpoint's (`CHECKPOINT_MISMATCH` otherwise, `INVALID_OPTIONS`
/// when it is missing); `hostAuth` and `credentials` are the host's, absent meaning none.
fn merge_sync_options(saved: &Value, given: &Value) -> Result<SyncOptions, Error> {
    let mut merged: Map<String, Value> =
        saved.as_object().cloned().ok_or_else(|| Error::InvalidCheckpoint("config is not an object".into()))?;
    let mut given = match given {
        Value::Object(m) => m.clone(),
        _ => return Err(Error::InvalidOptions("the settings for a resumed run must be an object".into())),
    };
    let Some(Value::String(base)) = given.remove("baseUrl") else {
        return Err(Error::InvalidOptions(
            "baseUrl is required to resume a run: where the platform is (and where the credentials go) is never taken from a checkpoint or a state".into(),
        ));
    };
    let saved_base = merged.get("baseUrl").and_then(Value::as_str).unwrap_or_default();
    if saved_base.trim_end_matches('/') != base.trim_end_matches('/') {
        return Err(Error::CheckpointMismatch(
            "baseUrl differs from the one the run was started with (a checkpoint or state for another platform address, or one edited to send the credentials elsewhere)".into(),
        ));
    }
    merged.insert("baseUrl".into(), Value::String(base));
    merged.remove("credentials");
    merged.remove("hostAuth");
    for (key, value) in given {
        if value.is_null() {
            continue;
        }
        if !MAY_CHANGE.contains(&key.as_str()) {
            // Compare through the settings type, so defaults written out or left out agree.
            let mut one = merged.clone();
            one.insert(key.clone(), value.clone());
            let (a, b) = (parse(&Value::Object(merged.clone()))?, parse(&Value::Object(one))?);
            if serde_json::to_value(&a).ok() != serde_json::to_value(&b).ok() {
                return Err(Error::CheckpointMismatch(format!(
                    "{key} differs from the run's ({key} cannot change while a run is under way)"
                )));
            }
            continue;
        }
        merged.insert(key, value);
    }
    parse(&Value::Object(merged))
}

fn parse(v: &Value) -> Result<SyncOptions, Error> {
    SyncOptions::from_json(v.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_listed_settings_may_change() {
        let saved = serde_json::json!({"baseUrl": "https://api.fifoundry.net", "mode": "full", "concurrency": 4});
        let base = "https://api.fifoundry.net";
        let c = merge_sync_options(
            &saved,
            &serde_json::json!({"baseUrl": base, "concurrency": 2, "budget": {"requests": 40}}),
        )
        .unwrap();
        assert_eq!((c.concurrency, c.budget.unwrap().requests), (2, Some(40)));
        // The same value, written out or left to its default, is no change.
        assert!(merge_sync_options(
            &saved,
            &serde_json::json!({"baseUrl": "https://api.fifoundry.net", "dryRun": false})
        )
        .is_ok());
        let e = merge_sync_options(&saved, &serde_json::json!({"baseUrl": "https://api.fifoundry-sandbox.net"}))
            .unwrap_err();
        assert_eq!(e.code(), "CHECKPOINT_MISMATCH");
        let e = merge_sync_options(&saved, &serde_json::json!({"baseUrl": base, "mode": "delta"})).unwrap_err();
        assert_eq!(e.code(), "CHECKPOINT_MISMATCH");
    }

    #[test]
    fn a_checkpoint_of_another_format_or_kind_is_refused() {
        let sync_options = serde_json::json!({});
        for (text, says) in [
            (r#"{"learnerSyncCheckpoint": 99}"#, "format 99"),
            (r#"{"actions": []}"#, "not a learner-sync checkpoint"),
            ("not json", "not JSON"),
        ] {
            let e = SyncEngine::resume(text.as_bytes(), &sync_options, None).err().expect("refused");
            assert_eq!(e.code(), "INVALID_CHECKPOINT");
            assert!(e.to_string().contains(says), "{e}");
        }
    }
}
