// Specs for the conv kernels (see docs/WRITING_KERNELS.md).
