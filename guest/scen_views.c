/* scen_views.c: EPT views seen from the guest: "views_remap" (a page showing another frame
 * in one view only), "views_invept" (a rights change applies to the very next access: the
 * hypervisor invalidated the cached translation, SDM "Invalidating Cached EPT Information"),
 * "views_busy" (lifetime rules and refused inputs) and "vmfunc" (EPTP switching by VMFUNC leaf
 * 0 at CPL 0 and 3, and the #UD for what it does not allow; SDM "VMFUNC—Invoke VM Function",
 * "EPTP Switching"). */
#include "guest.h"

#define VAL_A 0xaaaa0000aaaa0001UL
#define VAL_B 0xbbbb0000bbbb0002UL
#define RWX (HV_ACCESS_R | HV_ACCESS_W | HV_ACCESS_X)
#define VMFUNC_ROUNDS 1000
#define CODE_RESULT 0x600d

static struct hv_violation recs[HV_VIOLATION_RING];
static struct hv_exit_stats stats;

/* Pages A (scratch 1) and B (scratch 2) with different first words; `rights` as guest_page(). */
static void two_pages(u64 *a, u64 *b, unsigned rights)
{
	*a = guest_page(1, rights);
	*b = guest_page(2, rights);
	*(volatile u64 *)*a = VAL_A;
	*(volatile u64 *)*b = VAL_B;
}

static u64 word(u64 a) { return *(volatile u64 *)a; }

void scen_views_remap(struct hv_boot_info *bi)
{
	u64 a, b, ram = bi->ram_size;
	two_pages(&a, &b, 0);
	GEXPECT_EQ(hc0(HC_VIEW_CREATE), 1);
	GEXPECT_EQ(hc3(HC_VIEW_REMAP, 1, a, b), 0);
	GEXPECT_EQ(word(a), VAL_A);                   /* view 0: untouched */
	GEXPECT_EQ(hc1(HC_VIEW_SWITCH, 1), 0);
	u64 in1 = word(a), b_in1 = word(b);
	*(volatile u64 *)(a + 8) = 0x1234;            /* lands in B's frame */
	GEXPECT_EQ(hc1(HC_VIEW_SWITCH, 0), 1);
	GEXPECT_EQ(in1, VAL_B);
	GEXPECT_EQ(b_in1, VAL_B);                     /* B itself is not moved */
	GEXPECT_EQ(word(a), VAL_A);
	GEXPECT_EQ(word(a + 8), 0);
	GEXPECT_EQ(word(b + 8), 0x1234);
	GEXPECT_EQ(hc2(HC_VIEW_GET_ACCESS, 1, a), RWX);
	GEXPECT_EQ(hc4(HC_VIEW_SET_ACCESS, 1, a, PAGE_SIZE, HV_ACCESS_R), 0);
	GEXPECT_EQ(hc2(HC_VIEW_GET_ACCESS, 1, a + 0x123), HV_ACCESS_R); /* any address in the page */
	GEXPECT_EQ(hc2(HC_VIEW_GET_ACCESS, 0, a), RWX);                 /* other views untouched */
	GEXPECT_EQ(hc2(HC_VIEW_GET_ACCESS, 1, b), RWX);
	GEXPECT_EQ(hc2(HC_VIEW_GET_ACCESS, 2, a), -HV_EINVAL);          /* no view 2 */
	GEXPECT_EQ(hc2(HC_VIEW_GET_ACCESS, 1, ram), -HV_EFAULT);
	GEXPECT_EQ(hc3(HC_VIEW_REMAP, 1, a + 8, b), -HV_EINVAL);
	GEXPECT_EQ(hc3(HC_VIEW_REMAP, 1, a, ram), -HV_EFAULT);
	bi->out[0] = in1;
}

/* The access of one views_invept round, made in view 1. */
static u64 touch(u64 p, int kind)
{
	if (kind == 0)
		return word(p + 0x80);
	if (kind == 1) {
		*(volatile u64 *)(p + 0x88) += 1;
		return 0;
	}
	return ((u64(*)(void))p)();
}

/* Access p (its translation is now cached with the old rights), take `drop` away, access it
 * again: exactly one violation, for that access. View 1 restores RWX after each. */
static void invept_round(u64 p, int kind, u64 rights, u64 qual)
{
	guest_violations_drain();
	GEXPECT_EQ(hc1(HC_VIEW_SWITCH, 1), 0);
	touch(p, kind);
	touch(p, kind);
	s64 r = hc4(HC_VIEW_SET_ACCESS, 1, p, PAGE_SIZE, rights);
	touch(p, kind);
	GEXPECT_EQ(hc1(HC_VIEW_SWITCH, 0), 1);
	GEXPECT_EQ(r, 0);
	u64 n = guest_violations_read(recs, HV_VIOLATION_RING);
	if (GEXPECT_EQ(n, 1)) {
		GEXPECT_EQ(recs[0].qualification & (EPTQ_READ | EPTQ_WRITE | EPTQ_FETCH), qual);
		GEXPECT_EQ(recs[0].qualification & EPTQ_RIGHTS(RWX), EPTQ_RIGHTS(rights));
		GEXPECT_EQ(recs[0].action, HV_POLICY_RESTORE);
	}
}

