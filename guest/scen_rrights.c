/* scen_rrights.c: "regions_rights": the guest's paging rights and bookkeeping as the
 * interpreter applies them, each case natively first (the CPU is the reference) and then in a
 * region: (a) CR0.WP: a supervisor store to a read-only page faults with WP = 1 and succeeds
 * with WP = 0; (b) NX: a fetch from a no-execute page inside the region; (c) SMAP (if the CPU
 * has it): a supervisor read of a user page faults unless RFLAGS.AC = 1; (d) accessed and
 * dirty bits: a read sets A, a write A and D in the leaf entry, as natively. */
#include "region.h"

#define X86_CR4_SMAP BIT(21)
#define RFLAGS_AC BIT(18)
#define PTE_A BIT(5)
#define PTE_D BIT(6)
#define VA (72 * MiB)                         /* beyond RAM: pages mapped by the cases */
#define PG(i) (VA + (u64)(i) * PAGE_SIZE)
#define PG_GPA(i) GUEST_SCRATCH_PAGE(60 + (i))

static struct rgn_regs regs;
static void invoke(void *fn) { rgn_invoke(&regs, fn); }

/* The leaf entry mapping va (4 KiB pages only), found through CR3 (identity-mapped tables). */
static u64 *pte_of(u64 va)
{
	u64 *t = (u64 *)(read_cr3() & ~0xfffUL);
	for (int shift = 39; shift > 12; shift -= 9)
		t = (u64 *)(t[(va >> shift) & 511] & 0x000ffffffffff000UL);
	return &t[(va >> 12) & 511];
}

/* fn(regs) natively, then (region registered) with the same regs: the fault of each, or -1. */
static void both(void *fn, const struct rgn_regs *r, struct fault_info *nat, struct fault_info *emu,
		 u64 region_pages, void *region)
{
	regs = *r;
	trap_catch(invoke, fn, nat);
	s64 id = rgn_add(region, region_pages * PAGE_SIZE);
	GEXPECT(id >= 0);
	regs = *r;
	trap_catch(invoke, fn, emu);
	rgn_remove(id);
}

static bool same(const char *what, const struct fault_info *n, const struct fault_info *e)
{
	guest_printf("regions_rights: %s: native vector %d error %lx rip %lx cr2 %lx; emulated vector %d error %lx "
		     "rip %lx cr2 %lx\n",
		     what, n->vector, n->error_code, n->rip, n->cr2, e->vector, e->error_code, e->rip, e->cr2);
	return n->vector == e->vector && (n->vector < 0 || (n->error_code == e->error_code && n->rip == e->rip)) &&
	       (n->vector != 14 || n->cr2 == e->cr2);
}

/* (a) out: 0 error code with WP = 1, 1 stores that landed with WP = 0 (2) */
static void write_protect(unsigned long long *o)
{
	struct fault_info n, e;
	struct rgn_regs r = {.rflags = 2};
	guest_map_4k(PG(0), PG_GPA(0), 0); /* read-only, supervisor, NX */
	r.gpr[7] = PG(0) + 8, r.gpr[6] = 0x5555;
	both(rgn_store8, &r, &n, &e, 1, rgn_fault_page);
	GEXPECT(same("store to a read-only page, WP=1", &n, &e));
	GEXPECT_EQ(e.vector, 14);
	GEXPECT_EQ(e.error_code, 3); /* P | W */
	u64 cr0 = read_cr0();
	write_cr0(cr0 & ~X86_CR0_WP);
	r.gpr[6] = 0x6666;
	regs = r;
	trap_catch(invoke, rgn_store8, &n);
	u64 landed = *(u64 *)(PG_GPA(0) + 8) == 0x6666;
	s64 id = rgn_add(rgn_fault_page, PAGE_SIZE);
	r.gpr[7] = PG(0) + 16, r.gpr[6] = 0x7777;
	regs = r;
	trap_catch(invoke, rgn_store8, &e);
	rgn_remove(id);
	write_cr0(cr0);
	landed += *(u64 *)(PG_GPA(0) + 16) == 0x7777;
	GEXPECT(n.vector == -1 && e.vector == -1);
	GEXPECT_EQ(landed, 2);
	o[0] = e.error_code, o[1] = landed;
}

