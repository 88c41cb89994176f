/* scen_hviews.c: the hostile-guest scenarios about emulated code, remaps and VMFUNC
 * (tests/hostile_views.c; the rules they test: docs/views.md, "One policy per page"), and the
 * helpers of hviews.h. The CPU is the oracle: the same code (a template of hviews.S on a
 * scratch page) runs natively and as an emulated region, in the same view and from the same
 * state, and both runs must leave the same registers, memory, violation records and #VEs.
 * Views are entered by VMFUNC (the CPU's, or the hypervisor's emulation on #UD), so the same
 * code runs on every CPU model. The composition rules' scenarios are in scen_hrules.c. */
#include "hviews.h"

#define PTE_ADDR 0x000ffffffffff000UL
#define PTE_AD (BIT(5) | BIT(6)) /* accessed, dirty */
#define HV_VA (104 * MiB)        /* hviews_pagetables: a page with a page table of its own */

struct hv_violation hvw_recs[HV_VIOLATION_RING];
static struct hv_exit_stats xs;

u64 hvw_rd(u64 a) { return *(volatile u64 *)a; }
void hvw_wr(u64 a, u64 v) { *(volatile u64 *)a = v; }
static void invlpg(u64 va) { __asm__ volatile("invlpg (%0)" ::"r"(va) : "memory"); }

/* Scratch page n, writable and executable, holding a copy of [start, end) and INT3s after. */
u64 hvw_code_page(int n, const char *start, const char *end)
{
	u64 p = guest_page(n, GUEST_MAP_X);
	memset((void *)p, 0xcc, PAGE_SIZE);
	memcpy((void *)p, start, end - start);
	return p;
}

/* Scratch page n holding "mov $imm, %eax; ret" (two instructions). */
u64 hvw_const_page(int n, u32 imm)
{
	u64 p = guest_page(n, GUEST_MAP_X);
	u8 code[] = {0xb8, imm & 0xff, (imm >> 8) & 0xff, (imm >> 16) & 0xff, imm >> 24, 0xc3};
	memcpy((void *)p, code, sizeof(code));
	return p;
}

/* View 1, whose violations are recorded, then the access retried with RWX (RESTORE). */
void hvw_view1(void)
{
	GEXPECT_EQ(hc0(HC_VIEW_CREATE), 1);
	GEXPECT_EQ(hc3(HC_VIEW_SET_POLICY, 1, HV_POLICY_RESTORE, 0), 0);
}

s64 hvw_set_access(u64 v, u64 p, u64 rights) { return hc4(HC_VIEW_SET_ACCESS, v, p, PAGE_SIZE, rights); }
s64 hvw_set_ve(u64 v, u64 p, u64 on) { return hc4(HC_VIEW_SET_VE, v, p, PAGE_SIZE, on); }
s64 hvw_get_access(u64 v, u64 p) { return hc2(HC_VIEW_GET_ACCESS, v, p); }
s64 hvw_trap_gpa(u64 p, u64 access) { return hc3(HC_TRAP_ADD, HV_TRAP_GPA, p, access); }
s64 hvw_hits(s64 t) { return hc1(HC_TRAP_HITS, t); }

/* fn() called in view v (entered and left by VMFUNC). */
u64 hvw_call_in(u32 v, u64 fn)
{
	vmfunc_eptp_switch(v);
	u64 r = ((u64(*)(void))fn)();
	vmfunc_eptp_switch(0);
	return r;
}

/* The same start state for every call: known GPRs, the arguments, RFLAGS = 2. */
void hvw_regs_init(struct rgn_regs *r, u64 rdi, u64 rsi, u64 rdx)
{
	for (int i = 0; i < 16; i++)
		r->gpr[i] = 0x0101010101010101UL * (u64)(i + 1);
	r->gpr[7] = rdi, r->gpr[6] = rsi, r->gpr[2] = rdx;
	r->rflags = 0x2;
}

/* fn(rdi, rsi, rdx) through rgn_invoke in view v: every GPR and RFLAGS in and out. */
void hvw_invoke_in(u32 v, struct rgn_regs *r, u64 fn, u64 rdi, u64 rsi, u64 rdx)
{
	hvw_regs_init(r, rdi, rsi, rdx);
	vmfunc_eptp_switch(v);
	rgn_invoke(r, (void *)fn);
	vmfunc_eptp_switch(0);
}

