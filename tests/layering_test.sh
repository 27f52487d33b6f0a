#!/usr/bin/env bash
# check-layers passes on the tree and fails on a copy with one upward
# include (a reporter reaching into the replay engine) and one JSON include
# in a probe header the replay loop uses.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/check-layers" "$root"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$root/bench" "$root/allocators" "$tmp/"
echo '#include "bench/replay/replay.h"' >>"$tmp/bench/report/console_report.cc"
if out=$("$root/scripts/check-layers" "$tmp"); then
  echo "FAIL: an upward include was accepted"; exit 1
fi
grep -q "report may not use replay" <<<"$out" || { echo "FAIL: $out"; exit 1; }
rm -rf "$tmp/bench" && cp -r "$root/bench" "$tmp/"
sed -i '0,/#include </s//#include <nlohmann\/json.hpp>\n#include </' "$tmp/bench/probes/clock.h"
if out=$("$root/scripts/check-layers" "$tmp"); then
  echo "FAIL: JSON in the replay loop's include graph was accepted"; exit 1
fi
grep -q "clock.h: in the replay loop" <<<"$out" || { echo "FAIL: $out"; exit 1; }
echo "layering: the tree passes, both planted violations are caught"
