# Pieces of docs/benchmarks.md, and the plots' data, from the output of `pshm bench --json`.
#
# bench/report.sh runs this once per piece:
#   jq -r --arg part PART --arg plots yes|no --slurpfile ov OVERHEAD.json --slurpfile cli CLI.json \
#      -f bench/report.jq BENCH.json
# OVERHEAD.json is {"calibrate": RUN, "reserved": RUN, "sparse": RUN}, each RUN the output of
# `bench_overhead --json`; CLI.json is what the part "cli-parse" makes of bench/cli.sh's text
# (run with -R -s on that text). Nothing here prints a number that the input does not hold or
# that is not computed from it.

# ---- numbers and names ---------------------------------------------------------------------

# . rounded to D decimals, as text with exactly D decimals
def fixed($d):
  if $d <= 0 then (round | tostring)
  else (. * pow(10; $d) | round) as $n
    | ($n | fabs | tostring) as $s
    | (if ($s | length) <= $d then ("0" * ($d + 1 - ($s | length))) + $s else $s end) as $p
    | (if $n < 0 then "-" else "" end) + $p[0:($p | length) - $d] + "." + $p[($p | length) - $d:]
  end;

# three significant digits (all the digits of a number of 1000 or more)
def num:
  if . == null then "–"
  elif . == 0 then "0"
  else (2 - (fabs | log10 | floor)) as $d0
    # 0.09999 rounds to 0.1000 with the digits of 0.0999: take one digit fewer
    | (if (fabs * pow(10; $d0) | round) >= 1000 then $d0 - 1 else $d0 end) as $d
    | if $d <= 0 then fixed(0) else fixed($d) end
  end;

# a ratio: two decimals near 1, three significant digits otherwise
def rnum:
  if . == null then "–" elif fabs >= 10 or fabs < 0.1 then num else fixed(2) end;
def times: if . == null then "–" else rnum + "×" end;
def median: sort | if length == 0 then null
  elif length % 2 == 1 then .[(length - 1) / 2] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def pct: (. * 100 | round | tostring) + "%";

# "N times faster/slower" wording for a ratio A/B, from A's point of view, for sentences
def as_factor: if . >= 10 then num elif . >= 1.995 then fixed(1) else fixed(2) end;
# "2.5 times" or, for a ratio that shows as 1.00, "as fast as"
def times_of: if (as_factor) == "1.00" then "as fast as" else "\(as_factor) times" end;

