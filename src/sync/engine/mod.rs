//! The sync state machine. See the module docs of [`crate::sync`] for the protocol.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::config::{Mode, SyncConfig};
use super::http::{Request, RequestId, Response, TransportError, MAX_RESPONSE_BYTES};
use super::moves::Dep;
use super::pace::{rate_limit_budget, Backoff, TokenBucket, Verdict};
use super::redact::Redactor;
use super::report::{Counts, Created, Outcome, Report, RunError, State};
use crate::error::Error;
use crate::options::{PlanOptions, Platform};
use crate::planner::{Action, ActionKind, Held, PageStats, Plan, Planner, Summary, Withheld};
use crate::platform::foundry::FoundryWire;
use crate::platform::learnifier::LearnifierWire;
use crate::platform::scim::ScimWire;
use crate::platform::wire::{Auth, Cursor, Lookup, Wire, WireContext};
use crate::platform::TargetFormat;
use crate::source::SourceFormat;

mod checkpoint;
mod jobs;
mod long_answer;
mod paging;
mod rate_limit;
mod redaction;
mod redirect;
mod token;

use jobs::{ActionState, Counters, Delayed, Job, JobKind};
use token::Token;

/// Where a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    /// Taking source pages; nothing sent yet.
    Reading,
    /// Reading every platform user (full reconciliation).
    Listing,
    /// Sending the plan's writes.
    Applying,
    Done,
}

/// Something the host may show: a phase change or progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Event {
    Phase {
        phase: Phase,
    },
    /// `done` of `total` (total unknown while listing: users read so far).
    Progress {
        phase: Phase,
        done: u32,
        total: Option<u32>,
    },
}

/// A sync run as a state machine: feed it source pages, then poll it for requests to send,
/// hand it their answers with the time, and sleep until [`SyncEngine::poll_timeout`].
pub struct SyncEngine {
    platform: Platform,
    plan_options: PlanOptions,
    config: SyncConfig,
    wire: Box<dyn Wire + Send>,
    auth: Auth,
    planner: Option<Planner>,
    /// A plan made earlier, applied after listing and checking (`with_plan`).
    pinned: Option<Plan<'static>>,
    /// A plan applied as it stands, without listing (`from_plan`).
    prepared: Option<Plan<'static>>,
    actions: Vec<Action<'static>>,
    states: Vec<ActionState>,
    /// Who waits for each action's write, and for each parking.
    dependents: Vec<Vec<usize>>,
    park_dependents: FxHashMap<usize, Vec<usize>>,
    parks: FxHashMap<usize, Action<'static>>,
    plan_summary: Option<Summary>,
    fingerprint: String,
    held: Option<Held>,
    withheld: Option<Withheld>,
    phase: Phase,
    token: Option<Token>,
    token_generation: u64,
    in_flight: FxHashMap<RequestId, (Job, u64)>,
    ready: VecDeque<Job>,
    delayed: BinaryHeap<Reverse<Delayed>>,
    seq: u64,
    rate: Option<TokenBucket>,
    backoff: Backoff,
    /// Stops a listing that does not end.
    paging: paging::PagingGuard,
    events: VecDeque<Event>,
    /// The redactor for this run's credentials and every access token it was given, up to the
    /// token generation it holds (an error can echo a token that was since replaced).
    redactor: Option<(u64, Redactor)>,
    /// Figures and clocks carried across invocations.
    counters: Counters,
    error: Option<RunError>,
    /// This invocation has started (`start`); a resumed engine takes source pages until then.
    running: bool,
    /// This invocation's budget: the request count and the time at which it stops.
    stop_at_requests: Option<u32>,
    deadline: Option<u64>,
    /// The budget ran out: no new request, answers awaited; then suspended.
    stopping: bool,
    suspended: bool,
    /// Why this invocation was suspended other than by its budget (a pause longer than
    /// `retry.maxWaitMs`): the report's error while suspended. Not saved: each invocation
    /// judges afresh.
    suspend_reason: Option<RunError>,
    /// Writes were claimed: the host must save a checkpoint before they go.
    checkpoint_due: bool,
}

