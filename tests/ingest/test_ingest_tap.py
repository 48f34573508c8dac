"""TAP 12/13/14: directives, plans, bail out, subtests, YAML, malformed lines."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatehouse.core.results import Status, verdict_status
from gatehouse.errors import InputError
from gatehouse.ingest import IngestContext, parse_results


def test_points_and_directives(parse):
    parsed = parse(
        """TAP version 13
1..6
ok 1 - passes
not ok 2 - fails
ok 3 - skipped # SKIP no network
ok 4 # skip lowercase directive works too
not ok 5 - expected failure # TODO not written yet
ok 6 - bonus # TODO fixed meanwhile
""",
        "tap",
    )
    assert parsed.statuses() == {
        "passes": Status.PASS,
        "fails": Status.FAIL,
        "skipped": Status.SKIP,
        "4": Status.SKIP,
        "expected failure": Status.FAIL,
        "bonus": Status.PASS,
    }
    assert parsed.by_path("skipped").comment == "no network"
    todo = parsed.by_path("expected failure")
    assert todo.misc == {"waived": True, "original_status": "not ok # TODO"}
    assert verdict_status(todo) is None
    bonus = parsed.by_path("bonus")
    assert bonus.misc == {"unexpected_pass": True, "original_status": "ok # TODO"}
    assert parsed.warnings == []


def test_plan_at_the_end_and_numbers_optional(parse):
    parsed = parse("ok - first\nok\nnot ok - third\n1..3\n", "tap")
    assert parsed.statuses() == {"first": Status.PASS, "2": Status.PASS, "third": Status.FAIL}
    assert parsed.warnings == []


def test_missing_planned_tests_become_miss(parse):
    parsed = parse("1..4\nok 1\nok 2\n", "tap")
    assert parsed.statuses() == {
        "1": Status.PASS,
        "2": Status.PASS,
        "3": Status.MISS,
        "4": Status.MISS,
    }
    assert parsed.by_path("3").misc == {"synthetic": "missing"}
    assert "tap-plan" in parsed.codes()


def test_tests_beyond_the_plan_are_kept_with_a_warning(parse):
    parsed = parse("1..1\nok 1\nok 2\n", "tap")
    assert len(parsed.tests) == 2
    [warning] = parsed.warnings
    assert (warning.code, warning.location.line) == ("tap-plan", 3)


def test_bail_out_turns_the_rest_of_the_plan_into_errors(parse):
    parsed = parse("1..4\nok 1\nnot ok 2\nBail out! database down\nok 3\nok 4\n", "tap")
    assert parsed.statuses() == {
        "1": Status.PASS,
        "2": Status.FAIL,
        "3": Status.ERROR,
        "4": Status.ERROR,
    }
    assert parsed.by_path("3").comment == "not run: Bail out! database down"
    assert parsed.by_path("3").misc == {"synthetic": "bail_out"}
    assert "tap-bail-out" in parsed.codes()


def test_bail_out_without_a_plan_records_itself(parse):
    parsed = parse("ok 1\nBail out! no disk\n", "tap")
    assert parsed.statuses() == {"1": Status.PASS, "bail_out": Status.ERROR}
    assert parsed.by_path("bail_out").comment == "Bail out! no disk"


def test_missing_plan_is_a_miss_record(parse):
    parsed = parse("TAP version 13\nok 1 - a\nok 2 - b\n", "tap")
    assert parsed.by_path("missing_plan").status is Status.MISS
    assert "tap-plan" in parsed.codes()


def test_skip_all_plan(parse):
    parsed = parse("TAP version 14\n1..0 # SKIP no GPU on this runner\n", "tap")
    [record] = parsed.tests
    assert (record.path, record.status, record.comment) == (
        "skip_all",
        Status.SKIP,
        "no GPU on this runner",
    )


def test_yaml_diagnostics(parse):
    parsed = parse(
        """TAP version 13
1..2
not ok 1 - compares
  ---
  message: 'expected 1, got 2'
  duration_ms: 12.5
  at:
    file: t.js
    line: 3
  ...
