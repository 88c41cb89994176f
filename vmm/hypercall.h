/* hypercall.h: the guest <-> hypervisor ABI, shared by vmm/, guest/ and tests/.
 * Documented in docs/hypercalls.md. Changing a number or layout here changes the ABI.
 *
 * Hypercall: VMCALL with the number in RAX and arguments in RDI, RSI, RDX, R10, R8 (the Linux
 * syscall order, R10 for the 4th); the result comes back in RAX: >= 0 success, < 0 -errno.
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
#define HC_NR 5
#define HC_VMXOFF_MAGIC 0x766d786f6666ULL /* "vmxoff" */

/* Errors (negated in RAX), with Linux's numbers. */
#define HV_EPERM 1
#define HV_EFAULT 14
#define HV_EBUSY 16
#define HV_EINVAL 22
#define HV_ENOSYS 38

/* Exit reasons counted per guest run (index = basic exit reason, SDM appendix "VMX Basic Exit
 * Reasons"), as copied by HC_GET_STATS. */
#define HV_STATS_REASONS 80
struct hv_exit_stats {
	unsigned long long total;
	unsigned long long by_reason[HV_STATS_REASONS];
	unsigned long long io_other_reads, io_other_writes; /* I/O to ports other than COM1 */
	unsigned long long hypercalls, hypercall_errors;
};
#endif
