/* gfuzz_code.c: the code pages of "guest_fuzz": calling a snippet of gfuzz.S at CPL 0 or 3 on a
 * code page (which may be an emulated region, trapped, remapped or denied in the view) and what
 * it must give: its result, or the exception the CPU raises for it, checked against the native
 * answer where CPU models differ. The handlers of #DB, #BP, INT 0x1f (count and resume) and #VE
 * (restore the page in every view). The data model and the run loop are in scen_gfuzz.c. */
#include "gfuzz.h"

#define RFLAGS_TF BIT(8)

struct gf_args gf_uargs GUEST_USER_DATA; /* the snippets' arguments (read at CPL 3 too) */

extern char gfz_load64[], gfz_load8[], gfz_store64[], gfz_store16[], gfz_movs[];
extern char gfz_cpuid[], gfz_version[], gfz_hcall[], gfz_vmfunc[], gfz_out[], gfz_int3[], gfz_icebp[];
extern char gfz_intn[], gfz_intbad[], gfz_ud2[], gfz_div0[], gfz_hlt[], gfz_tf[], gfz_tf_cpuid[];
extern char gfz_tf_vmcall[], gfz_smc[], gfz_imm[], gfz_loop[], gfz_callret[], gfz_rdrand[], gfz_rdseed[], gfz_rdpid[];
extern char gfz_callout[];
static char *const sn_addr[SN_N] = {
	gfz_load64, gfz_load8, gfz_store64, gfz_store16, gfz_movs, gfz_cpuid, gfz_version, gfz_hcall, gfz_vmfunc,
	gfz_out, gfz_int3, gfz_icebp, gfz_intn, gfz_intbad, gfz_ud2, gfz_div0, gfz_hlt, gfz_tf, gfz_tf_cpuid,
	gfz_tf_vmcall, gfz_smc, gfz_imm, gfz_loop, gfz_callret, gfz_rdrand, gfz_rdseed, gfz_rdpid, gfz_callout,
	NULL,
};
const char *const gf_sn_name[SN_N] = {
	"load64", "load8", "store64", "store16", "movs", "cpuid", "version", "hcall", "vmfunc", "out", "int3",
	"icebp", "int 0x1f", "int 0x40", "ud2", "div0", "hlt", "tf", "tf+cpuid", "tf+vmcall", "smc", "imm", "loop",
	"callret", "rdrand", "rdseed", "rdpid", "callout", "straddle",
};

/* ---- handlers: #DB, #BP and INT 0x1f count and resume; #VE restores the page everywhere ---- */

static bool on_db(struct trap_frame *f)
{
	gf.n_db++;
	gf_nested_hc();
	if (gf.db_once) {
		void (*fn)(void) = gf.db_once;
		gf.db_once = NULL;
		fn();
	}
	if (!gf.want_db)
		f->rflags &= ~RFLAGS_TF;
	return true;
}
static bool on_bp(struct trap_frame *f) { return (void)f, gf.n_bp++, gf_nested_hc(), true; }
static bool on_int(struct trap_frame *f) { return (void)f, gf.n_int++, gf_nested_hc(), true; }

/* The #VE information comes from the page registered now. The page gets RWX in every live view
 * (Bochs reports the EPTP index of the last VMFUNC, not the view, docs/guest.md). The same #VE
 * over and over is a failure, and ends the run before it could hang. */
static bool on_ve(struct trap_frame *f)
{
	static u64 last_gpa, last_rip, same;
	volatile struct hv_ve_info *info = (volatile struct hv_ve_info *)gf.ve_gpa;
	gf.ve++;
	if (!info) {
		gf_fail("#VE with no information page registered", f->rip, 0);
		return true;
	}
	u64 gpa = info->gpa;
	same = gpa == last_gpa && f->rip == last_rip ? same + 1 : 0;
	last_gpa = gpa, last_rip = f->rip;
	if (same == 8 || info->exit_reason != EXIT_REASON_EPT_VIOLATION)
		gf_fail("#VE repeats, or is not an EPT violation (gpa, rip)", gpa, f->rip);
	if (same >= 64) {
		guest_printf("guest_fuzz: the same #VE 64 times (gpa 0x%lx rip 0x%lx); giving up\n", gpa, f->rip);
		guest_exit(0xe0 + VE_VECTOR);
	}
	gf_drain(); /* the records up to this #VE, its own (if injected) included */
	gf_nested_hc();
	for (u32 v = 0; v < HV_VIEW_MAX; v++)
		if (gf.view_live[v])
			hc4(HC_VIEW_SET_ACCESS, v, ALIGN_DOWN(gpa, PAGE_SIZE), PAGE_SIZE, 7);
	gf_rights_restored(gpa);
	info->semaphore = 0;
	return true;
}