void scen_views_invept(struct hv_boot_info *bi)
{
	u64 p = guest_page(1, GUEST_MAP_X);
	static const u8 code[] = {0xb8, CODE_RESULT & 0xff, CODE_RESULT >> 8, 0, 0, 0xc3};
	memcpy((void *)p, code, sizeof(code));
	*(volatile u64 *)(p + 0x80) = VAL_A;
	GEXPECT_EQ(hc0(HC_VIEW_CREATE), 1);
	GEXPECT_EQ(hc3(HC_VIEW_SET_POLICY, 1, HV_POLICY_RESTORE, 0), 0);
	invept_round(p, 0, 0, EPTQ_READ);                          /* read, then no access */
	invept_round(p, 1, HV_ACCESS_R | HV_ACCESS_X, EPTQ_WRITE); /* write, then read-execute */
	invept_round(p, 2, HV_ACCESS_R | HV_ACCESS_W, EPTQ_FETCH); /* fetch, then read-write */
	GEXPECT_EQ(word(p + 0x88), 3);                             /* every write landed */
	GEXPECT_EQ(touch(p, 2) & 0xffffffff, CODE_RESULT);
	bi->out[0] = word(p + 0x88);
}

struct vmf_args {
	u32 leaf, index;
};

static void vmfunc_bad(void *arg)
{
	struct vmf_args *v = arg;
	vmfunc(v->leaf, v->index);
}

/* Create views until the table is full; destroy them again. */
static void views_fill(void)
{
	s64 v, n = 0, last = 0;
	while ((v = hc0(HC_VIEW_CREATE)) > 0)
		n++, last = v;
	GEXPECT_EQ(v, -HV_ENOSPC);
	GEXPECT_EQ(n, HV_VIEW_MAX - 1);
	GEXPECT_EQ(last, HV_VIEW_MAX - 1);
	vmfunc_eptp_switch(HV_VIEW_MAX - 1); /* the EPTP list has them all (else #UD: a failed run) */
	vmfunc_eptp_switch(1);               /* view 1 again: a new one with the old index */
	GEXPECT_EQ(hc1(HC_VIEW_SWITCH, 0), 1);
	for (s64 i = 1; i < HV_VIEW_MAX; i++)
		GEXPECT_EQ(hc1(HC_VIEW_DESTROY, i), 0);
}

/* Bad inputs from the guest: each refused, nothing changed. */
static void views_refuse(u64 p, u64 ram)
{
	GEXPECT_EQ(hc4(HC_VIEW_SET_ACCESS, HV_VIEW_MAX, p, PAGE_SIZE, HV_ACCESS_R), -HV_EINVAL);
	GEXPECT_EQ(hc4(HC_VIEW_SET_ACCESS, 5, p, PAGE_SIZE, HV_ACCESS_R), -HV_EINVAL); /* not created */
	GEXPECT_EQ(hc4(HC_VIEW_SET_ACCESS, 1, p + 8, PAGE_SIZE, HV_ACCESS_R), -HV_EINVAL);
	GEXPECT_EQ(hc4(HC_VIEW_SET_ACCESS, 1, ram - PAGE_SIZE, 2 * PAGE_SIZE, HV_ACCESS_R), -HV_EFAULT);
	GEXPECT_EQ(hc4(HC_VIEW_SET_ACCESS, 1, p, PAGE_SIZE, HV_ACCESS_W), -HV_EINVAL); /* W without R */
	GEXPECT_EQ(hc4(HC_VIEW_SET_ACCESS, 1, p, PAGE_SIZE, 8), -HV_EINVAL);
	GEXPECT_EQ(hc2(HC_VIEW_GET_ACCESS, 1, p), RWX);
	GEXPECT_EQ(hc1(HC_VE_REGISTER, ram), -HV_EFAULT);
	GEXPECT_EQ(hc1(HC_VE_REGISTER, p + 8), -HV_EINVAL);
	GEXPECT_EQ(hc2(HC_VIOLATIONS_READ, (u64)recs, HV_VIOLATION_RING + 1), -HV_EINVAL);
	GEXPECT_EQ(hc3(HC_VIEW_SET_POLICY, 1, HV_POLICY_SWITCH + 1, 0), -HV_EINVAL);
	GEXPECT_EQ(hc3(HC_VIEW_SET_POLICY, 1, HV_POLICY_SWITCH, 7), -HV_EINVAL); /* no view 7 */
}

