#!/usr/bin/env python3
"""Converts the conformance suites' examples with md2gemini, for the side-by-side figures in
BENCHMARKS.md ("Conformance suites").

Reads the spec files from the archives tests/suites.rs keeps in target/suites/ (run
`cargo test --test integration suites` once first), converts every example with the options
of `md2gemini -f -l copy -p -m` (in-process), and writes each output to
target/suites/md2gemini/<suite>/<number>.gmi, numbered as the Rust harness numbers them.
Then score them with the same harness:

    SUITES_OUTPUTS=target/suites/md2gemini cargo test --test integration suites -- --nocapture

An example md2gemini raises an exception on is written empty (and counted as an empty page).
"""
import pathlib
import sys
import tarfile

from md2gemini import md2gemini

ROOT = pathlib.Path(__file__).resolve().parent.parent
CACHE = ROOT / "target" / "suites"
SUITES = [
    # (suite, archive, member, only examples for an extension)
    ("commonmark", "commonmark-spec-0.31.2.tgz", "package/spec.txt", False),
    ("gfm", "marko-2.2.4.tar.gz", "marko-2.2.4/tests/spec/gfm.txt", True),
]
FENCE = "`" * 32


def examples(spec):
    """(number, extension, markdown) for each example block, as tests/suites.rs reads them."""
    spec = spec.replace("\r\n", "\n").split("\n<!-- END TESTS -->")[0]
    lines = iter(spec.split("\n"))
    number = 0
    for line in lines:
        if not (line.startswith(FENCE) and line[len(FENCE):].startswith(" example")):
            continue
        extension = line[len(FENCE) + len(" example"):].strip()
        markdown = []
        for line in lines:
            if line == FENCE or line == ".":
                break
            markdown.append(line.replace("→", "\t") + "\n")
        if line == ".":
            for line in lines:
                if line == FENCE:
                    break
        number += 1
        yield number, extension, "".join(markdown)


def main():
    failures = 0
    for suite, archive, member, extensions_only in SUITES:
        path = CACHE / archive
        if not path.exists():
            sys.exit(f"{path} is missing: run `cargo test --test integration suites` first")
        with tarfile.open(path) as tar:
            spec = tar.extractfile(member).read().decode()
        out = CACHE / "md2gemini" / suite
        out.mkdir(parents=True, exist_ok=True)
        for number, extension, markdown in examples(spec):
            if extensions_only and not extension:
                continue
            try:
                gemtext = md2gemini(
                    markdown, frontmatter=True, links="copy", plain=True, md_links=True
                )
            except Exception as e:  # noqa: BLE001 (any failure is an empty page)
                print(f"{suite} example {number}: {type(e).__name__}: {e}", file=sys.stderr)
                gemtext = ""
                failures += 1
            (out / f"{number}.gmi").write_text(gemtext)
    print(f"written under {CACHE / 'md2gemini'}; {failures} examples raised an exception")


if __name__ == "__main__":
    main()
