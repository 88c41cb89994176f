/* test_gwalk.c: vmm/gwalk.c on hand-built guest page tables in a host buffer: 4 KiB, 2 MiB and
 * 1 GiB pages, every permission rule (U/S, R/W with CR0.WP, NX, SMEP, SMAP with RFLAGS.AC and
 * implicit accesses), page-fault error codes, accessed/dirty bits, non-canonical addresses. */
#include <string.h>
#include "unit.h"
#include "../../vmm/vmm.h"
#include "../../kernel/x86.h"

#define P 1UL
#define W 2UL
#define U 4UL
#define A 0x20UL
#define D 0x40UL
#define PS 0x80UL
#define NX (1UL << 63)

static u64 mem[8][512] __attribute__((aligned(4096))); /* guest "physical" pages 0..7 */

static u64 *table(void *ctx, u64 gpa)
{
	(void)ctx;
	return gpa + 8 <= sizeof(mem) ? (u64 *)((u8 *)mem + gpa) : NULL;
}

/* PML4 at page 0 -> PDPT at page 1 -> PD at page 2 -> PT at page 3.
 * 0x0000_1000: 4 KiB user RW page; 0x0000_2000: 4 KiB supervisor read-only NX page;
 * 0x0020_0000: 2 MiB user read-only; 0x4000_0000: 1 GiB supervisor RW; PDPT[2] -> page 7 (out). */
static void build(void)
{
	memset(mem, 0, sizeof(mem));
	mem[0][0] = 1 * 4096 | P | W | U;
	mem[1][0] = 2 * 4096 | P | W | U;
	mem[1][1] = 0x80000000UL | P | W | PS;    /* 1 GiB at 0x4000_0000 -> 0x8000_0000 */
	mem[1][2] = 0x10000000UL | P | W | U;     /* a PD outside guest memory */
	mem[2][0] = 3 * 4096 | P | W | U;
	mem[2][1] = 0x600000UL | P | U | PS;      /* 2 MiB at 0x20_0000 -> 0x60_0000, read-only */
	mem[3][1] = 0x5000 | P | W | U;           /* 0x1000 -> 0x5000 */
	mem[3][2] = 0x6000 | P | NX;              /* 0x2000 -> 0x6000, supervisor, RO, NX */
}

static const struct gwalk_regs base = {
	.cr0 = X86_CR0_PG | X86_CR0_WP, .cr3 = 0, .cr4 = X86_CR4_PAE, .efer = MSR_EFER_NXE, .rflags = 2};

static int walk(const struct gwalk_regs *r, u64 va, u32 acc, u64 *gpa, u32 *err)
{
	return gwalk(r, va, acc, gpa, err, table, NULL);
}

static void sizes(void)
{
	u64 gpa;
	u32 err;
	build();
	CHECK_EQ(walk(&base, 0x1234, GW_USER, &gpa, &err), 0);
	CHECK_EQ(gpa, 0x5234);
	CHECK_EQ(walk(&base, 0x2abcde, GW_USER, &gpa, &err), 0);
	CHECK_EQ(gpa, 0x6abcde);
	CHECK_EQ(walk(&base, 0x41234567, 0, &gpa, &err), 0);
	CHECK_EQ(gpa, 0x81234567);
	CHECK_EQ(walk(&base, 0x3000, 0, &gpa, &err), (u64)-1); /* not present */
	CHECK_EQ(err, 0);
	CHECK_EQ(walk(&base, 0x3000, GW_WRITE | GW_USER, &gpa, &err), (u64)-1);
	CHECK_EQ(err, 6); /* W | U, P clear */
	CHECK_EQ(walk(&base, 0x80000000, 0, &gpa, &err), (u64)-2); /* PD outside guest memory */
	CHECK_EQ(walk(&base, 0x800000000000UL, 0, &gpa, &err), (u64)-1); /* non-canonical */
}

static void rights(void)
{
	u64 gpa;
	u32 err;
	struct gwalk_regs r = base;
	build();
	CHECK_EQ(walk(&r, 0x2000, GW_USER, &gpa, &err), (u64)-1); /* user -> supervisor page */
	CHECK_EQ(err, 5);                                          /* P | U */
	CHECK_EQ(walk(&r, 0x2000, GW_WRITE, &gpa, &err), (u64)-1); /* read-only, CR0.WP=1 */
	CHECK_EQ(err, 3);
	r.cr0 &= ~X86_CR0_WP;
	CHECK_EQ(walk(&r, 0x2000, GW_WRITE, &gpa, &err), 0); /* WP=0: supervisor may write */
	CHECK_EQ(walk(&r, 0x200000, GW_WRITE | GW_USER, &gpa, &err), (u64)-1); /* but never the user */
	CHECK_EQ(walk(&r, 0x2000, GW_FETCH, &gpa, &err), (u64)-1); /* NX */
	CHECK_EQ(err, 0x11);                                       /* P | I */
	r.efer = 0;
	CHECK_EQ(walk(&r, 0x2000, GW_FETCH, &gpa, &err), 0); /* NX ignored without EFER.NXE */
	r = base;
	CHECK_EQ(walk(&r, 0x1000, GW_FETCH, &gpa, &err), 0); /* supervisor fetch from a user page */
	r.cr4 |= X86_CR4_SMEP;
	CHECK_EQ(walk(&r, 0x1000, GW_FETCH, &gpa, &err), (u64)-1);
	CHECK_EQ(err, 0x11);
	CHECK_EQ(walk(&r, 0x1000, GW_FETCH | GW_USER, &gpa, &err), 0);
	r = base;
	r.cr4 |= X86_CR4_SMAP;
	CHECK_EQ(walk(&r, 0x1000, 0, &gpa, &err), (u64)-1); /* supervisor data access to a user page */
	r.rflags |= X86_RFLAGS_AC;
	CHECK_EQ(walk(&r, 0x1000, 0, &gpa, &err), 0);                 /* allowed with AC=1 ... */
	CHECK_EQ(walk(&r, 0x1000, GW_IMPLICIT, &gpa, &err), (u64)-1); /* ... except implicit ones */
	CHECK_EQ(walk(&r, 0x1000, GW_USER, &gpa, &err), 0);           /* user accesses: no SMAP */
}

static void accessed_dirty(void)
{
	u64 gpa;
	u32 err;
	build();
	CHECK_EQ(walk(&base, 0x1000, GW_USER | GW_SET_AD, &gpa, &err), 0);
	CHECK((mem[0][0] & A) && (mem[1][0] & A) && (mem[2][0] & A) && (mem[3][1] & A));
	CHECK(!(mem[3][1] & D));
	CHECK_EQ(walk(&base, 0x1000, GW_USER | GW_WRITE | GW_SET_AD, &gpa, &err), 0);
	CHECK(mem[3][1] & D);
	CHECK(!(mem[2][0] & D)); /* dirty only in the leaf */
	CHECK_EQ(walk(&base, 0x3000, GW_SET_AD, &gpa, &err), (u64)-1);
	CHECK(!(mem[3][3] & A)); /* a failed walk sets nothing in the missing entry */
	mem[0][1] = 4 * 4096 | P | PS; /* PS in a PML4E is reserved */
	CHECK_EQ(walk(&base, 0x8000000000UL, 0, &gpa, &err), (u64)-1);
	CHECK_EQ(err & 9, 9); /* P | RSVD */
}

void unit_gwalk(void)
{
	sizes();
	rights();
	accessed_dirty();
}