ok 2 - timed
  ---
  duration_ms: 3
  ...
""",
        "tap",
    )
    failed = parsed.by_path("compares")
    assert failed.comment == "expected 1, got 2"
    assert failed.duration == pytest.approx(0.0125)
    assert "file: t.js" in (failed.log_excerpt or "")
    timed = parsed.by_path("timed")
    assert timed.duration == pytest.approx(0.003)
    assert timed.log_excerpt is None  # nothing but timing: not worth an excerpt


def test_unreadable_yaml_is_kept_with_a_warning(parse):
    parsed = parse("1..1\nnot ok 1\n  ---\n  a: [unclosed\n  ...\n", "tap")
    assert parsed.tests[0].log_excerpt == "a: [unclosed"
    assert parsed.codes() == ["tap-yaml"]


def test_unterminated_yaml_block_is_closed_by_the_next_point(parse):
    parsed = parse("1..2\nnot ok 1\n  ---\n  message: x\nok 2\n", "tap")
    assert parsed.statuses() == {"1": Status.FAIL, "2": Status.PASS}
    assert parsed.by_path("1").comment == "x"
    assert "tap-yaml" in parsed.codes()


def test_diagnostic_comments_after_a_failure_become_its_excerpt(parse):
    parsed = parse(
        "1..2\nnot ok 1 - eq\n#   Failed test 'eq'\n#   at t/basic.t line 5.\nok 2\n# all done\n",
        "tap",
    )
    assert parsed.by_path("eq").log_excerpt == "#   Failed test 'eq'\n#   at t/basic.t line 5."
    assert parsed.by_path("2").log_excerpt is None


def test_tap14_indented_subtests(parse):
    parsed = parse(
        """TAP version 14
1..2
# Subtest: parser
    1..2
    ok 1 - header
    # Subtest: body
        1..1
        not ok 1 - empty input
    not ok 2 - body
not ok 1 - parser
ok 2 - after
""",
        "tap",
    )
    assert parsed.statuses() == {
        "parser.header": Status.PASS,
        "parser.body.empty input": Status.FAIL,
        "parser.body": Status.FAIL,
        "parser": Status.FAIL,
        "after": Status.PASS,
    }
    assert parsed.warnings == []


def test_subtest_named_by_its_comment_when_the_parent_has_no_description(parse):
    parsed = parse("# Subtest: group\n    ok 1 - inner\n    1..1\nok 1\n1..1\n", "tap")
    assert parsed.statuses() == {"group.inner": Status.PASS, "group": Status.PASS}


def test_braced_subtests(parse):
    parsed = parse(
        """TAP version 14
