/* scen_ve.c: virtualization exceptions and traps. "ve": the exact #VE fields and when a
 * violation is (not) converted: only with suppress-#VE clear and the semaphore clear, from
 * CPL 3 too (SDM "Virtualization Exceptions", "Convertible EPT Violations"). "traps": pages
 * whose accesses of one kind the hypervisor counts, one hit per access. */
#include "guest.h"

#define RWX (HV_ACCESS_R | HV_ACCESS_W | HV_ACCESS_X)
#define VE_OFFSET 0x10
#define ALIAS_GVA 0x20000000UL /* traps: a second linear address for page Q (512 MiB) */

static struct hv_violation recs[HV_VIOLATION_RING];
static struct hv_exit_stats stats;

static u64 word(u64 a) { return *(volatile u64 *)a; }

/* Page `n` with a recognisable word at VE_OFFSET, no access in view 1, #VE on or off. */
static u64 ve_page(int n, unsigned map, bool ve)
{
	u64 p = guest_page(n, map);
	*(volatile u64 *)(p + VE_OFFSET) = p ^ 0x5a5a;
	GEXPECT_EQ(hc4(HC_VIEW_SET_VE, 1, p, PAGE_SIZE, ve), 0);
	GEXPECT_EQ(hc4(HC_VIEW_SET_ACCESS, 1, p, PAGE_SIZE, 0), 0);
	return p;
}

/* Read p + VE_OFFSET in view 1; true when it read the right value. View 1 is entered by
 * VMFUNC, as the #VE's EPTP index must be right: Bochs (2.7) reports the index of the last
 * VMFUNC, not the one the hypervisor writes in the VMCS for HC_VIEW_SWITCH. */
static bool read_in_view1(u64 p)
{
	vmfunc_eptp_switch(1);
	u64 v = word(p + VE_OFFSET);
	s64 out = hc1(HC_VIEW_SWITCH, 0);
	return out == 1 && v == (p ^ 0x5a5a);
}

/* The first #VE, field by field; the fields go to out[0..4] for the hypervisor to compare
 * between the CPU's #VE and its own. */
static void ve_fields(struct hv_boot_info *bi, u64 p)
{
	u64 n0 = guest_ve_count;
	GEXPECT(read_in_view1(p));
	GEXPECT_EQ(guest_ve_count - n0, 1);
	struct guest_ve *v = &guest_ve_last;
	GEXPECT_EQ(v->exit_reason, EXIT_REASON_EPT_VIOLATION);
	GEXPECT_EQ(v->qualification & EPTQ_CHECKED, EPTQ_READ | EPTQ_GLA_VALID | EPTQ_TRANSLATED);
	GEXPECT_EQ(v->gla, p + VE_OFFSET);
	GEXPECT_EQ(v->gpa, p + VE_OFFSET);
	GEXPECT_EQ(v->eptp_index, 1);
	GEXPECT_EQ(v->semaphore, 0xffffffff);
	GEXPECT_EQ(guest_ve_info()->semaphore, 0); /* the handler released it */
	bi->out[0] = v->exit_reason;
	bi->out[1] = v->qualification;
	bi->out[2] = v->gla;
	bi->out[3] = v->gpa;
	bi->out[4] = v->eptp_index;
}

/* One violation that must be a VM exit, not a #VE: one ring record, "restore", for p. */
static void expect_exit(u64 p)
{
	guest_violations_drain();
	u64 n0 = guest_ve_count;
	GEXPECT(read_in_view1(p));
	GEXPECT_EQ(guest_ve_count, n0);
	u64 n = guest_violations_read(recs, HV_VIOLATION_RING);
	if (GEXPECT_EQ(n, 1)) {
		GEXPECT_EQ(recs[0].action, HV_POLICY_RESTORE);
		GEXPECT_EQ(recs[0].gpa, p + VE_OFFSET);
	}
}

