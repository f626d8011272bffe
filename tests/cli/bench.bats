#!/usr/bin/env bats
# pshm bench: the shape of its JSON and CSV (never its timings), bad options, a technique or a
# directory the system cannot offer, a full shm directory, Ctrl-C, and that nothing it makes is
# left behind: not in the shm directory, not in the file directory, not in System V, and no
# reading process. pshm bench runs pshm-bench, found beside pshm or in PATH; the last tests run
# pshm-bench itself and check where pshm finds it, and bench_chan's quick run of the many-writer
# rows (`make bench-progs` builds it beside pshm, in bench/).

load helpers

# pshm-bench as the build made it, beside pshm.
PSHM_BENCH=$(dirname "$PSHM")/pshm-bench
# bench_chan as the build made it.
BENCH_CHAN=$(dirname "$PSHM")/bench/bench_chan

# Run pshm bench ARGS... in the background, as a process whose PID the checks can look for,
# with stdout in $BATS_TEST_TMPDIR/out and stderr in .../err; sets BENCH_PID and BENCH_STATUS.
bench_bg() {
	"$PSHM" bench "$@" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	BENCH_PID=$!
	track "$BENCH_PID"
}

bench_wait() {
	BENCH_STATUS=0
	wait "$BENCH_PID" || BENCH_STATUS=$?
}

bench_run() {
	bench_bg "$@"
	bench_wait
}

# Nothing of run BENCH_PID is left: no System V segment it created, no reading process of
# it, nothing in PSHM_DIR, nothing in the directories given.
nothing_left() {
	local d left
	left=$(awk -v p="$BENCH_PID" 'NR > 1 && $5 == p' /proc/sysvipc/shm)
	[ -z "$left" ] || fail_with "System V segments of pid $BENCH_PID left:" "$left"
	! pgrep -f " --peer .* $BENCH_PID\$" >/dev/null || fail_with "a reading process is left"
	dir_holds
	for d in "$@"; do
		left=$(ls -A "$d")
		[ -z "$left" ] || fail_with "left in $d:" "$left"
	done
}

# The JSON in the output file has the schema's shape; prints nothing, fails with the reason.
json_shape() {
	local f=$BATS_TEST_TMPDIR/out
	jq -e . "$f" >/dev/null || fail_with "not JSON:" "$(head -c 600 "$f")"
	jq -e '.pshm_bench == 1 and (.elapsed_s | type == "number")
		and (.unavailable | type == "array") and (.results | type == "array")' "$f" >/dev/null ||
		fail_with "top-level keys wrong"
	jq -e '.machine | (.kernel | type == "string") and (.cpus | type == "number")
		and has("cpu_model") and (.memory_bytes | type == "number")
		and (.shm_dir | type == "string") and (.shm_size_bytes | type == "number")
		and (.shm_free_bytes | type == "number") and (.page_size | type == "number")
		and has("thp_enabled") and has("thp_shmem_enabled")
		and (.hugepage_size_bytes | type == "number") and (.hugepages_total | type == "number")
		and (.hugepages_free | type == "number") and (.file_dir | type == "string")
		and (.sysv_available | type == "boolean")' "$f" >/dev/null ||
		fail_with "machine facts wrong:" "$(jq -c .machine "$f")"
	jq -e '.options | (.quick | type == "boolean") and (.reps | type == "number")
		and (.sizes | type == "array" and all(type == "number"))
		and (.kinds | type == "array" and all(type == "string"))' "$f" >/dev/null ||
		fail_with "options wrong:" "$(jq -c .options "$f")"
	# Every row: exactly the schema's keys, numbers where numbers belong, n >= 1.
	jq -e '.results | all(
		(keys == ["kind","max","median","min","n","ratio_pipe","ratio_posix","ratio_raw",
		          "section","size","unit","variant"])
		and (.median | type == "number") and (.min | type == "number")
		and (.max | type == "number") and (.n | type == "number") and .n >= 1
		and (.size | type == "number") and .min <= .median and .median <= .max
		and ([.ratio_posix, .ratio_pipe, .ratio_raw] | all(. == null or type == "number"))
		and (.kind | IN("posix","sysv","file","memfd","pipe","unix")))' "$f" >/dev/null ||
		fail_with "a row is malformed:" "$(jq -c '.results[0]' "$f")"
	jq -e '.results | all(
		(.section == "lifecycle" and .unit == "us" and (.variant | IN("create","attach")))
		or (.section == "first_touch" and .unit == "us_per_page"
		    and (.variant | IN("plain","populate","fallocate","hugepages")))
		or (.section == "bandwidth" and .unit == "GB/s" and .variant == "write")
		or (.section == "persistence" and .unit == "ms"
		    and (.variant | IN("rewrite","rewrite+msync")))
		or (.section == "transfer" and .unit == "GB/s" and .variant == "one-way"))' \
		"$f" >/dev/null || fail_with "a row has a wrong section, unit or variant"
	jq -e '.unavailable | all((keys == ["kind","reason","section","variant"])
		and (.reason | type == "string" and length > 0))' "$f" >/dev/null ||
		fail_with "an unavailable entry is malformed:" "$(jq -c .unavailable "$f")"
}

