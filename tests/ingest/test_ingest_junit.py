"""JUnit XML: dialect rules, retries, limits and the rejection of bad files."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatehouse.core.results import Status, rollup, verdict_status
from gatehouse.errors import InputError
from gatehouse.ingest import IngestContext, parse_results
from gatehouse.ingest import junit as junit_module
from gatehouse.ingest.excerpt import LOG_EXCERPT_LIMIT


def test_result_elements_decide_the_status(parse):
    parsed = parse(
        """<testsuite name="s">
          <testcase classname="c" name="passes"/>
          <testcase classname="c" name="fails"><failure message="boom">trace</failure></testcase>
          <testcase classname="c" name="errors"><error message="setup broke"/></testcase>
          <testcase classname="c" name="skips"><skipped message="no gpu"/></testcase>
        </testsuite>""",
        "junit",
    )
    assert parsed.statuses() == {
        "s.c.passes": Status.PASS,
        "s.c.fails": Status.FAIL,
        "s.c.errors": Status.ERROR,
        "s.c.skips": Status.SKIP,
    }
    fails = parsed.by_path("s.c.fails")
    assert fails.comment == "boom"
    assert fails.log_excerpt == "failure: boom\ntrace"
    assert parsed.by_path("s.c.skips").comment == "no gpu"


def test_several_result_elements_roll_up_to_the_worst(parse):
    parsed = parse(
        """<testsuite name="s"><testcase classname="c" name="t">
             <skipped/><error message="teardown"/><failure message="assert"/>
           </testcase></testsuite>""",
        "junit",
    )
    test = parsed.tests[0]
    assert test.status is Status.FAIL
    assert test.comment == "assert"
    assert "error: teardown" in (test.log_excerpt or "")


def test_status_attributes_without_result_elements(parse):
    parsed = parse(
        """<testsuites name="AllTests"><testsuite name="T">
          <testcase name="ran" classname="T" status="run" result="completed"/>
          <testcase name="DISABLED_slow" classname="T" status="notrun" result="suppressed"/>
          <testcase name="skipped" classname="T" status="run" result="skipped"/>
          <testcase name="tst_failed" classname="T" status="failed"/>
          <testcase name="tst_errored" classname="T" status="errored"/>
          <testcase name="tst_disabled" classname="T" status="disabled"/>
          <testcase name="ctest_notrun" classname="T" status="notrun"><skipped message="rc 77"/></testcase>
        </testsuite></testsuites>""",
        "junit",
    )
    tests = {t.path: t for t in parsed.tests}
    assert tests["T.ran"].status is Status.PASS
    assert tests["T.DISABLED_slow"].status is Status.SKIP
    assert tests["T.DISABLED_slow"].misc == {"original_status": "disabled"}
    assert tests["T.skipped"].status is Status.SKIP
    assert tests["T.tst_failed"].status is Status.FAIL
    assert tests["T.tst_errored"].status is Status.ERROR
    assert tests["T.tst_disabled"].misc == {"original_status": "disabled"}
    assert tests["T.ctest_notrun"].status is Status.SKIP
    assert tests["T.ctest_notrun"].misc == {"original_status": "notrun"}


def test_expected_failures_and_unexpected_passes(parse):
    parsed = parse(
        """<testsuite name="pytest">
          <testcase classname="m" name="xfail"><skipped type="pytest.xfail" message="bug 1"/></testcase>
          <testcase classname="m" name="xfail_not_run"><skipped type="pytest.xfail" message="[NOTRUN] slow"/></testcase>
          <testcase classname="m" name="unittest_xfail"><skipped type="XFAIL" message="expected"/></testcase>
          <testcase classname="m" name="xpass_strict"><failure message="[XPASS(strict)] fixed?"/></testcase>
          <testcase classname="m" name="plain_skip"><skipped type="pytest.skip" message="no"/></testcase>
        </testsuite>""",
        "junit",
    )
    xfail = parsed.by_path("pytest.m.xfail")
    assert xfail.status is Status.FAIL
    assert xfail.misc == {"waived": True, "original_status": "xfail"}
    assert verdict_status(xfail) is None
    not_run = parsed.by_path("pytest.m.xfail_not_run")
    assert (not_run.status, not_run.misc["waived"]) == (Status.SKIP, True)
    assert parsed.by_path("pytest.m.unittest_xfail").misc["waived"] is True
    xpass = parsed.by_path("pytest.m.xpass_strict")
    assert xpass.status is Status.PASS
    assert xpass.misc["unexpected_pass"] is True
    assert verdict_status(xpass) is Status.FAIL
    assert parsed.by_path("pytest.m.plain_skip").misc is None


def test_surefire_flaky_failures_are_attempts_before_the_pass(parse):
    parsed = parse(
        """<testsuite name="org.x.FooTest">
          <testcase name="flaky" classname="org.x.FooTest" time="0.5">
            <flakyFailure message="first" type="java.lang.AssertionError">
              <stackTrace>at Foo.java:1</stackTrace><system-out>run 1 out</system-out>
            </flakyFailure>
            <flakyError message="second" type="java.io.IOException"><stackTrace>at Foo.java:2</stackTrace></flakyError>
          </testcase>
        </testsuite>""",
        "junit",
    )
    attempts = parsed.tests
    assert [t.status for t in attempts] == [Status.FAIL, Status.ERROR, Status.PASS]
    assert {t.path for t in attempts} == {"org.x.FooTest.flaky"}
    assert [t.misc["attempt"] for t in attempts] == [1, 2, 3]
    assert [t.misc.get("retried", False) for t in attempts] == [True, True, False]
    assert attempts[2].misc["flaky"] is True
    assert "flaky" not in attempts[0].misc
    assert attempts[0].comment == "first"
    assert "at Foo.java:1" in attempts[0].log_excerpt
    assert "run 1 out" in attempts[0].log_excerpt
    assert attempts[2].duration == 0.5
    assert len({t.id for t in attempts}) == 3
    # The verdict counts the final attempt only: a flaky pass is a pass, but it is visible.
    assert rollup(verdict_status(t) for t in attempts) is Status.PASS


def test_surefire_reruns_are_later_attempts_that_kept_failing(parse):
    parsed = parse(
        """<testsuite name="S"><testcase name="t" classname="S">
            <failure message="run 1" type="AssertionError">trace 1</failure>
            <rerunFailure message="run 2" type="AssertionError"><stackTrace>trace 2</stackTrace></rerunFailure>
            <rerunError message="run 3" type="IOException"><stackTrace>trace 3</stackTrace></rerunError>
          </testcase></testsuite>""",
        "junit",
    )
    attempts = parsed.tests
    assert [t.status for t in attempts] == [Status.FAIL, Status.FAIL, Status.ERROR]
    assert [t.comment for t in attempts] == ["run 1", "run 2", "run 3"]
    assert [t.misc["attempt"] for t in attempts] == [1, 2, 3]
    assert [bool(t.misc.get("retried")) for t in attempts] == [True, True, False]
    assert "flaky" not in attempts[-1].misc
    assert rollup(verdict_status(t) for t in attempts) is Status.ERROR


def test_duplicate_cases_are_kept_apart_with_their_occurrence(parse):
    parsed = parse(
        """<testsuite name="org.x.T">
          <testcase name="t" classname="org.x.T"><skipped/></testcase>
          <testcase name="t" classname="org.x.T"><failure message="x"/></testcase>
          <testcase name="other" classname="org.x.T"/>
          <testcase name="t" classname="org.x.T"/>
        </testsuite>""",
        "junit",
    )
    same = [t for t in parsed.tests if t.path == "org.x.T.t"]
    assert [t.status for t in same] == [Status.SKIP, Status.FAIL, Status.PASS]
    assert [(t.misc or {}).get("occurrence") for t in same] == [None, 2, 3]
    assert len({t.id for t in parsed.tests}) == 4
    assert parsed.by_path("org.x.T.other").misc is None


def test_paths_collapse_repeated_prefixes_and_nest_suites(parse):
    parsed = parse(
        """<testsuites name="ignored root">
          <testsuite name="outer">
            <testsuite name="outer.inner">
              <testcase classname="outer.inner.Klass" name="a"/>
            </testsuite>
            <testcase classname="" name="b"/>
          </testsuite>
          <testsuite name="(empty)"><testcase classname="ctest" name="ctest"/></testsuite>
          <testsuite><testcase name="no suite name"/></testsuite>
        </testsuites>""",
        "junit",
    )
    assert sorted(t.path for t in parsed.tests) == [
        "ctest",
        "no suite name",
        "outer.b",
        "outer.inner.Klass.a",
    ]


def test_properties_become_misc(parse):
    parsed = parse(
        """<testsuite name="s"><properties><property name="java.home" value="/jdk"/></properties>
          <testcase classname="c" name="t" file="t.py" line="12" value_param="3">
            <properties><property name="board" value="qemu"/><property name="n">4</property></properties>
          </testcase></testsuite>""",
        "junit",
    )
    misc = parsed.tests[0].misc
    assert misc == {
        "properties": {"board": "qemu", "n": "4", "value_param": "3"},
        "file": "t.py",
        "line": 12,
    }


def test_huge_output_is_capped_keeping_head_and_tail(parse):
    body = "HEAD" + "x" * 2_000_000 + "TAIL"
    parsed = parse(
        f"""<testsuite name="s"><testcase classname="c" name="t">
          <failure message="m"/><system-out>{body}</system-out></testcase></testsuite>""",
        "junit",
    )
    excerpt = parsed.tests[0].log_excerpt
    assert excerpt is not None
    assert len(excerpt) <= LOG_EXCERPT_LIMIT
    assert excerpt.startswith("failure: m\n[system-out]\nHEAD")
    assert excerpt.endswith("TAIL")
    assert "characters omitted" in excerpt


def test_entities_and_cdata(parse):
    parsed = parse(
        """<?xml version="1.0"?><testsuite name="s">
          <testcase classname="c" name="a &amp; b &lt;c&gt; &quot;q&quot; &#x263A;">
          <failure message="it&apos;s"><![CDATA[<raw> & text]]></failure></testcase></testsuite>""",
        "junit",
    )
    test = parsed.tests[0]
    assert test.path == 's.c.a & b <c> "q" \u263a'
    assert test.comment == "it's"
    assert test.log_excerpt == "failure: it's\n<raw> & text"


def test_a_declared_encoding_is_honoured(parse):
    data = '<?xml version="1.0" encoding="ISO-8859-1"?><testsuite name="s"><testcase name="caf\xe9"/></testsuite>'
    parsed = parse(data.encode("latin-1"), "junit")
    assert parsed.tests[0].path == "s.caf\xe9"


def test_bazel_suite_log_goes_to_its_only_case(parse):
    parsed = parse(
        """<testsuites>
          <testsuite name="//pkg:one"><testcase name="//pkg:one" status="run"><error message="exit 1"/></testcase>
            <system-out>the whole test.log</system-out></testsuite>
          <testsuite name="two"><testcase name="a"/><testcase name="b"/><system-out>shared</system-out></testsuite>
        </testsuites>""",
        "junit",
    )
    assert "the whole test.log" in parsed.by_path("//pkg:one").log_excerpt
    assert parsed.by_path("two.a").log_excerpt is None
    assert parsed.by_path("two.b").log_excerpt is None


def test_bare_cases_and_concatenated_reports(parse):
    parsed = parse(
        """<testcase classname="c" name="one"/>
