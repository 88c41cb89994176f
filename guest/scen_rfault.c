/* scen_rfault.c: "regions_faults" and "regions_stepfault": exceptions raised by code in an emulated region reach the
 * guest's handler as the CPU would deliver them. Each case runs natively first (the CPU is the
 * reference), then in a region: a ring-3 read of a supervisor page (#PF, P|U, CR2), a read of
 * a not-present page that the #PF handler maps (exactly one #PF, then the instruction
 * restarts in the interpreter and succeeds), SMEP (a supervisor fetch from a U=1 page inside
 * the region: #PF with I/D), #UD, #DE and #GP (non-canonical) with their RIP and error code,
 * a store across into a not-present page, a REP MOVSB that faults mid-way and resumes; and
 * ("regions_stepfault") an instruction the CPU runs for the interpreter that faults there. */
#include "region.h"

#define X86_CR4_SMEP BIT(20)
#define NP_VA (64 * MiB) /* beyond RAM: the guest maps its pages only as the cases need them */
#define NP_PAGES 16
#define NP(i) (NP_VA + (u64)(i) * PAGE_SIZE)   /* page i of it, backed by: */
#define NP_GPA(i) GUEST_SCRATCH_PAGE(40 + (i))

#define RFLAGS_TF BIT(8)
#define RFLAGS_RF BIT(16) /* pushed as 1 for faults on CPUs that do (SDM "EFLAGS.RF") */
#define FRAME_FLAGS (RFLAGS_TF | RFLAGS_RF)

static u64 supervisor_word = 0x5eca1;
static struct rgn_regs regs;
static u64 pf_count, pf_rip, pf_cr2, pf_error, pf_rflags;
static u64 frame_rflags; /* RFLAGS in the frame of the last exception caught */

/* Sees every #DE, #UD, #GP, #PF first and lets trap_catch() have it: the frame's RFLAGS. */
static bool note_frame(struct trap_frame *f)
{
	frame_rflags = f->rflags;
	return false;
}
static void note_frames(bool on)
{
	static const int vectors[] = {0, 6, 13, 14};
	for (u32 i = 0; i < ARRAY_SIZE(vectors); i++)
		guest_trap_set_handler(vectors[i], on ? note_frame : NULL);
}

/* A fault caught natively and in a region, with the RFLAGS of its frame. */
struct caught {
	struct fault_info f;
	u64 rflags;
};
static void catch_frame(void (*fn)(void *), void *arg, struct caught *c)
{
	frame_rflags = ~0UL;
	note_frames(true);
	trap_catch(fn, arg, &c->f);
	note_frames(false);
	c->rflags = frame_rflags;
}

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

static bool same_fault(const char *what, const struct caught *n, const struct caught *e)
{
	const struct fault_info *nat = &n->f, *emu = &e->f;
	guest_printf("regions_faults: %s: native vector %d error %lx rip %lx cr2 %lx rflags %lx; emulated vector "
		     "%d error %lx rip %lx cr2 %lx rflags %lx\n",
		     what, nat->vector, nat->error_code, nat->rip, nat->cr2, n->rflags, emu->vector, emu->error_code,
		     emu->rip, emu->cr2, e->rflags);
	return nat->vector == emu->vector && nat->error_code == emu->error_code && nat->rip == emu->rip &&
	       (nat->vector != 14 || nat->cr2 == emu->cr2);
}

/* The frame's RFLAGS.TF and RF must be as natively: TF is checked here; a different RF is
 * counted in out[15] for the hypervisor's case fault_frames_match_native (so that it fails
 * alone). The SDM has RF = 1 pushed for every fault-class exception but instruction
 * breakpoints; Bochs 2.7's Ivy Bridge model pushes RF = 0 for a #UD raised at decode (UD2),
 * its Skylake model RF = 1, so #UD's RF is printed, not counted (count_rf false). */
