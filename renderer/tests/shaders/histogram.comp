#version 450
// Histogram of values % BINS, twice: straight into a storage buffer with atomics, and through a
// shared-memory histogram per workgroup (shared atomics) merged with storage atomics.
#define BINS 64
layout(local_size_x = 128) in;
layout(push_constant) uniform Params { uint n; } pc;
layout(std430, set = 0, binding = 0) readonly buffer In { uint values[]; };
layout(std430, set = 0, binding = 1) buffer Direct { uint direct[BINS]; };
layout(std430, set = 0, binding = 2) buffer Merged { uint merged[BINS]; };
layout(std430, set = 0, binding = 3) buffer Maxima { uint maximum; int minimum; uint exchanged; uint swapped; };
shared uint local_hist[BINS];
void main() {
    uint lid = gl_LocalInvocationIndex;
    if (lid < BINS) {
        local_hist[lid] = 0;
    }
    barrier();
    uint i = gl_GlobalInvocationID.x;
    if (i < pc.n) {
        uint v = values[i];
        atomicAdd(direct[v % BINS], 1u);
        atomicAdd(local_hist[v % BINS], 1u);
        atomicMax(maximum, v);
        atomicMin(minimum, int(v));
        atomicExchange(exchanged, 7u);
        atomicCompSwap(swapped, 0u, i + 1u);
    }
    barrier();
    if (lid < BINS && local_hist[lid] != 0) {
        atomicAdd(merged[lid], local_hist[lid]);
    }
}
