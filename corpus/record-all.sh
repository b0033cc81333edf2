#!/usr/bin/env bash
# Re-records the corpus: `bash corpus/record-all.sh [NAME...]` (all cases by default), from the
# repo root after `npm run build`. Each case runs one real program under `heapkit record` and
# writes corpus/NAME.rep.gz and corpus/NAME.meta (the .meta says the program, its arguments as
# the process saw them, the command given here, and this script's line to re-record it).
# Recorded on Debian 12 (glibc 2.36) x86_64; the programs are Debian's packages (apt-get install
# gawk gcc jq sqlite3 perl python3 git); espresso is built from source (see case_espresso_ex4).
# Traces are capped at MAX_OPS lines to keep the corpus small; the .meta says when a cap cut one.
set -euo pipefail
cd "$(dirname "$0")/.."
MAX_OPS=${MAX_OPS:-700000}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

record() { # NAME [--process busiest] -- COMMAND...
  local name=$1
  shift
  node bin/heapkit.js record --out "corpus/$name.rep.gz" --max-ops "$MAX_OPS" "$@" >/dev/null
  echo "rerecord=bash corpus/record-all.sh $name" >>"corpus/$name.meta"
}

# An awk script building an associative array: word counts over the C library's headers.
case_gawk_wordfreq() {
  record gawk-wordfreq -- gawk '{ for (i = 1; i <= NF; i++) count[$i]++ } END { for (w in count) if (count[w] > 100) n++; print n, length(count) }' /usr/include/*.h
}

# gcc's cc1 compiling a generated C file (corpus/gen-c.awk, 12 functions) at -O2.
case_cc1_O2() {
  awk -v n=12 -f corpus/gen-c.awk >"$WORK/gen12.c"
  (cd "$WORK" && node "$OLDPWD/bin/heapkit.js" record --out "$OLDPWD/corpus/cc1-O2.rep.gz" --max-ops "$MAX_OPS" --process busiest -- gcc -O2 -c -o /dev/null gen12.c >/dev/null)
  echo "rerecord=bash corpus/record-all.sh cc1-O2" >>corpus/cc1-O2.meta
}

# CPython 3.11 with every object through malloc, parsing three standard-library modules to ASTs.
case_python_ast() {
  PYTHONMALLOC=malloc record python-ast -- /usr/bin/python3 -c 'import ast, sys; trees = [ast.parse(open(sys.prefix + "/lib/python3.11/" + m).read()) for m in ("typing.py", "argparse.py", "inspect.py")]; print(sum(len(list(ast.walk(t))) for t in trees))'
  echo "env=PYTHONMALLOC=malloc" >>corpus/python-ast.meta
}

# jq building 15,000 JSON objects, grouping and summarising them.
case_jq_group() {
  record jq-group -- jq -n '[range(0; 15000) | {id: ., name: ("user" + tostring), tags: [range(0; . % 7) | tostring]}] | group_by(.id % 97) | map({k: (.[0].id % 97), n: length, t: (map(.tags | length) | add)}) | length'
}

# SQLite: a recursive CTE filling a table, an index, GROUP BY, a window function, DELETE, VACUUM.
case_sqlite3_cte() {
  record sqlite3-cte -- sqlite3 :memory: "CREATE TABLE t(id INTEGER PRIMARY KEY, grp INT, name TEXT, body TEXT); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 30000) INSERT INTO t SELECT x, x % 113, 'name' || x, printf('%.*c', x % 200, 'y') FROM c; CREATE INDEX t_name ON t(name); SELECT grp, count(*), sum(length(body)), max(name) FROM t GROUP BY grp ORDER BY 3 DESC LIMIT 3; SELECT count(*) FROM (SELECT id, rank() OVER (PARTITION BY grp ORDER BY length(body) DESC, name) AS r FROM t) WHERE r <= 5; DELETE FROM t WHERE id % 3 = 0; VACUUM;"
}

# perl building a hash of arrays of strings and walking it in sorted order.
case_perl_hash() {
  record perl-hash -- perl -e 'my %h; for my $i (1 .. 150000) { push @{ $h{ $i % 1000 } }, "x" x ($i % 100) } my $n = 0; for my $k (sort { $a <=> $b } keys %h) { $n += length join "", @{ $h{$k} } } print "$n\n"'
}

# git blame of this repository's Heap at a fixed commit (needs the repo's history).
case_git_blame() {
  record git-blame -- git blame -w 292191c -- src/heap/heap.ts
}

# espresso, the logic minimiser of the classic allocator benchmarks, on its ex4 example. Debian
# has no package: set ESPRESSO_SRC to a checkout of the GitHub repository
# classabbyamp/espresso-logic at commit 8526513 (this script runs its make); skipped without it.
case_espresso_ex4() {
  if [ -z "${ESPRESSO_SRC:-}" ]; then
    echo "espresso-ex4 skipped: set ESPRESSO_SRC (see above)" >&2
    return
  fi
  make -s -C "$ESPRESSO_SRC/espresso-src" >/dev/null
  record espresso-ex4 -- "$ESPRESSO_SRC/bin/espresso" "$ESPRESSO_SRC/examples/ex4"
}

ALL=(gawk-wordfreq cc1-O2 python-ast jq-group sqlite3-cte perl-hash git-blame espresso-ex4)
for name in "${@:-${ALL[@]}}"; do
  echo "recording $name" >&2
  "case_${name//-/_}"
done
