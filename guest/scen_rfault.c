/* scen_rfault.c: "regions_faults": exceptions raised by code in an emulated region reach the
 * guest's handler as the CPU would deliver them. Each case runs natively first (the CPU is the
 * reference), then in a region: a ring-3 read of a supervisor page (#PF, P|U, CR2), a read of
 * a not-present page that the #PF handler maps (exactly one #PF, then the instruction
 * restarts in the interpreter and succeeds), SMEP (a supervisor fetch from a U=1 page inside
 * the region: #PF with I/D), #UD, #DE and #GP (non-canonical) with their RIP and error code. */
#include "region.h"

#define X86_CR4_SMEP BIT(20)
#define NP_VA (64 * MiB) /* beyond RAM: the guest never maps it until the #PF handler does */
#define NP_PAGE GUEST_SCRATCH_PAGE(23)

static u64 supervisor_word = 0x5eca1;
static struct rgn_regs regs;
static u64 pf_count, pf_rip, pf_cr2, pf_error;

static void invoke(void *fn)
{
	regs = (struct rgn_regs){.rflags = 2};
	rgn_invoke(&regs, fn);
}

static void call_probe(void *arg)
{
	guest_user_call((u64(*)(void *))(RGN_USER_CODE + (rgn_user_probe - rgn_user_prog)), arg,
			(void *)RGN_USER_STACK_TOP);
}

static bool same_fault(const char *what, const struct guest_fault *nat, const struct guest_fault *emu)
{
	guest_printf("regions_faults: %s: native vector %d error %lx rip %lx cr2 %lx; emulated vector %d "
		     "error %lx rip %lx cr2 %lx\n",
		     what, nat->vector, nat->error_code, nat->rip, nat->cr2, emu->vector, emu->error_code, emu->rip,
		     emu->cr2);
	return nat->vector == emu->vector && nat->error_code == emu->error_code && nat->rip == emu->rip &&
	       (nat->vector != 14 || nat->cr2 == emu->cr2);
}

/* (a) CPL 3 reads a supervisor word: #PF, error code P|U (5), CR2 = the address. */
static void user_reads_supervisor(unsigned long long *o)
{
	u64 ucr3 = rgn_user_space(), kcr3 = read_cr3();
	u64 rip = RGN_USER_CODE + (rgn_user_probe_insn - rgn_user_prog);
	struct guest_fault nat, emu;
	write_cr3(ucr3);
	guest_catch(call_probe, &supervisor_word, &nat);
	write_cr3(ucr3);
	s64 id = rgn_add((void *)RGN_USER_CODE, PAGE_SIZE);
	GEXPECT(id >= 0);
	guest_catch(call_probe, &supervisor_word, &emu);
	write_cr3(kcr3);
	struct hv_region_stats st = rgn_stats(id);
	rgn_remove(id);
	GEXPECT(same_fault("CPL 3 read of a supervisor page", &nat, &emu));
	GEXPECT_EQ(emu.vector, 14);
	GEXPECT_EQ(emu.error_code, 5);
	GEXPECT_EQ(emu.cr2, (u64)&supervisor_word);
	GEXPECT_EQ(emu.rip, rip);
	GEXPECT_EQ(st.faults, 1);
	GEXPECT_EQ(st.entries, 1);
	o[0] = emu.error_code, o[1] = st.faults;
}

/* The #PF handler for (b): maps the page at CR2 and retries. */
static bool map_on_fault(struct guest_frame *f)
{
	u64 cr2 = read_cr2();
	if (ALIGN_DOWN(cr2, PAGE_SIZE) != NP_VA && ALIGN_DOWN(cr2, PAGE_SIZE) != NP_VA + PAGE_SIZE)
		return false;
	pf_count++, pf_rip = f->rip, pf_cr2 = cr2, pf_error = f->error_code;
	guest_map_4k(ALIGN_DOWN(cr2, PAGE_SIZE), NP_PAGE, GUEST_MAP_W);
	return true;
}

/* (b) A read of a not-present page: one #PF (error 0: not present, read, supervisor), the
 * handler maps it, the read restarts and returns the word. Native at NP_VA, emulated at the
 * next page (the guest does not unmap). */