/* ---- calling a snippet ---- */

struct call {
	u64 fn;
	int cpl;
	u64 ret;
};
static struct call cl;

static void call_body(void *p)
{
	struct call *c = p;
	if (c->cpl)
		c->ret = guest_user_call((u64(*)(void *))c->fn, &gf_uargs, guest_user_stack_top);
	else
		c->ret = ((u64(*)(void *))c->fn)(&gf_uargs);
}

struct outcome gf_run_call(u64 fn, int cpl)
{
	struct fault_info fi;
	cl = (struct call){fn, cpl, 0};
	int vec = trap_catch(call_body, &cl, &fi);
	gf.user_ops += cpl != 0;
	return (struct outcome){vec, fi.error_code, fi.cr2, cl.ret};
}

bool gf_check(const char *what, struct want w, struct outcome o)
{
	bool ok = o.vec == w.vec && (w.vec < 0 || o.err == w.err) && (!w.check_cr2 || o.cr2 == w.cr2) &&
		  (w.vec >= 0 || !w.has_ret || o.ret == w.ret);
	gf.caught += ok && w.vec >= 0;
	if (!ok) {
		gf.mismatches++;
		gf_fail(what, o.vec < 0 ? o.ret : (u64)o.vec, w.vec < 0 ? w.ret : (u64)w.vec);
		if (gf.failures <= 16)
			guest_printf("guest_fuzz:   got vector %d error 0x%lx cr2 0x%lx rax 0x%lx; want vector %d error 0x%lx "
				     "cr2 0x%lx rax 0x%lx\n", o.vec, o.err, o.cr2, o.ret, w.vec, w.err, w.cr2, w.ret);
	}
	return ok;
}

struct want gf_no_fault(u64 ret) { return (struct want){.vec = -1, .has_ret = true, .ret = ret}; }
struct want gf_fault(int vec, u64 err) { return (struct want){.vec = vec, .err = err}; }

int gf_region_of(int page)
{
	int r = gf.mon_rgn[gf.gpa[gf_frame(gf.cur, page)] / PAGE_SIZE];
	for (u32 v = 0; v < HV_VIEW_MAX; v++)
		if (gf_chain_has(gf.cur, v) && gf.mon_rgn[gf.gpa[gf_frame(v, page)] / PAGE_SIZE] != r)
			return -1;
	return r;
}

struct site gf_pick_site(bool user)
{
	struct site s = {.k = gf_below(GF_NC), .alias = gf_below(100) < 8};
	s.cpl = user && gf_below(100) < 30 ? 3 : 0;
	s.rgn = gf_region_of(PG_C0 + s.k);
	gf.region_ops += s.rgn != 0;
	return s;
}

u64 gf_site_addr(struct site s, enum sn n)
{
	u64 page = s.alias ? GF_ALIAS_GVA + (u64)s.k * PAGE_SIZE : gf.gpa[PG_C0 + s.k];
	if (n == SN_STRADDLE)
		return page + PAGE_SIZE - 3;
	return page + GF_BLOB_OFF + (u64)(sn_addr[n] - gfz_blob);
}

struct outcome gf_run_at(struct site s, enum sn n)
{
	u64 first = gf_site_addr((struct site){.k = s.k}, n); /* its first byte, by the page's own address */
	gf_expect_access(gf.cur, first, 1, HV_ACCESS_X);
	GLOG("gfz %lu: %s at C%d%s CPL %d region %d view %u args 0x%lx 0x%lx 0x%lx\n", gf.op, gf_sn_name[n], s.k,
	     s.alias ? " (alias)" : "", s.cpl, s.rgn, gf.cur, gf_uargs.a[0], gf_uargs.a[1], gf_uargs.a[2]);
	return gf_run_call(gf_site_addr(s, n), s.cpl);
}

