#version 450
// Subgroup operations in divergent control flow: only the active invocations take part.
// out[i * 12 + k]; inactive slots keep the sentinel written first.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_vote : require
#extension GL_KHR_shader_subgroup_ballot : require
#extension GL_KHR_shader_subgroup_arithmetic : require
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer V { uint vs[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Out { uint res[]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    uint v = vs[i];
    uint o = i * 12;
    for (uint k = 0; k < 12; k++) {
        res[o + k] = 0xEEEEEEEEu;
    }
    if (gl_SubgroupInvocationID % 3u == 0u) {
        res[o + 0] = subgroupElect() ? 1u : 0u;
        res[o + 1] = subgroupBallot(true).x;
        res[o + 2] = subgroupAdd(v);
        res[o + 3] = subgroupInclusiveAdd(v);
        res[o + 4] = subgroupExclusiveAdd(v);
        res[o + 5] = subgroupBroadcastFirst(v);
        res[o + 6] = subgroupAll(v % 4u != 0u) ? 1u : 0u;
        res[o + 7] = subgroupAny(v % 8u == 0u) ? 1u : 0u;
        res[o + 8] = subgroupMax(v);
    } else {
        res[o + 9] = subgroupAdd(v);
        res[o + 10] = subgroupBallot(true).x;
    }
    // Data-dependent divergence.
    if ((v & 1u) == 1u) {
        res[o + 11] = subgroupExclusiveAdd(1u);
    }
}
