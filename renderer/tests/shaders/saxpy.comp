#version 450
// y = a * x + y over n elements. Rows of workgroups (y) extend the x range past the 65535
// workgroups one dimension allows.
layout(local_size_x = 256) in;
layout(push_constant) uniform Params { float a; uint n; } pc;
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) buffer Y { float y[]; };
void main() {
    uint i = gl_GlobalInvocationID.y * (gl_NumWorkGroups.x * gl_WorkGroupSize.x) + gl_GlobalInvocationID.x;
    if (i < pc.n) {
        y[i] = pc.a * x[i] + y[i];
    }
}
