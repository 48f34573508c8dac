#!/bin/sh
set -eu
arch="$1"
accel="$2"
qemu="${BUILD_DIR:-build}/qemu-system-$arch"
"$qemu" --version
"$qemu" -accel "$accel" -M virt
echo "qtest $arch/$accel passed"