void hvw_fill(u64 p, u64 tag)
{
	for (int i = 0; i < 4; i++)
		hvw_wr(p + 8 * i, tag + i + 1);
}

/* The region's entries so far. */
u64 hvw_entries(s64 id) { return rgn_stats(id).entries; }

/* EPT-violation exits so far (HC_GET_STATS). */
u64 hvw_ept_exits(void)
{
	guest_exits(&xs);
	return xs.by_reason[EXIT_REASON_EPT_VIOLATION];
}

/* The one violation record expected since the last drain: action, GPA, access and rights. */
bool hvw_one_record(u32 action, u64 gpa, u64 access, u64 rights)
{
	u64 n = guest_violations_read(hvw_recs, HV_VIOLATION_RING);
	if (!GEXPECT_EQ(n, 1))
		return false;
	GEXPECT_EQ(hvw_recs[0].action, action);
	GEXPECT_EQ(hvw_recs[0].gpa, gpa);
	GEXPECT_EQ(hvw_recs[0].view, 1);
	return GEXPECT_EQ(hvw_recs[0].qualification & EPTQ_CHECKED,
			  access | EPTQ_RIGHTS(rights) | EPTQ_GLA_VALID | EPTQ_TRANSLATED);
}

/* ---- #VE: what the guest saw; the handler restores RWX in the view, or skips one store ---- */

struct hvw_ve_seen hvw_ve;
u64 ve_total, hvw_ve_skip_rip, hvw_ve_skip_len;

static bool ve_handler(struct trap_frame *f)
{
	volatile struct hv_ve_info *info = guest_ve_info();
	hvw_ve = (struct hvw_ve_seen){hvw_ve.n + 1, info->qualification, info->gla, info->gpa, f->rip, info->eptp_index};
	if (++ve_total > 64) { /* the same #VE forever: a hypervisor that cannot resolve it */
		guest_printf("hviews: #VE loop at rip 0x%lx gpa 0x%lx\n", f->rip, hvw_ve.gpa);
		guest_exit(0xe0 + VE_VECTOR);
	}
	if (hvw_ve_skip_rip && f->rip == hvw_ve_skip_rip)
		f->rip += hvw_ve_skip_len; /* the store never happens */
	else
		hc4(HC_VIEW_SET_ACCESS, info->eptp_index, ALIGN_DOWN(info->gpa, PAGE_SIZE), PAGE_SIZE, RWX);
	info->semaphore = 0;
	return true;
}

void hvw_ve_init(void)
{
	GEXPECT_EQ(guest_ve_setup(), 0);
	guest_trap_set_handler(VE_VECTOR, ve_handler);
}

/* ---- emulated code through the view (rule 5) ---- */

/* Region code reads and writes a page view 1 remaps: it sees the frame the view shows, as the
 * CPU does. out: 0 native RAX, 1 emulated RAX, 2 entries, 3 emulated RAX in view 0 */
void scen_hviews_remap_read(struct hv_boot_info *bi)
{
	u64 a = guest_page(1, 0), b = guest_page(2, 0), code = hvw_code_page(3, hv_t_rw, hv_t_rw_end);
	struct rgn_regs nat, emu;
	hvw_view1();
	GEXPECT_EQ(hc3(HC_VIEW_REMAP, 1, a, b), 0);
	hvw_fill(a, A_TAG), hvw_fill(b, B_TAG);
	hvw_invoke_in(1, &nat, code, a, 0x5151, 0);
	u64 a2 = hvw_rd(a + 16), b2 = hvw_rd(b + 16);
	hvw_fill(a, A_TAG), hvw_fill(b, B_TAG);
	s64 id = rgn_add((void *)code, PAGE_SIZE);
	GEXPECT(id >= 0);
	hvw_invoke_in(1, &emu, code, a, 0x5151, 0);
	GEXPECT_EQ(rgn_regs_diff(&nat, &emu, RGN_FLAGS_CMP), 0);
	GEXPECT_EQ(nat.gpr[0], 2 * B_TAG + 3); /* b[0] + b[1] */
	GEXPECT_EQ(emu.gpr[0], nat.gpr[0]);
	GEXPECT_EQ(emu.gpr[1], 0x5151);
	GEXPECT_EQ(b2, 0x5151), GEXPECT_EQ(a2, A_TAG + 3); /* natively the write went to b's frame */
	GEXPECT_EQ(hvw_rd(b + 16), b2), GEXPECT_EQ(hvw_rd(a + 16), a2);
	bi->out[0] = nat.gpr[0], bi->out[1] = emu.gpr[0], bi->out[2] = hvw_entries(id);
	hvw_invoke_in(0, &emu, code, a, 0x6262, 0); /* view 0: a's own frame */
	GEXPECT_EQ(emu.gpr[0], 2 * A_TAG + 3);
	GEXPECT_EQ(hvw_rd(a + 16), 0x6262);
	bi->out[3] = emu.gpr[0];
	rgn_remove(id);
}

