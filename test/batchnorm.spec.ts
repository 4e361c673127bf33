// Specs for the batchnorm kernels (see docs/WRITING_KERNELS.md).
