//! Who may read, preview and write what: the one rule every protocol asks. A path of a
//! client-certificate area is for the certificates every area over it lets in (the areas come
//! from the capsule root, their one list); Gopher and a static copy have no certificate to
//! show, so an area's pages are never theirs. Drafts are shown to the host's authors (or to
//! everyone with `serve --drafts`); Titan writes only below its `paths`, never into an area
//! that refuses the writer.

use crate::config::TitanConfig;
use crate::content::CapsuleRoot;
use crate::protocol::identity::{Identity, Purpose, Refusal, admit, now};
use crate::protocol::status::Status;

/// A host's rules for its readers and authors.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Uploads from authors' Gemini clients, and who the authors are.
    pub titan: TitanConfig,
    /// Drafts shown to every reader (`serve --drafts`), not only to the authors.
    pub drafts_for_all: bool,
}

impl Access {
    /// Lets a reader (`identity`: `None` for a protocol without certificates) read the path
    /// (decoded segments) if every area over it lets them in, else says why not.
    pub fn read(
        &self,
        root: &CapsuleRoot,
        segments: &[String],
        identity: Option<&Identity>,
    ) -> Result<(), Refusal> {
        let now = now();
        root.areas_over(segments)
            .try_for_each(|area| admit(&area.fingerprints, identity, now, Purpose::Area))
    }

    /// Whether a request sees drafts and posts dated ahead: with `serve --drafts`, or with a
    /// certificate of one of the host's authors (its `[titan] fingerprints`).
    pub fn previews_drafts(&self, identity: Option<&Identity>) -> bool {
        self.drafts_for_all || (!self.titan.fingerprints.is_empty() && self.lists(identity))
    }

    /// Whether `identity` is one of the host's authors, with Titan on: it is shown a link to
    /// edit each page it may.
    pub fn is_author(&self, identity: Option<&Identity>) -> bool {
        self.titan.enabled && self.lists(identity)
    }

    /// Lets `identity` upload if it is a valid certificate among the host's `[titan]
    /// fingerprints`, else says why not.
    pub fn admit_author(&self, identity: Option<&Identity>) -> Result<(), Refusal> {
        admit(&self.titan.fingerprints, identity, now(), Purpose::Titan)
    }

    /// Whether `identity` is a valid certificate among the host's `[titan] fingerprints`.
    fn lists(&self, identity: Option<&Identity>) -> bool {
        self.admit_author(identity).is_ok()
    }

    /// Why an author (`identity`, one of the host's) may not write (nor read the source of)
    /// the file at a path (decoded segments) with Titan: the path lies below none of the
    /// host's `[titan] paths`, or in an area that refuses them. `None`: they may. Titan writes
    /// and reads sources, so it never opens an area to someone the area refuses.
    pub fn write_refusal(
        &self,
        root: &CapsuleRoot,
        segments: &[String],
        identity: Option<&Identity>,
    ) -> Option<Refusal> {
        if !self.titan.paths.iter().any(|p| p.holds(segments)) {
            return Some(Refusal {
                status: Status::CertificateNotAuthorised,
                meta: "Uploads may not write here: see the capsule's [titan] paths",
                // Told to an author of the capsule's own settings: as written.
                id: "",
            });
        }
        self.read(root, segments, identity).err()
    }
}
