//! Response compression (issue 20): gzip or Brotli for a client that asks with
//! `Accept-Encoding`, never for one that does not. Files that are compressed already (XLSX is a
//! zip, the PDFs' pages are deflated) and tiny bodies go as they are. The level is moderate
//! (4): at the comparison API's page sizes Brotli's and gzip's highest levels cost more CPU
//! than the bytes they save.

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
        .quality(CompressionLevel::Precise(4))
        .compress_when(predicate)
}
