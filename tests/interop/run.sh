#!/bin/sh
# Run every interop test (*.mjs) with node; print one "tests: N passed, M failed".
cd "$(dirname "$0")"
[ -d node_modules ] || npm ci --silent --no-audit --no-fund || { echo "tests: 0 passed, 1 failed"; exit 1; }
p=0; f=0
for t in *.mjs; do
  out=$(IMCLOUD_BIN=${IMCLOUD_BIN:-../../build/imcloud} node "$t" 2>&1); rc=$?
  echo "$out"
  line=$(echo "$out" | grep -E '^tests: [0-9]+ passed, [0-9]+ failed' | tail -n 1)
  if [ -n "$line" ]; then
    p=$((p + $(echo "$line" | sed 's/^tests: \([0-9]*\) passed.*/\1/')))
    f=$((f + $(echo "$line" | sed 's/.* \([0-9]*\) failed.*/\1/')))
  else f=$((f + 1)); fi
  [ $rc = 0 ] || [ -n "$line" ] || f=$((f + 1))
done
echo "tests: $p passed, $f failed"
[ $f = 0 ]
