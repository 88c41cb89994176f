/* irq_entry.S: the hypervisor's entry stubs for vectors 32-255 (interrupts: IPIs, the LAPIC
 * timer), saving the GPRs as struct trap_frame and calling irq_dispatch (kernel/smp.c); and
 * the AP trampoline: the real-mode code a started AP runs at SMP_TRAMPOLINE (below 1 MiB, the
 * SIPI vector is its page number), up to long mode on boot.S's identity page tables, then
 * ap_entry64 on the stack smp.c left in ap_boot_stack (SDM "MP Initialization Protocol",
 * "Initializing IA-32e Mode"). */
	.text
	.altmacro
	.macro IRQSTUB n
irq\n:
	pushq $0
	pushq $\n
	jmp irq_common
	.endm
	.macro IRQREF n
	.quad irq\n
	.endm

	.set i, 32
	.rept 224
	IRQSTUB %i
	.set i, i + 1
	.endr

irq_common:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rdi
	mov %rsp, %rbx
	and $-16, %rsp
	call irq_dispatch
	mov %rbx, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	add $16, %rsp
	iretq

	.section .rodata
	.balign 8
	.globl irq_vectors
irq_vectors:
	.set i, 32
	.rept 224
	IRQREF %i
	.set i, i + 1
	.endr

/* The trampoline, copied to SMP_TRAMPOLINE (0x8000) by smp.c: position-dependent on that
 * address, so every absolute address below is TR(label). */
#define SMP_TRAMPOLINE 0x8000
#define TR(x) (SMP_TRAMPOLINE + (x) - ap_tramp_start)
	.globl ap_tramp_start, ap_tramp_end
	.code16
ap_tramp_start:
	cli
	xor %ax, %ax
	mov %ax, %ds
	lgdtl TR(ap_gdt_ptr)
	mov %cr0, %eax
	or $1, %eax                      /* PE */
	mov %eax, %cr0
	ljmpl $0x08, $TR(ap_pm32)
	.code32
ap_pm32:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %cr4, %eax
	or $0x20, %eax                   /* PAE */
	mov %eax, %cr4
	mov $boot_pml4, %eax             /* boot.S's identity map: no NX bits on this page */
	mov %eax, %cr3
	mov $0xc0000080, %ecx            /* EFER: LME, and NXE where the BSP has it */
	rdmsr
	or $0x100, %eax
	or boot_efer_nxe, %eax
	wrmsr
	mov %cr0, %eax
	and $0x9fffffff, %eax            /* CD, NW off (they are set at INIT) */
	or $0x80000021, %eax             /* PG, NE, PE */
	mov %eax, %cr0
	ljmp $0x18, $TR(ap_lm64)
	.code64
ap_lm64:
	movabs $ap_entry64, %rax
	jmp *%rax
	.balign 8
ap_gdt:
	.quad 0
	.quad 0x00cf9a000000ffff         /* 0x08: 32-bit code */
	.quad 0x00cf92000000ffff         /* 0x10: data */
	.quad 0x00af9a000000ffff         /* 0x18: 64-bit code */
ap_gdt_ptr:
	.word ap_gdt_ptr - ap_gdt - 1
	.long TR(ap_gdt)
ap_tramp_end:

	.text
/* Kernel text from here: the kernel's page tables, the AP's stack, then C. */
	.globl ap_entry64
ap_entry64:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov ap_boot_cr3(%rip), %rax
	mov %rax, %cr3
	mov ap_boot_stack(%rip), %rsp
	xor %ebp, %ebp
	call ap_main
1:	cli
	hlt
	jmp 1b
