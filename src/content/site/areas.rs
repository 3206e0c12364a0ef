//! Warnings about client-certificate areas that guard nothing, pass through a symlink, or hold
//! every post.

use std::path::PathBuf;

use super::Site;
use crate::content::files::CapsuleRoot;
use crate::content::options::POSTS_DIR;
use crate::content::problem::Problem;

/// Warns of a client-certificate area that guards nothing (its path is case-sensitive, and a
/// slip leaves the folder it meant public) and of one that holds the posts folder (every list
/// is then empty, for members too).
pub(super) fn check_areas(capsule: &CapsuleRoot, site: &Site, problems: &mut Vec<Problem>) {
    let segments = |path: &str| -> Vec<String> {
        path.split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    for area in capsule.areas().iter().map(|a| &a.path) {
        let mut place: PathBuf = area.segments().iter().collect();
        if place.as_os_str().is_empty() {
            place = PathBuf::from(".");
        }
        // A folder of its path that is a symlink: the files are served under the name it
        // leads to as well, outside the area.
        let mut walked = capsule.path().to_owned();
        for name in area.segments() {
            walked.push(name);
            if walked
                .symlink_metadata()
                .is_ok_and(|m| m.file_type().is_symlink())
            {
                problems.push(Problem {
                    path: place.clone(),
                    line: 1,
                    message: format!(
                        "the client-certificate area {area} passes through the symlink {}: \
                         what it leads to is served under its own name too, to anyone; put \
                         the area on the folder the link leads to",
                        walked
                            .strip_prefix(capsule.path())
                            .unwrap_or(&walked)
                            .display()
                    ),
                    error: false,
                });
                break;
            }
        }
        let guards = site
            .served
            .iter()
            .chain(site.folders.iter())
            .any(|path| area.covers(&segments(path)))
            || site.generated(area.segments()).is_some()
            || area.segments().is_empty();
        if !guards {
            problems.push(Problem {
                path: place.clone(),
                line: 1,
                message: format!(
                    "the client-certificate area {area} names nothing in the capsule (paths \
                     are case-sensitive): it guards nothing"
                ),
                error: false,
            });
        }
        if area.covers(&[POSTS_DIR.to_owned()]) {
            problems.push(Problem {
                path: place,
                line: 1,
                message: format!(
                    "the client-certificate area {area} holds every post: they are served to \
                     the certificates it lets in, but the home page, archive, tags, series and \
                     feeds list none of them, to anyone"
                ),
                error: false,
            });
        }
    }
}