struct store_run {
	struct rgn_regs r;
	u64 nrec, ves, landed;
	struct hv_violation rec;
	struct hvw_ve_seen ve;
};

/* hv_t_store on page p in view 1, p read-only there: ring records and #VEs it caused. */
static void store_run(struct store_run *s, u64 code, u64 p, u64 shown)
{
	hvw_wr(shown + 8, 0);
	GEXPECT_EQ(hvw_set_access(1, p, HV_ACCESS_R), 0);
	guest_violations_drain();
	u64 n0 = hvw_ve.n;
	hvw_invoke_in(1, &s->r, code, p, 0x5a5a, 0);
	u64 n = guest_violations_read(hvw_recs, HV_VIOLATION_RING);
	s->nrec = 0;
	for (u64 i = 0; i < n; i++) /* a #VE the hypervisor injected is noted too: not a CPU's */
		if (hvw_recs[i].action != ACTION_VE && s->nrec++ == 0)
			s->rec = hvw_recs[i];
	s->ves = hvw_ve.n - n0, s->ve = hvw_ve;
	s->landed = hvw_rd(shown + 8);
}

static u64 store_diff(const struct store_run *n, const struct store_run *e)
{
	u64 d = rgn_regs_diff(&n->r, &e->r, RGN_FLAGS_CMP) + (n->nrec != e->nrec) + (n->ves != e->ves) +
		(n->landed != e->landed);
	if (n->nrec && e->nrec)
		d += n->rec.gpa != e->rec.gpa || n->rec.gla != e->rec.gla || n->rec.action != e->rec.action ||
		     (n->rec.qualification & EPTQ_CHECKED) != (e->rec.qualification & EPTQ_CHECKED);
	if (n->ves && e->ves)
		d += n->ve.qual != e->ve.qual || n->ve.gpa != e->ve.gpa || n->ve.gla != e->ve.gla ||
		     n->ve.rip != e->ve.rip || n->ve.index != e->ve.index;
	return d;
}

/* Region code writing a page view 1 makes read-only: the guest's violation, as natively:
 * (a) policy RESTORE: one record, then the retried store lands; (b) #VE: the handler skips
 * the store, which never lands; (c) the page remapped too: the store lands (after RESTORE) on
 * the frame view 1 shows, never on the page's own frame. out: 0 differences native/emulated,
 * 1 records (a), 2 #VEs (b), 3 (c) landed on the shown frame, 4 (c) on the own frame */
