#version 450
// Writes a storage buffer from the vertex stage (vertexPipelineStoresAndAtomics).
layout(location = 0) in vec4 pos;
layout(set = 0, binding = 0, std430) buffer Data {
    uint count;
    uint pad;
    uint vs[6];
    uint hits[];
} data;

void main() {
    data.vs[gl_VertexIndex] = uint(gl_VertexIndex) * 3u + 1u;
    gl_Position = pos;
}
