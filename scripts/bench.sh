#!/usr/bin/env bash
# make bench: every benchmark that backs a performance claim in README, with
# baseline and candidate interleaved in one run (these shared machines drift
# 30-45% between runs, so only ratios within a run count): the Go benchmarks,
# cold starts, the Lambda zips, storagegate serve against a bare 302 server
# under wrk (WRK_DURATION, WRK_ROUNDS) and a soak (SOAK), and the cleanup
# benchmark (BENCH_CLEANUP=0 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-6}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== presign: handler vs raw signing (go test -bench, count=$COUNT)"
go test -run '^$' -bench 'Presign(S3|GCS|Azure)|SignGCS|SignAzure' -benchmem -count "$COUNT" \
	./shared/presign ./shared/store/... 2>/dev/null | grep -E '^(Benchmark|goos|goarch|pkg|cpu)' | tee "$out/presign.txt"
echo
"$(scripts/tools.sh path benchstat)" "$out/presign.txt" || true

# ratio NAME BASE: median ns/op, B/op-free allocs of NAME over BASE.
ratio() {
	awk -v n="$1" -v b="$2" '
	function med(a, k,   i, j, t) { for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
	{ name = $1; sub(/-[0-9]+$/, "", name) }
	name == n { nt[++nn] = $3; na = $7 }
	name == b { bt[++bn] = $3; ba = $7 }
	END { if (nn && bn) printf "%-40s %.2fx the time of %s, %+d allocs/op\n", n, med(nt, nn) / med(bt, bn), b, na - ba }' "$out/presign.txt"
}
echo
echo "== ratios (medians of one run)"
ratio BenchmarkPresignS3Handler BenchmarkPresignS3Raw
ratio BenchmarkPresignS3HandlerUnwindowed BenchmarkPresignS3Raw
ratio BenchmarkPresignGCSHandler BenchmarkPresignGCSRaw
ratio BenchmarkPresignGCSHandlerUnwindowed BenchmarkPresignGCSRaw
ratio BenchmarkPresignAzureHandler BenchmarkPresignAzureRaw
ratio BenchmarkPresignAzureHandlerUnwindowed BenchmarkPresignAzureRaw
ratio BenchmarkSignGCSStore BenchmarkSignGCSRaw
ratio BenchmarkSignAzureStore BenchmarkSignAzureRaw

echo
echo "== cold start, process start to first answer (the Lambda under the Runtime API emulator, its floor, the local binary)"
go test -run '^$' -bench 'ColdStart' -benchtime 20x -count 3 ./shared/internal/e2e 2>/dev/null | grep -E '^Benchmark' || true
# Where a cold start's time goes before main: the package initialisers, summed.
boot=$(mktemp -d "$out/boot.XXXX")
CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags '-s -w' -o "$boot/bootstrap" ./functions/aws/presign
GODEBUG=inittrace=1 STORAGEGATE_CONFIG='{"storage":{"aws":{"buckets":[{"bucket":"b","host":"127.0.0.1:9000","key":"k","secret":"s","secure":false}]}}}' \
	AWS_LAMBDA_RUNTIME_API=127.0.0.1:1 timeout 5 "$boot/bootstrap" 2>&1 >/dev/null |
	awk '/^init / { ms += $5; n++; if ($5 > 0.3) top = top sprintf("  %s %.1f ms\n", $2, $5) }
		END { printf "presign bootstrap: %d package initialisers, %.1f ms in all; over 0.3 ms:\n%s", n, ms, top }' || true

echo
echo "== Lambda zips (make package; each must stay under 10 MB)"
make --no-print-directory package >/dev/null
for f in bin/package/*-lambda-*.zip; do
	awk -v f="$f" -v s="$(stat -c %s "$f")" 'BEGIN { printf "%-40s %6.1f MB %s\n", f, s / 1e6, (s < 10e6 ? "ok" : "OVER 10 MB") }'
done

echo
echo "== HTTP: storagegate serve vs a bare 302 server under wrk, then a ${SOAK:-60s} soak"
"$(scripts/tools.sh path wrk)" --version 2>&1 | head -1 || true
CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$out/storagegate" ./functions/local
go build -o "$out/benchhttp" scripts/benchhttp.go
"$out/benchhttp" -bin "$out/storagegate" -wrk "$(scripts/tools.sh path wrk)" \
	-duration "${WRK_DURATION:-10s}" -rounds "${WRK_ROUNDS:-3}" -soak "${SOAK:-60s}"

if [[ ${BENCH_CLEANUP:-1} != 0 ]]; then
	echo
	echo "== cleanup: scripts/bench-cleanup.sh (BENCH_CLEANUP=0 skips it)"
	scripts/bench-cleanup.sh
fi