void scen_hviews_denied_write(struct hv_boot_info *bi)
{
	u64 p = guest_page(1, 0), p2 = guest_page(2, 0), q = guest_page(4, 0);
	u64 code = hvw_code_page(3, hv_t_store, hv_t_store_end);
	struct store_run run[2][4];
	s64 id = -1;
	hvw_ve_init();
	hvw_view1();
	GEXPECT_EQ(hc3(HC_VIEW_REMAP, 1, p2, q), 0);
	GEXPECT_EQ(hvw_set_ve(1, p2, 1), 0);
	for (int m = 0; m < 2; m++) { /* natively, then emulated */
		if (m == 1)
			GEXPECT((id = rgn_add((void *)code, PAGE_SIZE)) >= 0);
		store_run(&run[m][0], code, p, p); /* (a) */
		GEXPECT_EQ(hvw_set_ve(1, p, 1), 0);
		hvw_ve_skip_rip = code + (hv_t_store_insn - hv_t_store), hvw_ve_skip_len = hv_t_store_next - hv_t_store_insn;
		store_run(&run[m][1], code, p, p); /* (b) */
		store_run(&run[m][2], code, p2, q); /* (c), #VE */
		GEXPECT_EQ(hvw_rd(p2 + 8), 0);
		hvw_ve_skip_rip = 0;
		GEXPECT_EQ(hvw_set_ve(1, p, 0), 0);
		GEXPECT_EQ(hvw_set_ve(1, p2, 0), 0);
		store_run(&run[m][3], code, p2, q); /* (c), RESTORE */
		bi->out[4] += hvw_rd(p2 + 8) != 0;
		GEXPECT_EQ(hvw_set_ve(1, p2, 1), 0);
	}
	u64 diff = 0;
	for (int i = 0; i < 4; i++)
		diff += store_diff(&run[0][i], &run[1][i]);
	GEXPECT_EQ(diff, 0);
	struct store_run *a = &run[1][0], *b = &run[1][1], *c = &run[1][3];
	GEXPECT_EQ(a->nrec, 1), GEXPECT_EQ(a->rec.action, HV_POLICY_RESTORE), GEXPECT_EQ(a->rec.gpa, p + 8);
	GEXPECT_EQ(a->rec.qualification & EPTQ_CHECKED,
		   EPTQ_WRITE | EPTQ_RIGHTS(HV_ACCESS_R) | EPTQ_GLA_VALID | EPTQ_TRANSLATED);
	GEXPECT_EQ(a->landed, 0x5a5a);
	GEXPECT_EQ(b->ves, 1), GEXPECT_EQ(b->nrec, 0), GEXPECT_EQ(b->landed, 0), GEXPECT_EQ(b->r.gpr[2], 0);
	GEXPECT_EQ(b->ve.rip, code + (hv_t_store_insn - hv_t_store));
	GEXPECT_EQ(b->ve.gpa, p + 8), GEXPECT_EQ(b->ve.index, 1);
	GEXPECT_EQ(run[1][2].ves, 1), GEXPECT_EQ(run[1][2].landed, 0);
	GEXPECT_EQ(c->nrec, 1), GEXPECT_EQ(c->landed, 0x5a5a), GEXPECT_EQ(bi->out[4], 0);
	bi->out[0] = diff, bi->out[1] = a->nrec, bi->out[2] = b->ves, bi->out[3] = c->landed == 0x5a5a;
	rgn_remove(id);
}

/* ---- monitors through aliases (rule 3) ---- */

/* A remap onto a region's frame: through the alias, the code runs in the interpreter, in a view
 * remapped before the region and in one made (and remapped) after it; never natively. out: 0-1
 * entries through the alias in views 1 and 2, 2 entries for the alias's own frame in view 0,
 * 3 for the frame itself, 4 EPT-violation exits through the alias once the region is gone */
void scen_hviews_remap_region(struct hv_boot_info *bi)
{
	u64 f = hvw_const_page(4, 0x600d), a = hvw_const_page(5, 0xbad), *o = (u64 *)bi->out;
	hvw_view1();
	GEXPECT_EQ(hc3(HC_VIEW_REMAP, 1, a, f), 0);
	GEXPECT_EQ(hvw_call_in(1, a), 0x600d); /* natively, no region yet */
	s64 id = hc3(HC_REGION_ADD, HV_TRAP_GPA, f, PAGE_SIZE);
	GEXPECT(id >= 0);
	GEXPECT_EQ(hc0(HC_VIEW_CREATE), 2);
	GEXPECT_EQ(hc3(HC_VIEW_REMAP, 2, a, f), 0);
	u64 e0 = hvw_entries(id), i0 = rgn_stats(id).instructions;
	GEXPECT_EQ(hvw_call_in(1, a), 0x600d);
	o[0] = hvw_entries(id) - e0;
	GEXPECT_EQ(rgn_stats(id).instructions - i0, 2);
	GEXPECT_EQ(hvw_call_in(2, a), 0x600d);
	o[1] = hvw_entries(id) - e0 - o[0];
	GEXPECT_EQ(hvw_call_in(0, a), 0xbad);
	o[2] = hvw_entries(id) - e0 - o[0] - o[1];
	GEXPECT_EQ(hvw_call_in(0, f), 0x600d);
	o[3] = hvw_entries(id) - e0 - o[0] - o[1] - o[2];
	GEXPECT_EQ(o[0], 1), GEXPECT_EQ(o[1], 1), GEXPECT_EQ(o[2], 0), GEXPECT_EQ(o[3], 1);
	rgn_remove(id);
	vmfunc_eptp_switch(1);
	u64 v0 = hvw_ept_exits();
	u64 r = ((u64(*)(void))a)();
	o[4] = hvw_ept_exits() - v0;
	vmfunc_eptp_switch(0);
	GEXPECT_EQ(r, 0x600d), GEXPECT_EQ(o[4], 0);
}