static u64 frame_mismatches;
static void same_frame(const char *what, const struct caught *n, const struct caught *e, bool count_rf)
{
	if ((n->rflags ^ e->rflags) & FRAME_FLAGS) {
		frame_mismatches += count_rf || ((n->rflags ^ e->rflags) & RFLAGS_TF);
		guest_printf("regions_faults: %s: the handler's RFLAGS differ: native %lx, emulated %lx\n", what,
			     n->rflags, e->rflags);
	}
	GEXPECT_EQ(e->rflags & RFLAGS_TF, n->rflags & RFLAGS_TF);
}

/* (a) CPL 3 reads a supervisor word: #PF, error code P|U (5), CR2 = the address. */
static void user_reads_supervisor(unsigned long long *o)
{
	u64 ucr3 = rgn_user_space(), kcr3 = read_cr3();
	u64 rip = RGN_USER_CODE + (rgn_user_probe_insn - rgn_user_prog);
	struct caught n, e;
	write_cr3(ucr3);
	catch_frame(call_probe, &supervisor_word, &n);
	write_cr3(ucr3);
	s64 id = rgn_add((void *)RGN_USER_CODE, PAGE_SIZE);
	GEXPECT(id >= 0);
	catch_frame(call_probe, &supervisor_word, &e);
	write_cr3(kcr3);
	struct hv_region_stats st = rgn_stats(id);
	rgn_remove(id);
	GEXPECT(same_fault("CPL 3 read of a supervisor page", &n, &e));
	same_frame("CPL 3 read of a supervisor page", &n, &e, true);
	GEXPECT_EQ(e.f.vector, 14);
	GEXPECT_EQ(e.f.error_code, 5);
	GEXPECT_EQ(e.f.cr2, (u64)&supervisor_word);
	GEXPECT_EQ(e.f.rip, rip);
	GEXPECT_EQ(st.faults, 1);
	GEXPECT_EQ(st.entries, 1);
	o[0] = e.f.error_code, o[1] = st.faults;
}

/* The #PF handler for (b) and (f): maps the page at CR2 and retries. */
static bool map_on_fault(struct trap_frame *f)
{
	u64 cr2 = read_cr2();
	if (cr2 < NP_VA || cr2 >= NP(NP_PAGES))
		return false;
	pf_count++, pf_rip = f->rip, pf_cr2 = cr2, pf_error = f->error_code, pf_rflags = f->rflags;
	guest_map_4k(ALIGN_DOWN(cr2, PAGE_SIZE), NP_GPA((cr2 - NP_VA) / PAGE_SIZE), GUEST_MAP_W);
	return true;
}

/* (b) A read of a not-present page: one #PF (error 0: not present, read, supervisor), the
 * handler maps it, the read restarts and returns the word. Native at NP_VA, emulated at the
 * next page (the guest does not unmap). */
static void not_present_restarts(unsigned long long *o)
{
	*(u64 *)(NP_GPA(0) + 0x18) = 0x77;
	*(u64 *)(NP_GPA(1) + 0x18) = 0x77;
	guest_trap_set_handler(14, map_on_fault);
	struct rgn_regs nat = {.rflags = 2};
	nat.gpr[7] = NP(0) + 0x18;
	rgn_invoke(&nat, rgn_read);
	GEXPECT_EQ(pf_count, 1);
	GEXPECT_EQ(nat.gpr[0], 0x77 + 0x11);
	struct caught nf = {.rflags = pf_rflags}, ef;
	s64 id = rgn_add(rgn_fault_page, PAGE_SIZE);
	GEXPECT(id >= 0);
	pf_count = 0;
	struct rgn_regs emu = {.rflags = 2};
	emu.gpr[7] = NP(1) + 0x18;
	rgn_invoke(&emu, rgn_read);
	guest_trap_set_handler(14, NULL);
	struct hv_region_stats st = rgn_stats(id);
	rgn_remove(id);
	ef.rflags = pf_rflags;
	same_frame("not present", &nf, &ef, true);
	GEXPECT_EQ(pf_count, 1); /* exactly one #PF, no loop */
	GEXPECT_EQ(pf_rip, (u64)rgn_read_insn);
	GEXPECT_EQ(pf_cr2, NP(1) + 0x18);
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
	struct caught n, e;
	u64 cr4 = read_cr4();
	write_cr4(cr4 | X86_CR4_SMEP);
	catch_frame(invoke, (void *)pa, &n);
	s64 id = rgn_add((void *)pa, 2 * PAGE_SIZE);
	GEXPECT(id >= 0);
	catch_frame(invoke, (void *)pa, &e);
	write_cr4(cr4);
	struct hv_region_stats st = rgn_stats(id);
	rgn_remove(id);
	GEXPECT(same_fault("SMEP", &n, &e));
	same_frame("SMEP", &n, &e, true);
	GEXPECT_EQ(e.f.vector, 14);
	GEXPECT_EQ(e.f.error_code, 0x11);
	GEXPECT_EQ(e.f.cr2, pb);
	GEXPECT_EQ(e.f.rip, pb);
	GEXPECT_EQ(st.faults, 1);
	o[0] = e.f.error_code;
	return 1;
}

