// The dma-buf layer reaching into its sibling, the memory layer: refused too.
#include "mm/cma.h"
