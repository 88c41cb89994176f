/* scen_rsvd.c: "page_walk_rsvd": reserved bits in the guest's paging-structure entries, with
 * the CPU as the reference. For each kind of entry (table "kinds" below) the guest builds its
 * own subtree of page tables at PML4 slot 3, sets the bits, and touches the address natively
 * (the CPU's #PF) and from an emulated region (the interpreter's walk, vmm/gwalk.c); both
 * error codes go to out[] for the hypervisor's suite guest_page_walk, which compares them.
 * Covers reads, writes, fetches and CPL 3 reads; 5-level paging is not exercised. */
#include "region.h"

#define PTE_P BIT(0)
#define PTE_W BIT(1)
#define PTE_U BIT(2)
#define PTE_PS BIT(7)
#define PTE_NX BIT(63)
#define PTE_ADDR 0x000ffffffffff000UL
#define TREE_SLOT 3UL
#define TREE_VA (TREE_SLOT << 39) /* the scenario's subtree: PML4 entry 3 */
#define PDPT_GPA GUEST_SCRATCH_PAGE(90)
#define PD_GPA GUEST_SCRATCH_PAGE(91)
#define PT_GPA GUEST_SCRATCH_PAGE(92)
#define DATA_GPA GUEST_SCRATCH_PAGE(93)          /* the word read: TREE_VA + WORD (4 KiB page) */
#define CODE_GPA(i) GUEST_SCRATCH_PAGE(94 + (i)) /* A: jmp B; B: ret (at TREE_VA + 2, 3 pages) */
#define COPY_FIRST 100                           /* scratch pages for the NX-free copy of the map */
#define COPY_LAST 139
#define WORD 0x18
#define WORD_VALUE 0x5ca1ab1e0000d00dUL
#define VA_4K (TREE_VA + WORD)
#define VA_2M (TREE_VA + 2 * MiB + (DATA_GPA & (2 * MiB - 1)) + WORD) /* PD[1] maps DATA's 2 MiB */
#define VA_1G (TREE_VA + GiB + DATA_GPA + WORD)                       /* PDPT[1] maps [0, 1 GiB) */
#define VA_A (TREE_VA + 2 * PAGE_SIZE)
#define NO_FAULT 0xffffffffUL /* out[] code of an access that did not fault */

/* The entry a kind changes: */
enum { E_PML4E, E_PDPTE, E_PDE, E_PTE, E_PDE_2M, E_PDPTE_1G, E_PTE_B };
/* The access: a read of VA_4K/2M/1G, a write, a fetch from B (through A), a CPL 3 read. */
enum { A_READ, A_WRITE, A_FETCH, A_USER };
/* What a kind needs (else it is skipped, bit k of out[30]): a reserved address bit
 * (MAXPHYADDR < 52), 1 GiB pages, none; EFER.NXE = 0 for it (on the NX-free copy). */
#define NEED_PA BIT(0)
#define NEED_1G BIT(1)
#define NEED_NO_1G BIT(2)
#define NO_NXE BIT(3)
#define MAXPHY BIT(11) /* in set: stands for BIT(MAXPHYADDR) (bit 11 itself is never set) */

struct kind {
	const char *name;
	u8 entry, access, needs;
	u64 set, clear;
	s8 below; /* >= 0: also this entry cleared of P (a not-present entry under the kind's) */
};

/* The order is that of tests/test_gwalk_guest.c's table: reserved (0-19), not present (20-21),
 * no fault (22-27). Bits of a not-present entry are never checked; a reserved bit wins over
 * the rights of the access. */
