/* scen_smp.c: the guest with several vCPUs (docs/smp.md): "smp_hello" (vCPU 0 starts every
 * other vCPU with HC_VCPU_START, each reports its id), "smp_views" (vCPU 1 in view 1 by VMFUNC
 * while vCPU 0 stays in view 0: the same address shows two frames at once), "smp_shootdown"
 * (vCPU 1 spins reading a page while vCPU 0 revokes its read right: the next read after the
 * change call returned must fault, which needs the INVEPT on vCPU 1's CPU), "smp_bad" (refused
 * starts), "smp_stress" (10,000 changes while the others read), "smp_ve" (a #VE on each of two
 * vCPUs at once, each on its own information page), "smp_shared" (a view made after vCPU 1
 * started, and a trap vCPU 1 adds, seen by both vCPUs), "smp_trap_step" (two vCPUs write a
 * write-trapped page at once: every write is a hit). Secondary vCPUs run on their own stacks here and end with HC_EXIT (that vCPU only). */
#include "guest.h"
#include "../kernel/desc.h"

#define SMP_MAX 16
#define VAL_A 0xaaaa0000aaaa0001UL
#define VAL_B 0xbbbb0000bbbb0002UL
#define SPIN_MAX 20000000UL

static u64 stack_top(u32 id) { return GUEST_VCPU_STACK_TOP(id); }
static u32 vcpu_count(void) { return (u32)(hc0(HC_VCPU_INFO) >> 16); }
static u32 vcpu_self(void) { return (u32)(hc0(HC_VCPU_INFO) & 0xffff); }
static void relax(void) { __asm__ volatile("pause" ::: "memory"); }

/* Wait (bounded: 100,000 status hypercalls, a few seconds; a vCPU that does not stop by then
 * is the failure being reported) for vCPU id to stop; its status. */
static s64 wait_stopped(u32 id)
{
	s64 st = 0;
	for (u64 i = 0; i < 100000; i++) {
		st = hc1(HC_VCPU_STATUS, id);
		if (st < 0 || (st & 0xff) == HV_VCPU_STOPPED)
			return st;
		for (int k = 0; k < 50; k++)
			relax();
	}
	return st;
}

static bool wait_flag(volatile u64 *f)
{
	for (u64 i = 0; i < SPIN_MAX; i++)
		if (*f)
			return true;
		else
			relax();
	return false;
}

static volatile u64 hello_seen[SMP_MAX];

static void __attribute__((noreturn)) hello_entry(u64 arg)
{
	hello_seen[arg] = 0x100 | vcpu_self();
	guest_exit(0);
}

void scen_smp_hello(struct hv_boot_info *bi)
{
	u32 n = vcpu_count(), ok = 0;
	GEXPECT_EQ(vcpu_self(), 0);
	for (u32 i = 1; i < n && i < SMP_MAX; i++)
		GEXPECT_EQ(hc4(HC_VCPU_START, i, (u64)hello_entry, stack_top(i), i), 0);
	for (u32 i = 1; i < n && i < SMP_MAX; i++) {
		s64 st = wait_stopped(i);
		GEXPECT_EQ(st, HV_VCPU_STOPPED | (1 << 8)); /* stopped by its HC_EXIT (VM_STOP_EXIT = 1) */
		ok += hello_seen[i] == (0x100 | i);
	}
	bi->out[0] = n;
	bi->out[1] = ok;
}

/* ---- per-vCPU views ---- */

static volatile u64 views_ready, views_go, views_read1, views_read1b;
static u64 views_page;

static void __attribute__((noreturn)) views_entry(u64 use_vmfunc)
{
	if (use_vmfunc)
		vmfunc_eptp_switch(1);
	else
		hc1(HC_VIEW_SWITCH, 1);
	views_read1 = *(volatile u64 *)views_page;
	views_ready = 1;
	wait_flag(&views_go);
	views_read1b = *(volatile u64 *)views_page;
	guest_exit(0);
}

