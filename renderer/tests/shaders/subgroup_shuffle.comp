#version 450
// Shuffles: by index, xor, up, down; out[i * 8 + k].
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_KHR_shader_subgroup_shuffle_relative : require
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer V { uint vs[]; };
layout(std430, set = 0, binding = 1) readonly buffer G { uint lanes[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Out { uint res[]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    uint v = vs[i];
    uint o = i * 8;
    res[o + 0] = subgroupShuffle(v, lanes[i] % gl_SubgroupSize);
    res[o + 1] = floatBitsToUint(subgroupShuffle(uintBitsToFloat((v & 0x007FFFFFu) | 0x3F800000u), gl_SubgroupSize - 1u - gl_SubgroupInvocationID));
    res[o + 2] = subgroupShuffleXor(v, 1u);
    res[o + 3] = subgroupShuffleXor(v, gl_SubgroupSize - 1u);
    res[o + 4] = subgroupShuffleUp(v, 1u);
    res[o + 5] = subgroupShuffleUp(v, 3u);
    res[o + 6] = subgroupShuffleDown(v, 1u);
    res[o + 7] = subgroupShuffleDown(v, 2u);
}