ok 1 - outer {
    ok 1 - inner one
    not ok 2 - inner two # TODO later
    1..2
}
ok 2 - next
1..2
""",
        "tap",
    )
    assert parsed.statuses() == {
        "outer.inner one": Status.PASS,
        "outer.inner two": Status.FAIL,
        "outer": Status.PASS,
        "next": Status.PASS,
    }


def test_subtest_cut_short_gets_a_synthetic_parent(parse):
    parsed = parse("1..2\nok 1\n# Subtest: crashy\n    1..3\n    ok 1 - a\n", "tap")
    assert parsed.statuses() == {
        "1": Status.PASS,
        "crashy.a": Status.PASS,
        "crashy.2": Status.MISS,
        "crashy.3": Status.MISS,
        "crashy": Status.MISS,
    }
    assert parsed.by_path("crashy").misc == {"synthetic": "missing_parent"}


def test_bail_out_inside_a_subtest_errors_everything_open(parse):
    parsed = parse("1..2\n# Subtest: s\n    1..2\n    ok 1\n    Bail out! gone\n", "tap")
    assert parsed.statuses() == {
        "s.1": Status.PASS,
        "s.2": Status.ERROR,
        "s": Status.ERROR,
        "2": Status.ERROR,
    }


def test_out_of_order_and_duplicate_numbers(parse):
    parsed = parse("1..3\nok 2 - b\nok 1 - a\nok 1 - again\nok 3 - c\n", "tap")
    assert sorted(parsed.statuses()) == ["a", "again", "b", "c"]
    assert parsed.codes().count("tap-order") >= 2
    assert "tap-duplicate" in parsed.codes()
    assert len({t.id for t in parsed.tests}) == 4


def test_repeated_descriptions_are_different_tests(parse):
    parsed = parse("1..3\nok 1 - equal\nnot ok 2 - equal\nok 3 - equal\n", "tap")
    assert parsed.statuses() == {
        "equal": Status.PASS,
        "equal#2": Status.FAIL,
        "equal#3": Status.PASS,
    }


def test_escapes_hash_words_and_time_pragma(parse):
    parsed = parse(
        "1..3\nok 1 - fixes \\# 42\nok 2 - issue #17 stays in the name\nok 3 - timed # time=12.5ms\n",
        "tap",
    )
    assert set(parsed.statuses()) == {"fixes # 42", "issue #17 stays in the name", "timed"}
    assert parsed.by_path("timed").duration == pytest.approx(0.0125)


def test_non_tap_lines_are_ignored_with_their_line(parse):
    parsed = parse("1..1\nrandom build noise\nok 1\npragma +strict\n", "tap")
    assert [t.status for t in parsed.tests] == [Status.PASS]
    [warning] = parsed.warnings
    assert (warning.code, warning.location.line) == ("not-tap", 2)


def test_crlf_line_endings(parse):
    parsed = parse(b"TAP version 13\r\n1..1\r\nok 1 - windows\r\n", "tap")
    assert parsed.statuses() == {"windows": Status.PASS}
    assert parsed.warnings == []


def test_a_file_without_tap_is_rejected():
    with pytest.raises(InputError) as caught:
        parse_results(
            io.BytesIO(b"hello\nworld\n"),
            name="out.txt",
            format="tap",
            context=IngestContext(origin="lab"),
        )
    assert caught.value.location is not None
    assert caught.value.location.file == "out.txt"
    assert "no TAP" in caught.value.message


def test_invalid_utf8_is_replaced_with_a_warning(parse):
    parsed = parse(b"1..1\nok 1 - caf\xe9\n", "tap")
    assert parsed.tests[0].path == "caf\ufffd"
    assert parsed.codes() == ["not-utf8"]


# -- property: generated streams --------------------------------------------------

_POINT = st.tuples(
    st.booleans(),  # ok?
    st.sampled_from(["", " # SKIP why", " # TODO later"]),
    st.from_regex(r"[a-z][a-z ]{0,10}", fullmatch=True),
)


def _expected(ok: bool, directive: str) -> Status:
    if "SKIP" in directive:
        return Status.SKIP
    return Status.PASS if ok else Status.FAIL


@settings(max_examples=80, deadline=None)
@given(st.lists(_POINT, max_size=30), st.booleans(), st.integers(min_value=0, max_value=5))
def test_generated_streams(points, plan_first, cut):
    lines = [
        f"{'ok' if ok else 'not ok'} {n} - {desc}{directive}"
        for n, (ok, directive, desc) in enumerate(points, start=1)
    ]
    planned = len(points) + cut  # ``cut`` planned tests never report
    plan = f"1..{planned}"
    body = [plan, *lines] if plan_first else [*lines, plan]
    batch = parse_results(
        io.BytesIO(("\n".join(body) + "\n").encode()),
        name="gen.tap",
        format="tap",
        context=IngestContext(origin="lab"),
    )
    real = [t for t in batch.tests if not (t.misc or {}).get("synthetic")]
    missing = [t for t in batch.tests if (t.misc or {}).get("synthetic") == "missing"]
    assert [t.status for t in real] == [_expected(ok, d) for ok, d, _ in points]
    if planned == 0:
        assert [t.path for t in batch.tests] == ["skip_all"]
    else:
        assert len(missing) == cut
        assert all(t.status is Status.MISS for t in missing)
    assert len({t.id for t in batch.tests}) == len(batch.tests)
