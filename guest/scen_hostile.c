/* scen_hostile.c: "hostile", a guest that attacks the single step and the hypervisor's event
 * handling (issue 11), and "spin", a guest that never ends. bi->arg picks the attack; each
 * compares what the guest sees natively with what it sees when the same code is emulated or
 * trapped, and leaves its counts in out[] for tests/test_hostile.c. */
#include "guest.h"
#include "region.h"

#define TF BIT(8)
extern char hostile_int[], hostile_sgdt[], hostile_icebp[], hostile_icebp_after[], hostile_steps[];
extern char hostile_iret[], hostile_spin[], hostile_storm[], hostile_syscall[], hostile_syscall_entry[];
extern char hostile_mov_ss[], hostile_ud_insn[];
void hostile_ud_on_stack(u64 stack_top);
u64 hostile_call_tf(u64 (*fn)(u64), u64 arg);

static inline u64 read_dr6(void)
{
	u64 v;
	__asm__ volatile("mov %%dr6, %0" : "=r"(v));
	return v;
}
static inline void write_dr6(u64 v) { __asm__ volatile("mov %0, %%dr6" ::"r"(v)); }

/* 1. INT n in region code; its handler leaves the region's view by VMFUNC (no exit) and destroys
 * that view. The old single step (RFLAGS.TF) never ended: TF pushed in the frame, the view's
 * EPT freed under an open step, the hypervisor faulted. out: 0 handler calls, 1 TF in its frame,
 * 2 HC_VIEW_DESTROY's result, 3 instructions emulated, 4 stepped, 5 entries, 6 the result. */
static u64 int_count, int_rflags;
static s64 destroy_rc = 1;
static bool on_int22(struct trap_frame *f)
{
	int_count++, int_rflags = f->rflags;
	vmfunc_eptp_switch(0);
	destroy_rc = hc1(HC_VIEW_DESTROY, 1);
	return true;
}

static void int_in_region(unsigned long long *o)
{
	GEXPECT_EQ(hc0(HC_VIEW_CREATE), 1);
	GEXPECT_EQ(hc1(HC_VIEW_SWITCH, 1), 0);
	s64 id = rgn_add(hostile_int, PAGE_SIZE);
	GEXPECT(id >= 0);
	guest_trap_set_handler(22, on_int22);
	u64 r = ((u64(*)(void))hostile_int)();
	guest_trap_set_handler(22, NULL);
	struct hv_region_stats st = rgn_stats(id);
	rgn_remove(id);
	o[0] = int_count, o[1] = int_rflags & TF, o[2] = destroy_rc, o[3] = st.instructions, o[4] = st.stepped;
	o[5] = st.entries, o[6] = r;
}

/* 2. A write-trapped page written by an instruction the interpreter leaves to the CPU (SGDT) in
 * region code: the step needs two pages (the code's execute, the trap's write). The old code
 * missed the hit and stopped the guest. out: 0 hits, 1 bytes that differ from a native SGDT,
 * 2 stepped. */
static void trapped_write_in_step(unsigned long long *o)
{
	u8 native[10], *p = (u8 *)guest_page(1, 0);
	((void (*)(void *))hostile_sgdt)(native);
	s64 t = hc3(HC_TRAP_ADD, HV_TRAP_GPA, (u64)p, HV_ACCESS_W);
	s64 id = rgn_add(hostile_sgdt, PAGE_SIZE);
	GEXPECT(t >= 0 && id >= 0);
	((void (*)(void *))hostile_sgdt)(p + 0x100);
	o[0] = hc1(HC_TRAP_HITS, t);
	o[1] = 0;
	for (int i = 0; i < 10; i++)
		o[1] += native[i] != p[0x100 + i];
	o[2] = rgn_stats(id).stepped;
	rgn_remove(id);
	GEXPECT_EQ(hc1(HC_TRAP_REMOVE, t), 0);
}

/* #DB handler for 3-5: records RIP, RFLAGS and DR6 of each; clears TF once back outside the
 * hostile pages (the stub's own POPF ends the single-stepping otherwise). */
#define DB_MAX 32
static u64 db_count, db_rip[DB_MAX], db_rflags[DB_MAX], db_dr6[DB_MAX];
static char *db_page; /* set: stop single-stepping once RIP leaves this page */
static bool on_db(struct trap_frame *f)
{
	if (db_count < DB_MAX)
		db_rip[db_count] = f->rip, db_rflags[db_count] = f->rflags, db_dr6[db_count] = read_dr6();
	db_count++;
	write_dr6(0xffff0ff0);
	if (db_page && f->rip - (u64)db_page >= PAGE_SIZE)
		f->rflags &= ~TF;
	return true;
}