static const struct kind kinds[] = {
	{"bit MAXPHYADDR in a PML4E", E_PML4E, A_READ, NEED_PA, MAXPHY, 0, -1},
	{"bit MAXPHYADDR in a PDPTE", E_PDPTE, A_READ, NEED_PA, MAXPHY, 0, -1},
	{"bit MAXPHYADDR in a PDE", E_PDE, A_READ, NEED_PA, MAXPHY, 0, -1},
	{"bit MAXPHYADDR in a PTE", E_PTE, A_READ, NEED_PA, MAXPHY, 0, -1},
	{"bit 51 in a PTE", E_PTE, A_READ, NEED_PA, BIT(51), 0, -1},
	{"bit MAXPHYADDR in a 2-MByte PDE", E_PDE_2M, A_READ, NEED_PA, MAXPHY, 0, -1},
	{"bit MAXPHYADDR in a 1-GByte PDPTE", E_PDPTE_1G, A_READ, NEED_PA | NEED_1G, MAXPHY, 0, -1},
	{"XD in a PML4E with EFER.NXE = 0", E_PML4E, A_READ, NO_NXE, PTE_NX, 0, -1},
	{"XD in a PTE with EFER.NXE = 0, fetch", E_PTE_B, A_FETCH, NO_NXE, PTE_NX, 0, -1},
	{"PS in a PML4E", E_PML4E, A_READ, 0, PTE_PS, 0, -1},
	{"PS in a PDPTE without 1-GByte pages", E_PDPTE_1G, A_READ, NEED_NO_1G, PTE_P | PTE_W | PTE_PS, 0, -1},
	{"bit 13 in a 1-GByte PDPTE", E_PDPTE_1G, A_READ, NEED_1G, BIT(13), 0, -1},
	{"bit 29 in a 1-GByte PDPTE", E_PDPTE_1G, A_READ, NEED_1G, BIT(29), 0, -1},
	{"bit 13 in a 2-MByte PDE", E_PDE_2M, A_READ, 0, BIT(13), 0, -1},
	{"bit 20 in a 2-MByte PDE", E_PDE_2M, A_READ, 0, BIT(20), 0, -1},
	{"write, read-only PTE with bit MAXPHYADDR", E_PTE, A_WRITE, NEED_PA, MAXPHY, PTE_W, -1},
	{"fetch, NX PTE with bit MAXPHYADDR", E_PTE_B, A_FETCH, NEED_PA, MAXPHY | PTE_NX, 0, -1},
	{"CPL 3 read, PTE with bit MAXPHYADDR", E_PTE, A_USER, NEED_PA, MAXPHY, 0, -1},
	{"CPL 3 read, supervisor PTE with bit MAXPHYADDR", E_PTE, A_USER, NEED_PA, MAXPHY, PTE_U, -1},
	{"bit MAXPHYADDR in a PDE, its PTE not present", E_PDE, A_READ, NEED_PA, MAXPHY, 0, E_PTE},
	{"not-present PTE with bits 51 and 7", E_PTE, A_READ, 0, BIT(51) | PTE_PS, PTE_P, -1},
	{"not-present PML4E with PS", E_PML4E, A_READ, 0, PTE_PS, PTE_P, -1},
	{"bit 12 (PAT) in a 2-MByte PDE", E_PDE_2M, A_READ, 0, BIT(12), 0, -1},
	{"bit 12 (PAT) in a 1-GByte PDPTE", E_PDPTE_1G, A_READ, NEED_1G, BIT(12), 0, -1},
	{"bit 52 (ignored) in a PTE", E_PTE, A_READ, 0, BIT(52), 0, -1},
	{"XD in a PTE with EFER.NXE = 1, read", E_PTE, A_READ, 0, PTE_NX, 0, -1},
	{"bits 8 and 6 (ignored) in a PML4E", E_PML4E, A_READ, 0, BIT(8) | BIT(6), 0, -1},
	{"bit 7 (PAT) in a PTE", E_PTE, A_READ, 0, BIT(7), 0, -1},
};

static u32 maxphyaddr;
static bool pages_1g;
static u64 *pml4;          /* the PML4 in use: the kernel's, its NX-free copy, or the ring-3 one */
static u64 kcr3, nx_free_cr3, ucr3;
static struct rgn_regs regs;

static void cpu_features(void)
{
	u32 a, b, c, d, max;
	cpuid(0x80000000, 0, &max, &b, &c, &d);
	cpuid(0x80000001, 0, &a, &b, &c, &d);
	pages_1g = d & BIT(26);
	cpuid(0x80000008, 0, &a, &b, &c, &d);
	maxphyaddr = max >= 0x80000008 ? (a & 0xff) : 36;
}

/* The scenario's subtree, fresh: 4 KiB data page, code pages A and B (supervisor, executable),
 * a 2 MiB page, and a 1 GiB page where the CPU has them. U = 1 down to the data page. */
