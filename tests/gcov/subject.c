/* subject.c: the code whose counters tests/gcov/encode.c writes with hvlab's encoder and libgcov
 * writes with its own (compiled with --coverage on the host): a loop, both arms of a branch,
 * a function called exactly 3 times and one never called. */
int subject_sink;

__attribute__((noipa)) void subject_counted(int x)
{
	if (x & 1)
		subject_sink += x;
	else
		subject_sink -= x;
}

__attribute__((noipa)) void subject_never(void) { subject_sink = 0; }

void subject_run(void)
{
	for (int i = 0; i < 3; i++)
		subject_counted(i);
}
