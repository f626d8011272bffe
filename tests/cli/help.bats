#!/usr/bin/env bats
# Help as util-linux users expect it: the layout of every --help, pshm help, the nearest names
# offered for a mistyped command or long option, and the completion of pshm help.

load helpers

# The commands of the table, as pshm --help lists them.
table_commands() {
	"$PSHM" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z]*\) .*/\1/p'
}

# Check that the --help of pshm WORDS... (none: pshm itself) has util-linux's layout: "Usage:",
# the synopsis forms " pshm WORDS ...", a blank line, a one-line summary, a blank line (or more
# paragraphs), "Options:" with -h set apart by a blank line, and the pointer to the manual last.
check_layout() {
	local name="pshm${*:+ $*}" manual=pshm i=2 opt=-1
	local -a l
	[[ $* == bench ]] && manual=pshm-bench
	run --separate-stderr "$PSHM" "$@" --help
	[ "$status" -eq 0 ] || fail_with "$name --help: exit $status" "$stderr"
	[ -z "$stderr" ] || fail_with "$name --help wrote to stderr" "$stderr"
	mapfile -t l <<<"$output"
	[ "${l[0]}" = Usage: ] || fail_with "$name --help: first line '${l[0]}'" "$output"
	[[ ${l[1]} == " $name "* || ${l[1]} == " $name" ]] ||
		fail_with "$name --help: second line '${l[1]}'" "$output"
	while [[ ${l[i]} == " pshm"* ]]; do
		i=$((i + 1))
	done
	[ -z "${l[i]}" ] && [[ ${l[i + 1]} =~ ^[A-Z].*\.$ ]] && [ -z "${l[i + 2]}" ] ||
		fail_with "$name --help: no blank line, one-line summary, blank line" "$output"
	for ((i = 0; i < ${#l[@]}; i++)); do
		[ "${l[i]}" = Options: ] && opt=$i
		[[ ${l[i]} == "  -h, --help "* ]] && break
	done
	((opt > 0)) || fail_with "$name --help: no Options:" "$output"
	[ -z "${l[opt - 1]}" ] || fail_with "$name --help: no blank line before Options:" "$output"
	((i < ${#l[@]})) || fail_with "$name --help: no -h line" "$output"
	# The -h line is set apart from the command's own options, as util-linux sets it.
	((i == opt + 1)) || [ -z "${l[i - 1]}" ] ||
		fail_with "$name --help: no blank line before -h" "$output"
	[ "${l[-1]}" = "For more details see $manual(1)." ] && [ -z "${l[-2]}" ] ||
		fail_with "$name --help: the last lines are not the pointer to $manual(1)" "$output"
}

@test "pshm --help and -h: util-linux's layout, and help among the commands" {
	check_layout
	grep -qE '^  help +show the help' <<<"$output" || fail_with "help not listed" "$output"
	run --separate-stderr pshm -h
	[ "$status" -eq 0 ]
	[ "$output" = "$("$PSHM" --help)" ]
}

@test "every subcommand's --help and -h: util-linux's layout" {
	local c n=0
	for c in $(table_commands); do
		check_layout "$c"
		n=$((n + 1))
		run --separate-stderr pshm "$c" -h
		[ "$status" -eq 0 ] && [ "$output" = "$("$PSHM" "$c" --help)" ] ||
			fail_with "pshm $c -h differs from --help" "$output"
	done
	[ "$n" -ge 19 ] || fail_with "only $n commands in the table"
	check_layout chan create
	check_layout chan stat
	# chan's help has a form for each of its commands.
	run pshm chan --help
	[ "${lines[1]}" = " pshm chan create $(pshm chan create --help | sed -n '2s/^ pshm chan create //p')" ]
	[[ ${lines[2]} == " pshm chan stat "* ]]
}

@test "--help synopses are those of the manual's SYNOPSIS" {
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	local man c form n=0
	# One line per form, as the manual shows them on a wide page, spelled as --help spells them.
	man=$(mandoc -Tascii -O width=300 "$REPO_ROOT/man/pshm.1" | col -b |
		sed -n '/^SYNOPSIS/,/^DESCRIPTION/s/^ *\(pshm .*\)/\1/p' |
		sed -e 's/ \.\.\./.../g' -e 's/ | /|/g')
	# bench shows pshm-bench's options, which pshm-bench(1) lists.
	for c in $(table_commands | grep -vx bench) "chan create" "chan stat"; do
		# shellcheck disable=SC2086
		while IFS= read -r form; do
			grep -qxF -- "$form" <<<"$man" ||
				fail_with "pshm $c --help: '$form' is not in the manual's SYNOPSIS" "$man"
			n=$((n + 1))
		done < <("$PSHM" $c --help | sed -n 's/^ \(pshm .*\)/\1/p' | sed 's/ | /|/g')
	done
	[ "$n" -ge 20 ] || fail_with "only $n forms found"
}

@test "the manual: util-linux's sections in order, a general volume, every command in COMMANDS" {
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	local page=$REPO_ROOT/man/pshm.1 c
	run mandoc -Tascii -O width=100 "$page"
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "PSHM(1)"*" General Commands Manual "*"PSHM(1)" ]] ||
		fail_with "mandoc's header: ${lines[0]}"
	local want="NAME SYNOPSIS DESCRIPTION COMMANDS ADDRESSES SIZES OUTPUT_COLUMNS ENVIRONMENT"
	want+=" FILES EXIT_STATUS EXAMPLES SEE_ALSO STANDARDS HISTORY CAVEATS REPORTING_BUGS"
	local got
	got=$(mandoc -Tascii "$page" | col -b | sed -n 's/^\([A-Z][A-Z ]*[A-Z]\)$/\1/p' |
		tr ' ' _ | tr '\n' ' ')
	[ "$got" = "$want " ] || fail_with "sections: $got" "wanted: $want"
	# groff, as man(1) shows the page here, names the same volume, not a BSD one.
	if command -v groff >/dev/null; then
		run groff -mdoc -Tascii -P-c "$page"
		[[ $output == *"General Commands Manual"* && $output != *"BSD General"* ]] ||
			fail_with "groff's volume" "$(head -3 <<<"$output")"
	fi
	# Each command of the table is a subsection of COMMANDS, with its options there.
	local cmds
	cmds=$(sed -n '/^\.Sh COMMANDS$/,/^\.Sh /s/^\.Ss //p' "$page")
	for c in $(table_commands | grep -vx chan) "chan create" "chan stat"; do
		grep -qxF "$c" <<<"$cmds" || fail_with "no .Ss $c under COMMANDS" "$cmds"
	done
	# The manual and the tour explain shared memory in their own words: the book is only cited.
	! sed -n '/^\.Sh SEE ALSO$/,/^\.Sh /!p' "$page" | grep -qi 'chapter' ||
		fail_with "a chapter is pointed at outside SEE ALSO"
	! grep -qi 'chapter' "$REPO_ROOT/examples/demo.sh" || fail_with "the tour points at a chapter"
}

@test "pshm help: the general help on stdout, exit 0" {
	run --separate-stderr pshm help
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = "$("$PSHM" --help)" ]
}

@test "pshm help CMD is pshm CMD --help, for every command and chan's" {
	local c
	for c in $(table_commands); do
		run --separate-stderr pshm help "$c"
		[ "$status" -eq 0 ] && [ -z "$stderr" ] || fail_with "pshm help $c: exit $status" "$stderr"
		[ "$output" = "$("$PSHM" "$c" --help)" ] ||
			fail_with "pshm help $c is not pshm $c --help" "$output"
	done
	for c in create stat; do
		run --separate-stderr pshm help chan "$c"
		[ "$status" -eq 0 ] && [ "$output" = "$("$PSHM" chan "$c" --help)" ] ||
			fail_with "pshm help chan $c is not pshm chan $c --help" "$output"
	done
	run --separate-stderr pshm help help
	[ "$status" -eq 0 ]
	[[ ${lines[1]} == " pshm help [COMMAND]" ]]
}

@test "pshm help nosuch: exit 2, the word named, nothing on stdout" {
	run --separate-stderr pshm help nosuch
	[ "$status" -eq 2 ]
	stdout_empty
	stderr_has "^pshm: unknown command 'nosuch'$"
	stderr_has "^Try 'pshm --help' for more information.$"
	[[ $stderr != *"Did you mean"* ]] || fail_with "something offered" "$stderr"
	# With the nearest names when there are some.
	run --separate-stderr pshm help lss
	[ "$status" -eq 2 ]
	[ "$stderr" = "pshm: unknown command 'lss'"$'\n'"Did you mean 'ls'?"$'\n'"Try 'pshm --help' for more information." ] ||
		fail_with "pshm help lss:" "$stderr"
	run --separate-stderr pshm help chan stt
	[ "$status" -eq 2 ]
	stderr_has "^pshm chan: unknown command 'stt'$"
	stderr_has "^Did you mean 'stat'\?$"
	# Usage errors of help itself.
	for args in "ls extra" "ls --json" "--bogus" "chan create extra"; do
		# shellcheck disable=SC2086
		run --separate-stderr pshm help $args
		[ "$status" -eq 2 ] || fail_with "pshm help $args: exit $status"
		stdout_empty
		stderr_has "^Try 'pshm help --help' for more information.$"
	done
}

@test "mistyped commands: the nearest names, exit 2, nothing done" {
	check() {
		local word=$1 want=$2
		run --separate-stderr pshm "$word" /x
		[ "$status" -eq 2 ] || fail_with "pshm $word: exit $status"
		stdout_empty
		[ "${stderr_lines[0]}" = "pshm: unknown command '$word'" ] &&
			[ "${stderr_lines[1]}" = "Did you mean $want?" ] &&
			[ "${stderr_lines[2]}" = "Try 'pshm --help' for more information." ] ||
			fail_with "pshm $word:" "$stderr"
	}
	check lss "'ls'"
	check crate "'create'"
	# chmod is one edit away, chan two: only the nearest.
	check chmd "'chmod'"
	check sl "'ls'"
	check LS "'ls'"
	check stt "'stat'"
	check hlep "'help'"
	check r "'read', 'resize', 'rm' or 'recv'"
	dir_holds
}

@test "mistyped long options: the nearest of the command's, exit 2, nothing done" {
	pshm create -s 4 /keep
	check() {
		local want=$1
		shift
		run --separate-stderr pshm "$@"
		[ "$status" -eq 2 ] || fail_with "pshm $*: exit $status"
		stdout_empty
		[ "${stderr_lines[1]}" = "Did you mean '$want'?" ] &&
			[[ ${stderr_lines[2]} == "Try 'pshm "*" --help' for more information." ]] ||
			fail_with "pshm $*:" "$stderr"
	}
	check --json ls --jsn
	[ "${stderr_lines[0]}" = "pshm ls: unrecognized option '--jsn'" ]
	check --json ls --jsn=1
	check --force rm --forse /keep
	check --dry-run gc --dry-rn
	check --capacity chan create --capcity 4K /c
	check --json chan stat --jsno /c
	check --sparse resize --sprase 8 /keep
	[ "${stderr_lines[0]}" = "pshm resize: invalid option '--sprase'" ]
	check --existing-ok create --exisitng-ok /keep
	check --help help --hlp
	dir_holds keep
	[ "$(size_of /keep)" -eq 4 ]
	# An abbreviation of several: getopt_long lists them, and nothing more is offered.
	run --separate-stderr pshm ls --o
	[ "$status" -eq 2 ]
	stderr_has "ambiguous"
	[[ $stderr != *"Did you mean"* ]] || fail_with "offered after getopt's list" "$stderr"
}

@test "a word far from every name: nothing offered, still exit 2" {
	for args in frobnicate xy zzzzzzzzzzzz "help frobnicate" "chan frobnicate" "ls --bogus" \
		"rm --frobnicate" "ls -Z" "resize --bogus 8 /x"; do
		# shellcheck disable=SC2086
		run --separate-stderr pshm $args
		[ "$status" -eq 2 ] || fail_with "pshm $args: exit $status"
		stdout_empty
		[[ $stderr != *"Did you mean"* ]] || fail_with "pshm $args offered something" "$stderr"
		stderr_has "^Try 'pshm.* --help' for more information.$"
	done
	run --separate-stderr pshm help frobnicate
	stderr_has "^pshm: unknown command 'frobnicate'$"
	run --separate-stderr pshm chan frobnicate
	stderr_has "^pshm chan: unknown command 'frobnicate'$"
	dir_holds
}

# Complete LINE as bash would with the cursor at its end; prints COMPREPLY, one per line.
complete_line() {
	local line=$1
	# shellcheck disable=SC1091
	source "$REPO_ROOT/completions/pshm"
	compopt() { :; }
	COMP_LINE=$line
	COMP_POINT=${#line}
	read -ra COMP_WORDS <<<"$line"
	[[ $line == *' ' ]] && COMP_WORDS+=('')
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_pshm
	printf '%s\n' "${COMPREPLY[@]}"
}

@test "completion: pshm help completes the command names" {
	local want
	want=$(table_commands | sort)
	[ "$(complete_line "pshm help " | sort)" = "$want" ] ||
		fail_with "pshm help <TAB>:" "$(complete_line "pshm help ")"
	[ "$(complete_line "pshm " | sort)" = "$want" ]
	[ "$(complete_line "pshm help l")" = ls ]
	[ "$(complete_line "pshm help he")" = help ]
	[ "$(complete_line "pshm help chan " | sort | tr '\n' ' ')" = "create stat " ]
	[ "$(complete_line "pshm help -" | tr '\n' ' ')" = "-h --help " ]
	# One command only: nothing after it.
	[ -z "$(complete_line "pshm help ls ")" ]
}
