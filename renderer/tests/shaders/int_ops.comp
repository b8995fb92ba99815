#version 450
// Integer and bit operations on pairs (a, b); every result goes to out[i * RESULTS + k].
#define RESULTS 32
layout(local_size_x = 64) in;
layout(push_constant) uniform Params { uint n; } pc;
layout(std430, set = 0, binding = 0) readonly buffer A { uint a_in[]; };
layout(std430, set = 0, binding = 1) readonly buffer B { uint b_in[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Out { uint res[]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i >= pc.n) {
        return;
    }
    uint a = a_in[i];
    uint b = b_in[i];
    int sa = int(a);
    int sb = int(b);
    uint s = b & 31u;
    uint o = i * RESULTS;
    res[o + 0] = a << s;
    res[o + 1] = a >> s;
    res[o + 2] = uint(sa >> int(s));
    uint off = b % 32u;
    uint bits = (b >> 8) % (33u - off);
    res[o + 3] = bitfieldExtract(a, int(off), int(bits));
    res[o + 4] = uint(bitfieldExtract(sa, int(off), int(bits)));
    res[o + 5] = bitfieldInsert(a, b >> 3, int(off), int(bits));
    res[o + 6] = uint(bitCount(a));
    res[o + 7] = uint(findLSB(a));
    res[o + 8] = uint(findMSB(a));
    res[o + 9] = uint(findMSB(sa));
    res[o + 10] = bitfieldReverse(a);
    uint hi, lo;
    umulExtended(a, b, hi, lo);
    res[o + 11] = hi;
    res[o + 12] = lo;
    int shi, slo;
    imulExtended(sa, sb, shi, slo);
    res[o + 13] = uint(shi);
    res[o + 14] = uint(slo);
    uint carry;
    res[o + 15] = uaddCarry(a, b, carry);
    res[o + 16] = carry;
    uint borrow;
    res[o + 17] = usubBorrow(a, b, borrow);
    res[o + 18] = borrow;
    // Division: the CPU side only checks the defined cases (b != 0, not INT_MIN / -1), but
    // every case runs, so division by zero must not trap.
    res[o + 19] = a / b;
    res[o + 20] = a % b;
    res[o + 21] = uint(sa / sb);
    res[o + 22] = uint(sa % sb);
    res[o + 23] = uint(abs(sa));
    res[o + 24] = uint(sign(sa));
    res[o + 25] = uint(min(sa, sb));
    res[o + 26] = uint(max(sa, sb));
    res[o + 27] = min(a, b);
    res[o + 28] = max(a, b);
    res[o + 29] = uint(clamp(sa, -1000, 1000));
    res[o + 30] = (a ^ b) | (~a & b);
    res[o + 31] = uint(-sa) * 3u - b;
}