/* (d) #UD, #DE, #GP(0) from the region's fault page. */
static void ud_de_gp(unsigned long long *o)
{
	void *const fn[3] = {rgn_ud, rgn_de, rgn_gp};
	const u64 rip[3] = {(u64)rgn_ud_insn, (u64)rgn_de_insn, (u64)rgn_gp_insn};
	const int vec[3] = {6, 0, 13};
	const char *const name[3] = {"#UD", "#DE", "#GP non-canonical"};
	struct caught nat[3], emu[3];
	for (int i = 0; i < 3; i++)
		catch_frame(invoke, fn[i], &nat[i]);
	s64 id = rgn_add(rgn_fault_page, PAGE_SIZE);
	GEXPECT(id >= 0);
	for (int i = 0; i < 3; i++)
		catch_frame(invoke, fn[i], &emu[i]);
	struct hv_region_stats st = rgn_stats(id);
	rgn_remove(id);
	for (int i = 0; i < 3; i++) {
		GEXPECT(same_fault(name[i], &nat[i], &emu[i]));
		same_frame(name[i], &nat[i], &emu[i], vec[i] != 6);
		GEXPECT_EQ(emu[i].f.vector, vec[i]);
		GEXPECT_EQ(emu[i].f.rip, rip[i]);
		GEXPECT_EQ(emu[i].f.error_code, 0);
		o[i] = emu[i].f.vector;
	}
	GEXPECT_EQ(st.faults, 3);
	GEXPECT_EQ(st.entries, 3);
}

/* (e) An 8-byte store across a page boundary into a not-present page: #PF (error 2: write,
 * not present), nothing written on the present page. Native at pages 4|5, emulated at 6|7. */
static struct rgn_regs cross_regs;
static void cross_store(void *fn)
{
	rgn_invoke(&cross_regs, fn);
}

static void store_across_pages(unsigned long long *o)
{
	struct caught n, e;
	struct fault_info *nat = &n.f, *emu = &e.f;
	u64 tail[2];
	for (int i = 4; i <= 6; i += 2) {
		guest_map_4k(NP(i), NP_GPA(i), GUEST_MAP_W);
		*(u64 *)(NP(i + 1) - 8) = 0xabababababababab;
	}
	cross_regs = (struct rgn_regs){.rflags = 2};
	cross_regs.gpr[7] = NP(5) - 4, cross_regs.gpr[6] = 0x1122334455667788;
	catch_frame(cross_store, rgn_store8, &n);
	tail[0] = *(u64 *)(NP(5) - 8);
	s64 id = rgn_add(rgn_fault_page, PAGE_SIZE);
	GEXPECT(id >= 0);
	cross_regs = (struct rgn_regs){.rflags = 2};
	cross_regs.gpr[7] = NP(7) - 4, cross_regs.gpr[6] = 0x1122334455667788;
	catch_frame(cross_store, rgn_store8, &e);
	tail[1] = *(u64 *)(NP(7) - 8);
	struct hv_region_stats st = rgn_stats(id);
	rgn_remove(id);
	guest_printf("regions_faults: store across pages: native cr2 %lx (page +%lx), emulated cr2 %lx (page "
		     "+%lx); present page's bytes %lx / %lx\n",
		     nat->cr2, nat->cr2 - NP(4), emu->cr2, emu->cr2 - NP(6), tail[0], tail[1]);
	same_frame("store across pages", &n, &e, true);
	GEXPECT(nat->vector == 14 && emu->vector == 14);
	GEXPECT_EQ(emu->error_code, nat->error_code);
	GEXPECT_EQ(emu->error_code, 2);
	GEXPECT_EQ(emu->cr2 - NP(6), nat->cr2 - NP(4)); /* the same offset from the store's page */
	GEXPECT_EQ(nat->rip, (u64)rgn_store8_insn);
	GEXPECT_EQ(emu->rip, (u64)rgn_store8_insn);
	GEXPECT_EQ(tail[0], 0xabababababababab);
	GEXPECT_EQ(tail[1], 0xabababababababab); /* no byte moved */
	GEXPECT_EQ(st.faults, 1);
	o[0] = emu->error_code, o[1] = emu->cr2 - NP(6);
}

