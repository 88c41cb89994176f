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
	bool ept_violation_ve, ept_execute_only, ept_walk4, ept_uc, ept_wb, ept_2m, ept_1g, ept_ad;
	bool invept, invept_single, invept_all, invvpid, invvpid_addr, invvpid_single, invvpid_all;
	bool mtf, preemption_timer, io_bitmaps, msr_bitmaps, rdtscp, invpcid, xsaves, shadow_vmcs;
	bool pml, load_efer, save_efer, load_pat, activity_hlt;
};
struct vmx_ctl vmx_ctl_from_msr(u64 msr);
void vmx_caps_decode(struct vmx_caps *c);
int vmx_caps_probe(struct vmx_caps *c);
void vmx_caps_print(const struct vmx_caps *c);
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
};
int ept_init(struct ept *e, bool allow_2m, bool allow_1g);
void ept_destroy(struct ept *e);
u64 ept_eptp(const struct ept *e);
int ept_map(struct ept *e, u64 gpa, u64 hpa, u64 size, u64 perms);
u64 *ept_leaf(const struct ept *e, u64 gpa, int *level);
u64 ept_translate(const struct ept *e, u64 gpa);
int ept_split(struct ept *e, u64 gpa);
int ept_split_4k(struct ept *e, u64 gpa);

/* vm.c: one guest with one vCPU: RAM, EPT, VMCS, bitmaps, and the run loop */
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
};
#define HV_TRAP_MAX 32
struct trap {
	bool live;
	u64 gpa;                 /* the trapped page */
	u64 access;              /* HV_ACCESS_* that count as hits */
	u64 hits;
	u8 saved[HV_VIEW_MAX];   /* each view's rights on the page before the trap */
};
#define HV_REGION_PAGES 64 /* pages per emulated region */
struct region {
	bool live, logging;
	u64 kind, addr, size;          /* as given to HC_REGION_ADD */
	u32 npages;
	u64 gpa[HV_REGION_PAGES];      /* its guest-physical pages */
	u16 had_x[HV_REGION_PAGES];    /* per page: views where it was executable before */
	struct hv_region_stats stats;
	struct hv_access *log;         /* HV_REGION_LOG entries, allocated when logging starts */
	u64 log_next, log_read;
};
struct emu;
enum step_kind { STEP_TRAP, STEP_REGION };
struct vm {
	u8 *ram; /* host-physical (= hypervisor virtual) address of guest RAM; 2 MiB aligned */
	u64 ram_size;
	struct ept views[HV_VIEW_MAX]; /* views[0] is the default view */
	bool view_live[HV_VIEW_MAX];
	u8 view_policy[HV_VIEW_MAX];
	u32 view_policy_arg[HV_VIEW_MAX];
	u32 view;                      /* the vCPU's view as last seen (see view_current) */
	u64 *eptp_list;                /* VMFUNC's EPTP list: 512 entries, 0 = no view */
	struct hv_ve_info *ve_info;    /* #VE information page (host pointer), or NULL */
	u64 ve_gpa;
	bool ve_soft_only;             /* never use the CPU's #VE: inject it (tests compare both) */
	struct hv_violation ring[HV_VIOLATION_RING];
	u64 ring_next, ring_read;
	struct trap traps[HV_TRAP_MAX];
	u64 *monitored;                /* one bit per guest page: a trap or an emulated region is on it */
	bool stepping, step_guest_tf;  /* single-stepping one instruction (a trap or a region) */
	u64 invepts, last_invept_eptp; /* INVEPTs issued (tests check every change makes one) */
	u32 step_kind, step_id, step_view;
	u64 step_gpa, step_added;      /* the page and the rights added for the step */
	u64 step_saved_bitmap;         /* the exception bitmap before a TF step */
	struct region regions[HV_REGION_MAX];
	u8 *page_region;               /* per guest page: region id + 1, or 0 */
	struct emu *emu;               /* the interpreter, allocated with the first region */
	bool emu_ready;                /* emu_init done: later entries keep its decode cache */
	u32 in_region;                 /* region id + 1 while executing inside one, else 0 */
	void *vmcs, *io_bitmap, *msr_bitmap; /* io_bitmap: A and B, two pages */
	u64 regs[16];                        /* guest GPRs by x86 number; RSP is GUEST_RSP */
	u64 cr0_mask, cr4_mask;
	u16 vpid;
	bool launched;
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
};
const char *vm_stop_str(enum vm_stop s);
int vm_create(struct vm *vm, u64 ram_size);
void vm_destroy(struct vm *vm);
int vm_load_elf(struct vm *vm, const u8 *elf, u64 size, u64 *entry);
int vm_boot(struct vm *vm, const char *scenario, u64 arg);
enum vm_stop vm_run(struct vm *vm);
void *vm_gpa(struct vm *vm, u64 gpa, u64 size);
struct hv_boot_info *vm_boot_info(struct vm *vm);
bool guest_module(const u8 **start, u64 *size);
void vm_print_stats(const struct vm *vm);
void vm_console_putc(struct vm *vm, char c);
int vm_invalidate(struct vm *vm);
bool vm_monitored(const struct vm *vm, u64 gpa);
void vm_set_monitored(struct vm *vm, u64 gpa, bool on);
int vm_gva_to_gpa(struct vm *vm, u64 gva, u32 access, u64 *gpa, u32 *pf_error);
u64 *vm_table_entry(void *vm, u64 gpa);
int vm_read_guest(struct vm *vm, u64 gva, void *buf, u64 n, u32 access);

