//! Helpers shared by the end-to-end tests; each test binary uses only some of them.
#![allow(dead_code)]

pub mod pty;