/* (f) REP MOVSB of 200 bytes whose destination runs into a not-present page after 100: one #PF
 * (write) at the first byte of that page; the handler maps it; the copy resumes where it
 * stopped (RCX, RSI, RDI kept per iteration) and completes. Native into pages 8|9, emulated
 * into 10|11. */
static u8 copy_src[200];
static void copy_across(unsigned long long *o)
{
	for (int i = 0; i < 200; i++)
		copy_src[i] = (u8)(i * 7 + 1);
	guest_map_4k(NP(8), NP_GPA(8), GUEST_MAP_W);
	guest_map_4k(NP(10), NP_GPA(10), GUEST_MAP_W);
	guest_trap_set_handler(14, map_on_fault);
	struct rgn_regs nat = {.rflags = 2}, emu;
	nat.gpr[7] = NP(9) - 100, nat.gpr[6] = (u64)copy_src, nat.gpr[2] = 200;
	emu = nat;
	emu.gpr[7] = NP(11) - 100;
	pf_count = 0;
	rgn_invoke(&nat, rgn_copy);
	u64 nat_pf = pf_count, nat_err = pf_error, nat_cr2 = pf_cr2;
	struct caught nf = {.rflags = pf_rflags}, ef;
	s64 id = rgn_add(rgn_fault_page, PAGE_SIZE);
	GEXPECT(id >= 0);
	pf_count = 0;
	rgn_invoke(&emu, rgn_copy);
	guest_trap_set_handler(14, NULL);
	struct hv_region_stats st = rgn_stats(id);
	rgn_remove(id);
	guest_printf("regions_faults: REP MOVSB across pages: native %lu #PF (error %lx, cr2 page+%lx), emulated "
		     "%lu #PF (error %lx, cr2 page+%lx, rip %lx); %llu entries, %llu instructions\n",
		     nat_pf, nat_err, nat_cr2 - NP(8), pf_count, pf_error, pf_cr2 - NP(10), pf_rip, st.entries,
		     st.instructions);
	ef.rflags = pf_rflags;
	same_frame("REP MOVSB across pages", &nf, &ef, true);
	GEXPECT_EQ(nat_pf, 1);
	GEXPECT_EQ(pf_count, 1);
	GEXPECT_EQ(pf_error, nat_err);
	GEXPECT_EQ(pf_cr2 - NP(10), nat_cr2 - NP(8));
	GEXPECT_EQ(pf_cr2, NP(11));
	GEXPECT_EQ(pf_rip, (u64)rgn_copy_insn);
	GEXPECT_EQ(memcmp((void *)(NP(9) - 100), copy_src, 200), 0);
	GEXPECT_EQ(memcmp((void *)(NP(11) - 100), copy_src, 200), 0);
	GEXPECT_EQ(emu.gpr[1], 0);
	GEXPECT_EQ(emu.gpr[6], nat.gpr[6]);
	GEXPECT_EQ(emu.gpr[7] - NP(11), nat.gpr[7] - NP(9));
	GEXPECT_EQ(st.faults, 1);
	GEXPECT_EQ(st.entries, 2);
	GEXPECT_EQ(st.instructions, 2 + 200 + 1); /* MOV, CLD, 200 iterations, RET */
	o[0] = pf_count, o[1] = st.instructions;
}

