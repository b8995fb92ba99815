#version 450
// out[i] = VALUE * i (VALUE given with -D): distinct modules for the compile-cache and
// worker-death tests.
layout(local_size_x = 32) in;
layout(std430, set = 0, binding = 0) writeonly buffer Out { uint values[]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    values[i] = uint(VALUE) * i;
}
