"""Fuzzing the tokenizer and the 835 reader: damaged input never makes them raise.

Each test starts from a seed file (a small inline 835, plus every file of ``shared/x12-samples``
when that folder is present) and damages it: truncation, byte deletion/insertion/replacement,
segment shuffling, duplication and dropping, element values swapped for hostile ones, or plain
random text and bytes. Whatever comes in, ``read_835`` returns a ``Remittance835File`` whose money
is ``Decimal``, whose diagnostics use known codes and point at real segments, and whose nodes are
consistent.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claims.x12.reader835 import DIAGNOSTIC_CODES, Remittance835File, read_835
from claims.x12.tokenizer import Diagnostic, Tokens, tokenize

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "x12-samples"

INLINE = (
    b"ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       "
    b"*240101*1200*^*00501*000000001*0*P*:~\n"
    b"GS*HP*SENDER*RECEIVER*20240101*1200*1*X*005010X221A1~\n"
    b"ST*835*0001~\nBPR*I*100*C*CHK************20240105~\nTRN*1*CHK1*1999999999~\nDTM*405*20240102~\n"
    b"N1*PR*PAYER*XV*999~\nN3*1 MAIN~\nN4*CITY*ST*12345~\nREF*2U*999~\nN1*PE*CLINIC*XX*1234567890~\n"
    b"REF*TJ*123456789~\nLX*1~\n"
    b"CLP*A1*1*150*100*20*12*ICN1*11*1***0.5~\nCAS*CO*45*30~\nNM1*QC*1*DOE*JOHN****MI*M1~\n"
    b"NM1*TT*2*OTHER*****PI*X1~\nMIA*0***10*MA01~\nMOA***MA02~\nREF*F8*ICN0~\nDTM*232*20240101~\n"
    b"DTM*050*20240103~\nAMT*AU*100~\nAMT*I*1~\n"
    b"SVC*HC:99213:25*120*100*0450*1*HC:99214*2~\nDTM*150*20240101~\nDTM*151*20240102~\n"
    b"CAS*PR*2*20*1*3*0~\nREF*6R*L1~\nAMT*B6*100~\nLQ*HE*N130~\n"
    b"CLP*A1*22*-150*-100*-20*12*ICN1*11*8~\nCAS*CR*45*-30~\n"
    b"SVC*HC:99213*-120*-100**-1~\nCAS*PR*2*-20~\n"
    b"CLP*A2*1*126*126*0*12*ICN2*11*1~\n"
    b"PLB*1234567890*20241231*WO:ICN0 A1*10*L6*-2*FB*3*CS*4*72*5*IR*6~\n"
    b"SE*36*0001~\nGE*1*1~\nIEA*1*000000001~\n"
)

CORPUS: list[bytes] = [INLINE]
if SAMPLES.is_dir():
    CORPUS += [p.read_bytes() for p in sorted(SAMPLES.iterdir()) if p.is_file() and p.name != "SOURCES.md"]

HOSTILE_VALUES = [
    "",
    "-",
    ".",
    "-0",
    "1e5",
    "NaN",
    "Infinity",
    "+1",
    "1,5",
    "١٢٣",
    "9" * 25,
    "0.000000000000000001",
    "-99999999999999999",
    "20241399",
    "00000000",
    "2024010",
    "CR",
    "XX",
    "22",
    "99",
    ":",
    ">",
    "^",
    "\x00",
    "é",
]

# X12_FUZZ_EXAMPLES raises the count for a long local run; the default keeps the module at a few seconds.
FUZZ = settings(
    max_examples=int(os.environ.get("X12_FUZZ_EXAMPLES", "200")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

seeds = st.sampled_from(CORPUS)


def check(remit: object, data: bytes | str) -> None:
    """The invariants every result must keep, whatever the input."""
    assert isinstance(remit, Remittance835File)
    count = remit.segment_count
    assert count == len(remit.segments)
    for diagnostic in remit.diagnostics:
        assert isinstance(diagnostic, Diagnostic)
        assert diagnostic.code in DIAGNOSTIC_CODES, diagnostic.code
        assert diagnostic.severity in ("error", "warning", "info")
        assert diagnostic.segment_index is None or 0 <= diagnostic.segment_index < count
        assert isinstance(diagnostic.message, str) and diagnostic.message
    ids = {id(d) for d in remit.diagnostics}
    assert remit.is_835 == bool(remit.transactions)
    if not remit.is_835:
        assert "not_835" in [d.code for d in remit.diagnostics]
    for txn in remit.transactions:
        assert isinstance(txn.total_paid, Decimal)
        assert 0 <= txn.segment_index <= txn.end_index < count
        assert all(id(d) in ids for d in txn.diagnostics)
        assert not (txn.balanced and not txn.complete)
        for plb in txn.provider_adjustments:
            assert isinstance(plb.amount, Decimal)
        for claim in txn.claims:
            assert txn.segment_index <= claim.segment_index <= claim.end_index <= txn.end_index
            assert all(id(d) in ids for d in claim.diagnostics)
            assert not (claim.balanced and not claim.complete)
            for value in (claim.charge, claim.paid, claim.patient_responsibility):
                assert isinstance(value, Decimal)
            for optional in (
                claim.drg_weight,
                claim.allowed_amount,
                claim.interest,
                claim.discharge_fraction,
            ):
                assert optional is None or isinstance(optional, Decimal)
            adjustments = list(claim.adjustments)
            for line in claim.lines:
                assert claim.segment_index < line.segment_index <= claim.end_index
                assert isinstance(line.charge, Decimal) and isinstance(line.paid, Decimal)
                for optional in (line.units_paid, line.original_units, line.allowed_amount):
                    assert optional is None or isinstance(optional, Decimal)
                assert not (line.balanced and not line.complete)
                adjustments += line.adjustments
            for adjustment in adjustments:
                assert isinstance(adjustment.amount, Decimal)
                assert adjustment.quantity is None or isinstance(adjustment.quantity, Decimal)


def read_and_check(data: bytes | str) -> Remittance835File:
    tokens = tokenize(data)
    assert isinstance(tokens, Tokens)
    assert [s.index for s in tokens.segments] == list(range(len(tokens.segments)))
    remit = read_835(data)
    check(remit, data)
    return remit


@FUZZ
@given(seed=seeds, cut=st.floats(min_value=0, max_value=1))
def test_truncation(seed, cut):
    read_and_check(seed[: int(len(seed) * cut)])


@FUZZ
@given(seed=seeds, data=st.data())
def test_byte_deletion_insertion_replacement(seed, data):
    buffer = bytearray(seed)
    edits = data.draw(st.integers(min_value=1, max_value=12))
    for _ in range(edits):
        if not buffer:
            break
        at = data.draw(st.integers(min_value=0, max_value=len(buffer) - 1))
        kind = data.draw(st.sampled_from(["delete", "insert", "replace"]))
        chunk = data.draw(
            st.one_of(
                st.binary(min_size=1, max_size=4), st.sampled_from([b"~", b"*", b":", b">", b"\n", b"-"])
            )
        )
        if kind == "delete":
            del buffer[at : at + len(chunk)]
        elif kind == "insert":
            buffer[at:at] = chunk
        else:
            buffer[at : at + len(chunk)] = chunk
    read_and_check(bytes(buffer))


@FUZZ
@given(
    seed=seeds,
    rng=st.randoms(use_true_random=False),
    operation=st.sampled_from(["shuffle", "drop", "repeat"]),
)
def test_segment_shuffling_dropping_and_repeating(seed, rng, operation):
    head, _, body = seed.partition(b"~")
    segments = body.split(b"~")
    if operation == "shuffle":
        rng.shuffle(segments)
    elif operation == "drop":
        segments = [s for s in segments if rng.random() > 0.2]
    else:
        segments = [s for s in segments for _ in range(rng.choice([1, 1, 1, 2, 3]))]
    read_and_check(head + b"~" + b"~".join(segments))


@FUZZ
@given(seed=seeds, rng=st.randoms(use_true_random=False), edits=st.integers(min_value=1, max_value=20))
def test_hostile_element_values(seed, rng, edits):
    text = seed.decode("utf-8-sig", errors="replace")
    tokens = tokenize(text)
    if not tokens.segments:
        return
    element = tokens.separators.element
    rows = [[s.tag, *s.elements] for s in tokens.segments]
    for _ in range(edits):
        row = rng.choice(rows)
        position = rng.randrange(1, max(2, len(row) + 2))
        value = rng.choice(HOSTILE_VALUES)
        if position < len(row):
            row[position] = value
        else:
            row.append(value)
    rebuilt = tokens.separators.segment.join(element.join(row) for row in rows)
    read_and_check(rebuilt)


@FUZZ
@given(raw=st.one_of(st.binary(max_size=2000), st.text(max_size=2000)))
def test_random_bytes_and_text(raw):
    read_and_check(raw)


@FUZZ
@given(
    parts=st.lists(
        st.tuples(
            st.sampled_from(
                ["ST", "BPR", "TRN", "N1", "LX", "CLP", "CAS", "SVC", "DTM", "AMT", "PLB", "SE", "GE"]
            ),
            st.lists(
                st.sampled_from([*HOSTILE_VALUES, "835", "1", "100", "-5", "PR", "CO", "HC:1:2"]), max_size=8
            ),
        ),
        max_size=60,
    )
)
def test_random_segment_soup(parts):
    text = "~".join("*".join((tag, *elements)) for tag, elements in parts)
    read_and_check(text)


def test_seeds_read_cleanly():
    """The seeds parse to 835s (the 837 samples excepted): the fuzzing starts from valid data."""
    inline = read_and_check(INLINE)
    assert [d.code for d in inline.diagnostics] == ["legacy_group_code"]
    assert inline.transactions[0].balanced
    assert all(c.balanced for c in inline.claims)
    for seed in CORPUS:
        remit = read_and_check(seed)
        assert remit.is_835 or b"ST*837" in seed


cents = st.integers(min_value=-(10**8), max_value=10**8).map(lambda n: Decimal(n).scaleb(-2))
adjustment = st.tuples(
    st.sampled_from(["CO", "PR", "OA", "PI"]), st.sampled_from(["1", "2", "45", "97"]), cents
)
service_line = st.tuples(cents, st.lists(adjustment, max_size=4))
claim_shape = st.tuples(cents, st.lists(adjustment, max_size=3), st.lists(service_line, max_size=4))


def build_835(claims: list, plb: list[Decimal]) -> tuple[list[str], list[int], list[int]]:
    """Segments of a balanced 835, with the index of every SVC and CLP segment."""
    body: list[str] = []
    svc_at: list[int] = []
    clp_at: list[int] = []
    total = Decimal("0.00")
    for number, (charge, claim_adjustments, lines) in enumerate(claims):
        everything = list(claim_adjustments) + [a for _, adjs in lines for a in adjs]
        paid = charge - sum((a[2] for a in everything), Decimal("0.00"))
        responsibility = sum((a[2] for a in everything if a[0] == "PR"), Decimal("0.00"))
        total += paid
        clp_at.append(len(body) + 4)
        body.append(f"CLP*PCN{number}*1*{charge}*{paid}*{responsibility}*12*ICN{number}")
        body += [f"CAS*{g}*{r}*{a}" for g, r, a in claim_adjustments]
        for line_charge, line_adjustments in lines:
            line_paid = line_charge - sum((a[2] for a in line_adjustments), Decimal("0.00"))
            svc_at.append(len(body) + 4)
            body.append(f"SVC*HC:99213*{line_charge}*{line_paid}")
            body += [f"CAS*{g}*{r}*{a}" for g, r, a in line_adjustments]
    for start in range(0, len(plb), 6):
        pairs = "*".join(f"CS*{amount}" for amount in plb[start : start + 6])
        body.append(f"PLB*P1*20241231*{pairs}")
    payment = total - sum(plb, Decimal("0.00"))
    direction = "D" if payment < 0 else "C"
    header = ["ST*835*0001", f"BPR*I*{abs(payment)}*{direction}*CHK************20240105", "TRN*1*T1*1999"]
    header.append("N1*PE*CLINIC*XX*1")
    segments = [*header, *body]
    segments.append(f"SE*{len(segments) + 1}*0001")
    return segments, svc_at, clp_at


@FUZZ
@given(claims=st.lists(claim_shape, min_size=1, max_size=5), plb=st.lists(cents, max_size=8), data=st.data())
def test_generated_balanced_remittances_balance_and_a_cent_off_is_caught(claims, plb, data):
    segments, svc_at, clp_at = build_835(claims, plb)
    remit = read_and_check("~".join(segments) + "~")
    assert [d.code for d in remit.diagnostics] == ["no_interchange_envelope"]
    (txn,) = remit.transactions
    assert txn.balanced and all(c.balanced for c in txn.claims)
    assert all(line.balanced for c in txn.claims for line in c.lines)
    assert len(txn.provider_adjustments) == len(plb)

    # One cent more on one SVC03 (or, without lines, on one CLP04).
    where = data.draw(st.sampled_from(svc_at or clp_at))
    parts = segments[where].split("*")
    parts[3 if parts[0] == "SVC" else 4] = str(
        Decimal(parts[3 if parts[0] == "SVC" else 4]) + Decimal("0.01")
    )
    segments[where] = "*".join(parts)
    damaged = read_and_check("~".join(segments) + "~")
    found = [d.code for d in damaged.diagnostics]
    (txn,) = damaged.transactions
    if parts[0] == "SVC":
        assert found.count("line_unbalanced") == 1 and "claim_unbalanced" not in found
        assert txn.balanced
        assert sum(not c.balanced for c in txn.claims) == 1
    else:
        assert found.count("claim_unbalanced") == 1 and "transaction_unbalanced" in found
        assert not txn.balanced
