/* ve.c: EPT views from the guest's side, shared by the view scenarios: scratch pages above the
 * image, the #VE handler on vector 20, the violation ring and exit counts. A #VE is a fault
 * without an error code; the CPU (or the hypervisor, where the CPU cannot) fills the
 * information page and sets its semaphore first, and delivers no further #VE until the handler
 * clears it (SDM "Virtualization Exceptions", "Delivering Virtualization Exceptions"). */
#include "guest.h"

struct guest_ve guest_ve_last;
u64 guest_ve_count;
static guest_ve_fn ve_action;      /* what the handler does before it returns */
static bool ve_clear = true;       /* clear the semaphore on the way out */
static struct hv_violation ring_buf[HV_VIOLATION_RING];
#define VE_REPEAT_MAX 16

/* Scratch page n (GPA = GVA = GUEST_SCRATCH_PAGE(n)), mapped with `rights` (writable at least,
 * so the guest can fill it) and zeroed. */
u64 guest_page(int n, unsigned rights)
{
	u64 a = GUEST_SCRATCH_PAGE(n);
	guest_map_4k(a, a, rights | GUEST_MAP_W);
	memset((void *)a, 0, PAGE_SIZE);
	return a;
}

volatile struct hv_ve_info *guest_ve_info(void) { return (volatile struct hv_ve_info *)GUEST_VE_INFO; }

/* The same #VE over and over means the action cannot resolve it (e.g. it restores access in
 * the wrong view): stop the run with a report instead of looping until the harness's timeout. */
static void ve_loop_guard(const volatile struct hv_ve_info *info, const struct trap_frame *f)
{
	static u64 last_gpa, last_rip, repeats;
	if (info->gpa != last_gpa || f->rip != last_rip) {
		last_gpa = info->gpa, last_rip = f->rip, repeats = 0;
		return;
	}
	if (++repeats < VE_REPEAT_MAX)
		return;
	guest_printf("#VE loop: gpa 0x%llx at rip 0x%lx, eptp_index %u, qualification 0x%llx\n",
		     info->gpa, f->rip, info->eptp_index, info->qualification);
	guest_exit(0xe0 + VE_VECTOR);
}

/* Vector 20: record the information area, act, release the semaphore, retry the instruction. */
static bool ve_trap(struct trap_frame *f)
{
	volatile struct hv_ve_info *info = guest_ve_info();
	ve_loop_guard(info, f);
	guest_ve_last = (struct guest_ve){
		.exit_reason = info->exit_reason,
		.semaphore = info->semaphore,
		.qualification = info->qualification,
		.gla = info->gla,
		.gpa = info->gpa,
		.eptp_index = info->eptp_index,
		.rip = f->rip,
		.cs = f->cs,
	};
	guest_ve_count++;
	if (ve_action)
		ve_action(info);
	if (ve_clear)
		info->semaphore = 0;
	return true;
}

/* Registers the information page (zeroed: semaphore clear) and installs the handler, which
 * restores access by default. Returns HC_VE_REGISTER's result. */
s64 guest_ve_setup(void)
{
	guest_page(0, 0);
	guest_ve_set_action(guest_ve_restore, true);
	guest_trap_set_handler(VE_VECTOR, ve_trap);
	return hc1(HC_VE_REGISTER, GUEST_VE_INFO);
}

void guest_ve_set_action(guest_ve_fn fn, bool clear_semaphore)
{
	ve_action = fn;
	ve_clear = clear_semaphore;
}

/* Action: give the page RWX in the view the violation happened in. */
void guest_ve_restore(const volatile struct hv_ve_info *info)
{
	hc4(HC_VIEW_SET_ACCESS, info->eptp_index, ALIGN_DOWN(info->gpa, PAGE_SIZE), PAGE_SIZE,
	    HV_ACCESS_R | HV_ACCESS_W | HV_ACCESS_X);
}

/* Action: leave for view 0 by VMFUNC (the CPU's or the hypervisor's emulation). */
void guest_ve_to_view0(const volatile struct hv_ve_info *info)
{
	(void)info;
	vmfunc_eptp_switch(0);
}

/* Up to max (<= HV_VIOLATION_RING) records, oldest first, into buf. */
u64 guest_violations_read(struct hv_violation *buf, u64 max)
{
	s64 n = hc2(HC_VIOLATIONS_READ, (u64)buf, max);
	return n < 0 ? 0 : (u64)n;
}

/* Forget every recorded violation; returns how many there were. */
u64 guest_violations_drain(void)
{
	u64 total = 0, n;
	while ((n = guest_violations_read(ring_buf, HV_VIOLATION_RING)) > 0)
		total += n;
	return total;
}

/* HC_GET_STATS into s; returns the VM exits so far, this call's own included. */
u64 guest_exits(struct hv_exit_stats *s)
{
	hc2(HC_GET_STATS, (u64)s, sizeof(*s));
	return s->total;
}
