//! The one rule for page sizes, shared by every list: a page holds 1 to
//! `PAGE_SIZE_MAX` rows, an absent size means the largest page, and a size
//! outside the range is refused (`page_size`) rather than quietly changed,
//! so an integrator never mistakes a short page for the end of a list.

//!
//! Every paginated list answers the same shape, [`Page`]: its `items` and
//! `next_after_id`, the cursor to send back as `after_id` for the next page
//! (null when the page is the last). The cursor is the id (or sequence
//! number) of the page's last row, so rows added meanwhile are neither
//! skipped nor repeated.

use crate::error::{AppError, AppResult, Code};
use domain::limits::PAGE_SIZE_MAX;
use serde::Serialize;

/// The query parameter naming where a page starts (the previous page's
/// `next_after_id`).
pub const CURSOR_PARAMETER: &str = "after_id";
/// The query parameter naming a page's size.
pub const SIZE_PARAMETER: &str = "limit";

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Send back as `after_id` for the next page; `None` when this page is
    /// the last one.
    pub next_after_id: Option<i64>,
}

impl<T> Page<T> {
    /// `items` read `limit` at a time, ordered by `cursor_of`: a full page
    /// may have a next one, starting after its last row.
    pub fn of(items: Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> i64) -> Page<T> {
        let next_after_id = if items.len() >= limit as usize {
            items.last().map(cursor_of)
        } else {
            None
        };
        Page {
            items,
            next_after_id,
        }
    }

    /// The same page with its items changed (a view for the caller's role).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_after_id: self.next_after_id,
        }
    }
}

pub fn page_size(limit: Option<u32>) -> AppResult<u32> {
    match limit {
        None => Ok(PAGE_SIZE_MAX),
        Some(limit) if (1..=PAGE_SIZE_MAX).contains(&limit) => Ok(limit),
        Some(_) => Err(AppError::new(Code::PageSize).with("max", PAGE_SIZE_MAX)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_page_points_at_the_next_and_a_short_one_ends_the_list() {
        let full = Page::of(vec![3, 5, 8], 3, |n| *n);
        assert_eq!(full.next_after_id, Some(8));
        let last = Page::of(vec![13], 3, |n| *n);
        assert_eq!(last.next_after_id, None);
        assert_eq!(Page::of(Vec::<i64>::new(), 3, |n| *n).next_after_id, None);
    }

    #[test]
    fn a_page_holds_one_to_the_maximum_rows() {
        assert_eq!(page_size(None).unwrap(), PAGE_SIZE_MAX);
        assert_eq!(page_size(Some(1)).unwrap(), 1);
        assert_eq!(page_size(Some(PAGE_SIZE_MAX)).unwrap(), PAGE_SIZE_MAX);
        for refused in [0, PAGE_SIZE_MAX + 1, u32::MAX] {
            let error = page_size(Some(refused)).unwrap_err();
            assert_eq!(error.code(), Code::PageSize);
        }
    }
}
