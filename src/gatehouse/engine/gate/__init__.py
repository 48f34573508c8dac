"""The gate, driven: the pure merge-queue core run against git, the engine and the database.

- :mod:`.driver`       the loop: events → step → persist → execute (restartable)
- :mod:`.builds`       each gate build as a pipeline of the engine, planned at its commit
- :mod:`.failures`     what a failed build's failure was (voting jobs, tests, log lines)
- :mod:`.flake_oracle` the results database answering "is this a known flake?"
- :mod:`.inbox`        requests from other processes, as events of the gate
- :mod:`.status`       what ``gatehouse gate status`` shows, read from the database
"""
