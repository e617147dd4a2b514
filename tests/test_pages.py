"""Pages from templates (arena_grading.pages): student text is text, a missing name is an error."""

from __future__ import annotations

import jinja2
import pytest

from arena_grading import pages


def test_student_text_is_escaped_and_trusted_html_is_not(tmp_path, monkeypatch):
    environment = jinja2.Environment(loader=jinja2.DictLoader({"t.j2": "<p title='{{ name }}'>{{ name }}</p>{{ html }}"}),
                                     autoescape=True, undefined=jinja2.StrictUndefined)
    monkeypatch.setattr(pages, "environment", lambda: environment)
    page = pages.render("t.j2", name="<script>alert('x')</script>&", html=pages.trusted("<b>ok</b>"))
    assert "<script>" not in page and "&lt;script&gt;" in page and "&#39;" in page and "&amp;" in page
    assert "<b>ok</b>" in page


def test_the_shared_environment_escapes_and_is_strict():
    environment = pages.environment()
    assert environment.autoescape is True or environment.autoescape("x.html")
    with pytest.raises(jinja2.UndefinedError):
        environment.from_string("{{ missing }}").render()


def test_the_leaderboard_template_is_packaged_and_needs_its_names():
    with pytest.raises(jinja2.UndefinedError):
        pages.render("leaderboard.html.j2")