@test "bench --quick --json: the schema's shape, every section, and nothing left behind" {
	mkdir "$BATS_TEST_TMPDIR/cwd"
	cd "$BATS_TEST_TMPDIR/cwd" # file mappings go in the working directory by default
	bench_run --quick --json
	[ "$BENCH_STATUS" -eq 0 ] || fail_with "exit $BENCH_STATUS" "$(cat "$BATS_TEST_TMPDIR/err")"
	json_shape
	f=$BATS_TEST_TMPDIR/out
	[ "$(jq -r '[.results[].section] | unique | join(",")' "$f")" = \
		"bandwidth,first_touch,lifecycle,persistence,transfer" ]
	kinds=file,memfd,pipe,posix,sysv,unix
	jq -e .machine.sysv_available "$f" >/dev/null || kinds=file,memfd,pipe,posix,unix
	[ "$(jq -r '[.results[] | select(.section == "transfer") | .kind] | unique | join(",")' \
		"$f")" = "$kinds" ]
	# Transfers: every default size the shm directory can hold twice over, and ratios against
	# POSIX and the pipe.
	sizes=$(jq -c '.machine.shm_free_bytes as $free
		| [4096, 65536, 1048576, 67108864 | select(. <= $free / 2)]' "$f")
	[ "$(jq -c .options.sizes "$f")" = "$sizes" ]
	[ "$(jq -c '[.results[] | select(.section == "transfer" and .kind == "pipe") | .size]' \
		"$f")" = "$sizes" ]
	jq -e --argjson n "$(jq length <<<"$sizes")" \
		'[.results[] | select(.section == "transfer" and .kind == "unix")]
		| length == $n and all((.ratio_posix | type == "number") and .ratio_pipe > 0)' \
		"$f" >/dev/null
	jq -e '[.results[] | select(.section == "lifecycle")] | all(.ratio_raw > 0)' "$f" >/dev/null
	jq -e '[.results[] | select(.section != "lifecycle")] | all(.ratio_raw == null)' \
		"$f" >/dev/null
	jq -e '.options.quick == true and .options.reps == 3' "$f" >/dev/null
	[ "$(jq -r .machine.file_dir "$f")" = "$BATS_TEST_TMPDIR/cwd" ]
	[ "$(jq -r .machine.shm_dir "$f")" = "$PSHM_DIR" ]
	nothing_left "$BATS_TEST_TMPDIR/cwd"
}

@test "bench --csv: the header line, then twelve fields a row, machine facts as comments" {
	bench_run --quick --csv -r 1 --sections lifecycle,persistence -k posix,memfd \
		-d "$BATS_TEST_TMPDIR"
	[ "$BENCH_STATUS" -eq 0 ]
	f=$BATS_TEST_TMPDIR/out
	grep -q '^# kernel: ' "$f"
	grep -q '^# sysv_available: \(true\|false\)$' "$f"
	[ "$(grep -v '^#' "$f" | head -n 1)" = \
		"section,kind,variant,size,unit,median,min,max,n,ratio_posix,ratio_pipe,ratio_raw" ]
	[ "$(grep -v '^#' "$f" | tail -n +2 | awk -F, 'NF != 12' | wc -l)" -eq 0 ]
	grep -q '^lifecycle,memfd,attach,65536,us,[0-9.e+-]*,[0-9.e+-]*,[0-9.e+-]*,1,' "$f"
	grep -q '^persistence,posix,rewrite+msync,' "$f"
	nothing_left
}

@test "bench: a file directory that is missing or not a directory: file unavailable, rest runs" {
	for dir in "$BATS_TEST_TMPDIR/missing" "$BATS_TEST_TMPDIR/plain"; do
		: >"$BATS_TEST_TMPDIR/plain"
		bench_run --quick --json -r 1 --sections lifecycle,transfer -s 4K -d "$dir"
		[ "$BENCH_STATUS" -eq 0 ] || fail_with "exit $BENCH_STATUS"
		json_shape
		grep -q "pshm bench: file: unavailable: .*$dir" "$BATS_TEST_TMPDIR/err"
		f=$BATS_TEST_TMPDIR/out
		jq -e '[.unavailable[] | select(.kind == "file")] | length == 3' "$f" >/dev/null
		jq -e '[.results[] | select(.kind == "file")] | length == 0' "$f" >/dev/null
		jq -e '[.results[] | select(.kind == "posix")] | length == 3' "$f" >/dev/null
		jq -e '[.results[] | select(.kind == "pipe")] | length == 1' "$f" >/dev/null
		nothing_left
	done
	[ ! -e "$BATS_TEST_TMPDIR/missing" ]
}

@test "bench: a file directory the user cannot write: file unavailable, rest runs" {
	require_root
	share_dir
	mkdir -m 555 "$BATS_TEST_TMPDIR/ro"
	# pshm runs pshm-bench beside it: a build tree under a private directory (/root) is out of
	# another user's reach.
	as_nobody test -x "${PSHM%/*}/pshm-bench" ||
		skip "uid 65534 cannot reach ${PSHM%/*}/pshm-bench"
	as_nobody "$PSHM" bench --quick --json -r 1 --sections lifecycle -d "$BATS_TEST_TMPDIR/ro" \
		>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" ||
		fail_with "exit $?" "$(cat "$BATS_TEST_TMPDIR/err")"
	json_shape
	# Not writable, or not even reachable when the test's own directory is private.
	grep -q "pshm bench: file: unavailable: .*/ro.*Permission denied" "$BATS_TEST_TMPDIR/err"
	f=$BATS_TEST_TMPDIR/out
	jq -e '[.unavailable[] | select(.kind == "file")] | length == 2' "$f" >/dev/null
	jq -e '[.results[] | select(.kind == "posix")] | length == 2' "$f" >/dev/null
	dir_holds
	[ -z "$(ls -A "$BATS_TEST_TMPDIR/ro")" ]
}

@test "bench: no System V IPC (kernel.shmmax=0 in a new IPC namespace): unavailable, rest runs" {
	unshare -i true 2>/dev/null || skip "cannot make an IPC namespace (unshare -i)"
	unshare -i sh -c 'sysctl -q -w kernel.shmmax=0 && exec "$@"' sh \
		"$PSHM" bench --quick --json -r 1 --sections lifecycle,transfer -s 4K \
		-d "$BATS_TEST_TMPDIR" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" ||
		fail_with "exit $?" "$(cat "$BATS_TEST_TMPDIR/err")"
	json_shape
	f=$BATS_TEST_TMPDIR/out
	jq -e '.machine.sysv_available == false' "$f" >/dev/null
	jq -e '[.unavailable[] | select(.kind == "sysv" and .section == "transfer")]
		| length == 1 and all(.reason | test("shmmax"))' "$f" >/dev/null
	jq -e '[.results[] | select(.kind == "sysv")] | length == 0' "$f" >/dev/null
	jq -e '[.results[] | select(.kind == "memfd")] | length == 3' "$f" >/dev/null
	grep -q 'pshm bench: sysv: unavailable' "$BATS_TEST_TMPDIR/err"
	dir_holds
	[ -z "$(ls -A "$BATS_TEST_TMPDIR" | grep pshm-bench)" ]
}

@test "bench: a full shm directory fails that measurement, names the directory, leaves nothing" {
	in_tmpfs '"$PSHM" bench --quick --json -r 1 --sections transfer -k posix,pipe -s 4K,8M \
		>out 2>err; echo $? >status; ls -A "$PSHM_DIR" >left'
	[ "$(cat "$BATS_TEST_TMPDIR/status")" -eq 1 ]
	[ ! -s "$BATS_TEST_TMPDIR/left" ]
	json_shape
	grep -q "pshm bench: transfer posix one-way: no room for 8M in $TMPFS_DIR" \
		"$BATS_TEST_TMPDIR/err"
	f=$BATS_TEST_TMPDIR/out
	jq -e '[.unavailable[] | select(.kind == "posix")] | length == 1
		and all(.reason | test("free"))' "$f" >/dev/null
	[ "$(jq -c '[.results[] | select(.kind == "pipe") | .size]' "$f")" = "[4096,8388608]" ]
}

# Whether directory DIR holds anything (looked at anew at every call).
nonempty() {
	[ -n "$(ls -A "$1")" ]
}

# Wait until run BENCH_PID is inside its transfer section: its reading process exists.
wait_peer() {
	wait_until pgrep -f " --peer .* $BENCH_PID\$" ||
		fail_with "no reading process of pshm bench appeared"
}

@test "bench: default sizes the shm directory cannot hold are left out, saying so" {
	in_tmpfs '"$PSHM" bench --quick --json -r 1 --sections transfer -k posix,pipe \
		>out 2>err; echo $? >status'
	[ "$(cat "$BATS_TEST_TMPDIR/status")" -eq 0 ] || fail_with "$(cat "$BATS_TEST_TMPDIR/err")"
	grep -qx "pshm bench: transfers of 64M left out: $TMPFS_DIR has 4M free (-s 64M measures them anyway)" \
		"$BATS_TEST_TMPDIR/err" || fail_with "$(cat "$BATS_TEST_TMPDIR/err")"
	f=$BATS_TEST_TMPDIR/out
	[ "$(jq -c .options.sizes "$f")" = "[4096,65536,1048576]" ]
	[ "$(jq -c '[.results[] | select(.kind == "posix") | .size]' "$f")" = "[4096,65536,1048576]" ]
	jq -e '.unavailable == []' "$f" >/dev/null
}

@test "bench: SIGINT stops the run: exit 130, \"interrupted\", nothing left behind" {
	mkdir "$BATS_TEST_TMPDIR/files"
	# Interrupted while a file of its own exists, then while its reading process runs.
	bench_bg --json -r 1000 --sections touch -k file -d "$BATS_TEST_TMPDIR/files"
	wait_until nonempty "$BATS_TEST_TMPDIR/files" ||
		fail_with "pshm bench made no file in $BATS_TEST_TMPDIR/files"
	for phase in touch transfer; do
		if [ "$phase" = transfer ]; then
			bench_bg --json -r 1000 --sections transfer -k posix,pipe -s 4K \
				-d "$BATS_TEST_TMPDIR/files"
			wait_peer
		fi
		kill -INT "$BENCH_PID"
		bench_wait
		[ "$BENCH_STATUS" -eq 130 ] || fail_with "exit $BENCH_STATUS in $phase"
		grep -q 'interrupted' "$BATS_TEST_TMPDIR/err"
		[ ! -s "$BATS_TEST_TMPDIR/out" ]
		nothing_left "$BATS_TEST_TMPDIR/files"
	done
}

@test "bench: SIGTERM stops the run as SIGINT does" {
	bench_bg --quick --sections transfer -s 4K,1M -r 1000 -d "$BATS_TEST_TMPDIR"
	wait_peer
	kill -TERM "$BENCH_PID"
	bench_wait
	[ "$BENCH_STATUS" -eq 130 ]
	grep -q 'interrupted' "$BATS_TEST_TMPDIR/err"
	nothing_left
	[ -z "$(ls -A "$BATS_TEST_TMPDIR" | grep pshm-bench)" ]
}

@test "bench: bad options are usage errors (exit 2) and run nothing" {
	for args in "--bogus" "-r 0" "-r x" "-r 1001" "-k posix,nope" "-k ," "-s 0" "-s 4K,x" \
		"-s 2G" "--sections nope" "--json --csv" "--region 1" "extra" "bench-peer" "--peer" \
		"--peer shm /x 1 2"; do
		# shellcheck disable=SC2086
		run --separate-stderr pshm bench $args
		[ "$status" -eq 2 ] || fail_with "pshm bench $args: exit $status"
		[ -n "$stderr" ] || fail_with "pshm bench $args: no message"
		stdout_empty
	done
	dir_holds
}

@test "bench --help: the options and sections; pshm --help lists bench" {
	run --separate-stderr pshm bench --help
	[ "$status" -eq 0 ]
	[[ $output == *$'Usage:\n pshm bench '* ]]
	for word in --quick --json --csv --dir --kinds --sizes --reps --sections lifecycle touch \
		persistence transfer; do
		[[ $output == *"$word"* ]] || fail_with "help lacks $word"
	done
	[[ $output != *peer* ]]
	run pshm --help
	[[ $output == *"bench "* ]]
}

@test "pshm-bench runs alone: its own name in --help and messages, the same JSON" {
	[ -x "$PSHM_BENCH" ] || fail_with "no pshm-bench beside $PSHM"
	run --separate-stderr "$PSHM_BENCH" --help
	[ "$status" -eq 0 ]
	[[ $output == $'Usage:\n pshm-bench '* ]] || fail_with "$output"
	[[ $output != *peer* ]]
	run --separate-stderr "$PSHM_BENCH" -k nope
	[ "$status" -eq 2 ]
	[[ $stderr == "pshm-bench: unknown kind 'nope'"*"Try 'pshm-bench --help'"* ]] ||
		fail_with "$stderr"
	"$PSHM_BENCH" --quick --json -r 1 --sections lifecycle,transfer -k posix,memfd,pipe -s 4K \
		-d "$BATS_TEST_TMPDIR" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" ||
		fail_with "exit $?" "$(cat "$BATS_TEST_TMPDIR/err")"
	json_shape
	f=$BATS_TEST_TMPDIR/out
	[ "$(jq -r '[.results[] | .section + " " + .kind] | unique | join(",")' "$f")" = \
		"lifecycle memfd,lifecycle posix,transfer memfd,transfer pipe,transfer posix" ]
	dir_holds
	[ -z "$(ls -A "$BATS_TEST_TMPDIR" | grep pshm-bench)" ]
}

@test "pshm bench finds pshm-bench beside pshm first, then in PATH, and says so when neither" {
	mkdir "$BATS_TEST_TMPDIR/alone" "$BATS_TEST_TMPDIR/path"
	cp "$PSHM" "$BATS_TEST_TMPDIR/alone/pshm"
	# Neither beside it nor in PATH: exit 1, naming both places.
	run --separate-stderr env PATH="$BATS_TEST_TMPDIR/path:/usr/bin:/bin" \
		"$BATS_TEST_TMPDIR/alone/pshm" bench --help
	[ "$status" -eq 1 ] || fail_with "exit $status"
	want="pshm bench: cannot find pshm-bench: not at $BATS_TEST_TMPDIR/alone/pshm-bench"
	[[ $stderr == "$want, nor in PATH"* ]] || fail_with "$stderr"
	[ -z "$output" ]
	# In PATH: that one runs, with the arguments.
	printf '#!/bin/sh\necho "from PATH: $*"\n' >"$BATS_TEST_TMPDIR/path/pshm-bench"
	chmod +x "$BATS_TEST_TMPDIR/path/pshm-bench"
	run env PATH="$BATS_TEST_TMPDIR/path:/usr/bin:/bin" "$BATS_TEST_TMPDIR/alone/pshm" bench -r 1
	[ "$status" -eq 0 ]
	[ "$output" = "from PATH: -r 1" ] || fail_with "$output"
	# Beside it: that one, before the one in PATH.
	cp "$PSHM_BENCH" "$BATS_TEST_TMPDIR/alone/pshm-bench"
	run --separate-stderr env PATH="$BATS_TEST_TMPDIR/path:/usr/bin:/bin" \
		"$BATS_TEST_TMPDIR/alone/pshm" bench --help
	[ "$status" -eq 0 ]
	[[ $output == $'Usage:\n pshm bench '* ]] || fail_with "$output"
}

@test "bench_chan --quick --only writer: the many-writer rows and their targets, JSON and text" {
	[ -x "$BENCH_CHAN" ] || skip "bench_chan is not built (make bench-progs)"
	f=$BATS_TEST_TMPDIR/out
	"$BENCH_CHAN" --quick --json --only writer --time 10 >"$f" 2>"$BATS_TEST_TMPDIR/err" ||
		fail_with "exit $?" "$(cat "$BATS_TEST_TMPDIR/err")"
	# The ordinary channel's one writer and the many-writer channel's 1, 2 and 4, at 64 B only,
	# throughput only, as many writers as the name says.
	jq_true '[.rows[] | [.transport, .writers, .size]] == [["chan 1 writer", 1, 64],
		["chan writers x1", 1, 64], ["chan writers x2", 2, 64], ["chan writers x4", 4, 64]]' \
		<"$f"
	jq_true '.rows | all(.throughput.msgs_per_s > 0 and .throughput.messages > 0
		and (has("latency_ns") | not) and (has("unavailable") | not))' <"$f"
	# Each many-writer target measured against the one writer, with a verdict; the others, whose
	# transports --only left out, unmeasured.
	jq_true '[.targets[] | select(.ratio != null) | [.name, .limit, .at_most, .pairs,
		(.pass | type), .ratio > 0]] == [["many writers x1 / 1 writer, 64 B", 0.7, false, 3,
		"boolean", true], ["many writers x2 / 1 writer, 64 B", 0.5, false, 3, "boolean", true]]' \
		<"$f"
	dir_holds
	"$BENCH_CHAN" --quick --only writer --time 10 >"$f" 2>"$BATS_TEST_TMPDIR/err" ||
		fail_with "exit $?" "$(cat "$BATS_TEST_TMPDIR/err")"
	for row in "chan 1 writer" "chan writers x1" "chan writers x2" "chan writers x4"; do
		grep -Eq "^$row +64 B +- +- +- +[0-9]+ +[0-9.]+$" "$f" || fail_with "no row $row:" "$(cat "$f")"
	done
	for n in 1 2; do
		grep -Eq "^  many writers x$n / 1 writer, 64 B +[0-9.]+ +\(.*\) +>= 0\.[75] +(PASS|FAIL)$" \
			"$f" || fail_with "no target for $n writers:" "$(cat "$f")"
	done
	dir_holds
}