void scen_smp_views(struct hv_boot_info *bi)
{
	u64 p = guest_page(10, 0), q = guest_page(11, 0);
	*(volatile u64 *)p = VAL_A;
	*(volatile u64 *)q = VAL_B;
	views_page = p;
	GEXPECT_EQ(hc0(HC_VIEW_CREATE), 1);
	GEXPECT_EQ(hc3(HC_VIEW_REMAP, 1, p, q), 0);
	GEXPECT_EQ(hc4(HC_VCPU_START, 1, (u64)views_entry, stack_top(1), bi->arg), 0);
	GEXPECT(wait_flag(&views_ready));
	u64 mine = *(volatile u64 *)p; /* vCPU 1 is in view 1 now, this one in view 0 */
	/* A view another vCPU runs in is not destroyed under it (its EPT would be freed). */
	GEXPECT_EQ((s64)hc1(HC_VIEW_DESTROY, 1), -HV_EBUSY);
	views_go = 1;
	GEXPECT_EQ(wait_stopped(1), HV_VCPU_STOPPED | (1 << 8));
	GEXPECT_EQ((s64)hc1(HC_VIEW_DESTROY, 1), 0);
	GEXPECT_EQ(mine, VAL_A);
	GEXPECT_EQ(views_read1, VAL_B);
	GEXPECT_EQ(views_read1b, VAL_B);
	bi->out[0] = mine;
	bi->out[1] = views_read1;
}

/* ---- the shootdown ---- */

static volatile u64 sd_ready, sd_revoked, sd_after;
static u64 sd_page;

/* Reads the page in a loop with no exit; counts the reads made after it saw the revocation.
 * Each such read must fault (EPT violation: this vCPU stops) when the hypervisor invalidated
 * this CPU's translations; one that succeeds read through a stale cached translation. */
static void __attribute__((noreturn)) sd_reader(u64 limit)
{
	volatile u64 *p = (volatile u64 *)sd_page;
	for (int i = 0; i < 100; i++)
		(void)*p;
	sd_ready = 1;
	for (;;) {
		u64 seen = sd_revoked;
		(void)*p;
		if (seen && ++sd_after >= limit)
			break;
	}
	guest_exit(0);
}

void scen_smp_shootdown(struct hv_boot_info *bi)
{
	u64 limit = bi->arg & 0xffffffff ? bi->arg & 0xffffffff : 20000; /* bit 32: the change may fail */
	sd_page = guest_page(12, 0);
	*(volatile u64 *)sd_page = VAL_A;
	GEXPECT_EQ(hc4(HC_VCPU_START, 1, (u64)sd_reader, stack_top(1), limit), 0);
	GEXPECT(wait_flag(&sd_ready));
	s64 r = hc4(HC_VIEW_SET_ACCESS, 0, sd_page, PAGE_SIZE, 0);
	if (!(bi->arg & BIT(32)))
		GEXPECT_EQ(r, 0);
	bi->out[3] = (u64)r;
	sd_revoked = 1;
	s64 st = wait_stopped(1);
	bi->out[0] = sd_after;
	bi->out[1] = (u64)st;
	bi->out[2] = limit;
}

/* ---- refused starts ---- */

static u64 GUEST_USER_TEXT user_start(void *arg)
{
	return (u64)hc4(HC_VCPU_START, 1, (u64)arg, 0, 0);
}

static void __attribute__((noreturn)) bad_entry(u64 arg)
{
	(void)arg;
	guest_exit(0);
}

void scen_smp_bad(struct hv_boot_info *bi)
{
	u32 n = vcpu_count();
	GEXPECT_EQ(hc4(HC_VCPU_START, 0, (u64)bad_entry, stack_top(0), 0), -HV_EINVAL);  /* itself */
	GEXPECT_EQ(hc4(HC_VCPU_START, n, (u64)bad_entry, stack_top(1), 0), -HV_EINVAL);  /* no such vCPU */
	GEXPECT_EQ(hc4(HC_VCPU_START, 1UL << 40, (u64)bad_entry, stack_top(1), 0), -HV_EINVAL);
	GEXPECT_EQ(hc1(HC_VCPU_STATUS, n), -HV_EINVAL);
	GEXPECT_EQ(hc4(HC_VCPU_START, 1, bi->ram_size + 0x1000, stack_top(1), 0), -HV_EFAULT); /* outside RAM */
	GEXPECT_EQ((s64)guest_user_call(user_start, (void *)bad_entry, guest_user_stack_top), -HV_EPERM);
	GEXPECT_EQ(hc1(HC_VCPU_STATUS, 1), HV_VCPU_NONE);
	GEXPECT_EQ(hc4(HC_VCPU_START, 1, (u64)bad_entry, stack_top(1), 0), 0);
	GEXPECT_EQ(hc4(HC_VCPU_START, 1, (u64)bad_entry, stack_top(1), 0), -HV_EBUSY);     /* twice */
	GEXPECT_EQ(wait_stopped(1), HV_VCPU_STOPPED | (1 << 8));
	GEXPECT_EQ(hc4(HC_VCPU_START, 1, (u64)bad_entry, stack_top(1), 0), -HV_EBUSY);     /* restart */
	bi->out[0] = n;
}

