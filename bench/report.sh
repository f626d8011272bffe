#!/bin/bash
# Run every benchmark and write docs/benchmarks.md from their results, with SVG plots in docs/
# when gnuplot is installed.
#
# Usage: bash bench/report.sh BUILD_DIR [--quick] [--bench-json FILE] [--output FILE]
#   BUILD_DIR          holds pshm, pshm-bench (which `pshm bench` runs), bench/bench_overhead and
#                      bench/mapper (`make bench` builds them), and bench/bench_chan, whose
#                      section (bench/chan.md.in) is added when built
#   --quick            shorter runs: pshm bench --quick, 200 overhead rounds, bench/cli.sh --quick
#   --bench-json FILE  take the output of an earlier `pshm bench --json` instead of running it
#   --output FILE      write FILE instead of docs/benchmarks.md; the plots go next to it
#
# In order it runs `BUILD_DIR/pshm bench --json`, `bench_overhead` three times (calibration,
# space reserved, sparse; as bench/run.sh) and `bench/cli.sh`, then fills bench/benchmarks.md.in
# with tables and conclusions made by bench/report.jq, and plots with bench/plot.gp. The report
# is written to a temporary file and moved into place only when everything worked, so a failed
# run leaves the previous one untouched.
# Exit status: 0 report written, 1 a benchmark failed or printed something unusable, 2 usage.
set -euo pipefail

prog=report.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
usage() {
	echo "usage: bash bench/report.sh BUILD_DIR [--quick] [--bench-json FILE] [--output FILE]" >&2
	exit 2
}

build="" quick="" bench_json="" out="$top/docs/benchmarks.md"
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--bench-json)
		[ $# -ge 2 ] || usage
		bench_json=$2
		shift
		;;
	--output)
		[ $# -ge 2 ] || usage
		out=$2
		shift
		;;
	-h | --help)
		sed -n '2,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
		exit 0
		;;
	-*) usage ;;
	*)
		[ -z "$build" ] || usage
		build=$1
		;;
	esac
	shift
done
[ -n "$build" ] || usage

die() {
	echo "$prog: $*" >&2
	echo "$prog: $out left unchanged" >&2
	exit 1
}
say() { echo "$prog: $*" >&2; }

command -v jq >/dev/null 2>&1 || die "jq not found (apt-get install jq); it reads the benchmarks' JSON"
for f in "$here/report.jq" "$here/benchmarks.md.in" "$here/cli.sh"; do
	[ -r "$f" ] || die "$f: missing"
done
for f in pshm pshm-bench; do
	[ -x "$build/$f" ] || [ -n "$bench_json" ] || die "$build/$f: not built (make bench builds it)"
done
for f in bench_overhead mapper; do
	[ -x "$build/bench/$f" ] || die "$build/bench/$f: not built (make bench builds it)"
done
outdir=$(dirname "$out")
if [ ! -d "$outdir" ] || [ ! -w "$outdir" ]; then die "$outdir: not a writable directory"; fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pshm-report.XXXXXX")
staged=""
cleanup() { rm -rf "$tmp" ${staged:+"$staged"}; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# report_jq PART [JQ OPTION...] < nothing: one piece made by report.jq from the bench JSON
report_jq() {
	local part=$1
	shift
	jq -r --arg part "$part" --arg plots "$plots" --arg kind "${kind:-}" \
		--slurpfile ov "$tmp/overhead.json" --slurpfile cli "$tmp/cli.json" \
		"$@" -f "$here/report.jq" "$tmp/bench.json"
}
# check_json FILE WHAT VALIDATE-PART: die with the reason unless FILE holds what report.jq expects
check_json() {
	local file=$1 what=$2 part=$3 problems
	[ -s "$file" ] || die "$what printed nothing"
	if ! jq -e . "$file" >/dev/null 2>"$tmp/jq.err"; then
		die "$what did not print valid JSON ($(head -n 1 "$tmp/jq.err"))"
	fi
	[ "$(jq -s length "$file")" -eq 1 ] || die "$what printed more than one JSON value"
	problems=$(jq -r --arg part "$part" --arg plots no --arg kind "" \
		--slurpfile ov /dev/null --slurpfile cli /dev/null -f "$here/report.jq" "$file") ||
		die "$what: its JSON could not be checked"
	[ -z "$problems" ] || die "$what: unexpected JSON: $(echo "$problems" | paste -sd ';' - | sed 's/;/; /g')"
}

start=$SECONDS
plots=no noplots="gnuplot was not installed (\`apt-get install gnuplot-nox\`)"

# 1. The techniques compared.
if [ -n "$bench_json" ]; then
	[ -r "$bench_json" ] || die "$bench_json: cannot read"
	cp "$bench_json" "$tmp/bench.json"
	say "[1/3] pshm bench: using $bench_json"
else
	say "[1/3] $build/pshm bench --json${quick:+ --quick}"
	rc=0
	"$build/pshm" bench --json ${quick:+--quick} >"$tmp/bench.json" || rc=$?
	# 1 is "a measurement failed": the others ran, and the JSON lists that one as unavailable.
	if [ "$rc" -eq 1 ] && [ -s "$tmp/bench.json" ]; then
		partial=1
	elif [ "$rc" -ne 0 ]; then
		die "$build/pshm bench failed (exit status $rc)"
	fi
fi
check_json "$tmp/bench.json" "pshm bench --json" validate
[ -z "${partial:-}" ] || say "warning: pshm bench reported a failed measurement; the report lists it under \"Not measured here\""

# 2. The library's overhead, as bench/run.sh runs it.
rounds=()
[ -z "$quick" ] || rounds=(-n 200)
for run in calibrate reserved sparse; do
	case $run in
	calibrate) flag=(--calibrate) ;;
	reserved) flag=() ;;
	sparse) flag=(--sparse) ;;
	esac
	say "[2/3] $build/bench/bench_overhead ${flag[*]:+${flag[*]} }--json${rounds[*]:+ ${rounds[*]}}"
	rc=0
	"$build/bench/bench_overhead" "${flag[@]}" "${rounds[@]}" --json >"$tmp/ov-$run.json" || rc=$?
	[ "$rc" -eq 0 ] || die "bench_overhead ${flag[*]} failed (exit status $rc)"
	check_json "$tmp/ov-$run.json" "bench_overhead ${flag[*]:-}" validate-overhead