# ---- huge pages: the pool lent for the touch section -----------------------------------------

HUGE_POOL=/sys/kernel/mm/hugepages/hugepages-2048kB

# Skip unless this run would grow the 2 MiB pool: root, the pool there, none of its pages free.
need_pool_to_grow() {
	[ "$ME_UID" -eq 0 ] || skip "needs root to grow the pool of huge pages"
	[ -w "$HUGE_POOL/nr_hugepages" ] || skip "$HUGE_POOL/nr_hugepages cannot be written here"
	[ "$(awk '/^Hugepagesize:/ { print $2 }' /proc/meminfo)" = 2048 ] ||
		skip "the default huge page size is not 2 MiB"
	[ "$(cat "$HUGE_POOL/free_hugepages")" -eq 0 ] ||
		skip "the pool has free pages already: nothing to grow"
}

# The pool less what tests/hugepool.sh lends to other tests now.
pool_base() {
	sh "$REPO_ROOT/tests/hugepool.sh" base
}

pool_above() {
	[ "$(cat "$HUGE_POOL/nr_hugepages")" -gt "$1" ]
}

@test "bench touch as root: grows the 2 MiB pool for the run, restores it, prints the targets" {
	need_pool_to_grow
	before=$(pool_base)
	bench_run --quick --sections touch -k memfd,sysv -r 1 --region 4K
	[ "$BENCH_STATUS" -eq 0 ] || fail_with "exit $BENCH_STATUS" "$(cat "$BATS_TEST_TMPDIR/err")"
	[ "$(pool_base)" -eq "$before" ] || fail_with "pool $before before, $(pool_base) after"
	f=$BATS_TEST_TMPDIR/out
	grep -Eq '^huge pages: 2 MiB pool grown from [0-9]+ to [0-9]+ for the run, restored$' "$f" ||
		fail_with "no pool line:" "$(cat "$f")"
	for kind in memfd sysv; do
		grep -Eq "^  first touch huge/plain per 4 KiB, $kind +[0-9.]+  <= 0\.25  (PASS|FAIL)\$" \
			"$f" || fail_with "no $kind target:" "$(cat "$f")"
	done
	! grep -Eq '^  first_touch [a-z]+ hugepages' "$f" || fail_with "not measured:" "$(cat "$f")"
	# JSON and CSV say the same.
	bench_run --quick --json --sections touch -k memfd -r 1 --region 4K
	[ "$BENCH_STATUS" -eq 0 ]
	jq_true '.huge_pool | test("^2 MiB pool grown from [0-9]+ to [0-9]+ for the run, restored$")' \
		<"$f"
	jq_true '[.targets[] | [.kind, .limit, .at_most, (.ratio | type), (.pass | type)]]
		== [["memfd", 0.25, true, "number", "boolean"]]' <"$f"
	jq_true '[.results[] | select(.variant == "hugepages") | .size] == [2097152]' <"$f"
	bench_run --quick --csv --sections touch -k sysv -r 1 --region 4K
	[ "$BENCH_STATUS" -eq 0 ]
	grep -Eq '^# huge_pool: 2 MiB pool grown from [0-9]+ to [0-9]+ for the run, restored$' "$f"
	grep -Eq '^# target: first touch huge/plain per 4 KiB, sysv [0-9.]+ <= 0\.25 (PASS|FAIL)$' "$f"
	[ "$(pool_base)" -eq "$before" ]
	nothing_left
}

