/* scen_access.c: "ept_access", the EPT permission matrix (after kvm-unit-tests'
 * ept_access_test_*): every page rights C in {none, R, RW, RX, RWX, X-only} x every access A in
 * {read, write, fetch} x delivery D in {VM exit, #VE}, one page P in view 1. An access C allows
 * has its normal effect and nothing else; any other is exactly one EPT violation whose
 * qualification names A and C (SDM "Exit Qualification for EPT Violations"), reported as a
 * record in the violation ring (D = exit, view 1's policy restores RWX) or as a #VE (the
 * handler restores RWX), after which the access completes. */
#include "guest.h"

enum { ACC_READ, ACC_WRITE, ACC_FETCH, ACC_N };

#define P_READ 0x80          /* offsets in P: a word to read, */
#define P_WRITE 0x88         /* a word to write; the code is at offset 0 */
#define READ_VAL 0x7eadbeefcafe0001UL
#define WRITE_VAL 0x3717e0000000beefUL
#define CODE_RESULT 0x600d

static const u8 rights_tab[] = {0, HV_ACCESS_R, HV_ACCESS_R | HV_ACCESS_W, HV_ACCESS_R | HV_ACCESS_X,
				HV_ACCESS_R | HV_ACCESS_W | HV_ACCESS_X, HV_ACCESS_X};
static const char *const rights_names[] = {"none", "R", "RW", "RX", "RWX", "X"};
static const char *const access_names[] = {"read", "write", "fetch"};
static const u64 access_qual[] = {EPTQ_READ, EPTQ_WRITE, EPTQ_FETCH};
static const u64 access_right[] = {HV_ACCESS_R, HV_ACCESS_W, HV_ACCESS_X};
static const u64 access_offset[] = {P_READ, P_WRITE, 0};

struct matrix {
	u64 page;              /* P */
	bool xo;               /* the CPU offers execute-only pages */
	u64 cases, exits, ves; /* out[0..2] */
};

static struct hv_violation recs[HV_VIOLATION_RING];

/* mov $CODE_RESULT, %eax; ret */
static const u8 code[] = {0xb8, CODE_RESULT & 0xff, CODE_RESULT >> 8, 0, 0, 0xc3};

static void fill_page(u64 p)
{
	memcpy((void *)p, code, sizeof(code));
	*(volatile u64 *)(p + P_READ) = READ_VAL;
	*(volatile u64 *)(p + P_WRITE) = 0;
}

/* The access itself, made in view 1: its result (the value read, or the code's). */
static u64 do_access(u64 p, int acc)
{
	if (acc == ACC_READ)
		return *(volatile u64 *)(p + P_READ);
	if (acc == ACC_WRITE) {
		*(volatile u64 *)(p + P_WRITE) = WRITE_VAL;
		return 0;
	}
	return ((u64(*)(void))p)();
}

/* Did the access do what it does without EPT in the way? (Checked in view 0.) */
static bool access_completed(u64 p, int acc, u64 result)
{
	if (acc == ACC_READ)
		return result == READ_VAL;
	if (acc == ACC_WRITE)
		return *(volatile u64 *)(p + P_WRITE) == WRITE_VAL;
	return (u32)result == CODE_RESULT;
}

/* Checks of one violation's reported fields; true when all hold. */
static bool violation_fields_ok(u64 q, u64 gla, u64 gpa, u64 p, u64 rights, int acc)
{
	u64 want = access_qual[acc] | EPTQ_RIGHTS(rights) | EPTQ_GLA_VALID | EPTQ_TRANSLATED;
	bool ok = GEXPECT_EQ(q & EPTQ_CHECKED, want);
	ok &= GEXPECT_EQ(gpa, p + access_offset[acc]);
	ok &= GEXPECT_EQ(gla, p + access_offset[acc]);
	return ok;
}

/* D = exit: the ring holds exactly one record, view 1, action "restore". */
static bool check_exit(struct matrix *m, u64 n, u64 rights, int acc)
{
	if (!GEXPECT_EQ(n, 1))
		return false;
	m->exits++;
	bool ok = GEXPECT_EQ(recs[0].view, 1);
	ok &= GEXPECT_EQ(recs[0].action, HV_POLICY_RESTORE);
	return ok & violation_fields_ok(recs[0].qualification, recs[0].gla, recs[0].gpa, m->page, rights, acc);
}

/* D = #VE: one #VE with the SDM's fields, and no exit but the hypervisor's own injection (a
 * record with action ACTION_VE where the CPU has no #VE). */
