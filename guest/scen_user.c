/* scen_user.c: the "user_mode" scenario. Ring 3 runs on user pages (.utext/.urodata/.udata,
 * U=1) entered by IRETQ and left through the DPL 3 gate INT 0x80 (entry.S). At CPL 3 only
 * HC_VERSION and HC_CHECK may succeed; everything else must answer -EPERM without acting.
 * Code here that runs at CPL 3 uses only always-inline helpers and user data. */
#include "guest.h"

#define USER_DONE 0x600d

struct user_ctx {
	u32 sig[3];        /* expected CPUID 0x40000000 EBX, ECX, EDX (filled at CPL 0) */
	u64 cpl;           /* CS.RPL seen at CPL 3 */
	s64 r_version, r_exit, r_stats, r_vmxoff;
	u64 probe_addr;    /* a supervisor-only address for the #PF probe */
	struct hv_exit_stats stats; /* HC_GET_STATS target: must stay untouched */
};

static struct user_ctx uctx GUEST_USER_DATA;
static u64 supervisor_word; /* in .bss: supervisor-only */

static GUEST_USER_TEXT u64 user_body(void *arg)
{
	struct user_ctx *c = arg;
	u32 a, b, cc, d;
	c->cpl = read_cs() & 3;
	GEXPECT(c->cpl == 3);
	cpuid(0x40000000, 0, &a, &b, &cc, &d);
	GEXPECT(a == HV_CPUID_MAX_LEAF && b == c->sig[0] && cc == c->sig[1] && d == c->sig[2]);
	c->r_version = hc0(HC_VERSION);
	GEXPECT(c->r_version == HV_ABI_VERSION);
	c->r_exit = hc1(HC_EXIT, 0); /* must not end the run */
	GEXPECT(c->r_exit == -HV_EPERM);
	c->r_stats = hc2(HC_GET_STATS, (u64)&c->stats, sizeof(c->stats));
	GEXPECT(c->r_stats == -HV_EPERM);
	c->r_vmxoff = hc1(HC_VMXOFF, HC_VMXOFF_MAGIC); /* the right magic, still refused */
	GEXPECT(c->r_vmxoff == -HV_EPERM);
	return USER_DONE;
}

/* Reads a supervisor-only page from CPL 3: #PF with error code P=1, U/S=1 (SDM "Access Rights",
 * "Page-Fault Exceptions"). */
static GUEST_USER_TEXT u64 user_probe(void *arg)
{
	struct user_ctx *c = arg;
	return *(volatile u64 *)c->probe_addr;
}

static void call_user_probe(void *arg) { guest_user_call(user_probe, arg, guest_user_stack_top); }

void scen_user_mode(struct hv_boot_info *bi)
{
	struct user_ctx *c = &uctx;
	const char *sig = HV_CPUID_SIGNATURE;
	memcpy(c->sig, sig, sizeof(c->sig));
	supervisor_word = 0x5eca1;
	c->probe_addr = (u64)&supervisor_word;
	u64 r = guest_user_call(user_body, c, guest_user_stack_top);
	GEXPECT_EQ(r, USER_DONE);
	GEXPECT_EQ(read_cs() & 3, 0); /* back at CPL 0 */
	GEXPECT_EQ(c->cpl, 3);
	guest_printf("user_mode: at CPL 3: HC_VERSION %ld, HC_EXIT %ld, HC_GET_STATS %ld, "
		     "HC_VMXOFF %ld\n",
		     c->r_version, c->r_exit, c->r_stats, c->r_vmxoff);
	bi->out[0] = r;
	bi->out[1] = (u64)c->r_version;
	bi->out[2] = (u64)c->r_exit;
	bi->out[3] = (u64)c->r_stats;
	bi->out[4] = (u64)c->r_vmxoff;
	GEXPECT_EQ(c->stats.total, 0); /* refused HC_GET_STATS wrote nothing */

	struct fault_info fi;
	GEXPECT_EQ(trap_catch(call_user_probe, c, &fi), 14);
	GEXPECT_EQ(fi.error_code & 0x5, 0x5); /* protection violation (P) by user mode (U/S) */
	GEXPECT_EQ(fi.cr2, c->probe_addr);
	GEXPECT_EQ(read_cs() & 3, 0);
}