<testcase classname="c" name="two"><failure/></testcase>
<?xml version="1.0"?>
<testsuite name="s"><testcase name="three"/></testsuite>""",
        "junit",
    )
    assert parsed.statuses() == {"c.one": Status.PASS, "c.two": Status.FAIL, "s.three": Status.PASS}


@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_concatenated_roots_survive_any_chunk_boundary(parse, monkeypatch, chunk):
    monkeypatch.setattr(junit_module, "CHUNK_SIZE", chunk)
    cases = "\n".join(
        f'<testcase classname="c" name="t{i}"><failure/></testcase>' for i in range(6)
    )
    parsed = parse(cases, "junit")
    assert [t.path for t in parsed.tests] == [f"c.t{i}" for i in range(6)]


def test_counters_on_suites_are_ignored(parse):
    parsed = parse(
        '<testsuite name="s" tests="99" failures="0"><testcase name="a"><failure/></testcase></testsuite>',
        "junit",
    )
    assert [t.status for t in parsed.tests] == [Status.FAIL]


def test_empty_suite_warns_and_yields_nothing(parse):
    parsed = parse('<testsuites><testsuite name="s" tests="0"/></testsuites>', "junit")
    assert parsed.tests == ()
    assert parsed.codes() == ["no-cases"]


def test_bad_time_is_a_warning_with_the_line(parse):
    parsed = parse('<testsuite name="s">\n<testcase name="a" time="soon"/></testsuite>', "junit")
    assert parsed.tests[0].duration is None
    [warning] = parsed.warnings
    assert (warning.code, warning.location.line) == ("bad-time", 2)


def test_timestamps_with_an_offset_become_start_times(parse):
    parsed = parse(
        """<testsuite name="s">
          <testcase name="zoned" timestamp="2024-05-01T10:00:00Z"/>
          <testcase name="naive" timestamp="2024-05-01T10:00:00"/>
          <testcase name="testng" timestamp="2021-03-07T10:36:56 UTC"/>
        </testsuite>""",
        "junit",
    )
    assert parsed.by_path("s.zoned").start_time == "2024-05-01T10:00:00+00:00"
    assert parsed.by_path("s.naive").start_time is None
    assert parsed.by_path("s.testng").start_time == "2021-03-07T10:36:56+00:00"


def _reject(data: bytes) -> InputError:
    with pytest.raises(InputError) as caught:
        parse_results(
            io.BytesIO(data), name="r.xml", format="junit", context=IngestContext(origin="lab")
        )
    return caught.value


def test_truncated_file_is_rejected_with_its_position():
    err = _reject(
        b'<testsuite name="s">\n  <testcase name="a"/>\n  <testcase name="b">\n    <failu'
    )
    assert err.location is not None
    assert (err.location.file, err.location.line) == ("r.xml", 4)
    assert err.message == "not well-formed XML: unclosed token"


def test_file_cut_between_elements_is_rejected():
    err = _reject(b'<testsuite name="s">\n  <testcase name="a"/>\n')
    assert err.location is not None
    assert err.location.line == 3
    assert err.message == "not well-formed XML: no element found"
    assert "killed" in (err.hint or "")


def test_corrupt_markup_names_line_and_column():
    err = _reject(b'<testsuite name="s">\n<testcase name="a" <oops/></testsuite>')
    assert err.location is not None
    assert (err.location.line, err.location.column) == (2, 20)
    assert err.message == "not well-formed XML: not well-formed (invalid token)"


def test_errors_after_a_second_root_are_located_in_file_lines():
    err = _reject(b'<testcase name="a"/>\n<testcase name="b"/>\n\n<testcase name="c" <')
    assert err.location is not None
    assert err.location.line == 4


def test_text_after_the_root_is_rejected():
    err = _reject(b'<testsuite name="s"/>\ntrailing garbage')
    assert err.location is not None
    assert (err.location.line, err.location.column) == (2, 1)
    assert err.message == "not well-formed XML: junk after document element"


def test_utf16_reports_parse(parse):
    data = '<?xml version="1.0" encoding="UTF-16"?><testsuite name="s"><testcase name="\u00e9t\u00e9"/></testsuite>'
    parsed = parse(data.encode("utf-16"))
    assert parsed.tests[0].path == "s.\u00e9t\u00e9"


def test_a_root_that_is_not_junit_is_rejected():
    err = _reject(b'<?xml version="1.0"?>\n<html><body/></html>')
    assert err.location is not None
    assert err.location.line == 2
    assert "<html>" in err.message


def test_empty_file_is_rejected():
    err = _reject(b"")
    assert err.message == "not well-formed XML: no element found"


def test_entity_declarations_are_refused():
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<testsuite name="&lol2;"/>"""
    err = _reject(bomb)
    assert "entity" in err.message


