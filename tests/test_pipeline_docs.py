"""The docs landing page links every docs page, its links resolve, and the CLI options the guides use exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from spermtrack.cli import build_parser

DOCS = Path(__file__).resolve().parents[1] / "docs"


def links(page: Path) -> list[str]:
    return re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8"))


def test_index_links_every_docs_page():
    linked = set(links(DOCS / "index.md"))
    pages = {p.name for p in DOCS.glob("*.md")} - {"index.md"}
    assert pages <= linked, f"docs pages missing from docs/index.md: {sorted(pages - linked)}"


@pytest.mark.parametrize("page", ["index.md", "getting-started.md", "pipeline.md", "calibration.md"])
def test_relative_links_resolve(page):
    missing = [t for t in links(DOCS / page) if "://" not in t and not (DOCS / t).exists()]
    assert not missing, f"{page} links to missing files: {missing}"


def test_guides_use_existing_command_line_options():
    """Every ``spermtrack analyze|demo ... --option`` in the guides is an option of that verb."""
    parser = build_parser()
    verbs = {a.dest: a for a in parser._actions if a.dest == "verb"}["verb"].choices
    for page in ("getting-started.md", "pipeline.md", "calibration.md", "index.md"):
        text = (DOCS / page).read_text(encoding="utf-8")
        for verb in ("analyze", "demo"):
            known = {s for a in verbs[verb]._actions for s in a.option_strings}
            for line in re.findall(rf"spermtrack {verb}\b[^\n`|]*", text):
                for opt in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", line):
                    assert opt in known, f"{page}: `{line.strip()}` uses {opt}, not an option of `spermtrack {verb}`"
