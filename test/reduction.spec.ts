// Specs for the reduction kernels (see docs/WRITING_KERNELS.md).
