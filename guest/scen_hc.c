/* scen_hc.c: the hypercall interface itself. "vmcall" walks every call and error path once;
 * "hypercall_fuzz" makes 10,000 random hypercalls, half at CPL 0 and half at CPL 3, and checks
 * each result against the ABI. Neither ever issues HC_EXIT, HC_CHECK (except through GEXPECT)
 * or HC_VMXOFF with the right magic (those act on the harness), nor lets an EPT-view call
 * touch the pages the guest runs on. */
#include "guest.h"

#define EXIT_REASON_VMCALL 18 /* SDM appendix "VMX Basic Exit Reasons" */
#define FUZZ_CALLS 10000

static struct hv_exit_stats stats;

/* Sets 13 registers to known values around one HC_VERSION call; true when all survive. */
static bool vmcall_preserves_registers(void)
{
	register u64 r8 __asm__("r8") = 0x0808080808080808;
	register u64 r9 __asm__("r9") = 0x0909090909090909;
	register u64 r10 __asm__("r10") = 0x1010101010101010;
	register u64 r11 __asm__("r11") = 0x1111111111111111;
	register u64 r12 __asm__("r12") = 0x1212121212121212;
	register u64 r13 __asm__("r13") = 0x1313131313131313;
	register u64 r14 __asm__("r14") = 0x1414141414141414;
	register u64 r15 __asm__("r15") = 0x1515151515151515;
	u64 rax = HC_VERSION, rbx = 0xbbbbbbbbbbbbbbbb, rcx = 0xcccccccccccccccc;
	u64 rdx = 0xdddddddddddddddd, rsi = 0x5151515151515151, rdi = 0xd1d1d1d1d1d1d1d1;
	__asm__ volatile("vmcall"
			 : "+a"(rax), "+b"(rbx), "+c"(rcx), "+d"(rdx), "+S"(rsi), "+D"(rdi), "+r"(r8),
			   "+r"(r9), "+r"(r10), "+r"(r11), "+r"(r12), "+r"(r13), "+r"(r14), "+r"(r15)
			 :
			 : "memory");
	return rax == HV_ABI_VERSION && rbx == 0xbbbbbbbbbbbbbbbb && rcx == 0xcccccccccccccccc &&
	       rdx == 0xdddddddddddddddd && rsi == 0x5151515151515151 &&
	       rdi == 0xd1d1d1d1d1d1d1d1 && r8 == 0x0808080808080808 && r9 == 0x0909090909090909 &&
	       r10 == 0x1010101010101010 && r11 == 0x1111111111111111 &&
	       r12 == 0x1212121212121212 && r13 == 0x1313131313131313 &&
	       r14 == 0x1414141414141414 && r15 == 0x1515151515151515;
}

static void vmcall_get_stats(u64 ram)
{
	const u64 sz = sizeof(stats), gpa = (u64)&stats;
	GEXPECT_EQ(hc2(HC_GET_STATS, gpa, sz), sz);
	GEXPECT(stats.total > 0);
	GEXPECT(stats.by_reason[EXIT_REASON_VMCALL] > 0);
	GEXPECT_EQ(hc2(HC_GET_STATS, gpa, sz + 64), sz);                   /* bigger buffer */
	GEXPECT_EQ(hc2(HC_GET_STATS, gpa, sz - 8), -HV_EINVAL);            /* too small */
	GEXPECT_EQ(hc2(HC_GET_STATS, gpa, 0), -HV_EINVAL);
	GEXPECT_EQ(hc2(HC_GET_STATS, gpa + 4, sz), -HV_EINVAL);            /* not 8-byte aligned */
	GEXPECT_EQ(hc2(HC_GET_STATS, ram, sz), -HV_EFAULT);                /* at the end of RAM */
	GEXPECT_EQ(hc2(HC_GET_STATS, ram + GiB, sz), -HV_EFAULT);          /* far beyond */
	GEXPECT_EQ(hc2(HC_GET_STATS, ram - 8, sz), -HV_EFAULT);            /* crosses the end */
	GEXPECT_EQ(hc2(HC_GET_STATS, (u64)-8, sz), -HV_EFAULT);            /* gpa + size wraps */
	GEXPECT_EQ(hc2(HC_GET_STATS, gpa, -gpa + 0x1000), -HV_EFAULT);     /* wraps back into RAM */
}

void scen_vmcall(struct hv_boot_info *bi)
{
	u64 ram = bi->ram_size;
	GEXPECT_EQ(hc0(HC_VERSION), HV_ABI_VERSION);
	GEXPECT_EQ(hc0(HC_NR), -HV_ENOSYS);
	GEXPECT_EQ(hc0(1000), -HV_ENOSYS);
	GEXPECT_EQ(hc0(-1ULL), -HV_ENOSYS);
	vmcall_get_stats(ram);
	GEXPECT_EQ(hc4(HC_CHECK, 1, __LINE__, ram + 0x1000, 16), -HV_EFAULT); /* text outside RAM */
	GEXPECT_EQ(hc1(HC_VMXOFF, 0), -HV_EINVAL);
	GEXPECT_EQ(hc1(HC_VMXOFF, HC_VMXOFF_MAGIC ^ 1), -HV_EINVAL);
	GEXPECT(vmcall_preserves_registers()); /* the wrappers in hcall.h rely on it */
	GEXPECT_EQ(hc2(HC_GET_STATS, (u64)&stats, sizeof(stats)), sizeof(stats));
	bi->out[0] = stats.total;
	bi->out[1] = stats.by_reason[EXIT_REASON_VMCALL];
	bi->out[2] = stats.hypercalls;
	bi->out[3] = stats.hypercall_errors;
}

