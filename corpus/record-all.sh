#!/usr/bin/env bash
# Re-records the corpus: `bash corpus/record-all.sh [NAME...]` (all cases by default), from the
# repo root after `npm run build`. Each case runs one real program under `heapkit record` and
# writes corpus/NAME.rep.gz and corpus/NAME.meta (the .meta says the program, its arguments as
# the process saw them, the command given here, and this script's line to re-record it).
# Recorded on Debian 12 (glibc 2.36) x86_64; the programs are Debian's packages (apt-get install
# gawk mawk gcc g++ jq sqlite3 perl python3 git make cmake groff xz-utils); espresso is built from
# source (see case_espresso_ex4).
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

record_in() { # DIR NAME [--process busiest] -- COMMAND...: record's, run in DIR (files named relative to it)
  local dir=$1 name=$2 root=$PWD
  shift 2
  (cd "$dir" && node "$root/bin/heapkit.js" record --out "$root/corpus/$name.rep.gz" --max-ops "$MAX_OPS" "$@" >/dev/null)
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

# CPython 3.11, every object through malloc: a regex finding every call and its arguments in the
# C headers, each argument list's whitespace squeezed by re.sub.
case_py_re() {
  PYTHONMALLOC=malloc record py-re -- /usr/bin/python3 -c 'import re,glob; pat=re.compile(r"\b([A-Za-z_]\w*)\s*\(([^)]*)\)"); calls=[]; [calls.extend(pat.findall(open(f,errors="ignore").read())) for f in sorted(glob.glob("/usr/include/*.h"))]; subs=[re.sub(r"\s+"," ",a) for n,a in calls]; print(len(calls), len(set(n for n,a in calls)), sum(map(len,subs)))'
  echo "env=PYTHONMALLOC=malloc" >>corpus/py-re.meta
}

# CPython 3.11, every object through malloc: 120,000 random tuples sorted, then sorted by a key.
case_py_sort_tuples() {
  PYTHONMALLOC=malloc record py-sort-tuples -- /usr/bin/python3 -c 'import random; random.seed(7); rows=[(random.randrange(1000), "k%06d" % random.randrange(10**6), random.random()) for _ in range(120000)]; rows.sort(); by=sorted(rows, key=lambda r: (r[1], -r[2])); top=[r for r in by if r[0] < 50]; print(len(rows), len(top), by[0])'
  echo "env=PYTHONMALLOC=malloc" >>corpus/py-sort-tuples.meta
}

# CPython 3.11, every object through malloc: ElementTree parsing a generated catalog of 15,000
# books (corpus/gen-catalog.py), grouping their prices and serialising the tree back.
case_py_etree() {
  /usr/bin/python3 corpus/gen-catalog.py >"$WORK/catalog.xml"
  PYTHONMALLOC=malloc record_in "$WORK" py-etree -- /usr/bin/python3 -c 'import xml.etree.ElementTree as ET; t=ET.parse("catalog.xml"); r=t.getroot(); by={}; [by.setdefault(b.get("lang"), []).append(float(b.findtext("price"))) for b in r.iter("book")]; print(len(r), {k: round(sum(v),2) for k,v in by.items()}, len(ET.tostring(r)))'
  echo "env=PYTHONMALLOC=malloc" >>corpus/py-etree.meta
}

# CPython 3.11, every object through malloc: its sqlite3 module inserting 40,000 rows, an index,
# a GROUP BY with group_concat and an ORDER BY fetched into lists.
case_py_sqlite3() {
  PYTHONMALLOC=malloc record py-sqlite3 -- /usr/bin/python3 -c 'import sqlite3; c=sqlite3.connect(":memory:"); c.execute("create table p(id integer primary key, name text, city text, score real)"); c.executemany("insert into p values (?,?,?,?)", ((i, "name%d" % i, "city%d" % (i % 211), (i * 37 % 1000) / 10) for i in range(40000))); c.execute("create index pc on p(city)"); rows=c.execute("select city, count(*), avg(score), group_concat(name) from p group by city order by 3 desc").fetchall(); allr=c.execute("select * from p where score > 50 order by name").fetchall(); print(len(rows), len(allr), rows[0][:3])'
  echo "env=PYTHONMALLOC=malloc" >>corpus/py-sqlite3.meta
}

# perl building a tree of 60,000 blessed hashes, walking it recursively, indexing it by name.
case_perl_objects() {
  record perl-objects -- perl -e 'package Node; sub new { my ($c, %a) = @_; bless {%a, kids => []}, $c } package main; my @all; my $root = Node->new(id => 0, name => "root"); push @all, $root; for my $i (1 .. 60000) { my $p = $all[int($i / 3)] // $root; my $n = Node->new(id => $i, name => sprintf("node-%05d", $i), tag => [split //, substr("abcdefghij", 0, $i % 10)]); push @{ $p->{kids} }, $n; push @all, $n } sub depth { my $n = shift; my $d = 0; for (@{ $n->{kids} }) { my $x = depth($_); $d = $x if $x > $d } 1 + $d } my %byname = map { $_->{name} => $_ } @all; my $s = join ",", map { $_->{id} } grep { @{ $_->{tag} } > 7 } @all; @all = (); print depth($root), " ", scalar(keys %byname), " ", length($s), "\n"'
}

# mawk 1.3.4 totalling 80,000 generated CSV orders by customer, growing a string per customer and
# keeping every line in an array.
case_mawk_join() {
  mawk 'BEGIN { srand(3); for (i = 0; i < 80000; i++) printf "%d,cust%d,%s,%d.%02d\n", i, int(rand()*5000), substr("NSEWXYZ", i%7+1, 1), int(rand()*500), i%100 }' >"$WORK/orders.csv"
  record_in "$WORK" mawk-join -- mawk -F, '{ tot[$2] += $4; n[$2]++; region[$2] = region[$2] $3; line[NR] = $0 } END { for (c in tot) { m++; if (length(region[c]) > 20) long++ } s = ""; for (i = 1; i <= NR; i += 40) s = s substr(line[i], 1, 8); print m, long, length(s) }' orders.csv
}

# SQLite: a tree of 40,000 nodes walked by a recursive CTE building paths, an IN list of 5,715 ids,
# a group_concat over a sort.
case_sqlite3_tree() {
  record sqlite3-tree -- sqlite3 :memory: "CREATE TABLE node(id INTEGER PRIMARY KEY, parent INT, label TEXT); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 40000) INSERT INTO node SELECT x, x / 4, 'n' || x FROM c; CREATE INDEX np ON node(parent); WITH RECURSIVE tree(id, depth, path) AS (SELECT id, 0, label FROM node WHERE parent = 0 UNION ALL SELECT n.id, t.depth + 1, t.path || '/' || n.label FROM node n JOIN tree t ON n.parent = t.id) SELECT max(depth), sum(length(path)), count(*) FROM tree; SELECT count(*) FROM node WHERE id IN ($(seq -s, 1 7 40000)); SELECT length(group_concat(label, ';')) FROM (SELECT label FROM node ORDER BY label DESC);"
}

# git rev-list --objects (every commit, tree and blob) of this repository's history up to a fixed
# commit.
case_git_revlist_objects() {
  record git-revlist-objects -- git rev-list --objects 6f6f7b3
}

# git grep -n of two words in three fixed commits of this repository (6f6f7b3 and its 20th and
# 40th ancestors).
case_git_grep_hist() {
  record git-grep-hist -- git grep -n -e alloc -e free fd95022 b5f070e 6f6f7b3
}

# gcc's cc1 (--process busiest) compiling a generated C file (corpus/gen-c.awk, 20 functions) at -O3.
case_cc1_O3() {
  mawk -v n=20 -f corpus/gen-c.awk >"$WORK/gen20.c"
  record_in "$WORK" cc1-O3 --process busiest -- gcc -O3 -c -o /dev/null gen20.c
}

# gcc's cc1 (--process busiest) compiling a generated C file (corpus/gen-c.awk, 150 functions) at
# -O0 with debug information.
case_cc1_O0() {
  mawk -v n=150 -f corpus/gen-c.awk >"$WORK/gen150.c"
  record_in "$WORK" cc1-O0 --process busiest -- gcc -O0 -g -c -o /dev/null gen150.c
}

# xz 5.4 -6 on one thread compressing the C headers in one file: a few hundred calls, 93 MiB live.
case_xz_6() {
  cat /usr/include/*.h >"$WORK/headers.txt"
  record_in "$WORK" xz-6 -- xz -6 -k -c -T1 headers.txt
}

# GNU sort with a 64 MiB buffer sorting 300,000 generated lines on two keys: a few hundred calls.
case_sort_k2() {
  mawk 'BEGIN { srand(11); for (i = 0; i < 300000; i++) printf "%08x %d word%d\n", int(rand()*4294967295), i % 1000, int(rand()*20000) }' >"$WORK/lines.txt"
  record_in "$WORK" sort-k2 -- sort -k2,2n -k3,3 -S 64M --parallel=1 -o /dev/null lines.txt
}

# jq reducing 40,000 updates into an object of 3,000 growing arrays, then summing their lengths.
case_jq_reduce() {
  record jq-reduce -- jq -n 'reduce range(0; 40000) as $i ({}; .["k\($i % 3000)"] += [$i * 3, "v\($i)"]) | to_entries | map(.value | length) | add'
}

# groff's troff (--process busiest) formatting bash(1), bash's man page, for a UTF-8 terminal.
case_troff_bash_man() {
  record troff-bash-man --process busiest -- sh -c 'zcat /usr/share/man/man1/bash.1.gz | groff -man -Tutf8 >/dev/null'
}

# bc computing with numbers of tens of thousands of digits: 3^20000, its square, a quotient, a root.
case_bc_bignum() {
  printf 'x = 3^20000; y = x * x; z = y / 7; scale = 20; r = sqrt(x); length(y) + length(z) + length(r)\nquit\n' >"$WORK/bignum.bc"
  record_in "$WORK" bc-bignum -- bc -l bignum.bc
}

# CPython 3.11, every object through malloc: tokenizing four standard-library modules, counting token types.
case_py_tokenize() {
  PYTHONMALLOC=malloc record py-tokenize -- /usr/bin/python3 -c 'import collections, sys, tokenize; c = collections.Counter(); [c.update(tokenize.tok_name[t.type] for t in tokenize.generate_tokens(open(sys.prefix + "/lib/python3.11/" + m).readline)) for m in ("typing.py", "argparse.py", "inspect.py", "pydoc.py")]; print(c.most_common(3))'
  echo "env=PYTHONMALLOC=malloc" >>corpus/py-tokenize.meta
}

# perl building a hash of 5,000 hashes of arrays and serialising it with Data::Dumper.
case_perl_dumper() {
  record perl-dumper -- perl -MData::Dumper -e '$Data::Dumper::Sortkeys = 1; my %h; for my $i (1 .. 40000) { $h{"k" . ($i % 5000)}{$i} = [$i, "v$i"] } my $s = Dumper(\%h); print length($s), "\n"'
}

# SQLite: 20,000 JSON objects gathered into one array by json_group_array, then walked by json_each.
case_sqlite_json_each() {
  record sqlite-json-each -- sqlite3 :memory: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) SELECT count(*), sum(length(value)) FROM json_each((SELECT json_group_array(json_object('id', x, 'name', 'n' || x, 'tags', json_array(x % 7, x % 11))) FROM c));"
}

ALL=(gawk-wordfreq cc1-O2 python-ast jq-group sqlite3-cte perl-hash git-blame espresso-ex4
  cc1plus-O1 python-difflib perl-regex sqlite3-fts-json make-n cmake-script troff-find-man git-log-numstat
  py-counter perl-sort tcl-dict gcc-replay-O2 sqlite-groupby git-log-stat sqlite-join sqlite-orderby py-json gxx-O2 git-diff
  py-re py-sort-tuples py-etree py-sqlite3 perl-objects mawk-join sqlite3-tree git-revlist-objects git-grep-hist
  cc1-O3 cc1-O0 xz-6 sort-k2 jq-reduce troff-bash-man bc-bignum py-tokenize perl-dumper sqlite-json-each)
for name in "${@:-${ALL[@]}}"; do
  echo "recording $name" >&2
  "case_${name//-/_}"
done