/* vmcs.c */
u64 vmcs_read(u64 field);
void vmcs_write(u64 field, u64 val);
int vmcs_setup(struct vm *vm);
void vmcs_guest_reset(struct vm *vm, u64 rip, u64 rsp, u64 cr3);

/* exit.c: the exit dispatcher and handlers */
const char *exit_reason_str(u32 reason);
void exit_handle(struct vm *vm, u32 reason);
void vm_inject(struct vm *vm, u8 vector, bool has_error, u32 error);
int vm_inject_event(struct vm *vm, u32 type, u8 vector, bool has_error, u32 error, u32 insn_len);
void vm_skip_instruction(struct vm *vm);
int vm_cpl(void);
void vm_dump_guest(struct vm *vm);

/* views.c: EPT views */
bool view_valid(const struct vm *vm, u64 v);
u32 view_current(struct vm *vm);
int view_invalidate(struct vm *vm, u32 v);
s64 view_create(struct vm *vm);
s64 view_destroy(struct vm *vm, u64 v);
s64 view_set_access(struct vm *vm, u64 v, u64 gpa, u64 size, u64 access);
s64 view_get_access(struct vm *vm, u64 v, u64 gpa);
s64 view_set_ve(struct vm *vm, u64 v, u64 gpa, u64 size, u64 on);
s64 view_remap(struct vm *vm, u64 v, u64 gpa, u64 target);
s64 view_switch(struct vm *vm, u64 v);
s64 view_set_policy(struct vm *vm, u64 v, u64 policy, u64 arg);

/* violation.c: EPT violations, #VE, traps */
s64 violations_read(struct vm *vm, u64 gpa, u64 max);
s64 ve_register(struct vm *vm, u64 gpa);
void trap_apply(struct vm *vm, u32 t, u32 v);
s64 trap_add(struct vm *vm, u64 kind, u64 addr, u64 access);
s64 trap_remove(struct vm *vm, u64 t);
s64 trap_hits(struct vm *vm, u64 t);
void step_begin(struct vm *vm, u32 kind, u32 id, u64 gpa, u64 rights);
bool step_done(struct vm *vm);
void violation_decide(struct vm *vm, u64 q, u64 gpa, u64 gla, bool delivering);
bool trap_emulated_access(struct vm *vm, u64 gpa, u64 gla, u64 q);
void violation_handle(struct vm *vm);
bool vmfunc_emulate(struct vm *vm);

/* region.c: emulated regions */
void region_enter(struct vm *vm, u32 id, u64 gpa, u64 gla);
void region_apply(struct vm *vm, u32 id, u32 v);
s64 region_add(struct vm *vm, u64 kind, u64 addr, u64 size);
s64 region_remove(struct vm *vm, u64 id);
s64 region_stats(struct vm *vm, u64 id, u64 gpa);
s64 region_log(struct vm *vm, u64 id, u64 on);
s64 region_log_read(struct vm *vm, u64 id, u64 gpa, u64 max);
void region_free_all(struct vm *vm);

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

/* hypercall.c */
void hypercall_handle(struct vm *vm);

/* gwalk.c: guest page walks (no VMX; host-testable) */
#define GW_WRITE BIT(0)
#define GW_USER BIT(1)     /* the access is made at CPL 3 */
#define GW_FETCH BIT(2)
#define GW_IMPLICIT BIT(3) /* an implicit supervisor access (descriptor tables): SMAP ignores AC */
#define GW_SET_AD BIT(4)   /* set accessed and dirty bits as the CPU would */
struct gwalk_regs {
	u64 cr0, cr3, cr4, efer, rflags;
};
int gwalk(const struct gwalk_regs *r, u64 gva, u32 access, u64 *gpa, u32 *pf_error,
	  u64 *(*table)(void *ctx, u64 gpa), void *ctx);

/* vmx_entry.S */
int vmx_enter(u64 *regs, int launched);
#endif
