#!/usr/bin/env bash
# scripts/bench-cleanup.sh (make bench-cleanup): how fast and how lean the
# cleanup deleter is on a real MinIO, next to `rclone purge` in the same run.
#
#   - 10,000 objects under one prefix, deleted by `storagegate delete PREFIX/`
#     (the queue path's core), by `rclone purge` with its defaults, and by
#     `rclone purge --fast-list --checkers 16` (rclone tuned to list once and
#     run as many workers as storagegate's cleanup.concurrency), each on an
#     identical copy in its own bucket;
#   - 100,000 objects deleted by storagegate: peak RSS must stay flat (target
#     under 32 MB), since listings stream page by page and the CLI deletes
#     under a soft memory limit.
#
# Objects/second is wall time of the whole command (start-up included).
# Requests are counted by MinIO itself (its per-bucket Prometheus counters),
# the same way for every tool; peak RSS is GNU time's maximum resident set.
# These machines are shared: numbers drift between runs, so compare the rows
# of one run with each other. BENCH_OBJECTS and BENCH_BIG_OBJECTS override
# the sizes.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${BENCH_OBJECTS:-10000}
BIG=${BENCH_BIG_OBJECTS:-100000}
PREFIX=proj/task.bench
KEY=storagegate
SECRET=storagegate-bench-secret

die() { echo "bench-cleanup: $*" >&2; exit 1; }

apt_install() { # Debian packages, installed when missing (as root)
	if [[ $(id -u) != 0 ]]; then die "$1 is missing: install the Debian package $2"; fi
	echo "bench-cleanup: installing $2 from Debian" >&2
	apt-get install -y -qq "$2" >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq "$2" >/dev/null; }
}
[[ -x /usr/bin/time ]] || apt_install "GNU time" time
command -v rclone >/dev/null || apt_install rclone rclone
command -v curl >/dev/null || apt_install curl curl
MINIO=$("$ROOT/scripts/tools.sh" path minio)

WORK=$(mktemp -d)
MINIO_PID=
cleanup() {
	if [[ -n $MINIO_PID ]]; then kill "$MINIO_PID" 2>/dev/null || true; wait "$MINIO_PID" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { # a port on 127.0.0.1 that nothing answers on
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
	done
	die "no free port"
}
PORT=$(free_port)
CONSOLE=$(free_port)
ENDPOINT=http://127.0.0.1:$PORT
MINIO_ROOT_USER=$KEY MINIO_ROOT_PASSWORD=$SECRET MINIO_BROWSER=off MINIO_UPDATE=off MINIO_PROMETHEUS_AUTH_TYPE=public \
	"$MINIO" server "$WORK/data" --address "127.0.0.1:$PORT" --console-address "127.0.0.1:$CONSOLE" \
	--certs-dir "$WORK/certs" --quiet >"$WORK/minio.log" 2>&1 &
MINIO_PID=$!
for _ in $(seq 100); do
	curl -fs -o /dev/null "$ENDPOINT/minio/health/ready" && break
	kill -0 "$MINIO_PID" 2>/dev/null || die "MinIO exited: $(cat "$WORK/minio.log")"
	sleep 0.1
done

echo "bench-cleanup: building storagegate and the seeder" >&2
# storagegate built as make build builds it (static, stripped).
(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$WORK/storagegate" ./functions/local && go build -o "$WORK/benchseed" scripts/benchseed.go)

# One bucket per run, so MinIO's per-bucket counters are that run's alone.
RUNS=(sg rclone rclonefast sgbig)
declare -A COUNT=([sg]=$N [rclone]=$N [rclonefast]=$N [sgbig]=$BIG)
declare -A LABEL=([sg]="storagegate delete" [rclone]="rclone purge" [rclonefast]="rclone purge --fast-list --checkers 16" [sgbig]="storagegate delete")
buckets_json=
for r in "${RUNS[@]}"; do
	"$WORK/benchseed" -endpoint "$ENDPOINT" -key "$KEY" -secret "$SECRET" -bucket "bench-$r" -prefix "$PREFIX" -n "${COUNT[$r]}"
	buckets_json+="${buckets_json:+,}{\"bucket\":\"bench-$r\",\"host\":\"127.0.0.1:$PORT\",\"key\":\"$KEY\",\"secret\":\"$SECRET\",\"secure\":false}"
done
printf '{"storage":{"aws":{"buckets":[%s]}}}\n' "$buckets_json" >"$WORK/config.json"
: >"$WORK/rclone.conf"

# Commands as arrays: GNU time runs programs, not shell functions.
SG=(env STORAGEGATE_CONFIG_FILE="$WORK/config.json" "$WORK/storagegate")
# rclone 1.60 will not start its s3 backend with AWS_CA_BUNDLE set.
RC=(env -u AWS_CA_BUNDLE rclone --config "$WORK/rclone.conf" --s3-provider Minio --s3-env-auth=false
	--s3-endpoint "$ENDPOINT" --s3-access-key-id "$KEY" --s3-secret-access-key "$SECRET" --s3-region us-east-1)
timed() { # timed RUN CMD...: wall seconds and peak RSS (KiB) to $WORK/time.RUN
	local r=$1
	shift
	/usr/bin/time -f '%e %M' -o "$WORK/time.$r" "$@" >"$WORK/out.$r" 2>"$WORK/err.$r" ||
		die "${LABEL[$r]} failed: $(tail -5 "$WORK/err.$r")"
}
for r in "${RUNS[@]}"; do
	echo "bench-cleanup: ${LABEL[$r]} on ${COUNT[$r]} objects" >&2
	case $r in
	sg | sgbig) timed "$r" "${SG[@]}" delete "s3://127.0.0.1:$PORT/bench-$r/$PREFIX/" ;;
	rclone) timed "$r" "${RC[@]}" purge ":s3:bench-$r/$PREFIX" ;;
	rclonefast) timed "$r" "${RC[@]}" purge --fast-list --checkers 16 ":s3:bench-$r/$PREFIX" ;;
	esac
