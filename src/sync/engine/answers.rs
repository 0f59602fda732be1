//! Answers: [`SyncEngine::handle_response`] takes the answer to a request (or why none came)
//! and routes it: redirects, oversized bodies, 429s, 401s and 5xx first, then the answer for
//! its job (a token, a list page, a write, a lookup, a parking). Retries and giving up live
//! here too.

use super::apply::Ending;
use super::jobs::{Job, JobKind};
use super::state::Stage;
use super::{Event, Phase, SyncEngine};
use crate::http::{RequestId, Response, TransportError, MAX_RESPONSE_BYTES};
use crate::planner::ActionKind;
use crate::platform::wire::{Auth, Cursor, Lookup};
use crate::platform::TargetFormat;
use crate::sync::pace::{rate_limit_budget, retry_after_wait, Verdict};
use crate::sync::report::RunErrorCode;
use crate::time::Instant;

impl SyncEngine {
    /// Hands back the answer to request `id`, or why none came, at time `now`.
    pub fn handle_response(&mut self, id: RequestId, now: u64, result: Result<Response, TransportError>) {
        let now = Instant::from_ms(now);
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
        if result.is_ok() {
            self.answered = true;
        }
        match result {
            Err(e @ TransportError::Unreachable(..)) if !self.answered => {
                // Never sent, and nothing ever answered: a wrong address does not get better
                // with retries.
                let host = self.host();
                self.stop(
                    RunErrorCode::PlatformUnreachable,
                    format!("cannot reach {host}: {e}; check the base URL and the network"),
                    now,
                );
            }
            Err(TransportError::Redirected) => self.on_redirect(job, None, now),
            Err(TransportError::TooLarge) => self.on_too_large(job, now),
            Err(e) => self.on_transport_error(job, e, now),
            Ok(resp) if (300..400).contains(&resp.status) => self.on_redirect(job, Some(&resp), now),
            Ok(resp) if resp.status == 429 => self.on_rate_limited(job, resp, now),
            Ok(resp) if resp.status == 401 && job.kind != JobKind::Token && matches!(self.auth, Auth::OAuthClient) => {
                job.auth_retries += 1;
                if job.auth_retries > 2 {
                    self.stop(
                        RunErrorCode::AuthFailed,
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
                self.stop(
                    RunErrorCode::AuthFailed,
                    format!("the platform refused the credentials (HTTP 401): {detail}"),
                    now,
                );
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
    pub(super) fn pace_answer(&mut self, result: &Result<Response, TransportError>, now: Instant) {
        let share = self.options.rate_for(self.platform).map_or(1.0, |r| r.share);
        let Some(rate) = &mut self.rate else { return };
        let verdict = match result {
            Ok(resp) if resp.status == 429 => Verdict::RateLimited,
            Ok(_) => Verdict::Accepted,
            Err(_) => Verdict::Lost,
        };
        rate.on_answer(now, verdict);
        if let (Ok(resp), Verdict::RateLimited) = (result, verdict) {
            // When the budget frees teaches the platform's window (at an event's first 429).
            if let Some(wait) = retry_after_wait(resp, now) {
                rate.learn_reset(now, wait);
            }
        }
        if let Ok(resp) = result {
            let budget = rate_limit_budget(resp, now);
            if !budget.is_empty() {
                rate.observe(now, &budget, share);
            }
        }
    }

    pub(super) fn retry_or_give_up(&mut self, mut job: Job, status: Option<u16>, detail: String, now: Instant) {
        job.failures += 1;
        if job.kind == JobKind::Token {
            // The token is fetched when a request needs it, never queued: note when to try.
            self.counters.token_failures = job.failures;
            if job.failures < self.options.retry.max_attempts {
                self.counters.retries += 1;
                self.counters.token_not_before = now + self.backoff.delay(job.failures);
            } else {
                self.give_up(job, status, detail, now);
            }
            return;
        }
        if job.failures < self.options.retry.max_attempts {
            self.counters.retries += 1;
            let wait = self.backoff.delay(job.failures);
            self.later(job, now + wait);
        } else {
            self.give_up(job, status, detail, now);
        }
    }

    pub(super) fn on_transport_error(&mut self, job: Job, e: TransportError, now: Instant) {
        // Which host, for the message when retries run out (a timeout may be a lost answer,
        // retried; only a platform never reached stops at once, above).
        let e = format!("{}: {e}", self.host());
        match job.kind {
            JobKind::Write(i) if self.actions[i].action == ActionKind::Create => {
                // The create may have taken effect: look before sending it again.
                self.states[i].uncertain = true;
                let mut lookup = Job::new(JobKind::Lookup(i));
                lookup.failures = job.failures;
                self.retry_or_give_up_as(job, lookup, e, now);
            }
            _ => self.retry_or_give_up(job, None, e, now),
        }
    }

    /// The platform's host (and port), for a message: never its path or user information.
    fn host(&self) -> String {
        let base = &self.options.base_url;
        let rest = base.split_once("://").map_or(base.as_str(), |(_, r)| r);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        authority.rsplit_once('@').map_or(authority, |(_, h)| h).to_string()
    }

    /// Counts a failure against `failed` and queues `next` in its place.
    pub(super) fn retry_or_give_up_as(&mut self, failed: Job, mut next: Job, detail: String, now: Instant) {
        next.failures = failed.failures + 1;
        if next.failures < self.options.retry.max_attempts {
            self.counters.retries += 1;
            let wait = self.backoff.delay(next.failures);
            self.later(next, now + wait);
        } else {
            self.give_up(failed, None, format!("{detail}; whether the user was created is unknown"), now);
        }
    }

    pub(super) fn give_up(&mut self, job: Job, status: Option<u16>, detail: String, now: Instant) {
        match job.kind {
            // Retries ran out on 5xx or transport failures: the platform is down, the
            // credentials were not judged.
            JobKind::Token if status == Some(429) => {
                self.stop(RunErrorCode::RateLimited, format!("could not get an access token: {detail}"), now)
            }
            JobKind::Token => {
                self.stop(RunErrorCode::PlatformUnavailable, format!("could not get an access token: {detail}"), now)
            }
            JobKind::List(_) => {
                self.stop(RunErrorCode::ListingFailed, format!("could not read the platform's users: {detail}"), now)
            }
            JobKind::Write(i) | JobKind::Lookup(i) => self.settle(i, Ending::failed(status, detail)),
            JobKind::Park(i) => self
                .settle(i, Ending::failed(status, format!("could not move its value out of the way first: {detail}"))),
        }
    }

    pub(super) fn on_answer(&mut self, job: Job, resp: Response, now: Instant) {
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
                self.settle(i, Ending::failed(Some(resp.status), detail));
            }
        }
    }

    pub(super) fn on_page(&mut self, job: Job, cursor: Cursor, resp: Response, now: Instant) {
        if !resp.is_success() {
            let detail = format!("HTTP {}: {}", resp.status, self.wire.error_detail(&resp));
            return self.stop(
                RunErrorCode::ListingFailed,
                format!("could not read the platform's users: {detail}"),
                now,
            );
        }
        let label = format!(
            "{} users page {}{}",
            self.platform.name(),
            cursor.position,
            if cursor.pass > 0 { " (inactive)" } else { "" }
        );
        let planner = self.stage.planner_mut().expect("planner while listing");
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
                    return self.stop(RunErrorCode::PagingLoop, m, now);
                }
                let no_source = self.stage.planner().is_some_and(|p| p.source_pages() == 0);
                match next {
                    Some(next) => self.ready.push_front(Job::new(JobKind::List(next))),
                    None if self.stage.plans_from_source() && no_source => {
                        // Only a resumed run can get here (start refuses the rest): its source
                        // was not given again. Planning against nothing would deactivate everyone.
                        let m = "the listing finished but the run has no source pages (a resumed run must be given them again); nothing was planned";
                        self.stop(RunErrorCode::InvalidInput, m.into(), now);
                    }
                    None => {
                        let Stage::Listing { planner, pinned } = std::mem::replace(&mut self.stage, Stage::Applying)
                        else {
                            unreachable!("pages are read only while listing")
                        };
                        match pinned {
                            Some(mut plan) => {
                                let users = planner.platform_users();
                                let vetted = crate::sync::pinned::vet_against(&mut plan, &users, &planner);
                                let primary = planner.options().primary();
                                let verdicts =
                                    vetted.map(|()| crate::sync::pinned::check(&plan.actions, &users, primary));
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

    pub(super) fn on_write(&mut self, job: Job, i: usize, resp: Response, now: Instant) {
        let kind = self.actions[i].action;
        if resp.is_success() {
            if kind == ActionKind::Create {
                match self.wire.created_id(&resp) {
                    Some(id) => self.settle(i, Ending::done(Some(id))),
                    // Created, but the answer has no ID: find it.
                    None => self.ready.push_back(Job::new(JobKind::Lookup(i))),
                }
            } else {
                let id = self.actions[i].platform_id.as_deref().map(str::to_string);
                self.settle(i, Ending::done(id));
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
            return self.settle(i, Ending::done_as(id, "already deleted (an earlier answer was lost)"));
        }
        let _ = (job, now);
        let detail = self.wire.error_detail(&resp);
        self.settle(i, Ending::failed(Some(resp.status), detail));
    }

    pub(super) fn on_lookup(&mut self, job: Job, i: usize, resp: Response, now: Instant) {
        if !resp.is_success() && resp.status != 404 {
            let detail = format!("lookup HTTP {}: {}", resp.status, self.wire.error_detail(&resp));
            return self.retry_or_give_up(job, Some(resp.status), detail, now);
        }
        let key = self.actions[i].key.as_deref().unwrap_or_default();
        match self.wire.read_lookup(&resp, key) {
            Lookup::Found(id) if self.states[i].uncertain || !self.states[i].taken => {
                let ending = if self.states[i].uncertain {
                    Ending::done_as(Some(id), "confirmed by a lookup after an answer was lost")
                } else {
                    Ending::done(Some(id))
                };
                self.settle(i, ending)
            }
            Lookup::Found(id) => {
                // Not ours: the listing missed this user. Nothing is created twice; the next
                // run sees the user and reconciles it.
                let reason = "not created: a user with this key already exists (the listing missed it); the next run reconciles it";
                self.settle(i, Ending::skipped_for(id, reason))
            }
            Lookup::Absent if self.states[i].taken && !self.states[i].uncertain => {
                // Refused as taken, yet no user has the key: another unique value (the email)
                // is held by someone else. Sending again would fail the same way.
                let detail = "the platform says a unique value is already taken, but no user has this key: the email is likely held by another user".to_string();
                self.settle(i, Ending::failed(None, detail))
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
                self.settle(i, Ending::failed(None, detail))
            }
            Lookup::Ambiguous(n) => {
                let detail = format!(
                    "the lookup by key found {n} users with this key: which one is this learner's cannot be told; nothing was sent again"
                );
                self.settle(i, Ending::failed(None, detail))
            }
            Lookup::Unreadable(why) => self.retry_or_give_up(job, Some(resp.status), why, now),
        }
    }
}
