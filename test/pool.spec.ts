// Specs for the pool kernels (see docs/WRITING_KERNELS.md).
