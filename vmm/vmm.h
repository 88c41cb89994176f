/* vmm.h: every function one vmm/ file offers another (and the tests), grouped by file.
 * vmm/ is the hypervisor; it uses kernel/ services through kernel/defs.h. */
#ifndef HVLAB_VMM_H
#define HVLAB_VMM_H
#include "../kernel/defs.h"
#include "vmx.h"
#include "hypercall.h"

/* caps.c: what this CPU's VMX offers, read from CPUID and the capability MSRs */
struct vmx_ctl {
	u32 allowed0; /* bits that must be 1 (MSR bits 31:0) */
	u32 allowed1; /* bits that may be 1 (MSR bits 63:32) */
};
enum vmx_msr_index { /* raw capability MSRs, in the order of MSR numbers 0x480.. */
	VMX_MSR_BASIC, VMX_MSR_PINBASED, VMX_MSR_PROCBASED, VMX_MSR_EXIT, VMX_MSR_ENTRY,
	VMX_MSR_MISC, VMX_MSR_CR0_FIXED0, VMX_MSR_CR0_FIXED1, VMX_MSR_CR4_FIXED0,
	VMX_MSR_CR4_FIXED1, VMX_MSR_VMCS_ENUM, VMX_MSR_PROCBASED2, VMX_MSR_EPT_VPID_CAP,
	VMX_MSR_TRUE_PINBASED, VMX_MSR_TRUE_PROCBASED, VMX_MSR_TRUE_EXIT, VMX_MSR_TRUE_ENTRY,
	VMX_MSR_VMFUNC, VMX_NR_MSRS
};
struct vmx_caps {
	bool vmx;              /* CPUID.1:ECX.VMX[bit 5] */
	const char *no_vmx;    /* why VMX cannot be used, or NULL */
	char vendor[13];
	u64 msr[VMX_NR_MSRS];  /* raw values; 0 for an MSR this CPU does not have */
	bool has_msr[VMX_NR_MSRS];
	u64 feature_control;   /* IA32_FEATURE_CONTROL as found at boot */
	u32 revision_id, vmcs_size;
	/* Effective controls: from the TRUE MSRs when IA32_VMX_BASIC[55] says they exist. */
	struct vmx_ctl pin, proc, proc2, exit, entry;
	bool true_ctls, secondary, ept, vpid, unrestricted_guest, vmfunc, eptp_switching;
	bool ept_violation_ve, ept_execute_only, ept_walk4, ept_uc, ept_wb, ept_2m, ept_1g, ept_ad, ept_adv_info;
	bool invept, invept_single, invept_all, invvpid, invvpid_addr, invvpid_single, invvpid_all;
	bool mtf, preemption_timer, io_bitmaps, msr_bitmaps, rdtscp, invpcid, xsaves, shadow_vmcs;
	bool pml, load_efer, save_efer, load_pat, activity_hlt;
	bool cet_ss;           /* CPUID.(EAX=7,ECX=0):ECX.CET_SS[bit 7]: EPTP bit 7 is defined */
	u32 masked; /* bit i: capability vmx_mask_name(i) hidden by "vmx_mask=" */
};
struct vmx_ctl vmx_ctl_from_msr(u64 msr);
void vmx_caps_decode(struct vmx_caps *c);
int vmx_caps_probe(struct vmx_caps *c);
void vmx_caps_print(const struct vmx_caps *c);
int vmx_caps_mask(struct vmx_caps *c, const char *list, char *err, size_t size);
const char *vmx_caps_init(struct vmx_caps *c, const char *cmdline);
u64 vmx_caps_masked_bits(u32 masked, int msr);
const char *vmx_mask_name(int i);
u32 vmx_ctl_adjust(struct vmx_ctl ctl, u32 want, u32 *refused);
extern struct vmx_caps vmx_caps;