void gf_handlers_init(void)
{
	guest_trap_set_handler(1, on_db);
	guest_trap_set_handler(3, on_bp);
	guest_trap_set_handler(0x1f, on_int);
	guest_trap_set_handler(VE_VECTOR, on_ve);
}

/* ---- code snippets, exceptions, interrupts, TF ---- */

static struct want native[SN_N][2]; /* learnt at CPL 0 and 3 before anything was changed */

static u32 callout_ret; /* what SN_CALLOUT must return */
static bool straddle_bad(int k);

/* SN_CALLOUT's callee: a snippet on another code page (or the same, through its alias). */
static u64 callee(void)
{
	static const enum sn which[] = {SN_LOOP, SN_CALLRET, SN_STRADDLE};
	static const u32 ret[] = {2080, 7, GF_STRADDLE_IMM};
	u32 i = gf_below(ARRAY_SIZE(which));
	struct site s = {.k = gf_below(which[i] == SN_STRADDLE ? GF_NC - 1 : GF_NC), .alias = gf_below(4) == 0};
	if (which[i] == SN_STRADDLE && gf.avoid && straddle_bad(s.k)) /* finding E */
		i = 0, gf.avoided++;
	callout_ret = ret[i] + 1;
	return gf_site_addr(s, which[i]);
}

static struct want want_code(enum sn n, int cpl)
{
	switch (n) {
	case SN_CPUID: return gf_no_fault(HV_CPUID_MAX_LEAF);
	case SN_VERSION: return gf_no_fault(HV_ABI_VERSION);
	case SN_OUT: return cpl ? gf_fault(13, 0) : gf_no_fault(0x5a);
	case SN_LOOP: return gf_no_fault(2080);
	case SN_CALLRET: return gf_no_fault(7);
	case SN_CALLOUT: return gf_no_fault(callout_ret);
	case SN_STRADDLE: return gf_no_fault(GF_STRADDLE_IMM);
	case SN_SMC: return gf_no_fault((u32)gf_uargs.a[0]);
	case SN_INT3: return cpl ? gf_fault(13, 3 * 8 + 2) : gf_no_fault(3);
	case SN_ICEBP: return gf_no_fault(1);
	case SN_INTN: return cpl ? gf_fault(13, 0x1f * 8 + 2) : gf_no_fault(0x1f);
	case SN_UD2: return gf_fault(6, 0);
	case SN_DIV0: return gf_fault(0, 0);
	case SN_HLT: return gf_fault(13, 0);
	case SN_TF: return gf_no_fault(1);
	case SN_TF_CPUID: return gf_no_fault(HV_CPUID_MAX_LEAF);
	case SN_TF_VMCALL: return gf_no_fault(HV_ABI_VERSION);
	default: return native[n][cpl ? 1 : 0]; /* INT 0x40, RDRAND, RDSEED, RDPID */
	}
}

/* Does a trap take execute away from code page k's frame in a view the vCPU may be in? */
static bool x_trapped(int k)
{
	for (u32 v = 0; v < HV_VIEW_MAX; v++) {
		u32 t = gf_chain_has(gf.cur, v) ? gf.mon_trap[gf.gpa[gf_frame(v, PG_C0 + k)] / PAGE_SIZE] : 0;
		if (t && ((gf.trap[t - 1].access & HV_ACCESS_X) || ((gf.trap[t - 1].access & HV_ACCESS_R) && !gf.xo)))
			return true;
	}
	return false;
}

/* Finding E: in a view the vCPU may be in, the instruction across code pages k and k + 1 starts
 * outside any region and ends in one. */
static bool straddle_bad(int k)
{
	for (u32 v = 0; v < HV_VIEW_MAX; v++)
		if (gf_chain_has(gf.cur, v) && !gf.mon_rgn[gf.gpa[gf_frame(v, PG_C0 + k)] / PAGE_SIZE] &&
		    gf.mon_rgn[gf.gpa[gf_frame(v, PG_C0 + k + 1)] / PAGE_SIZE])
			return true;
	return false;
}

