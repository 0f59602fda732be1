//! The sync state machine. See the module docs of [`crate::sync`] for the protocol.
//!
//! Split by concern, as quinn-proto splits its `connection/`:
//! - here: the run ([`SyncEngine`]), its construction and the host's API that only looks or
//!   starts (`add_source`, `start`, `plan`, `poll_event`, `report`);
//! - `transmit.rs`: what goes out next (`poll_transmit`, write claims for durable runs);
//! - `answers.rs`: what came back (`handle_response`), retries and giving up;
//! - `apply.rs`: the plan applied: writes queued in order, one outcome per action, stopping;
//! - `timers.rs`: when to wake (`poll_timeout`), backoff, this invocation's budget;
//! - `checkpoint.rs`, `token.rs`, `rate_limit.rs`, `redirect.rs`, `long_answer.rs`,
//!   `paging.rs`, `redaction.rs`, `jobs.rs`: one bounded concern each.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::options::{Mode, SyncOptions};
use super::pace::{Backoff, TokenBucket};
use super::redact::Redactor;
use super::report::{Counts, Created, RunError, RunErrorCode, State, SyncReport};
use crate::error::Error;
use crate::http::RequestId;
use crate::options::{PlanOptions, Platform};
use crate::planner::{Action, ActionKind, Held, PageStats, Plan, Planner, Summary, Withheld};
use crate::platform::foundry::FoundryWire;
use crate::platform::learnifier::LearnifierWire;
use crate::platform::scim::ScimWire;
use crate::platform::wire::{Auth, Wire, WireContext};
use crate::source::{SourceFormat, SourceText};
use crate::time::{Duration, Instant};

mod answers;
mod apply;
mod checkpoint;
mod jobs;
mod long_answer;
mod paging;
mod rate_limit;
mod redaction;
mod redirect;
mod state;
mod timers;
mod token;
mod transmit;

use jobs::{ActionState, Counters, Delayed, Job, JobKind};
use state::{Allowance, Given, Invocation, Stage};
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
    options: SyncOptions,
    wire: Box<dyn Wire + Send>,
    auth: Auth,
    /// Where the run is, with what only that stage has (the planner, a plan given to apply).
    stage: Stage,
    /// What this invocation is doing (never saved).
    invocation: Invocation,
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
    /// The platform answered something this invocation: from then on a failure to reach it
    /// is a lost connection, retried, not a wrong address. Not saved.
    answered: bool,
}