/* vmxon.c: entering and leaving VMX operation */
const char *vmx_insn_error_str(u64 n);
const char *vmx_status_str(enum vmx_status s);
enum vmx_status vmx_report(enum vmx_status s, const char *insn, const char *file, int line);
#define VMX_CHECK(insn, call) vmx_report((call), insn, __FILE__, __LINE__)
int vmx_feature_control_enable(const struct vmx_caps *c);
u64 vmx_fixed_cr0(const struct vmx_caps *c, u64 cr0);
u64 vmx_fixed_cr4(const struct vmx_caps *c, u64 cr4);
void *vmx_alloc_region(const struct vmx_caps *c);
int vmx_on(void);
int vmx_off(void);
bool vmx_is_on(void);

/* ept.c: EPT paging structures (no VMCS access; host-testable) */
#define EPT_R BIT(0)
#define EPT_W BIT(1)
#define EPT_X BIT(2)
#define EPT_RWX (EPT_R | EPT_W | EPT_X)
#define EPT_MT_WB (6UL << 3) /* leaf memory type, bits 5:3 */
#define EPT_LARGE BIT(7)     /* bit 7 in a PDPTE/PDE: maps a 1 GiB/2 MiB page */
#define EPT_SUPPRESS_VE BIT(63)
#define EPT_PERM_MASK (EPT_RWX | EPT_SUPPRESS_VE)
#define VMX_EPTP_MT_WB 6UL
#define VMX_EPTP_PWL_4 (3UL << 3)
struct ept {
	u64 *pml4;
	u64 tables; /* table pages in use, PML4 included */
	bool allow_2m, allow_1g;
	bool ad;    /* EPTP bit 6: the CPU sets the leaves' accessed and dirty flags (dirty.c) */
};
int ept_init(struct ept *e, bool allow_2m, bool allow_1g);
void ept_destroy(struct ept *e);
u64 ept_eptp(const struct ept *e);
int ept_map(struct ept *e, u64 gpa, u64 hpa, u64 size, u64 perms);
u64 *ept_leaf(const struct ept *e, u64 gpa, int *level);
u64 *ept_entry(const struct ept *e, u64 gpa, int level);
u64 ept_translate(const struct ept *e, u64 gpa);
int ept_split(struct ept *e, u64 gpa);
int ept_split_4k(struct ept *e, u64 gpa);

/* Layers (docs/architecture.md, "The policy layer"): data flows down.
 *   top:       vm.c (lifecycle, run loop), exit.c (dispatcher), violation.c (EPT violations),
 *              hypercall.c
 *   features:  views.c, traps.c, region.c, watchdog.c
 *   policy:    policy.c (the only writer of EPT leaves), step.c (the only single step)
 *   mechanics: ept.c, vmcs.c, vcpu.c (registers, CPL, events), gwalk.c
 * A function calls only its own layer's or lower layers' functions. */

