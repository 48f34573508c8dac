from gatehouse.core.autocancel import OlderJob, auto_cancel


def jobs(*spec: tuple[str, bool, str]) -> list[OlderJob]:
    return [OlderJob(*s) for s in spec]


def test_conservative_cancels_unless_a_non_interruptible_job_started() -> None:
    assert auto_cancel(
        "conservative", jobs(("build", True, "running"), ("deploy", False, "created"))
    ).whole
    decision = auto_cancel(
        "conservative", jobs(("build", True, "success"), ("deploy", False, "running"))
    )
    assert not decision.cancels
    assert "deploy" in decision.reason


def test_interruptible_mode_cancels_only_unfinished_interruptible_jobs() -> None:
    decision = auto_cancel(
        "interruptible",
        jobs(
            ("a", True, "running"),
            ("b", True, "success"),
            ("c", False, "running"),
            ("d", True, "created"),
        ),
    )
    assert not decision.whole
    assert decision.jobs == ("a", "d")


def test_none_cancels_nothing() -> None:
    assert not auto_cancel("none", jobs(("a", True, "running"))).cancels
