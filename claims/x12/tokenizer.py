"""Tolerant X12 tokenizer: bytes or text in, segments, separators and diagnostics out.

``tokenize`` finds the delimiters (from the ISA header, or from an ``ST`` segment when the
interchange envelope is missing), splits the data into ``Segment`` objects and checks the envelope
counts and control numbers (SE01/SE02, GE01/GE02, IEA01/IEA02). It never raises: every problem
is reported as a ``Diagnostic``.

``tokenize_stream`` does the same checks but keeps each segment as its raw text and builds the
``Segment`` objects one at a time as they are iterated: a reader that walks the segments once
needs a fraction of the memory (a segment object with its element strings takes about ten times
the bytes of its text).

Real files are untidy, and all of the following are accepted: a UTF-8 byte order mark, CR/LF or
LF after terminators, indented segments, the whole file on one line, lines wrapped in the middle
of a segment, a line break written *before* each terminator (``...^\\n~GS|...``), bytes that are
not UTF-8 (read as Latin-1), and a component separator in the body that disagrees with ISA16
(accepted with a warning).

The module imports nothing from Django; the transaction readers build on it.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

ERROR = "error"
WARNING = "warning"
INFO = "info"

DEFAULT_ELEMENT = "*"
DEFAULT_COMPONENT = ":"
DEFAULT_SEGMENT = "~"

# Every code this module can emit.
TOKENIZER_DIAGNOSTIC_CODES = frozenset(
    {
        "empty_file",
        "not_x12",
        "leading_garbage",
        "bad_isa",
        "no_interchange_envelope",
        "component_separator_mismatch",
        "bad_segment_tag",
        "too_many_diagnostics",
        "envelope_count_mismatch",
        "envelope_control_mismatch",
        "envelope_missing_trailer",
        "envelope_unexpected_segment",
    }
)

# Whitespace and filler that may surround a segment: indentation, CR/LF, NUL padding, DOS EOF.
_SEGMENT_PADDING = " \t\r\n\x00\x0b\x0c\x1a"
# Characters that never act as a delimiter even when they follow a qualifier (``AB-1``, ``A.B``).
_NOT_DELIMITERS = frozenset(" .-/,&'()#_\t\r\n")
# Composite elements (tag → element positions) whose value starts with a 2-3 character qualifier,
# used to see which component separator the body really uses.
_COMPOSITE_PROBES: dict[str, tuple[int, ...]] = {
    "SVC": (1, 6),
    "SV1": (1,),
    "SV2": (2,),
    "SV3": (1,),
    "SVD": (3,),
    "CLM": (5,),
    "PLB": (3, 5, 7, 9, 11, 13),
    "HI": (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
}
_MAX_PROBES = 500
# A damaged file can produce one bad tag per byte; report the first ones only.
_MAX_BAD_TAG_REPORTS = 20


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a file is parsed.

    Parsing allocates hundreds of thousands of small containers that never form cycles; with the
    collector running, it re-scans them over and over and a 200,000-segment file takes about twice
    as long. The collector is switched back on only if it was on before.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem found in the data. Never carries patient names."""

    code: str
    severity: str
    segment_index: int | None
    message: str


