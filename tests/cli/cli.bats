#!/usr/bin/env bats
# The command as a whole: global help and version, unknown commands and options, and every
# subcommand's --help.

load helpers

CMDS="create write read dump ls stat who chmod chown resize rm"

@test "pshm --help prints the usage on stdout, lists every subcommand, exits 0" {
	run --separate-stderr pshm --help
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ ${lines[0]} == Usage: && ${lines[1]} == " pshm "* ]]
	for c in $CMDS; do
		grep -qE "^  $c +[a-z]" <<<"$output" || fail_with "--help does not list $c" "$output"
	done
	# The addresses and size syntax of the issue are documented.
	for a in /NAME posix:/NAME sysv:KEY sysv:id=N file:PATH memfd:PID:FD sem:/NAME; do
		grep -qF -- "$a" <<<"$output" || fail_with "--help does not mention $a"
	done
	grep -q "Exit status: 0 success, 1 failure, 2 usage error" <<<"$output"
}

@test "pshm -h is --help" {
	run --separate-stderr pshm -h
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == Usage: && ${lines[1]} == " pshm "* ]]
	[ "$output" = "$("$PSHM" --help)" ]
}

@test "--help names the shm directory in use" {
	run pshm --help
	[ "$status" -eq 0 ]
	grep -qF "(in $PSHM_DIR)" <<<"$output"
}

@test "pshm -V and --version print the version of pshm.h" {
	want=$(sed -n 's/^#define PSHM_VERSION_STRING "\(.*\)"/\1/p' "$REPO_ROOT/include/pshm.h")
	[ -n "$want" ]
	run --separate-stderr pshm -V
	[ "$status" -eq 0 ]
	[ "$output" = "pshm $want" ]
	[ -z "$stderr" ]
	run --separate-stderr pshm --version
	[ "$status" -eq 0 ]
	[ "$output" = "pshm $want" ]
}

@test "no arguments: usage on stderr, nothing on stdout, exit 2" {
	run --separate-stderr pshm
	[ "$status" -eq 2 ]
	stdout_empty
	stderr_has '^Usage:$'
	stderr_has '^ pshm COMMAND '
}

@test "an unknown command: exit 2 with a message naming it" {
	run --separate-stderr pshm frobnicate /x
	[ "$status" -eq 2 ]
	stdout_empty
	stderr_has "^pshm: unknown command 'frobnicate'"
	stderr_has "pshm --help"
	dir_holds
}

@test "an unknown global option: exit 2 with a message naming it" {
	run --separate-stderr pshm --frobnicate
	[ "$status" -eq 2 ]
	stdout_empty
	stderr_has "^pshm: unknown option '--frobnicate'"
}

@test "every subcommand's --help and -h: usage on stdout, exit 0" {
	for c in $CMDS; do
		for h in --help -h; do
			run --separate-stderr pshm "$c" "$h"
			[ "$status" -eq 0 ] || fail_with "pshm $c $h exited $status"
			[ -z "$stderr" ] || fail_with "pshm $c $h wrote to stderr: $stderr"
			[[ ${lines[0]} == Usage: && ${lines[1]} == " pshm $c "* ]] ||
				fail_with "pshm $c $h: first lines are '${lines[0]}', '${lines[1]}'"
			grep -q -- "-h, --help" <<<"$output" || fail_with "pshm $c $h: no -h line"
		done
	done
}

@test "--help after operands still shows the help and touches nothing" {
	pshm create -s 4 /keep
	for args in "create /new --help" "rm /keep --help" "resize 100 /keep --help" \
		"chmod 777 /keep --help" "write /keep data --help"; do
		run --separate-stderr pshm $args
		[ "$status" -eq 0 ] || fail_with "pshm $args exited $status"
		[[ ${lines[0]} == Usage: && ${lines[1]} == " pshm "* ]]
	done
	dir_holds keep
	[ "$(size_of /keep)" -eq 4 ]
	[ "$(stat -c %a "$PSHM_DIR/keep")" = 600 ]
	[ "$(pshm read /keep | od -An -tx1 | tr -d ' ')" = 00000000 ]
}

@test "each subcommand's --help documents its options" {
	check() {
		local c=$1
		shift
		local text
		text=$("$PSHM" "$c" --help)
		for o in "$@"; do
			grep -qF -- "$o" <<<"$text" || fail_with "pshm $c --help lacks $o" "$text"
		done
	}
	check create -s --size -m --mode --existing-ok --sparse --populate ADDR...
	check write -o --offset -k --keep-size -i --in-place "ADDR [DATA]"
	check read -o --offset -n --length ADDR
	check dump -o --offset -n --length ADDR
	check ls -J --json -o --output -r --raw -b --bytes -n --noheadings -k --kinds -a --all \
		"[ADDR|PATTERN...]"
	check stat -J --json "ADDR..."
	check who -J --json "ADDR..."
	check chmod "MODE ADDR..."
	check chown "OWNER[:GROUP] ADDR..."
	check resize "SIZE ADDR..." +SIZE -SIZE
	check rm -f --force -v --verbose "ADDR|PATTERN..."
}