/* vm.c: one guest with one vCPU: RAM, the views, VMCS, bitmaps, and the run loop */
enum vm_stop {
	VM_RUNNING,
	VM_STOP_EXIT,         /* HC_EXIT(status) */
	VM_STOP_HLT,          /* HLT with nothing to wake it */
	VM_STOP_TRIPLE_FAULT,
	VM_STOP_EPT_VIOLATION,
	VM_STOP_EPT_MISCONFIG,
	VM_STOP_ENTRY_FAILED,
	VM_STOP_VMXOFF,       /* HC_VMXOFF: VMX is off now */
	VM_STOP_BAD_GUEST,    /* the guest did something hvlab refuses to emulate */
	VM_STOP_UNHANDLED,    /* an exit reason with no handler */
	VM_STOP_WATCHDOG,     /* the run went on past its time limit (watchdog.c) */
	VM_STOP_HV_BUG,       /* a hypervisor invariant failed: the run cannot go on safely */
	VM_STOP_FUZZ,         /* a fuzzing event: snapshot taken, iteration ended, crash (fuzz.c) */
	VM_STOP_KICKED,       /* smp_vm.c: a vCPU stopped because its VM ended */
};
#define HV_TRAP_MAX 32
struct trap {
	bool live;
	u64 frame;               /* the trapped guest-physical page (a frame: aliases see it too) */
	u64 access;              /* HV_ACCESS_* that count as hits */
	u64 hits;
	u64 last_insn;           /* vCPU id << 56 | its insn_seq + 1 at the last hit: one hit per instruction */
};
#define HV_REGION_PAGES 64 /* pages per emulated region */
#define FUZZ_EDGE_MAP 4096 /* bytes of the edge map (edges.c; a power of two: targets are small) */
struct region {
	bool live, logging;
	u64 kind, addr, size;          /* as given to HC_REGION_ADD */
	u32 npages;
	u64 gpa[HV_REGION_PAGES];      /* its guest-physical frames, in region order */
	struct hv_region_stats stats;
	struct hv_access *log;         /* HV_REGION_LOG entries, allocated when logging starts */
	u64 log_next, log_read;
};
#define STEP_PAGES 4 /* pages one stepped instruction may need extra rights on */
/* The whole guest-physical page policy (policy.c owns it; every EPT leaf derives from it). */
#define P_VE 0x8 /* in rights[v][pfn]: #VE enabled on the page in view v (suppress-#VE clear) */
#define POLICY_XCOPY_MAX 32 /* frames whose fetches see another page (coverage breakpoints) */
struct policy {
	u64 npages;                    /* guest RAM in pages */
	u8 *rights[HV_VIEW_MAX];       /* per view and page: HV_ACCESS_* | P_VE, as the guest set them */
	u32 *remap[HV_VIEW_MAX];       /* per view and page: frame + 1 shown there, 0 = its own frame */
	u64 nremaps[HV_VIEW_MAX];      /* pages of the view that show another frame */
	u8 *region;                    /* per frame: region id + 1, or 0 */
	u8 *trap;                      /* per frame: trap id + 1, or 0 */
	struct trap traps[HV_TRAP_MAX];
	u8 *wlog;                      /* per frame: 1 = write-protected for dirty logging (dirty.c) */
	u8 *xcopy;                     /* per frame: index + 1 into xpage, or 0 (policy_set_xcopy) */
	void *xpage[POLICY_XCOPY_MAX]; /* host pages that instruction fetches see instead of a frame */
	u32 dirty;                     /* views whose leaves changed since the last INVEPT */
	u64 leaf_writes;               /* leaves written (statistics, tests) */
};
/* step.c's extra rights for one instruction of one vCPU: in this view, on these pages, these
 * rights (never more than the view gives). */
struct grant {
	u32 n, view;
	u64 pfn[STEP_PAGES], rights[STEP_PAGES];
};
/* The hardware single step (step.c). */
enum step_kind { STEP_TRAP, STEP_REGION, STEP_DELIVERY };
enum step_how { STEP_MTF, STEP_TF, STEP_TIMER0 };
struct step {
	bool open;
	u32 kind, how, id, view;
	u64 gpa, rip;
	bool guest_tf;                 /* the guest's own RFLAGS.TF when the step began */
	bool chain;                    /* this exit ended a step by an EPT violation at its RIP */
	u64 last_rip;                  /* the last step's RIP, */
	u32 last_view, last_npages;    /* in this view, with these pages granted: */
	u64 last_pages[STEP_PAGES], last_rights[STEP_PAGES]; /* the same instruction needs them again */
	u32 flags;                     /* STEP_F_* */
	u64 saved_bitmap;              /* exception bitmap before a TF step */
	u64 saved_timer;               /* preemption timer before a TIMER0 step */
	u64 steps[3];                  /* steps taken, per step_how */
};
/* What the last VM exit reported (read once per exit, or made up for an instruction the
 * hypervisor completes for the interpreter: vm->exit.synthetic). */
struct vm_exit {
	u32 reason;                    /* basic exit reason */
	u32 len;                       /* VM_EXIT_INSTRUCTION_LEN */
	u64 qual;                      /* EXIT_QUALIFICATION */
	u32 intr_info, intr_error;     /* VM_EXIT_INTR_INFO, _ERROR_CODE */
	u32 idt_info, idt_error;       /* IDT_VECTORING_INFO_FIELD, _ERROR_CODE */
	u64 gpa, gla;                  /* GUEST_PHYSICAL_ADDRESS, GUEST_LINEAR_ADDRESS */
	bool synthetic;
};
#define VM_LAST_EXITS 8
struct emu;
struct fuzz;
/* What every vCPU of a VM shares: the views, the page policy, the regions. It lives in vCPU 0's
 * struct vm (vm->shared) and every vCPU's vm->sh points there, so a change made on any vCPU is
 * the change every vCPU sees (smp_vm.c); lock serialises the guest's changes (hypercall.c). */