/* (b) page 1 (executable) jumps to page 2 (NX): #PF I/D|P at page 2. out: 2 error code */
static void no_execute(unsigned long long *o)
{
	struct fault_info n, e;
	struct rgn_regs r = {.rflags = 2};
	guest_map_4k(PG(1), PG_GPA(1), GUEST_MAP_W | GUEST_MAP_X);
	guest_map_4k(PG(2), PG_GPA(2), GUEST_MAP_W);
	u8 *code = (u8 *)PG_GPA(1);
	s32 rel = PAGE_SIZE - 5;
	code[0] = 0xe9;
	memcpy(code + 1, &rel, 4);
	*(u8 *)PG_GPA(2) = 0xc3;
	both((void *)PG(1), &r, &n, &e, 2, (void *)PG(1));
	GEXPECT(same("fetch from an NX page", &n, &e));
	GEXPECT_EQ(e.vector, 14);
	GEXPECT_EQ(e.error_code, 0x11);
	GEXPECT_EQ(e.cr2, PG(2));
	o[2] = e.error_code;
}

/* (c) out: 3 SMAP case run (1/0), 4 error code with AC = 0, 5 reads that worked with AC = 1 */
static void smap(unsigned long long *o)
{
	u32 a, b, c, d;
	cpuid(0, 0, &a, &b, &c, &d);
	if (a >= 7)
		cpuid(7, 0, &a, &b, &c, &d);
	if (a < 7 || !(b & BIT(20))) {
		guest_printf("regions_rights: no SMAP on this CPU (CPUID.7.0:EBX[20] = 0): skipped\n");
		GEXPECT(1);
		return;
	}
	struct fault_info n, e;
	struct rgn_regs r = {.rflags = 2};
	guest_map_4k(PG(3), PG_GPA(3), GUEST_MAP_W | GUEST_MAP_U);
	*(u64 *)(PG_GPA(3) + 0x40) = 0x1234;
	r.gpr[7] = PG(3) + 0x40;
	u64 cr4 = read_cr4();
	write_cr4(cr4 | X86_CR4_SMAP);
	both(rgn_read, &r, &n, &e, 1, rgn_fault_page);
	GEXPECT(same("SMAP, AC=0", &n, &e));
	GEXPECT_EQ(e.vector, 14);
	GEXPECT_EQ(e.error_code, 1); /* P, read, supervisor */
	r.rflags = 2 | RFLAGS_AC;
	both(rgn_read, &r, &n, &e, 1, rgn_fault_page);
	write_cr4(cr4);
	GEXPECT(same("SMAP, AC=1", &n, &e));
	GEXPECT(n.vector == -1 && e.vector == -1);
	o[3] = 1, o[4] = 1, o[5] = (n.vector == -1) + (e.vector == -1);
	GEXPECT_EQ(regs.gpr[0], 0x1234 + 0x11);
}

/* (d) A and D in the leaf entry after a read and a write. out: 6 native bits, 7 emulated (as
 * read A | write A << 1 | write D << 2) */
static u64 ad_bits(u64 rd, u64 wr)
{
	u64 r = *pte_of(rd), w = *pte_of(wr);
	return (r & PTE_A ? 1 : 0) | (w & PTE_A ? 2 : 0) | (w & PTE_D ? 4 : 0) | (r & PTE_D ? 8 : 0);
}

static void accessed_dirty(unsigned long long *o)
{
	for (int i = 4; i < 8; i++)
		guest_map_4k(PG(i), PG_GPA(i), GUEST_MAP_W);
	GEXPECT_EQ(ad_bits(PG(4), PG(5)) | ad_bits(PG(6), PG(7)), 0);
	struct rgn_regs r = {.rflags = 2};
	r.gpr[7] = PG(4);
	regs = r, invoke(rgn_read);
	r.gpr[7] = PG(5), r.gpr[6] = 1;
	regs = r, invoke(rgn_store8);
	u64 nat = ad_bits(PG(4), PG(5));
	s64 id = rgn_add(rgn_fault_page, PAGE_SIZE);
	r.gpr[7] = PG(6);
	regs = r, invoke(rgn_read);
	r.gpr[7] = PG(7), r.gpr[6] = 1;
	regs = r, invoke(rgn_store8);
	struct hv_region_stats st = rgn_stats(id);
	rgn_remove(id);
	u64 emu = ad_bits(PG(6), PG(7));
	guest_printf("regions_rights: A/D bits (read A, write A, write D, read D): native %lx, emulated %lx; %llu "
		     "entries\n",
		     nat, emu, st.entries);
	GEXPECT_EQ(nat, 7);
	GEXPECT_EQ(emu, nat);
	GEXPECT_EQ(st.entries, 2);
	o[6] = nat, o[7] = emu;
}

void scen_regions_rights(struct hv_boot_info *bi)
{
	write_protect(bi->out);
	no_execute(bi->out);
	smap(bi->out);
	accessed_dirty(bi->out);
}
