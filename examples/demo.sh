#!/bin/sh
# The chapter 54 flow between two unrelated processes: one creates a POSIX shared memory
# object and writes a message into it, another opens it by name and reads it.
set -eu
bin=${1:-build/examples}
name=/pshm-demo-$$
say() { printf '\n== %s\n' "$*"; }

say "writer: create $name (exclusive, mode 0600, space reserved), map it, write a message"
"$bin/writer" "$name" "hello from process $$" &
writer=$!
path="${PSHM_DIR:-/dev/shm}${name}"
i=0
while [ ! -s "$path" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
say "the object as the file system sees it: a file in a memory-based file system"
ls -l "$path"
say "reader: an unrelated process opens $name by name, maps it, reads the message"
"$bin/reader" "$name"
wait "$writer"
say "after the writer removed it"
if [ -e "$path" ]; then echo "still there: $name"; exit 1; fi
echo "$name is gone"