struct vm_shared {
	struct ept views[HV_VIEW_MAX]; /* views[0] is the default view */
	bool view_live[HV_VIEW_MAX];
	u8 view_policy[HV_VIEW_MAX];
	u32 view_policy_arg[HV_VIEW_MAX];
	u64 *eptp_list;                /* VMFUNC's EPTP list: 512 entries, 0 = no view */
	struct policy pol;
	struct region regions[HV_REGION_MAX];
	struct spinlock lock;
};
struct vm {
	u8 *ram; /* host-physical (= hypervisor virtual) address of guest RAM; 2 MiB aligned */
	u64 ram_size;
	struct vm_shared *sh;          /* &vm->shared of vCPU 0 (this struct for vCPU 0 itself) */
	struct vm_shared shared;       /* vCPU 0's; unused in the others */
	u32 view;                      /* the vCPU's view as last seen (see view_current) */
	struct grant grant;            /* this vCPU's step's extra rights (policy_grant) */
	struct step step;
	struct hv_ve_info *ve_info;    /* #VE information page (host pointer), or NULL */
	u64 ve_gpa;
	bool ve_soft_only;             /* never use the CPU's #VE: inject it (tests compare both) */
	struct hv_violation ring[HV_VIOLATION_RING];
	u64 ring_next, ring_read;
	u64 invepts, last_invept_eptp; /* INVEPTs issued (tests check every change makes one) */
	struct emu *emu;               /* the interpreter, allocated with the first region */
	bool emu_ready;                /* emu_init done: later entries keep its decode cache */
	u32 in_region;                 /* region id + 1 while executing inside one, else 0 */
	u8 *edge_map;                  /* fuzzing, coverage=edges: the interpreter's edge map (edges.c) */
	bool cov_later;                /* COVERAGE=1: the guest's counters after this run (fuzz.c), not at its end */
	u64 region_entries;            /* region_enter() calls, all regions */
	u64 insn_seq;                  /* counts instructions the hypervisor sees complete */
	void *vmcs, *io_bitmap, *msr_bitmap; /* io_bitmap: A and B, two pages */
	u64 regs[16];                        /* guest GPRs by x86 number; RSP is GUEST_RSP */
	u64 cr0_mask, cr4_mask;
	u16 vpid;
	bool launched;
	struct vm_exit exit;
	u16 last_exits[VM_LAST_EXITS];       /* the last exit reasons, newest at stats.total % 8 */
	u64 watchdog_tsc;                    /* the run's limit in TSC cycles (0: none) */
	u8 timer_on;                         /* the preemption-timer control: 0 unknown, 1 off, 2 on */
	u64 timer_left;                      /* the time left the timer value was last set to, or 0 */
	u64 run_start, run_deadline;         /* TSC at vm_run's start; start + limit */
	enum vm_stop stop;
	u64 exit_status;                     /* HC_EXIT's argument */
	u64 stop_qual, stop_gpa, stop_gla;   /* for EPT stops */
	struct hv_exit_stats stats;
	u64 run_tsc;                         /* TSC cycles the last vm_run() took */
	u64 entry_error;                     /* VM_INSTRUCTION_ERROR of a failed VMLAUNCH/VMRESUME */
	u32 exit_reason;                     /* the full exit reason of the last exit */
	char line[160];                      /* the guest's console line being assembled */
	int line_len;
	bool quiet;                          /* do not print each refused hypercall */
	const char *console_prefix;          /* before each guest console line; "[guest] " if NULL */
	void (*check)(bool ok, const char *text); /* HC_CHECK goes here (a KTAP test) */
	struct fuzz *fuzz;                   /* snapshot fuzzing state (fuzz.c), or NULL */
	/* smp_vm.c: the VM's other vCPUs (NULL until the guest starts one) */
	struct vm_smp *smp;
	u32 vcpu_id;                         /* 0: the boot vCPU */
	bool smp_no_remote_invept;           /* TEST ONLY: shootdowns skip the other CPUs */
	volatile bool kick;                  /* smp_vm.c: stop this vCPU at its next exit */
	u64 nmi_unblocks;                    /* smp_vm.c: NMI blocking cleared after the host's NMI */
	/* vintr.c: interrupts to the guest */
	volatile u64 virr[4];                /* pending vectors (a virtual IRR) */
	u64 vt_deadline, vt_period;          /* the virtual timer: TSC deadline (0: off), period */
	u64 vt_lapic;                        /* the deadline the LAPIC timer is programmed for */
	u8 vt_vector;
	bool intr_exits, intr_window;        /* external-interrupt / interrupt-window exiting on */
	u64 vt_fired, intr_injected, intr_window_exits, hlt_waits, ipis_sent; /* statistics */
};
const char *vm_stop_str(enum vm_stop s);
int vm_create(struct vm *vm, u64 ram_size);
void vm_destroy(struct vm *vm);
int vm_load_elf(struct vm *vm, const u8 *elf, u64 size, u64 *entry);
int vm_boot(struct vm *vm, const char *scenario, u64 arg);
void vm_boot_raw(struct vm *vm, u64 rip);
enum vm_stop vm_run(struct vm *vm);
void *vm_gpa(struct vm *vm, u64 gpa, u64 size);
struct hv_boot_info *vm_boot_info(struct vm *vm);
bool guest_module(const u8 **start, u64 *size);
void vm_print_stats(const struct vm *vm);
void vm_console_putc(struct vm *vm, char c);
int vm_invalidate(struct vm *vm);
int vm_read_guest(struct vm *vm, u64 gva, void *buf, u64 n, u32 access);