void scen_views_busy(struct hv_boot_info *bi)
{
	u64 p = guest_page(1, 0);
	GEXPECT_EQ(hc0(HC_VIEW_CREATE), 1);
	GEXPECT_EQ(hc1(HC_VIEW_SWITCH, 1), 0);
	GEXPECT_EQ(hc1(HC_VIEW_DESTROY, 1), -HV_EBUSY); /* the vCPU is in it */
	GEXPECT_EQ(hc1(HC_VIEW_DESTROY, 0), -HV_EINVAL);
	GEXPECT_EQ(hc1(HC_VIEW_SWITCH, 0), 1);
	vmfunc_eptp_switch(1);                           /* by VMFUNC: only the VMCS knows */
	s64 busy = hc1(HC_VIEW_DESTROY, 1);
	vmfunc_eptp_switch(0);
	GEXPECT_EQ(busy, -HV_EBUSY);
	views_refuse(p, bi->ram_size);
	GEXPECT_EQ(hc1(HC_VIEW_DESTROY, 1), 0);
	GEXPECT_EQ(hc1(HC_VIEW_SWITCH, 1), -HV_EINVAL); /* gone, from the EPTP list too: */
	struct vmf_args args = {0, 1};
	struct fault_info f;
	GEXPECT_EQ(trap_catch(vmfunc_bad, &args, &f), 6);
	GEXPECT_EQ(hc1(HC_VIEW_SWITCH, 0), 0);
	GEXPECT_EQ(hc1(HC_VIEW_DESTROY, 1), -HV_EINVAL);
	GEXPECT_EQ(hc2(HC_VIEW_GET_ACCESS, 1, p), -HV_EINVAL);
	views_fill();
	GEXPECT_EQ(hc1(HC_VIEW_SWITCH, 0), 0);
}

/* vmfunc: VMFUNC(0, 1) and VMFUNC(0, 0) alternately, checking A's content each time. Returns
 * the number of wrong contents seen. */
static u64 vmfunc_loop(u64 a)
{
	u64 bad = 0;
	for (int i = 0; i < VMFUNC_ROUNDS; i++) {
		vmfunc_eptp_switch(1);
		bad += word(a) != VAL_B;
		vmfunc_eptp_switch(0);
		bad += word(a) != VAL_A;
	}
	return bad;
}

/* VMFUNC with a function or index the hypervisor does not offer: #UD, and the view stays. */
static void vmfunc_refused(u64 a, u32 leaf, u32 index)
{
	struct vmf_args args = {leaf, index};
	struct fault_info f;
	if (!GEXPECT_EQ(trap_catch(vmfunc_bad, &args, &f), 6))
		guest_printf("vmfunc: VMFUNC(%u, %u) gave %d\n", leaf, index, f.vector);
	GEXPECT_EQ(word(a), VAL_A);
}

struct vmf_user {
	u64 a;
	u64 in1, in0, cpl;
};
static struct vmf_user vmf_u GUEST_USER_DATA;

/* At CPL 3: VMFUNC needs no privilege (SDM "VMFUNC": no CPL check). */
static GUEST_USER_TEXT u64 vmfunc_user(void *arg)
{
	struct vmf_user *u = arg;
	u->cpl = read_cs() & 3;
	vmfunc_eptp_switch(1);
	u->in1 = *(volatile u64 *)u->a;
	vmfunc_eptp_switch(0);
	u->in0 = *(volatile u64 *)u->a;
	GEXPECT(u->in1 == VAL_B && u->in0 == VAL_A);
	return CODE_RESULT;
}

void scen_vmfunc(struct hv_boot_info *bi)
{
	u64 a, b;
	two_pages(&a, &b, GUEST_MAP_U); /* user-readable, for the CPL 3 part */
	GEXPECT_EQ(hc0(HC_VIEW_CREATE), 1);
	GEXPECT_EQ(hc3(HC_VIEW_REMAP, 1, a, b), 0);
	u64 e0 = guest_exits(&stats), soft0 = stats.soft_vmfunc;
	u64 t0 = rdtsc(), bad = vmfunc_loop(a), t1 = rdtsc();
	u64 e1 = guest_exits(&stats), soft1 = stats.soft_vmfunc;
	bi->out[0] = 2 * VMFUNC_ROUNDS;
	bi->out[1] = e1 - e0 - 1; /* not the second HC_GET_STATS */
	bi->out[2] = soft1 - soft0;
	guest_printf("vmfunc: %d switches, %lu cycles each, %llu exits, %llu emulated\n", 2 * VMFUNC_ROUNDS,
		     (t1 - t0) / (2 * VMFUNC_ROUNDS), bi->out[1], bi->out[2]);
	GEXPECT_EQ(bad, 0);
	GEXPECT_EQ(hc2(HC_VIEW_GET_ACCESS, 0, a), RWX);
	vmfunc_refused(a, 0, 5);   /* no view 5 */
	vmfunc_refused(a, 0, 600); /* beyond the EPTP list */
	vmfunc_refused(a, 1, 0);   /* no leaf 1 */
	vmf_u.a = a;
	GEXPECT_EQ(guest_user_call(vmfunc_user, &vmf_u, guest_user_stack_top), CODE_RESULT);
	GEXPECT_EQ(vmf_u.cpl, 3);
	GEXPECT_EQ(vmf_u.in1, VAL_B);
	GEXPECT_EQ(vmf_u.in0, VAL_A);
	GEXPECT_EQ(hc1(HC_VIEW_SWITCH, 0), 0); /* VMFUNC left the vCPU in view 0 */
}
