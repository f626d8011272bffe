#!/usr/bin/env bats
# The tour that `make demo` runs, start to end, with the example programs built beside pshm.

load helpers

@test "demo: the tour runs to the end and leaves nothing behind" {
	local build
	build=$(dirname "$PSHM")
	[ -x "$build/examples/ticker" ] || skip "the example programs are not built in $build"
	run --separate-stderr sh "$REPO_ROOT/examples/demo.sh" "$build"
	[ "$status" -eq 0 ] || fail_with "demo exited $status; its stderr:" "$stderr"
	[[ "$output" == *"== 8. Two processes on a channel"* ]]
	[[ "$output" == *"reader: message: \"a message between processes\""* ]]
	[[ "$output" == *$'first\nsecond\nthird'* ]]
	[[ "$output" == *"reader: 20000 of 20000 messages, all in order"* ]]
	# It ends saying what was shown and what to try next.
	[[ "$output" == *$'== Done\nShown: '*$'\nNext: pshm --help'* ]]
	[ -z "$(ls -A "$PSHM_DIR")" ]
}

@test "ticker: bad usage is exit 2; a channel that exists already is exit 1" {
	local build
	build=$(dirname "$PSHM")
	[ -x "$build/examples/ticker" ] || skip "the example programs are not built in $build"
	run --separate-stderr "$build/examples/ticker"
	[ "$status" -eq 2 ]
	[[ "$stderr" == "usage: ticker CHANNEL [COUNT]" ]]
	run --separate-stderr "$build/examples/ticker" /t 0
	[ "$status" -eq 2 ]
	[[ "$stderr" == "ticker: bad count: 0" ]]
	pshm create /t
	run --separate-stderr "$build/examples/ticker" /t 10
	[ "$status" -eq 1 ]
	[[ "$stderr" == "ticker: create /t: File exists" ]]
	run --separate-stderr "$build/examples/ticker" /u 500
	[ "$status" -eq 0 ]
	[[ "${lines[1]}" == "reader: 500 of 500 messages, all in order; one way: median "* ]]
	[ ! -e "$PSHM_DIR/u" ]
}
