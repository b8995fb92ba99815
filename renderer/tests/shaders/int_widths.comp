#version 450
// 8-, 16- and 64-bit integer arithmetic (GL_EXT_shader_explicit_arithmetic_types) with 64-bit
// values in storage. Results go to out[i * RESULTS + k] as 64-bit words.
#extension GL_EXT_shader_explicit_arithmetic_types_int8 : require
#extension GL_EXT_shader_explicit_arithmetic_types_int16 : require
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#define RESULTS 16
layout(local_size_x = 64) in;
layout(push_constant) uniform Params { uint n; } pc;
layout(std430, set = 0, binding = 0) readonly buffer A { uint64_t a_in[]; };
layout(std430, set = 0, binding = 1) readonly buffer B { uint64_t b_in[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Out { uint64_t res[]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i >= pc.n) {
        return;
    }
    uint64_t a = a_in[i];
    uint64_t b = b_in[i];
    int64_t sa = int64_t(a);
    int64_t sb = int64_t(b);
    uint o = i * RESULTS;
    res[o + 0] = a * b + (a >> 7);
    res[o + 1] = b != 0ul ? a / b : 0ul;
    res[o + 2] = uint64_t(sb != 0l ? sa % sb : 0l);
    res[o + 3] = uint64_t(sa >> (b & 63ul));
    res[o + 4] = a << (b & 63ul);
    res[o + 5] = uint64_t(sa < sb ? 1 : 0) | (uint64_t(a < b ? 1 : 0) << 1);

    uint8_t a8 = uint8_t(a);
    uint8_t b8 = uint8_t(b);
    int8_t sa8 = int8_t(a);
    int8_t sb8 = int8_t(b);
    res[o + 6] = uint64_t(uint8_t(a8 * b8 + uint8_t(3)));
    res[o + 7] = uint64_t(int64_t(int8_t(sa8 * sb8 - sa8)));
    res[o + 8] = uint64_t(int64_t(sa8 >> 2));
    res[o + 9] = uint64_t(b8 != uint8_t(0) ? a8 / b8 : uint8_t(0));

    uint16_t a16 = uint16_t(a);
    uint16_t b16 = uint16_t(b);
    int16_t sa16 = int16_t(a);
    int16_t sb16 = int16_t(b);
    res[o + 10] = uint64_t(uint16_t(a16 * b16 + a16));
    res[o + 11] = uint64_t(int64_t(int16_t(sa16 - sb16 * int16_t(5))));
    res[o + 12] = uint64_t(int64_t(sa16 >> 3));
    res[o + 13] = uint64_t(int64_t(sb16 != int16_t(0) ? sa16 / sb16 : int16_t(0)));
    res[o + 14] = uint64_t(int64_t(int(sa16) + int(sa8)));
    res[o + 15] = uint64_t(uint(a16) * uint(b8));
}
