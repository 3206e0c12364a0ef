//! MIME types from file names: what a file is served as, over Gemini (`20 <mime>`) and Gopher
//! (its item type).

use std::path::Path;

/// The MIME type of a file, from its name. Gemtext is always UTF-8 here.
pub fn mime_for(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("gmi" | "gemini") => "text/gemini",
        Some("xml") if path.file_name().is_some_and(|n| n == "atom.xml") => "application/atom+xml",
        Some(ext) => mime_guess::from_ext(ext)
            .first_raw()
            .unwrap_or("application/octet-stream"),
        None => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_types() {
        assert_eq!(mime_for(Path::new("a/b.GMI")), "text/gemini");
        assert_eq!(mime_for(Path::new("robots.txt")), "text/plain");
        assert_eq!(mime_for(Path::new("x.png")), "image/png");
        assert_eq!(mime_for(Path::new("atom.xml")), "application/atom+xml");
        assert_eq!(mime_for(Path::new("README")), "application/octet-stream");
    }
}