/* ---- stress: 10,000 permission changes while the other vCPUs read those pages ---- */

#define STRESS_CHANGES 10000
#define STRESS_PAGES 4
static volatile u64 st_done, st_ready, st_reads[SMP_MAX];
static u64 st_page[STRESS_PAGES];

/* Reads the pages until told to stop. Reading is allowed in every state the pages go through,
 * so any EPT violation here is a spurious one (the vCPU would stop with it). */
static void __attribute__((noreturn)) st_reader(u64 id)
{
	u64 n = 0, sum = 0;
	__atomic_add_fetch(&st_ready, 1, __ATOMIC_SEQ_CST);
	while (!st_done) {
		sum += *(volatile u64 *)st_page[n % STRESS_PAGES];
		n++;
	}
	st_reads[id] = n + (sum & 0);
	guest_exit(0);
}

static u64 rdtsc_s(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

/* arg: how many readers at most (0: none, the cost of a change without a shootdown).
 * out: refused changes, TSC cycles for all changes, readers, reads, readers that exited cleanly. */
void scen_smp_stress(struct hv_boot_info *bi)
{
	u32 n = vcpu_count(), readers = n - 1 < bi->arg ? n - 1 : (u32)bi->arg, clean = 0;
	u64 refused = 0, reads = 0;
	for (int i = 0; i < STRESS_PAGES; i++)
		st_page[i] = guest_page(20 + i, 0);
	for (u32 i = 1; i <= readers; i++)
		GEXPECT_EQ(hc4(HC_VCPU_START, i, (u64)st_reader, stack_top(i), i), 0);
	for (u64 i = 0; i < SPIN_MAX && st_ready < readers; i++)
		relax();
	u64 t0 = rdtsc_s();
	for (u32 i = 0; i < STRESS_CHANGES; i++) {
		u64 rights = (i / STRESS_PAGES) & 1 ? HV_ACCESS_R : HV_ACCESS_R | HV_ACCESS_W;
		refused += hc4(HC_VIEW_SET_ACCESS, 0, st_page[i % STRESS_PAGES], PAGE_SIZE, rights) != 0;
	}
	u64 t1 = rdtsc_s();
	st_done = 1;
	for (u32 i = 1; i <= readers; i++) {
		clean += wait_stopped(i) == (HV_VCPU_STOPPED | (1 << 8));
		reads += st_reads[i];
	}
	for (int i = 0; i < STRESS_PAGES; i++)
		GEXPECT_EQ(hc4(HC_VIEW_SET_ACCESS, 0, st_page[i], PAGE_SIZE, HV_ACCESS_R | HV_ACCESS_W | HV_ACCESS_X), 0);
	GEXPECT_EQ(refused, 0);
	GEXPECT_EQ(clean, readers);
	bi->out[0] = refused;
	bi->out[1] = t1 - t0;
	bi->out[2] = readers;
	bi->out[3] = reads;
	bi->out[4] = clean;
}

/* ---- #VE per vCPU: each on its own information page ---- */

#define MSR_GS_BASE_G 0xc0000101
struct ve_cpu {
	u64 count, gpa, page, info;
	struct ve_cpu *self; /* %gs:32 */
};
static struct ve_cpu ve_cpus[2];
static volatile u64 ve1_ready, ve1_go;
static u64 ve_pages[2];

void smp_ve_stub(void);
__asm__(".text\n"
	"smp_ve_stub:\n\t"
	"push %rax\n\tpush %rcx\n\tpush %rdx\n\tpush %rsi\n\tpush %rdi\n\t"
	"push %r8\n\tpush %r9\n\tpush %r10\n\tpush %r11\n\t"
	"call smp_ve_handler\n\t"
	"pop %r11\n\tpop %r10\n\tpop %r9\n\tpop %r8\n\t"
	"pop %rdi\n\tpop %rsi\n\tpop %rdx\n\tpop %rcx\n\tpop %rax\n\t"
	"iretq\n");

/* Vector 20 on whichever vCPU took it: record from this vCPU's own information page (found
 * through its GS base), free the semaphore, give the write right back so the write retries. */
void smp_ve_handler(void);
void smp_ve_handler(void)
{
	struct ve_cpu *c;
	__asm__ volatile("mov %%gs:32, %0" : "=r"(c));
	volatile struct hv_ve_info *info = (volatile struct hv_ve_info *)c->info;
	c->count++;
	c->gpa = info->gpa;
	info->semaphore = 0;
	hc4(HC_VIEW_SET_ACCESS, 0, c->page, PAGE_SIZE, HV_ACCESS_R | HV_ACCESS_W | HV_ACCESS_X);
}

static void ve_cpu_setup(u32 id, u64 info_page)
{
	ve_cpus[id].info = info_page;
	ve_cpus[id].page = ve_pages[id];
	ve_cpus[id].self = &ve_cpus[id];
	__asm__ volatile("wrmsr" ::"c"(MSR_GS_BASE_G), "a"((u32)(u64)&ve_cpus[id]), "d"((u32)((u64)&ve_cpus[id] >> 32)));
	GEXPECT_EQ(hc1(HC_VE_REGISTER, info_page), 0);
}

static void __attribute__((noreturn)) ve_entry(u64 info_page)
{
	ve_cpu_setup(1, info_page);
	ve1_ready = 1;
	wait_flag(&ve1_go);
	*(volatile u64 *)ve_pages[1] = 0x1111; /* read-only and convertible: a #VE here, on vCPU 1 */
	guest_exit(0);
}

/* out: vCPU 0's #VE count and GPA, vCPU 1's, the two information pages' GPA fields. */
void scen_smp_ve(struct hv_boot_info *bi)
{
	struct desc_ptr d;
	__asm__ volatile("sidt %0" : "=m"(d));
	((struct idt_gate *)d.base)[20] = idt_gate((u64)smp_ve_stub, GUEST_KCS, 0, 0);
	u64 info0 = guest_page(32, 0), info1 = guest_page(33, 0);
	ve_pages[0] = guest_page(30, 0), ve_pages[1] = guest_page(31, 0);
	for (int i = 0; i < 2; i++) {
		GEXPECT_EQ(hc4(HC_VIEW_SET_ACCESS, 0, ve_pages[i], PAGE_SIZE, HV_ACCESS_R), 0);
		GEXPECT_EQ(hc4(HC_VIEW_SET_VE, 0, ve_pages[i], PAGE_SIZE, 1), 0);
	}
	ve_cpu_setup(0, info0);
	GEXPECT_EQ(hc4(HC_VCPU_START, 1, (u64)ve_entry, stack_top(1), info1), 0);
	GEXPECT(wait_flag(&ve1_ready));
	*(volatile u64 *)ve_pages[0] = 0x2222; /* vCPU 0's own #VE */
	ve1_go = 1;
	GEXPECT_EQ(wait_stopped(1), HV_VCPU_STOPPED | (1 << 8));
	GEXPECT_EQ(ve_cpus[0].count, 1);
	GEXPECT_EQ(ve_cpus[1].count, 1);
	GEXPECT_EQ(ve_cpus[0].gpa, ve_pages[0]);
	GEXPECT_EQ(ve_cpus[1].gpa, ve_pages[1]);
	bi->out[0] = ve_cpus[0].count, bi->out[1] = ve_cpus[0].gpa;
	bi->out[2] = ve_cpus[1].count, bi->out[3] = ve_cpus[1].gpa;
	bi->out[4] = ((volatile struct hv_ve_info *)info0)->gpa;
	bi->out[5] = ((volatile struct hv_ve_info *)info1)->gpa;
	bi->out[6] = ve_pages[0], bi->out[7] = ve_pages[1];
}

/* ---- one VM, every vCPU: changes made after a vCPU started, by any vCPU ---- */

static volatile u64 sh_go, sh_trap_id, sh_trapped, sh_switch, sh_read;
static u64 sh_p, sh_s, sh_t;

/* vCPU 1, started before view 1 exists: switches to it, reads the remapped page, adds a trap
 * vCPU 0 then hits, and ends reading a page view 1 does not let it read (its EPT violation
 * stops it: the hypervisor must know view 1 on this vCPU too). */
static void __attribute__((noreturn)) sh_entry(u64 arg)
{
	(void)arg;
	wait_flag(&sh_go);
	sh_switch = (u64)hc1(HC_VIEW_SWITCH, 1);
	sh_read = *(volatile u64 *)sh_p;
	sh_trap_id = (u64)hc3(HC_TRAP_ADD, HV_TRAP_GPA, sh_t, HV_ACCESS_W) | BIT(63);
	wait_flag(&sh_trapped);
	(void)*(volatile u64 *)sh_s;
	guest_exit(1); /* not reached: the read above stops this vCPU */
}

void scen_smp_shared(struct hv_boot_info *bi)
{
	u64 q = guest_page(13, 0);
	sh_p = guest_page(12, 0), sh_s = guest_page(14, 0), sh_t = guest_page(15, 0);
	*(volatile u64 *)sh_p = VAL_A;
	*(volatile u64 *)q = VAL_B;
	GEXPECT_EQ(hc4(HC_VCPU_START, 1, (u64)sh_entry, stack_top(1), 0), 0);
	GEXPECT_EQ(hc0(HC_VIEW_CREATE), 1); /* vCPU 1 runs already */
	GEXPECT_EQ(hc3(HC_VIEW_REMAP, 1, sh_p, q), 0);
	GEXPECT_EQ(hc4(HC_VIEW_SET_ACCESS, 1, sh_s, PAGE_SIZE, 0), 0);
	sh_go = 1;
	GEXPECT(wait_flag(&sh_trap_id));
	s64 t = (s64)(sh_trap_id & ~BIT(63));
	GEXPECT(t >= 0);
	*(volatile u64 *)sh_t = 1; /* vCPU 1's trap, on vCPU 0 */
	bi->out[2] = (u64)hc1(HC_TRAP_HITS, t);
	sh_trapped = 1;
	bi->out[3] = (u64)wait_stopped(1);
	bi->out[0] = sh_switch;
	bi->out[1] = sh_read;
	bi->out[4] = (u64)hc1(HC_TRAP_REMOVE, t);
}

/* ---- a step's rights are the stepping vCPU's only ---- */

static volatile u64 ts_ready, ts_go, ts_done1;
static u64 ts_page;

/* Both vCPUs write a write-trapped page n times each at once: every write is a trap hit. vCPU 0
 * writes with FISTP, which the interpreter leaves to the CPU: each is a step with the write right
 * in the view; a MOV of vCPU 1 that slipped through while that right is there would be a write
 * no trap saw. */
static void __attribute__((noreturn)) ts_writer(u64 n)
{
	ts_ready = 1;
	wait_flag(&ts_go);
	for (u64 i = 0; i < n; i++)
		*(volatile u64 *)ts_page = i;
	ts_done1 = 1;
	guest_exit(0);
}

void scen_smp_trap_step(struct hv_boot_info *bi)
{
	u64 n = bi->arg ? bi->arg : 2000;
	ts_page = guest_page(16, 0);
	s64 t = hc3(HC_TRAP_ADD, HV_TRAP_GPA, ts_page, HV_ACCESS_W);
	GEXPECT(t >= 0);
	GEXPECT_EQ(hc4(HC_VCPU_START, 1, (u64)ts_writer, stack_top(1), n), 0);
	GEXPECT(wait_flag(&ts_ready));
	ts_go = 1;
	__asm__ volatile("fninit");
	for (u64 i = 0; i < n; i++) /* FISTP: x87 arithmetic state, left to the CPU in one step */
		__asm__ volatile("fildq %1\n\tfistpq %0" : "=m"(*(volatile u64 *)ts_page) : "m"(i) : "memory");
	GEXPECT(wait_flag(&ts_done1));
	GEXPECT_EQ(wait_stopped(1), HV_VCPU_STOPPED | (1 << 8));
	bi->out[0] = 2 * n;
	bi->out[1] = (u64)hc1(HC_TRAP_HITS, t);
	GEXPECT_EQ(hc1(HC_TRAP_REMOVE, t), 0);
}
