// Specs for the image and local-normalization kernels.
