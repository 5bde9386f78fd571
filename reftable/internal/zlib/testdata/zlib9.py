# Writes zlib9.golden: for each input file that
#   go test -run TestSameAsZlib9 -zlib9-inputs DIR
# wrote to DIR (named 0, 1, ...), its number and the SHA-256 of the zlib
# stream CPython's zlib writes for it at level 9, as git compresses a
# reftable log block (deflateInit at Z_BEST_COMPRESSION, one deflate
# call with Z_FINISH).
#
#   python3 testdata/zlib9.py DIR > testdata/zlib9.golden
import hashlib, os, sys, zlib

d = sys.argv[1]
for i in sorted(int(n) for n in os.listdir(d)):
    data = open(os.path.join(d, str(i)), 'rb').read()
    print(i, hashlib.sha256(zlib.compress(data, 9)).hexdigest())