/* The fuzzer's state. Its code is always-inline so that one copy runs at CPL 0 and another,
 * in .utext, at CPL 3; it must not call out of the user pages (no printf, no libc). */
struct fuzz {
	u64 state;                 /* xorshift64 */
	u64 ram_size, scratch;     /* near-valid GPAs: the scratch pages, the end of RAM */
	u64 own_lo, own_hi;        /* the guest image: no EPT view may change these pages */
	bool tail_ok;              /* the last 16 KiB of RAM are free to be written */
	u64 n, calls, ok, bad;
	u64 bad_nr, bad_ret, bad_cpl; /* the first bad result */
};

#define FUZZ_SCRATCH_PAGES 4
static struct fuzz fz_user GUEST_USER_DATA;
/* Written only by the hypervisor (HC_GET_STATS, HC_VIOLATIONS_READ), never read or written by
 * the guest: a view may change its rights or its frame without harm. */
static u8 fuzz_scratch[FUZZ_SCRATCH_PAGES * 4096] __attribute__((aligned(4096)));

GUEST_INLINE u64 fz_rand(struct fuzz *f)
{
	u64 x = f->state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return f->state = x;
}

/* 50% in [0, HC_NR + 3), 50% any 64-bit value; never HC_EXIT or HC_CHECK. */
GUEST_INLINE u64 fz_nr(struct fuzz *f)
{
	for (;;) {
		u64 r = fz_rand(f);
		u64 nr = (r & 1) ? (r >> 1) % (HC_NR + 3) : fz_rand(f);
		if (nr != HC_EXIT && nr != HC_CHECK)
			return nr;
	}
}

/* 50% any 64-bit value, 50% near-valid: GPAs in the scratch pages (page-aligned or not), at
 * the end of RAM or just beyond it; sizes around sizeof(struct hv_exit_stats) or whole pages;
 * small numbers (view indices, kinds, access bits). */
GUEST_INLINE u64 fz_arg(struct fuzz *f)
{
	u64 r = fz_rand(f), k = r >> 8, pick = r & 15;
	if (pick < 8)
		return fz_rand(f);
	if (pick == 8 || (pick == 10 && !f->tail_ok))
		return f->scratch + k % 1024;
	if (pick == 9)
		return f->scratch + k % FUZZ_SCRATCH_PAGES * 4096;
	if (pick == 10)
		return f->ram_size - (k % 2 ? k % 2048 : (k % 4 + 1) * 4096);
	if (pick == 11)
		return sizeof(struct hv_exit_stats) - 16 + k % 32;
	if (pick == 12)
		return (k % FUZZ_SCRATCH_PAGES + 1) * 4096;
	if (pick == 13)
		return f->ram_size + k % 4096;
	return k % 32;
}

/* Does [a, a + size) (at least one byte; wrapping counts as reaching the top) meet [lo, hi)? */
GUEST_INLINE bool fz_overlaps(u64 a, u64 size, u64 lo, u64 hi)
{
	u64 end = a + (size ? size : 1);
	return a < hi && (end > lo || end < a);
}

/* Calls that change how the guest itself runs are always refused: HC_VIEW_SWITCH and
 * HC_VIEW_SET_POLICY get a view that cannot exist (-EINVAL), HC_VE_REGISTER an address that is
 * unaligned (-EINVAL) or beyond RAM (-EFAULT). */
GUEST_INLINE void fz_spare_vcpu(struct fuzz *f, u64 nr, u64 *a)
{
	if (nr == HC_VIEW_SWITCH || nr == HC_VIEW_SET_POLICY)
		a[0] |= 1UL << 40;
	else if (nr == HC_VE_REGISTER)
		a[0] = a[0] & 1 ? a[0] : f->ram_size + (a[0] & 0xfff000);
}

/* Which argument of call nr is a guest address the call acts on or writes to (a[1] for all of
 * them), and how many bytes from it; 0 when none needs sparing. */
GUEST_INLINE u64 fz_range(u64 nr, const u64 *a)
{
	if (nr == HC_VIEW_SET_ACCESS || nr == HC_VIEW_SET_VE)
		return a[2] ? a[2] : 1;
	if (nr == HC_VIEW_REMAP || nr == HC_TRAP_ADD)
		return 1;
#ifdef HC_REGION_ADD /* emulated regions: the code in them runs in the interpreter */
	if (nr == HC_REGION_ADD)
		return a[2] ? a[2] : 1;
	if (nr == HC_REGION_STATS)
		return sizeof(struct hv_region_stats);
	if (nr == HC_REGION_LOG_READ) {
		u64 bytes = a[2] * sizeof(struct hv_access); /* a wrapped product: refused for max anyway */
		return bytes ? bytes : 1;
	}
#endif
	return 0;
}