/* A remap onto a trapped frame: write, read and execute traps count accesses through the alias
 * (trap before the remap, and remap before the trap); the alias's own frame is not trapped.
 * out: 0 write hits, 1 read hits, 2 execute hits (2: one per instruction), 3 hits in view 0
 * through the aliases */
void scen_hviews_remap_trap(struct hv_boot_info *bi)
{
	u64 t = guest_page(6, 0), a = guest_page(7, 0), t2 = guest_page(8, 0), a2 = guest_page(9, 0);
	u64 t3 = hvw_const_page(10, 0x7e3), a3 = hvw_const_page(11, 0xbad);
	hvw_view1();
	s64 tw = hvw_trap_gpa(t, HV_ACCESS_W);
	GEXPECT_EQ(hc3(HC_VIEW_REMAP, 1, a, t), 0);
	GEXPECT_EQ(hc3(HC_VIEW_REMAP, 1, a2, t2), 0);
	s64 tr = hvw_trap_gpa(t2, HV_ACCESS_R);
	GEXPECT_EQ(hc3(HC_VIEW_REMAP, 1, a3, t3), 0);
	s64 tx = hvw_trap_gpa(t3, HV_ACCESS_X);
	GEXPECT(tw >= 0 && tr >= 0 && tx >= 0);
	hvw_wr(t2, 0x7272);
	vmfunc_eptp_switch(1);
	hvw_wr(a + 8, 0x5757);
	u64 v = hvw_rd(a2);
	u64 r = ((u64(*)(void))a3)();
	vmfunc_eptp_switch(0);
	bi->out[0] = hvw_hits(tw), bi->out[1] = hvw_hits(tr), bi->out[2] = hvw_hits(tx);
	GEXPECT_EQ(bi->out[0], 1), GEXPECT_EQ(bi->out[1], 1);
	GEXPECT_EQ(bi->out[2], 2); /* one hit per instruction: MOV and RET */
	GEXPECT_EQ(hvw_rd(t + 8), 0x5757), GEXPECT_EQ(hvw_rd(a + 8), 0);
	GEXPECT_EQ(v, 0x7272), GEXPECT_EQ(r, 0x7e3);
	u64 sum = hvw_hits(tw) + hvw_hits(tr) + hvw_hits(tx);
	hvw_wr(a + 8, 1), hvw_rd(a2), GEXPECT_EQ(hvw_call_in(0, a3), 0xbad); /* view 0: their own frames */
	bi->out[3] = hvw_hits(tw) + hvw_hits(tr) + hvw_hits(tx) - sum;
	GEXPECT_EQ(bi->out[3], 0);
	GEXPECT_EQ(hc1(HC_TRAP_REMOVE, tw), 0), GEXPECT_EQ(hc1(HC_TRAP_REMOVE, tr), 0);
	GEXPECT_EQ(hc1(HC_TRAP_REMOVE, tx), 0);
}

/* ---- VMFUNC behind the hypervisor's back (rule 5) ---- */

/* Region code switches views with VMFUNC (stepped on the CPU, or emulated on #UD where the CPU
 * has none) and back, reading a page view 1 remaps each time; and region code that stays in
 * view 1. Native and emulated: same registers and memory. out: 0 differences, 1 entries */
