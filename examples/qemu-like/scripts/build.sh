#!/bin/sh
# "Compiles" the emulator for one target: objects first, then the binary.
set -eu
target="$1"
arch="${target%-softmmu}"
out="${BUILD_DIR:-build}"
mkdir -p "$out/obj"
for unit in src/*.c; do
  obj="$out/obj/$(basename "$unit" .c).o"
  sed "s/@ARCH@/$arch/g" "$unit" > "$obj"
  echo "  CC      $unit"
done
binary="$out/qemu-system-$arch"
{
  echo '#!/bin/sh'
  echo "# qemu-system-$arch, version ${QEMU_VERSION:-0}"
  echo 'case "$1" in'
  echo "  --version) echo \"QEMU emulator version ${QEMU_VERSION:-0} ($arch)\" ;;"
  echo "  --machine-help) echo 'virt pc q35' ;;"
  echo '  *) echo "booting $*"; exit 0 ;;'
  echo 'esac'
} > "$binary"
chmod +x "$binary"
echo "  LINK    $binary"
