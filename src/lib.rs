//! gemhole turns a folder of posts into a Gemini capsule and serves it.
//!
//! Data flows one way: the capsule folder on disk (`content`) → responses (`server`) → sockets.
//! `config` holds the operator's settings and `cli` the command-line front end.

#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod content;
pub mod logging;
pub mod render;
pub mod respond;
pub mod server;
pub mod watch;
