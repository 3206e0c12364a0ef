//! Pure text conversions: Markdown → gemtext, gemtext → Gopher text and menus, and the URL and
//! file-name helpers they share. No I/O, no async, no knowledge of a site: each function takes
//! text (and settings) and gives text, so `content` can call them while reading posts and
//! everything is tested with plain inputs and outputs.

pub mod gemtext;
pub mod gopher;
pub mod html;
pub mod markdown;
pub mod mime;
pub mod url;

pub use gemtext::{Line, Writer};
pub use markdown::{
    Converted, LinkPlacement, MAX_LINKS, MAX_MARKS, Options, convert, convert_page,
};
