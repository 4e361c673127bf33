// Specs for the kernels computed on the CPU from GPU values.