/* The known findings (docs/guest.md, reproducers 1 to 5): unless told otherwise, what would
 * trigger one runs a harmless snippet instead. */
static enum sn steer(enum sn n, struct site s)
{
	bool tf = n == SN_TF || n == SN_TF_CPUID || n == SN_TF_VMCALL, rd = n == SN_RDSEED || n == SN_RDRAND || n == SN_RDPID;
	bool hit = ((n == SN_TF_CPUID || n == SN_TF_VMCALL) && x_trapped(s.k)) || /* A */
		   (tf && s.rgn) ||                                                /* B */
		   (rd && (s.rgn || x_trapped(s.k))) ||                            /* C */
		   (n == SN_STRADDLE && straddle_bad(s.k));                          /* E */
	if (!gf.avoid || !hit)
		return n;
	gf.avoided++;
	return SN_LOOP;
}

void gf_run_code_at(enum sn n, struct site s)
{
	if (n == SN_HLT) /* HLT at CPL 0 ends the run by design */
		s.cpl = 3;
	if (n == SN_STRADDLE && s.k == GF_NC - 1) /* the next page must be a code page */
		s.k = gf_below(GF_NC - 1), s.rgn = gf_region_of(PG_C0 + s.k);
	n = steer(n, s);
	gf_uargs.a[0] = gf_rand();
	if (n == SN_CALLOUT)
		gf_uargs.a[1] = callee();
	gf.exp_db = n == SN_ICEBP ? 1 : n == SN_TF || n == SN_TF_CPUID ? 6 : n == SN_TF_VMCALL ? 5 : 0;
	gf.exp_bp = n == SN_INT3 && !s.cpl, gf.exp_int = n == SN_INTN && !s.cpl;
	gf.want_db = gf.exp_db != 0;
	gf_check(gf_sn_name[n], want_code(n, s.cpl), gf_run_at(s, n));
	gf.want_db = false;
}

static void run_code(enum sn n, bool user) { gf_run_code_at(n, gf_pick_site(user)); }

void gf_op_code(void)
{
	static const enum sn which[] = {SN_CPUID, SN_VERSION, SN_OUT, SN_LOOP, SN_CALLRET, SN_SMC, SN_RDRAND, SN_RDSEED,
					SN_RDPID, SN_CALLOUT, SN_CALLOUT, SN_STRADDLE, SN_STRADDLE};
	run_code(which[gf_below(ARRAY_SIZE(which))], true);
}
void gf_op_exc(void)
{
	static const enum sn which[] = {SN_UD2, SN_DIV0, SN_INTBAD, SN_HLT};
	run_code(which[gf_below(ARRAY_SIZE(which))], true);
}
void gf_op_int(void) { run_code((enum sn[]){SN_INT3, SN_ICEBP, SN_INTN}[gf_below(3)], true); }
void gf_op_tf(void) { run_code((enum sn[]){SN_TF, SN_TF_CPUID, SN_TF_VMCALL}[gf_below(3)], true); }

/* The CPU's answer to what may differ between models (INT to an empty gate, RDRAND, RDSEED,
 * RDPID), at CPL 0 and 3, before any view, trap or region exists. */
void gf_learn_native(void)
{
	static const enum sn which[] = {SN_INTBAD, SN_RDRAND, SN_RDSEED, SN_RDPID};
	for (u32 i = 0; i < ARRAY_SIZE(which); i++)
		for (int c = 0; c < 2; c++) {
			struct site s = {.cpl = c * 3};
			struct outcome o = gf_run_call(gf_site_addr(s, which[i]), s.cpl);
			native[which[i]][c] = o.vec < 0 ? (struct want){.vec = -1} : gf_fault(o.vec, o.err);
		}
	guest_printf("guest_fuzz: natively (vector, or -1): INT 0x40 %d/%d, RDRAND %d, RDSEED %d, RDPID %d (CPL 0/3)\n",
		     native[SN_INTBAD][0].vec, native[SN_INTBAD][1].vec, native[SN_RDRAND][0].vec, native[SN_RDSEED][0].vec,
		     native[SN_RDPID][0].vec);
}
