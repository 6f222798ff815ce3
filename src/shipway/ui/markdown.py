"""Markdown people wrote (card sections, notes, comments), rendered to HTML that cannot
run anything: markdown-it-py with raw HTML off (it is shown as text) and its link check on
(no ``javascript:`` links), then nh3's allow-list sanitizer over the result, as a second
line, with every link marked ``rel="noopener noreferrer"``."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_PARSER = MarkdownIt("commonmark", {"html": False}).enable("table")


def render(text: str) -> Markup:
    html = _PARSER.render(text or "")
    return Markup(nh3.clean(html, link_rel="noopener noreferrer"))  # noqa: S704 - sanitized
