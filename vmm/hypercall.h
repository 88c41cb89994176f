/* hypercall.h: the guest <-> hypervisor ABI, shared by vmm/, guest/ and tests/.
 * Documented in docs/hypercalls.md. Changing a number or layout here changes the ABI.
 *
 * Hypercall: VMCALL with the number in RAX and arguments in RDI, RSI, RDX, R10, R8 (the Linux
 * syscall order, R10 for the 4th); the result comes back in RAX: >= 0 success, < 0 -errno.
 * Every other register, RFLAGS included, is preserved across the call.
 * Only calls marked "user" may be made at CPL 3; every other call from CPL > 0 gets -EPERM.
 *
 * Guest boot contract: the hypervisor loads the guest ELF's PT_LOAD segments at their physical
 * addresses (p_paddr) inside guest RAM [0, ram_size) and enters it in 64-bit mode at CPL 0:
 * RIP = e_entry, RDI = HV_BOOT_INFO_GPA, RSP = HV_BOOT_STACK_TOP, RFLAGS = 0x2 (interrupts
 * off), CR0 = PE|NE|WP|PG (+ET), CR4 = PAE (+ fixed bits), EFER = LME|LMA|NXE, CR3 = page tables
 * at HV_BOOT_PML4_GPA identity-mapping the first 1 GiB of guest-physical space with 2 MiB pages
 * (read/write, supervisor), GDT at HV_BOOT_GDT_GPA: 0x08 64-bit code, 0x10 data. No IDT
 * (the guest must install its own before it can take an exception). The guest may overwrite
 * everything below HV_BOOT_RESERVED_END once it has its own GDT, IDT and page tables.
 * hvlab's guest (guest/guest.ld) links its image at HV_GUEST_IMAGE_GPA: above the reserved
 * area and clear of the hypervisor's own image (1 MiB up), whose addresses a debugger would
 * otherwise confuse with the guest's; its scenarios' fixed pages start at 4 MiB.
 */
#ifndef HVLAB_HYPERCALL_H
#define HVLAB_HYPERCALL_H

#define HV_ABI_VERSION 0x00010000 /* major << 16 | minor */
#define HV_CPUID_SIGNATURE "hvlabhvlabhv" /* CPUID 0x40000000 EBX, ECX, EDX */
#define HV_CPUID_MAX_LEAF 0x40000001
/* CPUID 0x40000001: EAX = HV_ABI_VERSION. */

/* Guest-physical layout at entry. */
#define HV_BOOT_GDT_GPA 0x1000
#define HV_BOOT_PML4_GPA 0x2000 /* PML4, PDPT at +0x1000, PD at +0x2000 */
#define HV_BOOT_INFO_GPA 0x5000
#define HV_BOOT_STACK_TOP 0x80000
#define HV_BOOT_RESERVED_END 0x100000 /* the guest ELF loads at or above 1 MiB */
#define HV_GUEST_IMAGE_GPA 0x200000   /* where guest/guest.ld links hvlab's guest: 2 MiB */

#define HV_SCENARIO_MAX 64
struct hv_boot_info {
	unsigned long long magic;     /* HV_BOOT_MAGIC */
	unsigned long long ram_size;  /* bytes of guest RAM from GPA 0 */
	unsigned long long arg;       /* a scenario argument (e.g. a seed or a count) */
	char scenario[HV_SCENARIO_MAX]; /* NUL-terminated scenario name */
	unsigned long long out[32];   /* results the guest leaves for the hypervisor's test */
};
#define HV_BOOT_MAGIC 0x6876626f6f74ULL /* "hvboot" */

/* Hypercall numbers. */
#define HC_VERSION 0      /* user. () -> HV_ABI_VERSION */
#define HC_EXIT 1         /* (status) ends this guest run; status 0 = success. Does not return. */
#define HC_GET_STATS 2    /* (gpa, size): copy struct hv_exit_stats to guest memory -> bytes copied */
#define HC_VMXOFF 3       /* (HC_VMXOFF_MAGIC): leave VMX and return to the hypervisor. No return. */
#define HC_CHECK 4        /* user. (ok, line, gpa of text, len): one test check made by the guest */
#define HC_CHECK_TEXT_MAX 200 /* HC_CHECK's len: 1..200 bytes */
/* EPT views (docs/views.md). A view is an EPT hierarchy over the same guest RAM with its own
 * permissions; view 0 is the default view (all RWX at boot); it can be changed but not destroyed.
 * Traps and regions sit on frames and apply through every view (docs/views.md, "One policy per
 * page"); a view's rights on a monitored page can still be changed. */
