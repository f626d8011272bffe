/*
 * abi_layout.c - the sizes and places of pshm.h's public structures as this translation unit
 * sees them. The Makefile compiles it once with the project's flags and again under other
 * feature macros (32-bit file offsets in strict ISO C; 64-bit time), each time with another
 * ABI_LAYOUT_NAME, and test_abi.c compares the tables: a caller's macros must not move a byte.
 */
#include "pshm.h"

#include "abi_layout.h"

#include <stdalign.h>

#ifndef ABI_LAYOUT_NAME
#error "compile with -DABI_LAYOUT_NAME=abi_layout_NAME"
#endif

#define MEMBER(type, member)                                                                       \
	{#type, #member, offsetof(struct type, member), sizeof(((struct type *)0)->member), 0},
#define STRUCT(type) {#type, NULL, 0, sizeof(struct type), alignof(struct type)},

static const struct abi_entry table[] = {ABI_MEMBERS(MEMBER) ABI_STRUCTS(STRUCT)};

size_t ABI_LAYOUT_NAME(const struct abi_entry **tablep)
{
	*tablep = table;
	return sizeof(table) / sizeof(table[0]);
}
