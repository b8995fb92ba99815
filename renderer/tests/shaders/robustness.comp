#version 450
// Out-of-bounds accesses with hostile indices: storage reads, writes and atomics, uniform reads
// and push-constant reads. One invocation walks the index list in order so the CPU model can
// replay it exactly.
layout(local_size_x = 1) in;
layout(push_constant) uniform Params { uint count; uint pad; uint arr[6]; } pc;
layout(std430, set = 0, binding = 0) buffer CanaryLo { uint canary_lo[]; };
layout(std430, set = 0, binding = 1) buffer Data { uint data[]; };
layout(std430, set = 0, binding = 2) buffer CanaryHi { uint canary_hi[]; };
layout(std430, set = 0, binding = 3) readonly buffer Indices { int indices[]; };
layout(std430, set = 0, binding = 4) writeonly buffer Results { uint res[]; };
layout(std140, set = 0, binding = 5) uniform Uniforms { uvec4 u[16]; };
void main() {
    for (uint k = 0; k < pc.count; k++) {
        int si = indices[k];
        uint ui = uint(si);
        res[k * 5 + 0] = data[si];
        res[k * 5 + 1] = data[ui];
        res[k * 5 + 2] = u[si].x;
        res[k * 5 + 3] = pc.arr[si];
        res[k * 5 + 4] = u[ui].x;
        data[si] = 0xA0000000u | k;
        data[ui] = 0xB0000000u | k;
        atomicAdd(data[si], 0x100u);
    }
}
