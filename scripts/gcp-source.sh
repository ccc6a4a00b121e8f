#!/usr/bin/env bash
# scripts/gcp-source.sh DIR: writes a Cloud Functions (gen2) source folder to
# DIR. The Go runtime builds the package at the root of the uploaded source,
# so DIR gets a small root package whose import of functions/gcp registers
# the functions (in init), with this module beside it through a replace.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: scripts/gcp-source.sh DIR}
rm -rf "$out"
mkdir -p "$out/storagegate"
(cd "$root" && git ls-files -co --exclude-standard go.mod go.sum shared functions/gcp |
	grep -v -e '_test\.go$' -e '/testdata/' |
	tar -cf - -T -) | tar -xf - -C "$out/storagegate"
cat >"$out/go.mod" <<MOD
module storagegate.local/function

go $(awk '/^go /{print $2}' "$root/go.mod")

require github.com/storagegate/storagegate v0.0.0

replace github.com/storagegate/storagegate => ./storagegate
MOD
cp "$root/go.sum" "$out/go.sum"
cat >"$out/function.go" <<'GO'
// Package function is the Cloud Functions source root: importing
// storagegate's gcp package registers Presign (and the other functions).
package function

import _ "github.com/storagegate/storagegate/functions/gcp"
GO
(cd "$out" && go mod tidy >/dev/null)
echo "$out"
