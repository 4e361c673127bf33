// Specs of the backend itself: laziness, flushes, memory, errors, reads.
