//! Applying the plan: the plan's actions become queued writes (each after the writes that free
//! a unique value it takes) or skips with their reason; each action ends in exactly one
//! outcome ([`SyncEngine::settle`]), which releases the writes that waited for it; a run that
//! must stop fails every action still open and finishes.

use super::jobs::{ActionState, Job, JobKind};
use super::{Event, Phase, SyncEngine};
use crate::planner::{ActionKind, Plan};
use crate::sync::moves::Dep;
use crate::sync::report::{Outcome, RunError, State};

impl SyncEngine {
    /// Gives action `i` its terminal state.
    pub(super) fn settle(
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
    pub(super) fn release(&mut self, d: usize, ok: bool) {
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
    pub(super) fn apply(&mut self, plan: Plan<'static>, now: u64) {
        let none = vec![None; plan.actions.len()];
        self.apply_checked(plan, none, now);
    }

    /// As [`apply`](Self::apply), skipping the actions a pinned-plan check refused.
    pub(super) fn apply_checked(&mut self, plan: Plan<'static>, verdicts: Vec<Option<String>>, now: u64) {
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
            self.settle(i, State::Skipped, None, None, None, Some(reason));
        }
        self.schedule_writes();
        self.check_done(now);
    }

    /// Refuses a pinned plan as a whole: every write is skipped with the reason, nothing is
    /// sent, and the run ends with `PLAN_REFUSED`.
    pub(super) fn refuse(&mut self, mut plan: Plan<'static>, why: &str, now: u64) {
        let message = format!("the plan was refused: {why}; nothing was sent");
        // What the file says of its guards was not recomputed: the report does not repeat it.
        (plan.held, plan.withheld) = (None, None);
        let verdicts = vec![Some(message.clone()); plan.actions.len()];
        self.apply_checked(plan, verdicts, now);
        self.error = Some(RunError { code: "PLAN_REFUSED".into(), message });
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
    pub(super) fn stop(&mut self, code: &str, message: String, now: u64) {
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

    pub(super) fn finish(&mut self, now: u64) {
        if self.phase != Phase::Done {
            self.counters.finished_at = Some(now);
            self.set_phase(Phase::Done);
        }
    }

    pub(super) fn check_done(&mut self, now: u64) {
        if self.phase == Phase::Applying
            && self.counters.writes_settled == self.counters.writes_total
            && self.in_flight.is_empty()
        {
            self.finish(now);
        }
        self.check_suspend();
    }
}
