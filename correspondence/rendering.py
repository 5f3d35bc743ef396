"""Turning template source into HTML, text and PDF.

Admin-edited source is rendered by a separate template engine, not the site's: it has
no template loaders (``{% include %}`` and ``{% extends %}`` find nothing), no tag
libraries to ``{% load %}``, and only the ``money`` filter added to Django's built-ins.
Its context is plain data (dicts, lists, strings, Decimals, numbers, booleans), checked
before every render, so a template cannot call a model method, walk a relation or run
a query whatever it is written to do.

PDFs are drawn by xhtml2pdf (pure Python on ReportLab, installed from pip with the
project). The document may fetch nothing, neither from the network nor from the
disk: letter HTML is written by people, and a renderer that follows ``<img src>``
would lend them the server's network position and file system.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pypdf
from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import Node, Template
from django.template.defaulttags import DebugNode
from django.template.loader import render_to_string
from django.template.loader_tags import ExtendsNode, IncludeNode
from django.utils.safestring import mark_safe
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessPolicy

from core.errors import DomainError, InvalidInput

_LIBRARY = "correspondence.templatetags.letters"

# debug=True makes the engine record where in the source each token sits, which is what
# turns "Invalid block tag" into "line 12: Invalid block tag" for the admin.
# Escaping is chosen per render (HTML bodies escape, subjects and email text do not).
_ENGINE = Engine(debug=True, loaders=[], libraries={}, builtins=[_LIBRARY])

# Tags that reach outside the context: {% debug %} prints the interpreter's modules, and
# include/extends name other templates (the engine has none to find, but say so up front).
_FORBIDDEN_NODES: tuple[tuple[type[Node], str], ...] = (
    (DebugNode, "{% debug %}"),
    (IncludeNode, "{% include %}"),
    (ExtendsNode, "{% extends %}"),
)

# Nothing outside the document: no network, no local files (base_dir=None denies them all),
# and a bound on time and size so that one bad template cannot stall a worker.
_PDF_POLICY = ResourceAccessPolicy.server(
    base_dir=None, allow_remote=False, max_render_seconds=60, max_document_bytes=5 * 1024 * 1024
)

_PLAIN_SCALARS = (str, Decimal, int, bool, type(None))


class RenderError(DomainError):
    """The PDF renderer gave up on a document: a template problem, reported like one (no patient data)."""

    code = "render_failed"


# --- plain context -----------------------------------------------------------------------------


def ensure_plain(value: Any, path: str = "context") -> None:
    """Raise ``TypeError`` unless ``value`` is plain data all the way down.

    Plain means dicts with string keys, lists, and str / Decimal / int / bool / None
    leaves. Dates are formatted before they get here, and floats are refused because
    money is never a float.
    """
    if isinstance(value, Mapping):
        if type(value) is not dict:
            raise TypeError(f"{path} is a {type(value).__name__}; use a plain dict")
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path} has a non-string key {key!r}")
            ensure_plain(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            ensure_plain(item, f"{path}[{index}]")
    elif not isinstance(value, _PLAIN_SCALARS) or isinstance(value, float):
        raise TypeError(
            f"{path} is a {type(value).__name__}; a letter context holds only dicts, lists, strings, "
            "Decimals, whole numbers, booleans and None"
        )


# --- template source --------------------------------------------------------------------------


def _line_of(exc: Exception) -> int | None:
    info = getattr(exc, "template_debug", None)
    return info.get("line") if info else None


def _problem(field: str, exc: Exception) -> InvalidInput:
    line = _line_of(exc)
    message = str(exc.args[0]) if exc.args else type(exc).__name__
    where = f"line {line}: " if line else ""
    return InvalidInput(f"{field}: {where}{message}", field=field, details={"line": line})


def compile_source(source: str, *, field: str = "body") -> Template:
    """Compile admin-written source; a syntax error or a forbidden tag is ``InvalidInput`` naming the line."""
    try:
        template = _ENGINE.from_string(source)
    except TemplateSyntaxError as exc:
        raise _problem(field, exc) from None
    for node_type, label in _FORBIDDEN_NODES:
        for node in template.nodelist.get_nodes_by_type(node_type):
            line = node.token.lineno if getattr(node, "token", None) else None
            where = f"line {line}: " if line else ""
            raise InvalidInput(
                f"{field}: {where}the {label} tag cannot be used in letter templates",
                field=field,
                details={"line": line},
            )
    return template


def render_source(source: str, context: dict[str, Any], *, field: str = "body", text: bool = False) -> str:
    """Render ``source`` against plain ``context``; failures are ``InvalidInput`` naming field and line."""
    ensure_plain(context)
    template = compile_source(source, field=field)
    try:
        return template.render(Context(context, autoescape=not text))
    except Exception as exc:  # a render failure of admin-written source is reported, whatever its type
        raise _problem(field, exc) from None


def check_source(*, subject: str, body: str, printed: bool, sample: dict[str, Any]) -> None:
    """Validate a template before it is saved: it renders against ``sample`` (to a PDF when printed)."""
    if printed:
        render_printed(subject=subject, body=body, context=sample)
    else:
        render_email(subject=subject, body=body, context=sample)


def render_subject(source: str, context: dict[str, Any]) -> str:
    """A subject line or document title: text, on one line, at most 200 characters."""
    return re.sub(r"\s+", " ", render_source(source, context, field="subject", text=True)).strip()[:200]


# --- printed documents --------------------------------------------------------------------------


def print_html(*, title: str, body_html: str, context: dict[str, Any]) -> str:
    """Wrap a rendered body in the print layout: letterhead, page margins, table styles, page footer."""
    return render_to_string(
        "correspondence/print_layout.html",
        {
            "title": title,
            # Already rendered (and escaped) by the letter engine.
            "body": mark_safe(body_html),  # noqa: S308
            "organization": context.get("organization", {}),
        },
    )


def _no_links(uri: str, rel: str) -> str:
    # Second line of defence for xhtml2pdf paths that do not consult the resource policy:
    # only inline data: URIs (an embedded logo) survive.
    return uri if uri.startswith("data:") else ""


def render_pdf(html: str) -> bytes:
    """Draw ``html`` as a PDF. Slow (about a second for 200 table rows): never inside a transaction."""
    out = io.BytesIO()
    try:
        result = pisa.CreatePDF(
            html, dest=out, encoding="utf-8", link_callback=_no_links, resource_policy=_PDF_POLICY
        )
    except Exception as exc:  # xhtml2pdf raises many types; the caller needs one
        raise RenderError(f"body: the PDF could not be drawn ({type(exc).__name__})", field="body") from exc
    if result.err:
        raise RenderError(f"body: the PDF could not be drawn ({result.err} errors)", field="body")
    return out.getvalue()


def page_count(pdf: bytes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


@dataclass(frozen=True)
class Rendered:
    """One printed document: its title, full HTML (layout included), PDF bytes and pages."""

    title: str
    html: str
    pdf: bytes
    page_count: int


def render_printed(*, subject: str, body: str, context: dict[str, Any]) -> Rendered:
    """Render a printed template (statement or letter) to HTML and PDF."""
    title = render_subject(subject, context)
    html = print_html(title=title, body_html=render_source(body, context), context=context)
    pdf = render_pdf(html)
    return Rendered(title=title, html=html, pdf=pdf, page_count=page_count(pdf))


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body: str


def render_email(*, subject: str, body: str, context: dict[str, Any]) -> RenderedEmail:
    """Render an email template: a one-line subject and a plain-text body (no HTML escaping)."""
    text = render_source(body, context, text=True)
    # Template tags on their own lines leave runs of blank lines behind; keep at most one.
    text = re.sub(r"\n[ \t]*(\n[ \t]*)+\n", "\n\n", text).strip() + "\n"
    return RenderedEmail(subject=render_subject(subject, context), body=text)
