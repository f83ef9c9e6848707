/* placeholder; replaced by the daemon entry point */
int main(void) { return 0; }