struct db_trace {
	u64 count, rip[DB_MAX], rflags[DB_MAX], dr6[DB_MAX];
};
static void db_save(struct db_trace *t)
{
	t->count = db_count;
	memcpy(t->rip, db_rip, sizeof(db_rip)), memcpy(t->rflags, db_rflags, sizeof(db_rflags));
	memcpy(t->dr6, db_dr6, sizeof(db_dr6));
	db_count = 0;
	write_dr6(0xffff0ff0);
}
/* Two RIPs of #DBs are the same place: equal, or both back in the caller (db_page set), whose
 * call sites differ between the native and the emulated run. */
static bool same_place(u64 a, u64 b)
{
	return a == b || (db_page && a - (u64)db_page >= PAGE_SIZE && b - (u64)db_page >= PAGE_SIZE);
}

/* How many #DBs differ (count, RIP, DR6's B0-B3/BS, RFLAGS.TF) between two traces. */
static u64 db_diff(const struct db_trace *a, const struct db_trace *b)
{
	u64 d = a->count != b->count;
	for (u64 i = 0; i < a->count && i < b->count && i < DB_MAX; i++)
		d += !same_place(a->rip[i], b->rip[i]) || ((a->dr6[i] ^ b->dr6[i]) & 0x400f) || ((a->rflags[i] ^ b->rflags[i]) & TF);
	for (u64 i = 0; d && i < a->count && i < DB_MAX; i++)
		guest_printf("#DB %lu: RIP %lx/%lx DR6 %lx/%lx RFLAGS %lx/%lx\n", i, a->rip[i], b->rip[i], a->dr6[i],
			     b->dr6[i], a->rflags[i], b->rflags[i]);
	if (d && a->count != b->count)
		guest_printf("#DB count %lu/%lu\n", a->count, b->count);
	return d;
}

/* 3. ICEBP natively, in a region and on an execute-trapped page: one #DB each, the same frame and
 * DR6. The old code took every #DB during its step as its own and looped forever. out: 0 native
 * #DBs, 1 region differences, 2 trap differences, 3 trap hits (one per instruction run on the
 * page: ICEBP, NOP, RET). */
static void icebp(unsigned long long *o)
{
	struct db_trace nat, emu, trap;
	guest_trap_set_handler(1, on_db);
	db_save(&nat);
	((void (*)(void))hostile_icebp)();
	db_save(&nat);
	s64 id = rgn_add(hostile_icebp, PAGE_SIZE);
	GEXPECT(id >= 0);
	((void (*)(void))hostile_icebp)();
	db_save(&emu);
	rgn_remove(id);
	s64 t = hc3(HC_TRAP_ADD, HV_TRAP_GPA, (u64)hostile_icebp, HV_ACCESS_X);
	GEXPECT(t >= 0);
	((void (*)(void))hostile_icebp)();
	db_save(&trap);
	o[3] = hc1(HC_TRAP_HITS, t);
	GEXPECT_EQ(hc1(HC_TRAP_REMOVE, t), 0);
	guest_trap_set_handler(1, NULL);
	GEXPECT_EQ(nat.rip[0], (u64)hostile_icebp_after);
	o[0] = nat.count, o[1] = db_diff(&nat, &emu), o[2] = db_diff(&nat, &trap);
}

/* 4. A debugger single-steps region code (RFLAGS.TF): one #DB per instruction as natively, with
 * the same RIPs and DR6.BS. The old interpreter ignored TF. out: 0 native #DBs, 1 differences. */
static void guest_tf(unsigned long long *o)
{
	struct db_trace nat, emu;
	guest_trap_set_handler(1, on_db);
	db_save(&nat);
	hostile_call_tf((u64(*)(u64))hostile_steps, 0);
	db_save(&nat);
	s64 id = rgn_add(hostile_steps, PAGE_SIZE);
	GEXPECT(id >= 0);
	hostile_call_tf((u64(*)(u64))hostile_steps, 0);
	db_save(&emu);
	rgn_remove(id);
	guest_trap_set_handler(1, NULL);
	o[0] = nat.count, o[1] = db_diff(&nat, &emu);
}

/* 5. IRETQ in region code (run on the CPU in a single step), loading RFLAGS with and without TF:
 * the result, the #DBs after it and RFLAGS as natively; the hypervisor's TF never shows. out:
 * 0 native #DBs with TF, 1 differences with TF, 2 differences without, 3 results that differ. */
static void iret_tf(unsigned long long *o)
{
	struct db_trace nat, emu;
	u64 (*fn)(u64) = (u64(*)(u64))hostile_iret;
	guest_trap_set_handler(1, on_db);
	db_page = hostile_iret;
	db_save(&nat);
	u64 rn = fn(0x2 | TF);
	db_save(&nat);
	u64 rn0 = fn(0x2);
	struct db_trace nat0;
	db_save(&nat0);
	s64 id = rgn_add(hostile_iret, PAGE_SIZE);
	GEXPECT(id >= 0);
	u64 re = fn(0x2 | TF);
	db_save(&emu);
	o[1] = db_diff(&nat, &emu);
	u64 re0 = fn(0x2);
	db_save(&emu);
	o[2] = db_diff(&nat0, &emu);
	rgn_remove(id);
	guest_trap_set_handler(1, NULL);
	db_page = NULL;
	o[0] = nat.count, o[3] = (rn != re) + (rn0 != re0) + (rn != 11);
}