impl SyncEngine {
    /// A run with these plan options and settings (both checked).
    pub fn new(options: PlanOptions, config: SyncConfig) -> Result<Self, Error> {
        options.validate()?;
        config.validate(options.platform)?;
        let platform = options.platform;
        let ctx = WireContext {
            base: config.base_url.trim_end_matches('/').to_string(),
            primary: options.primary(),
            page_size: config.page_size,
            foundry: config.foundry.clone(),
            scim: options.scim,
            auto_clear_email: config.auto_clear_email,
        };
        let wire: Box<dyn Wire + Send> = match platform {
            Platform::Foundry => Box::new(FoundryWire { ctx }),
            Platform::Learnifier => Box::new(LearnifierWire { ctx }),
            Platform::Scim => Box::new(ScimWire { ctx }),
        };
        let auth = if config.host_auth { Auth::Host } else { wire.auth(&config.credentials) };
        // A counted token request goes only with room for the request it is for, so the bucket
        // holds at least two: with one, a host that keeps no token between steps would spend
        // every step on a token whose request must wait for the next slot, and lose it.
        let counted_tokens = matches!(auth, Auth::OAuthClient) && wire.token_requests_count_against_rate();
        let burst = if counted_tokens { config.concurrency.max(2) } else { config.concurrency };
        let rate = config.rate_for(platform).map(|r| TokenBucket::new(r.effective_limit(), r.window_ms, burst));
        let backoff = Backoff::new(config.retry.base_ms, config.retry.max_ms, config.seed);
        Ok(SyncEngine {
            platform,
            plan_options: options.clone(),
            wire,
            auth,
            planner: Some(Planner::new(options)?),
            pinned: None,
            prepared: None,
            actions: Vec::new(),
            states: Vec::new(),
            dependents: Vec::new(),
            park_dependents: FxHashMap::default(),
            parks: FxHashMap::default(),
            plan_summary: None,
            fingerprint: String::new(),
            held: None,
            withheld: None,
            phase: Phase::Reading,
            token: None,
            token_generation: 0,
            in_flight: FxHashMap::default(),
            ready: VecDeque::new(),
            delayed: BinaryHeap::new(),
            seq: 0,
            rate,
            backoff,
            paging: paging::PagingGuard::default(),
            events: VecDeque::new(),
            redactor: None,
            counters: Counters { next_id: 1, ..Counters::default() },
            error: None,
            running: false,
            stop_at_requests: None,
            deadline: None,
            stopping: false,
            suspended: false,
            suspend_reason: None,
            checkpoint_due: false,
            config,
        })
    }

    /// A run that applies a plan made earlier: it lists the platform, checks each action
    /// against what the plan saw, and sends only those whose users have not changed.
    ///
    /// The plan is untrusted (see `sync/pinned.rs`): `guards` are the host's (thresholds and
    /// `approve`, never the file's), `protect` is added to the plan's own list; a plan that
    /// contradicts itself is refused here ([`Error::PlanRefused`]), one that asks the
    /// platform for what the planner never plans is refused after listing (`PLAN_REFUSED`),
    /// and both guards are recomputed from its actions: a held plan goes through only with
    /// `guards.approve` naming its held fingerprint.
    pub fn with_plan(plan: Plan<'static>, config: SyncConfig, host: &PlanOptions) -> Result<Self, Error> {
        let plan = super::pinned::trusted(plan, host)?;
        let mut engine = SyncEngine::new(plan.options.clone(), config)?;
        engine.config.mode = Mode::Full;
        engine.pinned = Some(plan);
        Ok(engine)
    }

    /// A run that applies `plan` as it stands, without listing the platform: for hosts that
    /// listed it themselves and planned moments before (low-code platforms). As for
    /// [`with_plan`](Self::with_plan), the host's guards apply and a plan that contradicts
    /// itself is refused; both guards are recomputed from its actions at once. With no
    /// listing, administrators and unmanaged users cannot be told apart and the share of the
    /// mass-change guard is taken of the plan's own count of platform users.
    pub fn from_plan(plan: Plan<'static>, config: SyncConfig, host: &PlanOptions) -> Result<Self, Error> {
        let mut plan = super::pinned::trusted(plan, host)?;
        let users = plan.summary.platform_users;
        crate::planner::guards::reapply(&mut plan, users).map_err(Error::PlanRefused)?;
        let mut engine = SyncEngine::new(plan.options.clone(), config)?;
        engine.config.mode = Mode::Full;
        engine.prepared = Some(plan);
        Ok(engine)
    }

    /// Adds a page of the system of record (before [`start`](Self::start)).
    pub fn add_source(&mut self, bytes: &[u8], format: SourceFormat, label: &str) -> Result<PageStats, Error> {
        match (&mut self.planner, self.running) {
            (Some(p), false) => p.add_source(bytes, format, label),
            _ => Err(Error::InvalidOptions("source pages must be added before the sync starts".into())),
        }
    }

    /// Whether the run still needs the source pages: before it plans (a new run, or one
    /// resumed while listing, whose checkpoint keeps the platform's users but not the source).
    pub fn needs_source(&self) -> bool {
        self.planner.is_some() && !self.running && self.prepared.is_none() && self.pinned.is_none()
    }

    /// Starts the run, or this invocation of a resumed one: a full sync starts listing the
    /// platform; a delta sync plans at once. Refused for a run resumed while listing that was
    /// given no source pages (it would plan against an empty source).
    pub fn start(&mut self, now: u64) -> Result<(), Error> {
        if self.running {
            return Ok(());
        }
        // (Only a full sync lists, so a run resumed while listing is one.)
        let full = self.config.mode == Mode::Full;
        if full && self.needs_source() && self.planner.as_ref().is_some_and(|p| p.source_pages() == 0) {
            // A full sync planned against no source would deactivate everyone.
            return Err(match self.phase {
                Phase::Listing => Error::InvalidCheckpoint(
                    "the run was resumed while listing the platform: add the source pages again before starting".into(),
                ),
                _ => Error::InvalidInput("no source pages: add the system of record's pages before starting".into()),
            });
        }
        self.running = true;
        self.counters.invocations += 1;
        let budget = self.config.budget.unwrap_or_default();
        self.stop_at_requests = budget.requests.map(|n| self.counters.requests.saturating_add(n));
        self.deadline = budget.ms.map(|ms| now.saturating_add(ms));
        if self.phase != Phase::Reading {
            self.events.push_back(Event::Phase { phase: self.phase });
            return Ok(());
        }
        self.counters.started_at = Some(now);
        if let Some(plan) = self.prepared.take() {
            self.planner = None;
            self.apply(plan, now);
            return Ok(());
        }
        match self.config.mode {
            Mode::Full => {
                self.set_phase(Phase::Listing);
                self.ready.push_back(Job::new(JobKind::List(self.wire.first_page())));
            }
            Mode::Delta => {
                let planner = self.planner.take().expect("planner until planned");
                let plan = planner.finish_delta().into_owned();
                self.apply(plan, now);
            }
        }
        Ok(())
    }

