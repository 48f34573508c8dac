"""Ingest: results from other CI systems (KCIDB, JUnit, TAP, meson, googletest) into the results model."""
