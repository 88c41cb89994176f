/* unit_hand.c - placeholder */
#include "unit.h"
void run_handwritten(void) {}