static bool check_ve(struct matrix *m, u64 nves, u64 n, u64 rights, int acc)
{
	u64 other = 0;
	for (u64 i = 0; i < n; i++)
		other += recs[i].action != ACTION_VE;
	bool ok = GEXPECT_EQ(other, 0);
	if (!GEXPECT_EQ(nves, 1))
		return false;
	m->ves++;
	struct guest_ve *v = &guest_ve_last;
	ok &= GEXPECT_EQ(v->exit_reason, EXIT_REASON_EPT_VIOLATION);
	ok &= GEXPECT_EQ(v->eptp_index, 1);
	ok &= GEXPECT_EQ(v->semaphore, 0xffffffff);
	if (acc == ACC_FETCH)
		ok &= GEXPECT_EQ(v->rip, m->page);
	return ok & violation_fields_ok(v->qualification, v->gla, v->gpa, m->page, rights, acc);
}

/* One (C, A, D) case. With D = #VE view 1 is entered by VMFUNC: Bochs (2.7) reports in the
 * #VE the EPTP index of the last VMFUNC, not the one the hypervisor wrote in the VMCS for
 * HC_VIEW_SWITCH (it never reloads its copy of that control at VM entry). */
static void one_case(struct matrix *m, int c, int acc, bool ve)
{
	u64 p = m->page, rights = rights_tab[c];
	fill_page(p);
	guest_violations_drain();
	bool ok = GEXPECT_EQ(hc4(HC_VIEW_SET_ACCESS, 1, p, PAGE_SIZE, rights), 0);
	u64 ves = guest_ve_count;
	s64 in = ve ? (vmfunc_eptp_switch(1), 0) : hc1(HC_VIEW_SWITCH, 1); 
	u64 result = do_access(p, acc);
	s64 out = hc1(HC_VIEW_SWITCH, 0);
	ves = guest_ve_count - ves;
	u64 n = guest_violations_read(recs, HV_VIOLATION_RING);
	ok &= GEXPECT_EQ(in, 0);
	ok &= GEXPECT_EQ(out, 1);
	ok &= GEXPECT(access_completed(p, acc, result));
	if (rights & access_right[acc]) {
		ok &= GEXPECT_EQ(n, 0);
		ok &= GEXPECT_EQ(ves, 0);
	} else {
		ok &= ve ? check_ve(m, ves, n, rights, acc) : check_exit(m, n, rights, acc);
	}
	m->cases++;
	if (!ok)
		guest_printf("ept_access: case rights %s, %s, by %s failed\n", rights_names[c],
			     access_names[acc], ve ? "#VE" : "VM exit");
}

/* Execute-only is refused with -EINVAL where the CPU lacks it (SDM "EPT Misconfigurations"). */
static bool probe_execute_only(u64 p)
{
	s64 r = hc4(HC_VIEW_SET_ACCESS, 1, p, PAGE_SIZE, HV_ACCESS_X);
	if (r == -HV_EINVAL)
		return false;
	GEXPECT_EQ(r, 0);
	return true;
}

/* The 6 x 3 cases (5 x 3 without execute-only) of one delivery. */
static void matrix(struct matrix *m, bool ve)
{
	GEXPECT_EQ(hc4(HC_VIEW_SET_VE, 1, m->page, PAGE_SIZE, ve), 0);
	for (int c = 0; c < (int)ARRAY_SIZE(rights_tab); c++)
		for (int acc = 0; acc < ACC_N; acc++)
			if (rights_tab[c] != HV_ACCESS_X || m->xo)
				one_case(m, c, acc, ve);
}

void scen_ept_access(struct hv_boot_info *bi)
{
	struct matrix m = {.page = guest_page(1, GUEST_MAP_X)};
	GEXPECT_EQ(guest_ve_setup(), 0);
	GEXPECT_EQ(hc0(HC_VIEW_CREATE), 1);
	GEXPECT_EQ(hc3(HC_VIEW_SET_POLICY, 1, HV_POLICY_RESTORE, 0), 0);
	m.xo = probe_execute_only(m.page);
	if (!m.xo)
		guest_printf("ept_access: no execute-only EPT pages: X-only cases skipped\n");
	matrix(&m, false);
	matrix(&m, true);
	guest_printf("ept_access: %lu cases, %lu violations as VM exits, %lu as #VE\n", m.cases, m.exits, m.ves);
	u64 want = m.xo ? 9 : 7; /* violating (C, A) pairs per delivery */
	GEXPECT_EQ(m.cases, m.xo ? 36 : 30);
	GEXPECT_EQ(m.exits, want);
	GEXPECT_EQ(m.ves, want);
	bi->out[0] = m.cases;
	bi->out[1] = m.exits;
	bi->out[2] = m.ves;
	bi->out[3] = m.xo;
}
