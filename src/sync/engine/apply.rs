//! Applying the plan: the plan's actions become queued writes (each after the writes that free
//! a unique value it takes) or skips with their reason; each action ends in exactly one
//! outcome ([`SyncEngine::settle`]), which releases the writes that waited for it; a run that
//! must stop fails every action still open and finishes.

use super::jobs::{ActionState, Job, JobKind};
use super::state::Stage;
use super::{Event, Phase, SyncEngine};
use crate::planner::{ActionKind, Plan};
use crate::sync::moves::Dep;
use crate::sync::report::{Outcome, RunError, RunErrorCode, State};
use crate::time::Instant;

/// How an action ends: one constructor per outcome, each taking only what that outcome has
/// (a failure has an error and maybe a status, never a reason; a skip a reason, never a status).
pub(super) enum Ending {
    /// The platform confirmed it. `platform_id`: the user, where the action does not name it
    /// (a created user's new ID); `note`: how it was settled, for the report.
    Done { platform_id: Option<String>, note: Option<String> },
    /// It was tried and did not happen: the last HTTP status, if one came, and why (redacted
    /// when settled).
    Failed { status: Option<u16>, error: String },
    /// Nothing was sent for it, and why. `platform_id`: a user found holding its key.
    Skipped { platform_id: Option<String>, reason: String },
}

impl Ending {
    /// Done, on `platform_id` (or the action's own user).
    pub fn done(platform_id: Option<String>) -> Self {
        Ending::Done { platform_id, note: None }
    }

    /// Done, and how it was known (a lookup after a lost answer, a 404 to a repeated delete).
    pub fn done_as(platform_id: Option<String>, note: impl Into<String>) -> Self {
        Ending::Done { platform_id, note: Some(note.into()) }
    }

    /// Failed with the platform's answer (`status`) or without one.
    pub fn failed(status: Option<u16>, error: impl Into<String>) -> Self {
        Ending::Failed { status, error: error.into() }
    }

    /// Not sent, and why.
    pub fn skipped(reason: impl Into<String>) -> Self {
        Ending::Skipped { platform_id: None, reason: reason.into() }
    }

    /// Not sent: user `platform_id` already holds the key.
    pub fn skipped_for(platform_id: String, reason: impl Into<String>) -> Self {
        Ending::Skipped { platform_id: Some(platform_id), reason: reason.into() }
    }

    fn state(&self) -> State {
        match self {
            Ending::Done { .. } => State::Done,
            Ending::Failed { .. } => State::Failed,
            Ending::Skipped { .. } => State::Skipped,
        }
    }
}

impl SyncEngine {
    /// Gives action `i` its terminal state (once: an action already settled keeps its own),
    /// and releases the writes that waited for it.
    pub(super) fn settle(&mut self, i: usize, ending: Ending) {
        if self.states[i].outcome.is_some() {
            return;
        }
        let ok = matches!(ending, Ending::Done { .. });
        let base = Outcome::of(&self.actions[i], ending.state(), self.states[i].attempts);
        let outcome = match ending {
            Ending::Done { platform_id, note } => Outcome {
                platform_id: platform_id.or(base.platform_id.clone()),
                // How its order was arranged, unless how it was settled says more.
                reason: note.or_else(|| self.states[i].note.clone()),
                ..base
            },
            Ending::Failed { status, error } => Outcome { status, error: Some(self.redact(&error)), ..base },
            Ending::Skipped { platform_id, reason } => {
                Outcome { platform_id: platform_id.or(base.platform_id.clone()), reason: Some(reason), ..base }
            }
        };
        self.states[i].outcome = Some(outcome);
        if self.states[i].queued {
            self.counters.writes_settled += 1;
            self.events.push_back(Event::Progress {
                phase: Phase::Applying,
                done: self.counters.writes_settled,
                total: Some(self.counters.writes_total),
            });
        }
        let mut waiting = std::mem::take(&mut self.dependents[i]);
        if !ok {
            waiting.extend(self.park_dependents.remove(&i).unwrap_or_default());
        }
        for d in waiting {
            self.release(d, ok);
        }
    }

