//! Benchmarking tools for Gemini and Gopher servers, kept out of the daemon: `gemload` (a load
//! generator), `limit-server` (a fixed-response yardstick) and the trust-on-first-use client
//! configuration they share with gemhole's tests.

#![forbid(unsafe_code)]

pub mod client;
