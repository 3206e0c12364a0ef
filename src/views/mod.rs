//! Views of a [`Site`](crate::content::Site) snapshot: the pages gemhole generates
//! (home, archive, tags, series indexes, series navigation) and the Atom feeds. They read the
//! site and never the disk.

pub mod atom;
pub mod pages;
pub mod search;
