"""The shell executor against real processes: scripts, after_script, timeouts, cancellation, logs."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from gatehouse.core.ports import FailureReason, JobRequest
from gatehouse.executors.shell import ShellExecutor, expand_variables

from .conftest import Gate, log_text, output_lines, run, wait_dead

Make = Callable[..., JobRequest]


def test_success(shell: ShellExecutor, request_for: Make) -> None:
    request = request_for("echo hello")
    outcome = run(shell, request)
    assert outcome.succeeded
    assert outcome.exit_code == 0
    assert outcome.failure_reason is None
    assert output_lines(request) == ["$ echo hello", "hello"]
    assert outcome.log_bytes == Path(request.log_path).stat().st_size
    assert outcome.finished_at >= outcome.started_at


def test_exit_code_is_the_job_result(shell: ShellExecutor, request_for: Make) -> None:
    request = request_for("echo before", "exit 3", "echo never")
    outcome = run(shell, request)
    assert outcome.exit_code == 3
    assert outcome.failure_reason is FailureReason.SCRIPT_FAILURE
    assert "never" not in output_lines(request)
    assert log_text(request).rstrip().endswith("G ERROR: Job failed: exit code 3")


def test_before_script_and_script_share_one_shell(shell: ShellExecutor, request_for: Make) -> None:
    request = request_for(
        "export GREETING=hi",
        "cd src",
        "f() { echo from-function; }",
        'echo "$GREETING from $(basename "$PWD")"; f',
    )
    assert run(shell, request).succeeded
    assert output_lines(request)[-2:] == ["hi from src", "from-function"]


def test_first_failing_command_stops_the_script(shell: ShellExecutor, request_for: Make) -> None:
    request = request_for("false", "echo after-false")
    outcome = run(shell, request)
    assert outcome.exit_code == 1
    assert "after-false" not in output_lines(request)


def test_a_failing_pipeline_stage_fails_the_job(shell: ShellExecutor, request_for: Make) -> None:
    assert run(shell, request_for("false | cat")).exit_code == 1


def test_multi_line_command_is_echoed_collapsed(shell: ShellExecutor, request_for: Make) -> None:
    request = request_for("for i in 1 2; do\n  echo n$i\ndone")
    assert run(shell, request).succeeded
    assert output_lines(request) == [
        "$ for i in 1 2; do # collapsed multi-line command",
        "n1",
        "n2",
    ]


def test_stdout_and_stderr_are_merged_in_order(shell: ShellExecutor, request_for: Make) -> None:
    request = request_for("echo out1; echo err1 >&2; echo out2; echo err2 >&2")
    run(shell, request)
    assert output_lines(request)[1:] == ["out1", "err1", "out2", "err2"]


def test_environment(shell: ShellExecutor, request_for: Make, project: Path) -> None:
    request = request_for(
        'echo "V=$MY_VAR"',
        'echo "DIR=$CI_PROJECT_DIR PWD=$PWD"',
        'echo "HOME=$HOME"',
        'test -d "$TMPDIR" && test -w "$TMPDIR" && echo tmp-ok',
        'echo "UNSET=${HOST_ONLY_VARIABLE:-none}"',
        env={"MY_VAR": "x y", "CI_PROJECT_DIR": "/overridden/by/the/executor"},
    )
    assert run(shell, request).succeeded
    lines = dict(
        line.split("=", 1)
        for line in output_lines(request)
        if "=" in line and not line.startswith("$")
    )
    assert lines["V"] == "x y"
    directory, pwd = lines["DIR"].split(" PWD=")
    assert directory == pwd
    assert directory.endswith("/myproject")
    assert directory != str(project)
    assert lines["HOME"] == str(Path(directory).parent)
    assert lines["UNSET"] == "none"
    assert "tmp-ok" in output_lines(request)


def test_after_script_runs_in_a_new_shell(shell: ShellExecutor, request_for: Make) -> None:
    request = request_for(
        "export ONLY_IN_SCRIPT=1",
        "cd src",
        after_script=('echo "exported=${ONLY_IN_SCRIPT:-no} dir=$(basename $PWD)"',),
    )
    assert run(shell, request).succeeded
    assert "exported=no dir=myproject" in output_lines(request)
    assert "G Running after_script" in log_text(request)


def test_after_script_sees_the_job_status(shell: ShellExecutor, request_for: Make) -> None:
    ok = request_for("true", after_script=("echo status=$CI_JOB_STATUS",))
    bad = request_for("exit 4", after_script=("echo status=$CI_JOB_STATUS",))
    assert run(shell, ok).succeeded
    assert run(shell, bad).exit_code == 4
    assert "status=success" in output_lines(ok)
    assert "status=failed" in output_lines(bad)


def test_after_script_never_changes_the_result(shell: ShellExecutor, request_for: Make) -> None:
    ok = request_for("true", after_script=("exit 7",))
    bad = request_for("exit 2", after_script=("true",))
    assert run(shell, ok).succeeded
    assert "after_script failed with exit code 7 (ignored)" in log_text(ok)
    outcome = run(shell, bad)
    assert outcome.exit_code == 2
    assert outcome.failure_reason is FailureReason.SCRIPT_FAILURE


def test_after_script_has_its_own_timeout(
    shell: ShellExecutor, request_for: Make, tmp_path: Path
) -> None:
    pid_file = tmp_path / "after.pid"
    request = request_for(
        "true",
        after_script=(f"sleep 600 & echo $! > {pid_file}; wait",),
        after_script_timeout=0.5,
    )
    outcome = run(shell, request)
    assert outcome.succeeded
    assert "after_script timed out after 0.5s (ignored)" in log_text(request)
    assert wait_dead(int(pid_file.read_text()))


def test_timeout_kills_the_whole_process_group(
    shell: ShellExecutor, request_for: Make, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    marker = tmp_path / "after-script-ran"
    request = request_for(
        # a grandchild that ignores SIGTERM, and a child in its own process group
        f"bash -c 'trap \"\" TERM; sleep 600 & echo $! >> {pids}; wait' &",
        f"(set -m; sleep 601 & echo $! >> {pids})",
        f"echo $$ >> {pids}",
        "sleep 600",
        timeout=1.5,
        after_script=(f"touch {marker}",),
    )
    outcome = run(shell, request)
    assert outcome.failure_reason is FailureReason.JOB_EXECUTION_TIMEOUT
    assert outcome.exit_code is None
    assert not outcome.succeeded
    assert not marker.exists()  # after_script does not run after a timeout
    assert "execution took longer than 1.5s" in log_text(request)
    recorded = [int(p) for p in pids.read_text().split()]
    assert len(recorded) == 3
    for pid in recorded:
        assert wait_dead(pid), pid


def test_cancel_kills_everything_and_runs_after_script(
    shell: ShellExecutor, request_for: Make, tmp_path: Path, gate: Callable[..., Gate]
) -> None:
    fifo = gate()
    pids = tmp_path / "pids"
    request = request_for(
        f"bash -c 'trap \"\" TERM; sleep 600 & echo $! >> {pids}; wait' &",
        f"sleep 600 & echo $! >> {pids}",
        f"echo $$ >> {pids}",
        f"echo ready > {fifo.path}",
        "wait",
        after_script=("echo after status=$CI_JOB_STATUS",),
        timeout=120,  # only reached if the gate is broken: fail instead of hanging
    )
    outcome = fifo.cancel_when_reached(shell, request)
    assert outcome.failure_reason is FailureReason.CANCELED
    assert outcome.exit_code is None
    assert "after status=canceled" in output_lines(request)
    assert log_text(request).rstrip().endswith("G ERROR: Job failed: canceled")
    for pid in (int(p) for p in pids.read_text().split()):
        assert wait_dead(pid), pid


def test_cancel_before_start_runs_nothing(
    shell: ShellExecutor, request_for: Make, tmp_path: Path
) -> None:
    import asyncio

    marker = tmp_path / "ran"
    request = request_for(f"touch {marker}", after_script=(f"touch {marker}",))

    async def main() -> object:
        cancel = asyncio.Event()
        cancel.set()
        return await shell.run(request, cancel)

    outcome = asyncio.run(main())
    assert outcome.failure_reason is FailureReason.CANCELED  # type: ignore[attr-defined]
    assert not marker.exists()


def test_background_processes_are_stopped_when_the_job_ends(
    shell: ShellExecutor, request_for: Make, tmp_path: Path
) -> None:
    pid_file = tmp_path / "bg.pid"
    # it also holds the output pipe open: the job must still end
    request = request_for(f"sleep 600 & echo $! > {pid_file}", "echo done")
    outcome = run(shell, request)
    assert outcome.succeeded
    assert wait_dead(int(pid_file.read_text()))


def test_masked_values_never_reach_the_log(shell: ShellExecutor, request_for: Make) -> None:
    secret = "s3cr3t-T0ken-value"
    request = request_for(
        'echo "token: $TOKEN"',
        # the secret split across two writes, with a pause, and repeated
        'printf "%s" "${TOKEN:0:7}"; sleep 0.05; printf "%s\\n" "${TOKEN:7}"',
        'echo "$TOKEN$TOKEN"',
        "echo visible=$PLAIN",
        env={"TOKEN": secret, "PLAIN": "not-secret"},
        masked=frozenset({"TOKEN"}),
    )
    assert run(shell, request).succeeded
    text = log_text(request)
    assert secret not in text
    assert secret[:7] not in text
    assert secret[7:] not in text
    assert "token: [MASKED]" in text
    assert "[MASKED][MASKED]" in text
    assert "visible=not-secret" in text


def test_log_cap_truncates_visibly_and_the_job_keeps_running(
    shell: ShellExecutor, request_for: Make
) -> None:
    # 8 MiB through a 64 KiB cap: the job must not block on a full pipe.
    request = request_for(
        "head -c 8388608 /dev/zero | tr '\\0' 'x' | fold -w 100",
        "echo finished-after-the-cap",
        log_limit=65536,
    )
    outcome = run(shell, request)
    assert outcome.succeeded
    assert outcome.log_truncated
    size = Path(request.log_path).stat().st_size
    assert 60000 < size < 66000
    text = log_text(request)
    assert "exceeded the limit of 65536 bytes" in text
    assert "finished-after-the-cap" not in text
    assert text.rstrip().endswith("G Job succeeded")


def test_every_line_has_a_timestamp(shell: ShellExecutor, request_for: Make) -> None:
    request = request_for("echo a", "echo b >&2", "printf 'no newline at the end'")
    run(shell, request)
    stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [OG] ")
    lines = log_text(request).splitlines()
    assert len(lines) >= 7
    assert all(stamp.match(line) for line in lines)
    assert "O no newline at the end" in log_text(request)


def test_coverage_from_the_log(shell: ShellExecutor, request_for: Make) -> None:
    request = request_for(
        "echo 'Coverage: 50%'",
        "echo 'Coverage: 82.5%'",
        "echo done",
        coverage_regex=r"/Coverage: \d+(\.\d+)?%/",
    )
    assert run(shell, request).coverage == 82.5


def test_a_bad_coverage_regex_is_a_warning(shell: ShellExecutor, request_for: Make) -> None:
    request = request_for("echo x", coverage_regex="/(/")
    outcome = run(shell, request)
    assert outcome.succeeded
    assert outcome.coverage is None
    assert "WARNING: coverage: invalid coverage regex" in log_text(request)


def test_a_missing_shell_is_a_system_failure(shell: ShellExecutor, request_for: Make) -> None:
    request = request_for("true", shell="/no/such/shell")
    outcome = run(shell, request)
    assert outcome.failure_reason is FailureReason.RUNNER_SYSTEM_FAILURE
    assert "could not start the job's shell" in log_text(request)


def test_log_directory_is_created_and_an_unwritable_log_is_an_executor_error(
    shell: ShellExecutor, request_for: Make, tmp_path: Path
) -> None:
    from gatehouse.errors import ExecutorError

    nested = request_for("echo x", log_path=str(tmp_path / "logs" / "12" / "job.log"))
    assert run(shell, nested).succeeded
    (tmp_path / "file").write_text("")
    with pytest.raises(ExecutorError, match="cannot write the job log"):
        run(shell, request_for("true", log_path=str(tmp_path / "file" / "job.log")))


def test_posix_sh(shell: ShellExecutor, request_for: Make) -> None:
    request = request_for("X=1", 'echo "x=$X"', "false", "echo never", shell="sh")
    outcome = run(shell, request)
    assert outcome.exit_code == 1
    assert "x=1" in output_lines(request)
    assert "never" not in output_lines(request)


def test_a_very_long_script(shell: ShellExecutor, request_for: Make) -> None:
    long_value = "y" * 200_000  # more than one argv string may hold
    request = request_for(f"V={long_value}", 'echo "${#V}"', after_script=("echo after",))
    assert run(shell, request).succeeded
    assert "200000" in output_lines(request)


def test_expand_variables() -> None:
    env = {"CI_PROJECT_DIR": "/w/p", "A": "x"}
    assert expand_variables("$CI_PROJECT_DIR/out", env) == "/w/p/out"
    assert expand_variables("${A}y/$MISSING/z", env) == "xy//z"
    assert expand_variables("cost$$", env) == "cost$"


def test_cancelling_the_run_task_kills_the_job(
    shell: ShellExecutor, request_for: Make, tmp_path: Path, gate: Callable[..., Gate]
) -> None:
    import asyncio
    import threading

    fifo = gate()
    pid_file = tmp_path / "child.pid"
    request = request_for(
        f"sleep 600 & echo $! > {pid_file}",
        f"echo ready > {fifo.path}",
        "wait",
        timeout=120,  # only reached if the gate is broken
    )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.create_task(shell.run(request, asyncio.Event()))

        def reader() -> None:
            with open(fifo.path) as stream:
                stream.readline()
            loop.call_soon_threadsafe(task.cancel)

        threading.Thread(target=reader, daemon=True).start()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert wait_dead(int(pid_file.read_text()))
    assert list(Path(shell.workspaces.root, "jobs").iterdir()) == []
