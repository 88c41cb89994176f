/* test_gwalk.c: vmm/gwalk.c on hand-built guest page tables in a host buffer: 4 KiB, 2 MiB and
 * 1 GiB pages, every permission rule (U/S, R/W with CR0.WP, NX, SMEP, SMAP with RFLAGS.AC and
 * implicit accesses), page-fault error codes, accessed/dirty bits, non-canonical addresses, and
 * every reserved-bit rule of 4-level paging, each with a neighbouring bit that must not fault. */
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
#define RSVD 8UL /* the error code's RSVD bit */

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

/* The table pages again every 4 GiB of "physical" addresses: an address bit that is not
 * reserved (up to MAXPHYADDR - 1) leads to the same tables, so the walk goes on. */
static u64 *table_wrap(void *ctx, u64 gpa) { return table(ctx, gpa & 0xffffffffUL); }

static const struct gwalk_regs base = {.cr0 = X86_CR0_PG | X86_CR0_WP,
				       .cr3 = 0,
				       .cr4 = X86_CR4_PAE,
				       .efer = MSR_EFER_NXE,
				       .rflags = 2,
				       .cpu = {.maxphyaddr = 40, .pages_1g = true}};

static int walk(const struct gwalk_regs *r, u64 va, u32 acc, u64 *gpa, u32 *err)
{
	return gwalk(r, va, acc, gpa, err, NULL, table, NULL);
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
	CHECK_EQ(walk(&r, 0x2000, GW_FETCH, &gpa, &err), (u64)-1); /* without EFER.NXE, XD is reserved */
	CHECK_EQ(err, 9);                                          /* P | RSVD: no I/D with NXE = 0 */
	mem[3][2] &= ~NX;
	CHECK_EQ(walk(&r, 0x2000, GW_FETCH, &gpa, &err), 0);
	build();
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

/* One walk of va through table_wrap: rc, and *gpa or *err. */
static int walk_wrap(const struct gwalk_regs *r, u64 va, u32 acc, u64 *gpa, u32 *err)
{
	*gpa = ~0UL, *err = ~0U;
	return gwalk(r, va, acc, gpa, err, NULL, table_wrap, NULL);
}

/* The entries of build()'s tables and an address each translates, with its GPA. */
static const struct level_case {
	const char *what;
	int page, index; /* the entry: mem[page][index] */
	u64 va, gpa;
} entries[] = {
	{"PML4E", 0, 0, 0x1234, 0x5234},
	{"PDPTE", 1, 0, 0x1234, 0x5234},
	{"PDE", 2, 0, 0x1234, 0x5234},
	{"PTE", 3, 1, 0x1234, 0x5234},
	{"2-MByte PDE", 2, 1, 0x2abcde, 0x6abcde},
	{"1-GByte PDPTE", 1, 1, 0x41234567, 0x81234567},
};

/* Sets bit in entry e, walks (a user read for 4 KiB and 2 MiB, supervisor for 1 GiB), clears it. */
static int with_bit(const struct gwalk_regs *r, const struct level_case *e, int bit, u32 acc, u64 *gpa, u32 *err)
{
	build();
	mem[e->page][e->index] |= BIT(bit);
	int rc = walk_wrap(r, e->va, acc | (e->page == 1 && e->index == 1 ? 0 : GW_USER), gpa, err);
	mem[e->page][e->index] &= ~BIT(bit);
	return rc;
}

#define EXPECT_RSVD(rc, err, want)                                                                               \
	do {                                                                                                     \
		CHECK_EQ(rc, (u64)-1);                                                                           \
		CHECK_EQ(err, want);                                                                             \
	} while (0)

/* Bits 51:MAXPHYADDR in every entry (SDM "Reserved Bits"), for MAXPHYADDR 36, 40, 46 and 52:
 * bit MAXPHYADDR and bit 51 fault with P|RSVD (plus U: a user read); bit MAXPHYADDR - 1 is an
 * address bit (the walk goes on; in a leaf it shows in the GPA). */
static void reserved_address_bits(void)
{
	static const int widths[] = {36, 40, 46, 52};
	struct gwalk_regs r = base;
	u64 gpa;
	u32 err;
	for (u32 w = 0; w < ARRAY_SIZE(widths); w++) {
		r.cpu.maxphyaddr = widths[w];
		for (u32 i = 0; i < ARRAY_SIZE(entries); i++) {
			const struct level_case *e = &entries[i];
			u32 u = e->page == 1 && e->index == 1 ? 0 : 4;
			bool leaf = i >= 3;
			int below = r.cpu.maxphyaddr - 1;
			CHECK_EQ(with_bit(&r, e, below, 0, &gpa, &err), 0);
			CHECK_EQ(gpa, e->gpa | (leaf ? BIT(below) : 0));
			if (r.cpu.maxphyaddr == 52)
				continue; /* no reserved address bits */
			EXPECT_RSVD(with_bit(&r, e, r.cpu.maxphyaddr, 0, &gpa, &err), err, 1 | RSVD | u);
			EXPECT_RSVD(with_bit(&r, e, 51, 0, &gpa, &err), err, 1 | RSVD | u);
			CHECK_EQ(with_bit(&r, e, 52, 0, &gpa, &err), 0); /* 62:52 ignored */
			CHECK_EQ(gpa, e->gpa);
		}
	}
}

/* XD (bit 63) is reserved in every entry when IA32_EFER.NXE = 0; with NXE = 1 it only forbids
 * fetches (P|I/D, no RSVD). Bit 62 is ignored either way. */
static void reserved_xd_without_nxe(void)
{
	struct gwalk_regs r = base;
	u64 gpa;
	u32 err;
	for (u32 i = 0; i < ARRAY_SIZE(entries); i++) {
		const struct level_case *e = &entries[i];
		u32 u = e->page == 1 && e->index == 1 ? 0 : 4;
		r.efer = 0;
		EXPECT_RSVD(with_bit(&r, e, 63, 0, &gpa, &err), err, 1 | RSVD | u);
		EXPECT_RSVD(with_bit(&r, e, 63, GW_FETCH, &gpa, &err), err, 1 | RSVD | u); /* no I/D: NXE = 0 */
		CHECK_EQ(with_bit(&r, e, 62, 0, &gpa, &err), 0);
		r.efer = MSR_EFER_NXE;
		CHECK_EQ(with_bit(&r, e, 63, 0, &gpa, &err), 0);
		CHECK_EQ(gpa, e->gpa);
		EXPECT_RSVD(with_bit(&r, e, 63, GW_FETCH, &gpa, &err), err, 1 | 0x10 | u); /* NX: P|I/D */
	}
}

/* PS (bit 7) is reserved in a PML4E; in a PDPTE it maps a 1 GiB page only where the CPU has
 * them (CPUID.80000001H:EDX[26]), else it is reserved too. Bits 6 and 8 of a PML4E are ignored. */
static void reserved_page_size(void)
{
	struct gwalk_regs r = base;
	u64 gpa;
	u32 err;
	EXPECT_RSVD(with_bit(&r, &entries[0], 7, 0, &gpa, &err), err, 1 | RSVD | 4);
	CHECK_EQ(with_bit(&r, &entries[0], 6, 0, &gpa, &err), 0);
	CHECK_EQ(with_bit(&r, &entries[0], 8, 0, &gpa, &err), 0);
	CHECK_EQ(walk_wrap(&r, 0x41234567, 0, &gpa, &err), 0); /* the 1 GiB page, with 1 GiB pages */
	CHECK_EQ(gpa, 0x81234567);
	r.cpu.pages_1g = false;
	EXPECT_RSVD(walk_wrap(&r, 0x41234567, 0, &gpa, &err), err, 1 | RSVD);
	CHECK_EQ(walk_wrap(&r, 0x1234, GW_USER, &gpa, &err), 0); /* PS = 0 in a PDPTE: fine either way */
	CHECK_EQ(with_bit(&r, &entries[4], 7, 0, &gpa, &err), 0); /* PS in a PDE: a 2 MiB page */
	CHECK_EQ(gpa, 0x6abcde);
}

/* Bits 29:13 of a 1-GByte PDPTE and 20:13 of a 2-MByte PDE are reserved; bit 12 is PAT (not in
 * the GPA), the next bit up an address bit. In a PTE, bits 20:13 are address bits and bit 7 is
 * PAT. */
static void reserved_large_page_bits(void)
{
	const struct level_case *pdpte = &entries[5], *pde = &entries[4], *pte = &entries[3];
	u64 gpa;
	u32 err;
	for (int bit = 13; bit <= 29; bit++)
		EXPECT_RSVD(with_bit(&base, pdpte, bit, 0, &gpa, &err), err, 1 | RSVD);
	CHECK_EQ(with_bit(&base, pdpte, 12, 0, &gpa, &err), 0);
	CHECK_EQ(gpa, 0x81234567);
	CHECK_EQ(with_bit(&base, pdpte, 30, 0, &gpa, &err), 0);
	CHECK_EQ(gpa, 0xc1234567);
	for (int bit = 13; bit <= 20; bit++)
		EXPECT_RSVD(with_bit(&base, pde, bit, 0, &gpa, &err), err, 1 | RSVD | 4);
	CHECK_EQ(with_bit(&base, pde, 12, 0, &gpa, &err), 0);
	CHECK_EQ(gpa, 0x6abcde);
	CHECK_EQ(with_bit(&base, pde, 23, 0, &gpa, &err), 0);
	CHECK_EQ(gpa, 0xeabcde);
	CHECK_EQ(with_bit(&base, pte, 13, 0, &gpa, &err), 0);
	CHECK_EQ(gpa, 0x7234);
	CHECK_EQ(with_bit(&base, pte, 7, 0, &gpa, &err), 0);
	CHECK_EQ(gpa, 0x5234);
}

/* A reserved bit is reported before anything a later step checks (U/S, R/W, NX, a not-present
 * entry further down); a not-present entry's other bits are not looked at; RSVD comes with P
 * and the W, U and I/D bits of the access. */
static void reserved_order(void)
{
	struct gwalk_regs r = base;
	u64 gpa;
	u32 err;
	build();
	mem[3][2] |= BIT(45); /* 0x2000: supervisor, read-only, NX */
	EXPECT_RSVD(walk_wrap(&r, 0x2000, GW_USER, &gpa, &err), err, 1 | RSVD | 4);    /* not P|U */
	EXPECT_RSVD(walk_wrap(&r, 0x2000, GW_WRITE, &gpa, &err), err, 1 | RSVD | 2);   /* not P|W */
	EXPECT_RSVD(walk_wrap(&r, 0x2000, GW_FETCH, &gpa, &err), err, 1 | RSVD | 0x10); /* not NX */
	r.cr4 |= X86_CR4_SMEP, r.efer = 0, mem[3][2] &= ~NX;
	EXPECT_RSVD(walk_wrap(&r, 0x2000, GW_FETCH, &gpa, &err), err, 1 | RSVD | 0x10); /* I/D by SMEP */
	r = base;
	build();
	mem[2][0] &= ~U, mem[2][0] |= BIT(40); /* the PDE: supervisor and reserved */
	EXPECT_RSVD(walk_wrap(&r, 0x1234, GW_USER | GW_WRITE, &gpa, &err), err, 1 | RSVD | 4 | 2);
	build();
	mem[0][0] |= PS;     /* a reserved bit in the PML4E ... */
	mem[3][1] &= ~P;     /* ... and a not-present PTE below it */
	EXPECT_RSVD(walk_wrap(&r, 0x1234, 0, &gpa, &err), err, 1 | RSVD);
	build();
	mem[3][3] = BIT(45) | NX | 0x3fe000 | PS; /* not present: nothing else counts */
	EXPECT_RSVD(walk_wrap(&r, 0x3000, GW_WRITE, &gpa, &err), err, 2);
	mem[0][1] = PS | BIT(51); /* a not-present PML4E with PS */
	EXPECT_RSVD(walk_wrap(&r, 0x8000000000UL, 0, &gpa, &err), err, 0);
	r.efer = 0;
	mem[3][3] = NX; /* XD without NXE, but not present */
	EXPECT_RSVD(walk_wrap(&r, 0x3000, 0, &gpa, &err), err, 0);
	build();
	mem[3][1] |= BIT(40);
	CHECK_EQ(walk_wrap(&base, 0x1000, GW_USER | GW_SET_AD, &gpa, &err), (u64)-1);
	CHECK(!(mem[3][1] & (A | D))); /* a faulting walk sets no A/D bit in its leaf */
}

/* What the walk refuses to do: 5-level paging, and regs whose CPU fields were not filled. */
static void refused(void)
{
	struct gwalk_regs r = base;
	u64 gpa;
	u32 err;
	build();
	r.cr4 |= BIT(12); /* CR4.LA57 */
	CHECK_EQ(walk_wrap(&r, 0x1234, 0, &gpa, &err), (u64)-2);
	r = base;
	r.cpu.maxphyaddr = 0;
	CHECK_EQ(walk_wrap(&r, 0x1234, 0, &gpa, &err), (u64)-2);
	r.cpu = gwalk_this_cpu(); /* this host's CPU: some plausible width */
	CHECK(r.cpu.maxphyaddr >= 36 && r.cpu.maxphyaddr <= 52);
}

/* The translation's combined rights (for an EPT violation's advanced exit information): user
 * and writable only if every level says so, execute-disabled if any level does. */
static void translation_rights(void)
{
	u64 gpa;
	u32 err, r = 0xff;
	build();
	CHECK_EQ(gwalk(&base, 0x1234, 0, &gpa, &err, &r, table, NULL), 0);
	CHECK_EQ(r, GWR_USER | GWR_WRITE);
	CHECK_EQ(gwalk(&base, 0x2000, 0, &gpa, &err, &r, table, NULL), 0);
	CHECK_EQ(r, GWR_NX);
	CHECK_EQ(gwalk(&base, 0x200000, 0, &gpa, &err, &r, table, NULL), 0);
	CHECK_EQ(r, GWR_USER);
	CHECK_EQ(gwalk(&base, 0x40000000, 0, &gpa, &err, &r, table, NULL), 0);
	CHECK_EQ(r, GWR_WRITE);
	r = 0xff;
	CHECK_EQ(gwalk(&base, 0x3000, 0, &gpa, &err, &r, table, NULL), (u64)-1);
	CHECK_EQ(r, 0xff); /* untouched by a fault */
}

void unit_gwalk(void)
{
	translation_rights();
	sizes();
	rights();
	accessed_dirty();
	reserved_address_bits();
	reserved_xd_without_nxe();
	reserved_page_size();
	reserved_large_page_bits();
	reserved_order();
	refused();
}
