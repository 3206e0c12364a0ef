#!/usr/bin/env python3
"""Times md2gemini on the inputs benches/convert.rs uses, for the ratio in BENCHMARKS.md.

Same options as `md2gemini -f -l copy -p -m`, called in-process (no interpreter start-up in
the figure): the sample post's body repeated to ~20 KB and to ~1 MB.
"""
import pathlib
import time

from md2gemini import md2gemini

post = (pathlib.Path(__file__).parent.parent / "tests/data/sailing-knots.md").read_text()
body = post.split("---\n", 2)[2]


def make(size):
    text = ""
    while len(text.encode()) < size:
        text += body + "\n"
    return text


for name, size in [("post-20KB", 20 * 1024), ("doc-1MB", 1024 * 1024)]:
    text = make(size)
    runs = 20 if size < 100_000 else 1
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        md2gemini(text, frontmatter=True, links="copy", plain=True, md_links=True)
        best = min(best, time.perf_counter() - start)
    mb = len(text.encode()) / 1e6
    print(f"md2gemini {name}: {len(text.encode())} bytes, best {best * 1000:.2f} ms, {mb / best:.2f} MB/s")