/* vmcs.c */
u64 vmcs_read(u64 field);
void vmcs_write(u64 field, u64 val);
int vmcs_setup(struct vm *vm);
void vmcs_guest_reset(struct vm *vm, u64 rip, u64 rsp, u64 cr3);

/* exit.c: the exit dispatcher and the handlers of the basic exits */
const char *exit_reason_str(u32 reason);
void exit_handle(struct vm *vm, u32 reason);

/* vcpu.c: the vCPU's registers, CPL and event injection (below every feature) */
void vcpu_read_exit(struct vm *vm, u32 reason);
u64 *vcpu_gpr(struct vm *vm, int n, u64 *rsp);
void vm_inject(struct vm *vm, u8 vector, bool has_error, u32 error);
int vm_inject_event(struct vm *vm, u32 type, u8 vector, bool has_error, u32 error, u32 insn_len);
void vcpu_inject_db(struct vm *vm, u64 dr6_bits);
void vm_skip_instruction(struct vm *vm);
int vm_cpl(void);
void vm_dump_guest(struct vm *vm);
u32 vcpu_set_view(struct vm *vm, u32 v);
u32 view_current(struct vm *vm);

/* policy.c: the guest-physical page policy, the only writer of EPT leaves */
struct page_info {   /* what page gpa is in view v, as policy_lookup() finds it */
	u64 frame;       /* guest-physical frame shown there (page aligned) */
	u8 rights;       /* HV_ACCESS_* the view gives */
	bool ve;         /* #VE enabled there */
	u32 region;      /* region id + 1 of the frame, or 0 */
	u32 trap;        /* trap id + 1 of the frame, or 0 */
	bool wlog;       /* the frame is write-protected for dirty logging */
	bool xcopy;      /* fetches from the frame see another page; data accesses exit */
};
int policy_init(struct vm *vm);
void policy_fini(struct vm *vm);
int policy_view_init(struct vm *vm, u32 v);
void policy_view_fini(struct vm *vm, u32 v);
int view_invalidate(struct vm *vm, u32 v);
int policy_flush(struct vm *vm);
bool policy_lookup(const struct vm *vm, u32 v, u64 gpa, struct page_info *pi);
u64 policy_leaf(const struct vm *vm, u32 v, u64 pfn);
s64 policy_set_rights(struct vm *vm, u32 v, u64 gpa, u64 size, u64 rights);
s64 policy_set_ve(struct vm *vm, u32 v, u64 gpa, u64 size, bool on);
s64 policy_remap(struct vm *vm, u32 v, u64 gpa, u64 target);
int policy_set_region(struct vm *vm, u64 frame, u32 id_plus_1);
int policy_set_trap(struct vm *vm, u64 frame, u32 id_plus_1);
int policy_grant(struct vm *vm, u32 v, u32 n, const u64 *gpa, const u64 *rights);
void policy_revoke(struct vm *vm);
u64 policy_check(struct vm *vm, bool verbose);
bool policy_trap_hit(struct vm *vm, u32 trap_plus_1, u64 access);
u64 policy_trap_removes(u64 access);
int vm_gva_to_gpa(struct vm *vm, u64 gva, u32 access, u64 *gpa, u32 *pf_error);
u64 *vm_table_entry(void *vm, u64 gpa);
int policy_wlog_all(struct vm *vm, bool on);
void policy_wlog_set(struct vm *vm, u64 frame, bool on);
int policy_set_xcopy(struct vm *vm, u64 frame, void *copy);
u64 policy_ad_harvest(struct vm *vm, u32 v, void (*mark)(struct vm *, u64), bool scan_all, const u64 *gpas, u64 n);