@dataclass(frozen=True, slots=True)
class Separators:
    """The delimiters in force. ``repetition`` is ``None`` before version 00501."""

    element: str
    component: str
    repetition: str | None
    segment: str


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment. ``elements`` excludes the tag: element n (1-based, ``CLP04``) is ``elements[n-1]``."""

    index: int
    tag: str
    elements: tuple[str, ...]
    component_separator: str = field(default=DEFAULT_COMPONENT, repr=False, compare=False)

    def get(self, n: int, default: str = "") -> str:
        """Element ``n`` (1-based); ``default`` when it is absent or empty."""
        elements = self.elements
        if 0 < n <= len(elements):
            return elements[n - 1] or default
        return default

    def components(self, n: int) -> list[str]:
        """The components of element ``n``; ``[]`` when the element is absent or empty."""
        value = self.get(n)
        return value.split(self.component_separator) if value else []

    def component(self, n: int, k: int) -> str:
        """Component ``k`` (1-based) of element ``n``; ``""`` when absent."""
        parts = self.components(n)
        return parts[k - 1] if 0 < k <= len(parts) else ""

    def text(self, element_separator: str = DEFAULT_ELEMENT) -> str:
        """The segment written back with ``element_separator`` (no terminator)."""
        return element_separator.join((self.tag, *self.elements))


@dataclass
class Tokens:
    segments: list[Segment]
    separators: Separators
    diagnostics: list[Diagnostic]


@dataclass
class TokenStream:
    """The segments of ``tokenize_stream``: the same ones, in the same order, as ``tokenize``
    gives, built on each iteration. ``diagnostics`` are complete before the first iteration."""

    chunks: list[str] = field(repr=False)
    separators: Separators
    diagnostics: list[Diagnostic]

    def __len__(self) -> int:
        return len(self.chunks)

    def __iter__(self) -> Iterator[Segment]:
        element = self.separators.element
        component = self.separators.component
        for index, chunk in enumerate(self.chunks):
            parts = chunk.split(element)
            yield Segment(index, parts[0], tuple(parts[1:]), component)


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data[1:] if data.startswith("\ufeff") else data
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _is_delimiter(char: str) -> bool:
    return len(char) == 1 and not char.isalnum() and char not in _NOT_DELIMITERS


def _find_tag(text: str, tag: str, start: int = 0) -> int:
    """Position of ``tag`` that starts a segment (at the start, or after a non-alphanumeric), or -1."""
    pos = text.find(tag, start)
    while pos != -1:
        before_ok = pos == 0 or not text[pos - 1].isalnum()
        after = text[pos + len(tag) : pos + len(tag) + 1]
        if before_ok and after and _is_delimiter(after):
            return pos
        pos = text.find(tag, pos + 1)
    return -1


def _terminator_after(text: str, pos: int) -> str | None:
    """The segment terminator whose first candidate is at ``pos``.

    A line break there is the terminator itself, unless the next non-blank character is a
    delimiter: then the file writes its line breaks *before* each terminator (``\\n~GS``).
    """
    if pos >= len(text):
        return None
    char = text[pos]
    if char in "\r\n":
        probe = pos
        while probe < len(text) and text[probe] in " \t\r\n":
            probe += 1
        if probe < len(text) and _is_delimiter(text[probe]):
            return text[probe]
        return "\n"
    if _is_delimiter(char):
        return char
    return None


def _scan_st_terminator(text: str, start: int, element: str) -> str | None:
    """Terminator of an ``ST`` segment: ST01-ST03 are alphanumeric, the first other character ends it."""
    pos = start + 3
    limit = min(len(text), start + 120)
    while pos < limit:
        char = text[pos]
        if char == element or char.isalnum() or char == " ":
            pos += 1
            continue
        return _terminator_after(text, pos)
    return None


class _Sink:
    """Collects diagnostics; caps the flood of bad-tag reports a damaged file can cause."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []
        self.bad_tags = 0

    def add(self, code: str, severity: str, index: int | None, message: str) -> None:
        self.items.append(Diagnostic(code, severity, index, message))

    def bad_tag(self, index: int, tag: str) -> None:
        self.bad_tags += 1
        if self.bad_tags <= _MAX_BAD_TAG_REPORTS:
            shown = tag[:12].encode("unicode_escape").decode("ascii")
            self.add("bad_segment_tag", WARNING, index, f"segment {index} has an invalid tag {shown!r}")

    def finish(self) -> None:
        if self.bad_tags > _MAX_BAD_TAG_REPORTS:
            self.add(
                "too_many_diagnostics",
                INFO,
                None,
                f"{self.bad_tags} segments have an invalid tag; only the first "
                f"{_MAX_BAD_TAG_REPORTS} are reported",
            )


def _detect(text: str, sink: _Sink) -> tuple[int, Separators] | None:
    """Where the X12 data starts and which separators it declares; ``None`` if it is not X12."""
    isa = _find_tag(text, "ISA")
    st = _find_tag(text, "ST")
    if isa != -1 and (st == -1 or isa < st):
        element = text[isa + 3]
        pos = isa + 3
        for _ in range(15):
            pos = text.find(element, pos + 1)
            if pos == -1:
                break
        if pos != -1 and pos + 1 < len(text):
            component = text[pos + 1]
            segment = _terminator_after(text, pos + 2)
            isa_text = text[isa:pos]
            fields = isa_text.split(element)
            version = fields[12].strip() if len(fields) > 12 else ""
            repetition = fields[11].strip() if len(fields) > 11 else ""
            if segment is not None and _is_delimiter(component) and len({element, component, segment}) == 3:
                rep = repetition if version >= "00501" and _is_delimiter(repetition) else None
                if rep in (element, component, segment):
                    rep = None
                return isa, Separators(element, component, rep, segment)
        sink.add(
            "bad_isa",
            ERROR,
            None,
            "the ISA header is damaged (its 16 elements, ISA16 or the segment terminator cannot be "
            "found); trying the default separators",
        )
        if _is_delimiter(element) and element not in (DEFAULT_COMPONENT, DEFAULT_SEGMENT):
            return isa, Separators(element, DEFAULT_COMPONENT, None, DEFAULT_SEGMENT)
        return isa, Separators(DEFAULT_ELEMENT, DEFAULT_COMPONENT, None, DEFAULT_SEGMENT)
    if st != -1:
        element = text[st + 2]
        segment = _scan_st_terminator(text, st, element) or DEFAULT_SEGMENT
        component = DEFAULT_COMPONENT
        if component in (element, segment):
            component = next(c for c in ":>^|!" if c not in (element, segment))
        if segment == element:
            return None
        return st, Separators(element, component, None, segment)
    return None