@test "ls --help lists every column ls accepts" {
	run pshm ls --help
	[ "$status" -eq 0 ]
	cols=$(sed -n '/^Columns:/,/^$/p' <<<"$output" | awk 'NR > 1 && NF {print $1}')
	[ "$(wc -l <<<"$cols")" -ge 10 ]
	for col in $cols; do
		pshm ls -n -o "$col" >/dev/null || fail_with "ls -o $col is refused"
	done
}

@test "unknown options: a message naming the option, exit 2, nothing done" {
	pshm create -s 8 /o
	pshm write -k /o 12345678
	before=$(stat -c '%s %a %u %g %Y' "$PSHM_DIR/o")
	for c in $CMDS; do
		for opt in --bogus -Z; do
			run --separate-stderr pshm "$c" "$opt" /o
			[ "$status" -eq 2 ] || fail_with "pshm $c $opt exited $status"
			stdout_empty
			grep -qE -- "^pshm $c: .*option.*'-?${opt#-}'" <<<"$stderr" ||
				fail_with "pshm $c $opt: no line 'pshm $c: ... $opt':" "$stderr"
			stderr_has "Try 'pshm $c --help'"
		done
	done
	# With operands that would otherwise work.
	run pshm create --bogus -s 4 /new
	[ "$status" -eq 2 ]
	run pshm write --bogus /o XXXX
	[ "$status" -eq 2 ]
	run pshm resize --bogus 100 /o
	[ "$status" -eq 2 ]
	run pshm chmod --bogus 777 /o
	[ "$status" -eq 2 ]
	run pshm chown --bogus 65534 /o
	[ "$status" -eq 2 ]
	run pshm rm --bogus /o
	[ "$status" -eq 2 ]
	dir_holds o
	[ "$(stat -c '%s %a %u %g %Y' "$PSHM_DIR/o")" = "$before" ]
	[ "$(pshm read /o)" = 12345678 ]
}

@test "an option missing its argument: exit 2, the option named" {
	for args in "create -s" "write -o" "read -n" "dump -o" "ls -o" "ls -k"; do
		run --separate-stderr pshm $args
		[ "$status" -eq 2 ] || fail_with "pshm $args exited $status"
		c=${args%% *}
		o=${args##*-}
		grep -qx "pshm $c: option requires an argument -- '$o'" <<<"$stderr" ||
			fail_with "pshm $args:" "$stderr"
	done
	dir_holds
}

@test "a subcommand without its operands: exit 2 with a usage message" {
	for args in create write read dump stat who chmod "chmod 600" chown "chown 0" resize \
		"resize 10" rm; do
		run --separate-stderr pshm $args
		[ "$status" -eq 2 ] || fail_with "pshm $args exited $status"
		stdout_empty
		stderr_has "^pshm ${args%% *}: "
		stderr_has "Try 'pshm ${args%% *} --help'"
	done
}

@test "surplus operands: write, read and dump take one object" {
	pshm create /a
	run --separate-stderr pshm write /a data extra
	[ "$status" -eq 2 ]
	stderr_has "^pshm write: "
	run --separate-stderr pshm read /a /a
	[ "$status" -eq 2 ]
	run --separate-stderr pshm dump /a /a
	[ "$status" -eq 2 ]
	[ "$(size_of /a)" -eq 0 ]
}

@test "the tests run in namespaces of their own when root: their IPC and their /dev/shm" {
	case ${PSHM_TEST_NS:-} in
	isolated) ;;
	shared*)
		[ "$ME_UID" -ne 0 ] || [[ "$PSHM_TEST_NS" == *"not allowed"* ]] ||
			[[ "$PSHM_TEST_NS" == *missing* ]] || fail_with "root, yet $PSHM_TEST_NS"
		skip "${PSHM_TEST_NS#shared: }"
		;;
	*) skip "not started by tests/cli/run.sh" ;;
	esac
	# Not the IPC namespace of the machine's first process, nor its /dev/shm.
	[ "$(readlink /proc/self/ns/ipc)" != "$(readlink /proc/1/ns/ipc)" ]
	[ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ]
	[ "$(awk '$5 == "/dev/shm" { print $3, $9, $10 }' /proc/self/mountinfo | tail -n 1)" != \
		"$(awk '$5 == "/dev/shm" { print $3, $9, $10 }' /proc/1/mountinfo | tail -n 1)" ]
	grep -q ' /dev/shm .* pshm-test ' /proc/self/mountinfo
}