/* step.c: one instruction (or one event delivery) on the CPU with extra rights */
#define STEP_F_LOADS_RFLAGS BIT(0) /* the instruction loads RFLAGS itself (IRET, SYSRET) */
#define STEP_F_SYSCALL BIT(1)      /* SYSCALL: R11 holds the RFLAGS it saw */
void step_set_mtf_works(bool works);
bool step_mtf_works(void);
int step_begin(struct vm *vm, u32 kind, u32 id, u64 gpa, u64 rights, u32 flags);
bool step_end(struct vm *vm);
void step_abort(struct vm *vm);

/* views.c: EPT views (hypercalls), VMFUNC emulation */
bool view_valid(const struct vm *vm, u64 v);
s64 view_create(struct vm *vm);
s64 view_destroy(struct vm *vm, u64 v);
s64 view_set_access(struct vm *vm, u64 v, u64 gpa, u64 size, u64 access);
s64 view_get_access(struct vm *vm, u64 v, u64 gpa);
s64 view_set_ve(struct vm *vm, u64 v, u64 gpa, u64 size, u64 on);
s64 view_remap(struct vm *vm, u64 v, u64 gpa, u64 target);
s64 view_switch(struct vm *vm, u64 v);
s64 view_set_policy(struct vm *vm, u64 v, u64 policy, u64 arg);
bool vmfunc_emulate(struct vm *vm);
void views_destroy_all(struct vm *vm);

/* traps.c: access traps on guest-physical frames */
s64 trap_add(struct vm *vm, u64 kind, u64 addr, u64 access);
s64 trap_remove(struct vm *vm, u64 t);
s64 trap_hits(struct vm *vm, u64 t);

/* violation.c: EPT violations, #VE */
s64 violations_read(struct vm *vm, u64 gpa, u64 max);
s64 ve_register(struct vm *vm, u64 gpa);
void violation_decide(struct vm *vm, u64 q, u64 gpa, u64 gla, bool delivering);
void violation_handle(struct vm *vm);

/* region.c: emulated regions and the interpreter glue */
enum { EMU_OUT_DONE, EMU_OUT_VIOLATION, EMU_OUT_STOPPED };
struct emu_outcome { /* what running guest code in the interpreter left for the caller */
	int what;
	u64 q, gpa, gla;     /* EMU_OUT_VIOLATION: an access the view denies, as an EPT violation */
};
struct emu_outcome region_enter(struct vm *vm, u32 id, u64 frame, u64 gla);
struct emu_outcome emulate_once(struct vm *vm, u32 trap_plus_1, u64 q, u64 gpa);
s64 region_add(struct vm *vm, u64 kind, u64 addr, u64 size);
s64 region_remove(struct vm *vm, u64 id);
void region_set_edges(struct vm *vm, u8 *map);
s64 region_stats(struct vm *vm, u64 id, u64 gpa);
s64 region_log(struct vm *vm, u64 id, u64 on);
s64 region_log_read(struct vm *vm, u64 id, u64 gpa, u64 max);
void region_free_all(struct vm *vm);

