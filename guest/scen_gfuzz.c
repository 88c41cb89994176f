/* scen_gfuzz.c: "guest_fuzz", a random-program fuzzer in the spirit of syzkaller that runs inside
 * the guest. A seeded PRNG (splitmix64) picks each operation by weight: a hypercall with boundary
 * or live arguments (gfuzz_hc.c), VMFUNC, loads and stores under the current view, snippets of
 * gfuzz.S called at CPL 0 or 3 from code pages that may be emulated regions, trapped, remapped or
 * denied, deliberate exceptions, INT n, ICEBP and the guest's own TF. The fuzzer's model
 * (gfuzz.h) says what each must give; a difference, an exception it did not provoke or a view
 * no policy leads to is a failure. No view ever STOPs the guest: RESTORE, SWITCH or #VE. The
 * hypervisor's invariants are checked by the host at checkpoints (tests/test_gfuzz.c). */
#include "gfuzz.h"

struct gfuzz gf;
static u64 sup_word = 0x5eca1;              /* supervisor data: a ring-3 load of it is a #PF */

/* ---- PRNG, the arena, failures ---- */

u64 gf_rand(void) /* splitmix64 */
{
	u64 z = (gf.rng += 0x9e3779b97f4a7c15UL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
	return z ^ (z >> 31);
}

u64 gf_below(u64 n) { return n ? gf_rand() % n : 0; }

int gf_page_of(u64 gpa)
{
	u64 a = ALIGN_DOWN(gpa, PAGE_SIZE);
	for (int p = 0; p < GF_NPAGES; p++)
		if (gf.gpa[p] == a)
			return p;
	return -1;
}

int gf_class(int p) { return p < PG_C0 ? CLS_DATA : p < PG_F0 ? CLS_CODE : p < PG_V0 ? CLS_FREE : CLS_VE; }
int gf_frame(u32 view, int page) { return gf.remap[view][page]; }

/* Can a violation in view `from` lead to `view` (its SWITCH policy, and so on)? */
bool gf_chain_has(u32 from, u32 view)
{
	for (u32 i = 0, v = from; i < HV_VIEW_MAX && v < HV_VIEW_MAX; i++, v = gf.parg[v]) {
		if (v == view)
			return true;
		if (gf.policy[v] != HV_POLICY_SWITCH)
			break;
	}
	return false;
}

enum kind { K_HC, K_HC_CODE, K_VMFUNC, K_VMFUNC_CODE, K_LOAD, K_STORE, K_MEM_CODE, K_BADMEM, K_CODE, K_PATCH,
	    K_EXC, K_INT, K_TF, K_N };
static const char *const kind_name[K_N] = {"hypercall", "hypercall-code", "vmfunc", "vmfunc-code", "load", "store",
					   "mem-code", "bad-address", "code", "patch", "exception", "int", "tf"};

void gf_fail(const char *what, u64 x, u64 y)
{
	if (gf.failures++ == 0)
		gf.first_fail_op = gf.op + 1, gf.first_fail_kind = gf.kind;
	if (gf.failures <= 16)
		guest_printf("guest_fuzz: FAIL at op %lu (%s, view %u): %s: 0x%lx 0x%lx\n", gf.op, kind_name[gf.kind],
			     gf.cur, what, x, y);
}

/* ---- the data model: what each data frame holds, and the hits of exact traps ---- */

static u64 data_addr(u32 size)
{
	int p = gf_below(GF_ND);
	u64 r = gf_below(100), off;
	if (r < 60 && size <= 8)
		off = gf_below(PAGE_SIZE / 8) * 8;
	else if (r < 85 || p == GF_ND - 1)
		off = gf_below(PAGE_SIZE - size + 1);
	else
		off = PAGE_SIZE - 1 - gf_below(size - 1); /* crosses into the next data page */
	return gf.gpa[PG_D0 + p] + off;
}

static u8 *shadow(u32 view, u64 a, int *f)
{
	*f = gf_frame(view, gf_page_of(a));
	return &gf.shadow[*f][a & (PAGE_SIZE - 1)];
}
static bool known(int f, u64 a) { return gf.known[f][(a & (PAGE_SIZE - 1)) / 8] & BIT(a % 8); }
static void set_known(int f, u64 a, bool on)
{
	u8 *k = &gf.known[f][(a & (PAGE_SIZE - 1)) / 8];
	*k = on ? *k | (u8)BIT(a % 8) : *k & (u8)~BIT(a % 8);
}

static void model_store(u32 v, u64 addr, u64 val, u32 size)
{
	for (u32 i = 0; i < size; i++) {
		int f;
		*shadow(v, addr + i, &f) = val >> (8 * i);
		set_known(f, addr + i, true);
	}
}

static void model_load(u32 v, u64 addr, u32 size, u64 got)
{
	for (u32 i = 0; i < size; i++) {
		int f;
		u8 want = *shadow(v, addr + i, &f);
		if (known(f, addr + i) && (u8)(got >> (8 * i)) != want) {
			gf.mismatches++;
			gf_fail("a load returned other data than the frame holds (address, value)", addr, got);
			return;
		}
	}
	gf.mem_ops++;
}

/* One instruction touched [addr, addr + size) of the data pages in view v with access kind. An
 * access across two pages may count twice where the view denies the second (finding D). */
static void model_hits(u32 v, u64 addr, u32 size, u32 kind, bool exact)
{
	bool across = (addr ^ (addr + size - 1)) >= PAGE_SIZE;
	u64 f[2] = {gf.gpa[gf_frame(v, gf_page_of(addr))] / PAGE_SIZE,
		    gf.gpa[gf_frame(v, gf_page_of(addr + size - 1))] / PAGE_SIZE};
	for (int i = 0; i < (f[1] == f[0] ? 1 : 2); i++) {
		u32 t = gf.mon_trap[f[i]];
		if (t && (gf.trap[t - 1].access & kind)) {
			exact ? gf.trap[t - 1].hits++ : (void)(gf.trap[t - 1].exact = false);
			gf.trap[t - 1].slack += across && gf.avoid;
			GLOG("gfz %lu:   trap %u on 0x%lx: %lu hits%s\n", gf.op, t - 1, f[i] * PAGE_SIZE, gf.trap[t - 1].hits,
			     gf.trap[t - 1].exact ? "" : " (not counted)");
		}
	}
}

/* ---- operations: each runs, the view is synchronised, then post(view) checks the model ---- */

static void (*post)(u32 view);
static struct {
	u64 addr, val, src;
	u32 size, kind, view0;
	bool write;
	struct outcome o;
	struct site s;
} m;

static void post_mem(u32 v)
{
	if (m.o.vec >= 0)
		return;
	if (m.write)
		model_store(v, m.addr, m.val, m.size);
	else
		model_load(v, m.addr, m.size, m.o.ret);
	model_hits(v, m.addr, m.size, m.write ? HV_ACCESS_W : HV_ACCESS_R, true);
}

static void mem_body(void *p)
{
	(void)p;
	if (m.write && m.size == 8)
		__asm__ volatile("movq %0, (%1)" ::"r"(m.val), "r"(m.addr) : "memory");
	else if (m.write)
		__asm__ volatile("movw %w0, (%1)" ::"r"(m.val), "r"(m.addr) : "memory");
	else if (m.size == 8)
		__asm__ volatile("movq (%1), %0" : "=r"(m.o.ret) : "r"(m.addr) : "memory");
	else
		__asm__ volatile("movzbq (%1), %0" : "=r"(m.o.ret) : "r"(m.addr) : "memory");
}

/* A load or store from C at CPL 0. */
static void op_loadstore(bool write)
{
	struct fault_info fi;
	m.write = write, m.size = write ? (gf_below(2) ? 8 : 2) : (gf_below(2) ? 8 : 1);
	m.addr = data_addr(m.size), m.val = gf_rand(), m.o.ret = 0;
	GLOG("gfz %lu: %s%u 0x%lx (0x%lx) view %u\n", gf.op, write ? "store" : "load", m.size * 8, m.addr, m.val,
	     gf.cur);
	gf_expect_access(gf.cur, m.addr, m.size, write ? HV_ACCESS_W : HV_ACCESS_R);
	m.o.vec = trap_catch(mem_body, NULL, &fi);
	gf_check("a load or store of a data page faulted", gf_no_fault(m.o.ret), m.o);
	post = post_mem;
}

static void op_load(void) { op_loadstore(false); }
static void op_store(void) { op_loadstore(true); }

static void post_movs(u32 v)
{
	for (u32 i = 0; i < m.size; i++) { /* forward, a byte at a time: overlaps as REP MOVSB makes them */
		int fs, fd;
		u8 b = *shadow(v, m.src + i, &fs);
		bool k = known(fs, m.src + i);
		if (v != m.view0) { /* the view changed on the way: each byte may be in either frame */
			for (u32 w = 0; w < HV_VIEW_MAX; w++)
				if (gf_chain_has(m.view0, w))
					shadow(w, m.addr + i, &fd), set_known(fd, m.addr + i, false);
			continue;
		}
		*shadow(v, m.addr + i, &fd) = b;
		set_known(fd, m.addr + i, k);
	}
	for (u32 w = 0; w < HV_VIEW_MAX; w++)
		if (gf_chain_has(m.view0, w)) /* a hit per iteration, or per instruction: not counted */
			model_hits(w, m.src, m.size, 7, false), model_hits(w, m.addr, m.size, 7, false);
}

/* A load, store or REP MOVSB from a code page, at CPL 0 or 3. */
static void op_mem_code(void)
{
	static const enum sn which[] = {SN_LOAD64, SN_LOAD8, SN_STORE64, SN_STORE16, SN_MOVS};
	static const u32 sizes[] = {8, 1, 8, 2};
	enum sn n = which[gf_below(ARRAY_SIZE(which))];
	m.s = gf_pick_site(true), m.view0 = gf.cur, m.val = gf_rand();
	m.size = n == SN_MOVS ? 1 + gf_below(24) : sizes[n]; /* at most 48 trap records: the ring keeps 64 */
	gf.nest &= n != SN_MOVS; /* a remap between two iterations would split the copy */
	m.write = n == SN_STORE64 || n == SN_STORE16;
	m.addr = data_addr(m.size), m.src = data_addr(m.size);
	gf_uargs.a[0] = m.addr, gf_uargs.a[1] = n == SN_MOVS ? m.src : m.val, gf_uargs.a[2] = m.size;
	if (gf.rights[gf.cur][PG_C0 + m.s.k] & HV_ACCESS_X) /* else the fetch violates first */
		gf_expect_access(gf.cur, n == SN_MOVS ? m.src : m.addr, m.size, m.write ? HV_ACCESS_W : HV_ACCESS_R);
	m.o = gf_run_at(m.s, n);
	if (n != SN_MOVS) {
		gf_check("a load or store of a data page faulted", gf_no_fault(m.o.ret), m.o);
		post = post_mem;
	} else if (gf_check("REP MOVSB between data pages", gf_no_fault(0), m.o)) {
		post = post_movs;
	}
}

/* Loads and stores that must fault: unmapped, non-canonical, supervisor data at CPL 3,
 * read-only data, page 0. */
static void op_badmem(void)
{
	struct site s = gf_pick_site(true);
	u64 cls = gf_below(5), addr, u = s.cpl ? 4 : 0;
	bool write = gf_below(2);
	struct want w;
	if (cls == 0 || cls == 4) {
		addr = cls == 0 ? GF_UNMAPPED + gf_below(PAGE_SIZE - 8) : gf_below(PAGE_SIZE / 8) * 8;
		w = gf_fault(14, (write ? 2 : 0) | u);
		w.check_cr2 = true, w.cr2 = addr;
	} else if (cls == 1) {
		addr = BIT(63) | gf_below(1UL << 20) * 8;
		w = gf_fault(13, 0);
	} else {
		addr = cls == 2 ? (u64)&sup_word : (u64)gfz_blob;
		write &= s.cpl == 3 || cls == 3; /* CPL 0 may read both, write neither */
		w = s.cpl || write ? gf_fault(14, 1 | (write ? 2 : 0) | u) : gf_no_fault(*(u64 *)addr);
		w.check_cr2 = w.vec == 14, w.cr2 = addr;
	}
	gf_uargs.a[0] = addr, gf_uargs.a[1] = gf_rand();
	gf_check("a load or store of a bad address", w, gf_run_at(s, write ? SN_STORE64 : SN_LOAD64));
}

/* ---- hypercalls ---- */

static struct {
	u64 nr, a[5];
	s64 r;
} hcx;

static void hc_body(void *p)
{
	(void)p;
	hcx.r = hc5(hcx.nr, hcx.a[0], hcx.a[1], hcx.a[2], hcx.a[3], hcx.a[4]);
}

static void hc_result(struct gf_expect e, s64 r, int cpl)
{
	gf.hc_by_nr[hcx.nr < HC_NR ? hcx.nr : HC_NR][r < 0]++;
	GLOG("gfz %lu:   -> %ld\n", gf.op, r);
	if (r >= 0)
		gf.hc_ok++;
	else
		gf.hc_refused++;
	if (!gf_expect_ok(e, r)) {
		gf.mismatches++;
		gf_fail("hypercall result (nr, result)", hcx.nr, r);
		if (gf.failures <= 16)
			guest_printf("guest_fuzz:   args 0x%lx 0x%lx 0x%lx 0x%lx 0x%lx CPL %d; expected %ld..%ld (how %d)\n",
				     hcx.a[0], hcx.a[1], hcx.a[2], hcx.a[3], hcx.a[4], cpl, e.a, e.b, e.how);
	}
	if (!cpl && hcx.nr == HC_VIOLATIONS_READ && r > 0)
		gf_records(r); /* the oldest records: they came before those still in the ring */
	gf_drain();        /* every record before the model follows this call */
	gf_apply(hcx.nr, hcx.a, r, cpl);
}

static void make_hc(int cpl)
{
	hcx.nr = gf_pick_nr(cpl);
	gf_gen_args(hcx.nr, hcx.a);
	gf_sanitize(hcx.nr, hcx.a);
}

static void op_hc(void)
{
	struct fault_info fi;
	make_hc(0);
	struct gf_expect e = gf_predict(hcx.nr, hcx.a, 0, 0);
	int p = gf_page_of(hcx.a[1]);
	if (hcx.nr == HC_VIEW_GET_ACCESS && e.how == EXP_RANGE && p >= 0) /* from C: the model knows */
		e = (struct gf_expect){EXP_EXACT, gf.rights[hcx.a[0]][p], gf.rights[hcx.a[0]][p]};
	GLOG("gfz %lu: hc %lu (0x%lx 0x%lx 0x%lx 0x%lx 0x%lx) view %u\n", gf.op, hcx.nr, hcx.a[0], hcx.a[1], hcx.a[2],
	     hcx.a[3], hcx.a[4], gf.cur);
	int vec = trap_catch(hc_body, NULL, &fi);
	if (vec >= 0)
		return gf_fail("an exception from a hypercall (vector, nr)", vec, hcx.nr);
	hc_result(e, hcx.r, 0);
}

/* From inside a #DB, #BP, INT 0x1f or #VE handler, in the middle of an operation's code (a region
 * suspended, a step just ended): a quarter of the time, one more random hypercall. */
void gf_nested_hc(void)
{
	if (!gf.nest || gf_below(4))
		return;
	typeof(hcx) saved = hcx;
	gf.nest = false, gf.nested++;
	make_hc(0);
	if (gf.avoid && gf.want_db && (hcx.nr == HC_TRAP_ADD || hcx.nr == HC_REGION_ADD || hcx.nr == HC_VIEW_REMAP ||
				       hcx.nr == HC_VIEW_SET_ACCESS || hcx.nr == HC_VIEW_SWITCH))
		hcx.nr = HC_VERSION; /* no EPT violation on the code under the guest's TF: finding A */
	struct gf_expect e = gf_predict(hcx.nr, hcx.a, 0, 0);
	GLOG("gfz %lu: nested hc %lu (0x%lx 0x%lx 0x%lx 0x%lx 0x%lx)\n", gf.op, hcx.nr, hcx.a[0], hcx.a[1], hcx.a[2],
	     hcx.a[3], hcx.a[4]);
	hc_result(e, hc5(hcx.nr, hcx.a[0], hcx.a[1], hcx.a[2], hcx.a[3], hcx.a[4]), 0);
	hcx = saved, gf.nest = !gf.repro;
}

/* The same from a code page: maybe a region, maybe CPL 3 (-EPERM for all but two calls). */
static void op_hc_code(void)
{
	struct site s = gf_pick_site(true);
	make_hc(s.cpl);
	/* The model reads the ring before it follows a hypercall, so a rights change or remap of
	 * the very code page making the call (in its view) would come after the record of the
	 * next fetch it causes: a correct violation the model would call wrong. Not made. */
	u64 code = ALIGN_DOWN(gf_site_addr(s, SN_HCALL), PAGE_SIZE), size = hcx.a[2];
	if (hcx.nr == HC_VIEW_REMAP)
		size = PAGE_SIZE;
	if ((hcx.nr == HC_VIEW_SET_ACCESS || hcx.nr == HC_VIEW_REMAP) && hcx.a[0] == gf.cur &&
	    hcx.a[1] < code + 2 * PAGE_SIZE && (hcx.a[1] + size < hcx.a[1] || hcx.a[1] + size > code))
		hcx.nr = HC_VERSION;
	struct gf_expect e = gf_predict(hcx.nr, hcx.a, s.cpl, s.rgn);
	gf_uargs.a[0] = hcx.nr;
	memcpy(&gf_uargs.a[1], hcx.a, sizeof(hcx.a));
	GLOG("gfz %lu: hc %lu (0x%lx 0x%lx 0x%lx 0x%lx 0x%lx)\n", gf.op, hcx.nr, hcx.a[0], hcx.a[1], hcx.a[2], hcx.a[3],
	     hcx.a[4]);
	struct outcome o = gf_run_at(s, SN_HCALL);
	if (o.vec >= 0)
		return gf_fail("an exception from a hypercall made by a snippet (vector, nr)", o.vec, hcx.nr);
	hc_result(e, o.ret, s.cpl);
}

/* ---- VMFUNC ---- */

static u32 vmf_leaf, vmf_index;
static void vmf_body(void *p) { (void)p, vmfunc(vmf_leaf, vmf_index); }

static void vmfunc_args(void)
{
	u64 r = gf_below(100);
	vmf_leaf = gf_below(100) < 90 ? 0 : gf_below(2) ? 1 + gf_below(63) : (u32)gf_rand();
	vmf_index = r < 70 ? gf_below(HV_VIEW_MAX) : r < 80 ? gf.cur : r < 92 ? HV_VIEW_MAX + gf_below(496) : (u32)gf_rand();
	if (r < 60) /* a live view */
		while (!gf.view_live[vmf_index])
			vmf_index = gf_below(HV_VIEW_MAX);
}

/* The vCPU is in the view VMFUNC named (the sync after the op checks it), or a #UD. */
static void vmfunc_result(struct outcome o)
{
	bool valid = vmf_leaf == 0 && vmf_index < HV_VIEW_MAX && gf.view_live[vmf_index];
	if (gf_check("VMFUNC", valid ? gf_no_fault(0) : gf_fault(6, 0), o) && valid)
		gf.cur = vmf_index, gf.vmfunc_ok++;
	else if (o.vec == 6)
		gf.vmfunc_ud++;
}

static void op_vmfunc(void)
{
	struct fault_info fi;
	vmfunc_args();
	GLOG("gfz %lu: vmfunc(%u, %u) view %u\n", gf.op, vmf_leaf, vmf_index, gf.cur);
	int vec = trap_catch(vmf_body, NULL, &fi);
	vmfunc_result((struct outcome){vec, fi.error_code, 0, 0});
}

static void op_vmfunc_code(void)
{
	struct site s = gf_pick_site(true);
	vmfunc_args();
	gf_uargs.a[0] = vmf_leaf, gf_uargs.a[1] = vmf_index;
	vmfunc_result(gf_run_at(s, SN_VMFUNC));
}

/* Write a new immediate into gfz_imm through the code page's alias, then call it: the code
 * must see the write (the interpreter's decoded code too). */
static void patch_body(void *p) { *(volatile u32 *)p = (u32)m.val; }
static void post_patch(u32 v)
{
	u32 want = gf.imm[gf_frame(v, PG_C0 + m.s.k)];
	gf_check("gfz_imm after a patch through the alias", gf_no_fault(want), m.o);
}

static void op_patch(void)
{
	struct fault_info fi;
	m.s = gf_pick_site(true), m.val = gf_rand();
	struct site alias = m.s;
	alias.alias = true;
	u64 where = gf_site_addr(alias, SN_IMM) + 1; /* MOV EAX, imm32: B8 imm32 */
	GLOG("gfz %lu: patch C%d with 0x%x\n", gf.op, m.s.k, (u32)m.val);
	gf_expect_access(gf.cur, gf.gpa[PG_C0 + m.s.k], 1, HV_ACCESS_W);
	if (trap_catch(patch_body, (void *)where, &fi) >= 0)
		return gf_fail("a store to a code page's alias faulted (vector, address)", fi.vector, where);
	s64 v = hc1(HC_VIEW_SWITCH, gf.cur); /* the view the store was made in */
	if (v >= 0 && (u64)v != gf.cur)
		hc1(HC_VIEW_SWITCH, v), gf.cur = v, gf.policy_moves++;
	gf.imm[gf_frame(gf.cur, PG_C0 + m.s.k)] = (u32)m.val;
	m.s.rgn = gf_region_of(PG_C0 + m.s.k);
	m.o = gf_run_at(m.s, SN_IMM);
	post = post_patch;
}

/* ---- the run ---- */

static const struct {
	void (*fn)(void);
	u8 weight;
} kinds[K_N] = {
	[K_HC] = {op_hc, 26}, [K_HC_CODE] = {op_hc_code, 8}, [K_VMFUNC] = {op_vmfunc, 5},
	[K_VMFUNC_CODE] = {op_vmfunc_code, 3}, [K_LOAD] = {op_load, 8}, [K_STORE] = {op_store, 8},
	[K_MEM_CODE] = {op_mem_code, 12}, [K_BADMEM] = {op_badmem, 4}, [K_CODE] = {gf_op_code, 8},
	[K_PATCH] = {op_patch, 4}, [K_EXC] = {gf_op_exc, 5}, [K_INT] = {gf_op_int, 5}, [K_TF] = {gf_op_tf, 4},
};

/* Where is the vCPU now? HC_VIEW_SWITCH to the view the fuzzer thinks it is in answers with the
 * view it was in; if a policy moved it, it goes back there. */
static u32 sync_view(void)
{
	s64 prev = hc1(HC_VIEW_SWITCH, gf.cur);
	if (prev < 0) {
		gf_fail("HC_VIEW_SWITCH to the current view refused (view, result)", gf.cur, prev);
		return gf.cur;
	}
	if ((u64)prev != gf.cur) {
		if (!gf_chain_has(gf.cur, prev))
			gf_fail("the vCPU is in a view no policy leads to (view, expected)", prev, gf.cur);
		hc1(HC_VIEW_SWITCH, prev);
		gf.cur = prev, gf.policy_moves++;
	}
	return gf.cur;
}

static int pick_kind(void)
{
	u32 total = 0, r;
	for (int k = 0; k < K_N; k++)
		total += kinds[k].weight;
	r = gf_below(total);
	for (int k = 0; k < K_N; k++) {
		if (r < kinds[k].weight)
			return k;
		r -= kinds[k].weight;
	}
	return K_HC;
}

/* One operation of kind k, then the view check, the model's check, the #DB/#BP/INT counts. */
static void do_op(int k, void (*fn)(void))
{
	u64 db0 = gf.n_db, bp0 = gf.n_bp, int0 = gf.n_int, ve0 = gf.ve;
	gf.kind = k;
	post = NULL, gf.exp_db = gf.exp_bp = gf.exp_int = 0;
	gf_denials_begin();
	gf.nest = !gf.repro;
	fn();
	gf.nest = false;
	u32 v = sync_view();
	gf_drain();
	gf_denials_check(gf.ve != ve0);
	if (post)
		post(v);
	if (gf.n_db - db0 != gf.exp_db || gf.n_bp - bp0 != gf.exp_bp || gf.n_int - int0 != gf.exp_int) {
		gf.mismatches++;
		gf_fail("#DB, #BP, INT 0x1f counts (got #DB, want #DB)", gf.n_db - db0, gf.exp_db);
	}
	gf.db += gf.n_db - db0, gf.bp += gf.n_bp - bp0, gf.intn += gf.n_int - int0;
	if (gf.log) /* pinpoint the operation a count goes wrong at */
		gf_check_hits();
	gf.by_kind[gf.kind]++;
	gf.ops++;
}

static void one_op(void)
{
	int k = pick_kind();
	do_op(k, kinds[k].fn);
}

/* ---- for the reproducers (gfuzz_repro.c) ---- */

/* A hypercall with these arguments, checked and followed by the model like any other. */
s64 gf_do_hc(u64 nr, u64 a0, u64 a1, u64 a2, u64 a3)
{
	hcx.nr = nr, hcx.a[0] = a0, hcx.a[1] = a1, hcx.a[2] = a2, hcx.a[3] = a3, hcx.a[4] = 0;
	struct gf_expect e = gf_predict(nr, hcx.a, 0, 0);
	GLOG("gfz %lu: hc %lu (0x%lx 0x%lx 0x%lx 0x%lx)\n", gf.op, nr, a0, a1, a2, a3);
	s64 r = hc5(nr, a0, a1, a2, a3, 0);
	hc_result(e, r, 0);
	return r;
}

static struct site fixed_site;
static enum sn fixed_sn;
static void op_fixed(void) { gf_run_code_at(fixed_sn, fixed_site); }

/* Snippet n on code page k at cpl, as one operation. */
void gf_do_code(enum sn n, int k, int cpl)
{
	fixed_sn = n, fixed_site = (struct site){.k = k, .cpl = cpl, .rgn = gf_region_of(PG_C0 + k)};
	do_op(K_CODE, op_fixed);
	gf.op++;
}

static void op_fixed_store(void)
{
	struct fault_info fi;
	m.write = true, m.size = 2, m.val = 0x1234, m.o.ret = 0;
	m.o.vec = trap_catch(mem_body, NULL, &fi);
	gf_check("a store of two bytes", gf_no_fault(0), m.o);
	post = post_mem;
}

/* A two-byte store at addr from C, as one operation. */
void gf_do_store(u64 addr)
{
	m.addr = addr;
	do_op(K_STORE, op_fixed_store);
	gf.op++;
}

/* ---- setup, checkpoints, the report ---- */

/* The arena's pages, the blob in every code frame, the code aliases, a pattern in every data
 * frame (the model starts knowing all of it). */
static void setup_arena(u64 ram)
{
	for (int i = 0; i < GF_ND; i++)
		gf.gpa[PG_D0 + i] = guest_page(100 + i, GUEST_MAP_U);
	for (int i = 0; i < GF_NC; i++)
		gf.gpa[PG_C0 + i] = guest_page(110 + i, GUEST_MAP_U | GUEST_MAP_X);
	gf.gpa[PG_X0] = 16 * MiB, gf.gpa[PG_X1] = ram - PAGE_SIZE, gf.gpa[PG_Y0] = 4 * MiB;
	gf.gpa[PG_F0] = 0, gf.gpa[PG_F1] = 20 * MiB, gf.gpa[PG_F2] = ram - 2 * MiB;
	gf.gpa[PG_V0] = guest_page(120, 0), gf.gpa[PG_V1] = guest_page(121, 0);
	for (int p = PG_C0; p <= PG_Y0; p++) {
		u8 *c = (u8 *)gf.gpa[p];
		memset(c, 0xcc, PAGE_SIZE); /* INT3 around the blob */
		memcpy(c + GF_BLOB_OFF, gfz_blob, gfz_blob_end - gfz_blob);
		/* MOV EAX, GF_STRADDLE_IMM across the boundary: B8 and 2 bytes here, 2 and RET on the next */
		c[PAGE_SIZE - 3] = 0xb8, c[PAGE_SIZE - 2] = (u8)GF_STRADDLE_IMM, c[PAGE_SIZE - 1] = (u8)(GF_STRADDLE_IMM >> 8);
		c[0] = (u8)(GF_STRADDLE_IMM >> 16), c[1] = (u8)(GF_STRADDLE_IMM >> 24), c[2] = 0xc3;
	}
	for (int k = 0; k < GF_NC; k++)
		guest_map_4k(GF_ALIAS_GVA + (u64)k * PAGE_SIZE, gf.gpa[PG_C0 + k], GUEST_MAP_W | GUEST_MAP_U | GUEST_MAP_X);
	for (int f = 0; f < GF_NDF; f++)
		for (u64 o = 0; o < PAGE_SIZE; o++)
			((u8 *)gf.gpa[f])[o] = gf.shadow[f][o] = (u8)(f * 37 + o * 13 + (o >> 8));
	memset(gf.known, 0xff, sizeof(gf.known));
	for (u32 v = 0; v < HV_VIEW_MAX; v++)
		for (u32 p = 0; p < GF_NPAGES; p++)
			gf.remap[v][p] = p;
}

static void report(struct hv_boot_info *bi, u64 seed)
{
	u64 *o = (u64 *)bi->out;
	const u64 vals[24] = {gf.ops, gf.failures, gf.hc_ok, gf.hc_refused, gf.caught, gf.ve, gf.db, gf.bp,
			      gf.intn, gf.user_ops, gf.region_ops, gf.vmfunc_ok, gf.vmfunc_ud, gf.mem_ops,
			      gf.policy_moves, seed, 0, 0, 0, gf.first_fail_op, gf.first_fail_kind, gf.hits_checked,
			      gf.mismatches, gf.checkpoints};
	memcpy(o, vals, sizeof(vals));
	for (u32 v = 0; v < HV_VIEW_MAX; v++)
		o[16] |= gf.view_live[v] ? BIT(v) : 0;
	for (u32 t = 0; t < GF_TRAP_MAX; t++)
		o[17] |= gf.trap[t].live ? BIT(t) : 0;
	for (u32 r = 0; r < HV_REGION_MAX; r++)
		o[18] |= gf.rgn[r].live ? BIT(r) : 0;
	for (int k = 0; k < 28 - 24; k++)
		o[24 + k] = 0;
	for (int k = 0; k < K_N; k++)
		o[24 + k / 4] |= (gf.by_kind[k] & 0xffff) << (16 * (k % 4));
	o[28] = gf.cur;
	o[29] = gf.ve_gpa;
	o[30] = gf.avoided;
}

/* HC_EXIT(GF_CHECKPOINT): the host checks its invariants against out[] and resumes the guest. */
static void checkpoint(struct hv_boot_info *bi, u64 seed)
{
	gf_check_hits();
	gf.checkpoints++;
	report(bi, seed);
	hc1(HC_EXIT, GF_CHECKPOINT);
}

static void summary(u64 seed)
{
	guest_printf("guest_fuzz: seed %lu: %lu operations, %lu failures; hypercalls %lu ok, %lu refused; %lu exceptions "
		     "caught, %lu #VE, %lu #DB, %lu #BP, %lu INT 0x1f; %lu at CPL 3, %lu in regions; VMFUNC %lu ok, %lu "
		     "#UD; %lu loads checked, %lu policy moves, %lu trap-hit checks; %lu steered around known findings\n",
		     seed, gf.ops, gf.failures, gf.hc_ok, gf.hc_refused, gf.caught, gf.ve, gf.db, gf.bp, gf.intn,
		     gf.user_ops, gf.region_ops, gf.vmfunc_ok, gf.vmfunc_ud, gf.mem_ops, gf.policy_moves, gf.hits_checked,
		     gf.avoided);
	guest_printf("guest_fuzz: hypercalls (number: succeeded/refused):");
	for (int i = 0; i <= HC_NR; i++)
		guest_printf("%s %d: %u/%u", i % 8 ? "," : "\nguest_fuzz:  ", i, gf.hc_by_nr[i][0], gf.hc_by_nr[i][1]);
	guest_printf("\nguest_fuzz: violation records read: %lu STOP, %lu RESTORE, %lu SWITCH, %lu #VE, %lu trap; %lu nested "
		     "hypercalls", gf.actions[0], gf.actions[1], gf.actions[2], gf.actions[3], gf.actions[4], gf.nested);
	guest_printf("\nguest_fuzz: by kind:");
	for (int k = 0; k < K_N; k++)
		guest_printf(" %s %lu", kind_name[k], gf.by_kind[k]);
	guest_printf("\n");
}

void scen_guest_fuzz(struct hv_boot_info *bi)
{
	u64 arg = bi->arg, ram = bi->ram_size, seed = GF_ARG_SEED(arg) ? GF_ARG_SEED(arg) : 1;
	u64 n = GF_ARG_OPS(arg) ? GF_ARG_OPS(arg) : 1000, every = GF_ARG_CKPT(arg) * 100;
	if (!GEXPECT(ram >= 32 * MiB && ram <= GF_MAX_RAM)) {
		guest_printf("guest_fuzz: needs 32 to 64 MiB of RAM\n");
		return;
	}
	gf.rng = seed, gf.log = arg & GF_ARG_LOG, gf.ram_size = ram;
	gf.repro = GF_ARG_REPRO(arg) != 0;
	/* Every known finding is fixed (docs/guest.md): nothing is steered around. The steering
	 * stays for the next finding: set gf.avoid here while it is open. */
	gf.avoid = false;
	(void)(arg & GF_ARG_ALL);
	setup_arena(ram);
	gf_handlers_init();
	gf.view_live[0] = true;
	gf_rights_view(0);
	GEXPECT_EQ(hc3(HC_VIEW_SET_POLICY, 0, HV_POLICY_RESTORE, 0), 0); /* view 0 never STOPs nor SWITCHes */
	gf.policy[0] = HV_POLICY_RESTORE;
	gf.xo = hc4(HC_VIEW_SET_ACCESS, 0, gf.gpa[PG_F1], PAGE_SIZE, HV_ACCESS_X) == 0;
	GEXPECT_EQ(hc4(HC_VIEW_SET_ACCESS, 0, gf.gpa[PG_F1], PAGE_SIZE, 7), 0);
	GEXPECT_EQ(hc1(HC_VE_REGISTER, gf.gpa[PG_V0]), 0);
	gf.ve_gpa = gf.gpa[PG_V0];
	guest_printf("guest_fuzz: seed %lu, %lu operations; execute-only EPT %d\n", seed, n, gf.xo);
	gf_learn_native();
	if (gf.repro) {
		guest_printf("guest_fuzz: reproducer %lu\n", GF_ARG_REPRO(arg));
		gf_repro(GF_ARG_REPRO(arg));
		n = gf.ops;
	}
	for (gf.op = 0; gf.op < n && !GF_ARG_REPRO(arg); gf.op++) {
		one_op();
		if (every && (gf.op + 1) % every == 0 && gf.op + 1 < n)
			checkpoint(bi, seed);
	}
	gf_check_hits();
	report(bi, seed);
	summary(seed);
	GEXPECT_EQ(gf.failures, 0);
	GEXPECT_EQ(gf.ops, n);
}
