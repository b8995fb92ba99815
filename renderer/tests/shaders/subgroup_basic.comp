#version 450
// Subgroup builtins, elect, votes, ballots and broadcasts; out[i * 17 + k].
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_vote : require
#extension GL_KHR_shader_subgroup_ballot : require
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer V { uint vs[]; };
layout(std430, set = 0, binding = 1) readonly buffer G { uint gs[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Out { uint res[]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    uint v = vs[i];
    uint o = i * 17;
    bool p = v % 8u != 0u;
    res[o + 0] = gl_SubgroupSize;
    res[o + 1] = gl_SubgroupInvocationID;
    res[o + 2] = gl_SubgroupID;
    res[o + 3] = gl_NumSubgroups;
    res[o + 4] = subgroupElect() ? 1u : 0u;
    res[o + 5] = subgroupAll(p) ? 1u : 0u;
    res[o + 6] = subgroupAny(v % 16u == 0u) ? 1u : 0u;
    res[o + 7] = subgroupAllEqual(gs[i]) ? 1u : 0u;
    uvec4 ballot = subgroupBallot(p);
    res[o + 8] = ballot.x;
    res[o + 9] = subgroupBallotBitCount(ballot);
    res[o + 10] = subgroupBallotBitExtract(ballot, v % gl_SubgroupSize) ? 1u : 0u;
    res[o + 11] = subgroupBallotFindLSB(ballot);
    res[o + 12] = subgroupBallotFindMSB(ballot);
    res[o + 13] = subgroupBroadcast(v, 1u);
    res[o + 14] = subgroupBroadcastFirst(v);
    res[o + 15] = subgroupBallotExclusiveBitCount(ballot);
    res[o + 16] = ballot.y | ballot.z | ballot.w;
}