/* watchdog.c: a bound on every guest run (the VMX-preemption timer where the CPU has it) */
extern u64 watchdog_default_tsc;
void watchdog_setup(const char *cmdline);
void watchdog_arm(struct vm *vm);
bool watchdog_expired(struct vm *vm);
void watchdog_report(struct vm *vm);
/* fpu.c: the guest's x87/SSE state in and out of the interpreter (FXSAVE/FXRSTOR) */
struct emu_cpu;
void fpu_to_emu(struct emu_cpu *c);
void fpu_from_emu(const struct emu_cpu *c);

/* emu_glue.c: the interpreter's state beyond general registers, and the stops the hypervisor
 * finishes itself. emu_glue_stop: 1 completed (run on), -1 an event injected (the guest leaves
 * the region), 0 not handled here. */
struct emu_result;
void emu_glue_load(struct vm *vm, struct emu *e);
void emu_glue_store(struct vm *vm, struct emu *e);
int emu_glue_stop(struct vm *vm, struct emu *e, const struct emu_result *r);

/* snapshot.c, dirty.c, fuzz.c: snapshot fuzzing (docs/fuzzing.md); hooks the exit handlers call */
s64 fuzz_hc_snapshot(struct vm *vm, u64 gpa, u64 max);
s64 fuzz_hc_end(struct vm *vm, u64 status);
s64 fuzz_hc_panic(struct vm *vm, u64 code);
bool fuzz_exception(struct vm *vm, u8 vector);
bool fuzz_fault(struct vm *vm, u8 vector, u64 info);
bool fuzz_random(struct vm *vm, u64 *v);
bool fuzz_exit(struct vm *vm, u32 reason);
bool fuzz_write_logged(struct vm *vm, u64 frame);
void dirty_note_write(struct vm *vm, u64 frame); /* dirty.c: a write the interpreter made */
void cover_unhide(struct vm *vm, u64 frame);
bool fuzz_hc_allowed(struct vm *vm, u64 nr);
u8 fuzz_main(const char *cmdline);
void fuzz_detach(struct vm *vm);

/* hypercall.c */
void hypercall_handle(struct vm *vm);

/* gwalk.c: guest page walks (no VMX; host-testable) */
#define GW_WRITE BIT(0)
#define GW_USER BIT(1)     /* the access is made at CPL 3 */
#define GW_FETCH BIT(2)
#define GW_IMPLICIT BIT(3) /* an implicit supervisor access (descriptor tables): SMAP ignores AC */
#define GW_SET_AD BIT(4)   /* set accessed and dirty bits as the CPU would */
struct gwalk_cpu {
	u8 maxphyaddr; /* CPUID.80000008H:EAX[7:0] */
	bool pages_1g; /* CPUID.80000001H:EDX[26] */
};
struct gwalk_regs {
	u64 cr0, cr3, cr4, efer, rflags;
	struct gwalk_cpu cpu; /* the reserved bits depend on them: gwalk_this_cpu() */
};
struct gwalk_cpu gwalk_this_cpu(void);
#define GWR_USER BIT(0)  /* gwalk's *rights: the translation is user-accessible (U/S at every level), */
#define GWR_WRITE BIT(1) /* writable (R/W at every level), */
#define GWR_NX BIT(2)    /* execute-disabled (XD at some level) */
int gwalk(const struct gwalk_regs *r, u64 gva, u32 access, u64 *gpa, u32 *pf_error, u32 *rights,
	  u64 *(*table)(void *ctx, u64 gpa), void *ctx);

