#!/bin/sh
# Publishes a snapshot; the resource_group keeps two publishes from racing.
set -eu
ls "$1"/qemu-system-* > /dev/null
echo "would upload $(ls "$1"/qemu-system-* | wc -l) binaries for $CI_COMMIT_SHORT_SHA"
