//! Turning content into what readers get: Markdown → gemtext lines, and their text.
//!
//! Everything here is pure (no I/O, no async), so it is tested with plain inputs and outputs.

pub mod atom;
pub mod gemtext;
pub mod gopher;
pub mod html;
pub mod markdown;
pub mod pages;
pub mod url;

pub use gemtext::{Line, Writer};
pub use markdown::{Converted, LinkPlacement, Options, convert, convert_page};
