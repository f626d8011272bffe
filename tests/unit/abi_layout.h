/*
 * abi_layout.h - every member of pshm.h's public structures, in order, and the table that
 * abi_layout.c makes of their sizes and places. test_abi.c links that file compiled three
 * times, under different feature macros, and compares the tables.
 */
#ifndef ABI_LAYOUT_H
#define ABI_LAYOUT_H

#include <stddef.h>

/* X(struct tag, member) for each member of each public structure, in declaration order. */
#define ABI_MEMBERS(X)                                                                             \
	X(pshm_time, sec)                                                                          \
	X(pshm_time, nsec)                                                                         \
	X(pshm_stat, kind)                                                                         \
	X(pshm_stat, mode)                                                                         \
	X(pshm_stat, uid)                                                                          \
	X(pshm_stat, gid)                                                                          \
	X(pshm_stat, size)                                                                         \
	X(pshm_stat, allocated)                                                                    \
	X(pshm_stat, dev)                                                                          \
	X(pshm_stat, ino)                                                                          \
	X(pshm_stat, nlink)                                                                        \
	X(pshm_stat, atime)                                                                        \
	X(pshm_stat, mtime)                                                                        \
	X(pshm_stat, ctime)                                                                        \
	X(pshm_stat, seals)                                                                        \
	X(pshm_stat, key)                                                                          \
	X(pshm_stat, id)                                                                           \
	X(pshm_stat, removed)                                                                      \
	X(pshm_stat, nattch)                                                                       \
	X(pshm_stat, cpid)                                                                         \
	X(pshm_stat, lpid)                                                                         \
	X(pshm_stat, cuid)                                                                         \
	X(pshm_stat, cgid)                                                                         \
	X(pshm_stat, pid)                                                                          \
	X(pshm_stat, fd)                                                                           \
	X(pshm_stat, address)                                                                      \
	X(pshm_stat, leased)                                                                       \
	X(pshm_stat, leases)                                                                       \
	X(pshm_stat, page_size)                                                                    \
	X(pshm_stat, reserved)                                                                     \
	X(pshm_chan_stat, mode)                                                                    \
	X(pshm_chan_stat, writer)                                                                  \
	X(pshm_chan_stat, readers)                                                                 \
	X(pshm_chan_stat, writers)                                                                 \
	X(pshm_chan_stat, capacity)                                                                \
	X(pshm_chan_stat, used)                                                                    \
	X(pshm_chan_stat, max_message)                                                             \
	X(pshm_chan_stat, sent)                                                                    \
	X(pshm_chan_stat, received)                                                                \
	X(pshm_chan_stat, bytes)                                                                   \
	X(pshm_chan_stat, lost)                                                                    \
	X(pshm_chan_stat, reserved)

/* X(struct tag) for each public structure. */
#define ABI_STRUCTS(X) X(pshm_time) X(pshm_stat) X(pshm_chan_stat)

/* One member, or (member NULL) one whole structure. */
struct abi_entry {
	const char *type;
	const char *member;
	size_t offset; /* the member's; 0 for a structure */
	size_t size;
	size_t align; /* a structure's alignment; 0 for a member */
};

/*
 * The table as one translation unit sees it, and its length; abi_layout.c defines it under the
 * name ABI_LAYOUT_NAME, one for each set of feature macros it is compiled with.
 */
size_t abi_layout_default(const struct abi_entry **tablep);
size_t abi_layout_off32(const struct abi_entry **tablep);
size_t abi_layout_time64(const struct abi_entry **tablep);

#endif /* ABI_LAYOUT_H */
