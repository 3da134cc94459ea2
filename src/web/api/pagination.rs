//! One shape for every paginated listing of the API.
//!
//! - **Query**: `cursor` (opaque: the `next_cursor` of the page before; absent for the first
//!   page) and `limit` (items per page, 1 to [`MAX_LIMIT`], default [`DEFAULT_LIMIT`]). A cursor
//!   that was not given by the service, or a limit out of range, is a 422 naming the field.
//! - **Body**: `{"items": [...], "next_cursor": "…" | null, "limit": n, "total": n}`: `total`
//!   counts every item of the listing, `next_cursor` is `null` on the last page.
//!
//! A listing takes [`PageParams`] in its query (`params(PageParams)` in its `#[utoipa::path]`),
//! calls [`PageParams::request`] for the offset and limit (as SQL takes them:
//! [`PageRequest::sql`]), and answers [`Page::counted`] (items read with `OFFSET`/`LIMIT` and a
//! `count(*)`), [`Page::new`] or [`Page::of_slice`] (a listing already in memory). A listing
//! filtered by a state reads its `state` with [`state_filter`] (blank is no filter, an unknown
//! state a 422 naming `state`).
//! A listing with more to say than its items (the comparison: cycle, distributions, movers) puts
//! its own fields beside these four, never around them.
//!
//! The cursor is a position in the listing's order, written so that clients treat it as a token
//! (version byte and offset, hexadecimal): when the listing changes between two calls, the next
//! page starts at the same position of the new listing. A consistent whole is an export.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::web::error::AppError;

/// Items per page when `limit` is absent.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest `limit` accepted.
pub const MAX_LIMIT: u32 = 500;

/// The version byte that starts every cursor.
const CURSOR_VERSION: u8 = 1;

/// Which page of a listing.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Opaque: the `next_cursor` of the previous page; absent for the first page.
    pub cursor: Option<String>,
    /// Items per page, 1 to 500 (default 50).
    pub limit: Option<u32>,
}

/// A page as a position and a size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub offset: u64,
    pub limit: u32,
}

impl PageParams {
    /// The page asked for; 422 naming `cursor` or `limit` when either cannot be one.
    pub fn request(&self) -> Result<PageRequest, AppError> {
        let invalid = |field: &str, key: &str| {
            AppError::Validation([(field.to_owned(), key.to_owned())].into())
        };
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(invalid("limit", "field.limit.range"));
        }
        let offset = match self.cursor.as_deref().map(str::trim) {
            None | Some("") => 0,
            Some(cursor) => {
                decode_cursor(cursor).ok_or_else(|| invalid("cursor", "field.cursor.invalid"))?
            }
        };
        Ok(PageRequest { offset, limit })
    }
}

impl PageRequest {
    /// The offset and the limit as SQL's `OFFSET` and `LIMIT` take them (`bigint`).
    pub fn sql(&self) -> (i64, i64) {
        (
            i64::try_from(self.offset).unwrap_or(i64::MAX),
            i64::from(self.limit),
        )
    }
}

/// A listing's `state` filter read with the state type's `parse`: absent or blank is no filter;
/// a state it does not know is a 422 naming `state` (`field.state.unknown`).
pub fn state_filter<S>(
    text: Option<&str>,
    parse: impl FnOnce(&str) -> Option<S>,
) -> Result<Option<S>, AppError> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => parse(text).map(Some).ok_or_else(|| {
            AppError::Validation([("state".to_owned(), "field.state.unknown".to_owned())].into())
        }),
    }
}

/// The cursor of the page that starts at `offset`.
pub fn encode_cursor(offset: u64) -> String {
    let mut bytes = vec![CURSOR_VERSION];
    bytes.extend_from_slice(&offset.to_be_bytes());
    hex::encode(bytes)
}

