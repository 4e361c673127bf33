// Specs for segment, scatter, cumulative and space/batch kernels.
