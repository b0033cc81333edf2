#!/usr/bin/env bash
# Re-records the corpus: `bash corpus/record-all.sh [NAME...]` (all cases by default), from the
# repo root after `npm run build`. Each case runs one real program under `heapkit record` and
# writes corpus/NAME.rep.gz and corpus/NAME.meta (the .meta says the program, its arguments as
# the process saw them, the command given here, and this script's line to re-record it).
# Recorded on Debian 12 (glibc 2.36) x86_64; the programs are Debian's packages (apt-get install
# gawk gcc g++ jq sqlite3 perl python3 git make cmake groff); espresso is built from source (see
# case_espresso_ex4).
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

# g++ 12's cc1plus compiling corpus/nested-maps.cc (std::map templates) at -O1.
case_cc1plus_O1() {
  (cd corpus && node ../bin/heapkit.js record --out cc1plus-O1.rep.gz --max-ops "$MAX_OPS" --process busiest -- g++ -std=c++17 -O1 -c -o /dev/null nested-maps.cc >/dev/null)
  echo "rerecord=bash corpus/record-all.sh cc1plus-O1" >>corpus/cc1plus-O1.meta
}

# CPython 3.11, every object through malloc: difflib's unified diff of argparse.py, an edited copy.
case_python_difflib() {
  PYTHONMALLOC=malloc record python-difflib -- /usr/bin/python3 -c 'import difflib, sys; a = open(sys.prefix + "/lib/python3.11/argparse.py").read().splitlines(); b = [l.replace("self", "me") if i % 5 == 0 else l for i, l in enumerate(a) if i % 11]; print(len(list(difflib.unified_diff(a, b, lineterm=""))))'
  echo "env=PYTHONMALLOC=malloc" >>corpus/python-difflib.meta
}

# perl: every call in C headers into a hash of arrays, comments stripped, one string grown by .= .
case_perl_regex() {
  record perl-regex -- perl -ne 'while (/\b([A-Za-z_]\w*)\s*\(/g) { push @{ $calls{$1} }, "$ARGV:$." } s/\/\*.*?\*\///g; $text .= lc $_ if /\S/; close ARGV if eof; END { my @top = (sort { @{ $calls{$b} } <=> @{ $calls{$a} } } keys %calls)[0 .. 2]; my $n = () = $text =~ /\bint\b/g; print scalar(keys %calls), " $n @top\n" }' /usr/include/[a-r]*.h
}

# SQLite: FTS5 over 8,000 documents, two MATCH queries, 12,000 JSON objects queried and aggregated.
case_sqlite3_fts_json() {
  record sqlite3-fts-json -- sqlite3 :memory: "CREATE VIRTUAL TABLE doc USING fts5(title, body); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 8000) INSERT INTO doc SELECT 'title ' || x, 'word' || (x % 97) || ' alpha' || (x % 13) || ' ' || printf('%.*c', x % 50, 'z') || ' beta' || (x % 7) || ' gamma' || (x * 7 % 1001) FROM c; SELECT count(*) FROM doc WHERE doc MATCH 'alpha3 AND beta2'; SELECT count(*) FROM doc WHERE doc MATCH 'word5*'; CREATE TABLE j AS SELECT json_object('id', x, 'tags', json_array(x % 3, x % 5, 'k' || x)) AS v FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 12000) SELECT x FROM c); SELECT sum(json_extract(v, '\$.id')), count(DISTINCT json_extract(v, '\$.tags[1]')) FROM j; SELECT length(json_group_array(json(v))) FROM j; INSERT INTO doc(doc) VALUES('optimize');"
}

# GNU make -n on a generated Makefile (corpus/gen-mk.awk: 2,500 objects, 200 headers, patterns).
case_make_n() {
  awk -v n=2500 -f corpus/gen-mk.awk >"$WORK/gen.mk"
  (cd "$WORK" && node "$OLDPWD/bin/heapkit.js" record --out "$OLDPWD/corpus/make-n.rep.gz" --max-ops "$MAX_OPS" -- make -n -f gen.mk all >/dev/null)
  echo "rerecord=bash corpus/record-all.sh make-n" >>corpus/make-n.meta
}

# cmake -P running corpus/lists.cmake: 2,000 string variables grouped into 37 sorted lists.
case_cmake_script() {
  record cmake-script -- cmake -P corpus/lists.cmake
}

# groff's troff (--process busiest) formatting find(1), findutils' man page, for a UTF-8 terminal.
case_troff_find_man() {
  record troff-find-man --process busiest -- sh -c 'zcat /usr/share/man/man1/find.1.gz | groff -man -Tutf8 >/dev/null'
}

# git log with per-file line counts (--numstat) of this repository's history up to a fixed commit.
case_git_log_numstat() {
  record git-log-numstat -- git log --numstat --format=%H%n%an%n%s 1e94411
}

# CPython 3.11, every object through malloc: a Counter of the words of the C headers, sorted.
case_py_counter() {
  PYTHONMALLOC=malloc record py-counter -- /usr/bin/python3 -c 'import collections,glob; c=collections.Counter(); [c.update(open(f,errors="ignore").read().split()) for f in glob.glob("/usr/include/*.h")]; s=sorted(c.items(), key=lambda x:-x[1]); print(len(s), s[:3])'
  echo "env=PYTHONMALLOC=malloc" >>corpus/py-counter.meta
}

