#!/bin/sh
set -eu
for doc in docs/*.md README.md; do
  grep -q '^# ' "$doc" || { echo "$doc: no title"; exit 1; }
done
echo "docs look fine"