impl SyncEngine {
    /// A run with these plan options and sync options (both checked).
    pub fn new(plan_options: PlanOptions, options: SyncOptions) -> Result<Self, Error> {
        plan_options.validate()?;
        options.validate(plan_options.platform)?;
        let platform = plan_options.platform;
        let ctx = WireContext {
            base: options.base_url.trim_end_matches('/').to_string(),
            primary: plan_options.primary(),
            page_size: options.page_size,
            foundry: options.foundry.clone(),
            scim: plan_options.scim,
            auto_clear_email: options.auto_clear_email,
        };
        let wire: Box<dyn Wire + Send> = match platform {
            Platform::Foundry => Box::new(FoundryWire { ctx }),
            Platform::Learnifier => Box::new(LearnifierWire { ctx }),
            Platform::Scim => Box::new(ScimWire { ctx }),
        };
        let auth = if options.host_auth { Auth::Host } else { wire.auth(&options.credentials) };
        // A counted token request goes only with room for the request it is for, so the bucket
        // holds at least two: with one, a host that keeps no token between steps would spend
        // every step on a token whose request must wait for the next slot, and lose it.
        let counted_tokens = matches!(auth, Auth::OAuthClient) && wire.token_requests_count_against_rate();
        let burst = if counted_tokens { options.concurrency.max(2) } else { options.concurrency };
        let rate = options
            .rate_for(platform)
            .map(|r| TokenBucket::new(r.effective_limit(), Duration::from_ms(r.window_ms), burst));
        let backoff = Backoff::new(
            Duration::from_ms(options.retry.base_ms),
            Duration::from_ms(options.retry.max_ms),
            options.seed,
        );
        Ok(SyncEngine {
            platform,
            plan_options: plan_options.clone(),
            wire,
            auth,
            stage: Stage::Reading { planner: Planner::new(plan_options)?, given: Given::Nothing },
            invocation: Invocation::Idle,
            actions: Vec::new(),
            states: Vec::new(),
            dependents: Vec::new(),
            park_dependents: FxHashMap::default(),
            parks: FxHashMap::default(),
            plan_summary: None,
            fingerprint: String::new(),
            held: None,
            withheld: None,
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
            answered: false,
            options,
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
    pub fn with_plan(plan: Plan<'static>, options: SyncOptions, host: &PlanOptions) -> Result<Self, Error> {
        let plan = super::pinned::trusted(plan, host)?;
        let mut engine = SyncEngine::new(plan.options.clone(), options)?;
        engine.options.mode = Mode::Full;
        engine.give(Given::Pinned(plan));
        Ok(engine)
    }

    /// A run that applies `plan` as it stands, without listing the platform: for hosts that
    /// listed it themselves and planned moments before (low-code platforms). As for
    /// [`with_plan`](Self::with_plan), the host's guards apply and a plan that contradicts
    /// itself is refused; both guards are recomputed from its actions at once. With no
    /// listing, administrators and unmanaged users cannot be told apart and the share of the
    /// mass-change guard is taken of the plan's own count of platform users.
    pub fn from_plan(plan: Plan<'static>, options: SyncOptions, host: &PlanOptions) -> Result<Self, Error> {
        let mut plan = super::pinned::trusted(plan, host)?;
        let users = plan.summary.platform_users;
        crate::planner::guards::reapply(&mut plan, users).map_err(Error::PlanRefused)?;
        let mut engine = SyncEngine::new(plan.options.clone(), options)?;
        engine.options.mode = Mode::Full;
        engine.give(Given::Prepared(plan));
        Ok(engine)
    }

    /// A new run (still reading) takes `given` instead of planning from the source.
    fn give(&mut self, given: Given) {
        if let Stage::Reading { given: slot, .. } = &mut self.stage {
            *slot = given;
        }
    }

    /// Adds a page of the system of record (before [`start`](Self::start)).
    pub fn add_source(&mut self, bytes: &[u8], format: SourceFormat, label: &str) -> Result<PageStats, Error> {
        self.add_source_as(bytes, format, &SourceText::default(), label)
    }

    /// As [`add_source`](Self::add_source), with the page's declared delimiter or encoding.
    pub fn add_source_as(
        &mut self,
        bytes: &[u8],
        format: SourceFormat,
        text: &SourceText,
        label: &str,
    ) -> Result<PageStats, Error> {
        match (self.stage.planner_mut(), self.invocation.started()) {
            (Some(p), false) => p.add_source_as(bytes, format, text, label),
            _ => Err(Error::InvalidOptions("source pages must be added before the sync starts".into())),
        }
    }

    /// Whether the run still needs the source pages: before it plans (a new run, or one
    /// resumed while listing, whose checkpoint keeps the platform's users but not the source).
    pub fn needs_source(&self) -> bool {
        self.stage.plans_from_source() && !self.invocation.started()
    }

    /// Starts the run, or this invocation of a resumed one: a full sync starts listing the
    /// platform; a delta sync plans at once. Refused for a run resumed while listing that was
    /// given no source pages (it would plan against an empty source).
    pub fn start(&mut self, now: u64) -> Result<(), Error> {
        let now = Instant::from_ms(now);
        if self.invocation.started() {
            return Ok(());
        }
        // (Only a full sync lists, so a run resumed while listing is one.)
        let full = self.options.mode == Mode::Full;
        if full && self.needs_source() && self.stage.planner().is_some_and(|p| p.source_pages() == 0) {
            // A full sync planned against no source would deactivate everyone.
            return Err(match self.stage.phase() {
                Phase::Listing => Error::InvalidCheckpoint(
                    "the run was resumed while listing the platform: add the source pages again before starting".into(),
                ),
                _ => Error::InvalidInput("no source pages: add the system of record's pages before starting".into()),
            });
        }
        self.counters.invocations += 1;
        let budget = self.options.budget.unwrap_or_default();
        self.invocation = Invocation::Running(Allowance {
            requests_until: budget.requests.map(|n| self.counters.requests.saturating_add(n)),
            deadline: budget.ms.map(|ms| now + Duration::from_ms(ms)),
        });
        let Stage::Reading { .. } = self.stage else {
            self.events.push_back(Event::Phase { phase: self.stage.phase() });
            // A run resumed (or answered) before the platform's pause is over: suspended at
            // once, sending nothing.
            if self.pause_too_long(now) && self.has_queued_work() {
                self.suspend_rate_limited(now);
            }
            return Ok(());
        };
        self.counters.started_at = Some(now);
        let Stage::Reading { planner, given } = std::mem::replace(&mut self.stage, Stage::Applying) else {
            unreachable!("reading, as matched above")
        };
        match (given, self.options.mode) {
            (Given::Prepared(plan), _) => self.apply(plan, now),
            (given, Mode::Full) => {
                let pinned = match given {
                    Given::Pinned(plan) => Some(plan),
                    _ => None,
                };
                self.stage = Stage::Listing { planner, pinned };
                self.events.push_back(Event::Phase { phase: Phase::Listing });
                self.ready.push_back(Job::new(JobKind::List(self.wire.first_page())));
            }
            (_, Mode::Delta) => {
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
            options: self.plan_options.clone(),
            fingerprint: self.fingerprint.clone(),
            format: crate::planner::PLAN_FORMAT,
            held: self.held.clone(),
            withheld: self.withheld.clone(),
        })
    }

    pub fn phase(&self) -> Phase {
        self.stage.phase()
    }

    pub fn is_finished(&self) -> bool {
        matches!(self.stage, Stage::Done)
    }

    /// The next event for the host, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Whether this invocation stopped at its budget before the run finished: save
    /// [`checkpoint`](Self::checkpoint) and resume from it later.
    pub fn is_suspended(&self) -> bool {
        matches!(self.invocation, Invocation::Suspended { .. })
    }

    /// Whether writes were claimed and the host must save [`checkpoint`](Self::checkpoint)
    /// (and then call [`checkpoint_saved`](Self::checkpoint_saved)) before they are sent.
    pub fn wants_checkpoint(&self) -> bool {
        matches!(self.invocation, Invocation::AwaitingCheckpoint(_))
    }

    /// The host saved the checkpoint it was asked for: the claimed writes may go.
    pub fn checkpoint_saved(&mut self) {
        if let Invocation::AwaitingCheckpoint(allowance) = self.invocation {
            self.invocation = Invocation::Running(allowance);
        }
    }

    /// The report so far (final once [`is_finished`](Self::is_finished)).
    pub fn report(&self, now: u64) -> SyncReport {
        let now = Instant::from_ms(now);
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
        let suspended = match &self.invocation {
            Invocation::Suspended { reason } => Some(reason),
            _ => None,
        };
        SyncReport {
            mode: self.options.mode,
            dry_run: self.options.dry_run,
            finished: self.is_finished(),
            suspended: suspended.is_some(),
            invocations: self.counters.invocations,
            error: self.error.clone().or_else(|| suspended.cloned().flatten()),
            resume_at: suspended
                .is_some_and(|r| r.as_ref().is_some_and(|e| e.code == RunErrorCode::RateLimited))
                .then_some(self.counters.paused_until.as_ms()),
            held: self.held.clone(),
            withheld: self.withheld.clone(),
            counts,
            plan: self.plan_summary.clone(),
            fingerprint: self.fingerprint.clone(),
            requests: self.counters.requests,
            retries: self.counters.retries,
            rate_limited: self.counters.rate_limited,
            pages_read: self.counters.pages_read,
            elapsed_ms: end.since(self.counters.started_at.unwrap_or(end)).as_ms(),
            created,
            outcomes,
        }
    }
}