done
jq -n --slurpfile c "$tmp/ov-calibrate.json" --slurpfile r "$tmp/ov-reserved.json" \
	--slurpfile s "$tmp/ov-sparse.json" '{calibrate: $c[0], reserved: $r[0], sparse: $s[0]}' \
	>"$tmp/overhead.json"

# 3. The command against cat and ls -l. Its lines are shown as they come: it takes a while.
say "[3/3] bash bench/cli.sh $build${quick:+ --quick}"
rc=0
bash "$here/cli.sh" "$build" ${quick:+--quick} | tee "$tmp/cli.txt" | sed 's/^/  /' >&2 || rc=$?
[ "$rc" -eq 0 ] || die "bench/cli.sh failed (exit status $rc)"
jq -R -s --arg part cli-parse --arg plots no --arg kind "" --slurpfile ov /dev/null \
	--slurpfile cli /dev/null -f "$here/report.jq" "$tmp/cli.txt" >"$tmp/cli.json" ||
	die "bench/cli.sh: its output could not be read"
[ "$(jq '.rows | length' "$tmp/cli.json")" -gt 0 ] || die "bench/cli.sh printed no result line"

# Plots, when gnuplot is there.
if command -v gnuplot >/dev/null 2>&1; then
	mkdir -p "$tmp/plot" "$tmp/svg"
	report_jq data-lifecycle >"$tmp/plot/lifecycle.dat"
	report_jq data-first_touch >"$tmp/plot/first_touch.dat"
	report_jq opts-lifecycle >"$tmp/plot/lifecycle.gp"
	report_jq opts-first_touch >"$tmp/plot/first_touch.gp"
	kinds=$(kind="" report_jq data-transfer)
	echo "$kinds" >"$tmp/plot/transfer.kinds"
	kind=@tics report_jq data-transfer >"$tmp/plot/transfer.tics"
	for k in $kinds; do
		kind=$k report_jq data-transfer >"$tmp/plot/transfer-$k.dat"
	done
	if gnuplot -c "$here/plot.gp" "$tmp/plot" "$tmp/svg" 2>"$tmp/gnuplot.err"; then
		plots=yes
	else
		sed 's/^/  /' "$tmp/gnuplot.err" >&2
		say "gnuplot failed: writing tables only"
		noplots="gnuplot failed on bench/plot.gp"
	fi
else
	say "gnuplot not found (apt-get install gnuplot-nox): writing tables only"
fi

# The report: each @@PART@@ line of the template replaced by that piece.
mkdir -p "$tmp/parts"
when=$(date -u '+%Y-%m-%d %H:%M UTC')
commit=$(git -C "$top" describe --always --dirty 2>/dev/null || true)
libc=$(getconf GNU_LIBC_VERSION 2>/dev/null || true)
cc_version=$("${CC:-cc}" --version 2>/dev/null | head -n 1 || true)
{
	kindrun=$(jq -r 'if .options.quick then "a quick run (`make bench QUICK=1`)" else "a full run" end' "$tmp/bench.json")
	echo "Made by \`make bench\` on $when from $kindrun${commit:+ of pshm $commit}, in $((SECONDS - start)) s."
	echo "To make it again on your machine, run \`make bench\` (\`make bench QUICK=1\` for a shorter"
	echo "run); it rewrites this file and its plots. The conclusions are in [What to use when](#what-to-use-when)."
	if [ "$plots" != yes ]; then
		echo
		echo "No plots this time: $noplots."
	fi
} >"$tmp/parts/header.md"
for part in machine options lifecycle first_touch huge_targets bandwidth persistence transfer unavailable \
	overhead cli conclusions plot_lifecycle plot_first_touch plot_transfer; do
	report_jq "$part" >"$tmp/parts/$part.md" || die "report.jq could not make the part \"$part\""
