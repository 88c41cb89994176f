/* bytecode.c: target "bytecode": a small stack machine. Ops: 'p' push the next byte, 'a' add,
 * 's' sub, 'd' dup, 'j' jump by the top of the stack (the planted bug: not checked against the
 * program's size, so a large jump reads far outside it: #PF), 'h' halt. */
#include "fuzz.h"

int fuzz_target_bytecode(const u8 *data, u64 size)
{
	u64 stack[16], sp = 0, pc = 0;
	for (int steps = 0; steps < 256 && pc < size; steps++) {
		u8 op = data[pc++];
		if (op == 'p' && sp < 16 && pc < size)
			stack[sp++] = data[pc++];
		else if (op == 'a' && sp >= 2)
			sp--, stack[sp - 1] += stack[sp];
		else if (op == 's' && sp >= 2)
			sp--, stack[sp - 1] -= stack[sp];
		else if (op == 'd' && sp >= 1 && sp < 16)
			stack[sp] = stack[sp - 1], sp++;
		else if (op == 'j' && sp >= 1)
			pc += stack[--sp] << 20, pc = data[pc] ? pc : pc + 1; /* the bug: no bound */
		else if (op == 'h')
			break;
	}
	return sp ? (int)stack[sp - 1] : 0;
}
