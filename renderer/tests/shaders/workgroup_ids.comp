#version 450
// Records, per invocation, the ids a dispatch hands out; the slot is computed from the ids
// relative to a base given in push constants, so base + counts can be checked together.
layout(local_size_x = 2, local_size_y = 2, local_size_z = 1) in;
layout(push_constant) uniform Params { uvec3 base; uint pad; uvec3 total; } pc;
layout(std430, set = 0, binding = 0) buffer Out { uint slots[]; };
layout(std430, set = 0, binding = 1) buffer Count { uint invocations; };
void main() {
    uvec3 wg = gl_WorkGroupID - pc.base;
    uvec3 n = gl_NumWorkGroups;
    uint linear_wg = wg.x + n.x * (wg.y + n.y * wg.z);
    uint slot = linear_wg * 4 + gl_LocalInvocationIndex;
    uvec3 expect_global = gl_WorkGroupID * gl_WorkGroupSize + gl_LocalInvocationID;
    bool ok = gl_GlobalInvocationID == expect_global && all(lessThan(wg, n)) && n == pc.total;
    atomicAdd(slots[slot * 2 + 0], 1u);
    slots[slot * 2 + 1] = ok ? gl_WorkGroupID.x + 1000u * gl_WorkGroupID.y + 1000000u * gl_WorkGroupID.z : 0xFFFFFFFFu;
    atomicAdd(invocations, 1u);
}