def _body_component(raw: Iterable[list[str]], declared: Separators) -> str | None:
    """The component separator the composites of the body actually use, if it is not the declared one."""
    votes: Counter[str] = Counter()
    probes = 0
    for parts in raw:
        positions = _COMPOSITE_PROBES.get(parts[0])
        if positions is None:
            continue
        for n in positions:
            if n >= len(parts) or not parts[n]:
                continue
            value = parts[n]
            probes += 1
            if declared.component in value:
                return None
            for width in (2, 3):
                if len(value) > width + 1 and value[:width].isalnum():
                    char = value[width]
                    if _is_delimiter(char) and char not in (declared.element, declared.segment):
                        votes[char] += 1
                        break
        if probes >= _MAX_PROBES:
            break
    if not votes:
        return None
    return votes.most_common(1)[0][0]


def _valid_tag(tag: str) -> bool:
    return 2 <= len(tag) <= 3 and tag.isascii() and tag.isalnum() and tag[0].isalpha() and tag.isupper()


def _as_int(value: str) -> int | None:
    if 0 < len(value) <= 18 and value.isascii() and value.isdigit():
        return int(value)
    return None


def _check_envelopes(segments: list[Segment], starts_with_st: bool, sink: _Sink) -> None:
    """SE01/SE02, GE01/GE02, IEA01/IEA02 against what the file holds, and missing trailers.

    ``segments`` are the envelope segments (ISA, GS, ST, SE, GE, IEA) in file order; the others
    play no part. ``starts_with_st`` tells whether the data's first segment is an ST."""
    isa: Segment | None = None
    gs: Segment | None = None
    st: Segment | None = None
    groups = 0
    sets = 0

    def count_mismatch(seg: Segment, element: str, declared: str, actual: int, what: str) -> None:
        declared = declared.strip()
        if _as_int(declared) != actual:
            sink.add(
                "envelope_count_mismatch",
                WARNING,
                seg.index,
                f"{element} at segment {seg.index} says {declared or '(empty)'} but the "
                f"{what} holds {actual}",
            )

    def control_mismatch(
        seg: Segment, element: str, value: str, opener: Segment, opener_element: str
    ) -> None:
        expected = opener.get(int(opener_element[-2:])).strip()
        value = value.strip()
        if value != expected and (_as_int(value) is None or _as_int(value) != _as_int(expected)):
            sink.add(
                "envelope_control_mismatch",
                WARNING,
                seg.index,
                f"{element} {value or '(empty)'} at segment {seg.index} does not match "
                f"{opener_element} {expected or '(empty)'} at segment {opener.index}",
            )

    def missing(opener: Segment, trailer: str, at: int | None) -> None:
        where = f"before segment {at}" if at is not None else "at the end of the data"
        sink.add(
            "envelope_missing_trailer",
            WARNING,
            opener.index,
            f"{opener.tag} at segment {opener.index} has no {trailer} {where}",
        )

    def unexpected(seg: Segment, opener: str) -> None:
        sink.add(
            "envelope_unexpected_segment",
            WARNING,
            seg.index,
            f"{seg.tag} at segment {seg.index} has no open {opener}",
        )

    if starts_with_st:
        sink.add(
            "no_interchange_envelope",
            INFO,
            0,
            "the data starts at ST: no ISA/GS envelope, default separators assumed where not seen",
        )
    for seg in segments:
        tag = seg.tag
        if tag == "ST":
            if st is not None:
                missing(st, "SE", seg.index)
            st = seg
            sets += 1
        elif tag == "SE":
            if st is None:
                unexpected(seg, "ST")
                continue
            count_mismatch(seg, "SE01", seg.get(1), seg.index - st.index + 1, "transaction set (ST..SE)")
            control_mismatch(seg, "SE02", seg.get(2), st, "ST02")
            st = None
        elif tag == "GS":
            if st is not None:
                missing(st, "SE", seg.index)
                st = None
            if gs is not None:
                missing(gs, "GE", seg.index)
            gs = seg
            groups += 1
            sets = 0
        elif tag == "GE":
            if st is not None:
                missing(st, "SE", seg.index)
                st = None
            if gs is None:
                unexpected(seg, "GS")
                continue
            count_mismatch(seg, "GE01", seg.get(1), sets, "functional group (ST count)")
            control_mismatch(seg, "GE02", seg.get(2), gs, "GS06")
            gs = None
        elif tag == "ISA":
            if st is not None:
                missing(st, "SE", seg.index)
                st = None
            if gs is not None:
                missing(gs, "GE", seg.index)
                gs = None
            if isa is not None:
                missing(isa, "IEA", seg.index)
            isa = seg
            groups = 0
        elif tag == "IEA":
            if st is not None:
                missing(st, "SE", seg.index)
                st = None
            if gs is not None:
                missing(gs, "GE", seg.index)
                gs = None
            if isa is None:
                unexpected(seg, "ISA")
                continue
            count_mismatch(seg, "IEA01", seg.get(1), groups, "interchange (GS count)")
            control_mismatch(seg, "IEA02", seg.get(2), isa, "ISA13")
            isa = None
    for opener, trailer in ((st, "SE"), (gs, "GE"), (isa, "IEA")):
        if opener is not None:
            missing(opener, trailer, None)