static void build_tree(void)
{
	u64 *pdpt = (u64 *)PDPT_GPA, *pd = (u64 *)PD_GPA, *pt = (u64 *)PT_GPA;
	memset(pdpt, 0, PAGE_SIZE), memset(pd, 0, PAGE_SIZE), memset(pt, 0, PAGE_SIZE);
	pml4[TREE_SLOT] = PDPT_GPA | PTE_P | PTE_W | PTE_U;
	pdpt[0] = PD_GPA | PTE_P | PTE_W | PTE_U;
	pdpt[1] = pages_1g ? PTE_P | PTE_W | PTE_PS : 0;
	pd[0] = PT_GPA | PTE_P | PTE_W | PTE_U;
	pd[1] = ALIGN_DOWN(DATA_GPA, 2 * MiB) | PTE_P | PTE_W | PTE_PS;
	pt[0] = DATA_GPA | PTE_P | PTE_W | PTE_U;
	pt[2] = CODE_GPA(0) | PTE_P;
	pt[3] = CODE_GPA(1) | PTE_P;
	write_cr3(read_cr3());
}

static u64 *entry(int e)
{
	u64 *pdpt = (u64 *)PDPT_GPA, *pd = (u64 *)PD_GPA, *pt = (u64 *)PT_GPA;
	u64 *const at[] = {&pml4[TREE_SLOT], &pdpt[0], &pd[0], &pt[0], &pd[1], &pdpt[1], &pt[3]};
	return at[e];
}

static void apply(const struct kind *k)
{
	u64 set = k->set & MAXPHY ? (k->set & ~MAXPHY) | BIT(maxphyaddr) : k->set;
	*entry(k->entry) = (*entry(k->entry) & ~k->clear) | set;
	if (k->below >= 0)
		*entry(k->below) &= ~PTE_P;
	write_cr3(read_cr3()); /* flushes the TLB and the paging-structure caches */
}

/* A copy of the table at level (4..1) with XD clear in every entry, for EFER.NXE = 0. */
static u64 copy_nx_free(const u64 *t, int level, u32 *next)
{
	if (*next > COPY_LAST) {
		guest_printf("page_walk_rsvd: out of pages for the NX-free copy\n");
		guest_exit(0xdd);
	}
	u64 *c = (u64 *)GUEST_SCRATCH_PAGE((*next)++);
	for (int i = 0; i < 512; i++) {
		u64 e = t[i] & ~PTE_NX;
		if ((e & PTE_P) && level > 1 && !(e & PTE_PS))
			e = copy_nx_free((const u64 *)(e & PTE_ADDR), level - 1, next) | (e & ~PTE_ADDR);
		c[i] = e;
	}
	return (u64)c;
}

/* The address space a kind runs in; EFER.NXE cleared only on the NX-free copy. */
static void enter(const struct kind *k)
{
	u64 cr3 = k->access == A_USER ? ucr3 : k->needs & NO_NXE ? nx_free_cr3 : kcr3;
	write_cr3(cr3);
	pml4 = (u64 *)cr3;
	if (k->needs & NO_NXE)
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) & ~EFER_NXE);
	build_tree();
}

static void leave(void)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	pml4[TREE_SLOT] = 0;
	write_cr3(kcr3);
	pml4 = (u64 *)kcr3;
}

static void invoke(void *fn) { rgn_invoke(&regs, fn); }
static void user_probe(void *arg)
{
	guest_user_call((u64(*)(void *))(RGN_USER_CODE + (rgn_user_probe - rgn_user_prog)), arg,
			(void *)RGN_USER_STACK_TOP);
}

/* One access of the kind's sort; *value gets what a read returned. */
static void touch(const struct kind *k, struct fault_info *f, u64 *value)
{
	u64 va = k->entry == E_PDE_2M ? VA_2M : k->entry == E_PDPTE_1G ? VA_1G : VA_4K;
	regs = (struct rgn_regs){.rflags = 2};
	regs.gpr[7] = va, regs.gpr[6] = 0x1234;
	void *fn = k->access == A_WRITE ? (void *)rgn_store8 : k->access == A_FETCH ? (void *)VA_A : (void *)rgn_read;
	if (k->access == A_USER)
		trap_catch(user_probe, (void *)va, f);
	else
		trap_catch(invoke, fn, f);
	*value = regs.gpr[0];
}

