#version 450
// Counts fragments with storage-buffer atomics (fragmentStoresAndAtomics); fragments right of
// column DISCARD_FROM are discarded first and must make no stores.
layout(location = 0) out vec4 color;
layout(set = 0, binding = 0, std430) buffer Data {
    uint count;
    uint pad;
    uint vs[6];
    uint hits[];
} data;

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    if (p.x >= DISCARD_FROM) {
        discard;
    }
    atomicAdd(data.count, 1u);
    atomicAdd(data.hits[p.y * WIDTH + p.x], 1u);
    color = vec4(1.0, 0.0, 0.0, 1.0);
}
