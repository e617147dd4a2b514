"""HTML that runs nothing where it is opened: pages the grader writes from student content.

:func:`clean_page` walks a whole rendered page (BeautifulSoup, which nbconvert already needs)
and removes what could run code or leave the page when it is opened: script-like elements,
every event-handler attribute, and link or source targets outside a few safe schemes. It runs
after rendering, so it also catches what a renderer made of student text (a Markdown link
``[x](javascript:...)`` becomes a live ``<a href>`` only then). :func:`has_active_content` says
whether a fragment would need cleaning.
"""

from __future__ import annotations

import re

# Elements that run code, load other pages or documents, or send forms.
ACTIVE_ELEMENTS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "form", "link",
                   "portal", "noscript", "template", "animate", "set", "animatemotion", "animatetransform",
                   "handler", "listener"}
URL_ATTRIBUTES = {"href", "src", "xlink:href", "action", "formaction", "background", "poster", "cite", "data",
                  "srcset", "ping", "longdesc", "usemap", "dynsrc", "lowsrc", "manifest", "codebase"}
DROPPED_ATTRIBUTES = {"srcdoc", "http-equiv"}
SAFE_SCHEMES = ("http:", "https:", "mailto:")
# Pictures may be inline data: the course's own figures are PNGs in the page.
SAFE_IMAGE_DATA = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$", re.I)
_INVISIBLE = re.compile(r"[\x00-\x20\x7f-\x9f]+")


def safe_url(value: str, attribute: str, element: str) -> bool:
    """A relative link, an anchor, or one of ``SAFE_SCHEMES``; inline images for an ``<img src>``."""
    url = _INVISIBLE.sub("", value or "")  # "java\tscript:" is "javascript:" to a browser
    if attribute == "src" and element == "img" and SAFE_IMAGE_DATA.match(url):
        return True
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", url)
    return scheme is None or url.lower().startswith(SAFE_SCHEMES)


def _clean(soup) -> int:
    """Remove active content from a parsed page in place; how many things were removed."""
    removed = 0
    for element in soup.find_all(lambda tag: tag.name.lower() in ACTIVE_ELEMENTS):
        element.decompose()
        removed += 1
    for element in soup.find_all(True):
        name = element.name.lower()
        for attribute in list(element.attrs):
            lower = attribute.lower()
            value = element.attrs[attribute]
            text = " ".join(value) if isinstance(value, list) else str(value)
            if (lower.startswith("on") or lower in DROPPED_ATTRIBUTES
                    or (lower in URL_ATTRIBUTES and not safe_url(text, lower, name))
                    or (lower == "style" and re.search(r"expression\s*\(|url\s*\(\s*['\"]?\s*javascript:", text, re.I))):
                del element.attrs[attribute]
                removed += 1
        if name == "meta" and "refresh" in str(element.attrs.get("content", "")).lower():
            element.decompose()
            removed += 1
    return removed


def clean_page(page: str) -> str:
    """``page`` without anything that runs code or leaves it when it is opened."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page, "html.parser")
    _clean(soup)
    doctype = "<!DOCTYPE html>\n" if page.lstrip().lower().startswith("<!doctype") else ""
    return doctype + "".join(str(node) for node in soup.contents if not _is_doctype(node))


def has_active_content(fragment: str) -> bool:
    from bs4 import BeautifulSoup

    return _clean(BeautifulSoup(fragment, "html.parser")) > 0


def clean_fragment(fragment: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(fragment, "html.parser")
    _clean(soup)
    return str(soup)


def _is_doctype(node) -> bool:
    from bs4 import Doctype

    return isinstance(node, Doctype)
