#include <stdio.h>
int main(void) { puts("psfwi"); return 0; }