    /// A write `d` waited for is done (`ok`) or will not happen.
    pub(super) fn release(&mut self, d: usize, ok: bool) {
        if self.states[d].outcome.is_some() {
            return;
        }
        if !ok {
            let reason =
                "not sent: it takes a unique value another write was to free first, and that write did not happen";
            return self.settle(d, Ending::skipped(reason));
        }
        self.states[d].waiting = self.states[d].waiting.saturating_sub(1);
        if self.states[d].waiting == 0 {
            self.ready.push_back(Job::new(JobKind::Write(d)));
        }
    }

    /// Takes the plan and queues its writes; the rest are skipped with their reason.
    pub(super) fn apply(&mut self, plan: Plan<'static>, now: Instant) {
        let none = vec![None; plan.actions.len()];
        self.apply_checked(plan, none, now);
    }

    /// As [`apply`](Self::apply), skipping the actions a pinned-plan check refused.
    pub(super) fn apply_checked(&mut self, plan: Plan<'static>, verdicts: Vec<Option<String>>, now: Instant) {
        self.plan_summary = Some(plan.summary);
        self.fingerprint = plan.fingerprint;
        self.actions = plan.actions;
        self.held = plan.held;
        self.withheld = plan.withheld;
        self.states = (0..self.actions.len()).map(|_| ActionState::default()).collect();
        self.dependents = vec![Vec::new(); self.actions.len()];
        self.stage = Stage::Applying;
        if !self.options.dry_run {
            // A dry run applies nothing: no "applying" for the host to show, straight to done.
            self.events.push_back(Event::Phase { phase: Phase::Applying });
        }
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
                self.settle(i, Ending::skipped(reason));
                continue;
            }
            if writes && !self.options.dry_run {
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
            self.settle(i, Ending::skipped(reason));
        }
        self.schedule_writes();
        self.check_done(now);
    }

    /// Refuses a pinned plan as a whole: every write is skipped with the reason, nothing is
    /// sent, and the run ends with `PLAN_REFUSED`.
    pub(super) fn refuse(&mut self, mut plan: Plan<'static>, why: &str, now: Instant) {
        let message = format!("the plan was refused: {why}; nothing was sent");
        // What the file says of its guards was not recomputed: the report does not repeat it.
        (plan.held, plan.withheld) = (None, None);
        let verdicts = vec![Some(message.clone()); plan.actions.len()];
        self.apply_checked(plan, verdicts, now);
        self.error = Some(RunError { code: RunErrorCode::PlanRefused, message });
        self.finish(now);
    }

    /// Queues the writes, each after the writes that free a unique value it takes.
    pub(super) fn schedule_writes(&mut self) {
        let queued: Vec<bool> = self.states.iter().map(|s| s.queued).collect();
        let moves = crate::sync::moves::order(&self.actions, &queued, self.plan_options.primary(), self.platform);
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

    /// Ends the run early: every action without an outcome fails with the reason.
    pub(super) fn stop(&mut self, code: RunErrorCode, message: String, now: Instant) {
        let message = self.redact(&message);
        self.error = Some(RunError { code, message: message.clone() });
        self.ready.clear();
        self.delayed.clear();
        for i in 0..self.states.len() {
            if self.states[i].outcome.is_none() {
                self.settle(i, Ending::failed(None, format!("not sent: {message}")));
            }
        }
        self.finish(now);
    }

    pub(super) fn finish(&mut self, now: Instant) {
        if !matches!(self.stage, Stage::Done) {
            self.counters.finished_at = Some(now);
            self.stage = Stage::Done;
            self.events.push_back(Event::Phase { phase: Phase::Done });
        }
    }

    pub(super) fn check_done(&mut self, now: Instant) {
        if matches!(self.stage, Stage::Applying)
            && self.counters.writes_settled == self.counters.writes_total
            && self.in_flight.is_empty()
        {
            self.finish(now);
        }
        self.check_suspend();
    }
}
