//! Response compression (issue 20): gzip or Brotli for a client that asks with
//! `Accept-Encoding`, never for one that does not. Files that are compressed already (XLSX is a
//! zip, the PDFs' pages are deflated) and tiny bodies go as they are. The level is low (2):
//! profiled at the alliance scale, gzip at level 4 was 30 % of the comparison page's CPU in
//! the service (zlib-rs's "medium" strategy); from level 2 it uses its "fast" strategy, and
//! the page's 136 KB of HTML compresses to about 19 KB instead of 18 KB.

use tower_http::CompressionLevel;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};

/// What is compressed: text (HTML, JSON, CSV, CSS, JS, SVG), not already-compressed files.
pub type Compressible = tower_http::compression::predicate::And<
    tower_http::compression::predicate::And<DefaultPredicate, NotForContentType>,
    NotForContentType,
>;

/// The compression layer of every response.
pub fn layer() -> CompressionLayer<Compressible> {
    let predicate = DefaultPredicate::new()
        .and(NotForContentType::const_new("application/pdf"))
        .and(NotForContentType::const_new(
            "application/vnd.openxmlformats-officedocument",
        ));
    CompressionLayer::new()
        .quality(CompressionLevel::Precise(2))
        .compress_when(predicate)
}