/* Natively, then with the code that makes the access in a region. Returns the out[] word:
 * native code | emulated code << 32, a code being vector << 16 | error code, or NO_FAULT. */
static u64 run_kind(const struct kind *k)
{
	struct fault_info n, e;
	u64 nv, ev;
	void *code = k->access == A_USER ? (void *)RGN_USER_CODE : k->access == A_FETCH ? (void *)VA_A : rgn_fault_page;
	u64 pages = k->access == A_FETCH ? 2 : 1; /* A and B: B's fetch is the interpreter's */
	enter(k);
	apply(k);
	touch(k, &n, &nv);
	build_tree(); /* the region's pages must translate when it is added */
	s64 id = rgn_add(code, pages * PAGE_SIZE);
	GEXPECT(id >= 0);
	apply(k);
	touch(k, &e, &ev);
	leave();
	struct hv_region_stats st = rgn_stats(id);
	rgn_remove(id);
	GEXPECT(st.entries >= 1);             /* the access was emulated, */
	GEXPECT_EQ(st.faults, e.vector >= 0); /* and its fault came from the interpreter */
	guest_printf("page_walk_rsvd: %s: native vector %d error %lx rip %lx cr2 %lx; emulated vector %d error %lx "
		     "rip %lx cr2 %lx\n",
		     k->name, n.vector, n.error_code, n.rip, n.cr2, e.vector, e.error_code, e.rip, e.cr2);
	GEXPECT_EQ(e.vector, n.vector);
	if (n.vector >= 0) {
		GEXPECT_EQ(e.rip, n.rip);
		GEXPECT_EQ(e.cr2, n.cr2);
	} else if (k->access == A_READ) {
		GEXPECT_EQ(nv, WORD_VALUE + 0x11); /* rgn_read adds 0x11 */
		GEXPECT_EQ(ev, WORD_VALUE + 0x11);
	}
	u64 nc = n.vector < 0 ? NO_FAULT : (u64)n.vector << 16 | (n.error_code & 0xffff);
	u64 ec = e.vector < 0 ? NO_FAULT : (u64)e.vector << 16 | (e.error_code & 0xffff);
	return nc | ec << 32;
}

static bool applies(const struct kind *k)
{
	return !((k->needs & NEED_PA && maxphyaddr >= 52) || (k->needs & NEED_1G && !pages_1g) ||
		 (k->needs & NEED_NO_1G && pages_1g));
}

/* arg: the kinds to run (bit k), 0 = all. out: 0-27 per kind (see run_kind; 0 = not run),
 * 28 MAXPHYADDR | 1 GiB pages << 8, 30 kinds this CPU cannot have (bit k), 31 number of kinds;
 * all but the per-kind words are written first, so a stopped guest leaves its kind at 0. */
void scen_page_walk_rsvd(struct hv_boot_info *bi)
{
	unsigned long long *o = bi->out;
	u32 next = COPY_FIRST;
	cpu_features();
	kcr3 = read_cr3();
	pml4 = (u64 *)kcr3;
	nx_free_cr3 = copy_nx_free(pml4, 4, &next);
	ucr3 = rgn_user_space();
	*(u64 *)DATA_GPA = 0, *(u64 *)(DATA_GPA + WORD) = WORD_VALUE;
	u8 *a = (u8 *)CODE_GPA(0);
	s32 rel = PAGE_SIZE - 5;
	a[0] = 0xe9; /* jmp B */
	memcpy(a + 1, &rel, 4);
	*(u8 *)CODE_GPA(1) = 0xc3; /* ret */
	guest_printf("page_walk_rsvd: MAXPHYADDR %u, 1-GByte pages %d, NX-free copy in %u pages\n", maxphyaddr,
		     pages_1g, next - COPY_FIRST);
	o[28] = maxphyaddr | (u64)pages_1g << 8;
	o[31] = ARRAY_SIZE(kinds);
	for (u32 i = 0; i < ARRAY_SIZE(kinds); i++)
		o[30] |= applies(&kinds[i]) ? 0 : BIT(i);
	for (u32 i = 0; i < ARRAY_SIZE(kinds); i++)
		if (applies(&kinds[i]) && (!bi->arg || (bi->arg & BIT(i))))
			o[i] = run_kind(&kinds[i]);
}
