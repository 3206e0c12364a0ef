//! The generated capsule the benchmarks read: posts in series of 20 parts, each with YAML front
//! matter, tags, a link, a list, a quote and a footnote, about 640 bytes of Markdown.

#![allow(dead_code)]

use std::path::Path;

/// The large capsule: 10,000 posts in 500 series.
pub const POSTS: usize = 10_000;
pub const SERIES: usize = 500;

/// Post `i` of the generated capsule; `SERIES` series share the posts round-robin.
pub fn post(i: usize) -> String {
    let series = i % SERIES;
    let part = i / SERIES + 1;
    format!(
        "---\ntitle: \"Notes {i}: on rigging, weather and patience\"\ndate: 2024-{:02}-{:02}\n\
         series: Series number {series}\npart: {part}\ntags: [tag{}, sailing]\n\
         summary: Post {i} of the benchmark capsule.\n---\n\
         Opening paragraph of post {i}, with a [link to the previous one](post-{}.md) and some\n\
         *emphasis*, as most posts have. It goes on for a while to look like real prose, with\n\
         a second sentence and a third one that mentions gemini://example.org/ in passing.\n\n\
         ## What happened\n\n\
         - First point, with `code` in it\n- Second point\n  - a nested detail\n- Third point\n\n\
         > A short quote from somebody wise.\n\n\
         Closing paragraph with a footnote.[^1]\n\n[^1]: The footnote text.\n",
        i % 12 + 1,
        i % 28 + 1,
        i % 40,
        i.saturating_sub(1)
    )
}

/// Writes `count` posts (`posts/post-<i>.md`) below `root`; returns their total size in bytes.
pub fn write_posts(root: &Path, count: usize) -> usize {
    let posts = root.join("posts");
    std::fs::create_dir_all(&posts).unwrap();
    let mut bytes = 0;
    for i in 0..count {
        let text = post(i);
        bytes += text.len();
        std::fs::write(posts.join(format!("post-{i}.md")), text).unwrap();
    }
    bytes
}
