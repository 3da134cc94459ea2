//! Integration tests: a real PostgreSQL, the real router, the real binary.

mod assessments;
mod auth;
mod binary;
mod catalogue;
mod cli;
mod cluster;
mod confirmations;
mod demo;
mod evidence;
mod exports;
mod feedback;
mod figures;
mod frameworks;
mod home;
mod input;
mod matrix;
mod offline;
mod openapi;
mod ops;
mod pdf;
mod reports;
mod rls;
mod schema;
mod support;
mod web;
mod workflow;
