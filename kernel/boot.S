/* boot.S: multiboot2 header and the 32-bit -> 64-bit switch.
 * GRUB enters in 32-bit protected mode, paging off (EAX = multiboot2 magic, EBX = info).
 * We set up COM1, check that the CPU has what this file uses (else a KTAP SKIP document and
 * the exit ports), identity-map the first 4 GiB with 2 MiB pages, enable PAE + long mode (+ NX
 * where the CPU has it) and jump to kmain(magic, info). No SMP, no higher half: the kernel
 * runs where it is loaded; kernel/paging.c then replaces these provisional page tables. */
#define MB2_MAGIC       0xE85250D6
#define MB2_ARCH_I386   0
#define CR0_PE          (1 << 0)
#define CR0_NE          (1 << 5)   /* native FPU errors; VMX requires it (CR0 fixed bits) */
#define CR0_PG          (1 << 31)
#define CR4_PAE         (1 << 5)
#define EFER_MSR        0xC0000080
#define EFER_LME        (1 << 8)
#define EFER_NXE        (1 << 11)
#define PTE_P           1
#define PTE_W           2
#define PTE_PS          0x80
#define EFLAGS_ID       (1 << 21)
#define CPUID_PAE       (1 << 6)        /* CPUID.01H:EDX bit 6 */
#define CPUID_MSR       (1 << 5)        /* CPUID.01H:EDX bit 5 */
#define CPUID_NX        (1 << 20)       /* CPUID.80000001H:EDX bit 20 */
#define CPUID_LM        (1 << 29)       /* CPUID.80000001H:EDX bit 29 */
#define COM1            0x3f8
#define EXIT_SKIP       0x12            /* kernel/defs.h */

	.section .multiboot2, "a"
	.balign 8
mb2_header:
	.long MB2_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - mb2_header
	.long -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	.balign 8                       /* end tag: type 0, size 8 */
	.word 0, 0
	.long 8
mb2_header_end:

	.section .bss
	.balign 4096
	.globl boot_pml4
boot_pml4:	.skip 4096
boot_pdpt:	.skip 4096
boot_pd:	.skip 4096 * 4          /* 4 page directories x 1 GiB */
	.balign 16
	.globl boot_stack_top
boot_stack:	.skip 65536              /* 64 KiB: tests keep a struct vm (~10 KiB) on it */
boot_stack_top:

	.section .rodata
	.balign 8
gdt64:
	.quad 0                         /* null */
	.quad 0x00af9a000000ffff        /* 0x08: 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff        /* 0x10: data, DPL 0 */
gdt64_end:
gdt64_ptr:
	.word gdt64_end - gdt64 - 1
	.long gdt64

com1_init_table:                        /* (port, value) pairs, 0 ends */
	.word COM1 + 1, 0x00, COM1 + 3, 0x80, COM1 + 0, 0x01, COM1 + 1, 0x00
	.word COM1 + 3, 0x03, COM1 + 2, 0xc7, COM1 + 4, 0x03, 0, 0
ktap_head:	.asciz "KTAP version 1\n# hvlab: "
ktap_plan:	.asciz "\n1..0 # SKIP "
ktap_tail:	.asciz "\n# result: SKIP\n"
shutdown_str:	.asciz "Shutdown"
why_no_cpuid:
	.asciz "this CPU has no CPUID instruction (EFLAGS.ID [bit 21] cannot be changed); hvlab needs x86-64"
	.asciz "this CPU has no CPUID"
why_no_ext_leaf:
	.asciz "this CPU has no long mode (CPUID.80000000H:EAX < 80000001H: no extended feature leaf); hvlab needs x86-64"
	.asciz "this CPU has no long mode"
why_no_lm:
	.asciz "this CPU has no long mode (CPUID.80000001H:EDX.LM [bit 29] = 0); hvlab needs x86-64"
	.asciz "this CPU has no long mode"
