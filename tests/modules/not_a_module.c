/* A shared object without a module descriptor. */
int not_a_module_function(int x) { return x + 1; }
