#include <check.h>
int main(void);
int main(void) { return 77; }
