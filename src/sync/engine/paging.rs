//! A listing that does not end is stopped before anything is written.
//!
//! Platforms page their users with a "next" link (Foundry's `links.next`), a header
//! (Learnifier's `X-More`) or a count (SCIM's `totalResults`); without them, a full page means
//! more may follow. A platform on a bad day can keep that going forever: empty pages whose
//! `next` is always set, the same page again and again, full pages with no `links`: each once
//! ran ~30,000 requests in 15 s. After each page, [`PagingGuard::check`] looks for:
//!
//! - an empty page that says more follow, or that ends a listing the platform says holds more
//!   users than were read (an empty page cannot move a listing on);
//! - a page whose users (their IDs, in order) are those of a page read before in this pass;
//! - more pages in a pass than the platform's own total allows (one page of slack, as
//!   listings shift while they are read), and never more than [`MAX_PAGES`] in a pass.
//!
//! Any of them stops the run with `PAGING_LOOP` while it is still listing, so nothing is
//! written. (A SCIM listing that shifts by exactly a page between two reads could repeat one:
//! the run then stops with nothing written, and the next run lists afresh.) The guard is not
//! saved in checkpoints: a run resumed mid-listing starts it afresh, and still stops within two
//! pages of a loop.

use rustc_hash::FxHashSet;

use crate::planner::PageStats;
use crate::platform::wire::Cursor;

/// The most pages read in one pass of a listing (10 million users at Foundry's 100 a page).
pub const MAX_PAGES: u32 = 100_000;

/// What one pass of the listing has read so far.
#[derive(Default)]
pub(super) struct PagingGuard {
    pass: u8,
    pages: u32,
    users: u64,
    largest_page: u32,
    /// The contents of the non-empty pages read in this pass.
    seen: FxHashSet<u64>,
}

impl PagingGuard {
    /// Checks the page read at `cursor`: `says_more` is whether the platform says more pages
    /// follow, `goes_on` whether the listing will read another. The error says what is wrong.
    pub fn check(&mut self, cursor: Cursor, stats: &PageStats, says_more: bool, goes_on: bool) -> Result<(), String> {
        if cursor.pass != self.pass || self.pages == 0 {
            *self = PagingGuard { pass: cursor.pass, ..PagingGuard::default() };
        }
        self.pages += 1;
        self.users += stats.records as u64;
        self.largest_page = self.largest_page.max(stats.records);
        let page = &stats.label;
        if stats.records == 0 {
            if says_more || goes_on {
                return Err(format!("{page} came back empty, yet says more pages follow"));
            }
            if let Some(total) = stats.total.filter(|&t| t > self.users) {
                return Err(format!(
                    "{page} came back empty, yet the platform says it has {total} users and {} were read",
                    self.users
                ));
            }
            return Ok(());
        }
        if !self.seen.insert(stats.content) {
            return Err(format!("{page} holds the same users as a page read before"));
        }
        if !goes_on {
            return Ok(());
        }
        if let Some(total) = stats.total {
            let allowed = total.div_ceil(self.largest_page.max(1) as u64) + 1;
            if self.pages as u64 > allowed {
                return Err(format!(
                    "{page} is more than the {allowed} pages the {total} users the platform says it has allow"
                ));
            }
        }
        if self.pages >= MAX_PAGES {
            return Err(format!("{page} reaches the ceiling of {MAX_PAGES} pages a listing may have"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(records: u32, content: u64, total: Option<u64>) -> PageStats {
        PageStats { label: "users".into(), records, invalid: 0, has_more: None, total, content }
    }

    const P0: fn(u64) -> Cursor = |position| Cursor { pass: 0, position };

    #[test]
    fn a_repeated_page_is_a_loop_but_the_same_page_in_another_pass_is_not() {
        let mut g = PagingGuard::default();
        assert!(g.check(P0(1), &stats(100, 7, None), true, true).is_ok());
        assert!(g.check(P0(2), &stats(100, 8, None), true, true).is_ok());
        assert!(g.check(P0(3), &stats(100, 7, None), true, true).unwrap_err().contains("same users"));
        let mut g = PagingGuard::default();
        assert!(g.check(P0(1), &stats(3, 7, None), false, true).is_ok());
        assert!(g.check(Cursor { pass: 1, position: 1 }, &stats(3, 7, None), false, false).is_ok());
    }

    #[test]
    fn an_empty_page_that_says_more_follow_is_a_loop_and_an_empty_last_page_is_not() {
        let mut g = PagingGuard::default();
        assert!(g.check(P0(1), &stats(0, 0, Some(40)), true, true).unwrap_err().contains("empty"));
        let mut g = PagingGuard::default();
        assert!(g.check(P0(1), &stats(0, 0, Some(0)), false, false).is_ok());
        // SCIM: an empty page ends the listing, but the platform said it had more.
        let mut g = PagingGuard::default();
        assert!(g.check(P0(1), &stats(0, 0, Some(4)), false, false).unwrap_err().contains("says it has 4 users"));
    }

    #[test]
    fn more_pages_than_the_total_allows_is_a_loop() {
        let mut g = PagingGuard::default();
        for i in 1..=4 {
            assert!(g.check(P0(i), &stats(100, i, Some(250)), true, true).is_ok(), "page {i}");
        }
        assert!(g.check(P0(5), &stats(100, 5, Some(250)), true, true).unwrap_err().contains("250 users"));
        // The last page is never judged by the count: the listing ends there anyway.
        let mut g = PagingGuard::default();
        assert!(g.check(P0(1), &stats(100, 1, Some(50)), false, false).is_ok());
    }

    #[test]
    fn a_listing_without_a_total_stops_at_the_ceiling() {
        let mut g = PagingGuard::default();
        for i in 1..MAX_PAGES as u64 {
            assert!(g.check(P0(i), &stats(1, i, None), true, true).is_ok());
        }
        assert!(g.check(P0(MAX_PAGES as u64), &stats(1, 0, None), true, true).unwrap_err().contains("ceiling"));
    }
}