done

# MinIO refreshes its bucket metrics about every 10 s.
sleep 11
curl -fs "$ENDPOINT/minio/v2/metrics/bucket" >"$WORK/metrics"
requests() { # requests BUCKET API...: the sum of those APIs' request counters
	local b=$1
	shift
	awk -v b="$b" -v apis=" $* " '
		/^minio_bucket_requests_total\{/ {
			match($0, /api="[^"]*"/); api = substr($0, RSTART + 5, RLENGTH - 6)
			if (index($0, "bucket=\"" b "\"") && index(apis, " " api " ")) n += $NF
		}
		END { print n + 0 }' "$WORK/metrics"
}

printf '\n%-42s %8s %8s %10s %12s %10s %14s\n' "tool" "objects" "seconds" "objects/s" "delete reqs" "list reqs" "peak RSS (MiB)"
for r in "${RUNS[@]}"; do
	read -r secs rss <"$WORK/time.$r"
	left=$("${SG[@]}" delete --dry-run "s3://127.0.0.1:$PORT/bench-$r/$PREFIX/" 2>/dev/null | sed -n 's/^dry run: would delete \([0-9]*\).*/\1/p')
	[[ $left == 0 ]] || die "${LABEL[$r]} left ${left:-?} objects behind"
	printf '%-42s %8d %8.2f %10.0f %12d %10d %14.1f\n' "${LABEL[$r]}" "${COUNT[$r]}" "$secs" \
		"$(awk -v n="${COUNT[$r]}" -v s="$secs" 'BEGIN { print (s > 0 ? n / s : 0) }')" \
		"$(requests "bench-$r" deletemultipleobjects deleteobject)" \
		"$(requests "bench-$r" listobjectsv2 listobjectsv1 listobjects)" \
		"$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
done
echo
echo "storagegate: $(tail -1 "$WORK/out.sgbig")"
read -r _ bigrss <"$WORK/time.sgbig"
awk -v k="$bigrss" -v n="$BIG" 'BEGIN { printf "peak RSS deleting %d objects: %.1f MiB (target under 32 MB, taken as 32 MiB): %s\n", n, k / 1024, (k / 1024 < 32 ? "ok" : "OVER") }'

