"""Rendering admin-written templates: plain data only, mistakes named by line, real PDFs."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pypdf
import pytest

from core.errors import InvalidInput
from correspondence import rendering
from correspondence.defaults import DEFAULTS
from correspondence.samples import sample_context, variable_names

D = Decimal


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def test_it_renders_plain_data_with_the_money_filter():
    html = rendering.render_source(
        "<p>{{ guarantor.name }} owes {{ balances.amount_due|money }}</p>",
        {"guarantor": {"name": "Ann <Lee>"}, "balances": {"amount_due": D("1234.5")}},
    )
    # HTML bodies escape what they print; the money filter formats Decimals.
    assert html == "<p>Ann &lt;Lee&gt; owes $1,234.50</p>"


def test_text_rendering_does_not_escape():
    assert rendering.render_source("{{ name }}", {"name": "O'Brien & Sons"}, text=True) == "O'Brien & Sons"


@pytest.mark.parametrize(
    "value",
    [
        {"account": object()},
        {"when": date(2026, 1, 1)},
        {"amount": 1.5},
        {"lines": [{"nested": {1: "x"}}]},
    ],
)
def test_it_refuses_a_context_that_is_not_plain_data(value):
    with pytest.raises(TypeError):
        rendering.render_source("{{ x }}", value)


def test_it_refuses_a_model_instance_in_the_context(org):
    # A model would let a template call its methods and walk its relations.
    with pytest.raises(TypeError, match=r"context\.organization is a Organization"):
        rendering.render_source("{{ organization.name }}", {"organization": org})


def test_a_syntax_error_names_its_line():
    source = "<p>Hello</p>\n<p>{{ guarantor.name }}</p>\n{% frobnicate %}\n"
    with pytest.raises(InvalidInput) as caught:
        rendering.compile_source(source)
    assert caught.value.field == "body"
    assert caught.value.message.startswith("body: line 3: Invalid block tag on line 3: 'frobnicate'")
    assert caught.value.details["line"] == 3


def test_an_unclosed_tag_names_the_line_it_opened_on():
    with pytest.raises(InvalidInput) as caught:
        rendering.compile_source("<p>a</p>\n{% if balances.amount_due %}\n<p>b</p>\n", field="subject")
    assert caught.value.message.startswith("subject: line 2: Unclosed tag on line 2: 'if'")


@pytest.mark.parametrize(
    ("source", "label"),
    [
        ("<p>x</p>\n{% debug %}", "{% debug %}"),
        ('{% include "base.html" %}', "{% include %}"),
        ('{% extends "base.html" %}', "{% extends %}"),
    ],
)
def test_tags_that_reach_outside_the_context_are_refused(source, label):
    with pytest.raises(InvalidInput, match=f"the {label} tag cannot be used"):
        rendering.compile_source(source)


def test_tag_libraries_cannot_be_loaded():
    with pytest.raises(InvalidInput, match="line 1: 'static' is not a registered tag library"):
        rendering.compile_source("{% load static %}")


def test_a_render_error_is_reported_with_its_line():
    with pytest.raises(InvalidInput, match=r"^body: line 2: "):
        rendering.render_source("<p>x</p>\n{% for a, b in lines %}{% endfor %}", {"lines": ["abc"]})


def test_render_pdf_draws_a_real_pdf():
    pdf = rendering.render_pdf("<html><body><p>Total charges $215.00</p></body></html>")
    assert pdf.startswith(b"%PDF-")
    assert rendering.page_count(pdf) == 1
    assert "Total charges $215.00" in pdf_text(pdf)


def test_a_pdf_fetches_nothing_a_template_links_to():
    # Neither the network nor the disk: the image is left out and the document still renders.
    html = (
        '<html><body><img src="http://169.254.169.254/latest/meta-data/">'
        '<img src="/etc/passwd"><p>ok</p></body></html>'
    )
    assert "ok" in pdf_text(rendering.render_pdf(html))


def test_every_standard_template_renders_against_the_sample_context():
    for default in DEFAULTS:
        context = sample_context(kind_label="Patient statement")
        if default.kind == "email":
            email = rendering.render_email(subject=default.subject, body=default.body, context=context)
            assert email.subject == "Your patient statement from Riverside General Hospital"
            assert "Amount due: $60.00, by 12/03/2026" in email.body
            assert "\n\n\n" not in email.body
            continue
        rendered = rendering.render_printed(subject=default.subject, body=default.body, context=context)
        text = pdf_text(rendered.pdf)
        assert rendered.page_count >= 1
        assert "Riverside General Hospital" in text
        assert "A100234" in text, default.name


def test_the_patient_statement_has_what_a_patient_needs():
    default = next(d for d in DEFAULTS if d.kind == "patient_statement")
    rendered = rendering.render_printed(subject=default.subject, body=default.body, context=sample_context())
    text = " ".join(pdf_text(rendered.pdf).split())
    for expected in (
        "Maria Gonzalez",
        "418 Elm Street",
        "Statement date 11/03/2026",
        "Account number A100234",
        "Dates of service 09/01/2026 to 09/03/2026",
        "Amount due $60.00",
        "Please pay by 12/03/2026",
        "Waiting for insurance to pay $35.00",
        "0-30 days",
        "Over 120 days",
        "How to pay",
        "https://pay.example.org",
        "Financial Assistance Policy",
        "free of charge",
        "English and Spanish",
        "Free interpreters",
    ):
        assert expected in text, expected
    assert rendered.page_count == 1


def test_the_variable_list_names_every_field():
    names = dict(variable_names())
    assert names["account.number"] == "A100234"
    assert names["lines"].startswith("list; each has date, kind, code, modifiers, description, units")
    assert "balances.amount_due" in names
