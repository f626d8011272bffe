#!/bin/bash
# Tests of the bash completion in completions/pshm: sources it in this (non-interactive) shell,
# sets COMP_WORDS, COMP_CWORD, COMP_LINE and COMP_POINT as bash would for a command line, calls
# the completion function and checks COMPREPLY.
#
# The cases run once with the script alone, and once more with the bash-completion package's
# functions loaded when that is installed (or named by BASH_COMPLETION_SCRIPT). With the pshm
# binary (build/pshm, or the path in $PSHM or $1), objects are made with it, System V keys are
# checked, and the completion's options and columns are checked against the --help texts.
#
# Exit status: 0 when every check passed, 1 otherwise.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
script=$root/completions/pshm
pshm=${1:-${PSHM:-$root/build/pshm}}
[[ -x $pshm ]] || pshm=''

passed=0
failed=0
round='' # what not_ok puts before a failed case
tmp=$(mktemp -d)
sysv_key=''
cleanup()
{
	[[ $sysv_key && $pshm ]] && "$pshm" rm -f "sysv:$sysv_key" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

export PSHM_DIR=$tmp/shm
mkdir -p "$PSHM_DIR" "$tmp/files/sub"
: >"$tmp/files/data.bin"
: >"$tmp/files/other.bin"

# Objects: one POSIX object, one semaphore, and things that are not objects (a directory and a
# symbolic link) that must not be offered.
obj=comp-test-$$
if [[ $pshm ]]; then
	"$pshm" create -s 4K "/$obj" || exit 1
else
	: >"$PSHM_DIR/$obj"
fi
: >"$PSHM_DIR/sem.comp-sem"
mkdir "$PSHM_DIR/comp-dir"
ln -s "$obj" "$PSHM_DIR/comp-link"

if [[ ! -r $script ]] || ! bash -n "$script"; then
	echo "completion: $script is missing or does not parse" >&2
	echo "completion: 0 passed, 1 failed"
	exit 1
fi

# Record what the completion asks of compopt, which works only inside real completion.
compopt()
{
	_test_compopt+=" $*"
}

# Split LINE (up to POINT, the end by default) into COMP_WORDS as bash does with the default
# COMP_WORDBREAKS: at blanks, and with runs of ':' and '=' as words of their own. Then call the
# completion function.
complete_line()
{
	local line=$1 point=${2:-${#1}} i c word='' cword
	local -a words=() ends=()
	for ((i = 0; i < ${#line}; i++)); do
		c=${line:i:1}
		if [[ $c == [[:blank:]] ]]; then
			[[ $word ]] && words+=("$word") && ends+=("$i")
			word=''
		elif [[ $c == [:=] ]]; then
			[[ $word && $word != [:=]* ]] && words+=("$word") && ends+=("$i") && word=''
			word+=$c
		else
			[[ $word == [:=]* ]] && words+=("$word") && ends+=("$i") && word=''
			word+=$c
		fi
	done
	if [[ $word || $line == *[[:blank:]] || -z $line ]]; then
		words+=("$word")
		ends+=("${#line}")
	fi
	# The word holding the cursor: the first that ends at or after it.
	for ((cword = 0; cword < ${#words[@]} - 1; cword++)); do
		((ends[cword] >= point)) && break
	done
	COMP_WORDBREAKS=$' \t\n"\'><=;|&(:'
	COMP_WORDS=("${words[@]}")
	COMP_CWORD=$cword
	COMP_LINE=$line
	COMP_POINT=$point
	COMPREPLY=()
	_test_compopt=''
	_pshm
}

ok()
{
	passed=$((passed + 1))
}

not_ok()
{
	failed=$((failed + 1))
	printf 'not ok - %s%s: %s; got [%s]\n' "$round" "$1" "$2" "${COMPREPLY[*]}"
}

has()
{
	local w
	for w in "${COMPREPLY[@]}"; do
		[[ $w == "$1" ]] && return 0
	done
	return 1
}

# expect_all LINE WORD...: COMPREPLY holds every WORD.
expect_all()
{
	local line=$1 w
	shift
	complete_line "$line"
	for w; do
		has "$w" || {
			not_ok "'$line'" "no '$w'"
			return
		}
	done
	ok
}

# expect_exact LINE WORD...: COMPREPLY holds the WORDs and nothing else, in any order.
expect_exact()
{
	local line=$1 w
	shift
	complete_line "$line"
	if ((${#COMPREPLY[@]} != $#)); then
		not_ok "'$line'" "expected exactly [$*]"
		return
	fi
	for w; do
		has "$w" || {
			not_ok "'$line'" "expected exactly [$*]"
			return
		}
	done
	ok
}

# expect_exact_at LINE POINT WORD...: the same with the cursor at POINT, inside a word.
expect_exact_at()
{
	local line=$1 point=$2 w
	shift 2
	complete_line "$line" "$point"
	if ((${#COMPREPLY[@]} != $#)); then
		not_ok "'${line:0:point}|${line:point}'" "expected exactly [$*]"
		return
	fi
	for w; do
		has "$w" || {
			not_ok "'${line:0:point}|${line:point}'" "expected exactly [$*]"
			return
		}
	done
	ok
}

# expect_none LINE WORD...: COMPREPLY holds none of the WORDs (nothing at all without WORDs).
expect_none()
{
	local line=$1 w
	shift
	complete_line "$line"
	if (($# == 0)); then
		if ((${#COMPREPLY[@]} == 0)); then
			ok
		else
			not_ok "'$line'" "expected nothing"
		fi
		return
	fi
	for w; do
		if has "$w"; then
			not_ok "'$line'" "'$w' offered"
			return
		fi
	done
	ok
}

# expect_nospace LINE: the completion asked for no space after its reply.
expect_nospace()
{
	complete_line "$1"
	if [[ $_test_compopt == *nospace* ]]; then
		ok
	else
		not_ok "'$1'" "no 'compopt -o nospace'"
	fi
}

commands=(create write read dump ls stat who df chmod chown resize rm gc bench chan send recv hold
	help)
columns=(ADDRESS KIND SIZE ALLOC SPARSE PAGESIZE PERMS MODE OWNER GROUP UID GID MTIME CTIME NPROCS
	PIDS KEY ID NATTCH CPID LPID SEALS STATUS LEASES)
kinds=(posix chan sysv sem memfd all)
df_columns=(OWNER UID POSIX SYSV MEMFD NONAME TOTAL OBJECTS)

run_cases()
{
	# Subcommands and global options.
	expect_exact "pshm cr" create
	expect_exact "pshm " "${commands[@]}"
	expect_exact "pshm -" -h --help -V --version
	expect_exact "pshm r" read resize rm recv
	expect_exact_at "pshm crXYZ" 7 create
	expect_exact_at "pshm rm /comp-tXYZ" 14 "/$obj"

	# Options.
	expect_exact "pshm create --sp" --sparse
	expect_all "pshm create -" -s --size -m --mode -e --existing-ok --sparse --populate \
		--huge -h --help
	expect_exact "pshm create --hu" --huge
	expect_exact "pshm hold --create --hu" --huge
	if [[ -d /sys/kernel/mm/hugepages/hugepages-2048kB ]]; then
		expect_all "pshm create --huge=" 2M
		expect_all "pshm chan create --huge=" 2M
	fi
	expect_all "pshm ls --" --json --output --raw --bytes --noheadings --kinds --all --help
	expect_exact "pshm rm --f" --force
	expect_exact "pshm rm --v" --verbose
	expect_all "pshm rm -" -f --force -v --verbose -h --help
	expect_exact "pshm who -" -J --json -o --output -r --raw -n --noheadings --time-format \
		--newline -h --help
	expect_exact "pshm ls --time-format " short full iso epoch
	expect_exact "pshm stat --time-format=i" iso
	expect_exact "pshm who -o +PID,ST" +PID,START
	expect_all "pshm resize -" --sparse
	expect_none "pshm rm -- -" -f --force

	# Objects in the shm directory: the object, not the semaphore, directory or link.
	expect_all "pshm rm /" "/$obj"
	expect_none "pshm rm /" "/sem.comp-sem" "/comp-dir" "/comp-link"
	expect_exact "pshm rm /comp-t" "/$obj"
	expect_exact "pshm stat -J /comp-t" "/$obj"
	expect_exact "pshm rm -f /comp-t" "/$obj"
	expect_all "pshm rm " "/$obj" posix:/ sysv: file: memfd: sem:/
	expect_exact "pshm read -o 4K /comp-t" "/$obj"
	expect_none "pshm read /$obj /"
	expect_none "pshm write /$obj "
	expect_none "pshm create -s "
	expect_exact "pshm create " posix:/ sysv: file:
	expect_exact "pshm ls /comp-t" "/$obj"
	expect_exact "pshm ls -k posix /comp-t" "/$obj"
	expect_none "pshm chmod "
	expect_exact "pshm chmod 600 /comp-t" "/$obj"
	expect_exact "pshm resize -4K /comp-t" "/$obj"
	expect_exact "pshm resize --sparse +1M /comp-t" "/$obj"

	# Addresses with a colon: bash completes only what follows it.
	expect_exact "pshm stat posix:/comp-t" "/$obj"
	expect_exact "pshm rm sem:" /comp-sem
	expect_exact "pshm rm sem:/comp" /comp-sem
	expect_exact "pshm rm sy" sysv:
	expect_nospace "pshm rm sy"
	expect_exact "pshm rm file:$tmp/files/da" "$tmp/files/data.bin"
	expect_exact "pshm rm file:$tmp/files/s" "$tmp/files/sub/"
	expect_nospace "pshm rm file:$tmp/files/s"
	expect_exact "pshm create file:$tmp/files/o" "$tmp/files/other.bin"

	# ls: column and kind lists.
	expect_exact "pshm ls -o " "${columns[@]}"
	expect_exact "pshm ls --output " "${columns[@]}"
	expect_exact "pshm ls -o ADDRESS,SI" ADDRESS,SIZE
	expect_none "pshm ls -o ADDRESS,A" ADDRESS,ADDRESS
	expect_exact "pshm ls -o +KE" +KEY
	expect_exact "pshm ls -o nat" NATTCH
	expect_exact "pshm ls --output=NA" NATTCH
	expect_nospace "pshm ls -o "
	expect_exact "pshm ls -k " "${kinds[@]}"
	expect_exact "pshm ls -k posix,m" posix,memfd
	expect_exact "pshm ls --kinds=s" sysv sem
	expect_exact "pshm ls -o ADDRESS -k " "${kinds[@]}"
	expect_exact "pshm ls -Jk " "${kinds[@]}"

	# df: its owners' columns, and no operands.
	expect_exact "pshm d" dump df
	expect_exact "pshm df -o " "${df_columns[@]}"
	expect_exact "pshm df -o POSIX,s" POSIX,SYSV
	expect_exact "pshm df --output=+OB" +OBJECTS
	expect_exact "pshm df -bo " "${df_columns[@]}"
	expect_none "pshm df /"

	# hold: objects before "--" (new ones with --create), then a command and its arguments.
	expect_exact "pshm hold --l" --lease
	expect_exact "pshm hold -s 4K --m" --map --mode
	expect_exact "pshm hold --lease /comp-t" "/$obj"
	expect_exact "pshm hold --create -s 4K " posix:/ sysv: file:
	expect_exact "pshm hold --map /$obj -- pshm-nonexistent-command-"
	expect_all "pshm hold /$obj -- printf" printf
	expect_none "pshm hold /$obj -- printf" "/$obj"
	expect_exact "pshm hold /$obj -- cat $tmp/files/da" "$tmp/files/data.bin"
	expect_exact "pshm ls --orp" --orphans

	# gc: its kinds, and file: operands only.
	expect_exact "pshm gc --un" --unleased
	expect_exact "pshm gc -k posix,s" posix,sysv
	expect_exact "pshm gc --kinds=f" file
	expect_none "pshm gc --older-than "
	expect_exact "pshm gc " file:
	expect_exact "pshm gc -n file:$tmp/files/da" "$tmp/files/data.bin"

	# pshm bench, and pshm-bench with the same options from its first word.
	expect_exact "pshm bench --sec" --sections
	expect_exact "pshm bench -k posix,s" posix,sysv
	expect_exact "pshm-bench --sec" --sections
	expect_exact "pshm-bench --sections " lifecycle touch persistence transfer
	expect_exact "pshm-bench -r 3 -k posix,s" posix,sysv
	expect_none "pshm-bench "

	# Channels: pshm chan COMMAND, send and recv.
	expect_exact "pshm chan " create stat
	expect_exact "pshm chan c" create
	expect_exact "pshm chan -" -h --help
	expect_exact "pshm chan create -" --capacity --broadcast --lossless --many-writers \
		-m --mode --huge -h --help
	expect_exact "pshm chan stat -" -J --json -h --help
	expect_exact "pshm chan stat /comp-t" "/$obj"
	expect_exact "pshm chan create " posix:/ sysv: file:
	expect_none "pshm chan create --capacity "
	expect_none "pshm chan stat /$obj "
	expect_exact "pshm recv --" --count --timeout --records --from-oldest --follow --help
	expect_none "pshm recv -n "
	expect_exact "pshm recv -n 3 /comp-t" "/$obj"
	expect_exact "pshm send /comp-t" "/$obj"
	expect_none "pshm send /$obj "

	# System V segments, by key and by identifier.
	if [[ $sysv_key ]]; then
		expect_all "pshm rm sysv:" "$sysv_key" "id=$sysv_id"
		expect_all "pshm stat sysv:${sysv_key:0:8}" "$sysv_key"
		expect_all "pshm stat sysv:id=$sysv_id" "$sysv_id"
	fi
}

# The options a subcommand's --help shows, one per line (pshm-bench's with help_prog set to it),
# from the lines that start with an option, not the explanations' continuation lines.
help_options()
{
	local line opt
	"${help_prog:-$pshm}" "$@" --help | while IFS= read -r line; do
		[[ $line =~ ^\ {1,6}(-[^ ].*) ]] || continue
		line=${BASH_REMATCH[1]%%  *}
		for opt in ${line//,/ }; do
			# An optional value, as in --huge[=SIZE], is not part of the name.
			[[ $opt == -* ]] && printf '%s\n' "${opt%%\[=*}"
		done
	done
}

# The completion must offer what the command takes: every subcommand, every option of every
# subcommand, every column of ls.
check_against_help()
{
	local cmd
	local -a want
	mapfile -t want < <("$pshm" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z]*\) .*/\1/p')
	if ((${#want[@]})); then
		round='pshm --help: ' expect_exact "pshm " "${want[@]}"
	else
		not_ok "pshm --help" "no commands found"
	fi
	for cmd in "${commands[@]}"; do
		mapfile -t want < <(help_options "$cmd")
		if ((${#want[@]})); then
			round="pshm $cmd --help: " expect_exact "pshm $cmd -" "${want[@]}"
		else
			not_ok "pshm $cmd --help" "no options found"
		fi
	done
	for cmd in create stat; do
		mapfile -t want < <(help_options chan "$cmd")
		if ((${#want[@]})); then
			round="pshm chan $cmd --help: " expect_exact "pshm chan $cmd -" "${want[@]}"
		else
			not_ok "pshm chan $cmd --help" "no options found"
		fi
	done
	mapfile -t want < <(help_prog=${pshm%/*}/pshm-bench help_options)
	if ((${#want[@]})); then
		round='pshm-bench --help: ' expect_exact "pshm-bench -" "${want[@]}"
	else
		not_ok "pshm-bench --help" "no options found"
	fi
	mapfile -t want < <("$pshm" ls --help | sed -n '/^Columns:/,/^$/s/^  \([A-Z]*\) .*/\1/p')
	if ((${#want[@]})); then
		round='pshm ls --help: ' expect_exact "pshm ls -o " "${want[@]}"
	else
		not_ok "pshm ls --help" "no columns found"
	fi
	mapfile -t want < <("$pshm" who --help | sed -n '/^Columns:/,/^$/s/^  \([A-Z]*\) .*/\1/p')
	if ((${#want[@]})); then
		round='pshm who --help: ' expect_exact "pshm who -o " "${want[@]}"
	else
		not_ok "pshm who --help" "no columns found"
	fi
	mapfile -t want < <("$pshm" stat --help | sed -n '/^Names/,/^$/s/^  \([A-Z]*\) .*/\1/p')
	if ((${#want[@]})); then
		round='pshm stat --help: ' expect_exact "pshm stat -o " "${want[@]}"
	else
		not_ok "pshm stat --help" "no names found"
	fi
	mapfile -t want < <("$pshm" df --help | sed -n '/^Columns/,/^$/s/^  \([A-Z]*\) .*/\1/p')
	if ((${#want[@]})); then
		round='pshm df --help: ' expect_exact "pshm df -o " "${want[@]}"
	else
		not_ok "pshm df --help" "no columns found"
	fi
}

if [[ $pshm ]]; then
	sysv_key=$(printf '0x%08x' $(((RANDOM << 15 | RANDOM) | 0x40000000)))
	if "$pshm" create -s 4K "sysv:$sysv_key" 2>/dev/null; then
		sysv_id=$("$pshm" stat -J "sysv:$sysv_key" | sed -n 's/^ *"id": \([0-9]*\).*/\1/p')
		[[ $sysv_id ]] || sysv_key=''
	else
		sysv_key=''
	fi
fi

unset -f _get_comp_words_by_ref __ltrim_colon_completions _init_completion 2>/dev/null
# shellcheck disable=SC1090,SC1091
source "$script"
round='' run_cases
[[ $pshm ]] && check_against_help

bc=${BASH_COMPLETION_SCRIPT:-/usr/share/bash-completion/bash_completion}
if [[ -r $bc ]]; then
	# shellcheck disable=SC1090
	source "$bc" >/dev/null 2>&1
	compopt()
	{
		_test_compopt+=" $*"
	}
	if declare -F _get_comp_words_by_ref >/dev/null; then
		round='with bash-completion: ' run_cases
	fi
else
	echo "completion: bash-completion is not installed; its round is skipped"
fi
[[ $pshm ]] || echo "completion: no pshm binary; System V and --help checks are skipped"
[[ $sysv_key || ! $pshm ]] || echo "completion: no System V segment could be made; skipped"

echo "completion: $passed passed, $failed failed"
((failed == 0))
