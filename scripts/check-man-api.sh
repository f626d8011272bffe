#!/bin/sh
# Hold the manual to the header: fail when a function the library exports has no page, or when
# a page's SYNOPSIS gives a prototype other than include/pshm.h's.
#
# The exported functions are those that src/lib/libpshm.map names under global:; where it
# gives a pattern (pshm_*), those of the header's declarations whose names match it. A page
# documents the functions its NAME section lists with .Nm, and make install links each of
# those names to it, so each must be named on exactly one page (a page of man/ that is only a
# ".so man3/PAGE.3" line counts as that page). Each such page must give the function's
# prototype in its SYNOPSIS (.Ft with .Fn, or .Fo, .Fa and .Fc), equal to the header's once
# both are normalized: comments dropped, white space collapsed, none around * ( ) and ,.
#
# Renames are caught wherever a page still has the old name: a function a page names,
# prototypes or mentions (.Fn, .Fo) that the header does not declare, a reference (.Xr) to a
# page that does not exist, and a copy of a public structure (struct pshm_NAME { ... }; inside
# .Bd -literal) whose members differ from the header's, all fail.
#
# Usage: check-man-api.sh [REPO]   Exit status: 0 consistent, 1 otherwise.
set -eu
cd "${1:-$(dirname "$0")/..}"
hdr=include/pshm.h
map=src/lib/libpshm.map
for f in "$hdr" "$map"; do
	[ -r "$f" ] || { echo "check-man-api: $f not found" >&2; exit 1; }
done
set -- man/*.[0-9]
[ -e "$1" ] || { echo "check-man-api: no pages in man/" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/check.awk" <<'AWK'
# Whitespace collapsed, none around * ( ) and , : the form in which prototypes are compared.
function norm(s) {
	gsub(/[ \t\n]+/, " ", s)
	gsub(/ ?\* ?/, "*", s)
	gsub(/ ?\( ?/, "(", s)
	gsub(/ ?\) ?/, ")", s)
	gsub(/ ?, ?/, ",", s)
	sub(/^ /, "", s)
	sub(/ $/, "", s)
	return s
}

# The arguments of an mdoc macro line after its first N words: quoted strings or single words.
function args(line, n,    out, k, i, c, tok, inq, have) {
	out = ""; k = 0; tok = ""; inq = 0; have = 0
	for (i = 1; i <= length(line); i++) {
		c = substr(line, i, 1)
		if (c == "\"") {
			inq = !inq; have = 1
		} else if (!inq && (c == " " || c == "\t")) {
			if (have && ++k > n)
				out = out (k > n + 1 ? ", " : "") tok
			tok = ""; have = 0
		} else {
			tok = tok c; have = 1
		}
	}
	if (have && ++k > n)
		out = out (k > n + 1 ? ", " : "") tok
	return out
}

# The members of a structure's body: comments out, each normalized, joined by "; ".
function members(body,    n, m, i, out, x) {
	gsub("/[*]([^*]|[*]+[^*/])*[*]+/", " ", body)
	gsub(/\\e/, "\\", body)
	n = split(body, m, ";")
	out = ""
	for (i = 1; i <= n; i++) {
		x = norm(m[i])
		if (x != "")
			out = out (out == "" ? "" : "; ") x
	}
	return out
}

function unescape(s) {
	gsub(/\\-/, "-", s)
	gsub(/\\&/, "", s)
	return s
}

function fail(msg) {
	print "check-man-api: " msg > "/dev/stderr"
	bad++
}

# A glob of the version script as an anchored regular expression.
function glob_re(g) {
	gsub(/\./, "\\.", g)
	gsub(/\*/, ".*", g)
	gsub(/\?/, ".", g)
	return "^" g "$"
}

function proto(page, name, p) {
	p = norm(unescape(ft " " name "(" p ")"))
	if ((page SUBSEP name) in given)
		fail(page ": SYNOPSIS gives " name " twice")
	given[page, name] = p
	gpage[++ngiven] = page; gname[ngiven] = name
}

FILENAME == HDR { text = text $0 "\n"; next }