#define HC_VIEW_CREATE 5      /* () -> new view index: same mapping as view 0, RWX, #VE suppressed */
#define HC_VIEW_DESTROY 6     /* (view) -> 0; -EBUSY while the vCPU uses it; -EINVAL for view 0 */
#define HC_VIEW_SET_ACCESS 7  /* (view, gpa, size, access) -> 0; page-aligned range in RAM */
#define HC_VIEW_GET_ACCESS 8  /* (view, gpa) -> access bits of the page holding gpa */
#define HC_VIEW_REMAP 9       /* (view, gpa, target_gpa) -> 0: in view, page gpa shows target's frame */
#define HC_VIEW_SET_VE 10     /* (view, gpa, size, on) -> 0: on=1 clears suppress-#VE (violations -> #VE) */
#define HC_VIEW_SWITCH 11     /* (view) -> previous view index: switch this vCPU's view (no VMFUNC) */
#define HC_VE_REGISTER 12     /* (gpa) -> 0: this vCPU's #VE information page (page-aligned, in RAM) */
#define HC_VIEW_SET_POLICY 13 /* (view, policy, arg) -> 0: what a non-#VE EPT violation in view does */
#define HC_VIOLATIONS_READ 14 /* (gpa, max) -> n: copy up to max struct hv_violation, oldest first */
#define HC_TRAP_ADD 15        /* (kind, addr, access) -> trap id: count accesses to one page */
#define HC_TRAP_REMOVE 16     /* (id) -> 0 */
#define HC_TRAP_HITS 17       /* (id) -> hits so far */
/* Emulated regions (docs/regions.md): guest code in a region runs in hvlab's interpreter
 * (emulator/) instead of on the CPU, until control leaves the region. */
#define HC_REGION_ADD 18      /* (kind, addr, size) -> region id; kind HV_TRAP_GPA or HV_TRAP_GVA */
#define HC_REGION_REMOVE 19   /* (id) -> 0; -EBUSY while the vCPU is executing inside it */
#define HC_REGION_STATS 20    /* (id, gpa) -> copies struct hv_region_stats */
#define HC_REGION_LOG 21      /* (id, on) -> 0: start (clearing it) or stop the region's access log */
#define HC_REGION_LOG_READ 22 /* (id, gpa, max) -> n: copy up to max struct hv_access, oldest first */
#define HC_NR 23
/* Snapshot fuzzing (docs/fuzzing.md): only in a VM the fuzzer runs; -ENOSYS elsewhere. Outside
 * HC_NR on purpose (hypercall_fuzz's unknown numbers stay unknown). */
#define HC_FUZZ_SNAPSHOT 50   /* (buf, max) -> input size: the snapshot; each iteration resumes here */
#define HC_FUZZ_END 51        /* (status) ends an iteration: status 0 = no crash. No return. */
#define HC_FUZZ_PANIC 52      /* (code): the target's own assertion failed: a crash. No return. */
#define HV_FUZZ_INPUT_MAX 0x10000 /* the largest input buffer (bytes) */
#define HC_VMXOFF_MAGIC 0x766d786f6666ULL /* "vmxoff" */

#define HV_VIEW_MAX 16        /* views per VM (the EPTP list has room for 512) */
#define HV_ACCESS_R 1         /* access bits: as EPT's R/W/X (bits 0-2) */
#define HV_ACCESS_W 2
#define HV_ACCESS_X 4
/* Policies for EPT violations that are neither #VE nor a trap: */
#define HV_POLICY_STOP 0      /* report and stop the guest (the default) */
#define HV_POLICY_RESTORE 1   /* record it, give the page RWX in this view, retry the access */
#define HV_POLICY_SWITCH 2    /* record it, switch the vCPU to view `arg`, retry the access */
#define HV_TRAP_GPA 0         /* HC_TRAP_ADD kinds: addr is guest-physical ... */
#define HV_TRAP_GVA 1         /* ... or guest-virtual, translated with the guest's CR3 at the call */

