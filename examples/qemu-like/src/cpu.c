/* the @ARCH@ CPU model */
int cpu_init(void) { return 0; }