def test_nothing_is_returned_for_a_file_that_fails_late():
    good_then_bad = b"<testsuites>" + b'<testcase name="ok"/>' * 5000 + b"<testcase"
    with pytest.raises(InputError):
        parse_results(
            io.BytesIO(good_then_bad),
            name="r.xml",
            format="junit",
            context=IngestContext(origin="lab"),
        )


# -- property: a JUnit writer's output parses back to what was written -------------

_NAME = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cn"), blacklist_characters="."),
    min_size=1,
    max_size=12,
).filter(str.strip)
_OUTCOME = st.sampled_from(["pass", "failure", "error", "skipped"])
_SUITE = st.tuples(_NAME, st.lists(st.tuples(_NAME, _NAME, _OUTCOME), max_size=6))

_STATUS = {
    "pass": Status.PASS,
    "failure": Status.FAIL,
    "error": Status.ERROR,
    "skipped": Status.SKIP,
}


def _write(suites: list[tuple[str, list[tuple[str, str, str]]]]) -> bytes:
    root = ET.Element("testsuites")
    for suite_name, cases in suites:
        suite = ET.SubElement(root, "testsuite", name=suite_name)
        for classname, name, outcome in cases:
            case = ET.SubElement(suite, "testcase", classname=classname, name=name, time="0.1")
            if outcome != "pass":
                ET.SubElement(case, outcome, message=f"{outcome} of {name}").text = "details"
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(_SUITE, max_size=4), st.sampled_from([5, 64, 256 * 1024]))
def test_writer_round_trip(suites, chunk):
    data = _write(suites)
    original = junit_module.CHUNK_SIZE
    junit_module.CHUNK_SIZE = chunk
    try:
        batch = parse_results(
            io.BytesIO(data), name="r.xml", format="junit", context=IngestContext(origin="lab")
        )
    finally:
        junit_module.CHUNK_SIZE = original
    expected = [(case[2], case[1]) for _suite, cases in suites for case in cases]
    assert len(batch.tests) == len(expected)
    for test, (outcome, name) in zip(batch.tests, expected, strict=True):
        assert test.status is _STATUS[outcome]
        assert test.path is not None
        assert test.path.endswith(name)
        assert test.duration == 0.1
        if outcome != "pass":
            assert test.comment == f"{outcome} of {name}".strip().splitlines()[0].strip()
    assert len({t.id for t in batch.tests}) == len(batch.tests)
