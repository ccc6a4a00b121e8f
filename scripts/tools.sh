#!/usr/bin/env bash
# Installs and locates the pinned tools the tests need (real servers, linters).
#
#   scripts/tools.sh path NAME        print the tool's path, installing it first if missing
#   scripts/tools.sh where NAME       print the tool's path; exit 1 (no install) if missing
#   scripts/tools.sh install NAME...  install the named tools ("all" for every one)
#   scripts/tools.sh list             print NAME VERSION for every tool
#
# Go tools are built once into $(go env GOPATH)/storagegate-tools/NAME@VERSION/: outside the
# repository, so a fresh clone on the same CI machine reuses them, and with the version in the
# path, so a pin change builds anew. Azurite is installed with `npm ci` from tools/package.json
# and tools/package-lock.json into tools/node_modules (about 20 s, so per-clone is fine).
# provider-schemas are the Terraform provider schemas that the hashicorp/aws and hashicorp/google
# providers publish in npm (@cdktf/provider-*, a .jsii file each): those providers can't be installed
# here, so terraform/ checks its AWS and Google blocks against these. Fetched with `npm pack` (the
# registry's integrity check) into the same cache; tools.sh path prints the folder holding aws.jsii
# and google.jsii.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=(minio fake-gcs-server tflint benchstat staticcheck terraform-provider-azurerm provider-schemas azurite wrk)

# go_pin NAME prints the `go install` argument for a Go tool; fails for other names.
go_pin() {
	case $1 in
	minio) echo github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c ;; # the proxy refuses RELEASE.* tags
	fake-gcs-server) echo github.com/fsouza/fake-gcs-server@v1.56.1 ;;
	tflint) echo github.com/terraform-linters/tflint@v0.64.0 ;;
	staticcheck) echo honnef.co/go/tools/cmd/staticcheck@v0.8.2 ;;
	benchstat) echo golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da ;; # x/perf has no tags
	# A commit after azurerm 5.2.0: the registry is out of reach, this pseudo-version is what the proxy serves.
	# About 28 minutes and 4.7 GB on 2 cores, once per version.
	terraform-provider-azurerm) echo github.com/hashicorp/terraform-provider-azurerm@v1.44.1-0.20260824201233-fae580791926 ;;
	*) return 1 ;;
	esac
}

die() {
	echo "tools.sh: $*" >&2
	exit 1
}

known() {
	local t
	for t in "${TOOLS[@]}"; do [[ $t == "$1" ]] && return 0; done
	die "unknown tool '$1' (known: ${TOOLS[*]})"
}

need() {
	command -v "$1" >/dev/null 2>&1 || die "$1 is not on PATH; $2"
}

cache_base() {
	need go "install Go (see go.mod for the version)"
	local gopath
	gopath=$(go env GOPATH)
	echo "${gopath%%:*}/storagegate-tools" # first GOPATH entry, as go install does
}

# npm_pin NAME prints the npm packages a data-only tool is made of.
npm_pin() {
	case $1 in
	provider-schemas) echo "aws=@cdktf/provider-aws@21.22.1 google=@cdktf/provider-google@16.12.1" ;; # hashicorp/aws 6.25.0, hashicorp/google 6.50.0
	*) return 1 ;;
	esac
}

# deb_pin NAME prints the Debian package of a tool taken from the system's package manager
# (make bench's HTTP load generator); fails for other names.
deb_pin() {
	case $1 in
	wrk) echo wrk ;;
	*) return 1 ;;
	esac
}

# tool_path NAME prints where the tool lives once installed.
tool_path() {
	local pin
	if deb_pin "$1" >/dev/null; then
		command -v "$1" 2>/dev/null || echo "/usr/bin/$1"
	elif pin=$(npm_pin "$1"); then
		local spec v=""
		for spec in $pin; do v+="${v:+-}${spec%%=*}-${spec##*@}"; done
		echo "$(cache_base)/$1@$v" # e.g. provider-schemas@aws-21.22.1-google-16.12.1
	elif pin=$(go_pin "$1"); then
		local mod=${pin%@*}
		echo "$(cache_base)/$1@${pin#*@}/${mod##*/}"
	else
		echo "$ROOT/tools/node_modules/azurite/dist/src/azurite.js"
	fi
}

# lock_stamp identifies the npm lock file, so that editing it reinstalls node_modules.
lock_stamp() {
	sha256sum "$ROOT/tools/package-lock.json" | cut -d' ' -f1
}

installed() {
	local p
	p=$(tool_path "$1")
	if deb_pin "$1" >/dev/null; then
		[[ -x $p ]]
	elif npm_pin "$1" >/dev/null; then
		[[ -f $p/.complete ]]
	elif go_pin "$1" >/dev/null; then
		[[ -x $p ]]
	else
		[[ -f $p && -f $ROOT/tools/node_modules/.storagegate-stamp &&
			$(cat "$ROOT/tools/node_modules/.storagegate-stamp") == "$(lock_stamp)" ]]
	fi
}

