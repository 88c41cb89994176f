/* entry.S: the guest's entry point, its stacks, the exception vectors (kernel/vectors.inc) and
 * the ring-3 round trip (IRETQ down, INT 0x80 back up). Everything else is C; nothing here
 * touches I/O ports or makes hypercalls. */
#define GUEST_KCS 0x08
#define GUEST_KDS 0x10
#define GUEST_UDS (0x18 | 3)
#define GUEST_UCS (0x20 | 3)

/* Entered per the boot contract in vmm/hypercall.h: 64-bit, CPL 0, RDI = boot info GPA, on
 * the hypervisor's boot stack below 1 MiB, which we leave at once. */
	.section .text.entry, "ax"
	.globl _start
_start:
	mov %rdi, %r12                  /* keep the boot info GPA (callee-saved register) */
	lea __bss_start(%rip), %rdi     /* zero .bss: our stacks and page tables live there */
	lea _end(%rip), %rcx
	sub %rdi, %rcx
	xor %eax, %eax
	cld
	rep stosb
	lea guest_stack_top(%rip), %rsp /* our own stack */
	xor %ebp, %ebp                  /* end of the frame-pointer chain */
	mov %r12, %rdi
	call guest_main                 /* does not return */
1:	hlt
	jmp 1b

/* The exception vectors and catch_setjmp/catch_longjmp (shared with the hypervisor): the
 * vectors call guest_trap(struct trap_frame *). */
#define EXC_HANDLER guest_trap
#define EXC_TABLE guest_vectors
#define EXC_KDS GUEST_KDS
#include "../kernel/vectors.inc"

/* u64 guest_user_call(fn, arg, stack_top): run fn(arg) at CPL 3 and return its result. IRETQ
 * to a lower privilege level pops SS:RSP too (SDM "IRET/IRETD/IRETQ"); the way back is
 * INT 0x80 through a DPL 3 gate, which switches to TSS.RSP0 (SDM "Stack Switching in IA-32e
 * Mode"). Not reentrant. */
	.globl guest_user_call
guest_user_call:
	push %rbx                       /* callee-saved registers, restored by the way back */
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, user_saved_rsp(%rip)
	mov %rdi, %rax                  /* the trampoline wants fn in RSI, arg in RDI */
	mov %rsi, %rdi
	mov %rax, %rsi
	pushq $GUEST_UDS                /* SS */
	pushq %rdx                      /* RSP: the user stack */
	pushq $0x2                      /* RFLAGS: IF=0, IOPL=0 (ring 3 may not do port I/O) */
	pushq $GUEST_UCS                /* CS: 64-bit user code, RPL 3 */
	lea user_trampoline(%rip), %rax
	push %rax                       /* RIP */
	iretq

/* Vector 0x80, DPL 3: the end of a guest_user_call (RAX = fn's result). */
	.globl guest_user_vector
guest_user_vector:
	testb $3, 8(%rsp)               /* CS of the interrupted code: its RPL is its CPL */
	jz 1f
	mov user_saved_rsp(%rip), %rsp  /* drop the interrupt frame: back on the caller's stack */
	mov $GUEST_KDS, %ecx            /* IRETQ to CPL 3 nulled DS/ES (DPL 0 data) */
	mov %ecx, %ds
	mov %ecx, %es
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret                             /* guest_user_call returns RAX */
1:	pushq $0                        /* INT 0x80 at CPL 0 is a bug: report it as a trap */
	pushq $0x80
	jmp exc_common

/* Runs at CPL 3: call fn(arg), then go back up with its result in RAX. */
	.section .utext, "ax"
user_trampoline:
	call *%rsi
	int $0x80
	ud2                             /* not reached */

	.section .bss.user, "aw", @nobits
	.balign 16
guest_user_stack:
	.skip 8192
	.globl guest_user_stack_top
guest_user_stack_top:

	.bss
	.balign 4096
	.skip 16384
	.globl guest_stack_top
guest_stack_top:                        /* the guest's CPL 0 stack */
	.skip 8192
	.globl guest_rsp0_top
guest_rsp0_top:                         /* TSS.RSP0: CPL 3 -> 0 transitions */
	.skip 4096
	.globl guest_df_top
guest_df_top:                           /* TSS.IST1: #DF, survives a blown stack */
	.balign 8
user_saved_rsp:
	.quad 0

	.section .note.GNU-stack, "", @progbits