# an exact power-of-two size as people write it; other byte counts approximately
def size_h:
  if . == null then "–"
  else . as $b
    | (first(([1099511627776, "TiB"], [1073741824, "GiB"], [1048576, "MiB"], [1024, "KiB"])
             | select($b >= .[0])) // [1, "bytes"]) as [$u, $name]
    | if $b % $u == 0 then "\($b / $u) \($name)" else "\($b / $u | num) \($name)" end
  end;
# LO–HI, or one number when both are the same to the digits shown
def num_range($lo; $hi): if ($lo | num) == ($hi | num) then ($lo | num) else "\($lo | num)–\($hi | num)" end;

def unit_h: {"us": "µs", "us_per_page": "µs/page", "ms": "ms", "GB/s": "GB/s"}[.] // .;

def kind_h:
  {"posix": "POSIX object", "sysv": "System V segment", "file": "file mapping",
   "memfd": "memfd", "pipe": "pipe", "unix": "Unix socket"}[.] // .;
def kind_short:
  {"posix": "posix", "sysv": "sysv", "file": "file", "memfd": "memfd", "pipe": "pipe",
   "unix": "unix socket"}[.] // .;
def kind_order: {"posix": 0, "sysv": 1, "file": 2, "memfd": 3, "pipe": 4, "unix": 5}[.] // 9;
def variant_order:
  {"create": 0, "attach": 1, "plain": 0, "populate": 1, "fallocate": 2, "hugepages": 3,
   "write": 0, "rewrite": 0, "rewrite+msync": 1, "one-way": 0}[.] // 9;
def section_h:
  {"lifecycle": "life cycle", "first_touch": "first touch", "bandwidth": "write bandwidth",
   "persistence": "persistence", "transfer": "transfer"}[.] // .;
def memory_kinds: ["posix", "sysv", "memfd"];

def sorted: sort_by([(.kind | kind_order), .kind, (.variant | variant_order), .variant, .size]);
def rows($s): [.results[] | select(.section == $s)] | sorted;
def span: "\(.min | num)–\(.max | num)";
def med_span: "\(.median | num) (\(span))";
# the row of KIND and VARIANT in ROWS, at SIZE when given
def find($rows; $k; $v): first($rows[] | select(.kind == $k and .variant == $v)) // null;
def find($rows; $k; $v; $size):
  first($rows[] | select(.kind == $k and .variant == $v and .size == $size)) // null;
# "n = 15", or the range when the sections ran different numbers of repetitions
def reps_note($rows):
  ([$rows[].n] | unique) as $n
  | if ($n | length) == 0 then ""
    elif ($n | length) == 1 then "Medians over \($n[0]) repetitions."
    else "Medians over \($n | min)–\($n | max) repetitions." end;
def lst: if length <= 1 then (.[0] // "")
  else (.[0:-1] | join(", ")) + " and " + .[-1] end;

# ---- markdown ------------------------------------------------------------------------------

def mdrow: "| " + (map(tostring) | join(" | ")) + " |";
# HEAD: column titles; a title starting with ">" is right-aligned (numbers)
def table($head; rows):
  ($head | map(ltrimstr(">")) | mdrow),
  ("|" + ($head | map(if startswith(">") then "---:" else "---" end) | join("|")) + "|"),
  (rows | mdrow);
def none_ran($what): "No \($what) measurement ran: see *Not measured here*.";

# ---- input checks --------------------------------------------------------------------------

def problems:
  [ (if type != "object" then "the output is not a JSON object" else empty end),
    (if type == "object" and .pshm_bench != 1 then
       "schema version \(.pshm_bench | tojson), this report reads version 1" else empty end),
    (if type == "object" and (.machine | type) != "object" then "no \"machine\" object" else empty end),
    (if type == "object" and (.results | type) != "array" then "no \"results\" array" else empty end),
    (if type == "object" and (.results | type) == "array" and (.results | length) == 0 then
       "the \"results\" array is empty" else empty end),
    (if type == "object" and (.unavailable // [] | type) != "array" then
       "\"unavailable\" is not an array" else empty end),
    (if type == "object" and (.results | type) == "array" then
       .results[]
       | select((type != "object")
           or ([.section, .kind, .variant, .unit] | any(type != "string"))
           or ([.size, .median, .min, .max, .n] | any(type != "number"))
           or ([.ratio_posix, .ratio_pipe, .ratio_raw] | any(. != null and type != "number")))
       | "malformed result row: \(tojson | .[0:160])"
     else empty end)
  ] | .[0:5][];

def overhead_problems:
  [ (if type != "object" or (.rows | type) != "array" or (.rows | length) == 0 then
       "no \"rows\" array" else empty end),
    (if type == "object" and (.rows | type) == "array" then
       .rows[]
       | select([.lib_us, .raw_us, .ratio, .ratio_min, .ratio_q1, .ratio_q3, .ratio_max]
                | any(type != "number"))
       | "malformed row: \(tojson | .[0:160])"
     else empty end)
  ] | .[0:5][];

# bench/cli.sh's text (read with -R -s) as {"reps", "mapped", "rows": [...]}
def cli_parse:
  split("\n") as $lines
  | { reps: (first($lines[] | capture("alternated (?<n>[0-9]+) times") | .n | tonumber) // null),
      mapped: (first($lines[] | capture("^\\((?<n>[0-9]+) objects seen as mapped") | .n | tonumber)
               // null),
      rows: [ $lines[]
              | capture("^(?<label>.*\\S)\\s+(?<base>[0-9.]+) ms\\s+(?<ours>[0-9.]+) ms\\s+(?<ratio>[0-9.]+)x\\s+\\(target <= (?<target>[0-9.]+)x\\)\\s+(?<verdict>PASS|FAIL)\\s*$")
              | .base |= tonumber | .ours |= tonumber | .ratio |= tonumber
              | .target |= tonumber ] };

# ---- the pieces ----------------------------------------------------------------------------

def machine_part:
  .machine as $m
  | table(["fact", "value"];
      (["kernel", "Linux \($m.kernel // "?")"]),
      (["CPUs", "\($m.cpus // "?") × \($m.cpu_model // "unknown CPU")"]),
      (["memory", ($m.memory_bytes | size_h)]),
      (["page size", "\($m.page_size // "?") bytes"]),
      (["shm directory", "`\($m.shm_dir // "?")`, \($m.shm_size_bytes | size_h), \($m.shm_free_bytes | size_h) free at the start"]),
      (["transparent huge pages", "`\($m.thp_enabled // "?")`; for shmem: `\($m.thp_shmem_enabled // "?")`"]),
      (["huge pages (hugetlb)", "\($m.hugepage_size_bytes | size_h) each, \($m.hugepages_total // "?") reserved, \($m.hugepages_free // "?") free"]),
      (["file mappings in", "`\($m.file_dir // "?")`"]),
      (["System V shared memory", (if $m.sysv_available then "available" else "not available" end)]),
      ($m | to_entries
       | map(select(.key | IN("kernel", "cpus", "cpu_model", "memory_bytes", "page_size", "shm_dir",
           "shm_size_bytes", "shm_free_bytes", "thp_enabled", "thp_shmem_enabled",
           "hugepage_size_bytes", "hugepages_total", "hugepages_free", "file_dir",
           "sysv_available") | not))
       | .[] | [.key, (.value | if type == "string" then . else tojson end)]));

def options_part:
  .options as $o
  | "This run: \(if $o.quick then "`pshm bench --quick`" else "`pshm bench`" end), "
    + "\($o.reps // "?") repetitions, sizes \(($o.sizes // []) | map(size_h) | lst), "
    + "techniques \(($o.kinds // []) | map("`\(.)`") | lst)"
    + (if .elapsed_s then ", \(.elapsed_s | round) s in all." else "." end);

def lifecycle_part:
  rows("lifecycle") as $r
  | if ($r | length) == 0 then none_ran("life cycle") else
    table(["technique", "operation", ">object size", ">median µs", ">min–max µs", ">× posix",
           ">library ÷ raw calls"];
      ($r[] | [(.kind | kind_short), .variant, (.size | size_h), (.median | num), span,
               (.ratio_posix | times), (.ratio_raw | times)])),
    "",
    reps_note($r) + " *create* is create, size, map, unmap and destroy; *attach* is open, map,"
    + " unmap and close of an object that exists."
  end;

def first_touch_part:
  rows("first_touch") as $r
  | if ($r | length) == 0 then none_ran("first-touch") else
    table(["technique", "variant", ">region", ">median µs/page", ">min–max", ">× plain"];
      ($r[] | . as $x | find($r; .kind; "plain"; .size) as $p
       | [(.kind | kind_short), .variant, (.size | size_h), (.median | num), span,
          (if $p and $p.median > 0 then ($x.median / $p.median | times) else "–" end)])),
    "",
    reps_note($r) + " *populate* and *fallocate* include their set-up call (`MAP_POPULATE` or"
    + " `MADV_POPULATE_WRITE`; `posix_fallocate`) in the cost per page."
  end;

# The huge page target of pshm-bench (first touch with huge pages over plain, per 4 KiB page),
# and whether the run lent itself pages from the pool.
def huge_targets_part:
  (.targets // []) as $t
  | if ($t | length) == 0 then "No huge page target was measured: the first-touch section did not run."
    else
      table(["target", ">ratio", ">limit", "result"];
        ($t[] | [.name, (if .ratio == null then "–" else (.ratio | num) end),
                 "≤ \(.limit)", (if .pass == null then "not measured" elif .pass then "PASS" else "FAIL" end)])),
      (if .huge_pool then "", "The run grew the pool for itself: \(.huge_pool)." else empty end)
    end;

def bandwidth_part:
  rows("bandwidth") as $r
  | if ($r | length) == 0 then none_ran("bandwidth") else
    table(["technique", ">region", ">median GB/s", ">min–max", ">× posix"];
      ($r[] | [(.kind | kind_short), (.size | size_h), (.median | num), span,
               (.ratio_posix | times)])),
    "", reps_note($r)
  end;

def persistence_part:
  rows("persistence") as $r
  | if ($r | length) == 0 then none_ran("persistence") else
    ([$r[] | [.kind, .size]] | unique_by(.) | sort_by([(.[0] | kind_order), .[1]])) as $ks
    | table(["technique", ">region", ">rewrite ms", ">rewrite+msync ms", ">msync adds ms",
             ">rewrite+msync × posix"];
        ($ks[] | . as [$k, $s]
         | find($r; $k; "rewrite"; $s) as $w | find($r; $k; "rewrite+msync"; $s) as $y
         | [($k | kind_short), ($s | size_h),
            (if $w then ($w | med_span) else "–" end),
            (if $y then ($y | med_span) else "–" end),
            (if $w and $y then ($y.median - $w.median | if . > 0 then num else "none measurable" end)
             else "–" end),
            (if $y then ($y.ratio_posix | times) else "–" end)])),
      "", reps_note($r) + " Min–max in brackets."
  end;

def transfer_part:
  rows("transfer") as $r
  | if ($r | length) == 0 then none_ran("transfer") else
    ([$r[].kind] | unique | sort_by([kind_order, .])) as $kinds
    | ([$r[].size] | unique) as $sizes
    | "Median GB/s; the fastest at each size in bold.",
      "",
      table(["size"] + ($kinds | map(">" + kind_short));
        ($sizes[] | . as $s
         | ([$r[] | select(.size == $s) | .median] | max) as $best
         | [($s | size_h)]
           + ($kinds | map(. as $k | find($r; $k; "one-way"; $s)
               | if . == null then "–"
                 elif .median == $best then "**\(.median | num)**"
                 else (.median | num) end)))),
      "",
      "<details><summary>Every transfer figure: min–max, time per message, ratios to a POSIX object and to a pipe</summary>",
      "",
      table(["technique", ">size", ">median GB/s", ">min–max", ">µs per message", ">× posix", ">× pipe"];
        ($r[] | [(.kind | kind_short), (.size | size_h), (.median | num), span,
                 (if .median > 0 then (.size / .median / 1000 | num) else "–" end),
                 (.ratio_posix | times), (.ratio_pipe | times)])),
      "",
      "</details>",
      "",
      reps_note($r)
  end;

def unavailable_part:
  (.unavailable // []) as $u
  | if ($u | length) == 0 then "Every measurement ran on this machine."
    else "These measurements did not run here:", "",
      ($u | sort_by([(.section | ["lifecycle", "first_touch", "bandwidth", "persistence", "transfer"]
                               | index(.) // 9), (.kind // "" | kind_order), (.variant // "")])
       | .[]
       | "- \(.section | section_h), \([.kind, .variant] | map(select(. != null and . != ""))
                                      | map("`\(.)`") | join(" "))\(if (.kind // "") == "" and (.variant // "") == "" then "(all)" else "" end): \(.reason // "no reason given")")
    end;

def overhead_table($run; $calib):
  table(["technique", "operation", "life cycle",
         (if $calib then ">raw 1 µs" else ">library µs" end),
         (if $calib then ">raw 2 µs" else ">raw µs" end),
         ">ratio", ">round q1–q3", ">round min–max"] + (if $calib then [] else ["verdict"] end);
    ($run.rows[] | [.kind, .op, .cycle, (.lib_us | fixed(2)), (.raw_us | fixed(2)),
                    (.ratio | fixed(3)), "\(.ratio_q1 | fixed(2))–\(.ratio_q3 | fixed(2))",
                    "\(.ratio_min | fixed(2))–\(.ratio_max | fixed(2))"]
                   + (if $calib then []
                      elif .pass then ["PASS"] else ["**FAIL**"] end)));

def overhead_part:
  $ov[0] as $o
  | ($o.reserved.target // 1.10) as $t
  | ([$o.calibrate.rows[].ratio]) as $cal
  | "Runs of \($o.reserved.rounds) rounds of \($o.reserved.batch) operations per side,"
    + " \($o.reserved.size | size_h) objects; times are medians per operation, ratio = library"
    + " median ÷ raw median, target ≤ \($t | fixed(2)).",
    "",
    "**Calibration** (raw calls on both sides: the noise of the method on this machine):",
    "",
    overhead_table($o.calibrate; true),
    "",
    "**Space reserved** (`posix_fallocate`, the library's default):",
    "",
    overhead_table($o.reserved; false),
    "",
    "**Sparse** (no reservation: `ftruncate`, `SHM_NORESERVE`):",
    "",
    overhead_table($o.sparse; false),
    "",
    ( [$o.reserved.rows[], $o.sparse.rows[]] as $all
      | ([$all[] | select(.pass)] | length) as $np
      | ($all | max_by(.ratio)) as $w
      | ([$all[] | .lib_us - .raw_us]) as $add
      | "Raw against raw gave ratios of \($cal | min | fixed(2))–\($cal | max | fixed(2)), so"
        + " differences of about \([($cal | max) - 1, 1 - ($cal | min), 0.01] | max | fixed(2))"
        + " are noise here. The library met the target in \($np) of \($all | length) rows"
        + (if $np < ($all | length) then
             "; the worst was \($w.kind) \($w.op) at \($w.ratio | fixed(2))"
             + (if ($w.ratio - $t) <= ([($cal | max) - 1, 1 - ($cal | min)] | max)
                then ", within the noise of the target" else "" end)
           else "" end)
        + ". In absolute terms it added \($add | median | fixed(2)) µs to the median row and at"
        + " most \($add | max | fixed(2)) µs, to life cycles of"
        + " \([$all[].raw_us] | min | fixed(1))–\([$all[].raw_us] | max | fixed(1)) µs.")
  ;

def cli_part:
  $cli[0] as $c
  | if ($c.rows | length) == 0 then "bench/cli.sh printed no result." else
    table(["operation", ">baseline ms", ">pshm ms", ">ratio", ">target", "verdict"];
      ($c.rows[] | [.label, (.base | tostring), (.ours | tostring), (.ratio | fixed(2) + "×"),
                    "≤ \(.target)×", (if .verdict == "PASS" then "PASS" else "**FAIL**" end)])),
    "",
    "Medians of wall time over \($c.reps // "?") runs of each side, alternated"
    + (if $c.mapped then "; in the last row \($c.mapped) objects were mapped by a process." else "." end)
  end;

# the plot's image reference, or nothing without gnuplot
def plot_ref($name; $alt):
  if $plots == "yes" then "", "![\($alt)](bench-\($name).svg)" else empty end;

# ---- conclusions ---------------------------------------------------------------------------

def conclusions:
  . as $b
  | rows("transfer") as $tr | rows("persistence") as $pe | rows("first_touch") as $ft
  | rows("lifecycle") as $lc | rows("bandwidth") as $bw
  | [
    # moving data between processes: the best shared-memory technique against the best of a
    # pipe and a socket, at the largest and the smallest size; "clearly" = ranges apart
    ( ([$tr[].size] | unique) as $sizes
      | select(($sizes | length) > 0)
      | ($sizes | max) as $L | ($sizes | min) as $S
      | def stream: .kind | IN("pipe", "unix");
        def leaders($s): {shm: ([$tr[] | select(.size == $s and (stream | not))] | max_by(.median)),
                          str: ([$tr[] | select(.size == $s and stream)] | max_by(.median))};
        # "shm" or "stream" when its range lies wholly above the other's, else "neither"
        def verdict: if .shm == null or .str == null then "neither"
          elif .shm.min > .str.max then "shm" elif .str.min > .shm.max then "stream"
          else "neither" end;
      ([$tr[] | select(.size == $L)] | max_by(.median)) as $best
      | find($tr; "pipe"; "one-way"; $L) as $pipe | find($tr; "unix"; "one-way"; $L) as $unix
      | ([$tr[] | select(.size == $L and (stream | not))]) as $shm
      | leaders($L) as $l | ($l | verdict) as $vl
      | leaders($S) as $s | ($s | verdict) as $vs
      # the smallest size from which shared memory is clearly ahead at every larger size
      | ([$sizes[] | leaders(.) | verdict]) as $v
      | ([range(0; $sizes | length) as $i | select(all($v[$i:][]; . == "shm")) | $sizes[$i]]
         | first // null) as $cross
      | "**Moving data between processes.** At \($L | size_h) the \($best.kind | kind_h) was fastest,"
        + " \($best.median | num) GB/s"
        + ([ (if $pipe and $best.kind != "pipe" then
                "\($best.median / $pipe.median | times_of) a pipe (\($pipe.median | num) GB/s)"
              else empty end),
             (if $unix and $best.kind != "unix" then
                "\($best.median / $unix.median | times_of) a Unix socket (\($unix.median | num) GB/s)"
              else empty end) ] | if length > 0 then ", " + lst else "" end)
        + (if ($shm | length) > 1 then
             "; the shared-memory techniques ranged \([$shm[].median] | min | num)–\([$shm[].median] | max | num) GB/s"
           else "" end)
        + ". "
        + (if $vl == "shm" then
             "For large blocks, share the memory: the receiver reads the data where it was written"
             + " instead of having it copied into the kernel and out again."
           elif $vl == "stream" then
             "On this machine the kernel's copy beat the shared-memory hand-over even for large"
             + " blocks: use a pipe or socket unless the data must be shared in place."
           elif $l.shm != null and $l.str != null then
             "But the spread of the best shared-memory technique (\($l.shm.kind | kind_short),"
             + " \($l.shm | span) GB/s) overlaps that of the best stream (\($l.str.kind | kind_short),"
             + " \($l.str | span) GB/s), so neither is clearly faster at \($L | size_h)"
             + (if $b.options.quick then "; the full `make bench` makes more repetitions." else " on this machine." end)
           else "" end)
        + (if $S == $L or $s.shm == null or $s.str == null then ""
           elif $vs == "stream" then
             " At \($S | size_h) the \($s.str.kind | kind_h) was clearly ahead (\($s.str.median | num)"
             + " GB/s against \($s.shm.median | num)): for small messages a pipe or socket does better,"
             + " and brings its own synchronisation."
             + (if $cross then " Shared memory was clearly ahead from \($cross | size_h) on." else "" end)
           elif $vs == "shm" then
             " Shared memory was clearly ahead even at \($S | size_h) (\($s.shm.kind | kind_h),"
             + " \($s.shm.median | num) GB/s against \($s.str.median | num))."
           else
             " At \($S | size_h) neither was clearly ahead (best medians: \($s.shm.kind | kind_short)"
             + " \($s.shm.median | num), \($s.str.kind | kind_short) \($s.str.median | num) GB/s):"
             + " for small messages choose by convenience; a pipe or socket brings its own"
             + " synchronisation."
           end) ),

    # durability
    ( ([$pe[] | select(.kind == "file" and .variant == "rewrite+msync")] | max_by(.size)) as $fs
      | select($fs != null)
      | find($pe; "file"; "rewrite"; $fs.size) as $fw
      | ([$pe[] | select(.variant == "rewrite+msync" and .size == $fs.size and (.kind | IN(memory_kinds[])))]) as $mem
      | select(($mem | length) > 0)
      | ([$mem[].median] | min) as $lo | ([$mem[].median] | max) as $hi
      | "**Data that must survive a reboot.** Only the file mapping is on disk, and making it"
        + " durable costs: rewriting \($fs.size | size_h) and calling `msync` took \($fs.median | num) ms,"
        + (if ($fs.median / $hi) >= 1.5 and $fs.min > ([$mem[].max] | max) then
             " \($fs.median / $hi | as_factor)"
             + (if ($fs.median / $lo | as_factor) != ($fs.median / $hi | as_factor) then
                  "–\($fs.median / $lo | as_factor)" else "" end)
             + " times the memory objects' \(num_range($lo; $hi)) ms"
           else " about as long as the memory objects' \(num_range($lo; $hi)) ms" end)
        + (if $fw then " (the rewrite alone: \($fw.median | num) ms)" else "" end)
        + "."
        + (([$pe[] | select(.variant == "rewrite" and .size == $fs.size and (.kind | IN(memory_kinds[])))
             | .median]) as $mw
           | if $fw and ($mw | length) > 0 and ($fw.median / ($mw | max)) >= 1.5 then
               " Even without `msync`, rewriting the file mapping took \($fw.median / ($mw | max) | as_factor)"
               + " times as long as rewriting a memory object (\(num_range($mw | min; $mw | max)) ms):"
               + " a file is the wrong place for data that changes often and need not be on disk."
             else "" end)
        + " Call `msync` only where the data must be on disk; for data that need only outlive"
        + " their processes use a POSIX object or System V segment (kept until removed or reboot),"
        + " and a memfd for data that should vanish with its last user." ),

    # first touch
    ( ([$ft[] | .kind] | unique | sort_by(kind_order)) as $kk
      | (first($kk[] | select(. as $k | find($ft; $k; "plain") and find($ft; $k; "populate")))
         // null) as $k
      | select($k != null)
      | find($ft; $k; "plain") as $p | find($ft; $k; "populate"; $p.size) as $q
      | select($q != null)
      | find($ft; $k; "fallocate"; $p.size) as $f
      | ([$ft[] | select(.variant == "hugepages")] | min_by(.median)) as $h
      | ([$ft[] | select(.variant == "plain") | .median]) as $plains
      | "**Paying for the first touch.** The first write to each page of a new \($k | kind_h)"
        + " cost \($p.median | num) µs"
        + (if ($plains | length) > 1 then
             " (\($plains | min | num)–\($plains | max | num) µs over the techniques)" else "" end)
        + "; populating the whole \($p.size | size_h) at map time (`pshm create --populate`,"
        + " `MAP_POPULATE`) cost \($q.median | num) µs per page, set-up included"
        + (if $q.max < $p.min then
             ", \($p.median / $q.median | as_factor) times less. Populate when the whole region"
             + " will be used: it is cheaper in all and takes the page faults out of the"
             + " time-critical path."
           elif $q.min <= $p.max then
             "; the spreads overlap (\($q | span) and \($p | span) µs), so populating neither"
             + " clearly saves nor costs: use it to take the page faults out of a latency-critical path."
           else
             ", \($q.median / $p.median | as_factor) times as much. Populating saves nothing"
             + " here; use it only to move the page faults out of a latency-critical path."
           end)
        + (if $f then " Reserving the space first (`posix_fallocate`, what `pshm create` does"
                      + " unless `--sparse`) and then writing cost \($f.median | num) µs per page."
           else "" end)
        + (if $h then " With huge pages (\($h.kind | kind_h)) it was \($h.median | num) µs per"
                      + " 4 KiB page, \((find($ft; $h.kind; "plain"; $h.size) // $p).median / $h.median | as_factor)"
                      + " times less than plain: worth it for large, long-lived regions."
           else ([($b.unavailable // [])[] | select(.section == "first_touch" and .variant == "hugepages")]
                 | sort_by([(.kind != $k), (.kind // "" | kind_order)])) as $why
             | if ($why | length) > 0 then
                 " Huge pages were not measured; for the \($why[0].kind // "" | kind_h) the reason"
                 + " given was: \($why[0].reason // "none" | rtrimstr("."))."
               else "" end
           end) ),

    # life cycle
    ( ([$lc[] | select(.variant == "create")]) as $c
      | ([$lc[] | select(.variant == "attach")]) as $a
      | select(($c | length) > 0)
      | ($c | min_by(.median)) as $cmin | ($c | max_by(.median)) as $cmax
      | ([$lc[] | .ratio_raw | select(. != null)]) as $raw
      | "**Many short-lived objects.** Creating, mapping and removing one took least as a"
        + " \($cmin.kind | kind_h) (\($cmin.median | num) µs) and most as a \($cmax.kind | kind_h)"
        + " (\($cmax.median | num) µs)"
        + (if ($a | length) > 0 then
             "; attaching to an existing one took \($a | min_by(.median) | .median | num)–\($a | max_by(.median) | .median | num) µs"
             + " (least: \($a | min_by(.median) | .kind | kind_h))"
           else "" end)
        + ". "
        + (if ($cmax.median / $cmin.median) >= 1.5 and $cmax.min > $cmin.max then
             "Where objects come and go by the thousand, that \($cmax.median / $cmin.median | as_factor)-fold"
             + " difference matters; otherwise choose by lifetime and naming."
           else "The techniques cost about the same here: choose by lifetime and naming." end)
        + (if ($raw | length) > 0 then
             " Through the library a life cycle took \($raw | median | fixed(2)) times as long as the"
             + " raw calls (the median of these rows; *Library overhead* measures it more finely)."
           else "" end) ),

    # bandwidth
    ( select(($bw | length) > 1)
      | ($bw | min_by(.median)) as $lo | ($bw | max_by(.median)) as $hi
      | "**Steady-state speed.** Once its pages are in place, every technique wrote at"
        + " \($lo.median | num)–\($hi.median | num) GB/s"
        + (if ($hi.median / $lo.median) < 1.15 then
             ": within \($hi.median / $lo.median - 1 | pct) of each other, so speed is no reason to"
             + " prefer one; memory is memory."
           elif $hi.min > $lo.max then
             "; the \($hi.kind | kind_h) was \($hi.median / $lo.median | as_factor) times as fast as"
             + " the \($lo.kind | kind_h)."
           else
             "; the medians differ by \($hi.median / $lo.median - 1 | pct), but the min–max ranges"
             + " overlap, so no technique is clearly faster: choose by lifetime and naming."
           end) ),

    # library overhead
    ( $ov[0] as $o
      | [$o.reserved.rows[], $o.sparse.rows[]] as $all
      | select(($all | length) > 0)
      | ([$all[] | .lib_us - .raw_us]) as $add
      | ([$all[] | select(.pass)] | length) as $np
      | "**The library or raw calls.** libpshm added \($add | median | fixed(1)) µs to a typical"
        + " life cycle, at most \($add | max | fixed(1)) µs (ratios \([$all[].ratio] | min | fixed(2))–\([$all[].ratio] | max | fixed(2)),"
        + " \($np) of \($all | length) within the \($o.reserved.target | fixed(2)) target)."
        + " That matters only when objects are opened and closed at high rates; it buys one API"
        + " over all four techniques, and nothing is added once the memory is mapped." ),

    # the command
    ( $cli[0] as $c
      | select(($c.rows | length) > 0)
      | ([$c.rows[] | select(.verdict != "PASS")]) as $bad
      | "**The `pshm` command.** Against the commands it stands in for: "
        + ([$c.rows[]
            | (first(.label | capture("\\(vs (?<b>[^)]*)\\)$") | "`\(.b)`")
               // (if (.label | startswith("ls")) then "`ls -l`" else "the baseline" end)) as $base
            | "\(.label | sub(" \\(vs .*\\)$"; "")): \(.ratio | fixed(2))× \($base)"] | join("; "))
        + ". "
        + (if ($bad | length) == 0 then
             "All within their targets, so `pshm read` and `pshm write` can stand in for `cat` on"
             + " shared memory, and `pshm ls` for `ls -l`, in scripts as well as by hand."
           else
             "Over target: \([$bad[] | .label] | join("; "))"
             + (if ($c.reps // 0) < 5 then
                  ", with only \($c.reps) runs of each side: run the full `make bench` before"
                  + " taking it for more than a slow moment of the machine."
                else "." end)
           end) )
  ] | .[] | (., "");

# ---- plot data -----------------------------------------------------------------------------

def plot_transfer:
  rows("transfer") as $r
  | if $kind == "" then
      ([$r[].kind] | unique | sort_by([kind_order, .]) | join(" "))
    elif $kind == "@tics" then
      ([$r[].size] | unique) as $s
      | "set xtics (" + ($s | map("\"\(size_h)\" \(.)") | join(", ")) + ")",
        "set xrange [\($s | min / 1.6):\($s | max * 1.6)]"
    else $r[] | select(.kind == $kind) | "\(.size) \(.median) \(.min) \(.max)"
    end;

# A clustered bar chart: a comment line "# kind SERIES...", then one line per technique of
# median, min and max for each series; "-" where a series has no figure.
def plot_bars($s; $variants):
  rows($s) as $r
  | ([$r[].kind] | unique | sort_by([kind_order, .])) as $kinds
  | ([$variants[] | select(. as $v | any($r[]; .variant == $v))]) as $vs
  | ("# kind " + ($vs | join(" "))),
    ($kinds[] | . as $k
     | ([$k | kind_short | gsub(" "; "_")]
        + ($vs | map(. as $v | [$r[] | select(.kind == $k and .variant == $v)] | max_by(.size)
                     | if . == null then "- - -" else "\(.median) \(.min) \(.max)" end)))
       | join(" "));

# gnuplot settings for a bar chart: a log y axis when the medians span more than 8 times
def plot_opts($s; $axis):
  ([rows($s)[] | .median | select(. > 0)]) as $m
  | if ($m | length) > 0 and ($m | max) > 8 * ($m | min) then
      ([rows($s)[] | .min | select(. > 0)] | min) as $lo
      | "set logscale y 10", "set yrange [\($lo / 1.5):*]", "set ylabel \"\($axis) (log scale)\""
    else empty end;

# ---- dispatch ------------------------------------------------------------------------------

if $part == "validate" then problems
elif $part == "validate-overhead" then overhead_problems
elif $part == "cli-parse" then cli_parse
elif $part == "machine" then machine_part
elif $part == "options" then options_part
elif $part == "lifecycle" then lifecycle_part
elif $part == "first_touch" then first_touch_part
elif $part == "huge_targets" then huge_targets_part
elif $part == "bandwidth" then bandwidth_part
elif $part == "persistence" then persistence_part
elif $part == "transfer" then transfer_part
elif $part == "unavailable" then unavailable_part
elif $part == "overhead" then overhead_part
elif $part == "cli" then cli_part
elif $part == "conclusions" then conclusions
elif $part == "plot_lifecycle" then plot_ref("lifecycle"; "Life cycle: median microseconds per technique, create and attach")
elif $part == "plot_first_touch" then plot_ref("first-touch"; "First touch: microseconds per page by variant and technique")
elif $part == "plot_transfer" then plot_ref("transfer"; "Transfer throughput between processes against size, per technique")
elif $part == "data-transfer" then plot_transfer
elif $part == "data-lifecycle" then plot_bars("lifecycle"; ["create", "attach"])
elif $part == "opts-lifecycle" then plot_opts("lifecycle"; "µs")
elif $part == "opts-first_touch" then plot_opts("first_touch"; "µs per page")
elif $part == "data-first_touch" then plot_bars("first_touch"; ["plain", "populate", "fallocate", "hugepages"])
else error("report.jq: unknown part \($part)")
end
