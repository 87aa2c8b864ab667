#!/bin/sh
# gen-docs.sh [BIN]: rewrite the generated sections of docs/ from the binary's
# tables. A generated section is the text between
#   <!-- BEGIN generated: imcloud doc NAME -->  and  <!-- END generated -->
# tests/e2e/test_docs.c fails when a section differs from `imcloud doc NAME`.
cd "$(dirname "$0")/.."
BIN=${1:-build/imcloud}
for f in docs/*.md; do
  grep -q '<!-- BEGIN generated: imcloud doc ' "$f" || continue
  awk -v bin="$BIN" '
    /<!-- BEGIN generated: imcloud doc [a-z-]+ -->/ {
      print
      name = $0; sub(/.*imcloud doc /, "", name); sub(/ -->.*/, "", name)
      cmd = bin " doc " name
      while ((cmd | getline line) > 0) print line
      close(cmd); skip = 1; next }
    /<!-- END generated -->/ { skip = 0 }
    !skip { print }' "$f" > "$f.tmp" || { rm -f "$f.tmp"; exit 1; }
  mv "$f.tmp" "$f"
done