/* EPT views may change rights and frames of any page, traps make a page exit on access,
 * regions make its code run in the interpreter, and some calls write guest memory: keep them
 * off the pages the guest runs on (its image, stacks, page tables, the boot info page) so that
 * it keeps running. A range that meets them moves to the scratch pages, cut to fit. */
GUEST_INLINE void fz_spare_guest(struct fuzz *f, u64 nr, u64 *a)
{
	const u64 room = FUZZ_SCRATCH_PAGES * 4096;
	u64 len = fz_range(nr, a);
	if (len && (fz_overlaps(a[1], len, f->own_lo, f->own_hi) ||
		    fz_overlaps(a[1], len, HV_BOOT_INFO_GPA, HV_BOOT_INFO_GPA + 4096))) {
		a[1] = f->scratch;
		if ((nr == HC_VIEW_SET_ACCESS || nr == HC_VIEW_SET_VE) && len > room)
			a[2] = room;
#ifdef HC_REGION_ADD
		if (nr == HC_REGION_ADD && len > room)
			a[2] = room;
		if (nr == HC_REGION_LOG_READ && len > room)
			a[2] = room / sizeof(struct hv_access);
#endif
	}
	if (nr == HC_VMXOFF && a[0] == HC_VMXOFF_MAGIC)
		a[0] ^= 1;
	fz_spare_vcpu(f, nr, a);
}

GUEST_INLINE bool fz_is_error(s64 r)
{
	return r == -HV_EPERM || r == -HV_EFAULT || r == -HV_EINVAL || r == -HV_ENOSYS ||
	       r == -HV_EBUSY || r == -HV_ENOSPC;
}

/* What the ABI allows for call nr made at cpl. */
GUEST_INLINE bool fz_result_ok(u64 nr, s64 r, int cpl)
{
	if (nr == HC_VERSION)
		return r == HV_ABI_VERSION;
	if (cpl)
		return r == -HV_EPERM; /* every non-user call */
	if (nr >= HC_NR)
		return r == -HV_ENOSYS;
	if (nr == HC_VMXOFF)
		return r == -HV_EINVAL; /* never the right magic */
	if (nr == HC_GET_STATS)
		return r == sizeof(struct hv_exit_stats) || r == -HV_EINVAL || r == -HV_EFAULT;
	return r >= 0 || fz_is_error(r);
}

GUEST_INLINE void fz_run(struct fuzz *f, int cpl)
{
	for (u64 i = 0; i < f->n; i++) {
		u64 nr = fz_nr(f), a[5];
		for (int j = 0; j < 5; j++)
			a[j] = fz_arg(f);
		fz_spare_guest(f, nr, a);
		s64 r = hc5(nr, a[0], a[1], a[2], a[3], a[4]);
		f->calls++;
		if (fz_result_ok(nr, r, cpl)) {
			f->ok++;
		} else if (f->bad++ == 0) {
			f->bad_nr = nr;
			f->bad_ret = (u64)r;
			f->bad_cpl = cpl;
		}
	}
}

static GUEST_USER_TEXT u64 fuzz_user(void *arg)
{
	fz_run(arg, 3);
	return 0;
}

void scen_hypercall_fuzz(struct hv_boot_info *bi)
{
	struct fuzz *f = &fz_user; /* the CPL 0 half uses the same state, then hands it on */
	*f = (struct fuzz){
		.state = bi->arg ? bi->arg : 0x2545f4914f6cdd1d, /* xorshift64 must not start at 0 */
		.ram_size = bi->ram_size,
		.scratch = (u64)fuzz_scratch,
		.own_lo = (u64)__image_start,
		.own_hi = ALIGN_UP((u64)_end, PAGE_SIZE),
		.tail_ok = bi->ram_size >= ALIGN_UP((u64)_end, PAGE_SIZE) + 4 * PAGE_SIZE,
		.n = FUZZ_CALLS / 2,
	};
	fz_run(f, 0);
	u64 calls0 = f->calls, bad0 = f->bad;
	guest_user_call(fuzz_user, f, guest_user_stack_top);
	guest_printf("hypercall_fuzz: seed 0x%llx: %lu calls (%lu at CPL 0, %lu at CPL 3), %lu ok, "
		     "%lu bad (%lu at CPL 0)\n",
		     bi->arg, f->calls, calls0, f->calls - calls0, f->ok, f->bad, bad0);
	if (f->bad)
		guest_printf("first bad: nr 0x%lx at CPL %lu returned %ld\n", f->bad_nr, f->bad_cpl,
			     (s64)f->bad_ret);
	bi->out[0] = f->calls;
	bi->out[1] = f->ok;
	bi->out[2] = f->bad;
	bi->out[3] = calls0;
	bi->out[4] = f->calls - calls0;
	bi->out[5] = f->bad_nr;
	bi->out[6] = f->bad_ret;
	GEXPECT_EQ(f->bad, 0);
	GEXPECT_EQ(f->calls, FUZZ_CALLS);
}