void scen_hviews_vmfunc_region(struct hv_boot_info *bi)
{
	u64 a = guest_page(1, 0), b = guest_page(2, 0), code = hvw_code_page(3, hv_t_vmfunc, hv_t_vmfunc_end);
	struct rgn_regs r[2][2];
	u64 mem[2][4], stay[2], diff = 0;
	s64 id = -1;
	hvw_view1();
	GEXPECT_EQ(hc3(HC_VIEW_REMAP, 1, a, b), 0);
	for (int m = 0; m < 2; m++) {
		if (m == 1)
			GEXPECT((id = rgn_add((void *)code, PAGE_SIZE)) >= 0);
		hvw_fill(a, A_TAG), hvw_fill(b, B_TAG);
		hvw_invoke_in(0, &r[m][0], code, a, 1, 0);
		GEXPECT_EQ(hc1(HC_VIEW_SWITCH, 0), 0); /* it came back to view 0 */
		mem[m][0] = hvw_rd(a + 8), mem[m][1] = hvw_rd(b + 8);
		hvw_fill(a, A_TAG), hvw_fill(b, B_TAG);
		hvw_regs_init(&r[m][1], a, 1, 1); /* to view 1, and stay there */
		rgn_invoke(&r[m][1], (void *)code);
		stay[m] = hvw_rd(a); /* still in view 1: b's frame */
		vmfunc_eptp_switch(0);
		mem[m][2] = hvw_rd(a + 8), mem[m][3] = hvw_rd(b + 8);
	}
	for (int i = 0; i < 2; i++)
		diff += rgn_regs_diff(&r[0][i], &r[1][i], RGN_FLAGS_CMP);
	for (int i = 0; i < 4; i++)
		diff += mem[0][i] != mem[1][i];
	diff += stay[0] != stay[1];
	GEXPECT_EQ(diff, 0);
	GEXPECT_EQ(r[1][0].gpr[8], A_TAG + 1), GEXPECT_EQ(r[1][0].gpr[9], B_TAG + 1);
	GEXPECT_EQ(r[1][0].gpr[10], A_TAG + 1), GEXPECT_EQ(r[1][0].gpr[11], A_TAG + 2);
	GEXPECT_EQ(mem[1][1], A_TAG + 1), GEXPECT_EQ(stay[1], B_TAG + 1);
	bi->out[0] = diff, bi->out[1] = hvw_entries(id);
	rgn_remove(id);
}

/* Native code switches views with VMFUNC between calls of region code, which must follow the
 * view it is entered in. out: 0 differences, 1 entries */
void scen_hviews_vmfunc_between(struct hv_boot_info *bi)
{
	u64 a = guest_page(1, 0), b = guest_page(2, 0), code = hvw_code_page(3, hv_t_rw, hv_t_rw_end);
	u64 res[2][8], diff = 0;
	s64 id = -1;
	struct rgn_regs r;
	hvw_view1();
	GEXPECT_EQ(hc3(HC_VIEW_REMAP, 1, a, b), 0);
	for (int m = 0; m < 2; m++) {
		if (m == 1)
			GEXPECT((id = rgn_add((void *)code, PAGE_SIZE)) >= 0);
		hvw_fill(a, A_TAG), hvw_fill(b, B_TAG);
		for (int i = 0; i < 4; i++) {
			hvw_invoke_in(i & 1, &r, code, a, 0x100 + i, 0);
			res[m][i] = r.gpr[0];
		}
		res[m][4] = hvw_rd(a + 16), res[m][5] = hvw_rd(b + 16), res[m][6] = hvw_rd(a), res[m][7] = hvw_rd(b);
	}
	for (int i = 0; i < 8; i++)
		diff += res[0][i] != res[1][i];
	GEXPECT_EQ(diff, 0);
	GEXPECT_EQ(res[1][0], 2 * A_TAG + 3), GEXPECT_EQ(res[1][1], 2 * B_TAG + 3);
	GEXPECT_EQ(res[1][4], 0x102), GEXPECT_EQ(res[1][5], 0x103);
	bi->out[0] = diff, bi->out[1] = hvw_entries(id);
	rgn_remove(id);
}

/* ---- code that changes what it runs on (rule 5) ---- */

/* The leaf page-table entry that maps va (4 KiB), through the guest's own (identity-mapped)
 * tables. */
static u64 *pte_of(u64 va)
{
	u64 *t = (u64 *)(read_cr3() & PTE_ADDR);
	for (int shift = 39; shift > 12; shift -= 9)
		t = (u64 *)(t[(va >> shift) & 511] & PTE_ADDR);
	return &t[(va >> 12) & 511];
}

/* (a) Region code rewrites the PTE of a page, INVLPG, reads through it; (b) view 1 remaps the
 * page table itself: the page walk of region code reads the frame view 1 shows, as the CPU's.
 * out: 0 differences, 1 (a) value read, 2 (b) value read emulated, 3 entries of (b) */
