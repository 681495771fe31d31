//! A complete listing of a workspace's keys, disabled ones included, that
//! misses no key and repeats none while keys are created and deleted
//! during it.
//!
//! # The method: overlapping pages, each anchored in what was seen
//!
//! `GET /keys` pages by offset over a list sorted newest first, a page of
//! 100 at a time upstream. A key created during the scan enters at the top
//! and pushes every later key down by one: the next page repeats a key,
//! which is harmless once keys are told apart by hash. A key deleted from
//! a page already read pulls every later key up by one: the next page
//! starts one key late, and the key that moved up is never read. That is
//! the loss this module prevents.
//!
//! Each page after the first is asked for from an offset `overlap` keys
//! before the end of the page before (a tenth of a page, at least one), so
//! that consecutive pages share keys. A page is *anchored* when its first
//! key was already seen: then nothing lies between what was read and this
//! page, because the list's order of the keys that exist throughout never
//! changes. An unanchored page means more keys were deleted above it than
//! the overlap absorbs; the scan steps back one stride and reads again.
//! The scan ends with an anchored page shorter than the longest page seen
//! (the end of the list, at that moment).
//!
//! A key that exists for the whole scan is therefore read at least once,
//! and reported once. A key created or deleted during the scan may or may
//! not be in it.
//!
//! # What it costs
//!
//! A workspace of `n ≥ 100` keys with no change during the scan takes
//! `⌊(n − 10) / 90⌋ + 1` requests at upstream's page of 100 (about 11 %
//! more than plain paging); fewer than 100 keys take two (the scan cannot
//! tell a short list from a small page until it asks again), and none
//! takes one. Each time more than 10 keys above the read position are
//! deleted between two pages costs one request more. It gives up
//! with [`ErrorKind::PageLimit`](crate::ErrorKind::PageLimit) after
//! [`ListOptions::DEFAULT_MAX_PAGES`] requests.

use std::collections::HashSet;

use crate::{ApiKey, Client, Error, ListOptions};

impl Client {
    /// Every key of the workspace `workspace_id` (the account's default
    /// workspace for `None`), disabled ones included, each exactly once,
    /// even while keys are created and deleted during the listing (see the
    /// module's docs for how, and what it costs).
    pub(crate) async fn scan(&self, workspace_id: Option<&str>) -> Result<Vec<ApiKey>, Error> {
        let mut options = ListOptions::new().include_disabled(true);
        options.workspace_id = workspace_id.map(str::to_owned);
        let workspace = options
            .workspace_id
            .as_deref()
            .map(|id| crate::request::check_uuid("workspace_id", id))
            .transpose()?;
        let mut seen = HashSet::new();
        let mut keys = Vec::new();
        let mut offset: u64 = 0;
        // The longest page seen: the server's page size, as far as known.
        let mut page_size = 0;
        // How far the previous page moved the offset, and how many of its
        // keys the next page should repeat.
        let mut stride: u64 = 0;
        let mut overlap = 0;
        let limit = ListOptions::DEFAULT_MAX_PAGES;
        for _ in 0..limit {
            let page = self
                .list_page(&options, workspace.as_ref(), Some(offset))
                .await?;
            // With pages of one key nothing overlaps, and nothing can be
            // checked: such a page is taken as it comes.
            let anchored = offset == 0
                || overlap == 0
                || page.first().is_some_and(|key| seen.contains(&key.hash));
            if !anchored {
                // Keys above were deleted faster than the overlap absorbs,
                // or the list ended above this offset: read again from one
                // stride back.
                offset = offset.saturating_sub(stride.max(1));
                continue;
            }
            page_size = page_size.max(page.len());
            let len = page.len();
            for key in page {
                if seen.insert(key.hash.clone()) {
                    keys.push(key);
                }
            }
            if len < page_size || len == 0 {
                return Ok(keys);
            }
            // A tenth of a page, and at least one key, shared with the next
            // page; none with a page of one, which cannot overlap and move.
            overlap = (len / 10).max(1).min(len - 1);
            stride = (len - overlap) as u64;
            offset += stride;
        }
        Err(Error::page_limit(limit, keys.len()))
    }
}
