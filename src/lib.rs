//! gemhole turns a folder of posts into a Gemini capsule and serves it.
//!
//! Data flows one way, and the imports say so (no module uses one listed after it):
//! `config` (the operator's settings) ← `convert` (pure text conversions) ← `content` (the
//! capsule read into an immutable site snapshot) ← `views` (generated pages and feeds) ←
//! `respond` (what each path answers) ← `server`, `watch` and `publish` (sockets; the next
//! snapshot; a static copy in a folder) ← `cli` (the command line). `disk` (file-system access
//! beneath a root: folders opened without following links, files written whole) sits beside
//! `config` at the bottom and uses nothing of the crate. `logging` stands apart: where log lines go.
//!
//! The host is the unit: `config::HostConfig` is one capsule's settings, and `server::host`
//! turns each into a served host (names, certificates, snapshot, settings) and picks the host
//! once per connection (SNI) and checks it once per request. Below `server`, nothing knows of
//! hosts: `content`, `views` and `respond` serve one capsule, and `watch` keeps one snapshot
//! fresh.

#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod content;
pub mod convert;
pub mod disk;
pub mod logging;
pub mod publish;
pub mod respond;
pub mod server;
pub mod views;
pub mod watch;