void scen_hviews_pagetables(struct hv_boot_info *bi)
{
	u64 x1 = guest_page(1, 0), x2 = guest_page(2, 0), pt2 = guest_page(5, 0);
	u64 code = hvw_code_page(3, hv_t_pte, hv_t_pte_end), load = hvw_code_page(4, hv_t_load, hv_t_load_end);
	struct rgn_regs r[2][2];
	u64 ptes[2][2], diff = 0;
	s64 id = -1, id2 = -1;
	hvw_wr(x1, A_TAG), hvw_wr(x2, B_TAG);
	guest_map_4k(HV_VA, x1, 0);
	u64 *pte = pte_of(HV_VA), flags = *pte & ~(PTE_ADDR | PTE_AD), pt = (u64)pte & PTE_ADDR;
	memcpy((void *)pt2, (void *)pt, PAGE_SIZE);
	((u64 *)pt2)[(HV_VA >> 12) & 511] = x2 | flags;
	hvw_view1();
	GEXPECT_EQ(hc3(HC_VIEW_REMAP, 1, pt, pt2), 0);
	for (int m = 0; m < 2; m++) {
		if (m == 1) {
			GEXPECT((id = rgn_add((void *)code, PAGE_SIZE)) >= 0);
			GEXPECT((id2 = rgn_add((void *)load, PAGE_SIZE)) >= 0);
		}
		*pte = x1 | flags;
		invlpg(HV_VA);
		hvw_invoke_in(0, &r[m][0], code, (u64)pte, x2 | flags, HV_VA);
		ptes[m][0] = *pte;
		*pte = x1 | flags, ((u64 *)pt2)[(HV_VA >> 12) & 511] = x2 | flags;
		invlpg(HV_VA);
		hvw_regs_init(&r[m][1], HV_VA, 0, 0);
		vmfunc_eptp_switch(1);
		invlpg(HV_VA);
		rgn_invoke(&r[m][1], (void *)load);
		vmfunc_eptp_switch(0);
		invlpg(HV_VA);
		ptes[m][1] = ((u64 *)pt2)[(HV_VA >> 12) & 511];
		GEXPECT_EQ(hvw_rd(HV_VA), A_TAG); /* view 0: its own page table */
	}
	for (int i = 0; i < 2; i++)
		diff += rgn_regs_diff(&r[0][i], &r[1][i], RGN_FLAGS_CMP) + (ptes[0][i] != ptes[1][i]);
	GEXPECT_EQ(diff, 0);
	GEXPECT_EQ(r[1][0].gpr[0], B_TAG), GEXPECT_EQ(r[1][1].gpr[0], B_TAG);
	GEXPECT(rgn_stats(id).stepped >= 1); /* INVLPG, on the CPU */
	bi->out[0] = diff, bi->out[1] = r[1][0].gpr[0], bi->out[2] = r[1][1].gpr[0], bi->out[3] = hvw_entries(id2);
	rgn_remove(id), rgn_remove(id2);
}

/* Region code that rewrites its own instructions, one already run (a stale decode) and one
 * not yet: same registers and same code bytes afterwards as natively. out: 0 differences,
 * 1 emulated RAX, 2 instructions emulated */
void scen_hviews_smc(struct hv_boot_info *bi)
{
	u64 code = hvw_code_page(6, hv_t_smc, hv_t_smc_end), len = hv_t_smc_end - hv_t_smc;
	static u8 after[2][64];
	struct rgn_regs r[2];
	s64 id = -1;
	for (int m = 0; m < 2; m++) {
		if (m == 1)
			GEXPECT((id = rgn_add((void *)code, PAGE_SIZE)) >= 0);
		memcpy((void *)code, hv_t_smc, len);
		hvw_invoke_in(0, &r[m], code, 0x01020304, 0, 0);
		memcpy(after[m], (void *)code, len);
	}
	u64 diff = rgn_regs_diff(&r[0], &r[1], RGN_FLAGS_CMP) + (memcmp(after[0], after[1], len) != 0);
	GEXPECT_EQ(diff, 0);
	GEXPECT_EQ(r[1].gpr[0], 0x11111111 + 2 * 0x01020304), GEXPECT_EQ(r[1].gpr[2], 0x11111111 + 0x01020304);
	bi->out[0] = diff, bi->out[1] = r[1].gpr[0], bi->out[2] = rgn_stats(id).instructions;
	rgn_remove(id);
}
