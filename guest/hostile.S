/* hostile.S: code for the hostile-guest scenarios (scen_hostile.c), each piece on its own
 * 4 KiB page so that a region or a trap covers exactly it, and the native stubs that call
 * them with RFLAGS.TF set. Written in assembly so that instruction boundaries are exact. */

	.section .text.hostile, "ax"
	.balign 4096
/* An INT n in region code, then three more instructions: returns 8 in EAX. */
	.globl hostile_int
hostile_int:
	int $0x16
	mov $7, %eax
	add $1, %eax
	ret

	.balign 4096
/* SGDT, which the interpreter leaves to the CPU, storing to (%rdi). */
	.globl hostile_sgdt
hostile_sgdt:
	sgdt (%rdi)
	ret

	.balign 4096
/* ICEBP (INT1): a #DB of its own, a trap (RIP after it). */
	.globl hostile_icebp, hostile_icebp_after
hostile_icebp:
	.byte 0xf1
hostile_icebp_after:
	nop
	ret

	.balign 4096
/* Five plain instructions: a debugger single-steps them. */
	.globl hostile_steps
hostile_steps:
	mov $1, %eax
	add $2, %eax
	push %rax
	pop %rcx
	ret

	.balign 4096
/* IRETQ to the next instruction at the same privilege with RFLAGS = %rdi (TF in it makes the
 * instruction after the IRETQ trap), then two more instructions. */
	.globl hostile_iret
hostile_iret:
	mov %ss, %eax
	push %rax                       /* SS */
	lea 8(%rsp), %rax
	push %rax                       /* RSP as it was before the SS push */
	push %rdi                       /* RFLAGS */
	mov %cs, %eax
	push %rax                       /* CS */
	lea 1f(%rip), %rax
	push %rax                       /* RIP */
	iretq
1:	mov $5, %eax
	add $6, %eax
	ret

	.balign 4096
/* An endless loop (the watchdog's): natively or in a region. */
	.globl hostile_spin
hostile_spin:
	jmp hostile_spin

	.balign 4096
/* An endless exit storm: CPUID forever. */
	.globl hostile_storm
hostile_storm:
	xor %eax, %eax
	cpuid
	jmp hostile_storm

	.balign 4096
/* SYSCALL from region code (stepped on the CPU): returns the R11 (saved RFLAGS) the entry saw. */
	.globl hostile_syscall
hostile_syscall:
	xor %eax, %eax                  /* known arithmetic flags in what SYSCALL saves */
	syscall
	ret

	.balign 4096
/* MOV SS from region code: delays debug traps by one instruction. */
	.globl hostile_mov_ss
hostile_mov_ss:
	mov %ss, %eax
	mov %eax, %ss
	ret
	.balign 4096

	.text
/* LSTAR for hostile_syscall: back to the caller at CPL 0 with RFLAGS as SYSCALL saved them,
 * R11 (what SYSCALL saved) in RAX. */
	.globl hostile_syscall_entry
hostile_syscall_entry:
	mov %r11, %rax
	push %r11
	popf
	jmp *%rcx

/* void hostile_ud_on_stack(u64 stack_top = rdi): UD2 with RSP at stack_top, so the CPU pushes
 * the #UD frame there (the handler skips the UD2); then the old stack again. */
	.globl hostile_ud_on_stack, hostile_ud_insn
hostile_ud_on_stack:
	mov %rsp, %rax
	mov %rdi, %rsp
	push %rax
hostile_ud_insn:
	ud2
	pop %rsp
	ret

/* u64 hostile_call_tf(u64 (*fn)(u64) = rdi, u64 arg = rsi): fn(arg) with RFLAGS.TF set from the
 * instruction after the CALL's POPF: the first #DB comes after the CALL, at fn's first
 * instruction; the last after the POPF that clears TF. */
	.globl hostile_call_tf
hostile_call_tf:
	push %rbx
	mov %rdi, %rbx
	mov %rsi, %rdi
	pushf
	orq $0x100, (%rsp)
	popf
	call *%rbx
	pushf
	andq $~0x100, (%rsp)
	popf
	pop %rbx
	ret
