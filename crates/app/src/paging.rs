//! The one rule for page sizes, shared by every list: a page holds 1 to
//! `PAGE_SIZE_MAX` rows, an absent size means the largest page, and a size
//! outside the range is refused (`page_size`) rather than quietly changed,
//! so an integrator never mistakes a short page for the end of a list.

use crate::error::{AppError, AppResult, Code};
use domain::limits::PAGE_SIZE_MAX;

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