/* (a) With the semaphore still set, a convertible violation is a VM exit. */
static void ve_semaphore(u64 p2, u64 q)
{
	guest_ve_set_action(guest_ve_restore, false);
	u64 n0 = guest_ve_count;
	GEXPECT(read_in_view1(p2));
	GEXPECT_EQ(guest_ve_count - n0, 1);
	GEXPECT_EQ(guest_ve_info()->semaphore, 0xffffffff);
	guest_ve_set_action(guest_ve_restore, true);
	expect_exit(q);
	guest_ve_info()->semaphore = 0; /* by hand: #VE works again */
}

struct ve_user {
	u64 addr, value, cpl;
};
static struct ve_user ve_u GUEST_USER_DATA;

static GUEST_USER_TEXT u64 ve_user_read(void *arg)
{
	struct ve_user *u = arg;
	u->cpl = read_cs() & 3;
	u->value = *(volatile u64 *)u->addr;
	return u->value;
}

/* (c) A #VE raised at CPL 3 is handled at CPL 0 (vector 20's gate) and the read completes. */
static void ve_from_user(u64 u)
{
	u64 n0 = guest_ve_count;
	ve_u.addr = u + VE_OFFSET;
	vmfunc_eptp_switch(1);
	u64 v = guest_user_call(ve_user_read, &ve_u, guest_user_stack_top);
	GEXPECT_EQ(hc1(HC_VIEW_SWITCH, 0), 1);
	GEXPECT_EQ(v, u ^ 0x5a5a);
	GEXPECT_EQ(ve_u.cpl, 3);
	GEXPECT_EQ(guest_ve_count - n0, 1);
	GEXPECT_EQ(guest_ve_last.cs & 3, 3);
	GEXPECT_EQ(guest_ve_last.gla, u + VE_OFFSET);
	GEXPECT_EQ(guest_ve_last.qualification & EPTQ_CHECKED, EPTQ_READ | EPTQ_GLA_VALID | EPTQ_TRANSLATED);
}

void scen_ve(struct hv_boot_info *bi)
{
	GEXPECT_EQ(guest_ve_setup(), 0);
	GEXPECT_EQ(hc0(HC_VIEW_CREATE), 1);
	GEXPECT_EQ(hc3(HC_VIEW_SET_POLICY, 1, HV_POLICY_RESTORE, 0), 0);
	u64 p = ve_page(1, 0, true), p2 = ve_page(2, 0, true), q = ve_page(3, 0, true);
	u64 r = ve_page(4, 0, true), s = ve_page(5, 0, false), u = ve_page(6, GUEST_MAP_U, true);
	ve_fields(bi, p);
	ve_semaphore(p2, q);
	u64 n0 = guest_ve_count;
	GEXPECT(read_in_view1(r)); /* (a) again: delivered once the semaphore is clear */
	GEXPECT_EQ(guest_ve_count - n0, 1);
	expect_exit(s);            /* (b) suppress-#VE set: a VM exit */
	ve_from_user(u);           /* (c) */
	bi->out[5] = guest_ve_count;
	guest_printf("ve: %lu #VEs; first: qualification 0x%llx gla 0x%llx gpa 0x%llx index %llu\n",
		     guest_ve_count, bi->out[1], bi->out[2], bi->out[3], bi->out[4]);
	GEXPECT_EQ(guest_ve_count, 4);
}

