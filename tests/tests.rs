//! Integration tests: each one runs the real `gemhole` binary on an ephemeral loopback port and
//! talks to it over real TLS. One test binary (one link step) with a module per concern.

mod common;

/// Client-certificate areas: 60/61/62, identities across resumption, pages kept out of lists.
mod areas;
/// What one page may cost: memory, log lines, answers shared by their readers.
mod bounds;
/// The command line and configuration errors.
mod cli;
/// Markdown → gemtext snapshots, one per construct.
mod convert;
/// Properties of the converter over generated inputs.
mod convert_props;
/// Draft previews for authors' certificates and `serve --drafts`.
mod drafts;
/// Atom feeds: content, title and author, stable ids, the cap on entries.
mod feeds;
/// A folder of posts made a series by its `_index.md`.
mod folder_series;
/// Posts from Hugo, Zola and Jekyll sites: their front matter, Jekyll's folders.
mod front_matter;
/// The Gopher listener over TCP: crawl, protocol rules, hostile selectors.
mod gopher;
/// Gemtext → Gopher text and menus.
mod gopher_render;
/// Hostile clients on both ports while ordinary readers are served.
mod hostile;
/// Several capsules on one daemon: names, certificates, pages, reload, Gopher, commands.
mod hosts;
/// A snapshot built change by change answers as one built from scratch (property).
mod incremental;
/// The author's intent kept: front matter, series and tag identity, dates, URLs, `check`.
mod intent;
/// The one-way flow of data between the crate's modules, as their imports show it.
mod layers;
/// Generated pages in the host's language and from an author's templates.
mod layout;
/// Connection handling: caps, timeouts, access log, graceful shutdown.
mod lifecycle;
/// Logs for systemd's journal and for operators: priorities, targets, what a reload names.
mod logs;
/// Blogs brought from Hugo, Zola and Jekyll, and real ones fetched for the test run.
mod migrate;
/// What `check` tells of a blog moved in from Hugo, Zola or Jekyll.
mod migration;
/// What operators of other servers expect: listings, path rules, programs.
mod operators;
/// Listeners behind a balancer: PROXY protocol headers, trusted balancers.
mod proxy;
/// Live reload: changing files, SIGHUP, config and certificate changes.
mod reload;
/// Request-line rules of the Gemini spec and the gemini-diagnostics checks.
mod requests;
/// What the server must never serve or suffer, whatever is placed in (or swapped into) the
/// capsule folder: secrets, symlinks, FIFOs, deploys.
mod safety;
/// Search over Gemini and Gopher; byte-stable generated pages.
mod search;
/// Series index pages and post navigation.
mod series;
/// Serving the capsule folder: files, folders, MIME types, traversal and hidden files.
mod serving;
/// Hugo, Zola and Liquid shortcodes and page references in a copied-in blog.
mod shortcodes;
/// Conformance suites written elsewhere (CommonMark, GFM, real documents), fetched and scored.
mod suites;
/// Titan uploads: publish, replace, edit and delete from a Gemini client.
mod titan;
/// Certificates, SNI and TLS behaviour.
mod tls;
/// The load generator and the limit server.
mod tools;
/// URLs kept from an old site: bundles, sections, former URLs.
mod urls;
/// The web door: pages as HTML over HTTP, HTTP's rules, hostile requests.
mod web;
