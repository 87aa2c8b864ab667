#!/usr/bin/env python3
"""query-plans.py — the query plan of every SQL statement of src/ on a freshly migrated
database (no ANALYZE statistics, as the server runs): docs/decisions/store-query-plans.md.

  python3 scripts/query-plans.py [--flagged] [IMCLOUD_BIN]

Run from the repository root after `make`. Statements are the string literals of src/*/*.c
that start with SELECT, INSERT, UPDATE, DELETE, WITH or REPLACE, after the preprocessor (so
statement macros are expanded). Text that does not prepare (descriptions, statements built
with %s) is listed as such. --flagged prints only the plans with a table scan, a search by
sdkappid alone, a temporary B-tree or a time index, for reading by hand; the unit test
tests/unit/store/test_query_plans.c pins the hot statements' plans."""
import glob
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile

KW = re.compile(r'^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|REPLACE)\b', re.I)
LIT = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
NEXT = re.compile(r'\s*"((?:[^"\\\n]|\\.)*)"')
FLAG = re.compile(r'^SCAN (?!CONSTANT ROW|\d+ CONSTANT ROWS|\(subquery-)|TEMP B-TREE|\(sdkappid=\?\)|_time\b')


def statements():
    pkgs = 'libuv jansson sqlite3 libcrypto zlib'
    cflags = subprocess.run(['pkg-config', '--cflags'] + pkgs.split(), capture_output=True, text=True).stdout.split()
    found = {}
    for path in sorted(glob.glob('src/*/*.c')):
        pp = subprocess.run(['cc', '-E', '-std=gnu11', '-D_GNU_SOURCE', '-Isrc'] + cflags + [path],
                            capture_output=True, text=True, check=True).stdout
        own, cur = [], None
        for line in pp.split('\n'):  # only the lines from src/ (not system headers)
            m = re.match(r'# \d+ "([^"]+)"', line)
            if m:
                cur = m.group(1)
            elif cur and cur.startswith('src/'):
                own.append(line)
        text, pos = '\n'.join(own), 0
        while True:
            m = LIT.search(text, pos)
            if not m:
                break
            parts, end = [m.group(1)], m.end()
            while True:  # adjacent literals are one string
                m2 = NEXT.match(text, end)
                if not m2:
                    break
                parts.append(m2.group(1))
                end = m2.end()
            pos = end
            sql = bytes(''.join(parts), 'utf-8').decode('unicode_escape')
            if KW.match(sql):
                found.setdefault(sql, set()).add(path)
    return found


def plan(db, sql):
    try:
        rows = db.execute('EXPLAIN QUERY PLAN ' + sql).fetchall()
    except sqlite3.ProgrammingError as e:  # parameters: bind NULLs
        n = int(re.search(r'uses (\d+)', str(e)).group(1))
        rows = db.execute('EXPLAIN QUERY PLAN ' + sql, [None] * n).fetchall()
    depth, out = {0: -1}, []
    for node, parent, _, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        out.append('  ' * depth[node] + detail)
    return out


def main():
    args = [a for a in sys.argv[1:] if a != '--flagged']
    flagged = '--flagged' in sys.argv[1:]
    binary = args[0] if args else os.path.join('build', 'imcloud')
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, 'data')
        subprocess.run([binary, 'customer', 'create', '--name', 'plans', '--data', data], check=True,
                       stdout=subprocess.DEVNULL)
        db = sqlite3.connect('file:%s?mode=ro' % os.path.join(data, 'imcloud.db'), uri=True)
        for sql, files in sorted(statements().items(), key=lambda kv: (sorted(kv[1]), kv[0])):
            try:
                lines = plan(db, sql)
            except sqlite3.Error as e:
                lines = ['(not prepared: %s)' % e]
            if flagged and not any(FLAG.search(l.strip()) for l in lines):
                continue
            print('%s\n  %s' % (', '.join(sorted(files)), sql))
            for l in lines:
                print('    ' + l)


if __name__ == '__main__':
    main()