@test "bench touch as root: SIGINT while the pool is grown restores it" {
	need_pool_to_grow
	before=$(pool_base)
	raw=$(cat "$HUGE_POOL/nr_hugepages")
	bench_bg --sections touch -k memfd,sysv -r 1000 --region 4K
	wait_until pool_above "$raw" || fail_with "the pool never grew" "$(cat "$BATS_TEST_TMPDIR/err")"
	kill -INT "$BENCH_PID"
	bench_wait
	[ "$BENCH_STATUS" -eq 130 ] || fail_with "exit $BENCH_STATUS"
	grep -q interrupted "$BATS_TEST_TMPDIR/err"
	[ "$(pool_base)" -eq "$before" ] || fail_with "pool $before before, $(pool_base) after"
	nothing_left
}

@test "bench touch, not root and no free huge pages: unavailable, says the pool needs root" {
	require_nobody_exec
	[ "$(cat "$HUGE_POOL/free_hugepages" 2>/dev/null || echo 1)" -eq 0 ] ||
		skip "the 2 MiB pool has free pages (or none here)"
	before=$(cat "$HUGE_POOL/nr_hugepages")
	f=$BATS_TEST_TMPDIR/out
	as_nobody "$PSHM_BENCH" --quick --json --sections touch -k memfd -r 1 --region 4K >"$f" ||
		fail_with "exit $?"
	[ "$(cat "$HUGE_POOL/nr_hugepages")" -eq "$before" ]
	jq_true '.huge_pool == null' <"$f"
	jq_true '[.unavailable[] | select(.variant == "hugepages") | .reason
		| test("growing the pool needs root: sysctl vm.nr_hugepages=[0-9]+")] == [true]' <"$f"
	jq_true '[.targets[] | [.kind, .ratio, .pass]] == [["memfd", null, null]]' <"$f"
}