why_no_pae:
	.asciz "this CPU has no PAE (CPUID.01H:EDX.PAE [bit 6] = 0); long mode needs it"
	.asciz "this CPU has no PAE"
why_no_msr:
	.asciz "this CPU has no RDMSR/WRMSR (CPUID.01H:EDX.MSR [bit 5] = 0); entering long mode needs them"
	.asciz "this CPU has no MSRs"

	.section .data
	.balign 4
	.globl boot_efer_nxe
boot_efer_nxe:	.long 0                 /* EFER_NXE when the CPU has NX (cpu_check32), else 0 */

	.section .text.boot, "ax"
	.code32
	.globl _start
_start:
	cli
	mov $boot_stack_top, %esp
	mov %eax, %edi                  /* keep magic: becomes kmain's 1st argument */
	mov %ebx, %esi                  /* keep info pointer: 2nd argument */
	call com1_init32                /* first: every later failure must be able to say why */
	call cpu_check32                /* returns only when this CPU can run hvlab */

	/* PML4[0] -> PDPT; PDPT[0..3] -> PD0..3; each PD maps 512 x 2 MiB. Provisional: kmain
	 * replaces these tables with hardened ones (kernel/paging.c). */
	mov $boot_pdpt, %eax
	or $(PTE_P | PTE_W), %eax
	mov %eax, boot_pml4
	xor %ecx, %ecx
1:	mov %ecx, %eax
	shl $12, %eax
	add $boot_pd, %eax
	or $(PTE_P | PTE_W), %eax
	mov %eax, boot_pdpt(, %ecx, 8)
	inc %ecx
	cmp $4, %ecx
	jne 1b
	xor %ecx, %ecx                  /* ecx = 2 MiB page index, 0..2047 */
2:	mov %ecx, %eax
	shl $21, %eax
	or $(PTE_P | PTE_W | PTE_PS), %eax
	mov %eax, boot_pd(, %ecx, 8)
	mov %ecx, %eax                  /* high half of the PDE: bits 32+ of the address */
	shr $11, %eax
	mov %eax, boot_pd + 4(, %ecx, 8)
	inc %ecx
	cmp $2048, %ecx
	jne 2b

	mov %cr4, %eax
	or $CR4_PAE, %eax
	mov %eax, %cr4
	mov $boot_pml4, %eax
	mov %eax, %cr3
	mov $EFER_MSR, %ecx
	rdmsr
	or $EFER_LME, %eax
	or boot_efer_nxe, %eax          /* NXE only where the CPU has NX: else WRMSR raises #GP */
	wrmsr
	mov %cr0, %eax
	or $(CR0_PE | CR0_NE | CR0_PG), %eax
	mov %eax, %cr0
	lgdt gdt64_ptr
	ljmp $0x08, $long_mode

/* The CPU features this file uses, each checked before its first use (SDM "Initializing
 * IA-32e Mode"; CPUID in "Identification of Earlier IA-32 Processors"): CPUID, long mode,
 * PAE, RDMSR/WRMSR; NX is optional (boot_efer_nxe). Clobbers eax, ebx, ecx, edx. */
cpu_check32:
	pushfl                          /* CPUID exists iff EFLAGS.ID (bit 21) can be toggled */
	pop %eax
	mov %eax, %ecx
	xor $EFLAGS_ID, %eax
	push %eax
	popfl
	pushfl
	pop %eax
	push %ecx                       /* put EFLAGS back */
	popfl
	xor %ecx, %eax
	mov $why_no_cpuid, %ebx
	test $EFLAGS_ID, %eax
	jz cpu_unsupported32
	mov $0x80000000, %eax           /* highest extended leaf */
	cpuid
	mov $why_no_ext_leaf, %ebx
	cmp $0x80000001, %eax
	jb cpu_unsupported32
	mov $0x80000001, %eax
	cpuid
	mov $why_no_lm, %ebx
	test $CPUID_LM, %edx
	jz cpu_unsupported32
	test $CPUID_NX, %edx
	jz 1f
	movl $EFER_NXE, boot_efer_nxe