/* (g) An instruction the CPU executes for the interpreter (VPXOR: AVX) faults there
 * (#UD: CR4.OSXSAVE is 0). The guest's handler must see the same frame as natively (RIP, no
 * RFLAGS.TF from the hypervisor's single step) and, after it skips the PXOR, the rest of the
 * region code must be emulated again (not run on the CPU while execute is still granted). */
static u64 ud_rip, ud_rflags, ud_count;
static bool skip_pxor(struct trap_frame *f)
{
	if (f->rip != (u64)rgn_sse_insn)
		return false;
	ud_count++, ud_rip = f->rip, ud_rflags = f->rflags;
	f->rip += 4;
	return true;
}

static void stepped_insn_faults(unsigned long long *o)
{
	GEXPECT_EQ(read_cr4() & BIT(18), 0); /* CR4.OSXSAVE */
	guest_trap_set_handler(6, skip_pxor);
	struct rgn_regs nat = {.rflags = 2}, emu = nat;
	rgn_invoke(&nat, rgn_sse);
	u64 nat_rflags = ud_rflags, nat_count = ud_count;
	s64 id = rgn_add(rgn_fault_page, PAGE_SIZE);
	GEXPECT(id >= 0);
	ud_count = 0, ud_rflags = 0;
	rgn_invoke(&emu, rgn_sse);
	guest_trap_set_handler(6, NULL);
	struct hv_region_stats st = rgn_stats(id);
	rgn_remove(id);
	guest_printf("regions_faults: VPXOR stepped on the CPU: native #UD rflags %lx; emulated %lu #UD at %lx, "
		     "rflags %lx; then %llu entries, %llu instructions, %llu stepped, %llu unsupported\n",
		     nat_rflags, ud_count, ud_rip, ud_rflags, st.entries, st.instructions, st.stepped,
		     st.unsupported);
	GEXPECT_EQ(nat_count, 1);
	GEXPECT_EQ(ud_count, 1);
	GEXPECT_EQ(ud_rip, (u64)rgn_sse_insn);
	GEXPECT_EQ(ud_rflags & RFLAGS_TF, nat_rflags & RFLAGS_TF); /* TF as the guest left it */
	GEXPECT_EQ(rgn_regs_diff(&nat, &emu, RGN_FLAGS_CMP), 0);
	/* a CPU with AVX: handed to the CPU (EMU_X_AVX), not unsupported; without (lynnfield,
	 * arrandale): the interpreter's own #UD, as that CPU's (CPUID.1:ECX.AVX[bit 28]) */
	GEXPECT_EQ(st.stepped, (cpuid_ecx(1) >> 28) & 1);
	GEXPECT_EQ(st.unsupported, 0);
	GEXPECT_EQ(st.instructions, 3); /* MOV, then after the handler MOV and RET, all emulated */
	o[0] = ud_rflags & RFLAGS_TF, o[1] = st.instructions, o[2] = (ud_rflags ^ nat_rflags) & RFLAGS_RF;
}

/* out: 0-1 (a) error code, faults; 2-3 (b) #PFs, entries; 4 SMEP run (0: no SMEP), 5 its error
 * code; 6-8 the vectors of (d); 9-10 (e) error code, CR2 offset; 11-12 (f) #PFs, instructions;
 * 15 cases whose handler saw other RFLAGS.TF/RF than natively */
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
	store_across_pages(&o[9]);
	copy_across(&o[11]);
	o[15] = frame_mismatches;
}

/* "regions_stepfault": (g) alone. out: 0 TF in the handler's frame, 1 instructions emulated,
 * 2 RF differs from the native frame */
void scen_regions_stepfault(struct hv_boot_info *bi) { stepped_insn_faults(&bi->out[0]); }
