#version 450
// Sum of each workgroup's WG values, tree reduction in shared memory; WG is given with -D.
layout(local_size_x = WG) in;
layout(std430, set = 0, binding = 0) readonly buffer In { uint values[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Out { uint sums[]; };
shared uint partial[WG];
void main() {
    uint lid = gl_LocalInvocationID.x;
    partial[lid] = values[gl_GlobalInvocationID.x];
    barrier();
    for (uint stride = WG / 2; stride > 0; stride >>= 1) {
        if (lid < stride) {
            partial[lid] += partial[lid + stride];
        }
        barrier();
    }
    if (lid == 0) {
        sums[gl_WorkGroupID.x] = partial[0];
    }
}
