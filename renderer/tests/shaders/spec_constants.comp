#version 450
// Specialization constants: the workgroup size (local_size_x_id), scalars of several types, and
// a spec-constant-op expression derived from them.
layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = 1) const uint SCALE = 2u;
layout(constant_id = 2) const int OFFSET = -1;
layout(constant_id = 3) const bool NEGATE = false;
layout(constant_id = 4) const float FACTOR = 0.5;
const uint DERIVED = SCALE * 3u + 1u;          // OpSpecConstantOp IMul / IAdd
const int SHIFTED = (OFFSET << 2) - int(SCALE);  // OpSpecConstantOp with a conversion
layout(std430, set = 0, binding = 0) writeonly buffer Out { int values[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Meta { uint local_size; uint derived; int shifted; float factor; uint groups; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    int v = int(i * SCALE) + OFFSET;
    values[i] = NEGATE ? -v : v;
    if (i == 0) {
        local_size = gl_WorkGroupSize.x;
        derived = DERIVED;
        shifted = SHIFTED;
        factor = FACTOR * 3.0;
        groups = gl_NumWorkGroups.x;
    }
}
