#version 450
// One pass of a u32 sum (wrapping): each workgroup sums a grid-strided share of values[0..n]
// (consecutive invocations read consecutive elements on every step), then reduces its 256
// partial sums as a tree in shared memory and writes sums[workgroup]. Run twice: once over the
// input with many workgroups, once with one workgroup over the first pass's sums.
#define WG 256
layout(local_size_x = WG) in;
layout(push_constant) uniform Params { uint n; } pc;
layout(std430, set = 0, binding = 0) readonly buffer In { uint values[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Out { uint sums[]; };
shared uint partial[WG];
void main() {
    uint lid = gl_LocalInvocationID.x;
    uint stride = gl_NumWorkGroups.x * WG;
    uint acc = 0u;
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += stride) {
        acc += values[i];
    }
    partial[lid] = acc;
    barrier();
    for (uint s = WG / 2; s > 0; s >>= 1) {
        if (lid < s) {
            partial[lid] += partial[lid + s];
        }
        barrier();
    }
    if (lid == 0) {
        sums[gl_WorkGroupID.x] = partial[0];
    }
}