fn decode_cursor(cursor: &str) -> Option<u64> {
    let bytes = hex::decode(cursor).ok()?;
    let (version, offset) = bytes.split_first()?;
    if *version != CURSOR_VERSION {
        return None;
    }
    Some(u64::from_be_bytes(offset.try_into().ok()?))
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Page<T> {
    /// At most `limit` items, in the listing's order.
    pub items: Vec<T>,
    /// Give it as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// The page size used.
    pub limit: u32,
    /// How many items the whole listing has.
    pub total: u64,
}

impl<T> Page<T> {
    /// The page of `items` read at `request` from a listing of `total` items.
    pub fn new(items: Vec<T>, request: PageRequest, total: u64) -> Self {
        let end = request.offset.saturating_add(items.len() as u64);
        Self {
            next_cursor: (!items.is_empty() && end < total).then(|| encode_cursor(end)),
            items,
            limit: request.limit,
            total,
        }
    }

    /// [`Page::new`] with the total as SQL's `count(*)` gives it.
    pub fn counted(items: Vec<T>, request: PageRequest, total: i64) -> Self {
        Self::new(items, request, u64::try_from(total).unwrap_or(0))
    }

    /// The page at `request` of a listing held in memory.
    pub fn of_slice(all: &[T], request: PageRequest) -> Self
    where
        T: Clone,
    {
        let start = usize::try_from(request.offset)
            .unwrap_or(usize::MAX)
            .min(all.len());
        let end = start.saturating_add(request.limit as usize).min(all.len());
        Self::new(all[start..end].to_vec(), request, all.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(cursor: Option<&str>, limit: Option<u32>) -> PageParams {
        PageParams {
            cursor: cursor.map(str::to_owned),
            limit,
        }
    }

    #[test]
    fn pages_walk_the_whole_listing_once() {
        let all: Vec<u32> = (0..123).collect();
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let request = params(cursor.as_deref(), Some(50)).request().unwrap();
            let page = Page::of_slice(&all, request);
            assert_eq!((page.limit, page.total), (50, 123));
            seen.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, all);
    }

    #[test]
    fn a_cursor_not_given_by_the_service_or_a_limit_out_of_range_names_its_field() {
        let field = |error: AppError| match error {
            AppError::Validation(fields) => fields.keys().cloned().collect::<Vec<_>>(),
            _ => Vec::new(),
        };
        for bad in ["zz", "02000000000000000a", "01", ""] {
            let result = params(Some(bad), None).request();
            if bad.is_empty() {
                assert_eq!(result.unwrap().offset, 0);
            } else {
                assert_eq!(field(result.unwrap_err()), ["cursor"], "{bad}");
            }
        }
        for limit in [0, MAX_LIMIT + 1] {
            assert_eq!(
                field(params(None, Some(limit)).request().unwrap_err()),
                ["limit"]
            );
        }
        assert_eq!(
            params(Some(&encode_cursor(77)), None).request().unwrap(),
            PageRequest {
                offset: 77,
                limit: DEFAULT_LIMIT
            }
        );
    }

    #[test]
    fn a_page_past_the_end_is_empty_and_last() {
        let page = Page::of_slice(
            &[1, 2, 3],
            PageRequest {
                offset: 10,
                limit: 2,
            },
        );
        assert!(page.items.is_empty());
        assert_eq!((page.next_cursor, page.total), (None, 3));
    }

    #[test]
    fn a_state_filter_is_absent_when_blank_and_names_state_when_unknown() {
        let parse = |text: &str| (text == "open").then_some(1);
        assert_eq!(state_filter(None, parse).ok(), Some(None));
        assert_eq!(state_filter(Some("  "), parse).ok(), Some(None));
        assert_eq!(state_filter(Some(" open "), parse).ok(), Some(Some(1)));
        match state_filter(Some("opne"), parse) {
            Err(AppError::Validation(fields)) => assert_eq!(
                fields.get("state").map(String::as_str),
                Some("field.state.unknown")
            ),
            other => panic!("expected a 422 naming state, got {other:?}"),
        }
    }

    #[test]
    fn the_sql_offset_saturates_and_a_negative_count_is_none() {
        let request = PageRequest {
            offset: u64::MAX,
            limit: 7,
        };
        assert_eq!(request.sql(), (i64::MAX, 7));
        let page = Page::counted(Vec::<u8>::new(), request, -1);
        assert_eq!((page.total, page.next_cursor), (0, None));
    }
}