FILENAME == MAP {
	sub(/#.*/, "")
	maptext = maptext " " $0
	next
}

FNR == 1 {
	page = FILENAME; sub(/.*\//, "", page)
	ispage[page] = 1
	sect = ""; ft = ""; fo = ""
	if ($1 == ".so") {
		target = $2; sub(/.*\//, "", target)
		so[page] = target
	}
}

# Every function a line mentions (.Fn, .Fo, .Xr, also inside other macros), for the END.
{
	rest = $0
	while (match(rest, /(^|[ \t.])(Fn|Fo|Xr)[ \t]+pshm_[a-z0-9_]+/)) {
		m = substr(rest, RSTART, RLENGTH)
		rest = substr(rest, RSTART + RLENGTH)
		macro = m; sub(/^[ \t.]*/, "", macro); sub(/[ \t].*/, "", macro)
		sub(/.*[ \t]/, "", m)
		nment++
		mpage[nment] = page; mline[nment] = FNR; mmacro[nment] = macro; mname[nment] = m
	}
}

# A public structure copied into a page (inside .Bd -literal), member by member.
/^\.Bd .*-literal/ { literal = 1 }
/^\.Ed/ { literal = 0; sname = "" }
literal && sname == "" && /^[ \t]*struct pshm_[a-z0-9_]+[ \t]*\{/ {
	sname = $2; sbody = ""; sline = FNR
	next
}
literal && sname != "" {
	if ($0 ~ /^[ \t]*\};?[ \t]*$/) {
		nlisted++
		lpage[nlisted] = page; lline[nlisted] = sline; lname[nlisted] = sname
		lbody[nlisted] = members(sbody)
		sname = ""
	} else {
		sbody = sbody " " $0
	}
}

/^\.Sh / { sect = $2; next }

sect == "NAME" && $1 == ".Nm" && $2 != "" {
	if ($2 in owner && owner[$2] != page)
		fail($2 " is named on " owner[$2] " and on " page)
	owner[$2] = page
	named[page, $2] = 1
	next
}

sect == "SYNOPSIS" && $1 == ".Ft" {
	ft = $0
	sub(/^\.Ft[ \t]+/, "", ft)
	gsub(/"/, "", ft)
	next
}
sect == "SYNOPSIS" && $1 == ".Fn" { proto(page, $2, args($0, 2)); next }
sect == "SYNOPSIS" && $1 == ".Fo" { fo = $2; foargs = ""; next }
sect == "SYNOPSIS" && $1 == ".Fa" && fo != "" {
	foargs = foargs (foargs == "" ? "" : ", ") args($0, 1)
	next
}
sect == "SYNOPSIS" && $1 == ".Fc" && fo != "" { proto(page, fo, foargs); fo = ""; next }

END {
	# The header: comments, then preprocessor lines (with their continuations) out; then its
	# declarations, split at ; { and }, and those that declare a pshm_ function kept.
	gsub("/[*]([^*]|[*]+[^*/])*[*]+/", " ", text)
	n = split(text, line, "\n")
	code = ""; cont = 0
	for (i = 1; i <= n; i++) {
		if (cont || line[i] ~ /^[ \t]*#/) {
			cont = line[i] ~ /\\$/
			continue
		}
		sub(/\/\/.*/, "", line[i])
		code = code " " line[i]
	}
	# The structures: struct pshm_NAME { members }.
	rest = code
	while (match(rest, /struct pshm_[a-z0-9_]+ *\{[^}]*\}/)) {
		d = substr(rest, RSTART, RLENGTH)
		rest = substr(rest, RSTART + RLENGTH)
		name = d; sub(/^struct /, "", name); sub(/[ {].*/, "", name)
		sub(/^[^{]*\{/, "", d); sub(/\}$/, "", d)
		structs["struct " name] = members(d)
	}
	gsub(/[{}]/, ";", code)
	n = split(code, decl, ";")
	for (i = 1; i <= n; i++) {
		d = norm(decl[i])
		if (d ~ /^typedef / || !match(d, /[^A-Za-z0-9_]pshm_[a-z0-9_]*\(/))
			continue
		name = substr(d, RSTART + 1, RLENGTH - 2)
		if (d !~ /^[A-Za-z_][A-Za-z0-9_ *]*[ *]pshm_[a-z0-9_]*\(.*\)$/) {
			fail(HDR ": cannot read the declaration of " name ": " d)
			continue
		}
		declared[name] = d
		order[++ndecl] = name
	}

	# The version script: the names, or patterns, under global: in every node.
	gsub(/[{};]/, " & ", maptext)
	n = split(maptext, tok, " ")
	g = 0
	for (i = 1; i <= n; i++) {
		if (tok[i] == "global:") g = 1
		else if (tok[i] == "local:" || tok[i] == "}") g = 0
		else if (g && tok[i] != ";" && tok[i] != "{") {
			if (tok[i] ~ /[*?[]/) pattern[glob_re(tok[i])] = 1
			else if (tok[i] ~ /^pshm_/) exported[tok[i]] = 1
		}
	}
	for (i = 1; i <= ndecl; i++)
		for (re in pattern)
			if (order[i] ~ re)
				exported[order[i]] = 1

	for (f in exported)
		if (!(f in declared))
			fail(MAP " exports " f ", which " HDR " does not declare")
	nexp = 0
	for (i = 1; i <= ndecl; i++) {
		f = order[i]
		if (!(f in exported))
			continue
		nexp++
		if (!(f in owner)) {
			fail(f " has no page: no page of man/ names it with .Nm in its NAME section")
			continue
		}
		page = owner[f]
		if (!((page SUBSEP f) in given))
			fail("man/" page " names " f " but gives no prototype of it in its SYNOPSIS")
		else if (given[page, f] != declared[f])
			fail("man/" page ": the prototype of " f " differs from the header's:\n" \
			    "\tman:    " given[page, f] "\n\theader: " declared[f])
	}
	# What the pages name or prototype must still exist: this catches renames.
	for (key in named) {
		split(key, kp, SUBSEP)
		if (kp[2] ~ /^pshm_/ && !(kp[2] in declared))
			fail("man/" kp[1] " names " kp[2] ", which " HDR " does not declare")
	}
	for (i = 1; i <= ngiven; i++)
		if (!(gname[i] in declared))
			fail("man/" gpage[i] ": SYNOPSIS gives " gname[i] ", which " HDR \
			    " does not declare")
		else if (!((gpage[i] SUBSEP gname[i]) in named))
			fail("man/" gpage[i] ": SYNOPSIS gives " gname[i] \
			    ", which its NAME section does not name")
	# What the pages mention must exist too: a function the header declares, and a page to
	# refer to (a page of man/, or a name make install links to one).
	for (i = 1; i <= nment; i++) {
		f = mname[i]
		if (mmacro[i] == "Xr" && !(f in owner) && !((f ".3") in ispage))
			fail("man/" mpage[i] ":" mline[i] ": refers to " f "(3), which no page names")
		else if (mmacro[i] != "Xr" && !(f in declared))
			fail("man/" mpage[i] ":" mline[i] ": mentions " f \
			    ", which " HDR " does not declare")
	}
	for (i = 1; i <= nlisted; i++) {
		k = "struct " lname[i]
		if (!(k in structs))
			fail("man/" lpage[i] ":" lline[i] ": shows " k ", which " HDR \
			    " does not define")
		else if (lbody[i] != structs[k])
			fail("man/" lpage[i] ":" lline[i] ": " k " differs from the header's:\n" \
			    "\tman:    " lbody[i] "\n\theader: " structs[k])
	}
	for (page in so)
		if (!(so[page] in ispage))
			fail("man/" page " links to " so[page] ", which is not in man/")
	if (nexp == 0)
		fail("no exported function found in " HDR " and " MAP)
	if (bad)
		exit 1
	printf "check-man-api: %d exported functions, each named on one page with the " \
	    "header's prototype\n", nexp
}
AWK

awk -v HDR="$hdr" -v MAP="$map" -f "$tmp/check.awk" "$hdr" "$map" "$@"
