/* rgn_cwork.c: compiled C as an emulated region. The C workloads of the interpreter's benchmark
 * (tests/emu/bench_c.c: hashing, quicksort, a hash table, a bytecode VM, LZ77, a tokenizer, big
 * integers, table CRC, N-queens), built as compilers build code by default: plain -O2 with SSE
 * (guest.mk), in their own page-aligned part of .text (guest.ld: __cwork_start.. __cwork_end)
 * so that a region covers exactly them. scen_cwork.c runs them natively and emulated. */
#define V guest
#include "../tests/emu/bench_c.c"
