#version 450
// Escape-time iteration counts on a width x height grid starting at (x0, y0), spacing `step`.
// `precise` forbids contraction, so the CPU reference can repeat the same float operations.
layout(local_size_x = 8, local_size_y = 8) in;
layout(push_constant) uniform Params { uint width; uint height; uint max_iter; float x0; float y0; float step; } pc;
layout(std430, set = 0, binding = 0) writeonly buffer Out { uint iterations[]; };
void main() {
    uint px = gl_GlobalInvocationID.x;
    uint py = gl_GlobalInvocationID.y;
    if (px >= pc.width || py >= pc.height) {
        return;
    }
    precise float cx = pc.x0 + float(px) * pc.step;
    precise float cy = pc.y0 + float(py) * pc.step;
    precise float x = 0.0;
    precise float y = 0.0;
    uint i = 0;
    while (true) {
        if (i >= pc.max_iter) {
            break;
        }
        precise float xx = x * x;
        precise float yy = y * y;
        if (xx + yy > 4.0) {
            break;
        }
        precise float xy = x * y;
        y = xy + xy + cy;
        x = xx - yy + cx;
        i++;
    }
    iterations[py * pc.width + px] = i;
}
