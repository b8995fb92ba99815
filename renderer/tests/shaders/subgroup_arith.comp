#version 450
// Subgroup reduce / inclusive scan / exclusive scan for every arithmetic operator and type;
// out[i * 36 + 3 * op + kind].
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer V { uint vs[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Out { uint res[]; };

void main() {
    uint i = gl_GlobalInvocationID.x;
    uint v = vs[i];
    int s = int(v);
    float f = float(int(v % 201u) - 100);
    uint o = i * 36;
    res[o + 0] = subgroupAdd(v); res[o + 1] = subgroupInclusiveAdd(v); res[o + 2] = subgroupExclusiveAdd(v);
    res[o + 3] = subgroupMul(v); res[o + 4] = subgroupInclusiveMul(v); res[o + 5] = subgroupExclusiveMul(v);
    res[o + 6] = subgroupMin(v); res[o + 7] = subgroupInclusiveMin(v); res[o + 8] = subgroupExclusiveMin(v);
    res[o + 9] = subgroupMax(v); res[o + 10] = subgroupInclusiveMax(v); res[o + 11] = subgroupExclusiveMax(v);
    res[o + 12] = subgroupAnd(v); res[o + 13] = subgroupInclusiveAnd(v); res[o + 14] = subgroupExclusiveAnd(v);
    res[o + 15] = subgroupOr(v); res[o + 16] = subgroupInclusiveOr(v); res[o + 17] = subgroupExclusiveOr(v);
    res[o + 18] = subgroupXor(v); res[o + 19] = subgroupInclusiveXor(v); res[o + 20] = subgroupExclusiveXor(v);
    res[o + 21] = uint(subgroupMin(s)); res[o + 22] = uint(subgroupInclusiveMin(s)); res[o + 23] = uint(subgroupExclusiveMin(s));
    res[o + 24] = uint(subgroupMax(s)); res[o + 25] = uint(subgroupInclusiveMax(s)); res[o + 26] = uint(subgroupExclusiveMax(s));
    res[o + 27] = floatBitsToUint(subgroupAdd(f)); res[o + 28] = floatBitsToUint(subgroupInclusiveAdd(f)); res[o + 29] = floatBitsToUint(subgroupExclusiveAdd(f));
    res[o + 30] = floatBitsToUint(subgroupMin(f)); res[o + 31] = floatBitsToUint(subgroupInclusiveMin(f)); res[o + 32] = floatBitsToUint(subgroupExclusiveMin(f));
    res[o + 33] = floatBitsToUint(subgroupMax(f)); res[o + 34] = floatBitsToUint(subgroupInclusiveMax(f)); res[o + 35] = floatBitsToUint(subgroupExclusiveMax(f));
}
