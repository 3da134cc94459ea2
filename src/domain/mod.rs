//! The product's values and rules, free of I/O: what a valid framework is, how scores are computed.

pub mod answer;
pub mod cycle;
pub mod evidence;
pub mod framework;
pub mod input;
pub mod participant;
pub mod problem;
pub mod report;
pub mod role;
pub mod scoring;
pub mod snapshot;
pub mod text;
pub mod time_zone;