install_go_tool() {
	local name=$1 pin dir base tmp log
	pin=$(go_pin "$name")
	dir=$(dirname "$(tool_path "$name")")
	base=$(dirname "$dir")
	mkdir -p "$base"
	# Serialise installs of one tool: two builds of MinIO at once would need 3 GB and twice the time.
	exec 9>"$base/.$name.lock"
	flock 9 2>/dev/null || true
	if installed "$name"; then
		exec 9>&-
		return 0
	fi
	echo "tools.sh: building $pin (once per version; minutes for the servers)" >&2
	# Build into a scratch folder and rename, so an interrupted build never looks installed.
	tmp=$(mktemp -d "$base/.$name.XXXXXX")
	chmod 755 "$tmp" # mktemp makes it 0700; the cache is shared like GOPATH/bin
	log="$tmp.log"
	if ! (cd "$base" && GOBIN="$tmp" GOWORK=off go install "$pin") >"$log" 2>&1; then
		tail -n 40 "$log" >&2
		rm -rf "$tmp"
		die "go install $pin failed (full log: $log)"
	fi
	rm -f "$log"
	rm -rf "$dir"
	mv "$tmp" "$dir"
	exec 9>&-
}

install_npm_data() {
	need npm "install npm (Debian: apt-get install npm)"
	local name=$1 dir tmp spec
	dir=$(tool_path "$name")
	mkdir -p "$(dirname "$dir")"
	tmp=$(mktemp -d "$dir.XXXXXX")
	echo "tools.sh: fetching $(npm_pin "$name") (once per version)" >&2
	for spec in $(npm_pin "$name"); do
		(cd "$tmp" && npm pack --silent "${spec#*=}" >/dev/null) || { rm -rf "$tmp"; die "npm pack ${spec#*=} failed"; }
		tar -xzf "$tmp"/*.tgz -C "$tmp" package/.jsii || { rm -rf "$tmp"; die "${spec#*=} has no package/.jsii"; }
		mv "$tmp/package/.jsii" "$tmp/${spec%%=*}.jsii"
		rm -rf "$tmp/package" "$tmp"/*.tgz
	done
	touch "$tmp/.complete"
	chmod 755 "$tmp"
	rm -rf "$dir"
	mv "$tmp" "$dir"
}

install_azurite() {
	need node "install Node.js 20 or newer (Debian: apt-get install nodejs npm)"
	need npm "install npm (Debian: apt-get install npm)"
	local major log
	major=$(node -p 'process.versions.node.split(".")[0]')
	# Some of Azurite 3.35.0's dependencies declare Node >= 20; older Node may still run it.
	((major >= 20)) || echo "tools.sh: warning: Azurite's dependencies want Node.js 20 or newer, found $(node --version)" >&2
	log=$(mktemp)
	# npm ci installs exactly the lock; a failed run leaves no stamp, so the next call retries.
	if ! (cd "$ROOT/tools" && npm ci --no-audit --no-fund --ignore-scripts) >"$log" 2>&1; then
		tail -n 40 "$log" >&2
		die "npm ci in tools/ failed (full log: $log)"
	fi
	rm -f "$log"
	lock_stamp >"$ROOT/tools/node_modules/.storagegate-stamp"
	[[ -f $(tool_path azurite) ]] || die "npm ci succeeded but $(tool_path azurite) is missing"
}

install_deb() {
	local pkg
	pkg=$(deb_pin "$1")
	[[ $(id -u) == 0 ]] || die "$1 is missing: install the Debian package $pkg (apt-get install $pkg)"
	echo "tools.sh: installing $pkg from Debian" >&2
	apt-get install -y -qq "$pkg" >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null && apt-get install -y -qq "$pkg" >/dev/null; } ||
		die "apt-get install $pkg failed"
}

install_tool() {
	known "$1"
	installed "$1" && return 0
	if deb_pin "$1" >/dev/null; then
		install_deb "$1"
	elif npm_pin "$1" >/dev/null; then
		install_npm_data "$1"
	elif go_pin "$1" >/dev/null; then
		install_go_tool "$1"
	else
		install_azurite
	fi
}

usage() {
	sed -n '2,7s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

cmd=${1:-}
shift || true
case $cmd in
path)
	(($# == 1)) || usage
	install_tool "$1"
	tool_path "$1"
	;;
where)
	(($# == 1)) || usage
	known "$1"
	tool_path "$1"
	installed "$1"
	;;
install)
	(($# >= 1)) || usage
	[[ $* == all ]] && set -- "${TOOLS[@]}"
	for t in "$@"; do install_tool "$t"; done
	;;
list)
	for t in "${TOOLS[@]}"; do
		if pin=$(deb_pin "$t"); then echo "$t $pin (Debian)"; elif pin=$(npm_pin "$t"); then echo "$t $pin (npm)"; elif pin=$(go_pin "$t"); then echo "$t ${pin#*@}"; else echo "$t 3.35.0 (npm, tools/package-lock.json)"; fi
	done
	;;
*) usage ;;
esac
