//! Pages assembled around a cached, already compressed fragment (issue 20).
//!
//! Most of the comparison page (heat map, ranking, distributions, movers) is a function of the
//! built report, the language and the page number; the rest (who is signed in, the CSRF token
//! of its forms, the cycles and imports read in the request's transaction) is not. Profiled at
//! the alliance scale, rendering that part and gzipping the page were over half of a cached
//! page's CPU in the service. So the part that depends on the report is rendered and deflated
//! once ([`Fragment`]) and kept while the report it shows is the one the request read
//! ([`FragmentCache`]); each request renders and deflates only the small rest around it.
//!
//! A deflate stream may be cut into pieces compressed apart: each piece but the last ends with a
//! sync flush (a byte-aligned, non-final block) and refers to nothing before it, so the pieces
//! put end to end are one valid stream, whose gzip trailer takes the CRC-32 of the whole text
//! (`crc32fast` combines the pieces' without reading the fragment again).

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use flate2::{Compress, Compression, FlushCompress};

/// Where the page's template puts the fragment. A comment no text of a user can write: every
/// value shown is escaped, `<` included.
pub const MARKER: &str = "<!--pledge:fragment-->";

/// The level of [`crate::web::compression`]: the fast strategy.
const LEVEL: u32 = 2;

/// Fragments kept in the process (the oldest used goes first).
const CAPACITY: usize = 32;

/// A piece of a page, as text and as deflate blocks ending in a sync flush.
pub struct Fragment {
    plain: String,
    /// `None` if deflating failed (it cannot in memory): the page then goes as text.
    deflated: Option<Vec<u8>>,
    crc: crc32fast::Hasher,
}

impl Fragment {
    pub fn new(plain: String) -> Self {
        let deflated = deflate(plain.as_bytes(), FlushCompress::Sync);
        let mut crc = crc32fast::Hasher::new();
        crc.update(plain.as_bytes());
        Self {
            plain,
            deflated,
            crc,
        }
    }

    /// The page around it (its template rendered with [`MARKER`] where it goes), gzipped when
    /// the client accepts it, as text otherwise; `Vary: Accept-Encoding` either way.
    pub fn page(&self, around: &str, request: &HeaderMap) -> Response {
        let (before, after) = around.split_once(MARKER).unwrap_or((around, ""));
        let gzipped = accepts_gzip(request)
            .then(|| self.gzipped(before.as_bytes(), after.as_bytes()))
            .flatten();
        let gzip = gzipped.is_some();
        let body = gzipped.unwrap_or_else(|| [before, &self.plain, after].concat().into_bytes());
        let mut response = Response::new(Body::from(body));
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
        if gzip {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        response
    }

    /// One gzip member: `before`, this fragment and `after` as one deflate stream.
    fn gzipped(&self, before: &[u8], after: &[u8]) -> Option<Vec<u8>> {
        // RFC 1952: magic, deflate, no flags, no time, no extra flags, unknown system.
        const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
        let fragment = self.deflated.as_ref()?;
        let head = deflate(before, FlushCompress::Sync)?;
        let tail = deflate(after, FlushCompress::Finish)?;
        let mut crc = crc32fast::Hasher::new();
        crc.update(before);
        crc.combine(&self.crc);
        crc.update(after);
        let length = before.len() + self.plain.len() + after.len();
        let mut body =
            Vec::with_capacity(HEADER.len() + head.len() + fragment.len() + tail.len() + 8);
        body.extend_from_slice(&HEADER);
        body.extend_from_slice(&head);
        body.extend_from_slice(fragment);
        body.extend_from_slice(&tail);
        body.extend_from_slice(&crc.finalize().to_le_bytes());
        // ISIZE: the length modulo 2^32.
        body.extend_from_slice(&(length as u32).to_le_bytes());
        Some(body)
    }
}

/// `text` as raw deflate blocks: ending in a sync flush (more follows) or the final block.
fn deflate(text: &[u8], flush: FlushCompress) -> Option<Vec<u8>> {
    let mut compressor = Compress::new(Compression::new(LEVEL), false);
    // Enough for text that does not compress at all (stored blocks) and the flush's marker.
    let mut out = Vec::with_capacity(text.len() + text.len() / 1000 * 5 + 64);
    let mut input = text;
    loop {
        let before_in = compressor.total_in();
        let status = match compressor.compress_vec(input, &mut out, flush) {
            Ok(status) => status,
            Err(error) => {
                tracing::error!(%error, "deflating a page failed; it goes uncompressed");
                return None;
            }
        };
        input = &input[(compressor.total_in() - before_in) as usize..];
        let done = match flush {
            FlushCompress::Finish => status == flate2::Status::StreamEnd,
            // A sync flush is complete when it consumed everything and left room to spare.
            _ => input.is_empty() && out.len() < out.capacity(),
        };
        if done {
            return Some(out);
        }
        out.reserve(out.capacity().max(64));
    }
}

/// Whether `Accept-Encoding` accepts gzip: named (or `x-gzip`) with a non-zero quality, or
/// covered by `*` with a non-zero quality when not named.
pub fn accepts_gzip(request: &HeaderMap) -> bool {
    let mut named = None;
    let mut any = None;
    for value in request.get_all(ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match coding.as_str() {
                "gzip" | "x-gzip" => named = Some(named.unwrap_or(0.0_f32).max(quality)),
                "*" => any = Some(quality),
                _ => {}
            }
        }
    }
    named.or(any).is_some_and(|q| q > 0.0)
}

