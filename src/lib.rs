//! Pledge Tracker: national delegations record their Cyber Defence Pledge goals and annual
//! self-assessments; the Alliance's analysts follow, compare and export them.
//!
//! Layers (see docs/architecture.md):
//! - [`cli`] and [`startup`]: commands, configuration and the service's lifecycle;
//! - [`web`]: HTTP handlers for pages and the JSON API, errors, middleware;
//! - [`presentation`]: translations, figure and date formatting, SVG charts (used by web, export
//!   and offline alike);
//! - [`domain`]: the product's values and rules, free of I/O (frameworks, scoring);
//! - [`storage`]: all SQL, migrations, the audit log;
//! - [`cluster`]: the private PostgreSQL cluster;
//! - [`demo`]: the demo history.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod auth;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod demo;
pub mod domain;
pub mod export;
pub mod notify;
pub mod offline;
pub mod presentation;
pub mod services;
pub mod startup;
pub mod storage;
pub mod telemetry;
pub mod web;