_ENVELOPE_TAGS = frozenset({"ISA", "GS", "ST", "SE", "GE", "IEA"})


def tokenize(data: bytes | str) -> Tokens:
    """Split X12 ``data`` into segments. Never raises; problems are in ``Tokens.diagnostics``."""
    with gc_paused():
        chunks, separators, diagnostics = _tokenize(data)
        element = separators.element
        component = separators.component
        segments = [
            Segment(index, parts[0], tuple(parts[1:]), component)
            for index, parts in enumerate(chunk.split(element) for chunk in chunks)
        ]
        return Tokens(segments, separators, diagnostics)


def tokenize_stream(data: bytes | str) -> TokenStream:
    """``tokenize`` for a single pass: the same segments, separators and diagnostics, with each
    ``Segment`` built only when the iteration reaches it. Never raises."""
    with gc_paused():
        return TokenStream(*_tokenize(data))


def _tokenize(data: bytes | str) -> tuple[list[str], Separators, list[Diagnostic]]:
    """The segments as raw text (padding stripped, empty ones dropped), the separators and
    every diagnostic."""
    sink = _Sink()
    defaults = Separators(DEFAULT_ELEMENT, DEFAULT_COMPONENT, None, DEFAULT_SEGMENT)
    if isinstance(data, bytearray | memoryview):
        data = bytes(data)
    if not isinstance(data, bytes | str):
        sink.add("not_x12", ERROR, None, f"expected bytes or text, got {type(data).__name__}")
        return [], defaults, sink.items
    text = _decode(data)
    if not text.strip(_SEGMENT_PADDING):
        sink.add("empty_file", ERROR, None, "the data is empty")
        return [], defaults, sink.items

    detected = _detect(text, sink)
    if detected is None:
        sink.add(
            "not_x12",
            ERROR,
            None,
            f"no ISA or ST segment found in {len(text)} characters: this is not X12 data",
        )
        return [], defaults, sink.items
    start, separators = detected
    if text[:start].strip(_SEGMENT_PADDING):
        sink.add(
            "leading_garbage",
            WARNING,
            None,
            f"{start} characters before the first {'ISA' if text.startswith('ISA', start) else 'ST'} "
            "segment were skipped",
        )
    body = text[start:]
    del text
    if separators.segment not in "\r\n":
        # Line breaks are layout only (including lines wrapped inside a segment).
        body = body.replace("\r", "").replace("\n", "")

    element = separators.element
    chunks = [
        stripped for chunk in body.split(separators.segment) if (stripped := chunk.strip(_SEGMENT_PADDING))
    ]
    del body

    actual = _body_component((chunk.split(element) for chunk in chunks), separators)
    if actual is not None:
        sink.add(
            "component_separator_mismatch",
            WARNING,
            None,
            f"the header declares {separators.component!r} as component separator (ISA16) but the "
            f"composite elements use {actual!r}; reading them with {actual!r}",
        )
        repetition = None if separators.repetition == actual else separators.repetition
        separators = Separators(element, actual, repetition, separators.segment)
    _scan(chunks, separators, sink)
    return chunks, separators, sink.items


def _scan(chunks: list[str], separators: Separators, sink: _Sink) -> None:
    """Invalid tags and the envelope checks, from the raw segments: only the envelope segments
    become ``Segment`` objects."""
    element = separators.element
    component = separators.component
    valid: dict[str, bool] = {}
    envelope: list[Segment] = []
    for index, chunk in enumerate(chunks):
        tag = chunk.partition(element)[0]
        ok = valid.get(tag)
        if ok is None:
            ok = valid[tag] = _valid_tag(tag)
        if not ok:
            sink.bad_tag(index, tag)
        elif tag in _ENVELOPE_TAGS:
            parts = chunk.split(element)
            envelope.append(Segment(index, tag, tuple(parts[1:]), component))
    sink.finish()
    starts_with_st = bool(chunks) and chunks[0].partition(element)[0] == "ST"
    _check_envelopes(envelope, starts_with_st, sink)
