/* main loop of the @ARCH@ emulator */
int main(void) { return 0; }