/* 6. SYSCALL in region code, stepped on the CPU: the RFLAGS it saves in R11 must not carry the
 * hypervisor's TF (nor miss the guest's flags). out: 0 native R11, 1 emulated R11, 2 results. */
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_FMASK 0xc0000084
#define MSR_EFER 0xc0000080
static void syscall_in_region(unsigned long long *o)
{
	u64 efer = rdmsr(MSR_EFER), star = rdmsr(MSR_STAR), lstar = rdmsr(MSR_LSTAR), fmask = rdmsr(MSR_FMASK);
	wrmsr(MSR_EFER, efer | 1); /* SCE */
	wrmsr(MSR_STAR, (u64)GUEST_KCS << 32);
	wrmsr(MSR_LSTAR, (u64)hostile_syscall_entry);
	wrmsr(MSR_FMASK, TF);
	o[0] = ((u64(*)(void))hostile_syscall)();
	s64 id = rgn_add(hostile_syscall, PAGE_SIZE);
	GEXPECT(id >= 0);
	o[1] = ((u64(*)(void))hostile_syscall)();
	o[2] = rgn_stats(id).stepped;
	rgn_remove(id);
	wrmsr(MSR_EFER, efer), wrmsr(MSR_STAR, star), wrmsr(MSR_LSTAR, lstar), wrmsr(MSR_FMASK, fmask);
}

/* 7. MOV SS in region code: stepped with MTF where it works; with RFLAGS.TF it would run the
 * next instruction unmonitored, so the hypervisor stops the guest with a report. */
static void mov_ss_in_region(unsigned long long *o)
{
	s64 id = rgn_add(hostile_mov_ss, PAGE_SIZE);
	GEXPECT(id >= 0);
	((void (*)(void))hostile_mov_ss)();
	o[0] = rgn_stats(id).stepped;
	rgn_remove(id);
}

/* 8. An exception delivered onto a write-trapped stack page: the CPU's own pushes make an EPT
 * violation during event delivery, which the hypervisor must step (MTF or a preemption timer
 * of 0), never with RFLAGS.TF (it would be pushed in the frame). out: 0 #UDs, 1 TF in the frame,
 * 2 the frame's RIP is the UD2, 3 trap hits. */
static u64 ud_count, ud_rflags, ud_rip;
static bool skip_ud2(struct trap_frame *f)
{
	ud_count++, ud_rflags = f->rflags, ud_rip = f->rip;
	f->rip += 2;
	return true;
}

static void delivery_on_trapped_stack(unsigned long long *o)
{
	u64 stack = guest_page(2, 0);
	s64 t = hc3(HC_TRAP_ADD, HV_TRAP_GPA, stack, HV_ACCESS_W);
	GEXPECT(t >= 0);
	guest_trap_set_handler(6, skip_ud2);
	hostile_ud_on_stack(stack + PAGE_SIZE);
	guest_trap_set_handler(6, NULL);
	o[0] = ud_count, o[1] = ud_rflags & TF, o[2] = ud_rip == (u64)hostile_ud_insn, o[3] = hc1(HC_TRAP_HITS, t);
	GEXPECT_EQ(hc1(HC_TRAP_REMOVE, t), 0);
}

/* out[] per attack (bi->arg); tests/test_hostile.c checks them. */
void scen_hostile(struct hv_boot_info *bi)
{
	static void (*const attacks[])(unsigned long long *) = {NULL,     int_in_region,     trapped_write_in_step,
								icebp,    guest_tf,          iret_tf,
								syscall_in_region, mov_ss_in_region,
								delivery_on_trapped_stack};
	if (bi->arg == 0 || bi->arg >= ARRAY_SIZE(attacks)) {
		guest_printf("hostile: no attack %llu\n", bi->arg);
		guest_exit(2);
	}
	attacks[bi->arg](bi->out);
	guest_printf("hostile %llu: out %llu %llu %llu %llu %llu %llu %llu\n", bi->arg, bi->out[0], bi->out[1],
		     bi->out[2], bi->out[3], bi->out[4], bi->out[5], bi->out[6]);
}

/* "spin": never ends. arg 0: a native loop with no exits; 1: the same loop as an emulated
 * region; 2: an exit storm (CPUID forever). Only the watchdog stops it. */
void scen_spin(struct hv_boot_info *bi)
{
	if (bi->arg == 1)
		GEXPECT(rgn_add(hostile_spin, PAGE_SIZE) >= 0);
	((void (*)(void))(bi->arg == 2 ? hostile_storm : hostile_spin))();
}
