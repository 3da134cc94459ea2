//! Integration tests: a real PostgreSQL, the real router, the real binary.

mod auth;
mod binary;
mod cluster;
mod demo;
mod frameworks;
mod schema;
mod support;
mod web;