static void not_present_restarts(unsigned long long *o)
{
	u64 *word = (u64 *)(NP_PAGE + 0x18);
	*word = 0x77;
	guest_trap_set_handler(14, map_on_fault);
	struct rgn_regs nat = {.rflags = 2};
	nat.gpr[7] = NP_VA + 0x18;
	rgn_invoke(&nat, rgn_read);
	GEXPECT_EQ(pf_count, 1);
	GEXPECT_EQ(nat.gpr[0], 0x77 + 0x11);
	s64 id = rgn_add(rgn_fault_page, PAGE_SIZE);
	GEXPECT(id >= 0);
	pf_count = 0;
	struct rgn_regs emu = {.rflags = 2};
	emu.gpr[7] = NP_VA + PAGE_SIZE + 0x18;
	rgn_invoke(&emu, rgn_read);
	guest_trap_set_handler(14, NULL);
	struct hv_region_stats st = rgn_stats(id);
	rgn_remove(id);
	GEXPECT_EQ(pf_count, 1); /* exactly one #PF, no loop */
	GEXPECT_EQ(pf_rip, (u64)rgn_read_insn);
	GEXPECT_EQ(pf_cr2, NP_VA + PAGE_SIZE + 0x18);
	GEXPECT_EQ(pf_error, 0);
	GEXPECT_EQ(emu.gpr[0], 0x77 + 0x11);
	GEXPECT_EQ(st.faults, 1);
	GEXPECT_EQ(st.entries, 2); /* the call, and the restart after the handler */
	guest_printf("regions_faults: not present: %lu #PF, error %lx, then %llu entries, %llu instructions\n",
		     pf_count, pf_error, st.entries, st.instructions);
	o[0] = pf_count, o[1] = st.entries;
}

/* (c) SMEP: supervisor code in page A (S) of a two-page region jumps to page B (U=1). The
 * CPU's fetch from B faults with I/D|P = 0x11; so must the interpreter's (the CPU never
 * fetches B). Returns 1 when run, 0 when this CPU has no SMEP. */
static u64 smep(unsigned long long *o)
{
	u32 a, b, c, d;
	cpuid(0, 0, &a, &b, &c, &d);
	if (a < 7)
		return 0;
	cpuid(7, 0, &a, &b, &c, &d);
	if (!(b & BIT(7)))
		return 0;
	u64 pa = guest_page(24, GUEST_MAP_X), pb = guest_page(25, GUEST_MAP_X | GUEST_MAP_U);
	u8 *code = (u8 *)pa;
	s32 rel = (s32)(pb - (pa + 5));
	code[0] = 0xe9; /* jmp B */
	memcpy(code + 1, &rel, 4);
	*(u8 *)pb = 0xc3; /* ret */
	struct guest_fault nat, emu;
	u64 cr4 = read_cr4();
	write_cr4(cr4 | X86_CR4_SMEP);
	guest_catch(invoke, (void *)pa, &nat);
	s64 id = rgn_add((void *)pa, 2 * PAGE_SIZE);
	GEXPECT(id >= 0);
	guest_catch(invoke, (void *)pa, &emu);
	write_cr4(cr4);
	struct hv_region_stats st = rgn_stats(id);
	rgn_remove(id);
	GEXPECT(same_fault("SMEP", &nat, &emu));
	GEXPECT_EQ(emu.vector, 14);
	GEXPECT_EQ(emu.error_code, 0x11);
	GEXPECT_EQ(emu.cr2, pb);
	GEXPECT_EQ(emu.rip, pb);
	GEXPECT_EQ(st.faults, 1);
	o[0] = emu.error_code;
	return 1;
}

/* (d) #UD, #DE, #GP(0) from the region's fault page. */
static void ud_de_gp(unsigned long long *o)
{
	void *const fn[3] = {rgn_ud, rgn_de, rgn_gp};
	const u64 rip[3] = {(u64)rgn_ud_insn, (u64)rgn_de_insn, (u64)rgn_gp_insn};
	const int vec[3] = {6, 0, 13};
	const char *const name[3] = {"#UD", "#DE", "#GP non-canonical"};
	struct guest_fault nat[3], emu[3];
	for (int i = 0; i < 3; i++)
		guest_catch(invoke, fn[i], &nat[i]);
	s64 id = rgn_add(rgn_fault_page, PAGE_SIZE);
	GEXPECT(id >= 0);
	for (int i = 0; i < 3; i++)
		guest_catch(invoke, fn[i], &emu[i]);
	struct hv_region_stats st = rgn_stats(id);
	rgn_remove(id);
	for (int i = 0; i < 3; i++) {
		GEXPECT(same_fault(name[i], &nat[i], &emu[i]));
		GEXPECT_EQ(emu[i].vector, vec[i]);
		GEXPECT_EQ(emu[i].rip, rip[i]);
		GEXPECT_EQ(emu[i].error_code, 0);
		o[i] = emu[i].vector;
	}
	GEXPECT_EQ(st.faults, 3);
	GEXPECT_EQ(st.entries, 3);
}

/* out: 0-1 (a) error code, faults; 2-3 (b) #PFs, entries; 4 SMEP run (0: no SMEP), 5 its error
 * code; 6-8 the vectors of (d) */
void scen_regions_faults(struct hv_boot_info *bi)
{
	unsigned long long *o = bi->out;
	user_reads_supervisor(&o[0]);
	not_present_restarts(&o[2]);
	o[4] = smep(&o[5]);
	if (!o[4]) {
		guest_printf("regions_faults: no SMEP on this CPU (CPUID.7.0:EBX[7] = 0): skipped\n");
		GEXPECT(1);
	}
	ud_de_gp(&o[6]);
}
