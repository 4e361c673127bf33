// Specs for the shape kernels (see docs/WRITING_KERNELS.md).