1:	mov $1, %eax                    /* leaf 1 exists on every CPU with long mode */
	cpuid
	mov $why_no_pae, %ebx
	test $CPUID_PAE, %edx
	jz cpu_unsupported32
	mov $why_no_msr, %ebx
	test $CPUID_MSR, %edx
	jz cpu_unsupported32
	ret

/* COM1 at 115200 8N1, polled: the same settings as console_init (kernel/console.c). */
com1_init32:
	mov $com1_init_table, %ebx
1:	movzwl (%ebx), %edx             /* port */
	test %edx, %edx
	jz 2f
	movb 2(%ebx), %al               /* value */
	out %al, %dx
	add $4, %ebx
	jmp 1b
2:	ret

/* Print the NUL-terminated string at ebx on COM1 (and port 0xE9), "\n" as "\r\n" as
 * console_putc does; returns ebx past the NUL. Clobbers eax, ecx, edx. */
puts32:
	movb (%ebx), %al
	inc %ebx
	test %al, %al
	jz 3f
	cmp $10, %al                    /* '\n' */
	jne 1f
	mov $13, %al
	call putc32
	mov $10, %al
1:	call putc32
	jmp puts32
3:	ret

putc32:                                 /* al: the byte; waits (bounded) for the transmitter */
	mov %al, %ah
	mov $100000, %ecx
	mov $(COM1 + 5), %dx            /* line status: bit 5, transmit holding register empty */
1:	in %dx, %al
	test $0x20, %al
	jnz 2f
	loop 1b
2:	mov %ah, %al
	mov $COM1, %dx
	out %al, %dx
	cmp $13, %al                    /* '\r' goes to COM1 only */
	je 3f
	mov $0xe9, %dx
	out %al, %dx
3:	ret

/* ebx = "long reason\0short reason\0". A complete KTAP document that says why, then the exit
 * ports with SKIP, as machine_exit (kernel/power.c) does: a CPU hvlab cannot run on is not a
 * failure of hvlab. */
cpu_unsupported32:
	mov %ebx, %edi                  /* the reasons: puts32 leaves edi alone */
	mov $ktap_head, %ebx
	call puts32
	mov %edi, %ebx
	call puts32                     /* long reason; ebx now points at the short one */
	mov %ebx, %edi
	mov $ktap_plan, %ebx
	call puts32
	mov %edi, %ebx
	call puts32
	mov $ktap_tail, %ebx
	call puts32
	mov $100000, %ecx               /* let COM1 drain: line status bit 6, transmitter empty */
	mov $(COM1 + 5), %dx
1:	in %dx, %al
	test $0x40, %al
	jnz 2f
	loop 1b
2:	mov $0xf4, %dx                  /* isa-debug-exit (QEMU): exits with (0x12 << 1) | 1 */
	mov $EXIT_SKIP, %eax
	out %eax, %dx
	mov $shutdown_str, %ebx         /* Bochs: "Shutdown" on port 0x8900 */
	mov $0x8900, %dx
3:	movb (%ebx), %al
	test %al, %al
	jz 4f
	out %al, %dx
	inc %ebx
	jmp 3b
4:	mov $0x2000, %ax                /* ACPI soft-off: PIIX4 PM block, Bochs then QEMU */
	mov $0xb004, %dx
	out %ax, %dx
	mov $0x604, %dx
	out %ax, %dx
5:	cli
	hlt
	jmp 5b

	.code64
long_mode:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	xor %ax, %ax
	mov %ax, %fs
	mov %ax, %gs
	mov $boot_stack_top, %rsp
	xor %ebp, %ebp
	call kmain                      /* edi = magic, esi = info (zero-extended by the 32-bit moves) */
4:	cli
	hlt
	jmp 4b
