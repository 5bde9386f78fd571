#!/usr/bin/env bash
# The project's test suite: installs what it needs (Go modules, a
# reftable-capable git, versitygw), then vets, runs every test with the race detector
# and runs each fuzz target for a bounded time.
#
#   FUZZTIME=30s   time per fuzz target (0 skips fuzzing)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

gitdir=${REFTABLE_GIT_DIR:-$root/.cache/reftable-git}
installer=${REFTABLE_GIT_INSTALLER:-$root/../shared/tools/install-reftable-git.sh}
if [ -z "${REFTABLE_GIT:-}" ]; then
	bash "$installer" "$gitdir"
	export REFTABLE_GIT=$gitdir/bin/git
fi
"$REFTABLE_GIT" --version
# versitygw, the S3 server of the conformance tests (internal/versitygw).
if [ ! -x "$root/.cache/bin/versitygw" ]; then
	GOBIN=$root/.cache/bin go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
fi

go mod download
go vet ./...
GOOS=windows go vet ./...
GOOS=darwin go vet ./...
go test -race -count=1 ./...
# The stack suite once more, detecting list changes by content (the
# fallback for Windows and network file systems).
REFSTORE_CONTENT_COMPARE=1 go test -race -count=1 ./stack

fuzztime=${FUZZTIME:-30s}
if [ "$fuzztime" != 0 ]; then
	for target in $(go test -list '^Fuzz' ./fuzz | grep '^Fuzz'); do
		echo "fuzzing $target for $fuzztime"
		go test -run '^$' -fuzz "^$target\$" -fuzztime "$fuzztime" ./fuzz
	done
fi
echo "all tests passed"
