# Writes a C file for the cc1 case of corpus/record-all.sh: N functions (awk -v n=N), each a
# loop over a switch with arithmetic, calls and arrays, so gcc -O2 builds real control-flow
# graphs, inlines, unrolls and allocates registers. Deterministic: the same n, the same file.
BEGIN {
  if (n == "") n = 300
  print "#include <stdint.h>"
  print "#include <string.h>"
  print "static uint32_t table[256];"
  print "struct item { int key; double weight; char name[16]; struct item *next; };"
  for (f = 0; f < n; f++) {
    printf "static inline uint32_t mix%d(uint32_t x) { x ^= x >> %d; x *= 0x%08xu; return x ^ (x >> %d); }\n", f, 7 + f % 9, 2654435761 - f * 977, 11 + f % 5
    printf "uint32_t step%d(struct item *it, const uint8_t *p, int len, double *acc) {\n", f
    print "  uint32_t h = 0; double s = 0;"
    print "  for (int i = 0; i < len; i++) {"
    print "    switch ((p[i] + i) & 15) {"
    for (c = 0; c < 16; c++) {
      printf "    case %d: h = mix%d(h + p[i] * %d); s += it->weight * %d.5; break;\n", c, f, c + 3, c
    }
    print "    }"
    print "    if (h & 1) { it = it->next ? it->next : it; table[h & 255] += (uint32_t)s; }"
    printf "    if (i %% %d == 0) memcpy(it->name, p + (i & 7), 8);\n", 3 + f % 7
    print "  }"
    if (f > 0) printf "  if (len > %d) h += step%d(it, p + 1, len / 2, acc);\n", 4 + f % 13, f - 1
    print "  *acc += s;"
    print "  return h;"
    print "}"
  }
}
