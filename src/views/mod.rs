//! Views of a [`Site`](crate::content::Site) snapshot: the pages gemhole generates
//! (home, archive, tags, series indexes, series navigation, search results) and the Atom
//! feeds, in the host's language and from its templates ([`layout`]), and the document and
//! stylesheet around a page for web readers ([`web_page`]). Pages read the site and never the
//! disk; only [`layout::Layout::load`] reads a host's templates folder.

pub mod atom;
pub mod layout;
pub mod model;
pub mod pages;
pub mod search;
pub mod web_page;
