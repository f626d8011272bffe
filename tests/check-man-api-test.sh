#!/bin/sh
# scripts/check-man-api.sh on a small tree of its own: it passes when every exported function
# is named on a page whose SYNOPSIS gives the header's prototype, and fails, naming the cause,
# on a planted missing page, a mismatched prototype, a page that mentions a function the header
# no longer declares or refers to a page that is gone, a structure listed with other members
# than the header's, a function named on two pages, and a version script that exports what the
# header does not declare.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkdir -p "$t/include" "$t/src/lib" "$t/man"
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "check-man-api-test: $*" >&2; fail=$((fail + 1)); }

header() {
	cat >"$t/include/pshm.h" <<'H'
/* A header as the check reads it: comments, macros and typedefs are not functions. */
#define PSHM_ERRORS(X)                                                                   \
	X(ADDR, -20001, "Malformed address")
struct pshm_point {
	int32_t x; /* across */
	int32_t y;
};
typedef int (*pshm_cb)(const struct pshm_point *p, void *arg);
int pshm_alpha(const char *name, int flags);
const char *pshm_beta(void);
int pshm_gamma(struct pshm_point *p,
               unsigned n);
H
}
map() {
	printf 'PSHM_1.0 {\n\tglobal:\n\t\t%s\n\tlocal:\n\t\t*;\n};\n' "$1" >"$t/src/lib/libpshm.map"
}
pages() {
	cat >"$t/man/pshm_alpha.3" <<'M'
.Dd December 5, 2026
.Dt PSHM_ALPHA 3
.Os
.Sh NAME
.Nm pshm_alpha ,
.Nm pshm_beta
.Nd test
.Sh SYNOPSIS
.In pshm.h
.Ft int
.Fn pshm_alpha "const char *name" "int flags"
.Ft const char *
.Fn pshm_beta void
.Sh DESCRIPTION
See
.Xr pshm_gamma 3 .
M
	cat >"$t/man/pshm_gamma.3" <<'M'
.Dd December 5, 2026
.Dt PSHM_GAMMA 3
.Os
.Sh NAME
.Nm pshm_gamma
.Nd test
.Sh SYNOPSIS
.In pshm.h
.Ft int
.Fo pshm_gamma
.Fa "struct pshm_point *p"
.Fa "unsigned n"
.Fc
.Sh DESCRIPTION
.Bd -literal
struct pshm_point {
	int32_t x;
	int32_t y;
};
.Ed
.Pp
As
.Fn pshm_alpha
does.
M
}
# Runs the check on the tree; passes when it exits with status $1 and says $2.
expect() {
	if out=$(sh "$here/scripts/check-man-api.sh" "$t" 2>&1); then rc=0; else rc=1; fi
	if [ "$rc" -ne "$1" ]; then
		bad "$3: exit status $rc, not $1: $out"
	else
		case $out in *"$2"*) ok ;; *) bad "$3: no \"$2\" in: $out" ;; esac
	fi
}

header; map 'pshm_*;'; pages
expect 0 "3 exported functions" "a consistent tree"
map 'pshm_alpha; pshm_beta; pshm_gamma;'
expect 0 "3 exported functions" "a version script that names each function"

# A function the header declares, the version script exports, and no page names.
echo 'int pshm_delta(void);' >>"$t/include/pshm.h"
map 'pshm_*;'
expect 1 "pshm_delta has no page" "a missing page"
map 'pshm_alpha; pshm_beta; pshm_gamma;'
expect 0 "3 exported functions" "an unexported function without a page"
header; map 'pshm_*;'

# A page whose prototype differs from the header's, by a parameter's type.
sed -i 's/"int flags"/"unsigned flags"/' "$t/man/pshm_alpha.3"
expect 1 "the prototype of pshm_alpha differs" "a mismatched prototype"
pages
# White space and the line breaks of the header do not count; the parameters' names do.
sed -i 's/"const char \*name"/"const char*  name"/' "$t/man/pshm_alpha.3"
expect 0 "3 exported functions" "a prototype spaced otherwise"
sed -i 's/"int flags"/"int mode"/' "$t/man/pshm_alpha.3"
expect 1 "the prototype of pshm_alpha differs" "a renamed parameter"
pages

# A function renamed in the header: its page and every mention of the old name fail.
sed -i 's/pshm_alpha(/pshm_first(/' "$t/include/pshm.h"
expect 1 "pshm_first has no page" "a renamed function's page"
expect 1 "mentions pshm_alpha, which include/pshm.h does not declare" "a stale mention"
header
sed -i 's/^\.Xr pshm_gamma 3 \.$/.Xr pshm_gone 3 ./' "$t/man/pshm_alpha.3"
expect 1 "refers to pshm_gone(3), which no page names" "a reference to a page that is gone"
pages

# A structure listed with other members than the header's.
sed -i 's/int32_t y;$/int64_t y;/' "$t/man/pshm_gamma.3"
expect 1 "struct pshm_point differs" "a stale structure"
pages

# One function on two pages, and a version script that exports an undeclared function.
sed -i 's/^\.Nm pshm_gamma$/.Nm pshm_gamma ,\n.Nm pshm_beta/' "$t/man/pshm_gamma.3"
expect 1 "pshm_beta is named on" "a function on two pages"
pages
map 'pshm_alpha; pshm_beta; pshm_gamma; pshm_omega;'
expect 1 "exports pshm_omega" "an exported function the header does not declare"

echo "check-man-api-test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
