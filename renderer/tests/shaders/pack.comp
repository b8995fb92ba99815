#version 450
// Pack/unpack functions of GLSL.std.450: floats (vec4 f) to packed words, packed words (uint u)
// to floats, selected by a push-constant opcode.
layout(local_size_x = 64) in;
layout(push_constant) uniform Params { uint op; uint n; } pc;
layout(std430, set = 0, binding = 0) readonly buffer F { vec4 fs[]; };
layout(std430, set = 0, binding = 1) readonly buffer U { uint us[]; };
layout(std430, set = 0, binding = 2) writeonly buffer PU { uint packed_out[]; };
layout(std430, set = 0, binding = 3) writeonly buffer PF { vec4 unpacked_out[]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i >= pc.n) {
        return;
    }
    vec4 f = fs[i];
    uint u = us[i];
    switch (pc.op) {
    case 0: packed_out[i] = packUnorm4x8(f); break;
    case 1: packed_out[i] = packSnorm4x8(f); break;
    case 2: packed_out[i] = packUnorm2x16(f.xy); break;
    case 3: packed_out[i] = packSnorm2x16(f.xy); break;
    case 4: packed_out[i] = packHalf2x16(f.xy); break;
    case 5: unpacked_out[i] = unpackUnorm4x8(u); break;
    case 6: unpacked_out[i] = unpackSnorm4x8(u); break;
    case 7: unpacked_out[i] = vec4(unpackUnorm2x16(u), 0.0, 0.0); break;
    case 8: unpacked_out[i] = vec4(unpackSnorm2x16(u), 0.0, 0.0); break;
    case 9: unpacked_out[i] = vec4(unpackHalf2x16(u), 0.0, 0.0); break;
    }
}
