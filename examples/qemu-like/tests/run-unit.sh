#!/bin/sh
# Unit tests against the built binary; writes a JUnit report.
set -eu
qemu="$1"
report="${BUILD_DIR:-build}/unit-report.xml"
pass=0
fail=0
cases=""
check() {
  name="$1"; shift
  if "$@" > /dev/null 2>&1; then
    pass=$((pass + 1)); cases="$cases<testcase classname=\"unit\" name=\"$name\"/>"
  else
    fail=$((fail + 1)); cases="$cases<testcase classname=\"unit\" name=\"$name\"><failure message=\"failed\"/></testcase>"
  fi
}
check version "$qemu" --version
check machines "$qemu" --machine-help
check boot "$qemu" -M virt
printf '<?xml version="1.0"?>\n<testsuite name="unit" tests="%s" failures="%s">%s</testsuite>\n' \
  "$((pass + fail))" "$fail" "$cases" > "$report"
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
