#!/bin/sh
# Fail when a source file of the project is not named in docs/ARCHITECTURE.md, by its path or,
# in backquotes, by its file name: the architecture page must account for every file.
# Usage: check-architecture.sh [REPO]
set -eu
cd "${1:-$(dirname "$0")/..}"
doc=docs/ARCHITECTURE.md
missing=0
for f in $(git ls-files include src bench tests scripts examples 2>/dev/null ||
	find include src bench tests scripts examples -type f); do
	case $f in
	*.bats | tests/cli/completion.sh) continue ;; # named as a family: tests/cli/*.bats
	*.c | *.h | *.sh | *.bash | *.jq | *.gp | *.in) ;;
	*) continue ;;
	esac
	base=${f##*/}
	if ! grep -qF -- "$f" "$doc" && ! grep -qF -- "\`$base\`" "$doc"; then
		echo "check-architecture: $f is not named in $doc" >&2
		missing=$((missing + 1))
	fi
done
if [ "$missing" -gt 0 ]; then
	echo "check-architecture: $missing file(s) to describe in $doc" >&2
	exit 1
fi
echo "check-architecture: every source file is named in $doc"
