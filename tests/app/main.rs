//! Integration tests: a real PostgreSQL, the real router, the real binary.

mod assessments;
mod auth;
mod binary;
mod catalogue;
mod cluster;
mod demo;
mod evidence;
mod exports;
mod frameworks;
mod home;
mod matrix;
mod offline;
mod reports;
mod rls;
mod schema;
mod support;
mod web;
mod workflow;
