//! Helpers for end-to-end tests; each test binary uses some of them.
#![allow(dead_code)]

pub mod pty;
