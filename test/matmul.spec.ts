// Specs for the matmul kernels (see docs/WRITING_KERNELS.md).
