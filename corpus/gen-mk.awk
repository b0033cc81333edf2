# Writes a Makefile for the make case of corpus/record-all.sh: N objects (awk -v n=N) built by
# pattern rules from generated sources, each depending on three of 200 headers, the object list
# made by $(foreach) and $(patsubst), and a recipe with $(if $(filter)), so `make -n` builds a
# dependency graph of about 3n files and expands every recipe. Deterministic: the same n, the
# same file.
BEGIN {
  if (n == "") n = 2500
  printf "SRCS := $(foreach i,$(shell seq 1 %d),src/m$(i).c)\n", n
  print "OBJS := $(patsubst src/%.c,obj/%.o,$(SRCS))"
  print "CFLAGS := -O2 -Wall -Iinclude"
  print "all: app"
  print "app: $(OBJS)"
  print "\t@echo link $(words $^) objects"
  print "obj/%.o: src/%.c"
  print "\t@echo cc $(CFLAGS) -c $< -o $@ $(if $(filter %7.o,$@),-DSEVEN)"
  print "src/%.c:"
  print "\t@echo gen $@"
  print "include/%.h:"
  print "\t@echo gen $@"
  print ".SECONDARY:"
  for (i = 1; i <= n; i++) printf "obj/m%d.o: include/h%d.h include/h%d.h include/h%d.h\n", i, i % 50, (i * 7) % 50, (i * 13) % 200
}
