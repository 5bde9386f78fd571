#!/usr/bin/env bash
# The project's test suite: installs what it needs (Go modules, a
# reftable-capable git, versitygw), then vets, runs every test with the race detector
# and runs each fuzz target for a bounded time.
#
#   FUZZTIME=30s   time per fuzz target (0 skips fuzzing)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# versitygw, the S3 server of the conformance tests (internal/testutil/versitygw),
# builds in the background while git is installed and the code vetted.
vgwlog=$root/.cache/versitygw-install.log
mkdir -p "$root/.cache"
if [ ! -x "$root/.cache/bin/versitygw" ]; then
	GOBIN=$root/.cache/bin go install github.com/versity/versitygw/cmd/versitygw@v1.8.0 >"$vgwlog" 2>&1 &
	vgw=$!
fi

gitdir=${REFTABLE_GIT_DIR:-$root/.cache/reftable-git}
installer=${REFTABLE_GIT_INSTALLER:-$root/../shared/tools/install-reftable-git.sh}
if [ -z "${REFTABLE_GIT:-}" ]; then
	bash "$installer" "$gitdir"
	export REFTABLE_GIT=$gitdir/bin/git
fi
"$REFTABLE_GIT" --version

go mod download
go vet ./...
GOOS=windows go vet ./...
GOOS=darwin go vet ./...
GOARCH=386 go vet ./... # 32-bit: int is 32 bits, constants must fit it
if [ -n "${vgw:-}" ] && ! wait "$vgw"; then
	cat "$vgwlog"
	echo "installing versitygw failed" >&2
	exit 1
fi
# Every test with the race detector, but for those whose concurrency is
# between processes, where it sees nothing and slows every child (and
# bench's, which times its children): they run next without it.
multiprocess='^(TestProcess|TestGitInterop|TestVersitygwWriters|TestBench)'
go test -race -count=1 -skip "$multiprocess" ./...
go test -count=1 -run "$multiprocess" ./stack ./s3store ./tool ./tool/bench
# The stack suite once more, detecting list changes by content (the
# fallback for Windows and network file systems).
REFSTORE_CONTENT_COMPARE=1 go test -count=1 ./stack

# The go-git adapter, a nested module (so that the core's users never
# download go-git): vetted and tested as the core is, with the same git,
# then once more as go-git built for SHA-256 (-tags sha256), the
# concurrency test shortened (-short).
(
	cd gogit
	go mod download
	go vet ./...
	GOOS=windows go vet ./...
	GOARCH=386 go vet ./...
	go vet -tags sha256 ./...
	go test -race -count=1 ./...
	go test -tags sha256 -short -count=1 ./...
)

# fuzz runs target $2 of package $1 for the budget. Minimizing a new
# input may take 60 s by default, the whole budget of a bounded run: keep
# it short so the time fuzzes.
fuzz() {
	go test -run '^$' -fuzz "^$2\$" -fuzztime "$fuzztime" -fuzzminimizetime 2s "$1" 2>&1 | tee "$fuzzlog"
}

# The packages with fuzz targets: the public API (./fuzz) and the log
# blocks' zlib codec against compress/zlib.
fuzzpkgs="./fuzz ./reftable/internal/zlib"
fuzztime=${FUZZTIME:-30s}
if [ "$fuzztime" != 0 ]; then
	fuzzlog=$(mktemp)
	trap 'rm -f "$fuzzlog"' EXIT
	for pkg in $fuzzpkgs; do
		for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz'); do
			echo "fuzzing $pkg $target for $fuzztime"
			if fuzz "$pkg" "$target"; then
				continue
			fi
			# Go 1.26's fuzzing coordinator can fail a target with a bare
			# "context deadline exceeded" as -fuzztime expires, having found
			# nothing (go.dev/issue/75804, fixed in Go 1.27). Only that
			# failure, with no input written and no other failure, is run
			# again, once; anything else fails the suite.
			if grep -q 'Failing input written\|panic:\|_test.go:[0-9]' "$fuzzlog" ||
				[ "$(grep -c '^    context deadline exceeded$' "$fuzzlog")" != 1 ]; then
				exit 1
			fi
			echo "fuzzing $pkg $target again: the coordinator's deadline race (go.dev/issue/75804)"
			fuzz "$pkg" "$target"
		done
	done
fi
echo "all tests passed"
