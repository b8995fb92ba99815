#version 450
// Inclusive prefix sum within each workgroup of 256 (Hillis-Steele, double-buffered).
#define WG 256
layout(local_size_x = WG) in;
layout(std430, set = 0, binding = 0) readonly buffer In { uint values[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Out { uint scanned[]; };
shared uint buf[2][WG];
void main() {
    uint lid = gl_LocalInvocationID.x;
    uint src = 0;
    buf[0][lid] = values[gl_GlobalInvocationID.x];
    barrier();
    for (uint offset = 1; offset < WG; offset <<= 1) {
        uint v = buf[src][lid];
        if (lid >= offset) {
            v += buf[src][lid - offset];
        }
        buf[1 - src][lid] = v;
        src = 1 - src;
        barrier();
    }
    scanned[gl_GlobalInvocationID.x] = buf[src][lid];
}