#define HV_REGION_MAX 8
#define HV_REGION_LOG 256     /* accesses kept per region (the oldest are overwritten) */
struct hv_region_stats {
	unsigned long long entries;      /* times execution entered the region (fetch violations) */
	unsigned long long instructions; /* instructions the interpreter executed in it */
	unsigned long long exits;        /* VM exits while executing in the region */
	unsigned long long faults;       /* exceptions injected for faults raised in emulation */
	unsigned long long stepped;      /* instructions run in hardware by single-step (policy) */
	unsigned long long unsupported;  /* of which the interpreter does not implement */
};
struct hv_access {               /* one memory access made by emulated code */
	unsigned long long gva, gpa, value;
	unsigned int size;       /* bytes (1..8; string instructions log each element) */
	unsigned int kind;       /* HV_ACCESS_R, HV_ACCESS_W or HV_ACCESS_X */
};

/* One recorded EPT violation (HC_VIOLATIONS_READ); the ring keeps the last HV_VIOLATION_RING. */
#define HV_VIOLATION_RING 64
struct hv_violation {
	unsigned long long gpa, gla, qualification;
	unsigned int view, action; /* action: HV_POLICY_* taken, or 3 = #VE, 4 = trap */
};

/* The #VE information area (SDM "Virtualization Exceptions"), first 40 bytes of the page. */
struct hv_ve_info {
	unsigned int exit_reason;   /* 48 (EPT violation) */
	unsigned int semaphore;     /* set to 0xffffffff on delivery; the handler clears it */
	unsigned long long qualification, gla, gpa;
	unsigned short eptp_index;  /* the view the violation happened in */
};

/* SMP (docs/smp.md): a VM has vCPU 0 (the boot vCPU) and up to one vCPU per further CPU of the
 * machine, vCPU i running on CPU i. vCPU 0 starts the others; a started vCPU begins with the
 * starter's control registers, segments, descriptor tables and EFER, in view 0, with RIP =
 * entry, RSP = stack, RDI = arg, RFLAGS = 2, the other GPRs 0. HC_EXIT on vCPU i > 0 ends that
 * vCPU only; HC_EXIT on vCPU 0 ends the VM (the others are stopped). */
#define HC_VCPU_START 40      /* (id, entry, stack, arg) -> 0; -EINVAL: no such vCPU (id 0 or >= count),
			       * -EBUSY: already started, -EFAULT: entry not mapped executable in RAM */
#define HC_VCPU_STATUS 41     /* (id) -> HV_VCPU_* | stop reason << 8 (enum vm_stop) */
#define HC_VCPU_INFO 42       /* () -> this vCPU's id | vCPU count << 16 */
#define HC_TIMER_ARM 43       /* (vector 32-255, microseconds 1..10^7 or 0 = off, periodic 0/1) -> 0:
			       * this vCPU's timer; the interrupt is taken when RFLAGS.IF allows */
#define HC_VCPU_IPI 44        /* (id, vector 32-255) -> 0: interrupt vCPU id (wakes its HLT) */
#define HV_VCPU_NONE 0        /* never started */
#define HV_VCPU_RUNNING 1
#define HV_VCPU_STOPPED 2

/* Errors (negated in RAX), with Linux's numbers. */
#define HV_EPERM 1
#define HV_EFAULT 14
#define HV_EBUSY 16
#define HV_EINVAL 22
#define HV_ENOSPC 28
#define HV_ENOSYS 38
#define HV_ETIMEDOUT 110

/* Exit reasons counted per guest run (index = basic exit reason, SDM appendix "VMX Basic Exit
 * Reasons"), as copied by HC_GET_STATS. */
#define HV_STATS_REASONS 80
struct hv_exit_stats {
	unsigned long long total;
	unsigned long long by_reason[HV_STATS_REASONS];
	unsigned long long io_other_reads, io_other_writes; /* I/O to ports other than COM1 */
	unsigned long long hypercalls, hypercall_errors;
	unsigned long long soft_vmfunc, soft_ve; /* VMFUNCs emulated on #UD, #VEs injected */
};
#endif
