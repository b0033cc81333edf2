# Writes an XML catalog for the py-etree case of corpus/record-all.sh: 15,000 <book> elements,
# each with attributes, four children and a run of tags, to stdout. Deterministic: the same file.
import sys
w=sys.stdout.write
w("<catalog>\n")
for i in range(15000):
    w("<book id=\"b%d\" lang=\"%s\"><title>Title %d</title><author>Author %d</author><price>%d.%02d</price><tags>%s</tags></book>\n" % (i, ("en","fr","de")[i%3], i, i%997, i%90, i%100, " ".join("t%d" % (j*i%53) for j in range(i%6))))
w("</catalog>\n")
