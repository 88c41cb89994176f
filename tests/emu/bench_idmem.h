/* bench_idmem.h - identity-mapped host memory for the benchmarks' interpreter (bench.c, and
 * bench_call.c against this tree's interpreter and an old one): pages below 64 KiB fault, the
 * rest is the host's own memory. Include after emu.h. */
#include <string.h>

#define SENTINEL 0x1000ull

static u8 *id_map(void *c, u64 page, u32 kind)
{
	(void)c;
	(void)kind;
	return page < 0x10000 ? 0 : (u8 *)page;
}

static int id_access(void *c, u64 la, void *buf, u32 size, u32 kind, struct emu_fault *f)
{
	(void)c;
	if (la < 0x10000) {
		f->vector = EMU_EXC_PF;
		f->cr2 = la;
		return -1;
	}
	if (kind & EMU_ACC_WRITE)
		memcpy((void *)la, buf, size);
	else
		memcpy(buf, (void *)la, size);
	return 0;
}

static const struct emu_mem_ops id_ops = {id_access, id_map};
