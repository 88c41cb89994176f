/* gcov.h: what gcc 12's -fprofile-arcs code hands the runtime (one struct gcov_info per object
 * file, given to __gcov_init by the object's constructor; gcc's libgcov.h), the .gcda records
 * (gcc's gcov-io.h) and hvlab's dump stream, shared by the hypervisor's runtime (kernel/gcov.c),
 * the guest's (guest/gcov.c), the reader of the guest's counters (vmm/gcov_guest.c) and the
 * host's test of the encoder (tests/unit/gcov_host.c). Arc counters only: hvlab is built without
 * value profiling, so an object has one merge function, __gcov_merge_add. */
#ifndef HVLAB_GCOV_H
#define HVLAB_GCOV_H
#include "types.h"

#if defined(__GNUC__) && !defined(__clang__) && (__GNUC__ < 12 || __GNUC__ > 13)
#error "struct gcov_info below is gcc 12's (GCOV_COUNTERS 8, a checksum after the stamp)"
#endif

#define GCOV_COUNTERS 8      /* arcs, interval, pow2, topn, indirect call, average, ior, time */
#define GCOV_COUNTER_ARCS 0

struct gcov_ctr_info {
	u32 num;             /* counters of this kind in the function */
	s64 *values;
};

struct gcov_fn_info {
	const struct gcov_info *key; /* the object that owns the function (comdat) */
	u32 ident, lineno_checksum, cfg_checksum;
	struct gcov_ctr_info ctrs[1]; /* one per kind with a merge function: arcs only here */
};

struct gcov_info {
	u32 version;                 /* the compiler's GCOV_VERSION, written back in the .gcda */
	struct gcov_info *next;      /* the runtime's list */
	u32 stamp, checksum;         /* must match the .gcno */
	const char *filename;        /* absolute path of the .gcda to write */
	void (*merge[GCOV_COUNTERS])(s64 *, u32);
	u32 n_functions;
	const struct gcov_fn_info *const *functions;
};

void __gcov_init(struct gcov_info *info);
void __gcov_exit(void);
void __gcov_merge_add(s64 *counters, u32 n);

/* .gcda (gcov-io.h): u32 words, lengths in bytes, a 64-bit counter as two words, low first. */
#define GCOV_DATA_MAGIC 0x67636461u  /* "gcda" */
#define GCOV_TAG_FUNCTION 0x01000000u
#define GCOV_TAG_COUNTER_ARCS 0x01a10000u
#define GCOV_TAG_OBJECT_SUMMARY 0xa1000000u

/* The sink the encoder writes to: the dump channel, or a buffer in the host's test. */
struct gcov_sink {
	void (*put)(struct gcov_sink *s, const void *p, u64 n);
	u64 bytes;                   /* written so far */
	u32 crc;                     /* CRC-32 of what was written since it was reset */
};
u32 gcov_crc32(u32 crc, const void *p, u64 n);
u64 gcov_gcda_size(const struct gcov_info *info);
void gcov_gcda_write(struct gcov_sink *s, const struct gcov_info *info);
u64 gcov_info_sum(const struct gcov_info *info);

/* The dump stream (tests/host/gcovdump.py reads it): frames, each
 *   "HVGC" | u8 kind | u32 name length | name | u32 data length | data | u32 CRC-32
 * with the CRC over everything from kind to the end of the data. A dump is a BEGIN frame (name:
 * why it was written, data: u32 dump number, u32 1 if final), one OBJECT frame per object whose
 * counters changed since the last dump (name: its .gcda path, data: the .gcda), and an END
 * frame (data: u32 dump number, u32 object frames in this dump). Counters are cumulative from
 * boot: the host keeps each object's last frame. */
#define GCOV_FRAME_MAGIC "HVGC"
#define GCOV_FRAME_BEGIN 'B'
#define GCOV_FRAME_OBJECT 'O'
#define GCOV_FRAME_END 'E'
#define GCOV_FRAME_GUEST 'G' /* an OBJECT frame of the guest's (counters summed over its runs) */
void gcov_frame(struct gcov_sink *s, char kind, const char *name, const struct gcov_info *info,
		const void *data, u32 len);

/* The guest's runtime leaves its object list here; the hypervisor finds it by symbol name in
 * the guest's ELF and reads (and clears) the counters at each VM's end (vmm/gcov_guest.c). */
#define GCOV_GUEST_MAGIC 0x766f63677473676cULL /* "lgstgcov" */
#define GCOV_GUEST_ROOT "gcov_guest_root"
struct gcov_guest_root {
	u64 magic;
	struct gcov_info *head;
	u64 objects;
};
#endif
