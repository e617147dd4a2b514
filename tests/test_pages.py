"""Pages from templates (arena_grading.pages): student text is text, a missing name is an error."""

from __future__ import annotations

import jinja2
import pytest

from arena_grading import pages


def test_student_text_is_escaped_in_elements_attributes_and_script_data(monkeypatch):
    template = "<p title='{{ name }}'>{{ name }}</p><script type='application/json'>{{ {'n': name} | tojson }}</script>"
    environment = pages.environment().overlay(loader=jinja2.DictLoader({"t.j2": template}))
    monkeypatch.setattr(pages, "environment", lambda: environment)
    page = pages.render("t.j2", name="<script>alert('x')</script>&")
    assert "<script>alert" not in page and "</script>&" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;" in page
    assert "\\u003cscript\\u003e" in page  # in the JSON for a script


def test_the_shared_environment_escapes_and_is_strict():
    environment = pages.environment()
    assert environment.autoescape is True or environment.autoescape("x.html")
    with pytest.raises(jinja2.UndefinedError):
        environment.from_string("{{ missing }}").render()


def test_the_leaderboard_template_is_packaged_and_needs_its_names():
    with pytest.raises(jinja2.UndefinedError):
        pages.render("leaderboard.html.j2")