/* vmcs_check.c, vmcs_check_guest.c: the VM-entry checks in software (SDM "Checks on VMX
 * Controls and Host-State Area", "Checks on the Guest State Area"): the first rule a VMCS
 * breaks, in the SDM's words, with the field values. vmcs_check_fields() is pure (a field
 * reader; host unit tests give it a table); vmcs_check() runs it on the current VMCS and prints. */
struct vmcs_check_in {
	u64 (*read)(void *ctx, u64 field); /* a VMCS field's value */
	void *ctx;
	const struct vmx_caps *caps;
	u8 maxphyaddr;                     /* CPUID.80000008H:EAX[7:0] */
	/* The 4 bytes at physical address pa into *val; false if they cannot be read. NULL: the
	 * checks on memory the VMCS points to are left out. */
	bool (*read_phys32)(void *ctx, u64 pa, u32 *val);
};
struct vmcs_violation {
	const char *rule;    /* a short stable name, e.g. "guest.limit_g" (tests compare it) */
	const char *section; /* the SDM section that states the rule */
	const char *sdm;     /* the rule in the SDM's words */
	char what[240];      /* this VMCS: the fields, their values, what is wrong */
};
int vmcs_check_fields(const struct vmcs_check_in *in, struct vmcs_violation *v);
bool vmcs_check(const char *when, bool failed);
bool vmcs_check_read_phys32(void *ctx, u64 pa, u32 *val); /* vmcs_check's reader in the VM */

/* vmcs_dump.c: VMCS fields by name, for debugging ("vmcs_dump=" on the command line; a
 * debugger may set vmcs_dump_all) */
extern u8 vmcs_dump_all;
void vmcs_dump(const char *match);
void vmcs_dump_setup(const char *cmdline);
void vmcs_dump_exit(u32 reason);

/* smp_vm.c: VMX on every CPU, a VM's vCPUs on their CPUs, the EPT shootdown (docs/smp.md) */
#define IRQ_VEC_KICK 0xf2
struct vm_smp_stats {
	u64 shootdowns, remote_acks, timeouts, skipped; /* skipped: smp_no_remote_invept */
	u64 last_tsc;                                   /* TSC cycles of the last shootdown */
	u64 step_holds;                                 /* steps that held the other vCPUs out */
};
int smp_vmx_on_all(void);
void smp_vmx_off_all(void);
u32 smp_vmx_cpus(void);                  /* CPUs in VMX operation */
s64 smp_vcpu_start(struct vm *vm, u64 id, u64 rip, u64 rsp, u64 arg);
s64 smp_vcpu_status(struct vm *vm, u64 id);
void smp_test_deaf(u32 cpus);           /* TEST ONLY: these CPUs ignore shootdowns */
bool smp_hold_others(struct vm *vm);
void smp_release_others(struct vm *vm);
bool smp_enter_guest(struct vm *vm);
void smp_left_guest(struct vm *vm);
bool smp_vm_lock(struct vm *vm);
bool smp_others_running(struct vm *vm); /* a view in use elsewhere cannot be destroyed */
s64 smp_vcpu_info(struct vm *vm);
struct vm *smp_vcpu(struct vm *vm, u32 id);
int smp_shootdown(struct vm *vm, u32 views);
void smp_external_interrupt(struct vm *vm);
void smp_nmi_exit(struct vm *vm);
void smp_vm_stop_all(struct vm *vm);
void smp_vm_destroy(struct vm *vm);
const struct vm_smp_stats *smp_vm_stats(const struct vm *vm);
u64 smp_cpu_invepts(u32 cpu);

/* vintr.c: interrupts to the guest: per-vCPU timer, guest IPIs, HLT that waits */
s64 vintr_timer_arm(struct vm *vm, u64 vector, u64 us, u64 periodic);
s64 vintr_ipi(struct vm *vm, u64 id, u64 vector);
void vintr_before_entry(struct vm *vm);
void vintr_window_exit(struct vm *vm);
bool vintr_hlt(struct vm *vm);
void vintr_run_end(struct vm *vm);
bool vintr_should_yield(struct vm *vm);
#define VINTR_REGION_CHUNK 256 /* region.c: instructions between two vintr_should_yield() */

/* vmx_entry.S */
int vmx_enter(u64 *regs, int launched);
#endif
