#!/usr/bin/env bash
# make bench: every benchmark that backs a performance claim in README, with
# baseline and candidate interleaved in one `go test` run (these shared
# machines drift 30-45% between runs, so only ratios within a run count).
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
echo "== cold start of the local binary to its first answer"
go test -run '^$' -bench 'ColdStart' -benchtime 20x -count 3 ./shared/internal/e2e 2>/dev/null | grep -E '^Benchmark' || true

echo
echo "== stripped Lambda binaries"
make --no-print-directory lambda >/dev/null
for f in bin/lambda/*/bootstrap; do
	awk -v f="$f" -v s="$(stat -c %s "$f")" 'BEGIN { printf "%-40s %6.1f MiB\n", f, s / 1048576 }'
done
