"""Every Mesa expectations file of the corpus loads, with the counts read off the files."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatehouse.core.expectations import DeqpStatus, classify, load_expectations

MESA = "results/mesa-expectations"

# Entries counted by reading the files (non-blank, non-comment lines).
COUNTS = {
    ".gitlab-ci/all-skips.txt": 30,
    "src/freedreno/ci/freedreno-a618-fails.txt": 238,
    "src/freedreno/ci/freedreno-a618-flakes.txt": 212,
    "src/freedreno/ci/freedreno-a618-premerge-skips.txt": 6,
    "src/freedreno/ci/freedreno-a618-skips.txt": 3,
    "src/gallium/drivers/llvmpipe/ci/llvmpipe-fails.txt": 78,
    "src/gallium/drivers/llvmpipe/ci/llvmpipe-flakes.txt": 14,
    "src/gallium/drivers/llvmpipe/ci/llvmpipe-skips.txt": 20,
}


def _file(corpus: Path, rel: str) -> tuple[str, str]:
    return (rel, (corpus / MESA / rel).read_text(encoding="utf-8"))


def test_the_corpus_has_the_files_we_count(corpus: Path) -> None:
    found = sorted(str(p.relative_to(corpus / MESA)) for p in (corpus / MESA).rglob("*.txt"))
    assert found == sorted(COUNTS)


@pytest.mark.parametrize("rel", sorted(COUNTS))
def test_each_file_loads_with_its_count(corpus: Path, rel: str) -> None:
    kind = (
        "fails"
        if rel.endswith("-fails.txt")
        else "flakes"
        if rel.endswith("-flakes.txt")
        else "skips"
    )
    expectations = load_expectations(**{kind: [_file(corpus, rel)]})
    count = {
        "fails": len(expectations.baseline),
        "flakes": len(expectations.flakes.rules),
        "skips": len(expectations.skips.rules),
    }[kind]
    assert count == COUNTS[rel]


def test_freedreno_baseline_statuses(corpus: Path) -> None:
    baseline = load_expectations(
        [_file(corpus, "src/freedreno/ci/freedreno-a618-fails.txt")]
    ).baseline
    statuses = [e.status for e in baseline.values()]
    assert statuses.count(DeqpStatus.FAIL) == 231
    assert statuses.count(DeqpStatus.CRASH) == 7
    # a name with ':' and '.' survives the split on the last comma
    name = "spec@ext_external_objects@vk-image-overwrite@RGB 10 A2 UINT optimal: Failed to create texture from GL memory object."
    assert baseline[name].status is DeqpStatus.FAIL


def test_llvmpipe_layered_with_all_skips(corpus: Path) -> None:
    ci = "src/gallium/drivers/llvmpipe/ci/"
    expectations = load_expectations(
        fails=[_file(corpus, ci + "llvmpipe-fails.txt")],
        flakes=[_file(corpus, ci + "llvmpipe-flakes.txt")],
        skips=[_file(corpus, ".gitlab-ci/all-skips.txt"), _file(corpus, ci + "llvmpipe-skips.txt")],
    )
    assert len(expectations.skips.rules) == 50
    crash = "glx@glx-visuals-depth -pixmap"
    assert expectations.baseline[crash].status is DeqpStatus.CRASH
    results = [
        (crash, DeqpStatus.CRASH),  # ExpectedFail
        (
            "spec@!opengl 1.1@polygon-mode-facing",
            DeqpStatus.PASS,
        ),  # baseline Fail -> UnexpectedPass
        ("glx@glx-multithread-texture", DeqpStatus.FAIL),  # in llvmpipe-flakes.txt -> Flake
        ("dEQP-GLES2.functional.flush_finish.wait", DeqpStatus.TIMEOUT),  # all-skips regex
        ("dEQP-GLES2.functional.new_thing", DeqpStatus.FAIL),  # Fail
    ]
    report = classify(results, expectations)
    got = {o.test: o.result for o in report.outcomes}
    assert got == {
        crash: DeqpStatus.EXPECTED_FAIL,
        "spec@!opengl 1.1@polygon-mode-facing": DeqpStatus.UNEXPECTED_PASS,
        "glx@glx-multithread-texture": DeqpStatus.FLAKE,
        "dEQP-GLES2.functional.new_thing": DeqpStatus.FAIL,
    }
    assert report.skipped == ("dEQP-GLES2.functional.flush_finish.wait",)
    assert len(report.stale) == 78 - 2


def test_the_freedreno_driver_layering_loads(corpus: Path) -> None:
    ci = "src/freedreno/ci/"
    expectations = load_expectations(
        fails=[_file(corpus, ci + "freedreno-a618-fails.txt")],
        flakes=[_file(corpus, ci + "freedreno-a618-flakes.txt")],
        skips=[
            _file(corpus, ".gitlab-ci/all-skips.txt"),
            _file(corpus, ci + "freedreno-a618-skips.txt"),
            _file(corpus, ci + "freedreno-a618-premerge-skips.txt"),
        ],
    )
    assert (
        len(expectations.baseline),
        len(expectations.flakes.rules),
        len(expectations.skips.rules),
    ) == (238, 212, 39)
    assert expectations.skips.first_match(
        "dEQP-VK.memory.mapping.suballocation.full.variable.implicit_unmap_x"
    )