/// The fragments of one kind of page by what they were made from: the value `T` they show (held,
/// and compared by identity: the report cache hands out the same `Arc` while the report is
/// current, and a new one when it is rebuilt) and `K` (language, page number …).
pub struct FragmentCache<T, K> {
    entries: Mutex<Vec<Entry<T, K>>>,
}

struct Entry<T, K> {
    source: Arc<T>,
    key: K,
    fragment: Arc<Fragment>,
    used: u64,
}

impl<T, K: PartialEq> FragmentCache<T, K> {
    pub const fn new() -> Self {
        Self {
            entries: Mutex::new(Vec::new()),
        }
    }

    /// The fragment of `source` and `key`, made by `make` when this process has none (a
    /// fragment that fails to be made is not kept).
    pub fn get_or_make<E>(
        &self,
        source: &Arc<T>,
        key: K,
        make: impl FnOnce() -> Result<Fragment, E>,
    ) -> Result<Arc<Fragment>, E> {
        if !crate::services::report_cache::enabled() {
            return make().map(Arc::new);
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let now = entries.iter().map(|e| e.used).max().unwrap_or(0) + 1;
        // A source no longer current is never asked for again: its entries go first.
        if let Some(found) = entries
            .iter_mut()
            .find(|e| Arc::ptr_eq(&e.source, source) && e.key == key)
        {
            found.used = now;
            return Ok(found.fragment.clone());
        }
        drop(entries);
        // Made outside the lock: two requests may make the same fragment at once, and the
        // second is kept; both are the same text.
        let fragment = Arc::new(make()?);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|e| !(Arc::ptr_eq(&e.source, source) && e.key == key));
        if entries.len() >= CAPACITY
            && let Some(oldest) = entries
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| e.used)
                .map(|(i, _)| i)
        {
            entries.swap_remove(oldest);
        }
        entries.push(Entry {
            source: source.clone(),
            key,
            fragment: fragment.clone(),
            used: now,
        });
        Ok(fragment)
    }

    /// How many fragments are kept (tests).
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T, K: PartialEq> Default for FragmentCache<T, K> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn headers(accept: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(ACCEPT_ENCODING, HeaderValue::from_str(accept).unwrap());
        map
    }

    async fn body_of(response: Response) -> Vec<u8> {
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec()
    }

    fn gunzip(bytes: &[u8]) -> String {
        // MultiGzDecoder would hide a second member; GzDecoder reads exactly one.
        let mut text = String::new();
        let mut decoder = flate2::read::GzDecoder::new(bytes);
        decoder.read_to_string(&mut text).unwrap();
        // Nothing may follow the member.
        assert_eq!(decoder.into_inner().len(), 0, "bytes after the gzip member");
        text
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Whatever the three pieces (empty, tiny, incompressible, larger than a deflate
        /// block), the stitched stream reads back as the page a template would have written
        /// whole, and gzip's own CRC and length checks pass.
        #[test]
        fn a_stitched_page_reads_back_as_the_whole(
            before in ".{0,300}",
            middle in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200_000),
            after in ".{0,300}",
            repeat in 0usize..400,
        ) {
            // Text that compresses (repeated) and text that does not (random bytes as hex).
            let middle = format!("{}{}", "<tr><td>42.5</td></tr>".repeat(repeat), hex::encode(&middle));
            let fragment = Fragment::new(middle.clone());
            let around = format!("{before}{MARKER}{after}");
            let whole = format!("{before}{middle}{after}");
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let gzipped = runtime.block_on(body_of(fragment.page(&around, &headers("gzip, br"))));
            proptest::prop_assert_eq!(gunzip(&gzipped), whole.clone());
            let plain = runtime.block_on(body_of(fragment.page(&around, &headers("identity"))));
            proptest::prop_assert_eq!(String::from_utf8(plain).unwrap(), whole);
        }
    }

    #[tokio::test]
    async fn the_page_says_what_it_is_and_that_it_varies_by_encoding() {
        let fragment = Fragment::new("<p>figures</p>".to_owned());
        let gzipped = fragment.page(&format!("<main>{MARKER}</main>"), &headers("gzip"));
        assert_eq!(gzipped.headers()[CONTENT_ENCODING], "gzip");
        assert_eq!(gzipped.headers()[VARY], "accept-encoding");
        assert_eq!(gzipped.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(
            gunzip(&body_of(gzipped).await),
            "<main><p>figures</p></main>"
        );
        let plain = fragment.page(&format!("<main>{MARKER}</main>"), &HeaderMap::new());
        assert!(plain.headers().get(CONTENT_ENCODING).is_none());
        assert_eq!(plain.headers()[VARY], "accept-encoding");
        assert_eq!(body_of(plain).await, b"<main><p>figures</p></main>");
    }

    #[test]
    fn gzip_is_sent_only_to_a_client_that_accepts_it() {
        for (accept, expected) in [
            ("gzip", true),
            ("gzip, deflate, br, zstd", true),
            ("br;q=1.0, gzip;q=0.8", true),
            ("x-gzip", true),
            ("*", true),
            ("GZIP", true),
            ("gzip;q=0", false),
            ("gzip; q=0.0, br", false),
            ("*;q=0", false),
            ("*, gzip;q=0", false),
            ("br", false),
            ("identity", false),
            ("", false),
        ] {
            assert_eq!(accepts_gzip(&headers(accept)), expected, "{accept}");
        }
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn a_fragment_is_made_once_per_source_and_key_and_the_cache_stays_bounded() {
        let cache: FragmentCache<u32, u8> = FragmentCache::new();
        let report = Arc::new(1);
        let made = std::cell::Cell::new(0);
        let make = || {
            made.set(made.get() + 1);
            Ok::<_, ()>(Fragment::new("x".to_owned()))
        };
        cache.get_or_make(&report, 1, make).unwrap();
        cache.get_or_make(&report, 1, make).unwrap();
        assert_eq!(
            made.get(),
            1,
            "the second request is served the first's fragment"
        );
        // The same value rebuilt (another Arc) is another source.
        cache.get_or_make(&Arc::new(1), 1, make).unwrap();
        assert_eq!(made.get(), 2);
        for key in 0..100 {
            cache.get_or_make(&report, key, make).unwrap();
        }
        assert_eq!(cache.len(), CAPACITY);
    }
}
