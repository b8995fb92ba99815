#version 450
// C = A * B for n x n row-major matrices; one invocation per element of C.
layout(local_size_x = 16, local_size_y = 16) in;
layout(push_constant) uniform Params { uint n; } pc;
layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 1) readonly buffer B { float b[]; };
layout(std430, set = 0, binding = 2) writeonly buffer C { float c[]; };
void main() {
    uint col = gl_GlobalInvocationID.x;
    uint row = gl_GlobalInvocationID.y;
    if (row >= pc.n || col >= pc.n) {
        return;
    }
    float acc = 0.0;
    for (uint k = 0; k < pc.n; k++) {
        acc += a[row * pc.n + k] * b[k * pc.n + col];
    }
    c[row * pc.n + col] = acc;
}