# perl reading every line of the C headers reversed into one array, sorting it, dropping repeats.
case_perl_sort() {
  record perl-sort -- perl -e 'my @l; for my $f (glob "/usr/include/*.h") { open my $h, "<", $f or next; push @l, map { scalar reverse $_ } <$h>; } my @s = sort @l; my %seen; @s = grep { !$seen{$_}++ } @s; print scalar(@s), "\n"'
}

# tclsh counting the words of the C headers in a dict (corpus/wordfreq.tcl).
case_tcl_dict() {
  record tcl-dict -- tclsh corpus/wordfreq.tcl
}

# gcc's cc1 (--process busiest) compiling bench/native/replay.c at -O2.
case_gcc_replay_O2() {
  record gcc-replay-O2 --process busiest -- gcc -O2 -c -o /dev/null bench/native/replay.c
}

# SQLite: 60,000 rows with random text, an index, GROUP BY with group_concat, a DISTINCT count.
case_sqlite_groupby() {
  record sqlite-groupby -- sqlite3 :memory: "CREATE TABLE t(a INTEGER, b TEXT, c REAL); WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM r WHERE x < 60000) INSERT INTO t SELECT x % 977, printf('%08d-%s', x, hex(randomblob(x % 40))), x * 0.5 FROM r; CREATE INDEX tb ON t(b); SELECT a, count(*), group_concat(substr(b,1,4)) FROM t GROUP BY a ORDER BY 2 DESC LIMIT 3; SELECT count(DISTINCT substr(b, 10)) FROM t;"
}

# git log -p --stat of the last 150 commits of this repository up to a fixed commit.
case_git_log_stat() {
  record git-log-stat -- git log --stat -p -n 150 d31906a
}

# SQLite: a join of 20,000 and 60,000 rows with an index, GROUP BY, a DISTINCT over a sort.
case_sqlite_join() {
  record sqlite-join -- sqlite3 :memory: "CREATE TABLE a(id INTEGER PRIMARY KEY, g INT, s TEXT); CREATE TABLE b(id INTEGER PRIMARY KEY, a_id INT, t TEXT); WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM r WHERE x < 20000) INSERT INTO a SELECT x, x % 50, printf('%.*c', x % 120, 'q') FROM r; WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM r WHERE x < 60000) INSERT INTO b SELECT x, x % 20000 + 1, hex(x*7) FROM r; CREATE INDEX bi ON b(a_id); SELECT a.g, count(*), sum(length(b.t)), max(a.s) FROM a JOIN b ON b.a_id = a.id GROUP BY a.g ORDER BY 2 DESC LIMIT 2; SELECT count(*) FROM (SELECT DISTINCT t FROM b ORDER BY t);"
}

# SQLite: 50,000 rows of random keys and blobs sorted two ways (the sorter), then indexed.
case_sqlite_orderby() {
  record sqlite-orderby -- sqlite3 :memory: "CREATE TABLE t(k TEXT, v BLOB, n INT); WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM r WHERE x < 50000) INSERT INTO t SELECT hex(randomblob(12)), randomblob(x % 200), x FROM r; SELECT count(*) FROM (SELECT k, n FROM t ORDER BY k); SELECT sum(length(v)) FROM (SELECT v FROM t ORDER BY n DESC); CREATE INDEX tk ON t(k); SELECT count(DISTINCT substr(k,1,3)) FROM t;"
}

# CPython 3.11, every object through malloc: 20,000 dicts of lists dumped to JSON and loaded back.
case_py_json() {
  PYTHONMALLOC=malloc record py-json -- /usr/bin/python3 -c 'import json; d={str(i): {"v": [j*1.5 for j in range(i%30)], "s": "x"*(i%300)} for i in range(20000)}; s=json.dumps(d); e=json.loads(s); print(len(s), len(e))'
  echo "env=PYTHONMALLOC=malloc" >>corpus/py-json.meta
}

# g++ 12's cc1plus compiling corpus/nested-maps.cc at -O2.
case_gxx_O2() {
  (cd corpus && node ../bin/heapkit.js record --out gxx-O2.rep.gz --max-ops "$MAX_OPS" --process busiest -- g++ -std=c++17 -O2 -c -o /dev/null nested-maps.cc >/dev/null)
  echo "rerecord=bash corpus/record-all.sh gxx-O2" >>corpus/gxx-O2.meta
}

# git diff between two fixed commits of this repository: few calls, blobs of 1 to 2 MB.
case_git_diff() {
  record git-diff -- git diff d31906a 2320b86
}

ALL=(gawk-wordfreq cc1-O2 python-ast jq-group sqlite3-cte perl-hash git-blame espresso-ex4
  cc1plus-O1 python-difflib perl-regex sqlite3-fts-json make-n cmake-script troff-find-man git-log-numstat
  py-counter perl-sort tcl-dict gcc-replay-O2 sqlite-groupby git-log-stat sqlite-join sqlite-orderby py-json gxx-O2 git-diff)
for name in "${@:-${ALL[@]}}"; do
  echo "recording $name" >&2
  "case_${name//-/_}"
done
