"""HTML pages from Jinja2 templates (``arena_grading/templates/``), for every page the tools write.

Autoescape is on, so anything a template shows with ``{{ ... }}`` (a student id, a reason
quoted from a file, a name) is text, never markup, in an element or in an attribute; data for
a script goes through Jinja's ``tojson`` filter. StrictUndefined makes a name the template uses
but the code did not pass an error, not an empty string.

    from arena_grading.pages import render
    html = render("leaderboard.html.j2", assignment=..., rows=..., ...)
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(loader=PackageLoader("arena_grading", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def render(template: str, **context) -> str:
    """The page ``template`` (a file in arena_grading/templates/) with ``context``."""
    return environment().get_template(template).render(**context)