    /// The plan, once made (after listing in a full sync).
    pub fn plan(&self) -> Option<Plan<'_>> {
        let summary = self.plan_summary.clone()?;
        Some(Plan {
            actions: self.actions.clone(),
            summary,
            options: self.options().clone(),
            fingerprint: self.fingerprint.clone(),
            format: crate::planner::PLAN_FORMAT,
            held: self.held.clone(),
            withheld: self.withheld.clone(),
        })
    }

    fn options(&self) -> &PlanOptions {
        &self.plan_options
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The next event for the host, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn set_phase(&mut self, phase: Phase) {
        self.phase = phase;
        self.events.push_back(Event::Phase { phase });
    }

    fn later(&mut self, job: Job, at: u64) {
        self.seq += 1;
        self.delayed.push(Reverse(Delayed { at, seq: self.seq, job }));
    }

    /// The next request to send now, if one may go: within the concurrency cap, the rate
    /// window, any 429 pause, and after a token where one is needed.
    pub fn poll_transmit(&mut self, now: u64) -> Option<Request> {
        if !self.running || self.suspended || self.checkpoint_due || matches!(self.phase, Phase::Done | Phase::Reading)
        {
            return None;
        }
        if self.budget_spent(now) {
            self.stopping = true;
            self.check_suspend();
        }
        if self.stopping || now < self.counters.paused_until {
            return None;
        }
        while self.delayed.peek().is_some_and(|d| d.0.at <= now) {
            let Reverse(d) = self.delayed.pop().expect("peeked");
            self.ready.push_back(d.job);
        }
        if self.in_flight.len() as u32 >= self.config.concurrency {
            return None;
        }
        let job = if self.needs_token(now) {
            if self.token_in_flight() || self.ready.is_empty() || now < self.counters.token_not_before {
                return None;
            }
            self.token_job()
        } else if self.renewal_due(now) {
            // The token nears its expiry: its successor is asked for while requests go on with it.
            self.token_job()
        } else {
            // Listing is one page at a time: each page says whether another follows.
            *self.ready.front()?
        };
        let rated = self.rated(job.kind);
        if let Some(rate) = &mut self.rate {
            // A token goes only when the request it is for may follow it; a token request the
            // platform does not count takes no slot of its own.
            let requests = if job.kind == JobKind::Token && rated { 2 } else { 1 };
            if rate.next_slots(now, requests) != Some(now) {
                return None;
            }
        }
        if let JobKind::Write(i) | JobKind::Park(i) = job.kind {
            if self.config.claim_batch.is_some() && !self.states[i].claimed {
                // Durable runs: no write goes before a saved checkpoint says it may have.
                self.claim_writes();
                return None;
            }
        }
        if job.kind != JobKind::Token {
            self.ready.pop_front();
        }
        let mut req = match job.kind {
            JobKind::Token => {
                self.wire.token_request(&self.config.credentials).expect("OAuth platforms have a token request")
            }
            JobKind::List(c) => self.wire.list_request(c),
            JobKind::Write(i) => {
                let mut r = self.wire.write_request(&self.actions[i]).expect("only writes are queued");
                if self.states[i].auto_clear {
                    self.wire.mark_auto_clear(&mut r);
                }
                r
            }
            JobKind::Park(i) => self.wire.write_request(&self.parks[&i]).expect("a parking is an update"),
            JobKind::Lookup(i) => {
                let key = self.actions[i].key.as_deref().unwrap_or_default();
                self.wire.lookup_request(key)
            }
        };
        match (&self.auth, job.kind) {
            (_, JobKind::Token) => {}
            (Auth::OAuthClient, _) => {
                let t = self.token.as_mut().expect("token checked above");
                t.spend();
                req.headers.push(("authorization".into(), format!("Bearer {}", t.value)));
            }
            (Auth::Fixed(h), _) => req.headers.push(("authorization".into(), h.clone())),
            (Auth::Host, _) => {}
        }
        if let JobKind::Write(i) | JobKind::Lookup(i) | JobKind::Park(i) = job.kind {
            self.states[i].attempts += 1;
        }
        req.id = self.counters.next_id;
        self.counters.next_id += 1;
        let generation = self.token.as_ref().map_or(0, |t| t.generation);
        self.in_flight.insert(req.id, (job, generation));
        if let (Some(rate), true) = (&mut self.rate, rated) {
            rate.on_send(now);
        }
        self.counters.requests += 1;
        Some(req)
    }

    /// When the host should call [`poll_transmit`](Self::poll_transmit) again if no answer
    /// arrives first: `now` when a request could go at once, `None` when only answers to
    /// requests in flight can move the run on (or it is finished).
    pub fn poll_timeout(&mut self, now: u64) -> Option<u64> {
        if self.checkpoint_due {
            return Some(now);
        }
        if !self.running || self.suspended || self.stopping || matches!(self.phase, Phase::Done | Phase::Reading) {
            return None;
        }
        if self.pause_too_long(now) && !(self.ready.is_empty() && self.delayed.is_empty()) {
            // A run resumed before the platform's pause is over: suspend again, sending nothing.
            self.suspend_rate_limited(now);
            return None;
        }
        let next_delayed = self.delayed.peek().map(|d| d.0.at);
        let has_work = !self.ready.is_empty() || next_delayed.is_some_and(|t| t <= now);
        // A job that is due but blocked (token, concurrency, window) wakes nobody by itself.
        let mut wake: Option<u64> = next_delayed.filter(|&t| t > now);
        if self.needs_token(now) && !self.token_in_flight() && self.counters.token_not_before > now && has_work {
            wake = Some(wake.map_or(self.counters.token_not_before, |w| w.min(self.counters.token_not_before)));
        }
        if has_work && (self.in_flight.len() as u32) < self.config.concurrency {
            // As poll_transmit: a token request (one needed, or a renewal due) that the platform
            // counts goes only with room for the request it is for.
            let token_next = self.needs_token(now) || self.renewal_due(now);
            let requests = if token_next && self.rated(JobKind::Token) { 2 } else { 1 };
            let slot = match &mut self.rate {
                Some(r) => r.next_slots(now, requests),
                None => Some(now),
            };
            let blocked_by_token =
                self.needs_token(now) && (self.token_in_flight() || self.counters.token_not_before > now);
            if let (Some(s), false) = (slot, blocked_by_token) {
                wake = Some(wake.map_or(s, |w| w.min(s)));
            }
        }
        let wake = wake.map(|w| w.max(self.counters.paused_until).max(now));
        if let (Some(w), Some(deadline)) = (wake, self.deadline) {
            if w >= deadline && w > now {
                // The wait would outlast this invocation: stop here and resume later.
                self.stopping = true;
                self.check_suspend();
                return None;
            }
        }
        wake
    }

    /// Whether this invocation's budget is used up.
    fn budget_spent(&self, now: u64) -> bool {
        self.stop_at_requests.is_some_and(|n| self.counters.requests >= n) || self.deadline.is_some_and(|d| now >= d)
    }

    /// Stopping, and every answer in: the invocation is over (see [`checkpoint`](Self::checkpoint)).
    fn check_suspend(&mut self) {
        if self.stopping && self.in_flight.is_empty() && self.phase != Phase::Done && !self.suspended {
            self.suspended = true;
            // Every write sent was answered: claims of writes not sent are let go, so the run
            // resumed from this checkpoint sends them plainly.
            for s in &mut self.states {
                s.claimed = false;
            }
        }
    }

    /// Whether this invocation stopped at its budget before the run finished: save
    /// [`checkpoint`](Self::checkpoint) and resume from it later.
    pub fn is_suspended(&self) -> bool {
        self.suspended
    }

    /// Whether writes were claimed and the host must save [`checkpoint`](Self::checkpoint)
    /// (and then call [`checkpoint_saved`](Self::checkpoint_saved)) before they are sent.
    pub fn wants_checkpoint(&self) -> bool {
        self.checkpoint_due
    }

    /// The host saved the checkpoint it was asked for: the claimed writes may go.
    pub fn checkpoint_saved(&mut self) {
        self.checkpoint_due = false;
    }

    /// Claims the next writes in the queue (up to `claim_batch`, and no more than the request
    /// budget has left), so that a checkpoint records them as possibly sent.
    fn claim_writes(&mut self) {
        let mut room = self.config.claim_batch.unwrap_or(1).max(1);
        if let Some(end) = self.stop_at_requests {
            room = room.min(end.saturating_sub(self.counters.requests).max(1));
        }
        for job in &self.ready {
            if room == 0 {
                break;
            }
            if let JobKind::Write(i) | JobKind::Park(i) = job.kind {
                if !self.states[i].claimed {
                    self.states[i].claimed = true;
                    room -= 1;
                }
            }
        }
        self.checkpoint_due = true;
    }

    /// Hands back the answer to request `id`, or why none came, at time `now`.
    pub fn handle_response(&mut self, id: RequestId, now: u64, result: Result<Response, TransportError>) {
        let Some((mut job, generation)) = self.in_flight.remove(&id) else { return };
        self.note_token();
        if let JobKind::Write(i) | JobKind::Park(i) = job.kind {
            // Answered (or known lost): what happened is now recorded, or looked up.
            self.states[i].claimed = false;
        }
        let result = match result {
            Ok(resp) if resp.body.len() > MAX_RESPONSE_BYTES => Err(TransportError::TooLarge),
            other => other,
        };
        if self.rated(job.kind) {
            // A request the platform does not count says nothing of the budget.
            self.pace_answer(&result, now);
        }
        match result {
            Err(TransportError::Redirected) => self.on_redirect(job, None, now),
            Err(TransportError::TooLarge) => self.on_too_large(job, now),
            Err(e) => self.on_transport_error(job, e, now),
            Ok(resp) if (300..400).contains(&resp.status) => self.on_redirect(job, Some(&resp), now),
            Ok(resp) if resp.status == 429 => self.on_rate_limited(job, resp, now),
            Ok(resp) if resp.status == 401 && job.kind != JobKind::Token && matches!(self.auth, Auth::OAuthClient) => {
                job.auth_retries += 1;
                if job.auth_retries > 2 {
                    self.stop(
                        "AUTH_FAILED",
                        "the platform refuses every access token it issues (HTTP 401)".into(),
                        now,
                    );
                } else {
                    self.drop_refused_token(generation);
                    self.counters.retries += 1;
                    self.ready.push_front(job);
                }
            }
            Ok(resp) if resp.status == 401 && job.kind != JobKind::Token => {
                // Fixed credentials that the platform refuses will not get better: stop rather
                // than repeat them (repeated failures can get credentials disabled).
                let detail = self.wire.error_detail(&resp);
                self.stop("AUTH_FAILED", format!("the platform refused the credentials (HTTP 401): {detail}"), now);
            }
            Ok(resp) if resp.status >= 500 => {
                let detail = format!("HTTP {}: {}", resp.status, self.wire.error_detail(&resp));
                self.retry_or_give_up(job, Some(resp.status), detail, now);
            }
            Ok(resp) => self.on_answer(job, resp, now),
        }
        self.check_done(now);
    }

    /// Tells the rate bucket how an answer bears on the budget, and what its `RateLimit-*`
    /// headers say of it.
    fn pace_answer(&mut self, result: &Result<Response, TransportError>, now: u64) {
        let share = self.config.rate_for(self.platform).map_or(1.0, |r| r.share);
        let Some(rate) = &mut self.rate else { return };
        let verdict = match result {
            Ok(resp) if resp.status == 429 => Verdict::RateLimited,
            Ok(_) => Verdict::Accepted,
            Err(_) => Verdict::Lost,
        };
        rate.on_answer(now, verdict);
        if let Ok(resp) = result {
            let budget = rate_limit_budget(resp, now);
            if !budget.is_empty() {
                rate.observe(now, &budget, share);
            }
        }
    }

    fn retry_or_give_up(&mut self, mut job: Job, status: Option<u16>, detail: String, now: u64) {
        job.failures += 1;
        if job.kind == JobKind::Token {
            // The token is fetched when a request needs it, never queued: note when to try.
            self.counters.token_failures = job.failures;
            if job.failures < self.config.retry.max_attempts {
                self.counters.retries += 1;
                self.counters.token_not_before = now + self.backoff.delay(job.failures);
            } else {
                self.give_up(job, status, detail, now);
            }
            return;
        }
        if job.failures < self.config.retry.max_attempts {
            self.counters.retries += 1;
            let wait = self.backoff.delay(job.failures);
            self.later(job, now + wait);
        } else {
            self.give_up(job, status, detail, now);
        }
    }

    fn on_transport_error(&mut self, job: Job, e: TransportError, now: u64) {
        match job.kind {
            JobKind::Write(i) if self.actions[i].action == ActionKind::Create => {
                // The create may have taken effect: look before sending it again.
                self.states[i].uncertain = true;
                let mut lookup = Job::new(JobKind::Lookup(i));
                lookup.failures = job.failures;
                self.retry_or_give_up_as(job, lookup, e.to_string(), now);
            }
            _ => self.retry_or_give_up(job, None, e.to_string(), now),
        }
    }

    /// Counts a failure against `failed` and queues `next` in its place.
    fn retry_or_give_up_as(&mut self, failed: Job, mut next: Job, detail: String, now: u64) {
        next.failures = failed.failures + 1;
        if next.failures < self.config.retry.max_attempts {
            self.counters.retries += 1;
            let wait = self.backoff.delay(next.failures);
            self.later(next, now + wait);
        } else {
            self.give_up(failed, None, format!("{detail}; whether the user was created is unknown"), now);
        }
    }

    fn give_up(&mut self, job: Job, status: Option<u16>, detail: String, now: u64) {
        match job.kind {
            // Retries ran out on 5xx or transport failures: the platform is down, the
            // credentials were not judged.
            JobKind::Token if status == Some(429) => {
                self.stop("RATE_LIMITED", format!("could not get an access token: {detail}"), now)
            }
            JobKind::Token => {
                self.stop("PLATFORM_UNAVAILABLE", format!("could not get an access token: {detail}"), now)
            }
            JobKind::List(_) => {
                self.stop("LISTING_FAILED", format!("could not read the platform's users: {detail}"), now)
            }
            JobKind::Write(i) | JobKind::Lookup(i) => self.settle(i, State::Failed, None, status, Some(detail), None),
            JobKind::Park(i) => self.settle(
                i,
                State::Failed,
                None,
                status,
                Some(format!("could not move its value out of the way first: {detail}")),
                None,
            ),
        }
    }

    /// Ends the run early: every action without an outcome fails with the reason.
    fn stop(&mut self, code: &str, message: String, now: u64) {
        let message = self.redact(&message);
        self.error = Some(RunError { code: code.into(), message: message.clone() });
        self.ready.clear();
        self.delayed.clear();
        for i in 0..self.states.len() {
            if self.states[i].outcome.is_none() {
                self.settle(i, State::Failed, None, None, Some(format!("not sent: {message}")), None);
            }
        }
        self.finish(now);
    }

    fn finish(&mut self, now: u64) {
        if self.phase != Phase::Done {
            self.counters.finished_at = Some(now);
            self.set_phase(Phase::Done);
        }
    }

    fn check_done(&mut self, now: u64) {
        if self.phase == Phase::Applying
            && self.counters.writes_settled == self.counters.writes_total
            && self.in_flight.is_empty()
        {
            self.finish(now);
        }
        self.check_suspend();
    }

    fn on_answer(&mut self, job: Job, resp: Response, now: u64) {
        match job.kind {
            JobKind::Token => self.on_token(job, resp, now),
            JobKind::List(cursor) => self.on_page(job, cursor, resp, now),
            JobKind::Write(i) => self.on_write(job, i, resp, now),
            JobKind::Lookup(i) => self.on_lookup(job, i, resp, now),
            JobKind::Park(i) if resp.is_success() => {
                for d in self.park_dependents.remove(&i).unwrap_or_default() {
                    self.release(d, true);
                }
            }
            JobKind::Park(i) => {
                let detail =
                    format!("could not move its value out of the way first: {}", self.wire.error_detail(&resp));
                self.settle(i, State::Failed, None, Some(resp.status), Some(detail), None);
            }
        }
    }

    fn on_page(&mut self, job: Job, cursor: Cursor, resp: Response, now: u64) {
        if !resp.is_success() {
            let detail = format!("HTTP {}: {}", resp.status, self.wire.error_detail(&resp));
            return self.stop("LISTING_FAILED", format!("could not read the platform's users: {detail}"), now);
        }
        let label = format!(
            "{} users page {}{}",
            self.platform.name(),
            cursor.position,
            if cursor.pass > 0 { " (inactive)" } else { "" }
        );
        let planner = self.planner.as_mut().expect("planner while listing");
        match planner.add_target(&resp.body, TargetFormat::Auto, &label) {
            Ok(stats) => {
                self.counters.pages_read += 1;
                self.counters.users_read += stats.records;
                self.events.push_back(Event::Progress {
                    phase: Phase::Listing,
                    done: self.counters.users_read,
                    total: None,
                });
                let next = self.wire.next_page(cursor, &resp, stats.records, stats.has_more);
                let says_more = self.wire.says_more(&resp, stats.has_more);
                let goes_on = next.is_some_and(|n| n.pass == cursor.pass);
                if let Err(why) = self.paging.check(cursor, &stats, says_more, goes_on) {
                    let m = format!("the platform's listing does not end: {why}; nothing was written");
                    return self.stop("PAGING_LOOP", m, now);
                }
                let planner = self.planner.as_mut().expect("planner while listing");
                match next {
                    Some(next) => self.ready.push_front(Job::new(JobKind::List(next))),
                    None if self.pinned.is_none() && planner.source_pages() == 0 => {
                        // Only a resumed run can get here (start refuses the rest): its source
                        // was not given again. Planning against nothing would deactivate everyone.
                        let m = "the listing finished but the run has no source pages (a resumed run must be given them again); nothing was planned";
                        self.stop("INVALID_INPUT", m.into(), now);
                    }
                    None => {
                        let planner = self.planner.take().expect("planner while listing");
                        match self.pinned.take() {
                            Some(mut plan) => {
                                let users = planner.platform_users();
                                let vetted = super::pinned::vet_against(&mut plan, &users, &planner);
                                let primary = planner.options().primary();
                                let verdicts = vetted.map(|()| super::pinned::check(&plan.actions, &users, primary));
                                drop(users);
                                match verdicts {
                                    Ok(verdicts) => self.apply_checked(plan, verdicts, now),
                                    Err(why) => self.refuse(plan, &why, now),
                                }
                            }
                            None => {
                                let plan = planner.finish().into_owned();
                                self.apply(plan, now);
                            }
                        }
                    }
                }
            }
            // A garbled page may be a passing fault: read it again.
            Err(e) => self.retry_or_give_up(job, Some(resp.status), e.to_string(), now),
        }
    }

    fn on_write(&mut self, job: Job, i: usize, resp: Response, now: u64) {
        let kind = self.actions[i].action;
        if resp.is_success() {
            if kind == ActionKind::Create {
                match self.wire.created_id(&resp) {
                    Some(id) => self.settle(i, State::Done, Some(id), None, None, None),
                    // Created, but the answer has no ID: find it.
                    None => self.ready.push_back(Job::new(JobKind::Lookup(i))),
                }
            } else {
                let id = self.actions[i].platform_id.as_deref().map(str::to_string);
                self.settle(i, State::Done, id, None, None, None);
            }
            return;
        }
        let uncertain = self.states[i].uncertain;
        if kind == ActionKind::Create && self.wire.is_uniqueness_error(&resp) && !self.states[i].taken {
            // Our own earlier create whose answer was lost, or a user the listing missed
            // (pages shifted while they were read): look before deciding.
            self.states[i].taken = true;
            return self.ready.push_back(Job::new(JobKind::Lookup(i)));
        }
        if kind == ActionKind::Delete && resp.status == 404 && uncertain {
            let id = self.actions[i].platform_id.as_deref().map(str::to_string);
            return self.settle(
                i,
                State::Done,
                id,
                None,
                None,
                Some("already deleted (an earlier answer was lost)".into()),
            );
        }
        let _ = (job, now);
        let detail = self.wire.error_detail(&resp);
        self.settle(i, State::Failed, None, Some(resp.status), Some(detail), None);
    }

    fn on_lookup(&mut self, job: Job, i: usize, resp: Response, now: u64) {
        if !resp.is_success() && resp.status != 404 {
            let detail = format!("lookup HTTP {}: {}", resp.status, self.wire.error_detail(&resp));
            return self.retry_or_give_up(job, Some(resp.status), detail, now);
        }
        let key = self.actions[i].key.as_deref().unwrap_or_default();
        match self.wire.read_lookup(&resp, key) {
            Lookup::Found(id) if self.states[i].uncertain || !self.states[i].taken => {
                let note =
                    self.states[i].uncertain.then(|| "confirmed by a lookup after an answer was lost".to_string());
                self.settle(i, State::Done, Some(id), None, None, note)
            }
            Lookup::Found(id) => {
                // Not ours: the listing missed this user. Nothing is created twice; the next
                // run sees the user and reconciles it.
                let reason = "not created: a user with this key already exists (the listing missed it); the next run reconciles it";
                self.settle(i, State::Skipped, Some(id), None, None, Some(reason.into()))
            }
            Lookup::Absent if self.states[i].taken && !self.states[i].uncertain => {
                // Refused as taken, yet no user has the key: another unique value (the email)
                // is held by someone else. Sending again would fail the same way.
                let detail = "the platform says a unique value is already taken, but no user has this key: the email is likely held by another user".to_string();
                self.settle(i, State::Failed, None, None, Some(detail), None)
            }
            Lookup::Absent => {
                // Not there: the earlier create did not take effect. Send it again.
                self.states[i].uncertain = false;
                let mut again = Job::new(JobKind::Write(i));
                again.failures = job.failures;
                self.ready.push_back(again);
            }
            Lookup::Unmatched(n) => {
                // The platform ignored the filter: whether a user has the key is unknown, and
                // sending the create again could make a second account. Never taken as done.
                let unknown =
                    if self.states[i].uncertain { "whether the user was created" } else { "who holds the key" };
                let detail = format!(
                    "the lookup by key listed {n} other user(s) and none with this key (the platform ignored the filter): {unknown} is unknown; nothing was sent again"
                );
                self.settle(i, State::Failed, None, None, Some(detail), None)
            }
            Lookup::Ambiguous(n) => {
                let detail = format!(
                    "the lookup by key found {n} users with this key: which one is this learner's cannot be told; nothing was sent again"
                );
                self.settle(i, State::Failed, None, None, Some(detail), None)
            }
            Lookup::Unreadable(why) => self.retry_or_give_up(job, Some(resp.status), why, now),
        }
    }

    /// Gives action `i` its terminal state.
    fn settle(
        &mut self,
        i: usize,
        state: State,
        id: Option<String>,
        status: Option<u16>,
        error: Option<String>,
        reason: Option<String>,
    ) {
        if self.states[i].outcome.is_some() {
            return;
        }
        let error = error.map(|e| self.redact(&e));
        let outcome = Outcome::of(&self.actions[i], state, self.states[i].attempts);
        let platform_id = id.or(outcome.platform_id.clone());
        self.states[i].outcome = Some(Outcome { platform_id, status, error, reason, ..outcome });
        if self.states[i].queued {
            self.counters.writes_settled += 1;
            self.events.push_back(Event::Progress {
                phase: Phase::Applying,
                done: self.counters.writes_settled,
                total: Some(self.counters.writes_total),
            });
        }
        let note = self.states[i].note.clone();
        if let Some(o) = self.states[i].outcome.as_mut() {
            if o.reason.is_none() && state == State::Done {
                o.reason = note;
            }
        }
        let ok = state == State::Done;
        let mut waiting = std::mem::take(&mut self.dependents[i]);
        if !ok {
            waiting.extend(self.park_dependents.remove(&i).unwrap_or_default());
        }
        for d in waiting {
            self.release(d, ok);
        }
    }

    /// A write `d` waited for is done (`ok`) or will not happen.
    fn release(&mut self, d: usize, ok: bool) {
        if self.states[d].outcome.is_some() {
            return;
        }
        if !ok {
            let reason =
                "not sent: it takes a unique value another write was to free first, and that write did not happen";
            return self.settle(d, State::Skipped, None, None, None, Some(reason.into()));
        }
        self.states[d].waiting = self.states[d].waiting.saturating_sub(1);
        if self.states[d].waiting == 0 {
            self.ready.push_back(Job::new(JobKind::Write(d)));
        }
    }

    /// Takes the plan and queues its writes; the rest are skipped with their reason.
    fn apply(&mut self, plan: Plan<'static>, now: u64) {
        let none = vec![None; plan.actions.len()];
        self.apply_checked(plan, none, now);
    }

    /// As [`apply`](Self::apply), skipping the actions a pinned-plan check refused.
    fn apply_checked(&mut self, plan: Plan<'static>, verdicts: Vec<Option<String>>, now: u64) {
        self.plan_summary = Some(plan.summary);
        self.fingerprint = plan.fingerprint;
        self.actions = plan.actions;
        self.held = plan.held;
        self.withheld = plan.withheld;
        self.states = (0..self.actions.len()).map(|_| ActionState::default()).collect();
        self.dependents = vec![Vec::new(); self.actions.len()];
        self.set_phase(Phase::Applying);
        for (i, verdict) in verdicts.iter().enumerate() {
            let a = &self.actions[i];
            let writes = self.wire.write_request(a).is_some();
            let blocked = match (&self.held, a.withheld, verdict) {
                (Some(h), _, _) => Some(format!("held by the mass-change guard: {}", h.reason)),
                (None, true, _) => self.withheld.as_ref().map(|w| w.reason.clone()),
                (None, false, Some(changed)) => Some(changed.clone()),
                (None, false, None) => None,
            };
            if let (true, Some(reason)) = (writes, blocked) {
                self.settle(i, State::Skipped, None, None, None, Some(reason));
                continue;
            }
            if writes && !self.config.dry_run {
                self.counters.writes_total += 1;
                self.states[i].queued = true;
                continue;
            }
            let reason = match a.action {
                _ if writes => "dry run: nothing is sent".to_string(),
                ActionKind::Review => "orphan listed for review; nothing is sent".to_string(),
                ActionKind::Conflict | ActionKind::Invalid => a.reason.as_deref().unwrap_or("not usable").to_string(),
                other => format!("{} is not possible on {}", other.name(), self.platform.name()),
            };
            self.settle(i, State::Skipped, None, None, None, Some(reason));
        }
        self.schedule_writes();
        self.check_done(now);
    }

    /// Refuses a pinned plan as a whole: every write is skipped with the reason, nothing is
    /// sent, and the run ends with `PLAN_REFUSED`.
    fn refuse(&mut self, mut plan: Plan<'static>, why: &str, now: u64) {
        let message = format!("the plan was refused: {why}; nothing was sent");
        // What the file says of its guards was not recomputed: the report does not repeat it.
        (plan.held, plan.withheld) = (None, None);
        let verdicts = vec![Some(message.clone()); plan.actions.len()];
        self.apply_checked(plan, verdicts, now);
        self.error = Some(RunError { code: "PLAN_REFUSED".into(), message });
        self.finish(now);
    }

    /// Queues the writes, each after the writes that free a unique value it takes.
    fn schedule_writes(&mut self) {
        let queued: Vec<bool> = self.states.iter().map(|s| s.queued).collect();
        let moves = super::moves::order(&self.actions, &queued, self.plan_options.primary(), self.platform);
        for (i, deps) in moves.waits_on.iter().enumerate() {
            for d in deps {
                match *d {
                    Dep::Action(j) => self.dependents[j].push(i),
                    Dep::Park(j) => self.park_dependents.entry(j).or_default().push(i),
                }
            }
            self.states[i].waiting = deps.len() as u32;
        }
        for i in moves.auto_clear {
            self.states[i].auto_clear = true;
        }
        for (i, note) in moves.notes.into_iter().enumerate() {
            self.states[i].note = note;
        }
        for (j, park) in moves.parks {
            self.parks.insert(j, park);
            self.ready.push_back(Job::new(JobKind::Park(j)));
        }
        for i in 0..self.actions.len() {
            if self.states[i].queued && self.states[i].waiting == 0 {
                self.ready.push_back(Job::new(JobKind::Write(i)));
            }
        }
    }

    /// The report so far (final once [`is_finished`](Self::is_finished)).
    pub fn report(&self, now: u64) -> Report {
        let mut counts = Counts::default();
        let mut outcomes = Vec::with_capacity(self.states.len());
        let mut created = Vec::new();
        for s in &self.states {
            let Some(o) = &s.outcome else { continue };
            match o.state {
                State::Done => counts.done += 1,
                State::Failed => counts.failed += 1,
                State::Skipped => counts.skipped += 1,
            }
            // A create refused as taken whose lookup found the user with the learner's key
            // (skipped, with that user's ID) is handed back too: the host has no ID stored for
            // the learner (delta) and would send the same create, refused, every run.
            if o.action == ActionKind::Create && matches!(o.state, State::Done | State::Skipped) {
                if let Some(id) = &o.platform_id {
                    created.push(Created {
                        key: o.key.clone(),
                        platform_id: id.clone(),
                        source: o.source.clone(),
                        row: o.row,
                    });
                }
            }
            outcomes.push(o.clone());
        }
        let end = self.counters.finished_at.unwrap_or(now);
        Report {
            mode: self.config.mode,
            dry_run: self.config.dry_run,
            finished: self.phase == Phase::Done,
            suspended: self.suspended,
            invocations: self.counters.invocations,
            error: self.error.clone().or_else(|| self.suspended.then(|| self.suspend_reason.clone()).flatten()),
            resume_at: (self.suspended && self.suspend_reason.is_some()).then_some(self.counters.paused_until),
            held: self.held.clone(),
            withheld: self.withheld.clone(),
            counts,
            plan: self.plan_summary.clone(),
            fingerprint: self.fingerprint.clone(),
            requests: self.counters.requests,
            retries: self.counters.retries,
            rate_limited: self.counters.rate_limited,
            pages_read: self.counters.pages_read,
            elapsed_ms: end.saturating_sub(self.counters.started_at.unwrap_or(end)),
            created,
            outcomes,
        }
    }
}
