#version 450
// Dynamically uniform indices into arrays of uniform and storage buffer blocks
// (shader{Uniform,Storage}BufferArrayDynamicIndexing): each workgroup picks its elements by
// its id, loads from both, stores to and increments its storage element.
layout(local_size_x = 16) in;
layout(set = 0, binding = 0) uniform U { uvec4 scale[4]; } us[3];
layout(set = 0, binding = 1) buffer S { uint w[]; } ss[4];
layout(set = 0, binding = 2) buffer O { uint o[]; };
void main() {
    uint g = gl_WorkGroupID.x;
    uint i = gl_LocalInvocationID.x;
    uint u = g % 3u;
    uint s = g / 2u;
    uint a = us[u].scale[i % 4u][i / 4u];
    uint b = ss[s].w[i];
    o[g * 16u + i] = a * 1000u + b;
    ss[s].w[16u + g * 16u + i] = a + b + g;
    atomicAdd(ss[s].w[200], i + 1u);
}
