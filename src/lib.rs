//! gemhole turns a folder of posts into a Gemini capsule (and a Gopher hole) and serves it.
//!
//! Data flows one way, and the imports say so (no module uses one listed after it; see
//! `tests/layers.rs`): `config` (the operator's settings) and `disk` (file-system access
//! beneath a root) ← `convert` (pure text, and the capsule's URL space: `convert::route`) ←
//! `protocol` (the protocols' words, parsed without I/O) ← `content` (the capsule read into an
//! immutable site snapshot) ← `views` (generated pages and feeds) ← `respond` (what each path
//! answers, for every protocol, and who may see it) ← `watch` and `publish` (the next
//! snapshot; a static copy in a folder) ← `server` (transport: sockets, TLS, limits) ← `cli`
//! (the command line). `logging` stands apart: where log lines go.
//!
//! The host is the unit: `config::HostConfig` is one capsule's settings, and `server::host`
//! turns each into a served host (names, certificates, snapshot) and picks the host once per
//! connection (SNI) and checks it once per request. Below `server`, nothing knows of hosts:
//! `content`, `views` and `respond` serve one capsule, and `watch` keeps one snapshot fresh.
//!
//! ARCHITECTURE.md walks a Gemini request, a Gopher request, a Titan upload, a reload and a
//! static build through these modules, file by file.

#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod content;
pub mod convert;
pub mod disk;
pub mod logging;
pub mod protocol;
pub mod publish;
pub mod respond;
pub mod server;
pub mod views;
pub mod watch;