/* A write trap on p: each write one hit, reads none; the page is busy for SET_ACCESS. */
static void trap_writes(u64 p)
{
	s64 id = hc3(HC_TRAP_ADD, HV_TRAP_GPA, p, HV_ACCESS_W);
	GEXPECT(id >= 0);
	guest_violations_drain();
	*(volatile u64 *)p = 1;
	GEXPECT_EQ(hc1(HC_TRAP_HITS, id), 1);
	*(volatile u64 *)(p + 8) = 2;
	*(volatile u64 *)(p + 16) = 3;
	GEXPECT_EQ(hc1(HC_TRAP_HITS, id), 3);
	GEXPECT_EQ(word(p) + word(p + 8) + word(p + 16), 6); /* reads: not trapped */
	GEXPECT_EQ(hc1(HC_TRAP_HITS, id), 3);
	u64 n = guest_violations_read(recs, HV_VIOLATION_RING), traps = 0;
	for (u64 i = 0; i < n; i++)
		traps += recs[i].action == ACTION_TRAP && ALIGN_DOWN(recs[i].gpa, PAGE_SIZE) == p;
	GEXPECT_EQ(n, 3);
	GEXPECT_EQ(traps, 3);
	GEXPECT_EQ(hc4(HC_VIEW_SET_ACCESS, 0, p, PAGE_SIZE, RWX), 0); /* the view's rights: the trap stays */
	GEXPECT_EQ(hc1(HC_TRAP_REMOVE, id), 0);
	GEXPECT_EQ(hc1(HC_TRAP_HITS, id), -HV_EINVAL);
	GEXPECT_EQ(hc1(HC_TRAP_REMOVE, id), -HV_EINVAL);
	guest_exits(&stats);
	u64 v0 = stats.by_reason[EXIT_REASON_EPT_VIOLATION];
	for (int i = 0; i < 3; i++)
		*(volatile u64 *)(p + 8 * i) = 10 + i;
	guest_exits(&stats);
	GEXPECT_EQ(stats.by_reason[EXIT_REASON_EPT_VIOLATION], v0);
	GEXPECT_EQ(word(p + 16), 12);
	GEXPECT_EQ(hc4(HC_VIEW_SET_ACCESS, 0, p, PAGE_SIZE, RWX), 0);
}

/* A read trap set by linear address: page q, reached through an alias at ALIAS_GVA too. */
static s64 trap_reads(u64 q)
{
	guest_map_4k(ALIAS_GVA, q, 0);
	*(volatile u64 *)(q + 0x40) = 0x4ead;
	s64 id = hc3(HC_TRAP_ADD, HV_TRAP_GVA, ALIAS_GVA + 0x40, HV_ACCESS_R);
	GEXPECT(id >= 0);
	u64 sum = word(ALIAS_GVA + 0x40) + word(ALIAS_GVA + 0x48) + word(q + 0x40);
	GEXPECT_EQ(sum, 2 * 0x4ead);
	GEXPECT_EQ(hc1(HC_TRAP_HITS, id), 3);
	GEXPECT_EQ(hc3(HC_TRAP_ADD, HV_TRAP_GVA, ALIAS_GVA + PAGE_SIZE, HV_ACCESS_R), -HV_EFAULT);
	return id;
}

/* An execute trap on a page holding one instruction (RET): one hit per call. */
static s64 trap_fetches(u64 x)
{
	*(volatile u8 *)x = 0xc3;
	s64 id = hc3(HC_TRAP_ADD, HV_TRAP_GPA, x, HV_ACCESS_X);
	GEXPECT(id >= 0);
	((void (*)(void))x)();
	((void (*)(void))x)();
	GEXPECT_EQ(hc1(HC_TRAP_HITS, id), 2);
	GEXPECT_EQ(hc3(HC_TRAP_ADD, HV_TRAP_GPA, x + 0x100, HV_ACCESS_R), -HV_EBUSY); /* one per page */
	return id;
}

void scen_traps(struct hv_boot_info *bi)
{
	u64 p = guest_page(1, 0), q = guest_page(2, 0), x = guest_page(3, GUEST_MAP_X);
	trap_writes(p);
	s64 r = trap_reads(q), f = trap_fetches(x);
	bi->out[0] = hc1(HC_TRAP_HITS, r);
	bi->out[1] = hc1(HC_TRAP_HITS, f);
	GEXPECT_EQ(hc3(HC_TRAP_ADD, 7, q, HV_ACCESS_R), -HV_EINVAL);          /* no such kind */
	GEXPECT_EQ(hc3(HC_TRAP_ADD, HV_TRAP_GPA, bi->ram_size, HV_ACCESS_R), -HV_EFAULT);
	GEXPECT_EQ(hc3(HC_TRAP_ADD, HV_TRAP_GPA, q + PAGE_SIZE * 8, 0), -HV_EINVAL); /* no access */
	GEXPECT_EQ(hc1(HC_TRAP_REMOVE, r), 0);
	GEXPECT_EQ(hc1(HC_TRAP_REMOVE, f), 0);
	((void (*)(void))x)();
	GEXPECT_EQ(word(q + 0x40), 0x4ead);
}