done
# Message channels, when bench_chan is built: its section is bench/chan.md.in with the results.
if [ -x "$build/bench/bench_chan" ] && [ -r "$here/chan.md.in" ]; then
	say "[channels] $build/bench/bench_chan${quick:+ --quick}"
	rc=0
	"$build/bench/bench_chan" ${quick:+--quick} >"$tmp/chan.txt" || rc=$?
	[ "$rc" -eq 0 ] || die "bench_chan failed (exit status $rc)"
	[ -s "$tmp/chan.txt" ] || die "bench_chan printed nothing"
	# A bench_chan built without ZeroMQ, iceoryx or Boost lists it as unavailable; the page says
	# so in words too, as it does when iceoryx's broker could not be had.
	peer_note=""
	if grep -q '^zmq .*built without ZeroMQ' "$tmp/chan.txt"; then
		peer_note="ZeroMQ was not measured: this \`bench_chan\` was built without it"
		peer_note="$peer_note (\`libzmq3-dev\` was not installed, or \`PSHM_BENCH_NO_ZMQ=1\` was given to make)."
		say "ZeroMQ not measured: bench_chan was built without it"
	fi
	if grep -q '^iox .*built without iceoryx' "$tmp/chan.txt"; then
		peer_note="${peer_note:+$peer_note }iceoryx was not measured: this \`bench_chan\` was built without it"
		peer_note="$peer_note (\`libiceoryx-binding-c-dev\` was not installed, or \`PSHM_BENCH_NO_ICEORYX=1\` was given to make)."
		say "iceoryx not measured: bench_chan was built without it"
	elif iox_why=$(grep -m 1 -o '^iox poll .*unavailable: .*' "$tmp/chan.txt"); then
		peer_note="${peer_note:+$peer_note }iceoryx was not measured: ${iox_why#*unavailable: }."
		say "iceoryx not measured: ${iox_why#*unavailable: }"
	fi
	if grep -q '^boost mq .*built without Boost' "$tmp/chan.txt"; then
		peer_note="${peer_note:+$peer_note }Boost.Interprocess was not measured: this \`bench_chan\` was built without it"
		peer_note="$peer_note (\`libboost-dev\` or \`g++\` was not installed, or \`PSHM_BENCH_NO_BOOST=1\` was given to make)."
		say "Boost.Interprocess not measured: bench_chan was built without it"
	fi
	awk -v res="$tmp/chan.txt" -v note="$peer_note" '
		/^@@chan_results@@$/ {
			print "```"
			while ((getline line < res) > 0) print line
			print "```"
			if (note != "") { print ""; print note }
			next
		}
		{ print }
	' "$here/chan.md.in" >"$tmp/parts/chan.md"
fi
{
	[ -z "$libc" ] || echo "| C library | $libc |"
	[ -z "$cc_version" ] || echo "| compiler | $cc_version${CFLAGS:+, \`$CFLAGS\`} |"
} >>"$tmp/parts/machine.md"

awk -v dir="$tmp/parts" '
	/^@@[a-z_]+@@$/ {
		f = dir "/" substr($0, 3, length($0) - 4) ".md"
		n = 0
		while ((getline line < f) > 0) { print line; n++ }
		close(f)
		next
	}
	{ print }
' "$here/benchmarks.md.in" | cat -s >"$tmp/benchmarks.md"
# A template without a @@chan@@ line gets the channels' section before the conclusions.
if [ -s "$tmp/parts/chan.md" ] && ! grep -q '^@@chan@@$' "$here/benchmarks.md.in"; then
	awk -v f="$tmp/parts/chan.md" '
		/^- \[What to use when\]/ { print "- [Message channels: `bench/bench_chan`](#message-channels-benchbench_chan)" }
		/^## What to use when$/ { while ((getline line < f) > 0) print line; print "" }
		{ print }
	' "$tmp/benchmarks.md" >"$tmp/benchmarks-chan.md"
	mv "$tmp/benchmarks-chan.md" "$tmp/benchmarks.md"
fi
if grep -n '@@[a-z_]*@@' "$tmp/benchmarks.md" >&2; then
	die "the template holds a part that report.sh does not make"
fi

# Move into place: the plots first, then the page that shows them.
if [ "$plots" = yes ]; then
	for f in "$tmp"/svg/*.svg; do
		name=bench-$(basename "$f")
		cp "$f" "$outdir/.$name.tmp" && mv -f "$outdir/.$name.tmp" "$outdir/$name"
	done
fi
staged=$(mktemp "$outdir/.benchmarks.XXXXXX")
cp "$tmp/benchmarks.md" "$staged"
chmod 644 "$staged"
mv -f "$staged" "$out"
staged=""
if [ "$plots" = yes ]; then
	say "wrote $out and its plots, $outdir/bench-*.svg"
else
	say "wrote $out (tables only)"
fi
