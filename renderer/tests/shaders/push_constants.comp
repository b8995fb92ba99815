#version 450
// A push-constant block with scalars, vectors and an array (std430 offsets in the comments),
// copied member by member into a storage buffer.
layout(local_size_x = 1) in;
layout(push_constant) uniform Params {
    float scale;        // 0
    uint count;         // 4
    vec2 offs;          // 8
    ivec4 iv;           // 16
    float arr[5];       // 32
    uvec3 u3;           // 64
    int last;           // 76
} pc;
layout(std430, set = 0, binding = 0) writeonly buffer Out { uint words[]; };
void main() {
    words[0] = floatBitsToUint(pc.scale * 2.0);
    words[1] = pc.count + 1u;
    words[2] = floatBitsToUint(pc.offs.x);
    words[3] = floatBitsToUint(pc.offs.y);
    for (int k = 0; k < 4; k++) {
        words[4 + k] = uint(pc.iv[k]);
    }
    for (uint k = 0; k < 5; k++) {
        words[8 + k] = floatBitsToUint(pc.arr[k]);
    }
    // Dynamic index into the array, picked by a push constant.
    words[13] = floatBitsToUint(pc.arr[pc.count % 5u]);
    words[14] = pc.u3.x;
    words[15] = pc.u3.y;
    words[16] = pc.u3.z;
    words[17] = uint(pc.last);
}
