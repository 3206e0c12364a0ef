//! Every path a static copy of the capsule needs (`gemhole build`), and where each one's page
//! goes.

use std::path::Path;

use super::Capsule;
use crate::convert::route::Route;

impl Capsule {
    /// Every path a static copy of the capsule needs: each file (Markdown under its `.gmi`
    /// name, folders through their index) and each generated page, but none of a
    /// client-certificate area. Blocking.
    pub fn paths(&self) -> Vec<(Vec<String>, bool)> {
        let mut routes = vec![
            Route::Home,
            Route::Archive,
            Route::AllTags,
            Route::AllSeries,
            Route::Feed,
            Route::Robots,
        ];
        routes.extend(self.site.tags.keys().map(|tag| Route::Tag(tag)));
        for series in self.site.series.iter() {
            routes.push(Route::Series(&series.slug));
            routes.push(Route::SeriesFeed(&series.slug));
        }
        let mut paths: Vec<(Vec<String>, bool)> = routes
            .iter()
            .map(|route| (route.segments(), route.is_folder()))
            .collect();
        for post in &self.site.posts {
            let segments = post
                .url
                .split('/')
                .filter(|s| !s.is_empty())
                .map(|s| {
                    percent_encoding::percent_decode_str(s)
                        .decode_utf8_lossy()
                        .into_owned()
                })
                .collect();
            paths.push((segments, false));
        }
        // A static copy cannot redirect: each former URL an author wrote gets a page that
        // links to where the post is now, as a folder (`/old/`) and as a page (`/old.gmi`).
        for (former, _) in self.site.written_former_urls() {
            let mut segments: Vec<String> = former
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            paths.push((segments.clone(), true));
            // Only where its name fits a file system.
            if let Some(last) = segments.last_mut().filter(|last| last.len() + 4 <= 255) {
                last.push_str(".gmi");
                paths.push((segments, false));
            }
        }
        collect_paths(self.root.path(), &mut Vec::new(), &mut paths);
        // A static copy has no client certificates to ask for.
        paths.retain(|(segments, _)| !self.root.in_area(segments));
        paths.sort();
        paths.dedup();
        paths
    }
}

/// Adds the capsule's own files below `dir` (`prefix` holds their path segments).
fn collect_paths(dir: &Path, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, bool)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') && !(prefix.is_empty() && name == ".well-known") {
            continue;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            prefix.push(name);
            out.push((prefix.clone(), true));
            collect_paths(&entry.path(), prefix, out);
            prefix.pop();
            continue;
        }
        let (stem, ext) = match name.rsplit_once('.') {
            Some((stem, ext)) => (stem, ext.to_ascii_lowercase()),
            None => (name.as_str(), String::new()),
        };
        if stem == "index" && (ext == "gmi" || ext == "md") {
            continue; // served as its folder
        }
        let served = if ext == "md" {
            format!("{stem}.gmi")
        } else {
            name.clone()
        };
        let mut segments = prefix.clone();
        segments.push(served);
        out.push((segments, false));
    }
}

/// Where a path's page goes in a static copy: folders become `…/index.gmi`.
pub fn output_file(out: &Path, segments: &[String], ends_with_slash: bool) -> std::path::PathBuf {
    let mut path = segments.iter().fold(out.to_owned(), |p, s| p.join(s));
    if ends_with_slash {
        path.push("index.gmi");
    }
    path
}
